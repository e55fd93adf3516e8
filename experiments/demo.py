r"""The whole pipeline on a synthetic MECG, in one command (the README's main job).

  python -m experiments.demo [--workdir=workdir/demo] [--seed=0]

1. writes a synthetic raw MECG (`experiments.synthesize`, preset `demo`),
2. builds it into the `mecg/default` TFDS dataset (array_record),
3. runs leave-one-subject-out training, spotting, CCF and MEGC evaluation of the
   paper's ablation (`experiments.loso` with `configs/loso_synthetic.py`),
4. writes tables and figures under `<workdir>/results/` and the visual-inspection
   figure of one raw trial under `<workdir>/figures/`.

Every stage resumes: rerunning skips what is done. `--config` takes any LOSO config,
`--config.<field>=…` overrides a field, `--synthetic=tiny` with
`--config=…/loso_synthetic.py:runlocal` is the minutes-long smoke version, and
`--set=hr_response_share=1.0` (repeatable) changes a field of the synthetic preset.
"""

from pathlib import Path

from absl import app
from absl import flags
from ml_collections import config_flags

from cmcl_jax.data import synthetic
from cmcl_jax.spotting import loso
from experiments import end_to_end

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


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  loso.quiet_checkpoint_logs()
  end_to_end.run(
    _CONFIG.value,
    Path(_WORKDIR.value),
    end_to_end.synthetic_config(_SYNTHETIC.value, _SET.value),
    _SEED.value,
  )


if __name__ == "__main__":
  app.run(main)
