r"""Seconds-long check of the whole training path on the tiny `mecg` build (tests use it).

  python -m experiments.synthesize --out=/tmp/raw --preset=tiny && \
  python -m experiments.build_mecg data_builders/mecg --manual_dir=/tmp/raw \
      --config=tiny --data_dir=/tmp/tfds && \
  python -m experiments.train --config=experiments/configs/smoke.py \
      --config.data.data_dir=/tmp/tfds --workdir=/tmp/smoke

Training costs ≈ 1–2 min on 2 CPU cores, nearly all of it XLA compilation (6 + 6
steps of the `tiny` model). It is `base.py` with the tiny dataset and model, small
batches and a few steps.
"""

import ml_collections

from cmcl_jax.models import model_config
from experiments.configs import base


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """arg: unused (the smoke run is already minimal)."""
  if arg:
    raise ValueError(f"smoke.py takes no argument, got {arg!r}")
  config = base.get_config(base.RUNLOCAL)
  config.data.tfds_config = "tiny"  # flow (4, 16, 16, 2), ECG 64 samples
  config.data.update(pretrain_batch_size=4, finetune_batch_size=8, eval_batch_size=16)
  config.model = model_config("tiny")
  config.model.encoder.ecg_num_features = 7  # the dataset's HRV features
  for stage in (config.pretrain, config.finetune):
    stage.update(steps=6, warmup_steps=2)
  config.finetune.eval_every_steps = 6
  config.checkpoint.every_steps = 3
  config.logging.every_steps = 3
  return config
