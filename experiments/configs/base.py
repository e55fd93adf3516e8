r"""Neutral defaults of every experiment section; the other configs override this one.

  python -m experiments.train --config=experiments/configs/base.py \
      --config.data.data_dir=workdir/tfds --workdir=workdir/base

CMCL-Net (`default` preset) on `mecg/default` windows (8 flow fields at 32², 500 ECG
samples, 7 HRV features), 600 + 600 steps: ≈ 20 min of training on 2 idle CPU cores
(`benchmarks/train_speed.py`), plus evaluations. Sections map 1:1 onto what they
build: `data.sampling` → `cmcl_jax.data.sampling.SamplingPolicy`, `model` →
`cmcl_jax.models`, `pretrain` / `finetune` → `cmcl_jax.train`, `loso` and `spotters`
→ `cmcl_jax.experiment` (the leave-one-subject-out harness: which spotters run, their
peak rule, the CCF). `base.py:runlocal` runs 50 + 50 steps with small batches.
"""

import ml_collections

from cmcl_jax.models import model_config, presets
from cmcl_jax.spotting import sweep

RUNLOCAL = "runlocal"


def check_arg(arg: str | None) -> bool:
  """True for "runlocal", False for None; anything else is an error."""
  if arg not in (None, RUNLOCAL):
    raise ValueError(f"config argument must be empty or {RUNLOCAL!r}, got {arg!r}")
  return arg == RUNLOCAL


def cmcl_net_spotters() -> dict:
  """The paper's ablation: CMCL-Net on each modality (`cmcl_jax.experiment.cmcl_net`).

  "both" is the fused model of `model.encoder` (gated cross-attention) fine-tuned
  from the fold's "video" and "ecg" runs, starting as the video model ("average_with":
  "video" would also average its P(ME) with the video model's, a late fusion); "paper" is
  the paper's fusion (`models.presets.paper_fusion`) trained from scratch like the
  single streams (not run unless named in `loso.spotters`). "video_retrained" is
  the fused spotter's training without the ECG: the fold's video model, its
  classifier trained again as long, so that "video + ECG" can be compared with a
  video model of the same training budget (not run unless named).
  """
  plain = dict(
    method="cmcl_net", encoder={}, finetune={}, start_from={}, classifier_from="", average_with=""
  )
  return dict(
    video=dict(plain, title="video only", modality="video"),
    ecg=dict(plain, title="ECG only", modality="ecg"),
    both=dict(
      plain,
      title="video + ECG",
      modality="both",
      start_from=dict(video="video", ecg="ecg"),
      classifier_from="video",
    ),
    video_retrained=dict(
      plain,
      title="video only, classifier retrained",
      modality="video",
      start_from=dict(video="video"),
      classifier_from="video",
    ),
    paper=dict(
      plain,
      title="video + ECG (paper's fusion)",
      modality="both",
      # 500 ECG samples zero-padded to 64 tokens of 8, as many as video tokens
      encoder=presets.paper_fusion(ecg_patch=8, ecg_tokens=64),
    ),
  )


def motion_spotter(spotting: dict) -> dict:
  """Relative face motion, training-free (`cmcl_jax.baselines.motion`); its threshold
  is chosen on each fold's training subjects."""
  return dict(
    method="motion",
    title="face motion",
    spotting=dict(spotting, choose_threshold=True),
  )


def video_baselines(spotting: dict) -> dict:
  """MDMD and SOFTNet on micro-expressions, at 30 Hz (`cmcl_jax.baselines`); their
  intervals are their own (the peak rule's threshold is not used)."""
  own_rule = dict(spotting, choose_threshold=False)
  return {
    "mdmd": dict(
      method="mdmd", title="MDMD (He et al. 2020)", kind="micro", fps=30.0, crop_px=128,
      flow="farneback", p=0.01, spotting=own_rule,
    ),
    "softnet": dict(
      method="softnet", title="SOFTNet (Liong et al. 2021)", kind="micro", fps=30.0,
      crop_px=128, flow="dis", k=0, epochs=10, p=0.55, spotting=own_rule,
    ),
  }  # fmt: skip


def get_config(arg: str | None = None) -> ml_collections.ConfigDict:
  """arg: None, or "runlocal" for a few steps with small batches."""
  runlocal = check_arg(arg)
  config = ml_collections.ConfigDict()
  config.seed = 0

  config.data = dict(
    tfds_config="default",  # mecg/default: flow (8, 32, 32, 2), ECG 500 @ 250 Hz
    data_dir="",  # "" → TFDS's default (~/tensorflow_datasets)
    # The raw layout the dataset was built from, for spotters that read the videos
    # (MDMD, SOFTNet); "" for those that need only the built windows.
    raw_dir="",
    fold=0,  # LOSO: held-out subject index (sorted split names)
    train_split="",  # "" → "+".join(every subject but the held-out one)
    eval_split="",  # "" → the held-out subject
    pretrain_batch_size=8 if runlocal else 32,  # triplets (3 windows each)
    finetune_batch_size=8 if runlocal else 64,
    eval_batch_size=64,
    sampling=dict(
      positive_fraction=0.5,  # ME share of each fine-tuning batch
      # Window kinds negatives come from (`windows.KINDS`); "partial" windows (part
      # of an ME, not enough for the ME label) are not negatives here.
      negative_kinds=("none", "macro"),
      # This share of the negatives from the most moving tenth of them (hard
      # negatives), and this share from the tenth with the steepest HR rise; the
      # rest uniformly, as the paper draws them.
      moving_fraction=0.0,
      moving_top_share=0.1,
      heart_fraction=0.0,
      heart_top_share=0.1,
    ),
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
    anchor_weight=0.0,  # > 0: an L2 pull toward the stage's starting weights (optim)
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
    anchor_weight=0.0,
    init_from="pretrain",  # or "scratch", or "streams" (a fused model, below)
    # init_from="streams": stream → folder of a finished single-modality run
    # (relative to this run's workdir), and the stream whose classifier starts
    # the fused one ("" for a fresh one); `cmcl_jax.train.warm_start`.
    init_streams={},
    init_classifier="",
    loss="cross_entropy",  # or "focal"
    # Batches are class-balanced (sampling.positive_fraction), so equal weights.
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

  # The spotting methods, by name: `method` picks the implementation
  # (`cmcl_jax.experiment.methods`), `title` names its rows; other fields are its own.
  config.spotters = cmcl_net_spotters()
  config.loso = dict(
    spotters=("video", "ecg", "both"),  # the `spotters` entries each fold runs, in order
    folds="",  # "" → every subject; "s1,s2" → only these held-out subjects
    score_batch_size=64,
    compilation_cache=True,  # folds after the first skip XLA compilation
    # "" → <LOSO workdir>/jax_cache; a folder shared by runs (e.g. "~/.cache/cmcl_jax")
    # lets every later run skip it too (the seed study shares <its workdir>/jax_cache).
    compilation_cache_dir="",
    spotting=dict(  # the peak rule: score curve → candidate clips (`spotting.proposals`)
      smoothing_frames=4.0,  # Gaussian σ of the per-frame score curve
      # A clip is 2·26 + 1 = 53 frames (0.35 s at 150 fps): IoU ≥ 0.5 with any
      # centred ME of 0.2–0.5 s (30–75 frames).
      half_width_frames=26,
      min_distance_frames=75,  # one candidate per 0.5 s at most
      threshold=0.5,  # on the score; used as is when choose_threshold is False
      # Or: each fold picks the threshold of best F1 on its training subjects.
      choose_threshold=False,
      threshold_grid=(0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95),
      centre="run",  # clip centre: midpoint of the above-threshold run, or "peak"
    ),
    # The Candidate Clip Filter on these spotters' candidates (trials with ECG): at
    # the paper's η, at the η of best F1 on the fold's training subjects (from
    # `sweep`, and "no filter" when choose_off), and over the paper's grid `sweep`.
    ccf=dict(spotters=("both",), eta=2.0, sweep=sweep.PAPER_ETA_SWEEP, choose_off=True),
  )
  # Not run unless named in loso.spotters (e.g. --config.loso.spotters=motion,both).
  config.spotters.motion = motion_spotter(config.loso.spotting.to_dict())
  config.spotters.update(video_baselines(config.loso.spotting.to_dict()))
  return config
