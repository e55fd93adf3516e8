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
`--config=…/loso_synthetic.py:runlocal` is the seconds-long smoke version.
"""

import time
from pathlib import Path

import tensorflow_datasets as tfds
from absl import app
from absl import flags
from ml_collections import config_flags

from cmcl_jax.analysis import report
from cmcl_jax.analysis import visual_inspection
from cmcl_jax.data import synthetic
from cmcl_jax.spotting import loso
from data_builders.mecg import mecg_dataset_builder

_CONFIG = config_flags.DEFINE_config_file(
    "config", str(Path(__file__).parent / "configs" / "loso_synthetic.py"),
    "LOSO experiment config.")
_WORKDIR = flags.DEFINE_string("workdir", "workdir/demo", "Output folder.")
_SYNTHETIC = flags.DEFINE_enum("synthetic", "demo", sorted(synthetic.PRESETS),
                               "Synthetic MECG size preset.")
_SEED = flags.DEFINE_integer("seed", 0, "Seed of the synthetic data.")


def _stage(name: str):
  print(f"\n=== {name} ===", flush=True)
  return time.perf_counter()


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  loso.quiet_checkpoint_logs()
  workdir = Path(_WORKDIR.value)
  raw, data_dir = workdir / "mecg_raw", workdir / "tfds"
  config = _CONFIG.value
  config.data.data_dir = str(data_dir)
  timings = {}

  start = _stage(f"1/4 synthesize ({_SYNTHETIC.value}, seed {_SEED.value}) → {raw}")
  synthetic_config = synthetic.preset(_SYNTHETIC.value)
  if not synthetic.is_generated(raw, synthetic_config, _SEED.value):
    synthetic.generate(raw, synthetic_config, seed=_SEED.value)
  timings["synthesize"] = time.perf_counter() - start

  start = _stage(f"2/4 build mecg/{config.data.tfds_config} → {data_dir}")
  builder = mecg_dataset_builder.Builder(config=config.data.tfds_config, data_dir=str(data_dir))
  builder.download_and_prepare(
      download_config=tfds.download.DownloadConfig(manual_dir=str(raw)))
  timings["build"] = time.perf_counter() - start

  start = _stage("3/4 leave-one-subject-out: train, spot, filter, evaluate")
  folds = loso.run_loso(config, workdir / "loso")
  timings["loso"] = time.perf_counter() - start

  start = _stage(f"4/4 tables and figures → {workdir / 'results'}")
  summary = report.write_report(config, workdir / "loso", builder, folds, workdir / "results")
  visual_inspection.draw_trial(raw, None, workdir / "figures", faces=True)
  timings["report"] = time.perf_counter() - start

  print("\n" + report.tables.markdown(summary["table3"], ["variant", *report.tables.COLUMNS]))
  print("\n" + "  ".join(f"{k} {v:.0f} s" for k, v in timings.items())
        + f"  total {sum(timings.values()) / 60:.1f} min")


if __name__ == "__main__":
  app.run(main)
