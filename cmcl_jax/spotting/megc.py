"""The MEGC protocol for both expression types, and its submission files.

MEGC scores micro- and macro-expression spotting separately — a spotted interval of
one type is matched only against ground truth of that type (IoU ≥ 0.5, `metrics`) —
and overall by *pooling the counts*: TP, FP and FN summed over both types before
P / R / F1 are computed, not a mean of the two F1s. E.g. the MEGC 2020 baseline on
CAS(ME)²: TP 130, FP 6428, FN 227 overall → F1 0.0376.

A submission is one CSV per method: a row per spotted interval,
`vid, pred_onset, pred_offset, type` (inclusive frames, type "micro" or "macro").
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping, Sequence
from pathlib import Path

from cmcl_jax.spotting.metrics import Counts, Evaluation, evaluate

KINDS = ("micro", "macro")
OVERALL = "overall"
SUBMISSION_COLUMNS = ("vid", "pred_onset", "pred_offset", "type")

Spotted = Mapping[str, Sequence[tuple[int, int, str]]]
"""Video id → (onset, offset, kind) intervals, inclusive frames."""


def _check_kinds(intervals: Spotted, name: str) -> None:
  for video, rows in intervals.items():
    for row in rows:
      if row[2] not in KINDS:
        raise ValueError(f"{name}[{video!r}]: type {row[2]!r}; expected one of {KINDS}")


def evaluate_by_kind(
  predictions: Spotted,
  ground_truth: Spotted,
  subject_of: Mapping[str, str],
  iou: float = 0.5,
) -> dict[str, Evaluation | Counts]:
  """Per type `Evaluation` ("micro", "macro") and the pooled "overall" `Counts`.

  Args:
    predictions: video id → spotted (onset, offset, kind) intervals.
    ground_truth: video id → annotated (onset, offset, kind) intervals, every video
      evaluated (with no interval where it has none).
    subject_of: video id → subject.
    iou: least IoU of a true positive.

  Raises:
    ValueError: an unknown type, or a prediction for a video without ground truth.
  """
  _check_kinds(predictions, "predictions")
  _check_kinds(ground_truth, "ground_truth")
  results: dict[str, Evaluation | Counts] = {}
  for kind in KINDS:
    of_kind = {v: [(a, b) for a, b, k in rows if k == kind] for v, rows in predictions.items()}
    truth = {v: [(a, b) for a, b, k in rows if k == kind] for v, rows in ground_truth.items()}
    results[kind] = evaluate(of_kind, truth, subject_of, iou)
  results[OVERALL] = pooled([results[kind].total for kind in KINDS])
  return results


def pooled(counts: Sequence[Counts]) -> Counts:
  """The MEGC overall counts: the types' TP, FP and FN summed."""
  return sum(counts, Counts())


def write_submission(path: str | os.PathLike, predictions: Spotted) -> Path:
  """Writes `predictions` in the MEGC submission layout (`SUBMISSION_COLUMNS`), videos
  in sorted order, intervals by onset; returns the path."""
  _check_kinds(predictions, "predictions")
  path = Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  with path.open("w", newline="") as f:
    writer = csv.writer(f)
    writer.writerow(SUBMISSION_COLUMNS)
    for video in sorted(predictions):
      for onset, offset, kind in sorted(predictions[video]):
        writer.writerow((video, int(onset), int(offset), kind))
  return path


def read_submission(path: str | os.PathLike) -> dict[str, list[tuple[int, int, str]]]:
  """A submission file back as video id → (onset, offset, kind) intervals.

  Raises:
    ValueError: naming the file and row, for a header or a cell not as written by
      `write_submission`.
  """
  path = Path(path)
  with path.open(newline="") as f:
    rows = list(csv.reader(f))
  if not rows or tuple(rows[0]) != SUBMISSION_COLUMNS:
    raise ValueError(f"{path}: header {rows[0] if rows else []}; expected {SUBMISSION_COLUMNS}")
  out: dict[str, list[tuple[int, int, str]]] = {}
  for number, row in enumerate(rows[1:], start=2):
    try:
      video, onset, offset, kind = row
      interval = (int(onset), int(offset), kind)
    except ValueError:
      raise ValueError(
        f"{path} row {number}: {row}; expected vid, an integer onset and offset, and a type"
      ) from None
    if kind not in KINDS or interval[1] < interval[0]:
      raise ValueError(f"{path} row {number}: {row}; expected onset ≤ offset and a type in {KINDS}")
    out.setdefault(video, []).append(interval)
  return out
