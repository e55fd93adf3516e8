"""Sliding-window scoring of whole trials with a trained CMCL-Net.

Every window of a split is scored once, in dataset order, by a jit-compiled forward
pass (`eval_loader` batches; padding rows are dropped by their mask), and the scores
are grouped back into trials: `TrialScores` holds each trial's window start frames
and P(ME) of each window.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Mapping

import jax
import numpy as np
from flax import nnx

from cmcl_jax.data import loaders
from cmcl_jax.data import trials as trials_lib
from cmcl_jax.train.state import ModelParts, merge_model

MODEL_KEYS = ("flow", "ecg", "ecg_features")


@dataclasses.dataclass(frozen=True)
class TrialScores:
  """P(ME) of every window of one trial.

  Attributes:
    info: the trial (`cmcl_jax.data.trials.TrialInfo`).
    window_starts: (K,) int64 first frame of each window.
    scores: (K,) float32 P(ME) of each window.
  """

  info: trials_lib.TrialInfo
  window_starts: np.ndarray
  scores: np.ndarray


@functools.lru_cache(maxsize=16)
def probability_fn(parts: ModelParts):
  """jit-compiled (params, batch) → (B,) P(ME) of the model's classifier, eval mode;
  one per model in a process (equal `ModelParts` share it, so later LOSO folds
  reuse the compiled program)."""

  def probability(params: nnx.State, batch: Mapping[str, jax.Array]) -> jax.Array:
    model = merge_model(parts, params, None)
    return jax.nn.softmax(model.classify(batch), axis=-1)[:, 1]

  return jax.jit(probability)


def score_split(
  parts: ModelParts,
  params: nnx.State,
  builder_or_dir,
  split: str,
  *,
  features: loaders.Features,
  batch_size: int = 64,
) -> list[TrialScores]:
  """Scores every window of `split` (one process) and returns them per trial.

  Args:
    parts, params: the trained model (`cmcl_jax.train.state`), eval mode is used.
    builder_or_dir: the prepared `mecg` dataset.
    split: a split expression (e.g. the held-out subject).
    features: the same record → input mapping the model was trained with.
    batch_size: windows per forward pass.
  """
  infos = trials_lib.load_trials(builder_or_dir, split)
  total = sum(info.num_windows for info in infos)
  scores = np.full(total, np.nan, np.float32)
  probability = probability_fn(parts)
  loader = loaders.eval_loader(
    builder_or_dir, split, batch_size=batch_size, features=features, shard_index=0, shard_count=1
  )
  for batch in loader:
    inputs = {key: batch[key] for key in MODEL_KEYS if key in batch}  # video-only: flow
    values = np.asarray(probability(params, inputs))
    keep = batch["mask"]
    scores[batch["index"][keep]] = values[keep]
  if np.isnan(scores).any():
    raise RuntimeError(
      f"split {split!r}: {int(np.isnan(scores).sum())} windows were not scored by the eval loader"
    )
  return [
    TrialScores(
      info, info.window_starts, scores[info.first_index : info.first_index + info.num_windows]
    )
    for info in infos
  ]
