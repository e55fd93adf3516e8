r"""The whole pipeline on a synthetic MECG, in one command (the README's main job).

  python -m experiments.demo [--workdir=workdir/demo] [--seed=0] [--smoke]

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
"""

import sys
from pathlib import Path

from absl import app
from absl import flags
from ml_collections import config_flags

from cmcl_jax.data import synthetic
from cmcl_jax.experiment import runtime
from experiments import end_to_end
from experiments.configs import loso_synthetic
from experiments import cli

_CONFIG = config_flags.DEFINE_config_file(
  "config", str(Path(__file__).parent / "configs" / "loso_synthetic.py"), "LOSO experiment config."
)
_WORKDIR = flags.DEFINE_string("workdir", "workdir/demo", "Output folder.")
_SYNTHETIC = flags.DEFINE_enum(
  "synthetic", "demo", sorted(synthetic.PRESETS), "Synthetic MECG size preset."
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


def smoke_config():
  """The LOSO config of `--smoke` when no --config is given."""
  overrides = [a for a in sys.argv[1:] if a.startswith("--config.")]
  if overrides:
    raise app.UsageError(
      f"--smoke with {overrides[0]}: give the smoke config explicitly to override its "
      "fields: --config=experiments/configs/loso_synthetic.py:runlocal"
    )
  return loso_synthetic.get_config("runlocal")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  runtime.quiet_checkpoint_logs()
  config, preset, workdir = _CONFIG.value, _SYNTHETIC.value, _WORKDIR.value
  if _SMOKE.value:
    if not flags.FLAGS["config"].present:
      config = smoke_config()
    if not flags.FLAGS["synthetic"].present:
      preset = "tiny"
    if not flags.FLAGS["workdir"].present:
      workdir = SMOKE_WORKDIR
  end_to_end.run(
    config, Path(workdir), end_to_end.synthetic_config(preset, _SET.value), _SEED.value
  )


if __name__ == "__main__":
  cli.run(main)
