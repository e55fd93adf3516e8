"""SOFTNet's training targets and its spotting rule (pure NumPy / SciPy).

After Liong et al. 2021 (genbing99/SoftNet-SpotME): ``load_label.py`` (`k_from_
intervals`), ``training.py`` (`pseudo_labels`, `aggregate_scores`, `spot_intervals`).
Frames are 0-based indices of a video; an interval ``(onset, offset)`` includes both
ends. Feature i (and its score) belongs to the flow pair (i, i + k), so a video of
T frames has T − k scores (`softnet_features`).

- k, the half-length of an expression: int((N + 1) / 2) with N the mean
  offset − onset of the annotated expressions of one type. `K_FRAMES` holds the
  values this rule gives on the MEGC ground truth; the authors computed k over the
  whole dataset, held-out subject included — on a LOSO fold compute it from the
  training subjects.
- Pseudo-label of score i: 1 if the k frames i … i + k − 1 overlap (IoU > 0) the
  frames onset + 1 … offset of some expression, else 0. SOFTNet regresses these
  0/1 targets with MSE, so the score is a soft confidence.
- Spotting: the scores are averaged over 2k consecutive entries (entry j of the
  aggregate is the mean of scores j … j + 2k − 1 and stands for frame j + k);
  peaks of the aggregate above mean + p·(max − mean) (Moilanen's rule, p = 0.55),
  at least k apart (`scipy.signal.find_peaks`), each give the interval
  (j, j + k, j + 2k) = (onset, apex, offset): the peak's frame ± k.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import scipy.signal

K_FRAMES = {
  ("CASME_sq", "micro"): 6,
  ("CASME_sq", "macro"): 18,
  ("SAMMLV", "micro"): 37,
  ("SAMMLV", "macro"): 174,
}
"""k by (dataset, expression type): `k_from_intervals` of the MEGC annotations
(CAS(ME)² at 30 fps: 57 micro, mean length 12.6 frames; 300 macro, 35.4. SAMM-LV at
200 fps: 159 micro, 73.3; 333 macro, 348.4, the authors dropping macros with onset
0). The same rule on MECG's annotations gives its k."""

RELATIVE_THRESHOLD = 0.55
"""p of the threshold mean + p·(max − mean); the authors' best F1 (``training.py``)."""


def _check_k(k: object) -> int:
  if not isinstance(k, (int, np.integer)) or k < 1:
    raise ValueError(f"k: expected an int >= 1 (frames), got {k!r}")
  return int(k)


def _check_intervals(intervals: Iterable, *, name: str = "intervals") -> np.ndarray:
  """(M, 2) int64 (onset, offset), 0 <= onset <= offset."""
  array = np.asarray(list(intervals), np.float64)
  if not array.size:
    return np.zeros((0, 2), np.int64)
  if array.ndim != 2 or array.shape[1] != 2 or not np.isfinite(array).all():
    raise ValueError(f"{name}: expected (M, 2) (onset, offset) frames, got shape {array.shape}")
  if (array != np.round(array)).any():
    raise ValueError(f"{name}: expected integer frames, got {array[array != np.round(array)][0]}")
  array = array.astype(np.int64)
  bad = np.flatnonzero((array[:, 0] < 0) | (array[:, 1] < array[:, 0]))
  if bad.size:
    raise ValueError(
      f"{name}: row {bad[0]} = {tuple(array[bad[0]].tolist())}, expected 0 <= onset <= offset"
    )
  return array


def k_from_intervals(intervals: Iterable) -> int:
  """SOFTNet's k: int((mean(offset − onset) + 1) / 2) frames, at least 1.

  Args:
    intervals: (M >= 1, 2) (onset, offset) frames of one expression type (all
      training videos pooled).
  """
  array = _check_intervals(intervals)
  if not len(array):
    raise ValueError("intervals: need at least one expression to compute k")
  return max(1, int((np.mean(array[:, 1] - array[:, 0]) + 1) / 2))


def pseudo_labels(num_frames: int, intervals: Iterable, k: int) -> np.ndarray:
  """0/1 training target of each score of a video.

  Args:
    num_frames: T, frames in the video.
    intervals: (M, 2) (onset, offset) frames of the video's expressions of the
      spotted type, inclusive; may be empty.
    k: frames between the two crops of a flow pair.

  Returns:
    (max(T − k, 0),) float32; entry i is 1 where frames i … i + k − 1 overlap
    onset + 1 … offset of an expression, i.e. onset + 2 − k <= i <= offset (none
    for an expression with onset = offset, as in the authors' code).
  """
  k = _check_k(k)
  if not isinstance(num_frames, (int, np.integer)) or num_frames < 0:
    raise ValueError(f"num_frames: expected an int >= 0, got {num_frames!r}")
  labels = np.zeros(max(int(num_frames) - k, 0), np.float32)
  for onset, offset in _check_intervals(intervals):
    if offset > onset:
      labels[max(onset + 2 - k, 0) : offset + 1] = 1.0
  return labels


def aggregate_scores(scores: np.ndarray, k: int) -> np.ndarray:
  """Means of 2k consecutive scores: (N,) → (max(N − 2k, 0),) float64.

  Entry j is mean(scores[j : j + 2k]) and stands for frame j + k.
  """
  k = _check_k(k)
  scores = np.asarray(scores, np.float64).reshape(-1)
  if len(scores) <= 2 * k:
    return np.zeros(0, np.float64)
  sums = np.concatenate([[0.0], np.cumsum(scores)])
  return (sums[2 * k : len(scores)] - sums[: len(scores) - 2 * k]) / (2 * k)


def threshold_of(aggregate: np.ndarray, p: float = RELATIVE_THRESHOLD) -> float:
  """mean + p·(max − mean) of an aggregated score curve."""
  aggregate = np.asarray(aggregate, np.float64)
  return float(aggregate.mean() + p * (aggregate.max() - aggregate.mean()))


def spot_intervals(
  scores: np.ndarray, k: int, *, p: float = RELATIVE_THRESHOLD, threshold: float | None = None
) -> np.ndarray:
  """SOFTNet's spotted intervals of one video from its per-frame scores.

  Args:
    scores: (N,) score of each flow pair (i, i + k), N = T − k.
    k: the expression half-length, frames.
    p: relative threshold (used when `threshold` is None).
    threshold: an absolute threshold on the aggregate instead.

  Returns:
    (K, 3) int64 (onset, apex, offset) frames, by onset: a peak of the aggregate
    at entry j gives (j, j + k, j + 2k). Empty when N <= 2k. The authors add a
    dummy (0, 0) prediction to a video without peaks; here it has none.
  """
  k = _check_k(k)
  aggregate = aggregate_scores(scores, k)
  if not len(aggregate):
    return np.zeros((0, 3), np.int64)
  height = threshold_of(aggregate, p) if threshold is None else float(threshold)
  peaks, _ = scipy.signal.find_peaks(aggregate, height=height, distance=k)
  return np.stack([peaks, peaks + k, peaks + 2 * k], axis=1).astype(np.int64).reshape(-1, 3)


def frame_curve(scores: np.ndarray, k: int, num_frames: int) -> np.ndarray:
  """The aggregate placed at its frames: (T,) float32 for a per-frame harness.

  Frame f = j + k gets aggregate entry j (frames k … T − 2k − 1); the first k and
  last 2k frames, which SOFTNet never scores, get the aggregate's minimum (0 when
  there is none), so they are never peaks.
  """
  k = _check_k(k)
  scores = np.asarray(scores, np.float64).reshape(-1)
  if len(scores) != max(num_frames - k, 0):
    raise ValueError(f"scores: expected T − k = {num_frames} − {k} entries, got {len(scores)}")
  aggregate = aggregate_scores(scores, k)
  curve = np.full(num_frames, aggregate.min() if len(aggregate) else 0.0, np.float64)
  curve[k : k + len(aggregate)] = aggregate
  return curve.astype(np.float32)
