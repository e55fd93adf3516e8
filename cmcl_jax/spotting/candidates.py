"""From a spotter's per-frame score curves to candidate clips with what CCF and metric need.

Any spotting method (`cmcl_jax.experiment.Spotter`) gives, for each trial, one score
curve per expression kind (`ScoredTrial`); the peak rule (`proposals.propose_with`)
turns a curve into candidate clips, and `candidates_of` bundles them with the trial's
HRS curve (for the CCF) and its ground truth (for the MEGC metric) as
`sweep.TrialCandidates`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np

from cmcl_jax.data import trials as trials_lib
from cmcl_jax.spotting import proposals
from cmcl_jax.spotting.sweep import TrialCandidates, evaluate_candidates

MICRO = "micro"
"""The expression kind of micro-expressions (`windows.Interval.kind`)."""


@dataclasses.dataclass(frozen=True)
class ScoredTrial:
  """A spotter's output for one trial.

  Attributes:
    info: the trial (`cmcl_jax.data.trials.TrialInfo`).
    curves: expression kind ("micro", …) → (frame_count,) float32 per-frame score;
      higher means more likely inside an expression of that kind.
    intervals: expression kind → (N, 3) int64 (onset, apex, offset) inclusive frames,
      for methods with an interval rule of their own (MDMD, SOFTNet): used as the
      candidates as they are, instead of the peak rule on the curve (which is then
      only drawn).
  """

  info: trials_lib.TrialInfo
  curves: Mapping[str, np.ndarray]
  intervals: Mapping[str, np.ndarray] = dataclasses.field(default_factory=dict)

  def __post_init__(self):
    for kind, curve in self.curves.items():
      if np.shape(curve) != (self.info.frame_count,):
        raise ValueError(
          f"trial {self.info.trial}: the {kind!r} score curve has shape {np.shape(curve)}, "
          f"expected ({self.info.frame_count},), one score per frame"
        )
    for kind, intervals in self.intervals.items():
      intervals = np.asarray(intervals)
      ordered = (
        intervals.ndim == 2
        and intervals.shape[1] == 3
        and (
          (0 <= intervals[:, 0])
          & (intervals[:, 0] <= intervals[:, 1])
          & (intervals[:, 1] <= intervals[:, 2])
          & (intervals[:, 2] < self.info.frame_count)
        ).all()
      )
      if not ordered:
        raise ValueError(
          f"trial {self.info.trial}: the {kind!r} intervals must be (N, 3) onset ≤ apex ≤ "
          f"offset frames inside [0, {self.info.frame_count}), got {intervals.tolist()[:3]}…"
        )


def candidates_of(
  scored: Sequence[ScoredTrial], spotting, threshold: float | None = None, kind: str = MICRO
) -> list[TrialCandidates]:
  """Candidate clips of scored trials by the peak rule `spotting` (e.g.
  `config.loso.spotting`), or the trial's own `intervals` where the spotter gave them,
  with each trial's HRS and its `kind` ground truth.

  `threshold` replaces `spotting.threshold` when given.
  """
  out = []
  for trial in scored:
    info = trial.info
    if kind in trial.intervals:
      clips = np.asarray(trial.intervals[kind], np.int64).reshape(-1, 3)
    else:
      clips = proposals.propose_with(trial.curves[kind], spotting, threshold)
    truth = np.array(
      [(e.onset, e.offset) for e in info.expressions if e.kind == kind], np.int64
    ).reshape(-1, 2)
    out.append(
      TrialCandidates(
        info.trial, info.subject, clips, info.hrs_bpm_per_s, info.mean_hrs_bpm_per_s, truth
      )
    )
  return out


def choose_threshold(scored: Sequence[ScoredTrial], spotting, kind: str = MICRO) -> float:
  """The score threshold of `spotting.threshold_grid` with the best spotting F1 on
  `scored` (ties: the larger). Pass only the fold's training subjects."""
  f1 = {
    float(t): evaluate_candidates(candidates_of(scored, spotting, float(t), kind), None).total.f1
    for t in spotting.threshold_grid
  }
  return max(f1, key=lambda t: (f1[t], t))
