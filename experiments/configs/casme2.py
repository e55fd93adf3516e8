r"""CAS(ME)²: micro- and macro-expression spotting, leave-one-subject-out, video only.

  python -m experiments.build_mecg data_builders/megc --manual_dir=CASME_sq \
      --config=casme2 --data_dir=DATA && \
  python -m experiments.build_mecg data_builders/megc --manual_dir=CASME_sq \
      --config=casme2_macro --data_dir=DATA && \
  python -m experiments.loso --config=experiments/configs/casme2.py \
      --config.data.data_dir=DATA --config.data.raw_dir=CASME_sq --workdir=WORKDIR

or on a synthetic stand-in, everything in one command:
`python -m experiments.demo --dataset=casme2 [--smoke]`. 22 subjects, 95 videos at
30 fps: not run on the real data yet (it is released on request). CMCL-Net's video
stream, MDMD and SOFTNet (both at the dataset's 30 fps, the rate MDMD's constants were
set for), each on micro and macro; `video_datasets.py` holds the settings.
`casme2.py:runlocal` is the same on the tiny builds with a few steps.
"""

from experiments.configs import video_datasets


def get_config(arg: str | None = None):
  """arg: None, or "runlocal" for the tiny builds and model and a few steps."""
  return video_datasets.get_config("casme2", arg)
