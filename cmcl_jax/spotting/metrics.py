"""MEGC spotting evaluation: interval matching at IoU ≥ 0.5, and P / R / F1.

Intervals are inclusive `(start_frame, end_frame)` pairs; IoU is counted in frames:
|A ∩ B| / |A ∪ B| with |[s, e]| = e − s + 1. A spotted interval is a true positive when
it is matched to a ground-truth interval with IoU ≥ the threshold; each ground truth is
matched at most once and each prediction at most once, and among all such matchings the
one with the most pairs (then the largest total IoU) is taken. Unmatched predictions are
false positives, unmatched ground truths false negatives. TP, FP and FN are summed over
the whole dataset before P, R and F1 are computed (MEGC protocol).
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import scipy.optimize


@dataclasses.dataclass(frozen=True)
class Counts:
  """True positives, false positives and false negatives, with derived metrics."""

  tp: int = 0
  fp: int = 0
  fn: int = 0

  def __add__(self, other: "Counts") -> "Counts":
    return Counts(self.tp + other.tp, self.fp + other.fp, self.fn + other.fn)

  @property
  def precision(self) -> float:
    return precision_recall_f1(self.tp, self.fp, self.fn)[0]

  @property
  def recall(self) -> float:
    return precision_recall_f1(self.tp, self.fp, self.fn)[1]

  @property
  def f1(self) -> float:
    return precision_recall_f1(self.tp, self.fp, self.fn)[2]

  def as_dict(self) -> dict:
    p, r, f1 = precision_recall_f1(self.tp, self.fp, self.fn)
    return {"tp": self.tp, "fp": self.fp, "fn": self.fn, "precision": p, "recall": r, "f1": f1}


@dataclasses.dataclass(frozen=True)
class Match(Counts):
  """`Counts` of one trial plus which prediction matched which ground truth.

  Attributes:
    pairs: (prediction index, ground-truth index, IoU) of every true positive.
  """

  pairs: tuple[tuple[int, int, float], ...] = ()


def precision_recall_f1(tp: int, fp: int, fn: int) -> tuple[float, float, float]:
  """(precision, recall, F1); each is 0.0 where its denominator is 0."""
  if min(tp, fp, fn) < 0:
    raise ValueError(f"counts must be ≥ 0, got tp={tp}, fp={fp}, fn={fn}")
  precision = tp / (tp + fp) if tp + fp else 0.0
  recall = tp / (tp + fn) if tp + fn else 0.0
  f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
  return precision, recall, f1


def _as_intervals(intervals, name: str) -> np.ndarray:
  array = (
    np.asarray(intervals, dtype=np.int64).reshape(-1, 2)
    if len(intervals)
    else (np.zeros((0, 2), np.int64))
  )
  bad = np.flatnonzero(array[:, 1] < array[:, 0])
  if bad.size:
    raise ValueError(
      f"{name}[{bad[0]}] = {tuple(array[bad[0]])}: expected start ≤ end (inclusive frame interval)"
    )
  return array


def interval_overlap(a, b) -> np.ndarray:
  """(len(a), len(b)) frames shared by inclusive intervals a (N, 2) and b (M, 2)."""
  a, b = _as_intervals(a, "a"), _as_intervals(b, "b")
  return (
    np.minimum(a[:, None, 1], b[None, :, 1]) - np.maximum(a[:, None, 0], b[None, :, 0]) + 1
  ).clip(min=0)


def interval_iou(a, b) -> np.ndarray:
  """(len(a), len(b)) IoU in frames of inclusive intervals a (N, 2) and b (M, 2)."""
  a, b = _as_intervals(a, "a"), _as_intervals(b, "b")
  inter = interval_overlap(a, b)
  sizes_a = a[:, 1] - a[:, 0] + 1
  sizes_b = b[:, 1] - b[:, 0] + 1
  return inter / (sizes_a[:, None] + sizes_b[None, :] - inter)


def match_intervals(
  pred: Sequence[tuple[int, int]], gt: Sequence[tuple[int, int]], iou: float = 0.5
) -> Match:
  """Matches one trial's spotted intervals to its ground truth (see module docstring).

  Args:
    pred: spotted inclusive (start_frame, end_frame) intervals.
    gt: ground-truth inclusive intervals.
    iou: least IoU of a true positive (MEGC: 0.5).
  """
  pred, gt = _as_intervals(pred, "pred"), _as_intervals(gt, "gt")
  if not len(pred) or not len(gt):
    return Match(0, len(pred), len(gt))
  overlap = interval_iou(pred, gt)
  eligible = overlap >= iou
  # Most pairs first, then most IoU: a pair is worth 1 + IoU / (n + 1) < 2.
  worth = np.where(eligible, 1.0 + overlap / (min(overlap.shape) + 1), 0.0)
  rows, cols = scipy.optimize.linear_sum_assignment(worth, maximize=True)
  pairs = tuple(
    (int(r), int(c), float(overlap[r, c])) for r, c in zip(rows, cols) if eligible[r, c]
  )
  tp = len(pairs)
  return Match(tp, len(pred) - tp, len(gt) - tp, pairs)


@dataclasses.dataclass(frozen=True)
class Evaluation:
  """Spotting results summed over a dataset, per subject and per trial."""

  total: Counts
  per_subject: dict[str, Counts]
  per_trial: dict[str, Match]


def evaluate(
  predictions: Mapping[str, Sequence[tuple[int, int]]],
  ground_truth: Mapping[str, Sequence[tuple[int, int]]],
  subject_of: Mapping[str, str],
  iou: float = 0.5,
) -> Evaluation:
  """MEGC evaluation over trials.

  Args:
    predictions: trial id → spotted intervals (a trial may be absent: nothing spotted).
    ground_truth: trial id → ground-truth intervals, for every evaluated trial.
    subject_of: trial id → subject id.
    iou: least IoU of a true positive.

  Raises:
    ValueError: a prediction for a trial that has no ground-truth entry.
  """
  unknown = sorted(set(predictions) - set(ground_truth))
  if unknown:
    raise ValueError(f"predictions for trials without ground truth: {unknown[:5]}")
  per_trial = {
    trial: match_intervals(predictions.get(trial, ()), gt, iou)
    for trial, gt in ground_truth.items()
  }
  per_subject = collections.defaultdict(Counts)
  for trial, match in per_trial.items():
    per_subject[subject_of[trial]] += Counts(match.tp, match.fp, match.fn)
  total = sum(per_subject.values(), Counts())
  return Evaluation(total, dict(sorted(per_subject.items())), per_trial)
