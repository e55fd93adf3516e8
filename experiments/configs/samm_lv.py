r"""SAMM Long Videos: micro- and macro-expression spotting, leave-one-subject-out, video only.

  python -m experiments.build_mecg data_builders/megc --manual_dir=SAMM_LV \
      --config=samm_lv --data_dir=DATA && \
  python -m experiments.build_mecg data_builders/megc --manual_dir=SAMM_LV \
      --config=samm_lv_macro --data_dir=DATA && \
  python -m experiments.loso --config=experiments/configs/samm_lv.py \
      --config.data.data_dir=DATA --config.data.raw_dir=SAMM_LV --workdir=WORKDIR

or on a synthetic stand-in: `python -m experiments.demo --dataset=samm_lv [--smoke]`.
30 subjects, 147 videos at 200 fps: not run on the real data yet. MDMD and SOFTNet
look at every 7th frame (200/7 ≈ 28.6 Hz, as SOFTNet's authors downsample SAMM-LV);
the windows and peak rules are in seconds at 200 fps (`video_datasets.py`).
`samm_lv.py:runlocal` is the same on the tiny builds with a few steps.
"""

from experiments.configs import video_datasets


def get_config(arg: str | None = None):
  """arg: None, or "runlocal" for the tiny builds and model and a few steps."""
  return video_datasets.get_config("samm_lv", arg, baseline_fps=200 / 7)
