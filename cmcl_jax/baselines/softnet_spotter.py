"""SOFTNet as a spotter of the harness: trained on each fold's training subjects.

Each trial: grey face crops of every `step`-th frame (`face_crops`, the video taken
at `fps`, 30 Hz by default), SOFTNet's (u, v, ε) features of the pairs (i, i + k)
(`softnet_features`, cached per trial and k in the spotter's cache folder). k is
SOFTNet's rule (`softnet_labels.k_from_intervals`) over the fold's training subjects'
expressions of `kind`, or `k` when set. Fit: pseudo-labels, the authors' training set
(half the negatives dropped, positives augmented for MEs), `epochs` passes of SGD
(`softnet_train.fit`). Score: the model's per-pair scores, the authors' aggregation
and peak rule (`softnet_labels.spot_intervals`, relative threshold `p`) into
intervals, mapped back to video frames; the aggregate is the curve drawn.

Config entry (`config.spotters.<name>`): `method="softnet"`, `title`, `kind`, `fps`,
`crop_px`, `flow` (`softnet_features.FLOW_METHODS`; DIS stands in for the authors'
TV-L1), `k` (0: from the training subjects), `epochs`, `p`, and `spotting`.
"""

from __future__ import annotations

import functools

import numpy as np
from absl import logging

from cmcl_jax.baselines import face_crops, softnet_features, softnet_labels, softnet_train
from cmcl_jax.data import trials as trials_lib
from cmcl_jax.spotting.candidates import MICRO, ScoredTrial


class SoftnetSpotter:
  """SOFTNet on the trials' raw videos (`config.data.raw_dir`)."""

  def __init__(self, name: str, settings, config):
    if settings.spotting.choose_threshold:
      raise ValueError(
        f"spotters.{name}.spotting.choose_threshold: SOFTNet has its own threshold (p)"
      )
    if settings.flow not in softnet_features.FLOW_METHODS:
      raise ValueError(
        f"spotters.{name}.flow={settings.flow!r}: expected one of {softnet_features.FLOW_METHODS}"
      )
    if settings.epochs < 1 or settings.k < 0:
      raise ValueError(f"spotters.{name}: expected epochs >= 1 and k >= 0 (0: from the data)")
    self.name = name
    self.kind = settings.kind
    self.spotting = settings.spotting
    self._settings = settings
    self._raw_dir = config.data.raw_dir
    self._seed = config.seed
    self._trained = None  # (params, k, step) once fitted

  def _step(self, info) -> int:
    return face_crops.frame_step(info.fps, self._settings.fps)

  def _truth(self, info, step: int) -> np.ndarray:
    """(M, 2) (onset, offset) of the trial's expressions of `kind`, analysed frames."""
    rows = [
      (e.onset // step, e.offset // step) for e in info.expressions if e.kind == self._settings.kind
    ]
    return np.array(rows, np.int64).reshape(-1, 2)

  @functools.cached_property
  def _videos(self) -> face_crops.TrialVideos:
    return face_crops.TrialVideos(self._raw_dir)

  def _features(self, info, cache_dir, step: int, k: int) -> np.ndarray:
    """(T' − k, 42, 42, 3) unnormalised features, cached by what they depend on."""
    settings, video = self._settings, self._videos(info)

    def compute():
      crops = face_crops.read_face_crops(video, settings.crop_px, info.fps, step=step)
      return softnet_features.frame_features(
        crops.frames, crops.landmarks, k=k, method=settings.flow
      ).astype(np.float16)  # 21 kB a frame in float32; flow pixels need no more

    return face_crops.cached(cache_dir, video, [step, settings.crop_px, settings.flow, k], compute)

  def _each_features(self, infos, cache_dir, step: int, k: int) -> list:
    """`_features` of every trial, several videos at a time (`face_crops.each_video`):
    an array, or the `FaceCropError` of a video without a face."""
    return face_crops.each_video(lambda info: self._features(info, cache_dir, step, k), infos)

  def fit(self, fold) -> bool:
    infos = trials_lib.load_trials(fold.builder, fold.train_split)
    steps = {self._step(info) for info in infos}
    if len(steps) != 1:
      raise ValueError(f"spotter {self.name}: training trials at several frame rates {steps}")
    (step,) = steps
    truth = [self._truth(info, step) for info in infos]
    k = self._settings.k or softnet_labels.k_from_intervals(np.concatenate(truth))
    features, labels = [], []
    computed = self._each_features(infos, fold.cache_dir, step, k)
    for info, intervals, trial in zip(infos, truth, computed):
      if isinstance(trial, face_crops.FaceCropError):
        logging.warning("trial %s: %s; left out of SOFTNet's training", info.trial, trial)
        continue
      features.append(trial)
      labels.append(softnet_labels.pseudo_labels(len(trial) + k, intervals, k))
    if not features:  # nothing to learn from: every held-out video is then missed
      logging.warning("spotter %s: no training video gives a face crop; not trained", self.name)
      self._trained = (None, k, step)
      return True
    inputs, targets = softnet_train.training_set(
      np.concatenate(features).astype(np.float32),
      np.concatenate(labels),
      augment_positives=self._settings.kind == MICRO,
      seed=self._seed,
    )
    steps_total = softnet_train.steps_for_epochs(len(inputs), epochs=self._settings.epochs)
    params = softnet_train.fit(inputs, targets, steps=steps_total, seed=self._seed, progress=True)
    self._trained = (params, k, step)
    return True

  def score(self, fold, split: str) -> list[ScoredTrial]:
    if self._trained is None:
      raise RuntimeError(f"spotter {self.name}: score() before a finished fit()")
    params, k, step = self._trained
    kind, out = self._settings.kind, []
    infos = trials_lib.load_trials(fold.builder, split)
    for info in infos:
      if self._step(info) != step:
        raise ValueError(f"trial {info.trial}: {info.fps} Hz, trained at every {step}-th frame")
    if params is None:
      untrained = face_crops.FaceCropError("SOFTNet is untrained: no training video gave a face")
      return [face_crops.faceless(info, kind, untrained) for info in infos]
    computed = self._each_features(infos, fold.cache_dir, step, k)
    for info, features in zip(infos, computed):
      if isinstance(features, face_crops.FaceCropError):
        out.append(face_crops.faceless(info, kind, features))
        continue
      scores = softnet_train.predict(params, softnet_features.normalize(features))
      frames = len(scores) + k
      intervals = softnet_labels.spot_intervals(scores, k, p=self._settings.p)
      intervals = intervals[intervals[:, 2] < frames]
      curve = softnet_labels.frame_curve(scores, k, frames)
      out.append(face_crops.scored_at_video_rate(info, kind, curve, intervals, step))
    return out
