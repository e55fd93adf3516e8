"""Process-wide settings an entry point chooses: compilation cache and log filtering.

These change global state (JAX config, the absl log handler), so the library never
calls them itself; `experiments/*.py` do, once, at start.
"""

from __future__ import annotations

import logging as python_logging

import jax
from absl import logging
from etils import epath


def use_compilation_cache(directory: epath.PathLike) -> None:
  """Persists compiled programs under `directory`: every LOSO fold trains the same
  programs, so folds after the first (and reruns) skip XLA compilation."""
  jax.config.update("jax_compilation_cache_dir", str(directory))
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


class QuietCheckpointLogs(python_logging.Filter):
  """Drops orbax's INFO lines (dozens per checkpoint save); its warnings and errors
  still show."""

  def filter(self, record: python_logging.LogRecord) -> bool:
    return record.levelno >= python_logging.WARNING or "/orbax/" not in record.pathname


def quiet_checkpoint_logs() -> None:
  """Installs `QuietCheckpointLogs` on the absl log handler, so that training
  progress stays readable."""
  handler = logging.get_absl_handler()
  if not any(isinstance(f, QuietCheckpointLogs) for f in handler.filters):
    handler.addFilter(QuietCheckpointLogs())
