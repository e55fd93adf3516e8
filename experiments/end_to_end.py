"""The whole pipeline on one synthetic MECG: synthesize, build, LOSO, report.

Shared by `experiments.demo` (one seed) and `experiments.seed_study` (several).
"""

import json
import time
from pathlib import Path

import tensorflow_datasets as tfds
from absl import app

from cmcl_jax.analysis import report
from cmcl_jax.analysis import visual_inspection
from cmcl_jax.data import synthetic
from cmcl_jax.experiment import dataset, loso, runtime
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


TIMINGS_FILE = "timings.json"


class _Timings:
  """Seconds each stage took in the run that did its work, kept in `TIMINGS_FILE`.

  A stage whose work an earlier run had already finished keeps that run's time, so a
  rerun over a finished workdir reports what the work cost rather than ~0 s. A stage
  an earlier run left half done is listed under "resumed": its time covers this run
  only.
  """

  def __init__(self, workdir: Path):
    self.path = workdir / TIMINGS_FILE
    stored = json.loads(self.path.read_text()) if self.path.exists() else {}
    self.seconds = stored.get("seconds", {})
    self.resumed = set(stored.get("resumed", ()))

  def record(self, stage: str, seconds: float, state: str) -> None:
    """state: "done" (the work was already finished), "resumed" or "fresh"."""
    if state != "done" or stage not in self.seconds:
      self.seconds[stage] = seconds
      (self.resumed.add if state == "resumed" else self.resumed.discard)(stage)
    self.path.write_text(
      json.dumps({"seconds": self.seconds, "resumed": sorted(self.resumed)}, indent=1)
    )


def run(config, workdir: Path, raw_config: synthetic.SyntheticConfig, seed: int) -> dict:
  """Synthesizes, builds, runs LOSO and reports under `workdir`; resumes.

  Writes `mecg_raw/`, `tfds/`, `loso/`, `results/` (`report.write_report` and
  `report.write_planted_report`), `figures/` and `timings.json` (`_Timings`) under
  `workdir`.

  Args:
    config: a LOSO config; its `data.data_dir` is set to `workdir/tfds`, its
      `data.raw_dir` to `workdir/mecg_raw`.
    workdir: output folder.
    raw_config: the synthetic MECG to write (`synthetic_config`, `synthetic.preset`).
    seed: seed of the synthetic data.

  Returns:
    {"summary": `report.write_report`'s summary plus "planted", "timings": stage →
    seconds of the run that did its work, "resumed": stages only partly done here}.
  """
  raw, data_dir = workdir / "mecg_raw", workdir / "tfds"
  config.data.data_dir, config.data.raw_dir = str(data_dir), str(raw)
  workdir.mkdir(parents=True, exist_ok=True)
  timings = _Timings(workdir)

  start = _stage(
    f"1/4 synthesize ({raw_config.num_subjects} subjects × "
    f"{raw_config.trials_per_subject} trials × {raw_config.trial_seconds:g} s, "
    f"seed {seed}) → {raw}"
  )
  done = synthetic.is_generated(raw, raw_config, seed)
  if not done:
    synthetic.generate(raw, raw_config, seed=seed)
  timings.record("synthesize", time.perf_counter() - start, "done" if done else "fresh")

  start = _stage(f"2/4 build mecg/{config.data.tfds_config} → {data_dir}")
  builder = mecg_dataset_builder.Builder(config=config.data.tfds_config, data_dir=str(data_dir))
  done = builder.is_prepared()
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(raw)))
  timings.record("build", time.perf_counter() - start, "done" if done else "fresh")

  start = _stage("3/4 leave-one-subject-out: train, spot, filter, evaluate")
  subjects = dataset.fold_subjects(dataset.dataset_subjects(builder), config.loso.folds)
  finished = len(loso.finished_folds(config, workdir / "loso", subjects))
  if config.loso.compilation_cache:
    runtime.use_compilation_cache(workdir / "loso" / "jax_cache")
  folds = loso.run_loso(config, workdir / "loso")
  state = "done" if finished == len(subjects) else "resumed" if finished else "fresh"
  timings.record("loso", time.perf_counter() - start, state)

  start = _stage(f"4/4 tables and figures → {workdir / 'results'}")
  summary = report.write_report(config, workdir / "loso", builder, folds, workdir / "results")
  summary["planted"] = report.write_planted_report(
    config, workdir / "loso", builder, folds, raw, workdir / "results"
  )
  visual_inspection.draw_trial(raw, None, workdir / "figures", faces=True)
  timings.record("report", time.perf_counter() - start, "fresh")

  for name in ("table2", "table3"):
    if summary[name]:
      print(
        f"\n{name}\n" + report.tables.markdown(summary[name], ["variant", *report.tables.COLUMNS])
      )
  seconds = timings.seconds
  print(
    "\n"
    + "  ".join(f"{k} {v:.0f} s" for k, v in seconds.items())
    + f"  total {sum(seconds.values()) / 60:.1f} min"
    + (f" (resumed: {', '.join(sorted(timings.resumed))})" if timings.resumed else "")
  )
  return {"summary": summary, "timings": dict(seconds), "resumed": sorted(timings.resumed)}
