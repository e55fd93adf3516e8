"""Post-processing of any spotter's output: per-frame score curves → candidate clips →
Candidate Clip Filter → MEGC metrics. Imports no model and no training code."""

from cmcl_jax.spotting.candidates import ScoredTrial, candidates_of, choose_threshold
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
from cmcl_jax.spotting.proposals import propose, propose_with, score_curve
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
  "ScoredTrial",
  "TrialCandidates",
  "candidates_of",
  "ccf_filter",
  "choose_eta",
  "choose_threshold",
  "evaluate",
  "evaluate_candidates",
  "interval_iou",
  "match_intervals",
  "precision_recall_f1",
  "propose",
  "propose_with",
  "score_curve",
  "sweep_eta",
]
