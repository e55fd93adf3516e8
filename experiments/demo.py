r"""The whole pipeline on a synthetic MECG, in one command (the README's main job).

  python -m experiments.demo [--workdir=workdir/demo] [--seed=0] [--smoke]
  python -m experiments.demo --dataset=casme2|samm_lv|casme3 [--smoke]

1. writes a synthetic raw MECG (`experiments.synthesize`, preset `demo`),
2. builds it into the `mecg/default` TFDS dataset (array_record),
3. runs leave-one-subject-out training, spotting, CCF and MEGC evaluation of the
   paper's ablation (`experiments.loso` with `configs/loso_synthetic.py`),
4. writes tables and figures under `<workdir>/results/` and the visual-inspection
   figure of one raw trial under `<workdir>/figures/`.

Every stage resumes: rerunning skips what is done. `--config` takes any LOSO config,
`--config.<field>=…` overrides a field, `--smoke` is the minutes-long version (the
`tiny` preset with `loso_synthetic.py:runlocal`), and `--set=hr_response_share=1.0`
(repeatable) changes a field of the synthetic preset.

`--dataset=casme2|samm_lv|casme3` does the same on a synthetic stand-in of that
video-only dataset in its released layout (`megc_layouts`), built into
`megc/<dataset>` and `megc/<dataset>_macro`, with `configs/<dataset>.py` (`:runlocal`
and the `tiny` builds with `--smoke`): CMCL-Net's video stream, MDMD and SOFTNet, each
spotting micro- and macro-expressions, and the MEGC table of micro, macro and overall
rows (`<workdir>/results/megc.md`), MEGC submission files and figures. Its workdir
defaults to `workdir/demo_<dataset>` (`workdir/smoke_<dataset>` with `--smoke`).
"""

import sys
from pathlib import Path

from absl import app
from absl import flags
from ml_collections import config_flags

import importlib

from cmcl_jax.data import synthetic
from cmcl_jax.data.datasets import layouts
from cmcl_jax.experiment import runtime
from experiments import end_to_end
from experiments.configs import loso_synthetic
from experiments import cli

MECG = "mecg"

_CONFIG = config_flags.DEFINE_config_file(
  "config", str(Path(__file__).parent / "configs" / "loso_synthetic.py"), "LOSO experiment config."
)
_WORKDIR = flags.DEFINE_string("workdir", "workdir/demo", "Output folder.")
_SYNTHETIC = flags.DEFINE_enum(
  "synthetic", "demo", sorted(synthetic.PRESETS), "Synthetic MECG size preset."
)
_DATASET = flags.DEFINE_enum(
  "dataset",
  MECG,
  [MECG, *layouts.DATASETS],
  "Which synthetic dataset: the MECG (video + ECG, the paper's ablation) or a stand-in of "
  "a video-only one (micro and macro spotting, the MEGC table).",
)
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the synthetic data.")
_SET = flags.DEFINE_multi_string(
  "set", [], "Override a synthetic field (`SyntheticConfig`): name=value."
)
_SMOKE = flags.DEFINE_bool(
  "smoke",
  False,
  "The whole pipeline in minutes: the `tiny` synthetic preset and "
  "`loso_synthetic.py:runlocal` (tiny model, a few steps per fold), unless --synthetic / "
  "--config say otherwise; --workdir defaults to workdir/smoke.",
)

SMOKE_WORKDIR = "workdir/smoke"


def _config_module(dataset: str):
  return (
    loso_synthetic if dataset == MECG else importlib.import_module(f"experiments.configs.{dataset}")
  )


def _config_file(dataset: str) -> str:
  return "loso_synthetic.py" if dataset == MECG else f"{dataset}.py"


def smoke_config(dataset: str = MECG):
  """The LOSO config of `--smoke` when no --config is given."""
  overrides = [a for a in sys.argv[1:] if a.startswith("--config.")]
  if overrides:
    raise app.UsageError(
      f"--smoke with {overrides[0]}: give the smoke config explicitly to override its "
      f"fields: --config=experiments/configs/{_config_file(dataset)}:runlocal"
    )
  return _config_module(dataset).get_config("runlocal")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  runtime.quiet_checkpoint_logs()
  config, preset, workdir = _CONFIG.value, _SYNTHETIC.value, _WORKDIR.value
  dataset, given = _DATASET.value, flags.FLAGS["config"].present
  if _SMOKE.value:
    if not given:
      config = smoke_config(dataset)
    if not flags.FLAGS["synthetic"].present:
      preset = "tiny"
  elif dataset != MECG and not given:  # the flag's default is the MECG demo's config
    overrides = [a for a in sys.argv[1:] if a.startswith("--config.")]
    if overrides:
      raise app.UsageError(
        f"--dataset={dataset} with {overrides[0]}: give the config explicitly to override "
        f"its fields: --config=experiments/configs/{_config_file(dataset)}"
      )
    config = _config_module(dataset).get_config()
  if not flags.FLAGS["workdir"].present:
    workdir = SMOKE_WORKDIR if _SMOKE.value else workdir
    if dataset != MECG:
      workdir = f"{workdir}_{dataset}"  # workdir/demo_casme2, workdir/smoke_casme2
  if dataset == MECG:
    raw_config = end_to_end.synthetic_config(preset, _SET.value)
    end_to_end.run(config, Path(workdir), raw_config, _SEED.value)
  else:
    raw_config = end_to_end.video_synthetic_config(dataset, preset, _SET.value)
    end_to_end.run_video(config, Path(workdir), dataset, raw_config, _SEED.value)


if __name__ == "__main__":
  cli.run(main)
