"""Face motion as a spotter: a training-free lower bound for any learned method.

Each window's score is its peak mean face-flow magnitude (`TrialInfo.window_motion`,
pixels, computed by the dataset build), divided by the trial's largest, so scores lie
in [0, 1] whatever the subject's head size or the video's resolution; placed at the
window centres, interpolated to every frame and smoothed like CMCL-Net's scores
(`spotting.proposals.score_curve`). Blinks, twitches and macro-expressions score as
high as MEs: that is the point of a lower bound.

Config entry (`config.spotters.<name>`): `method="motion"`, `title`, and `spotting`,
its own peak rule (e.g. `choose_threshold=True`: the fold's training subjects pick it).
"""

from __future__ import annotations

import numpy as np

from cmcl_jax.data import trials as trials_lib
from cmcl_jax.spotting import proposals
from cmcl_jax.spotting.candidates import MICRO, ScoredTrial


class MotionSpotter:
  """Scores windows by relative face motion; needs no training."""

  def __init__(self, name: str, settings, config):
    del config  # nothing of the experiment's model or training is used
    self.name = name
    self.spotting = settings.spotting

  def fit(self, fold) -> bool:
    del fold
    return True

  def score(self, fold, split: str) -> list[ScoredTrial]:
    out = []
    for info in trials_lib.load_trials(fold.builder, split):
      motion = info.window_motion.astype(np.float64)
      relative = motion / motion.max() if motion.max() > 0 else motion
      curve = proposals.score_curve(
        info.window_starts,
        relative,
        info.record["spec"]["window_frames"],
        info.frame_count,
        self.spotting.smoothing_frames,
      )
      out.append(ScoredTrial(info, {MICRO: curve}))
    return out
