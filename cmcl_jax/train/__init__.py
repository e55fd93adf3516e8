"""Training: losses, optax chains, jit steps, sharding, checkpoints and the loop.

`train_and_evaluate(config, workdir, data)` runs triplet pre-training then
fine-tuning (`experiments/train.py` is its command line); `mecg_data(config)` builds
the stage inputs from the `mecg` TFDS dataset.
"""

from cmcl_jax.train.checkpoint import Checkpointer
from cmcl_jax.train.loop import (
  NonFiniteLossError,
  StageData,
  StageResult,
  check_config,
  run_stage,
  train_and_evaluate,
)
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
