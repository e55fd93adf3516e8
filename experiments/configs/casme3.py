r"""CAS(ME)³ Part A: micro- and macro-expression spotting, leave-one-subject-out, video only.

  python -m experiments.build_mecg data_builders/megc --manual_dir=CASME3_A \
      --config=casme3 --data_dir=DATA && \
  python -m experiments.build_mecg data_builders/megc --manual_dir=CASME3_A \
      --config=casme3_macro --data_dir=DATA && \
  python -m experiments.loso --config=experiments/configs/casme3.py \
      --config.data.data_dir=DATA --config.data.raw_dir=CASME3_A --workdir=WORKDIR

or on a synthetic stand-in: `python -m experiments.demo --dataset=casme3 [--smoke]`.
Colour frames at 30 fps (the depth frames are not read); not run on the real data yet.
The methods and settings of `video_datasets.py`; MDMD and SOFTNet at 30 fps.
`casme3.py:runlocal` is the same on the tiny builds with a few steps.
"""

from experiments.configs import video_datasets


def get_config(arg: str | None = None):
  """arg: None, or "runlocal" for the tiny builds and model and a few steps."""
  return video_datasets.get_config("casme3", arg)
