r"""CMCL-Net on the synthetic MECG demo: triplet pre-training, then fine-tuning.

  python -m experiments.synthesize --out=workdir/mecg_raw --preset=demo && \
  python -m experiments.build_mecg data_builders/mecg --manual_dir=workdir/mecg_raw \
      --config=default --data_dir=workdir/tfds && \
  python -m experiments.train --config=experiments/configs/synthetic.py \
      --config.data.data_dir=workdir/tfds --workdir=workdir/synthetic

Training costs ≈ 20 min on 2 idle CPU cores (600 + 600 steps of the `default` model
at ≈ 0.8 / 1.2 steps/s, `benchmarks/train_speed.py`; ≈ 50 min when the cores are
shared), plus evaluations; `synthetic.py:runlocal` runs 50 + 50 steps with small
batches in a few minutes. Leave-one-subject-out: `--config.data.fold=k` holds out
the k-th subject (sorted pseudonymised ids) for evaluation.
"""

import ml_collections

from cmcl_jax.models import model_config


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """arg: None, or "runlocal" for a few steps with small batches."""
  if arg not in (None, "runlocal"):
    raise ValueError(f"config argument must be empty or 'runlocal', got {arg!r}")
  runlocal = arg == "runlocal"
  config = ml_collections.ConfigDict()
  config.seed = 0

  config.data = dict(
    tfds_config="default",  # mecg/default: flow (8, 32, 32, 2), ECG 500 @ 250 Hz
    data_dir="",  # "" → TFDS's default (~/tensorflow_datasets)
    fold=0,  # LOSO: held-out subject index (sorted split names)
    train_split="",  # "" → "+".join(every subject but the held-out one)
    eval_split="",  # "" → the held-out subject
    pretrain_batch_size=8 if runlocal else 32,  # triplets (3 windows each)
    finetune_batch_size=8 if runlocal else 64,
    eval_batch_size=64,
    positive_fraction=0.5,  # ME share of each fine-tuning batch
    # Window kinds negatives come from (`windows.KINDS`); "partial" windows (part of
    # an ME, not enough for the ME label) are left out by default.
    negative_kinds=("none", "macro"),
    # Negatives: this share drawn from the most moving tenth of them (hard
    # negatives, `pipeline.NegativePolicy`), the rest uniformly.
    moving_negative_fraction=0.5,
    moving_negative_top_share=0.1,
    # And this share from the tenth with the steepest heart-rate rise (peak HRS).
    heart_negative_fraction=0.0,
    heart_negative_top_share=0.1,
    # ECG features standardised over the training split ("dataset") or within
    # each window's own trial ("trial": relative to the subject's baseline).
    feature_norm="dataset",
    worker_count=0,  # grain worker processes (0: read in the training process)
  )

  config.model = model_config("default")
  # The dataset's windows: 8 flow fields at 32², 7 HRV features.
  config.model.encoder.flow_shape = (8, 32, 32)
  config.model.encoder.ecg_num_features = 7  # len(cmcl_jax.ecg.WINDOW_FEATURE_NAMES)

  config.pretrain = dict(
    steps=50 if runlocal else 600,
    lr=1e-3,
    warmup_steps=5 if runlocal else 50,
    schedule="cosine",
    end_lr_factor=0.01,
    weight_decay=1e-4,
    clip_norm=1.0,
    trainable=("encoder", "projection_head"),
    lr_multipliers={},
    margin=0.5,  # Euclidean, for unit-norm embeddings (distances in [0, 2])
    mining="batch_hard",  # or "given" (the sampled triplets as they are)
  )
  config.finetune = dict(
    steps=50 if runlocal else 600,
    lr=5e-4,
    warmup_steps=5 if runlocal else 50,
    schedule="cosine",
    end_lr_factor=0.01,
    weight_decay=1e-4,
    clip_norm=1.0,
    trainable=("encoder", "classifier"),
    lr_multipliers={"encoder": 0.1},  # the pre-trained encoder moves slowly
    init_from="pretrain",  # or "scratch"
    loss="cross_entropy",  # or "focal"
    # Batches are class-balanced (positive_fraction), so equal weights.
    class_weights=(1.0, 1.0),
    focal_gamma=2.0,
    eval_every_steps=25 if runlocal else 200,
  )

  config.checkpoint = dict(every_steps=25 if runlocal else 100, keep=3)
  config.logging = dict(every_steps=5 if runlocal else 20)
  # Multi-host: set on every process (or leave empty for one process).
  config.distributed = dict(
    coordinator_address="", num_processes=1, process_id=0, cpu_collectives=""
  )
  return config
