"""The CCF's η: evaluate a sweep, and choose η on training subjects only.

A trial's spotting output, before filtering, is a `TrialCandidates`: its candidate
clips, its per-frame HRS curve and mean, and its ground truth. Applying the CCF at a
given η and scoring with the MEGC protocol is then a pure function of η, so sweeping
η and choosing it inside a LOSO fold cost no model evaluation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence

import numpy as np

from cmcl_jax.spotting.ccf import ccf_filter
from cmcl_jax.spotting.metrics import Evaluation, evaluate

PAPER_ETA_SWEEP = (1.3, 1.4, 1.5, 1.6, 1.7, 1.8, 1.9, 2.0, 2.1, 2.2, 2.3)
"""The paper's η grid: 1.3 … 2.3 by 0.1."""


@dataclasses.dataclass(frozen=True)
class TrialCandidates:
  """One trial's unfiltered spotting output and its ground truth.

  Attributes:
    trial_id, subject: ids (pseudonymised).
    candidates: (K, 3) int (onset, apex, offset) frames.
    hrs: (T,) HRS at every frame, bpm/s.
    mean_hrs: the trial's mean HRS over good-quality samples, bpm/s.
    ground_truth: (G, 2) inclusive ME intervals, frames.
  """

  trial_id: str
  subject: str
  candidates: np.ndarray
  hrs: np.ndarray
  mean_hrs: float
  ground_truth: np.ndarray


def evaluate_candidates(
  trials: Iterable[TrialCandidates], eta: float | None, iou: float = 0.5
) -> Evaluation:
  """MEGC evaluation of the candidates, CCF-filtered at η (None: unfiltered)."""
  predictions, ground_truth, subject_of = {}, {}, {}
  for trial in trials:
    kept = (
      trial.candidates
      if eta is None
      else ccf_filter(trial.candidates, trial.hrs, eta, trial.mean_hrs).kept
    )
    predictions[trial.trial_id] = [(int(c[0]), int(c[2])) for c in kept]
    ground_truth[trial.trial_id] = [tuple(map(int, g)) for g in trial.ground_truth]
    subject_of[trial.trial_id] = trial.subject
  return evaluate(predictions, ground_truth, subject_of, iou)


def sweep_eta(
  trials: Sequence[TrialCandidates], etas: Sequence[float] = PAPER_ETA_SWEEP, iou: float = 0.5
) -> dict[float, Evaluation]:
  """η → evaluation with the CCF at that η."""
  return {float(eta): evaluate_candidates(trials, eta, iou) for eta in etas}


def choose_eta(
  training_trials: Sequence[TrialCandidates],
  etas: Sequence[float] = PAPER_ETA_SWEEP,
  iou: float = 0.5,
  allow_off: bool = False,
) -> float | None:
  """The η of best F1 on the training subjects' trials (ties: the smaller η).

  With `allow_off`, "no filter" (returned as None) competes too and wins ties: the
  filter is kept only where it raises F1 on the training subjects, so where the
  heart carries nothing the fold keeps its unfiltered candidates.

  Pass only trials of the fold's training subjects: the test subject must not
  influence its own η.
  """
  sweep = sweep_eta(training_trials, etas, iou)
  best = max(sweep, key=lambda eta: (sweep[eta].total.f1, -eta))
  if allow_off and evaluate_candidates(training_trials, None, iou).total.f1 >= sweep[best].total.f1:
    return None
  return best
