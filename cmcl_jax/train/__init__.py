"""Training: losses, optax chains, jit steps, sharding, checkpoints and the loop.

`train_and_evaluate(config, workdir, data)` runs triplet pre-training then
fine-tuning (`experiments/train.py` is its command line); `mecg_data(config)` builds
the stage inputs from the `mecg` TFDS dataset.
"""

import importlib

from cmcl_jax.train.losses import (
  batch_hard_triplet_loss,
  classification_loss,
  focal_loss,
  triplet_loss,
  weighted_cross_entropy,
)
from cmcl_jax.train.optim import learning_rate_schedule, make_optimizer
from cmcl_jax.train.state import TrainState, build_model, create_train_state
from cmcl_jax.train.steps import eval_step, finetune_step, make_steps, pretrain_step

_LAZY = {
  "Checkpointer": "checkpoint",
  "NonFiniteLossError": "loop",
  "StageData": "loop",
  "StageResult": "loop",
  "check_config": "loop",
  "run_stage": "loop",
  "train_and_evaluate": "loop",
}
"""Names whose modules read data and write checkpoints (grain, orbax), imported on
first use, so that the model's steps (`steps`, `state`, `optim`, `losses`,
`sharding`) import with JAX, Flax and optax alone (`benchmarks/accelerator_speed.py`
on a bare GPU machine)."""


def __getattr__(name: str):
  if name in _LAZY:
    return getattr(importlib.import_module(f"cmcl_jax.train.{_LAZY[name]}"), name)
  raise AttributeError(f"module 'cmcl_jax.train' has no attribute {name!r}")


__all__ = [
  "Checkpointer",
  "NonFiniteLossError",
  "StageData",
  "StageResult",
  "TrainState",
  "batch_hard_triplet_loss",
  "build_model",
  "check_config",
  "classification_loss",
  "create_train_state",
  "eval_step",
  "finetune_step",
  "focal_loss",
  "learning_rate_schedule",
  "make_optimizer",
  "make_steps",
  "pretrain_step",
  "run_stage",
  "train_and_evaluate",
  "triplet_loss",
  "weighted_cross_entropy",
]
