"""The spotting-method interface of the harness: a `Spotter` and the `Fold` it runs on.

A spotter is trained on the training subjects of a fold (or needs no training) and
then gives, for each trial of a split, one per-frame score curve per expression kind
(`cmcl_jax.spotting.ScoredTrial`). Everything after that is shared post-processing
run by the harness (`cmcl_jax.experiment.loso`): the spotter's own peak rule turns
curves into candidate clips, the CCF may filter them where the trial has ECG, and the
MEGC protocol counts them.

  class Flat:                                  # a spotter that needs no training
    def __init__(self, name, settings, config):
      self.name, self.spotting = name, config.loso.spotting
    def fit(self, fold):
      return True
    def score(self, fold, split):
      return [ScoredTrial(info, {"micro": np.zeros(info.frame_count, np.float32)})
              for info in trials.load_trials(fold.builder, split)]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import Protocol

import ml_collections
from etils import epath

from cmcl_jax.spotting.candidates import ScoredTrial


@dataclasses.dataclass(frozen=True)
class Fold:
  """One leave-one-subject-out fold, as a spotter sees it.

  Attributes:
    held_out: the test subject (a split name of the dataset).
    train_split: the training subjects, "+".join(split names).
    builder: the prepared dataset (`cmcl_jax.experiment.dataset.open_builder`).
    workdir: this spotter's own folder for this fold (checkpoints, logs, …).
    cache_dir: this spotter's folder shared by all folds, for what does not depend
      on the fold (e.g. per-trial features of a training-free preprocessing).
  """

  held_out: str
  train_split: str
  builder: object
  workdir: epath.Path
  cache_dir: epath.Path


class Spotter(Protocol):
  """A spotting method.

  Attributes:
    name: its `config.spotters` entry, the row name of its results.
    spotting: its peak rule (`smoothing_frames`, `half_width_frames`,
      `min_distance_frames`, `threshold`, `choose_threshold`, `threshold_grid`,
      `centre`; `cmcl_jax.spotting.proposals.propose_with`).
  """

  name: str
  spotting: ml_collections.ConfigDict

  def fit(self, fold: Fold) -> bool:
    """Trains on `fold.train_split` (resuming from `fold.workdir`); False when
    training stopped early (SIGTERM) and the fold must be rerun."""

  def score(self, fold: Fold, split: str) -> Sequence[ScoredTrial]:
    """Per-frame score curves of every trial of `split`, in dataset order."""
