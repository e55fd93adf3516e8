"""MDMD, the MEGC 2020 baseline, as a spotter of the harness: training-free.

Each trial: grey face crops of every `step`-th frame (`face_crops`, the video taken
at `fps`, 30 Hz by default: CAS(ME)²'s rate, at which MDMD's constants were set),
MDMD's per-frame score F (`mdmd_features.mdmd_scores`, cached per trial in the
spotter's cache folder), its contrast and threshold rule into intervals
(`mdmd.spot`, lengths and k scaled from the published values to `fps`), mapped back
to video frames. The intervals are the candidates as they are; the contrast is the
curve drawn.

Config entry (`config.spotters.<name>`): `method="mdmd"`, `title`, `kind` ("micro" or
"macro"),
`fps`, `crop_px`, `flow` (`cmcl_jax.video.flow.METHODS`; the baseline's RLOF is not
available), `p`, and `spotting` (only its fields other than the threshold matter:
the intervals are MDMD's own).
"""

from __future__ import annotations

import functools

import numpy as np

from cmcl_jax.baselines import face_crops, mdmd, mdmd_features
from cmcl_jax.data import trials as trials_lib
from cmcl_jax.spotting.candidates import ScoredTrial


class MdmdSpotter:
  """MDMD on the trials' raw videos (`config.data.raw_dir`)."""

  def __init__(self, name: str, settings, config):
    if settings.spotting.choose_threshold:
      raise ValueError(f"spotters.{name}.spotting.choose_threshold: MDMD has its own threshold (p)")
    mdmd.check_kind(settings.kind)
    self.name = name
    self.kind = settings.kind
    self.spotting = settings.spotting
    self._settings = settings
    self._raw_dir = config.data.raw_dir

  def fit(self, fold) -> bool:
    del fold
    return True

  def _method(self, fps: float) -> mdmd.MdmdSettings:
    return mdmd.MdmdSettings.for_fps(fps, flow=self._settings.flow, p=self._settings.p)

  @functools.cached_property
  def _videos(self) -> face_crops.TrialVideos:
    return face_crops.TrialVideos(self._raw_dir)

  def _score(self, info, cache_dir, step: int, method: mdmd.MdmdSettings) -> np.ndarray:
    """MDMD's F of every `step`-th frame, cached by everything it depends on."""
    k, video = method.k(self._settings.kind), self._videos(info)

    def compute():
      crops = face_crops.read_face_crops(video, self._settings.crop_px, info.fps, step=step).frames
      return mdmd_features.mdmd_scores(crops, mdmd.fit_k(k, len(crops)), flow=method.flow)

    return face_crops.cached(
      cache_dir, video, [step, self._settings.crop_px, method.flow, k], compute
    )

  def score(self, fold, split: str) -> list[ScoredTrial]:
    kind, out = self._settings.kind, []
    jobs = []  # (trial, its analysis step, MDMD's settings at its analysed rate)
    for info in trials_lib.load_trials(fold.builder, split):
      step = face_crops.frame_step(info.fps, self._settings.fps)
      jobs.append((info, step, self._method(info.fps / step)))
    scores = face_crops.each_video(lambda job: self._score(job[0], fold.cache_dir, *job[1:]), jobs)
    for (info, step, method), score in zip(jobs, scores):
      if isinstance(score, face_crops.FaceCropError):
        out.append(face_crops.faceless(info, kind, score))
        continue
      k = mdmd.fit_k(method.k(kind), len(score))
      shortest, longest = method.lengths(kind)
      intervals = mdmd.spot(score, k, method.p, min_frames=shortest, max_frames=longest)
      contrast = mdmd.contrast(score, k)
      curve = np.nan_to_num(contrast, nan=float(np.nanmin(contrast)))
      out.append(face_crops.scored_at_video_rate(info, kind, curve, intervals, step))
    return out
