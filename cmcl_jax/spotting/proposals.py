"""From window scores over a trial to candidate clips (onset, apex, offset frames).

Rule:
1. Each window's ME score is placed at its centre frame and linearly interpolated to
   every frame of the trial (held flat before the first and after the last centre).
2. The curve is smoothed by a Gaussian of `smoothing_frames` standard deviation.
3. Peaks are local maxima above the threshold at least `min_distance_frames` apart
   (`scipy.signal.find_peaks`): the threshold is `threshold` if given, else MEGC's
   relative rule `mean + relative_threshold × (max − mean)` of the smoothed curve.
4. A peak at frame p gives the clip [p − half_width_frames, p + half_width_frames],
   clipped to the trial; its apex is the frame of largest `apex_signal` (e.g. the face
   flow magnitude) inside the clip when one is given, else p.
"""

from __future__ import annotations

import numpy as np
import scipy.ndimage
import scipy.signal


def score_curve(window_starts, window_scores, window_length: int, num_frames: int,
                smoothing_frames: float = 0.0) -> np.ndarray:
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
    raise ValueError(f"window_starts {starts.shape} and window_scores {scores.shape}: "
                     "expected equal, non-empty (N,) arrays")
  order = np.argsort(starts, kind="stable")
  centres = starts[order] + (window_length - 1) / 2
  curve = np.interp(np.arange(num_frames), centres, scores[order])
  if smoothing_frames > 0:
    curve = scipy.ndimage.gaussian_filter1d(curve, smoothing_frames, mode="nearest")
  return curve.astype(np.float32)


def propose(curve: np.ndarray, *, half_width_frames: int, min_distance_frames: int,
            threshold: float | None = None, relative_threshold: float = 0.5,
            apex_signal: np.ndarray | None = None) -> np.ndarray:
  """Candidate clips from a per-frame score curve (steps 3–4).

  Args:
    curve: (T,) per-frame score, e.g. from `score_curve`.
    half_width_frames: clip half-length, frames (a 0.5 s ME at 150 fps: ~37).
    min_distance_frames: least distance between two peaks, frames.
    threshold: absolute score threshold; None uses `relative_threshold`.
    relative_threshold: p in `mean + p × (max − mean)`.
    apex_signal: (T,) signal whose maximum in the clip is its apex; None: the peak.

  Returns:
    (K, 3) int64 (onset, apex, offset) frames, by onset.
  """
  curve = np.asarray(curve, np.float64)
  if threshold is None:
    threshold = curve.mean() + relative_threshold * (curve.max() - curve.mean())
  peaks, _ = scipy.signal.find_peaks(curve, height=threshold,
                                     distance=max(1, int(min_distance_frames)))
  onsets = np.clip(peaks - half_width_frames, 0, len(curve) - 1)
  offsets = np.clip(peaks + half_width_frames, 0, len(curve) - 1)
  apexes = peaks.copy()
  if apex_signal is not None:
    apex_signal = np.asarray(apex_signal)
    if apex_signal.shape != curve.shape:
      raise ValueError(f"apex_signal {apex_signal.shape} must match the curve {curve.shape}")
    apexes = np.array([start + int(np.argmax(apex_signal[start:end + 1]))
                       for start, end in zip(onsets, offsets)], np.int64)
  return np.stack([onsets, apexes, offsets], axis=1).astype(np.int64).reshape(-1, 3)
