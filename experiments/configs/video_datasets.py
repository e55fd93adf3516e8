r"""Leave-one-subject-out on a video-only dataset: micro- and macro-expression spotting.

Shared by `casme2.py`, `samm_lv.py` and `casme3.py`, which name the dataset (its
command lines are theirs). It is `base.py` on the `megc` dataset (no ECG), with the
video-only methods, each as a micro and a macro spotter of one title (one method of
the MEGC table, `cmcl_jax.analysis.report.megc_rows`): CMCL-Net's video stream
(trained on the `<dataset>` windows for micro- and on the `<dataset>_macro` windows
for macro-expressions), MDMD and SOFTNet. Peak rules are given in seconds and turned
into frames at the dataset's fps here; `data.fps` states that rate and a dataset
built from videos at another is refused. No CCF: there is no heart rate.
`runlocal`: the `tiny` / `tiny_macro` builds, the tiny model, a few steps per fold.
"""

from cmcl_jax.data import windows
from cmcl_jax.data.datasets import casme2, casme3, samm_lv
from cmcl_jax.models import model_config
from experiments.configs import base

FPS = {"casme2": casme2.FPS, "samm_lv": samm_lv.FPS, "casme3": casme3.FPS}
"""Frames per second of each dataset's videos."""


def peak_rule(fps: float, smoothing_s: float, half_width_s: float, min_distance_s: float) -> dict:
  """A `loso.spotting` peak rule from seconds, in frames at `fps`; its threshold is
  chosen on each fold's training subjects."""
  return dict(
    smoothing_frames=round(smoothing_s * fps, 2),
    half_width_frames=int(round(half_width_s * fps)),
    min_distance_frames=max(1, int(round(min_distance_s * fps))),
    threshold=0.5,
    choose_threshold=True,
    threshold_grid=(0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 0.95),
    centre="run",
  )


def get_config(dataset: str, arg: str | None = None, baseline_fps: float | None = None):
  """The config of `dataset` ("casme2", "samm_lv", "casme3").

  Args:
    dataset: which dataset.
    arg: None, or "runlocal" for the tiny builds and model and a few steps.
    baseline_fps: the rate MDMD and SOFTNet analyse the videos at (a whole divisor of
      the dataset's fps); None: the dataset's own.
  """
  config = base.get_config(arg)
  runlocal = base.check_arg(arg)
  fps = FPS[dataset]

  config.data.tfds_name = "megc"
  config.data.tfds_config = "tiny" if runlocal else dataset
  config.data.fps = fps  # checked against the built videos; the peak rules are at this rate
  config.data.sampling.update(
    # Every window kind that is no positive: a micro config's macro windows, a macro
    # config's micro windows, boundary ("partial") and empty ones.
    negative_kinds=windows.KINDS,
    moving_fraction=0.5,  # the most moving negatives: a motion detector's confusions
    moving_top_share=0.2,
    heart_fraction=0.0,  # no ECG
  )

  if runlocal:
    config.model = model_config("tiny")  # megc/tiny windows: flow (4, 16, 16)
  else:  # a small encoder on megc/<dataset> windows (8, 32, 32): folds in minutes
    config.model.encoder.update(video_channels=(8, 16, 32), dim=32, depth=1, num_heads=2)
    config.model.heads = dict(
      projection_dim=32, projection_hidden_dim=64, classifier_hidden_dim=32, classifier_dropout=0.1
    )
  config.model.encoder.modality = "video"
  config.data.pretrain_batch_size = 8 if runlocal else 16
  config.data.finetune_batch_size = 8 if runlocal else 32
  config.pretrain.update(
    steps=4 if runlocal else 40, warmup_steps=1 if runlocal else 4, mining="given"
  )
  config.finetune.update(
    steps=4 if runlocal else 150,
    warmup_steps=1 if runlocal else 15,
    lr_multipliers={"encoder": 1.0},
  )
  config.finetune.eval_every_steps = config.finetune.steps
  config.checkpoint = dict(every_steps=config.finetune.steps, keep=1)
  config.logging = dict(every_steps=2 if runlocal else 50)

  # Micro: clips of 0.35 s (an ME lasts 0.2–0.5 s), one per 0.5 s at most. Macro:
  # clips of 1.2 s (CAS(ME)²'s mean macro-expression; SAMM-LV's is 1.7 s), one per 2 s.
  micro = peak_rule(fps, smoothing_s=0.027, half_width_s=0.175, min_distance_s=0.5)
  macro = peak_rule(fps, smoothing_s=0.1, half_width_s=0.6, min_distance_s=2.0)
  config.loso.spotting = micro
  video = dict(base.cmcl_net_spotters()["video"], title="CMCL-Net (video)", tfds_config="")
  baselines = base.video_baselines(micro)
  for entry in baselines.values():
    entry["fps"] = baseline_fps or fps
  if runlocal:
    baselines["softnet"]["epochs"] = 2
  own_macro = dict(macro, choose_threshold=False)  # the baselines' intervals are their own
  config.spotters = dict(
    video=dict(video, kind="micro", spotting=micro),
    video_macro=dict(
      video, kind="macro", tfds_config=f"{config.data.tfds_config}_macro", spotting=macro
    ),
    mdmd=baselines["mdmd"],
    mdmd_macro=dict(baselines["mdmd"], kind="macro", spotting=own_macro),
    softnet=baselines["softnet"],
    softnet_macro=dict(baselines["softnet"], kind="macro", spotting=own_macro),
  )
  config.loso.spotters = ("video", "video_macro", "mdmd", "mdmd_macro", "softnet", "softnet_macro")
  config.loso.ccf.spotters = ()
  return config
