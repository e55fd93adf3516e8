"""Reads per-trial records of a built `mecg` dataset: what spotting needs beside the windows.

Files in the dataset dir (``<data_dir>/mecg/<config>/<version>/``):

  trials/<subject id>_<marker>.json   one trial's record, used or skipped (with the
                                      reason), see `window_examples.trial_examples`
  trials/<subject id>_<marker>.npz    hr_bpm, hrs_bpm_per_s (float32, bpm and bpm/s)
                                      and hr_quality (bool), one value per video frame;
                                      window_label, window_kind, window_row and
                                      window_motion, one value per window (the
                                      loaders' sampling index)
  trials.json                         {"splits": {split: [trial id, …]}}: the used
                                      trials of every split in dataset order

`load_trials(builder_or_dir, "s1+s2")` returns `TrialInfo`s in the order the windows
of that split expression are read, with the index of each trial's first window.

The build writes these files (`cmcl_jax.data.build_trials` the trial files, the
builder ``trials.json``) with the names defined here; this module only reads them, so
loaders do not import the build's video code (OpenCV).
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import numpy as np
from etils import epath

from cmcl_jax.data import windows

TRIALS_DIR = "trials"
TRIALS_INDEX = "trials.json"


@dataclasses.dataclass(frozen=True, eq=False)
class TrialInfo:
  """A used trial of a built dataset.

  Attributes:
    trial: dataset trial id "<subject id>/<marker>".
    subject: dataset subject id (the split name).
    marker: the clip's trigger code.
    clip_emotion: emotion of the clip watched.
    fps: video frame rate, Hz.
    frame_count: N, frames of the video.
    num_windows: K, windows of the trial (`window_starts` gives their frames).
    first_index: index of the trial's first window in the split expression passed
      to `load_trials`; its windows are `first_index … first_index + K - 1`.
    mean_hrs_bpm_per_s: mean HRS over the trial's good-quality frames (CCF baseline).
    expressions: ground truth, `windows.Interval`s in video frames.
    hr_bpm, hrs_bpm_per_s: (N,) float32 HR (bpm) and HRS (bpm/s) at frame times.
    hr_quality: (N,) bool, False where the HR is interpolated or near a problem.
    window_label: (K,) int8 label of each window (1 = ME).
    window_kind: (K,) int8 kind of each window, index into `windows.KINDS`.
    window_row: (K,) int32 coding-file row of each window's expression, -1 if none.
    record: the full JSON record (face track, feature sums, problems, …).
    window_motion: (K,) float32 peak mean flow magnitude of each window, pixels
      (`window_examples.window_motion`).
  """

  trial: str
  subject: str
  marker: int
  clip_emotion: str
  fps: float
  frame_count: int
  num_windows: int
  first_index: int
  mean_hrs_bpm_per_s: float
  expressions: tuple[windows.Interval, ...]
  hr_bpm: np.ndarray
  hrs_bpm_per_s: np.ndarray
  hr_quality: np.ndarray
  window_label: np.ndarray
  window_kind: np.ndarray
  window_row: np.ndarray
  record: dict
  window_motion: np.ndarray

  @property
  def window_starts(self) -> np.ndarray:
    """(K,) int64 first frame of each window."""
    spec = self.record["spec"]
    return windows.window_starts(self.frame_count, spec["window_frames"], spec["stride_frames"])

  @property
  def window_peak_hrs(self) -> np.ndarray:
    """(K,) float32 highest HRS (bpm/s) over each window's frames: how strongly the
    heart accelerates while the window is seen."""
    window_frames = self.record["spec"]["window_frames"]
    frames = self.window_starts[:, None] + np.arange(window_frames)
    return self.hrs_bpm_per_s[frames].max(axis=1).astype(np.float32)


def trial_stem(trial_id: str) -> str:
  """File stem of a trial's record: its id with "/" replaced by "_"."""
  return trial_id.replace("/", "_")


def read_records(data_dir: str | os.PathLike) -> dict[str, dict]:
  """Every trial record under `data_dir/trials/`, by trial id."""
  records = {}
  for path in sorted((epath.Path(data_dir) / TRIALS_DIR).glob("*.json")):
    record = json.loads(path.read_text())
    records[record["trial"]] = record
  return records


def dataset_dir(builder_or_dir) -> Path:
  """The versioned dataset folder of a TFDS builder, or a folder given as is."""
  data_dir = getattr(builder_or_dir, "data_dir", builder_or_dir)
  return Path(os.fspath(data_dir))


def split_names(data_dir: Path, split: str) -> list[str]:
  """Subject splits of a split expression "s1+s2" (plain names only)."""
  index = json.loads((data_dir / TRIALS_INDEX).read_text())["splits"]
  names = [name.strip() for name in split.split("+")]
  for name in names:
    if name not in index:
      raise ValueError(
        f"{data_dir / TRIALS_INDEX}: no split {name!r} (of {split!r}); "
        f"splits are {sorted(index)}; only '+' of whole splits is supported"
      )
  return names


def load_trials(builder_or_dir, split: str) -> list[TrialInfo]:
  """The used trials of a split expression, in the order its windows are read.

  Args:
    builder_or_dir: a prepared `mecg` builder, or its versioned dataset folder.
    split: one subject split or several joined with "+" (a LOSO training fold).
  """
  data_dir = dataset_dir(builder_or_dir)
  index = json.loads((data_dir / TRIALS_INDEX).read_text())["splits"]
  infos, first = [], 0
  for name in split_names(data_dir, split):
    for trial_id in index[name]:
      stem = trial_stem(trial_id)
      record = json.loads((data_dir / TRIALS_DIR / f"{stem}.json").read_text())
      with np.load(data_dir / TRIALS_DIR / f"{stem}.npz") as stored:
        curves = dict(stored)
      if "window_motion" not in curves:
        raise ValueError(
          f"{data_dir / TRIALS_DIR / stem}.npz has no window_motion: the "
          "dataset was built by an older cmcl_jax; delete it and build again"
        )
      infos.append(
        TrialInfo(
          trial=trial_id,
          subject=record["subject"],
          marker=record["marker"],
          clip_emotion=record["clip_emotion"],
          fps=record["fps"],
          frame_count=record["frame_count"],
          num_windows=record["num_windows"],
          first_index=first,
          mean_hrs_bpm_per_s=record["mean_hrs_bpm_per_s"],
          expressions=tuple(
            windows.Interval(
              **{k: e[k] for k in ("onset", "apex", "offset", "kind", "emotion", "row")}
            )
            for e in record["expressions"]
          ),
          record=record,
          **curves,
        )
      )
      first += record["num_windows"]
  return infos


def _mean_std(total, total_sq, count) -> tuple[np.ndarray, np.ndarray]:
  mean = np.asarray(total, np.float64) / count
  std = np.sqrt(np.maximum(np.asarray(total_sq, np.float64) / count - mean**2, 0.0))
  return mean.astype(np.float32), np.maximum(std, 1e-6).astype(np.float32)


def record_feature_stats(record: dict) -> tuple[np.ndarray, np.ndarray]:
  """(mean, std) of `ecg_features` over one trial's windows, from its record's sums
  (`window_examples.trial_examples`); std ≥ 1e-6."""
  return _mean_std(record["feature_sum"], record["feature_sumsq"], record["num_windows"])


def trial_feature_stats(builder_or_dir, split: str) -> dict[str, tuple[np.ndarray, np.ndarray]]:
  """Trial id → `record_feature_stats` of every trial of a split expression."""
  return {i.trial: record_feature_stats(i.record) for i in load_trials(builder_or_dir, split)}


def feature_stats(builder_or_dir, split: str) -> tuple[np.ndarray, np.ndarray]:
  """(mean, std) of `ecg_features` over the windows of a split expression.

  Computed from the per-trial sums in the records (no window is read), so a LOSO
  fold's statistics cost nothing. Returns two (F,) float32 arrays; std is at least
  1e-6.
  """
  infos = load_trials(builder_or_dir, split)
  count = sum(i.num_windows for i in infos)
  total = np.sum([i.record["feature_sum"] for i in infos], axis=0)
  total_sq = np.sum([i.record["feature_sumsq"] for i in infos], axis=0)
  return _mean_std(total, total_sq, count)
