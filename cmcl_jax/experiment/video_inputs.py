"""Training inputs from a video-only dataset (`megc`: CAS(ME)², SAMM-LV, CAS(ME)³).

The same loaders as for `mecg` (`cmcl_jax.data.loaders`: triplets, balanced batches,
every window for scoring) with `VideoFeatures`, which reads only the flow clip:

  flow   (B, T, S, S, 2) float32  face flow clip, pixels
  plus the loaders' label, kind, index, trial_index, start_frame, apex_frame (, mask)

so only a `modality="video"` CMCL-Net trains on them. `video_data` is
`cmcl_jax.train.inputs.mecg_data` for such a dataset, with the checks that matter
there: the flow shape against the model, no heart-rate hard negatives, and the
frame rate the config states (`data.fps`) against the videos'.
"""

from __future__ import annotations

import dataclasses
import functools
import json

import numpy as np
from etils import epath

from cmcl_jax.data import loaders
from cmcl_jax.train import inputs
from cmcl_jax.train.loop import StageData

VIDEO_MODALITY = "video"


def has_ecg(builder) -> bool:
  """Whether a prepared dataset's windows carry ECG (`mecg`) or only video (`megc`)."""
  return "ecg" in builder.info.features


@dataclasses.dataclass(frozen=True)
class VideoFeatures(loaders.Features):
  """`loaders.Features` of a video-only dataset: the model input is the flow clip."""

  def model_inputs(self, record: dict) -> dict:
    return {"flow": np.asarray(record["flow"], np.float32)}


def check_video_config(config, builder, fps: float) -> None:
  """Raises ValueError naming the config field that a video-only dataset cannot serve.

  Args:
    config: an experiment config (its `data` and `model` sections).
    builder: the prepared video-only dataset.
    fps: its videos' frame rate (`inputs.split_fps`), Hz.
  """
  name = f"{builder.name}/{builder.builder_config.name}"
  modality = config.model.encoder.modality
  if modality != VIDEO_MODALITY:
    raise ValueError(
      f"model.encoder.modality={modality!r}: {name} has no ECG (video only); use 'video'"
    )
  if config.data.sampling.heart_fraction:
    raise ValueError(
      f"data.sampling.heart_fraction={config.data.sampling.heart_fraction}: {name} has no "
      "ECG, so no heart-rate hard negatives; set it to 0"
    )
  flow = tuple(builder.info.features["flow"].shape)[:3]
  if flow != tuple(config.model.encoder.flow_shape):
    raise ValueError(
      f"{name} windows have flow of size {flow} but model.encoder.flow_shape="
      f"{tuple(config.model.encoder.flow_shape)}; set --config.model.encoder.flow_shape="
      f"{flow} or use a matching dataset config"
    )
  stated = config.data.get("fps", 0.0)
  if stated and abs(stated - fps) > 1e-3 * fps:
    raise ValueError(
      f"data.fps={stated:g}: {name} was built from videos at {fps:g} fps (its build report "
      f"names the dataset); its peak rules are in frames at data.fps, so use a config of "
      "that dataset or set data.fps"
    )


def video_data(config, builder) -> dict[str, StageData]:
  """`StageData` for "pretrain" and "finetune" from a video-only dataset (no evaluation
  pass: the harness scores the held-out windows itself).

  Raises:
    ValueError: `check_video_config`.
  """
  data = config.data
  train_split, _ = inputs.fold_splits(builder, data)
  check_video_config(config, builder, inputs.split_fps(builder, train_split))
  common = dict(
    seed=config.seed,
    features=VideoFeatures(),
    worker_count=data.worker_count,
    policy=inputs.sampling_policy(data),
  )
  pretrain = functools.partial(
    loaders.pretrain_loader, builder, train_split, batch_size=data.pretrain_batch_size, **common
  )
  finetune = functools.partial(
    loaders.finetune_loader, builder, train_split, batch_size=data.finetune_batch_size, **common
  )
  return {
    "pretrain": StageData(train=lambda: iter(pretrain())),
    "finetune": StageData(train=lambda: iter(finetune())),
  }


def write_inputs(workdir: epath.PathLike, builder, spec, fps: float) -> None:
  """`<workdir>/inputs.json` of a run on a video-only dataset, in the layout of
  `inputs.write_inputs` (`inputs.read_inputs` reads it): the dataset config, its
  windows in frames at `fps` (`spec`, a `WindowSpec`), the fps, no ECG statistics."""
  payload = {
    "tfds_config": builder.builder_config.name,
    "version": str(builder.version),
    "spec": dataclasses.asdict(spec),
    "fps": fps,
    "standardize_ecg": True,
    "feature_norm": "dataset",
    "feature_stats": None,
    "video_only": True,
  }
  workdir = epath.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  (workdir / inputs.INPUTS_FILE).write_text(json.dumps(payload, indent=1))
