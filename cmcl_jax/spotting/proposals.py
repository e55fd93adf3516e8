"""From window scores over a trial to candidate clips (onset, apex, offset frames).

Rule:
1. Each window's ME score is placed at its centre frame and linearly interpolated to
   every frame of the trial (held flat before the first and after the last centre).
2. The curve is smoothed by a Gaussian of `smoothing_frames` standard deviation.
3. The threshold is `threshold` if given, else MEGC's relative rule
   `mean + relative_threshold × (max − mean)` of the smoothed curve. Each candidate
   has a centre frame c, by `centre`:
   - "run" (default): the midpoint of a maximal run of frames at or above the
     threshold. A window scores high whenever it holds most of the ME, so the run
     spans the ME's centre ± half a window; its highest point is often at one end
     (windows starting at the onset or at the apex see the most flow), which puts
     "peak" centres ~35 frames (0.23 s) off on the synthetic MECG.
   - "peak": a local maximum above the threshold (`scipy.signal.find_peaks`).
   Centres closer than `min_distance_frames` keep only the one of highest score.
4. A centre c gives the clip [c − half_width_frames, c + half_width_frames], clipped
   to the trial; its apex is the frame of largest `apex_signal` (e.g. the face flow
   magnitude) inside the clip when one is given, else c.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage
import scipy.signal


def score_curve(
  window_starts, window_scores, window_length: int, num_frames: int, smoothing_frames: float = 0.0
) -> np.ndarray:
  """(num_frames,) float32 per-frame score from per-window scores (steps 1–2).

  Args:
    window_starts: (N,) first frame of each window.
    window_scores: (N,) score of each window (e.g. P(ME)).
    window_length: frames per window.
    num_frames: frames in the trial.
    smoothing_frames: Gaussian standard deviation, frames (0: none).
  """
  starts = np.asarray(window_starts, np.float64)
  scores = np.asarray(window_scores, np.float64)
  if starts.shape != scores.shape or starts.ndim != 1 or not starts.size:
    raise ValueError(
      f"window_starts {starts.shape} and window_scores {scores.shape}: "
      "expected equal, non-empty (N,) arrays"
    )
  order = np.argsort(starts, kind="stable")
  centres = starts[order] + (window_length - 1) / 2
  curve = np.interp(np.arange(num_frames), centres, scores[order])
  if smoothing_frames > 0:
    curve = scipy.ndimage.gaussian_filter1d(curve, smoothing_frames, mode="nearest")
  return curve.astype(np.float32)


CENTRES = ("run", "peak")


def _run_centres(curve: np.ndarray, threshold: float) -> np.ndarray:
  """Midpoints of the maximal runs of `curve >= threshold`."""
  above = np.concatenate([[False], curve >= threshold, [False]]).astype(np.int8)
  edges = np.diff(above)
  starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
  return (starts + ends) // 2


def _keep_apart(centres: np.ndarray, heights: np.ndarray, min_distance: int) -> np.ndarray:
  """The centres left when, of any two closer than `min_distance`, the lower goes."""
  kept = []
  for index in np.argsort(-heights, kind="stable"):
    if all(abs(centres[index] - centres[k]) >= min_distance for k in kept):
      kept.append(index)
  return np.sort(centres[kept])


def propose(
  curve: np.ndarray,
  *,
  half_width_frames: int,
  min_distance_frames: int,
  threshold: float | None = None,
  relative_threshold: float = 0.5,
  centre: str = "run",
  apex_signal: np.ndarray | None = None,
) -> np.ndarray:
  """Candidate clips from a per-frame score curve (steps 3–4).

  Args:
    curve: (T,) per-frame score, e.g. from `score_curve`.
    half_width_frames: clip half-length, frames (a 0.5 s ME at 150 fps: ~37).
    min_distance_frames: least distance between two candidate centres, frames.
    threshold: absolute score threshold; None uses `relative_threshold`.
    relative_threshold: p in `mean + p × (max − mean)`.
    centre: "run" or "peak" (see the module docstring).
    apex_signal: (T,) signal whose maximum in the clip is its apex; None: the centre.

  Returns:
    (K, 3) int64 (onset, apex, offset) frames, by onset.
  """
  if centre not in CENTRES:
    raise ValueError(f"centre={centre!r}: expected one of {CENTRES}")
  curve = np.asarray(curve, np.float64)
  if threshold is None:
    threshold = curve.mean() + relative_threshold * (curve.max() - curve.mean())
  if centre == "peak":
    centres, _ = scipy.signal.find_peaks(
      curve, height=threshold, distance=max(1, int(min_distance_frames))
    )
  else:
    centres = _run_centres(curve, threshold)
    centres = _keep_apart(centres, curve[centres], max(1, int(min_distance_frames)))
  onsets = np.clip(centres - half_width_frames, 0, len(curve) - 1)
  offsets = np.clip(centres + half_width_frames, 0, len(curve) - 1)
  apexes = centres.copy()
  if apex_signal is not None:
    apex_signal = np.asarray(apex_signal)
    if apex_signal.shape != curve.shape:
      raise ValueError(f"apex_signal {apex_signal.shape} must match the curve {curve.shape}")
    apexes = np.array(
      [start + int(np.argmax(apex_signal[start : end + 1])) for start, end in zip(onsets, offsets)],
      np.int64,
    )
  return np.stack([onsets, apexes, offsets], axis=1).astype(np.int64).reshape(-1, 3)


PEAK_RULE_FIELDS = (
  "smoothing_frames",
  "half_width_frames",
  "min_distance_frames",
  "threshold",
  "choose_threshold",
  "threshold_grid",
  "centre",
)


def check_settings(settings, where: str) -> None:
  """Raises ValueError naming `where`.<field> when a peak rule (`PEAK_RULE_FIELDS`)
  lacks a field or has one out of range."""
  missing = [f for f in PEAK_RULE_FIELDS if f not in settings]
  if missing:
    raise ValueError(f"{where}: missing fields {missing}; a peak rule has {PEAK_RULE_FIELDS}")
  checks = {
    "smoothing_frames": (settings["smoothing_frames"] >= 0, "≥ 0"),
    "half_width_frames": (settings["half_width_frames"] >= 0, "≥ 0"),
    "min_distance_frames": (settings["min_distance_frames"] >= 1, "≥ 1"),
    "threshold_grid": (len(settings["threshold_grid"]) > 0, "a non-empty grid"),
    "centre": (settings["centre"] in CENTRES, f"one of {CENTRES}"),
  }
  for field, (ok, expected) in checks.items():
    if not ok:
      raise ValueError(f"{where}.{field}={settings[field]!r}: expected {expected}")


def propose_with(curve: np.ndarray, settings, threshold: float | None = None) -> np.ndarray:
  """`propose` with the peak-rule fields of a config section (e.g. `loso.spotting`):
  half_width_frames, min_distance_frames, threshold (unless `threshold` is given)
  and centre."""
  return propose(
    curve,
    half_width_frames=settings["half_width_frames"],
    min_distance_frames=settings["min_distance_frames"],
    threshold=settings["threshold"] if threshold is None else threshold,
    centre=settings["centre"],
  )
