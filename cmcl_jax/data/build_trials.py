"""Units of work of the `mecg` build: a subject's reading checks, a trial's examples.

The build makes two passes (`window_examples`). `check_trials` is its first: the
reading checks of one subject's trials (one task per subject, so a session recording
is read once), recording every trial that fails. `run_trial` is its second, what the
build's process pool or Beam runs per trial: it computes the trial's windows
(`window_examples.trial_examples`). Both write the trial's record (and HR curves when
used) next to the shards with `write_trial`, in the layout `cmcl_jax.data.trials`
documents and reads back (``<data_dir>/trials/<subject id>_<marker>.json`` and
``.npz``). The reading side stays free of the build's video dependencies (OpenCV).

A bad trial never aborts the build: besides the reasons `window_examples` gives, any
other exception of one trial is recorded as reason "trial_error" (its type, message
and the line that raised it) and the build goes on with the other trials.
"""

from __future__ import annotations

import collections
import json
import os
import traceback
from collections.abc import Callable, Sequence

import numpy as np
from etils import epath

from cmcl_jax.data import window_examples
from cmcl_jax.data.trials import TRIALS_DIR, trial_stem

TRIAL_ERROR = "trial_error"


def write_trial(data_dir: str | os.PathLike, result: window_examples.TrialResult) -> None:
  """Writes a trial's record (and its HR curves when used) under `data_dir/trials/`."""
  folder = epath.Path(data_dir) / TRIALS_DIR
  folder.mkdir(parents=True, exist_ok=True)
  stem = trial_stem(result.record["trial"])
  (folder / f"{stem}.json").write_text(json.dumps(result.record, indent=1))
  if result.curves:
    with (folder / f"{stem}.npz").open("wb") as f:
      np.savez(f, **result.curves)


def check_trials(
  tasks: Sequence[window_examples.TrialTask], data_dir: str, scrub: Callable[[str], str] = str
) -> list[bool]:
  """The first pass over some trials (one subject's): `window_examples.check_trial`.

  Args:
    tasks: the trials, in the order their session recordings are best read (one
      subject's, so each recording is read once).
    data_dir: the versioned dataset folder being built; the record of every trial
      that fails is written there.
    scrub: applied to every message kept in a record (pseudonymisation).

  Returns:
    One bool per task: True when the trial passed and goes on to `run_trial`.
  """
  passed = []
  for task in tasks:
    try:
      result = window_examples.check_trial(task, scrub)
    except Exception as e:  # recorded; one bad trial never aborts the build
      result = _failed(task, e, scrub)
    if result is not None:
      write_trial(data_dir, result)
    passed.append(result is None)
  return passed


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
  try:
    result = window_examples.trial_examples(task, scrub)
  except Exception as e:  # recorded; one bad trial never aborts the build
    result = _failed(task, e, scrub)
  write_trial(data_dir, result)
  return result.examples


def _failed(
  task: window_examples.TrialTask, error: Exception, scrub: Callable[[str], str]
) -> window_examples.TrialResult:
  """The skipped result of a trial whose work raised `error` (not a `TrialSkipped`)."""
  where = traceback.extract_tb(error.__traceback__)[-1]
  message = (
    f"{task.trial.video}: {type(error).__name__}: {error} (raised at "
    f"{os.path.basename(where.filename)}:{where.lineno} in {where.name}); the trial "
    "is left out and the build goes on"
  )
  return window_examples.skipped(
    task.trial, task.trial_id, task.subject_id, TRIAL_ERROR, message, scrub, task.fps
  )


FPS_MISMATCH = "fps_mismatch"
FPS_TOLERANCE = 0.01
"""Largest relative difference of a trial's frame rate from the dataset's."""


def off_rate_tasks(
  tasks: list[window_examples.TrialTask],
) -> tuple[float | None, list[window_examples.TrialTask]]:
  """The dataset's frame rate (the most common one) and the tasks at another rate.

  Windows are cut in frames (`windows.WindowSpec`), so a trial at another frame rate
  would get windows of another length in seconds; the builder skips it
  (`FPS_MISMATCH`). Ties between rates go to the higher count, then the lower rate.
  """
  if not tasks:
    return None, []
  counts = collections.Counter(round(task.fps, 2) for task in tasks)
  rate = min(counts, key=lambda fps: (-counts[fps], fps))
  off = [task for task in tasks if abs(task.fps - rate) > FPS_TOLERANCE * rate]
  return rate, off


def skipped_off_rate(
  task: window_examples.TrialTask, rate: float, scrub
) -> window_examples.TrialResult:
  """The skipped result of a trial at another frame rate than the dataset's `rate`."""
  message = (
    f"{task.trial.video}: {task.fps:g} fps, but the dataset's other trials are at {rate:g} "
    f"fps; windows are cut in frames ({task.spec.window_frames} frames = "
    f"{task.spec.window_frames / rate:g} s at {rate:g} fps), so this trial's would last "
    f"{task.spec.window_frames / task.fps:g} s. Re-encode it at {rate:g} fps to use it"
  )
  return window_examples.skipped(
    task.trial, task.trial_id, task.subject_id, FPS_MISMATCH, message, scrub, task.fps
  )
