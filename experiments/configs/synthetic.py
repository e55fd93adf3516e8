r"""CMCL-Net on the synthetic MECG demo: triplet pre-training, then fine-tuning.

  python -m experiments.synthesize --out=workdir/mecg_raw --preset=demo && \
  python -m experiments.build_mecg data_builders/mecg --manual_dir=workdir/mecg_raw \
      --config=default --data_dir=workdir/tfds && \
  python -m experiments.train --config=experiments/configs/synthetic.py \
      --config.data.data_dir=workdir/tfds --workdir=workdir/synthetic

Training costs ≈ 16 min on 2 idle CPU cores (600 + 600 steps of the `default` model
at ≈ 1.05 / 1.6 steps/s, `benchmarks/train_speed.py`; about twice that when the
cores are shared), plus evaluations; `synthetic.py:runlocal` runs 50 + 50 steps with small
batches in a few minutes. Leave-one-subject-out: `--config.data.fold=k` holds out
the k-th subject (sorted pseudonymised ids) for evaluation. It is `base.py` with
hard negatives.
"""

import ml_collections

from experiments.configs import base


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """arg: None, or "runlocal" for a few steps with small batches."""
  config = base.get_config(arg)
  # Half the negatives from the most moving tenth: blinks, twitches and macros are
  # rare among uniform draws, and a motion detector takes them for MEs.
  config.data.sampling.moving_fraction = 0.5
  return config
