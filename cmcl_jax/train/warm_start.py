"""Fine-tuning a fused model from finished single-modality runs (`init_from="streams"`).

A single-modality model may start from a finished run of its own modality the same
way (its stream and classifier copied): the fused spotter's training without the
other stream, so that "video + ECG" can be compared with a video model trained as
long (the demo's "video, classifier retrained" row).

`finetune.init_streams` maps a stream ("video", "ecg") to the run folder of a
finished single-modality run (relative to the fused run's workdir, or absolute).
Each stream of the fused encoder — its backbone, patch embedding, its layers'
self-attention, MLP and norms, and its final norm — starts from that run's
fine-tuned weights; what only the fused model has (the gated cross-attentions and
their gates, which start closed) keeps its fresh initialisation.

`finetune.init_classifier` names the stream whose classifier starts the fused one:
its weights fill that stream's rows of the first layer (fusion "concat") and the
other stream's rows (and those of the hand-made ECG features, when the classifier
reads them) start at zero, so with closed gates the fused model computes
exactly that single-modality model at step 0. "" keeps a fresh classifier.
"""

from __future__ import annotations

import json

import jax
import ml_collections
import numpy as np
from etils import epath
from flax import nnx

from cmcl_jax.train.checkpoint import Checkpointer
from cmcl_jax.train.state import build_model

STREAMS = ("video", "ecg")


def _source_config(run_dir: epath.Path, stream: str) -> ml_collections.ConfigDict:
  path = run_dir / "config.json"
  if not path.exists():
    raise FileNotFoundError(
      f"finetune.init_streams.{stream}={str(run_dir)!r}: no config.json there; expected the "
      f"folder of a finished {stream}-only run (train that run first)"
    )
  config = ml_collections.ConfigDict(json.loads(path.read_text()))
  modality = config.model.encoder.modality
  if modality != stream:
    raise ValueError(
      f"finetune.init_streams.{stream}: {path} is a run of modality={modality!r}; "
      f"expected a {stream}-only run"
    )
  return config


def _source_params(run_dir: epath.Path, stream: str, sharding) -> tuple[dict, dict]:
  """(pure params, model config) of a finished single-modality run's fine-tuning."""
  config = _source_config(run_dir, stream)
  checkpoints = Checkpointer(run_dir / "finetune" / "checkpoints", keep=1)
  try:
    step = checkpoints.latest_step()
    if step != config.finetune.steps:
      raise FileNotFoundError(
        f"finetune.init_streams.{stream}: {checkpoints.directory} has its last "
        f"checkpoint at step {step}, not the run's final step {config.finetune.steps}; "
        "finish that run first"
      )
    _, template = build_model(config.model, config.seed)
    params = checkpoints.restore_params(config.finetune, template, config.seed, sharding)
  finally:
    checkpoints.close()
  return nnx.to_pure_dict(params), config.model


def _copy_matching(target: dict, source: dict, where: str) -> int:
  """Copies every leaf of `source` into `target` at the same path; returns the count.

  Raises ValueError naming the first path the target lacks or holds in another shape.
  """
  copied = 0
  for key, value in source.items():
    path = f"{where}.{key}"
    if key not in target:
      raise ValueError(f"{path}: the fused model has no such parameter")
    if isinstance(value, dict):
      copied += _copy_matching(target[key], value, path)
      continue
    if np.shape(target[key]) != np.shape(value):
      raise ValueError(
        f"{path}: the fused model's shape {np.shape(target[key])} differs from the "
        f"source's {np.shape(value)}; train the fused and single runs with the same "
        "stream sizes"
      )
    target[key] = value
    copied += 1
  return copied


def _start_classifier(target: dict, source: dict, stream: str, model_config) -> None:
  """The source classifier in `stream`'s rows of the fused first layer, zeros elsewhere
  (a single-modality model: the source classifier as it is)."""
  encoder = model_config.encoder
  if encoder.modality == stream:
    _copy_matching(target, source, "classifier")
    return
  if encoder.fusion != "concat":
    raise ValueError(
      f"finetune.init_classifier={stream!r} needs model.encoder.fusion='concat' (one "
      f"block of classifier inputs per stream), got {encoder.fusion!r}"
    )
  dim = encoder.dim
  offset = STREAMS.index(stream) * dim
  kernel = np.zeros_like(np.asarray(target["hidden"]["kernel"]))
  source_kernel = np.asarray(source["hidden"]["kernel"])
  # Rows past the two streams' (the hand-made ECG features, `classifier_ecg_features`)
  # start at zero like the other stream's.
  if (
    source_kernel.shape[0] != dim
    or kernel.shape[0] < 2 * dim
    or kernel.shape[1] != source_kernel.shape[1]
  ):
    raise ValueError(
      f"classifier.hidden.kernel: the fused model's {kernel.shape} does not hold the "
      f"{stream} classifier's {source_kernel.shape} in its rows"
    )
  kernel[offset : offset + dim] = source_kernel
  target["hidden"]["kernel"] = kernel
  target["hidden"]["bias"] = source["hidden"]["bias"]
  target["output"] = source["output"]


def from_streams(params: nnx.State, finetune, workdir: epath.Path, model_config, sharding):
  """`params` (a fused model's, or a single-modality one's) with its streams and
  classifier from single runs.

  Args:
    params: the fused model's freshly initialised `nnx.Param` state.
    finetune: the fine-tuning config (`init_streams`, `init_classifier`).
    workdir: the fused run's folder (relative sources are resolved against it).
    model_config: the fused model's config section.
    sharding: where to place the restored arrays.
  """
  modality = model_config.encoder.modality
  streams = STREAMS if modality == "both" else (modality,)
  sources = dict(finetune.init_streams)
  unknown = sorted(set(sources) - set(streams))
  if unknown or not sources:
    raise ValueError(
      f"finetune.init_streams={sources}: expected run folders for streams among "
      f"{streams} (model.encoder.modality={modality!r})"
    )
  classifier_from = finetune.init_classifier
  if classifier_from and classifier_from not in sources:
    raise ValueError(
      f"finetune.init_classifier={classifier_from!r}: not one of the streams in "
      f"finetune.init_streams {sorted(sources)}"
    )
  pure = nnx.to_pure_dict(params)
  for stream, folder in sources.items():
    run_dir = epath.Path(folder)
    if not run_dir.is_absolute():
      run_dir = (epath.Path(workdir) / run_dir).resolve()
    source, _ = _source_params(run_dir, stream, sharding)
    stream_parts = {k: v for k, v in source["encoder"].items() if k.startswith(f"{stream}_")}
    _copy_matching(pure["encoder"], stream_parts, "encoder")
    if stream == classifier_from:
      _start_classifier(pure["classifier"], source["classifier"], stream, model_config)
  result = jax.tree.map(lambda x: x, params)
  nnx.replace_by_pure_dict(result, jax.device_put(pure, sharding))
  return result
