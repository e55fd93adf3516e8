"""The Candidate Clip Filter (CCF): keep candidates whose apex HR slope is high.

A candidate clip is genuine when the heart-rate slope (HRS, bpm/s; see
`cmcl_jax.ecg.heart_rate`) at its apex frame exceeds η × the trial's mean HRS, and
spurious otherwise. The paper's best η is 2.0 (swept 1.3…2.3).
"""

from __future__ import annotations

import dataclasses

import numpy as np

PAPER_ETA = 2.0


@dataclasses.dataclass(frozen=True)
class CcfResult:
  """Candidates split by the filter.

  Attributes:
    kept, rejected: (K, 3) / (R, 3) int64 (onset, apex, offset) frames, input order.
    kept_hrs, rejected_hrs: (K,) / (R,) float32 HRS at their apex frames, bpm/s.
    threshold: η × trial mean HRS, bpm/s.
    kept_mask: (N,) bool, True where the input candidate is kept.
  """

  kept: np.ndarray
  rejected: np.ndarray
  kept_hrs: np.ndarray
  rejected_hrs: np.ndarray
  threshold: float
  kept_mask: np.ndarray


def ccf_filter(
  candidates, hrs: np.ndarray, eta: float = PAPER_ETA, mean_hrs: float | None = None
) -> CcfResult:
  """Keeps the candidates whose HRS at the apex frame exceeds η × the trial mean.

  Args:
    candidates: (N, 3) int (onset, apex, offset) frames of one trial.
    hrs: (T,) HRS of the trial at every video frame, bpm/s.
    eta: the filter's factor η.
    mean_hrs: the trial's mean HRS, bpm/s; default `hrs.mean()` (pass
      `cmcl_jax.ecg.mean_hrs(hr)` to average over good-quality samples only).

  Raises:
    ValueError: an apex frame outside the HRS curve, or a malformed input.
  """
  hrs = np.asarray(hrs, np.float32)
  if hrs.ndim != 1 or not hrs.size:
    raise ValueError(f"hrs: expected a non-empty (T,) curve, got shape {hrs.shape}")
  candidates = np.asarray(candidates, np.int64).reshape(-1, 3)
  apex = candidates[:, 1]
  outside = np.flatnonzero((apex < 0) | (apex >= hrs.size))
  if outside.size:
    raise ValueError(
      f"candidate {outside[0]}: apex frame {apex[outside[0]]} is outside the "
      f"HRS curve of {hrs.size} frames"
    )
  mean = float(hrs.mean()) if mean_hrs is None else float(mean_hrs)
  threshold = eta * mean
  at_apex = hrs[apex]
  keep = at_apex > threshold
  return CcfResult(
    candidates[keep], candidates[~keep], at_apex[keep], at_apex[~keep], threshold, keep
  )
