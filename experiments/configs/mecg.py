r"""CMCL-Net at paper scale on the real MECG data, for one GPU/TPU host or a cluster.

  python -m experiments.build_mecg data_builders/mecg --manual_dir=MECG_RAW \
      --config=default --data_dir=DATA && \
  python -m experiments.train --config=experiments/configs/mecg.py \
      --config.data.data_dir=DATA --config.data.fold=0 --workdir=WORKDIR

≈ 75 LOSO folds (`--config.data.fold=0…`); each fold is 20 000 + 20 000 steps of the
`large` model (bfloat16 compute) at global batches 256 / 512. Not measured yet: no GPU
was lent to the session that wrote it. Multi-host: add
`--config.distributed.coordinator_address=HOST:PORT
--config.distributed.num_processes=N --config.distributed.process_id=I` on every
host. `mecg.py:runlocal` runs a few steps on CPU to check the set-up. It is
`base.py` with the `large` model, its window geometry and paper-scale steps.
"""

import ml_collections

from cmcl_jax.models import model_config
from experiments.configs import base


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """arg: None, or "runlocal" for a few steps with small batches."""
  config = base.get_config(arg)
  runlocal = base.check_arg(arg)
  config.model = model_config("large")
  # mecg/default windows: 8 flow fields at 32² → backbone map (4, 8, 8), 32 tokens;
  # 500 ECG samples / patch 5 → 100 tokens; 7 HRV features.
  config.model.encoder.update(
    flow_shape=(8, 32, 32),
    video_strides=((1, 2, 2), (2, 2, 2), (1, 1, 1), (1, 1, 1)),
    ecg_length=500,
    ecg_patch=5,
    ecg_num_features=7,
  )
  if not runlocal:
    config.data.update(
      pretrain_batch_size=256, finetune_batch_size=512, eval_batch_size=1024, worker_count=8
    )
    # Square-root LR scaling from the synthetic batches (32 triplets / 64 windows).
    config.pretrain.update(steps=20_000, warmup_steps=1000, lr=1e-3 * (256 / 32) ** 0.5)
    config.finetune.update(
      steps=20_000, warmup_steps=1000, lr=5e-4 * (512 / 64) ** 0.5, eval_every_steps=2000
    )
    config.checkpoint.every_steps = 1000
    config.logging.every_steps = 100
  return config
