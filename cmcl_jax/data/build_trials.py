"""One unit of work of the `mecg` build: a trial's examples, its side files written.

`run_trial` is what the build's process pool or Beam runs per trial: it computes the
trial's windows (`window_examples.trial_examples`) and writes the trial's record and
HR curves next to the shards with `write_trial`, in the layout `cmcl_jax.data.trials`
documents and reads back (``<data_dir>/trials/<subject id>_<marker>.json`` and
``.npz``). The reading side stays free of the build's video dependencies (OpenCV).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable

import numpy as np
from etils import epath

from cmcl_jax.data import window_examples
from cmcl_jax.data.trials import TRIALS_DIR, trial_stem


def write_trial(data_dir: str | os.PathLike, result: window_examples.TrialResult) -> None:
  """Writes a trial's record (and its HR curves when used) under `data_dir/trials/`."""
  folder = epath.Path(data_dir) / TRIALS_DIR
  folder.mkdir(parents=True, exist_ok=True)
  stem = trial_stem(result.record["trial"])
  (folder / f"{stem}.json").write_text(json.dumps(result.record, indent=1))
  if result.curves:
    with (folder / f"{stem}.npz").open("wb") as f:
      np.savez(f, **result.curves)


def run_trial(
  task: window_examples.TrialTask, data_dir: str, scrub: Callable[[str], str] = str
) -> list[tuple[str, dict]]:
  """`trial_examples` + `write_trial`: one unit of work of the build (pool or Beam).

  Args:
    task: the trial and the window spec.
    data_dir: the versioned dataset folder being built.
    scrub: applied to every message kept in the record (pseudonymisation).

  Returns:
    The trial's (key, example) pairs; empty when the trial was skipped.
  """
  result = window_examples.trial_examples(task, scrub)
  write_trial(data_dir, result)
  return result.examples
