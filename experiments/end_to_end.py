"""The whole pipeline on one synthetic dataset: synthesize, build, LOSO, report.

`run` on the synthetic MECG, shared by `experiments.demo` (one seed) and
`experiments.seed_study` (several); `run_video` on a synthetic stand-in of CAS(ME)²,
SAMM-LV or CAS(ME)³ (`experiments.demo --dataset=…`).
"""

import dataclasses
import json
import time
from pathlib import Path

import tensorflow_datasets as tfds
from absl import app

from cmcl_jax.analysis import report
from cmcl_jax.analysis import visual_inspection
from cmcl_jax.data import synthetic
from cmcl_jax.data.synthetic import megc_layouts
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


def video_synthetic_config(dataset: str, preset: str, assignments=()) -> synthetic.SyntheticConfig:
  """`megc_layouts.preset(dataset, preset)` with `--set` style "field=value" overrides.

  Raises:
    app.UsageError: naming the bad assignment.
  """
  try:
    return megc_layouts.preset(dataset, preset, **synthetic.parse_overrides(assignments))
  except ValueError as error:
    raise app.UsageError(f"--set: {error}") from None


def _loso(config, workdir: Path, builder, timings: "_Timings") -> dict:
  """Stage 3: LOSO over every fold (resumed); fold results by subject."""
  subjects = dataset.fold_subjects(dataset.dataset_subjects(builder), config.loso.folds)
  finished = len(loso.finished_folds(config, workdir / "loso", subjects))
  runtime.use_compilation_cache(runtime.compilation_cache_folder(config, workdir / "loso"))
  start = time.perf_counter()
  folds = loso.run_loso(config, workdir / "loso")
  state = "done" if finished == len(subjects) else "resumed" if finished else "fresh"
  timings.record("loso", time.perf_counter() - start, state)
  return folds


def _print_timings(timings: "_Timings") -> None:
  seconds = timings.seconds
  print(
    "\n"
    + "  ".join(f"{k} {v:.0f} s" for k, v in seconds.items())
    + f"  total {sum(seconds.values()) / 60:.1f} min"
    + (f" (resumed: {', '.join(sorted(timings.resumed))})" if timings.resumed else "")
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

  _stage("3/4 leave-one-subject-out: train, spot, filter, evaluate")
  folds = _loso(config, workdir, builder, timings)

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
  _print_timings(timings)
  return {"summary": summary, "timings": dict(timings.seconds), "resumed": sorted(timings.resumed)}


def _is_generated(raw: Path, dataset: str, raw_config, seed: int) -> bool:
  """Whether `raw` holds the stand-in `megc_layouts.generate` writes for these inputs."""
  path = raw / megc_layouts.GROUND_TRUTH_NAME
  if not path.is_file():
    return False
  truth = json.loads(path.read_text())
  wanted = json.loads(json.dumps(dataclasses.asdict(raw_config)))
  return (truth["dataset"], truth["seed"], truth["config"]) == (dataset, seed, wanted)


def tfds_configs(config) -> list[str]:
  """The dataset configs a LOSO config trains on: `data.tfds_config` and the
  `tfds_config` of each spotter of `loso.spotters` that names one."""
  names = [config.data.tfds_config]
  for name in config.loso.spotters:
    own = config.spotters[name].get("tfds_config", "")
    if own and own not in names:
      names.append(own)
  return names


def run_video(
  config, workdir: Path, dataset_name: str, raw_config: synthetic.SyntheticConfig, seed: int
) -> dict:
  """Synthesizes a stand-in of a video-only dataset, builds it, runs LOSO and reports.

  Writes `<dataset>_raw/`, `tfds/`, `loso/`, `results/` (`report.write_report`: the
  MEGC table, submissions, figures) and `timings.json` under `workdir`; resumes.

  Args:
    config: a LOSO config of that dataset (`experiments/configs/<dataset>.py`); its
      `data.data_dir` is set to `workdir/tfds`, its `data.raw_dir` to the stand-in.
    workdir: output folder.
    dataset_name: "casme2", "samm_lv" or "casme3".
    raw_config: the stand-in to write (`video_synthetic_config`).
    seed: seed of the synthetic data.

  Returns:
    {"summary": `report.write_report`'s summary, "timings", "resumed"} as `run`.
  """
  if config.data.get("tfds_name", "mecg") != "megc":
    raise app.UsageError(
      f"--dataset={dataset_name} with a config of data.tfds_name="
      f"{config.data.get('tfds_name', 'mecg')!r}: give experiments/configs/{dataset_name}.py"
    )
  raw, data_dir = workdir / f"{dataset_name}_raw", workdir / "tfds"
  config.data.data_dir, config.data.raw_dir = str(data_dir), str(raw)
  workdir.mkdir(parents=True, exist_ok=True)
  timings = _Timings(workdir)

  start = _stage(
    f"1/4 synthesize {dataset_name} ({raw_config.num_subjects} subjects × "
    f"{raw_config.trials_per_subject} videos × {raw_config.trial_seconds:g} s at "
    f"{raw_config.fps:g} fps, seed {seed}) → {raw}"
  )
  done = _is_generated(raw, dataset_name, raw_config, seed)
  if not done:
    megc_layouts.generate(raw, dataset_name, raw_config, seed=seed)
  timings.record("synthesize", time.perf_counter() - start, "done" if done else "fresh")

  start = _stage(f"2/4 build megc/{', megc/'.join(tfds_configs(config))} → {data_dir}")
  done = True
  for name in tfds_configs(config):
    builder = dataset.BUILDERS["megc"](config=name, data_dir=str(data_dir))
    done = done and builder.is_prepared()
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(raw)))
  timings.record("build", time.perf_counter() - start, "done" if done else "fresh")

  _stage("3/4 leave-one-subject-out: train, spot, evaluate micro and macro")
  builder = dataset.open_builder(config.data)
  folds = _loso(config, workdir, builder, timings)

  start = _stage(f"4/4 tables and figures → {workdir / 'results'}")
  summary = report.write_report(config, workdir / "loso", builder, folds, workdir / "results")
  timings.record("report", time.perf_counter() - start, "fresh")
  if summary["megc"]:
    print("\nmegc\n" + report.tables.markdown(summary["megc"], report.MEGC_COLUMNS))
  _print_timings(timings)
  return {"summary": summary, "timings": dict(timings.seconds), "resumed": sorted(timings.resumed)}
