"""Spotting: window scores → candidate clips → Candidate Clip Filter → MEGC metrics."""

from cmcl_jax.spotting.ccf import PAPER_ETA, CcfResult, ccf_filter
from cmcl_jax.spotting.metrics import (Counts, Evaluation, Match, evaluate, interval_iou,
                                       match_intervals, precision_recall_f1)
from cmcl_jax.spotting.proposals import propose, score_curve

__all__ = ["PAPER_ETA", "CcfResult", "Counts", "Evaluation", "Match", "ccf_filter",
           "evaluate", "interval_iou", "match_intervals", "precision_recall_f1", "propose",
           "score_curve"]
