"""The whole pipeline on one synthetic MECG: synthesize, build, LOSO, report.

Shared by `experiments.demo` (one seed) and `experiments.seed_study` (several).
"""

import time
from pathlib import Path

import tensorflow_datasets as tfds
from absl import app

from cmcl_jax.analysis import report
from cmcl_jax.analysis import visual_inspection
from cmcl_jax.data import synthetic
from cmcl_jax.spotting import loso
from data_builders.mecg import mecg_dataset_builder


def _stage(name: str):
  print(f"\n=== {name} ===", flush=True)
  return time.perf_counter()


def synthetic_config(preset: str, assignments=()) -> synthetic.SyntheticConfig:
  """The named preset with `--set` style "field=value" overrides.

  Raises:
    app.UsageError: naming the bad assignment.
  """
  try:
    return synthetic.preset(preset, **synthetic.parse_overrides(assignments))
  except ValueError as error:
    raise app.UsageError(f"--set: {error}") from None


def run(config, workdir: Path, raw_config: synthetic.SyntheticConfig, seed: int) -> dict:
  """Synthesizes, builds, runs LOSO and reports under `workdir`; resumes.

  Writes `mecg_raw/`, `tfds/`, `loso/`, `results/` (`report.write_report` and
  `report.write_planted_report`) and `figures/` under `workdir`.

  Args:
    config: a LOSO config; its `data.data_dir` is set to `workdir/tfds`.
    workdir: output folder.
    raw_config: the synthetic MECG to write (`synthetic_config`, `synthetic.preset`).
    seed: seed of the synthetic data.

  Returns:
    {"summary": `report.write_report`'s summary plus "planted", "timings": stage →
    seconds}.
  """
  raw, data_dir = workdir / "mecg_raw", workdir / "tfds"
  config.data.data_dir = str(data_dir)
  timings = {}

  start = _stage(f"1/4 synthesize ({raw_config.num_subjects} subjects × "
                 f"{raw_config.trials_per_subject} trials × {raw_config.trial_seconds:g} s, "
                 f"seed {seed}) → {raw}")
  if not synthetic.is_generated(raw, raw_config, seed):
    synthetic.generate(raw, raw_config, seed=seed)
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
  summary["planted"] = report.write_planted_report(config, workdir / "loso", builder, folds,
                                                   raw, workdir / "results")
  visual_inspection.draw_trial(raw, None, workdir / "figures", faces=True)
  timings["report"] = time.perf_counter() - start

  print("\n" + report.tables.markdown(summary["table3"], ["variant", *report.tables.COLUMNS]))
  print("\n" + "  ".join(f"{k} {v:.0f} s" for k, v in timings.items())
        + f"  total {sum(timings.values()) / 60:.1f} min")
  return {"summary": summary, "timings": timings}
