"""The LOSO experiment end to end on a tiny synthetic MECG: train, spot, filter, report."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from absl import app

from cmcl_jax.analysis import report
from cmcl_jax.data import ecg_io
from cmcl_jax.data import synthetic
from cmcl_jax.spotting import loso
from cmcl_jax.spotting import single_trial
from data_builders.mecg import mecg_dataset_builder
from experiments import end_to_end
from experiments.configs import loso_synthetic


@pytest.mark.slow
def test_loso_runs_resumes_and_reports(tmp_path):
  """The demo's own path (`experiments.end_to_end.run`) on a tiny synthetic MECG."""
  config = loso_synthetic.get_config("runlocal")
  # Dataset-wide feature statistics: spot_trial below must reproduce the fold's scores
  # from a trial whose ECG starts at frame 0. Per-trial statistics would include the
  # first and last windows, whose ECG context the cut recording lacks (here 6 of 8 s).
  config.data.feature_norm = "dataset"
  raw_config = synthetic.preset("tiny", num_subjects=2, trials_per_subject=2, trial_seconds=8.0)
  outcome = end_to_end.run(config, tmp_path, raw_config, seed=3)
  raw = tmp_path / "mecg_raw"
  builder = mecg_dataset_builder.Builder(config="tiny", data_dir=config.data.data_dir)
  folds = loso.finished_folds(tmp_path / "loso", loso.dataset_subjects(builder))
  subjects = sorted(builder.info.splits.keys())
  assert sorted(folds) == subjects
  planted = synthetic.load_ground_truth(raw)
  micro = sum(
    e["kind"] == "micro" for s in planted["subjects"] for t in s["trials"] for e in t["expressions"]
  )
  for fold in folds.values():
    assert set(fold["variants"]) == {"video", "ecg", "both", "both+ccf", "both+ccf_chosen"}
    assert fold["chosen_eta"] in config.loso.ccf.sweep
    both, filtered = fold["variants"]["both"]["total"], fold["variants"]["both+ccf"]["total"]
    # The CCF only removes candidates: TP and FP can only go down, FN up.
    assert filtered["tp"] <= both["tp"] and filtered["fp"] <= both["fp"]
    assert filtered["tp"] + filtered["fn"] == both["tp"] + both["fn"]
  assert (
    sum(
      f["variants"]["both"]["total"]["tp"] + f["variants"]["both"]["total"]["fn"]
      for f in folds.values()
    )
    == micro
  )

  # The demo again over the finished workdir redoes only the report and keeps what
  # each stage cost when it did its work.
  assert set(outcome["timings"]) == {"synthesize", "build", "loso", "report"}
  again = end_to_end.run(config, tmp_path, raw_config, seed=3)
  for stage in ("synthesize", "build", "loso"):
    assert again["timings"][stage] == outcome["timings"][stage]
  assert again["resumed"] == [] and again["summary"]["table3"] == outcome["summary"]["table3"]

  # A rerun reads the finished folds back instead of training again.
  result_file = tmp_path / "loso" / "folds" / subjects[0] / loso.RESULT_FILE
  before = result_file.stat().st_mtime_ns
  assert loso.run_loso(config, tmp_path / "loso") == folds
  assert result_file.stat().st_mtime_ns == before
  # Another config over the same workdir stops instead of reusing stale folds.
  changed = loso_synthetic.get_config("runlocal")
  changed.data.data_dir, changed.data.feature_norm = config.data.data_dir, "dataset"
  changed.data.positive_fraction = 0.5
  with pytest.raises(
    ValueError, match=re.escape(f"data.positive_fraction: {config.data.positive_fraction!r} → 0.5")
  ):
    loso.run_loso(changed, tmp_path / "loso")
  changed.data.positive_fraction = config.data.positive_fraction
  changed.loso.folds = subjects[0]  # which folds to run is not part of a fold's result
  changed.data.data_dir = os.path.relpath(config.data.data_dir)  # nor where data lie
  assert loso.run_loso(changed, tmp_path / "loso") == {subjects[0]: folds[subjects[0]]}

  summary = outcome["summary"]
  assert [row["variant"] for row in summary["table3"]] == [
    "video only",
    "ECG only",
    "video + ECG",
    "video + ECG + CCF (η = 2.0)",
    "video + ECG + CCF (η chosen in fold)",
  ]
  out = tmp_path / "results"
  assert json.loads((out / "table3.json").read_text()) == summary["table3"]
  for name in (
    "table3.md",
    "table3.csv",
    "eta_sweep.md",
    "eta_sweep.png",
    "per_subject_precision.png",
    "ecg_statistics.md",
    "planted.md",
  ):
    assert (out / name).stat().st_size > 0, name
  assert "HRS (bpm/s)" in (out / "ecg_statistics.md").read_text()
  assert list((tmp_path / "figures").glob("*.png"))
  _check_planted_report(summary["planted"], folds)

  _check_spot_trial(tmp_path, raw, planted)


def _check_planted_report(planted_report, folds):
  """planted.md accounts for every candidate of every variant: its true positives and
  false positives by source sum to the fold totals of table 3."""
  keys = {
    row["variant"]: key for key, row in zip(report.PER_SUBJECT_VARIANTS, planted_report["sources"])
  }
  assert len(keys) == len(report.PER_SUBJECT_VARIANTS)
  for row in planted_report["sources"]:
    key = keys[row["variant"]]
    total = {c: sum(f["variants"][key]["total"][c] for f in folds.values()) for c in ("tp", "fp")}
    assert sum(v for k, v in row.items() if k.startswith("tp_")) == total["tp"], key
    assert row["n_me_responding"] + row["n_me_silent"] == sum(
      f["variants"][key]["total"]["tp"] + f["variants"][key]["total"]["fn"] for f in folds.values()
    ), key
    assert sum(v for k, v in row.items() if k.startswith("fp_")) == total["fp"], key
  for mix in planted_report["batch_mix"]:
    assert sum(v for k, v in mix.items() if k != "training split of fold") == (pytest.approx(1.0))


def _check_spot_trial(tmp_path, raw, planted):
  """`experiments.spot_trial` on a raw trial, its ECG cut into its own file, gives the
  held-out scores of the LOSO fold (away from the ECG's ends) and its outputs."""
  truth_subject = planted["subjects"][0]
  ids = json.loads((raw / ".mecg_pseudonyms.json").read_text())["subjects"]
  subject = ids[truth_subject["subject"]]
  trial = truth_subject["trials"][0]
  recording = ecg_io.read_recording(raw / truth_subject["ecg"])
  first = int(round(trial["start_in_recording_s"] * recording.sampling_rate))
  ecg_file = tmp_path / "user" / "trial_ecg.csv"
  ecg_io.write_recording(
    ecg_file, ecg_io.EcgRecording(recording.ecg[first:], None, recording.sampling_rate)
  )
  video = raw / trial["video"]
  run_dir = tmp_path / "loso" / "folds" / subject / "both"

  run = single_trial.load_run(run_dir)
  used = json.loads((run_dir / loso.SPOTTING_FILE).read_text())  # threshold of the fold
  assert used["threshold"] in loso_synthetic.get_config("runlocal").loso.spotting.threshold_grid
  spotted = single_trial.spot_trial(video, ecg_file, run, spotting=used)
  with (run_dir.parent / loso.SCORES_FILE.format(variant="both")).open("rb") as f:
    stored = dict(np.load(f))
  trial_id = f"{subject}/{trial['marker']}"
  np.testing.assert_array_equal(spotted.window_starts, stored[f"{trial_id}|starts"])
  # Without ECG before frame 0 the first windows' context differs. Inside, only R-peak
  # detection and beat rejection see a shorter recording (their thresholds adapt to it).
  fps, window = spotted.fps, run.spec.window_frames
  interior = (spotted.window_starts >= 3 * fps) & (
    spotted.window_starts + window <= trial["num_frames"] - 3 * fps
  )
  assert interior.sum() >= 5
  np.testing.assert_allclose(
    spotted.window_scores[interior], stored[f"{trial_id}|scores"][interior], atol=1e-2
  )

  out = tmp_path / "spotted"
  subprocess.run(
    [
      sys.executable,
      "-m",
      "experiments.spot_trial",
      f"--video={video}",
      f"--ecg={ecg_file}",
      f"--checkpoint={run_dir}",
      f"--out={out}",
    ],
    check=True,
    cwd=Path(__file__).resolve().parents[1],
  )
  table = pd.read_csv(out / f"{video.stem}_intervals.csv")
  written = json.loads((out / f"{video.stem}_intervals.json").read_text())
  assert len(table) == len(written["intervals"]) == len(spotted.candidates)
  assert list(table["kept_by_ccf"]) == list(spotted.kept)
  assert (table["onset_frame"] <= table["apex_frame"]).all()
  assert (table["apex_frame"] <= table["offset_frame"]).all()
  assert (out / f"{video.stem}_spotting.png").stat().st_size > 0


def test_spot_trial_errors_name_what_is_missing(tmp_path):
  with pytest.raises(FileNotFoundError, match="config.json"):
    single_trial.load_run(tmp_path)
  with pytest.raises(FileNotFoundError, match="video not found"):
    single_trial.user_trial(tmp_path / "nope.avi", tmp_path / "nope.csv")


def test_unknown_fold_and_variant_are_clear_errors():
  with pytest.raises(ValueError, match="unknown subjects.*s9"):
    loso.fold_subjects(["s2", "s1"], "s1,s9")
  assert loso.fold_subjects(["s2", "s1"], "") == ["s1", "s2"]
  assert loso.fold_subjects(["s2", "s1"], " s2 ") == ["s2"]
  with pytest.raises(ValueError, match="'audio'"):
    loso.variant_config(loso_synthetic.get_config("runlocal"), "audio", "s1", "s2")


def test_demo_synthetic_overrides_are_checked():
  assert end_to_end.synthetic_config("tiny", ["hr_response_share=1.0"]).hr_response_share == 1.0
  assert end_to_end.synthetic_config("demo") == synthetic.preset("demo")
  with pytest.raises(app.UsageError, match="hr_response_share=abc"):
    end_to_end.synthetic_config("demo", ["hr_response_share=abc"])
