"""The ECG of one trial, aligned to its video's frame 0, with what is wrong with it.

A session recording is cut at the sample where the marker channel switches to the
trial's clip code (the shared trigger that also starts the video); a per-trial file
already starts at frame 0. What the ECG file itself notes (`EcgRecording.notes`: a CSV
that is not UTF-8, columns not read, …) is reported with each trial's problems.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from pathlib import Path

import numpy as np

from cmcl_jax.data import ecg_io
from cmcl_jax.data.layout import Problem, Trial
from cmcl_jax.ecg import quality

RATE_TOLERANCE = 0.005


class TrialEcgError(ValueError):
  """A trial's ECG cannot be aligned to its video.

  Attributes:
    code: "ecg_missing", "marker_missing" or "ecg_too_short".
  """

  def __init__(self, code: str, message: str):
    super().__init__(message)
    self.code = code


@dataclasses.dataclass(frozen=True)
class TrialEcg:
  """ECG samples around one trial.

  Attributes:
    ecg: (N,) float32 ECG, mV.
    sampling_rate: Hz.
    start_s: time of `ecg[0]` relative to the video's frame 0, s (negative when
      context before the trial was requested and recorded).
    problems: suspect stretches and rate mismatches (kept, not fatal).
  """

  ecg: np.ndarray
  sampling_rate: float
  start_s: float
  problems: tuple[Problem, ...]

  @property
  def times_s(self) -> np.ndarray:
    """(N,) sample times relative to the video's frame 0, s."""
    return self.start_s + np.arange(len(self.ecg)) / self.sampling_rate


@functools.lru_cache(maxsize=2)
def _recording(path: Path, stamp: tuple[int, int] | None) -> ecg_io.EcgRecording:
  """The recording at `path`; `stamp` (mtime, size) keys the cache, so an edited file is reread."""
  return ecg_io.read_recording(path)


def _stamp(path: Path) -> tuple[int, int] | None:
  try:
    stat = path.stat()
  except OSError:  # read_recording names the missing file
    return None
  return stat.st_mtime_ns, stat.st_size


def read_trial_ecg(
  trial: Trial, video_duration_s: float, *, pad_s: float = 0.0, expected_rate: float | None = None
) -> TrialEcg:
  """Cuts a trial's ECG from its recording, `pad_s` beyond both ends where recorded.

  Args:
    trial: from `layout.discover`.
    video_duration_s: length of the trial video, s.
    pad_s: context wanted before frame 0 and after the last frame, s.
    expected_rate: the rate the rest of the dataset uses, Hz; a recording off by
      more than 0.5 % is reported as "sampling_rate_mismatch". None: not checked.

  Raises:
    TrialEcgError: naming the file, when the trial has no ECG file, its marker is
      not in the session recording (or the recording has no marker channel), or the
      ECG ends before the video does.
    ecg_io.EcgFileError: when the file is unreadable or malformed.
    ValueError: naming the trial, for a video duration that is not positive, a
      negative `pad_s` or an `expected_rate` that is not a positive number.
  """
  if not (math.isfinite(video_duration_s) and video_duration_s > 0):
    raise ValueError(
      f"trial {trial.name}: video_duration_s={video_duration_s!r}; expected seconds > 0"
    )
  if not (math.isfinite(pad_s) and pad_s >= 0):
    raise ValueError(f"trial {trial.name}: pad_s={pad_s!r}; expected seconds ≥ 0")
  if expected_rate is not None and not (math.isfinite(expected_rate) and expected_rate > 0):
    raise ValueError(f"trial {trial.name}: expected_rate={expected_rate!r}; expected Hz > 0")
  if trial.ecg is None:
    raise TrialEcgError("ecg_missing", f"trial {trial.name}: no ECG file was found")
  recording = _recording(trial.ecg, _stamp(trial.ecg))
  rate = recording.sampling_rate
  where = str(trial.ecg)
  problems = [Problem(n.code, where, n.message, trial.subject) for n in recording.notes]
  if expected_rate and abs(rate - expected_rate) > RATE_TOLERANCE * expected_rate:
    problems.append(
      Problem(
        "sampling_rate_mismatch",
        where,
        f"recorded at {rate:g} Hz, the dataset expects {expected_rate:g} Hz",
        trial.subject,
      )
    )
  if trial.ecg_is_per_trial:
    frame0 = 0
  elif recording.marker is None:
    raise TrialEcgError(
      "marker_missing",
      f"{where}: this session recording has no marker channel, so the start of trial "
      f"{trial.name} (marker {trial.marker}) cannot be found; expected a 'marker' field or "
      f"column (or a per-trial ECG file named {trial.name}.*)",
    )
  else:
    onsets = recording.marker_onsets().get(trial.marker)
    if not onsets:
      found = sorted(recording.marker_onsets())
      raise TrialEcgError(
        "marker_missing",
        f"{where}: marker {trial.marker} of trial "
        f"{trial.name} is not in the marker channel (codes found: {found})",
      )
    if len(onsets) > 1:
      problems.append(
        Problem(
          "marker_repeated",
          where,
          f"marker {trial.marker} starts {len(onsets)} times (at "
          f"{[round(o / rate, 3) for o in onsets]} s); the first is used",
          trial.subject,
        )
      )
    frame0 = onsets[0]
  last = frame0 + int(np.ceil(video_duration_s * rate))
  if last > len(recording.ecg):
    raise TrialEcgError(
      "ecg_too_short",
      f"{where}: ECG ends {(last - len(recording.ecg)) / rate:.2f}"
      f" s before the end of trial {trial.name} "
      f"({video_duration_s:.2f} s of video)",
    )
  pad = int(round(pad_s * rate))
  first, stop = max(frame0 - pad, 0), min(last + pad, len(recording.ecg))
  ecg = recording.ecg[first:stop]
  for problem in quality.signal_problems(ecg, rate):
    start = (first - frame0) / rate
    problems.append(
      Problem(
        f"ecg_{problem.kind}",
        where,
        f"{problem.kind} from {problem.start_s + start:.3f} s to "
        f"{problem.end_s + start:.3f} s of trial {trial.name}",
        trial.subject,
      )
    )
  return TrialEcg(ecg, rate, (first - frame0) / rate, tuple(problems))
