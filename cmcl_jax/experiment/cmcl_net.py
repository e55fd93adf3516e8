"""CMCL-Net as a spotter: trained on a fold (triplet pre-training, then fine-tuning),
scoring every window of a trial; one spotter per modality ("video", "ecg", "both").

A window's P(ME) is placed at its centre frame, interpolated to every frame and
smoothed (`spotting.proposals.score_curve`, σ = `smoothing_frames` of its peak rule):
the trial's score curve of the spotter's `kind`, "micro" by default. A "macro"
spotter trains on the macro-expression windows of the same dataset (its entry's
`tfds_config`, e.g. `casme2_macro`, whose label 1 is a macro-expression). On a
video-only dataset (`megc`) only the video stream trains (`video_inputs`).
"""

from __future__ import annotations

import copy
import dataclasses

import numpy as np

from cmcl_jax.experiment import dataset, scoring, single_trial, video_inputs
from cmcl_jax.experiment.spotter import Fold
from cmcl_jax.models.encoder import MODALITIES
from cmcl_jax.spotting import proposals
from cmcl_jax.spotting.candidates import MICRO, ScoredTrial
from cmcl_jax.spotting.megc import KINDS
from cmcl_jax.train import inputs, loop


class CmclNetSpotter:
  """CMCL-Net on one modality (`config.spotters.<name>.modality`).

  Trains with the config's `data`, `model`, `pretrain`, `finetune`, `checkpoint`
  and `logging` sections under the fold's workdir; peak rule `config.loso.spotting`.
  Its entry's `encoder` fields override `model.encoder` for this spotter (e.g. the
  paper's fusion), its `heads` fields `model.heads` (e.g. `classifier_ecg_features`),
  its `finetune` fields the `finetune` section, its `sampling` fields
  `data.sampling` (what its fine-tuning batches hold); optional fields: `kind` ("micro" or "macro"), `tfds_config` (the
  dataset config it trains and scores on, "" for `data.tfds_config`) and `spotting`
  (its own peak rule instead of `loso.spotting`). A fused spotter may start from the same fold's single-modality
  spotters: `start_from` maps a stream to a spotter run before it (listed before it
  in `loso.spotters`, or finished earlier in the same workdir), `classifier_from`
  the stream whose classifier it starts from
  (`cmcl_jax.train.warm_start`); it is then only fine-tuned. `average_with` names a
  CMCL-Net spotter run before it in the fold (e.g. "video"): its score is then the mean
  of its own and that run's P(ME), window by window (a late fusion that keeps the
  video model's evidence; `single_trial.PARTNER_FILE` records it in the run folder).
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
    average_with = settings.get("average_with", "")
    if average_with:
      if average_with == name or config.spotters.get(average_with, {}).get("method") != "cmcl_net":
        raise ValueError(
          f"spotters.{name}.average_with={average_with!r}: expected the name of another "
          "CMCL-Net spotter entry"
        )
      # Not run now, it must have finished in this workdir before (scoring says so).
      if name in order and average_with in order and order.index(average_with) > order.index(name):
        raise ValueError(
          f"spotters.{name}.average_with={average_with!r}: list {average_with!r} before "
          f"{name!r} in loso.spotters {order}; each fold trains it first"
        )
    kind = settings.get("kind", MICRO)
    if kind not in KINDS:
      raise ValueError(f"spotters.{name}.kind={kind!r}: expected one of {KINDS}")
    spotting, where = settings.get("spotting"), f"spotters.{name}.spotting"
    if spotting is None:
      spotting, where = config.loso.spotting, "loso.spotting"
    values = (spotting.threshold, *spotting.threshold_grid)
    if not all(0.0 <= v <= 1.0 for v in values):
      raise ValueError(
        f"{where}.threshold={spotting.threshold}, threshold_grid="
        f"{tuple(spotting.threshold_grid)}: CMCL-Net scores are probabilities; expected 0…1"
      )
    self.name = name
    self.kind = kind
    self.modality = settings.modality
    self._settings = settings
    self.spotting = spotting
    self._config = config
    self._trained = None  # (parts, params, features) once fitted
    self._builder = None  # the entry's own dataset config, once opened
    self.average_with = average_with
    self._partner = None  # (parts, params, features) of average_with's run, once read

  def training_config(self, fold: Fold):
    """The experiment config of this spotter's training on `fold`."""
    config = copy.deepcopy(self._config)
    config.model.encoder.modality = self.modality
    config.model.encoder.update(self._settings.encoder.to_dict())
    heads = self._settings.get("heads")
    if heads is not None:  # CMCLNet keywords the model config may not list
      with config.model.heads.unlocked():
        config.model.heads.update(heads.to_dict())
    finetune = self._settings.get("finetune")
    if finetune is not None:
      config.finetune.update(finetune.to_dict())
    sampling = self._settings.get("sampling")
    if sampling is not None:
      config.data.sampling.update(sampling.to_dict())
    if self._settings.start_from:
      config.finetune.init_from = "streams"
      config.finetune.init_streams = {
        stream: f"../{source}" for stream, source in self._settings.start_from.items()
      }
      config.finetune.init_classifier = self._settings.classifier_from
    config.data.tfds_config = self._settings.get("tfds_config", "") or config.data.tfds_config
    config.data.train_split = fold.train_split
    config.data.eval_split = fold.held_out
    return config

  def builder(self, fold: Fold):
    """The prepared dataset it trains and scores on: the fold's, or its entry's
    `tfds_config` of the same dataset, which must have the same subject splits."""
    tfds_config = self._settings.get("tfds_config", "")
    if not tfds_config or tfds_config == fold.builder.builder_config.name:
      return fold.builder
    if self._builder is not None:
      return self._builder
    builder = dataset.open_builder(self._config.data, tfds_config)
    if sorted(builder.info.splits.keys()) != sorted(fold.builder.info.splits.keys()):
      raise ValueError(
        f"spotters.{self.name}.tfds_config={tfds_config!r}: its subject splits "
        f"{sorted(builder.info.splits.keys())} are not those of data.tfds_config="
        f"{fold.builder.builder_config.name!r} {sorted(fold.builder.info.splits.keys())}; "
        "build both from the same raw layout"
      )
    self._builder = builder
    return builder

  def fit(self, fold: Fold) -> bool:
    config = self.training_config(fold)
    builder = self.builder(fold)
    fps = inputs.split_fps(builder, fold.train_split)
    if video_inputs.has_ecg(builder):
      features = inputs.input_features(builder, fold.train_split, config.data.feature_norm)
      data = inputs.mecg_data(config, builder)
      # The harness scores the held-out windows itself; the loop's own evaluation
      # would read them all a second time.
      data["finetune"] = dataclasses.replace(data["finetune"], evaluate=None)
      inputs.write_inputs(fold.workdir, builder, features, fps)
    else:
      features = video_inputs.VideoFeatures()
      data = video_inputs.video_data(config, builder)
      spec = builder.builder_config.windows.spec(fps)
      video_inputs.write_inputs(fold.workdir, builder, spec, fps)
    stages = ("finetune",) if config.finetune.init_from == "streams" else loop.STAGES
    trained = loop.train_and_evaluate(config, fold.workdir, data, stages)
    if any(result.preempted for result in trained.values()):
      return False
    finetuned = trained["finetune"]
    self._trained = (finetuned.parts, finetuned.state.params, features)
    if self.average_with:
      single_trial.write_partner(fold.workdir, f"../{self.average_with}")
    return True

  def _window_scores(self, fold: Fold, split: str) -> list[scoring.TrialScores]:
    """P(ME) of every window of `split`, averaged with `average_with`'s run when set."""
    runs = [self._trained]
    if self.average_with:
      if self._partner is None:  # read once: score() runs on held-out and training splits
        other = single_trial.load_run(single_trial.partner_dir(fold.workdir))
        self._partner = (other.parts, other.params, other.features)
      runs.append(self._partner)
    per_run = [
      scoring.score_split(
        run_parts,
        run_params,
        self.builder(fold),
        split,
        features=run_features,
        batch_size=self._config.loso.score_batch_size,
      )
      for run_parts, run_params, run_features in runs
    ]
    return [
      dataclasses.replace(t[0], scores=np.mean([x.scores for x in t], axis=0).astype(np.float32))
      for t in zip(*per_run)
    ]

  def score(self, fold: Fold, split: str) -> list[ScoredTrial]:
    if self._trained is None:
      raise RuntimeError(f"spotter {self.name}: score() before a finished fit()")
    scored = self._window_scores(fold, split)
    return [
      ScoredTrial(
        t.info,
        {
          self.kind: proposals.score_curve(
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
