"""Spotting: window scores → candidate clips → Candidate Clip Filter → MEGC metrics."""

from cmcl_jax.spotting.ccf import PAPER_ETA, CcfResult, ccf_filter
from cmcl_jax.spotting.metrics import (
  Counts,
  Evaluation,
  Match,
  evaluate,
  interval_iou,
  match_intervals,
  precision_recall_f1,
)
from cmcl_jax.spotting.proposals import propose, score_curve
from cmcl_jax.spotting.sweep import (
  PAPER_ETA_SWEEP,
  TrialCandidates,
  choose_eta,
  evaluate_candidates,
  sweep_eta,
)

__all__ = [
  "PAPER_ETA",
  "PAPER_ETA_SWEEP",
  "CcfResult",
  "Counts",
  "Evaluation",
  "Match",
  "TrialCandidates",
  "ccf_filter",
  "choose_eta",
  "evaluate",
  "evaluate_candidates",
  "interval_iou",
  "match_intervals",
  "precision_recall_f1",
  "propose",
  "score_curve",
  "sweep_eta",
]
