"""Process-wide settings an entry point chooses: compilation cache and log filtering.

These change global state (JAX config, the absl log handler), so the library never
calls them itself; `experiments/*.py` do, once, at start.
"""

from __future__ import annotations

import logging as python_logging
import os

import jax
from absl import logging
from etils import epath
from jax.experimental.compilation_cache import compilation_cache


def use_compilation_cache(directory: epath.PathLike | None) -> None:
  """Persists compiled programs under `directory` (`~` expanded; None does nothing,
  see `compilation_cache_folder`): every LOSO fold trains the same programs, so
  folds after the first (and reruns, and other runs given the same folder) skip XLA
  compilation. Results do not depend on it.

  JAX opens its cache folder once per process; a later call with another folder
  closes the first, so that each run writes where it says.
  """
  if directory is None:
    return
  directory = os.path.expanduser(os.fspath(directory))
  if jax.config.jax_compilation_cache_dir not in (None, "", directory):
    compilation_cache.reset_cache()
  jax.config.update("jax_compilation_cache_dir", directory)
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def compilation_cache_folder(config, loso_workdir: epath.PathLike) -> str | None:
  """The folder `config.loso` asks for: `compilation_cache_dir`, or
  `<loso_workdir>/jax_cache` when that is ""; None when `compilation_cache` is off."""
  if not config.loso.compilation_cache:
    return None
  return config.loso.compilation_cache_dir or os.fspath(epath.Path(loso_workdir) / "jax_cache")


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
