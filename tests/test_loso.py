"""The LOSO experiment end to end on a tiny synthetic MECG: train, spot, filter, report."""

import json

import pytest
import tensorflow_datasets as tfds

from cmcl_jax.analysis import report
from cmcl_jax.data import synthetic
from cmcl_jax.spotting import loso
from data_builders.mecg import mecg_dataset_builder
from experiments.configs import loso_synthetic


@pytest.mark.slow
def test_loso_runs_resumes_and_reports(tmp_path):
  raw = tmp_path / "raw"
  synthetic.generate(raw, synthetic.preset("tiny", num_subjects=2, trials_per_subject=2,
                                           trial_seconds=8.0), seed=3, progress=False)
  config = loso_synthetic.get_config("runlocal")
  config.data.data_dir = str(tmp_path / "tfds")
  builder = mecg_dataset_builder.Builder(config="tiny", data_dir=config.data.data_dir)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(raw)))

  folds = loso.run_loso(config, tmp_path / "loso")
  subjects = sorted(builder.info.splits.keys())
  assert sorted(folds) == subjects
  planted = synthetic.load_ground_truth(raw)
  micro = sum(e["kind"] == "micro" for s in planted["subjects"] for t in s["trials"]
              for e in t["expressions"])
  for fold in folds.values():
    assert set(fold["variants"]) == {"video", "ecg", "both", "both+ccf", "both+ccf_chosen"}
    assert fold["chosen_eta"] in config.loso.ccf.sweep
    both, filtered = fold["variants"]["both"]["total"], fold["variants"]["both+ccf"]["total"]
    # The CCF only removes candidates: TP and FP can only go down, FN up.
    assert filtered["tp"] <= both["tp"] and filtered["fp"] <= both["fp"]
    assert filtered["tp"] + filtered["fn"] == both["tp"] + both["fn"]
  assert sum(f["variants"]["both"]["total"]["tp"] + f["variants"]["both"]["total"]["fn"]
             for f in folds.values()) == micro

  # A rerun reads the finished folds back instead of training again.
  result_file = tmp_path / "loso" / "folds" / subjects[0] / loso.RESULT_FILE
  before = result_file.stat().st_mtime_ns
  assert loso.run_loso(config, tmp_path / "loso") == folds
  assert result_file.stat().st_mtime_ns == before

  summary = report.write_report(config, tmp_path / "loso", builder, folds, tmp_path / "out")
  assert [row["variant"] for row in summary["table3"]] == [
      "video only", "ECG only", "video + ECG", "video + ECG + CCF (η = 2.0)",
      "video + ECG + CCF (η chosen in fold)"]
  table = json.loads((tmp_path / "out" / "table3.json").read_text())
  assert table == summary["table3"]
  for name in ("table3.md", "table3.csv", "eta_sweep.md", "eta_sweep.png",
               "per_subject_precision.png", "ecg_statistics.md"):
    assert (tmp_path / "out" / name).stat().st_size > 0, name
  assert "HRS (bpm/s)" in (tmp_path / "out" / "ecg_statistics.md").read_text()


def test_unknown_fold_and_variant_are_clear_errors():
  with pytest.raises(ValueError, match="unknown subjects.*s9"):
    loso.fold_subjects(["s2", "s1"], "s1,s9")
  assert loso.fold_subjects(["s2", "s1"], "") == ["s1", "s2"]
  assert loso.fold_subjects(["s2", "s1"], " s2 ") == ["s2"]
  with pytest.raises(ValueError, match="'audio'"):
    loso.variant_config(loso_synthetic.get_config("runlocal"), "audio", "s1", "s2")
