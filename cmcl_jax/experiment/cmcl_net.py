"""CMCL-Net as a spotter: trained on a fold (triplet pre-training, then fine-tuning),
scoring every window of a trial; one spotter per modality ("video", "ecg", "both").

A window's P(ME) is placed at its centre frame, interpolated to every frame and
smoothed (`spotting.proposals.score_curve`, σ = `loso.spotting.smoothing_frames`): the
trial's "micro" score curve.
"""

from __future__ import annotations

import copy
import dataclasses

from cmcl_jax.experiment import scoring
from cmcl_jax.experiment.spotter import Fold
from cmcl_jax.models.encoder import MODALITIES
from cmcl_jax.spotting import proposals
from cmcl_jax.spotting.candidates import MICRO, ScoredTrial
from cmcl_jax.train import inputs, loop


class CmclNetSpotter:
  """CMCL-Net on one modality (`config.spotters.<name>.modality`).

  Trains with the config's `data`, `model`, `pretrain`, `finetune`, `checkpoint`
  and `logging` sections under the fold's workdir; peak rule `config.loso.spotting`.
  Its entry's `encoder` fields override `model.encoder` for this spotter (e.g. the
  paper's fusion). A fused spotter may start from the same fold's single-modality
  spotters: `start_from` maps a stream to a spotter run before it (listed before it
  in `loso.spotters`, or finished earlier in the same workdir), `classifier_from`
  the stream whose classifier it starts from
  (`cmcl_jax.train.warm_start`); it is then only fine-tuned.
  """

  def __init__(self, name: str, settings, config):
    if settings.modality not in MODALITIES:
      raise ValueError(
        f"spotters.{name}.modality={settings.modality!r}: expected one of {MODALITIES}"
      )
    order = tuple(config.loso.spotters)
    for stream, source in settings.start_from.items():
      if source not in config.spotters or config.spotters[source].modality != stream:
        raise ValueError(
          f"spotters.{name}.start_from.{stream}={source!r}: expected the name of a "
          f"{stream}-only spotter entry"
        )
      # A source not run now must have finished in this workdir before (fit says so).
      if name in order and source in order and order.index(source) > order.index(name):
        raise ValueError(
          f"spotters.{name}.start_from.{stream}={source!r}: list {source!r} before "
          f"{name!r} in loso.spotters {order}; each fold trains it first"
        )
    spotting = config.loso.spotting
    values = (spotting.threshold, *spotting.threshold_grid)
    if not all(0.0 <= v <= 1.0 for v in values):
      raise ValueError(
        f"loso.spotting.threshold={spotting.threshold}, threshold_grid="
        f"{tuple(spotting.threshold_grid)}: CMCL-Net scores are probabilities; expected 0…1"
      )
    self.name = name
    self.modality = settings.modality
    self._settings = settings
    self.spotting = spotting
    self._config = config
    self._trained = None  # (parts, params, features) once fitted

  def training_config(self, fold: Fold):
    """The experiment config of this spotter's training on `fold`."""
    config = copy.deepcopy(self._config)
    config.model.encoder.modality = self.modality
    config.model.encoder.update(self._settings.encoder.to_dict())
    if self._settings.start_from:
      config.finetune.init_from = "streams"
      config.finetune.init_streams = {
        stream: f"../{source}" for stream, source in self._settings.start_from.items()
      }
      config.finetune.init_classifier = self._settings.classifier_from
    config.data.train_split = fold.train_split
    config.data.eval_split = fold.held_out
    return config

  def fit(self, fold: Fold) -> bool:
    config = self.training_config(fold)
    features = inputs.input_features(fold.builder, fold.train_split, config.data.feature_norm)
    data = inputs.mecg_data(config, fold.builder)
    # The harness scores the held-out windows itself; the loop's own evaluation
    # would read them all a second time.
    data["finetune"] = dataclasses.replace(data["finetune"], evaluate=None)
    fps = inputs.split_fps(fold.builder, fold.train_split)
    inputs.write_inputs(fold.workdir, fold.builder, features, fps)
    stages = ("finetune",) if config.finetune.init_from == "streams" else loop.STAGES
    trained = loop.train_and_evaluate(config, fold.workdir, data, stages)
    if any(result.preempted for result in trained.values()):
      return False
    finetuned = trained["finetune"]
    self._trained = (finetuned.parts, finetuned.state.params, features)
    return True

  def score(self, fold: Fold, split: str) -> list[ScoredTrial]:
    if self._trained is None:
      raise RuntimeError(f"spotter {self.name}: score() before a finished fit()")
    parts, params, features = self._trained
    scored = scoring.score_split(
      parts,
      params,
      fold.builder,
      split,
      features=features,
      batch_size=self._config.loso.score_batch_size,
    )
    return [
      ScoredTrial(
        t.info,
        {
          MICRO: proposals.score_curve(
            t.window_starts,
            t.scores,
            t.info.record["spec"]["window_frames"],
            t.info.frame_count,
            self.spotting.smoothing_frames,
          )
        },
      )
      for t in scored
    ]
