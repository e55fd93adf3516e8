"""The LOSO harness end to end on a tiny synthetic MECG: spotters, resume, reports, the
smoke demo and single-trial spotting."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np
import pandas as pd
import pytest
from absl import app
from flax import nnx

from cmcl_jax.analysis import report
from cmcl_jax.data import ecg_io
from cmcl_jax.data import synthetic
from cmcl_jax.experiment import dataset, loso, methods, single_trial
from cmcl_jax.experiment.spotter import Fold
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
  # A training-free spotter beside CMCL-Net, its candidates through the CCF as well.
  config.loso.spotters = ("motion", "video", "ecg", "both")
  config.loso.ccf.spotters = ("both", "motion")
  # The fused model's P(ME) averaged with the video model's (spot_trial reads it too).
  config.spotters.both.average_with = "video"
  raw_config = synthetic.preset("tiny", num_subjects=2, trials_per_subject=2, trial_seconds=8.0)
  outcome = end_to_end.run(config, tmp_path, raw_config, seed=3)
  raw = tmp_path / "mecg_raw"
  builder = mecg_dataset_builder.Builder(config="tiny", data_dir=config.data.data_dir)
  folds = loso.finished_folds(config, tmp_path / "loso", dataset.dataset_subjects(builder))
  subjects = sorted(builder.info.splits.keys())
  assert sorted(folds) == subjects
  planted = synthetic.load_ground_truth(raw)
  micro = sum(
    e["kind"] == "micro" for s in planted["subjects"] for t in s["trials"] for e in t["expressions"]
  )
  for fold in folds.values():
    assert set(fold["variants"]) == {
      "motion", "motion+ccf", "motion+ccf_chosen", "video", "ecg", "both", "both+ccf",
      "both+ccf_chosen",
    }  # fmt: skip
    for spotter in config.loso.ccf.spotters:
      assert fold["chosen_eta"][spotter] in (*config.loso.ccf.sweep, None)
      plain = fold["variants"][spotter]["total"]
      filtered = fold["variants"][spotter + "+ccf"]["total"]
      # The CCF only removes candidates: TP and FP can only go down, FN up.
      assert filtered["tp"] <= plain["tp"] and filtered["fp"] <= plain["fp"]
      assert filtered["tp"] + filtered["fn"] == plain["tp"] + plain["fn"]
    # The motion spotter's threshold is chosen on the training subjects.
    assert fold["thresholds"]["motion"] in config.spotters.motion.spotting.threshold_grid
  assert (
    sum(
      f["variants"]["both"]["total"]["tp"] + f["variants"]["both"]["total"]["fn"]
      for f in folds.values()
    )
    == micro
  )

  # The demo's fused spotter trains only its classifier: its encoder is the video and
  # ECG runs' encoders as they finished, its classifier no longer the video one's.
  fold_dir = tmp_path / "loso" / "folds" / subjects[0]
  load = lambda spotter: nnx.to_pure_dict(single_trial.load_run(fold_dir / spotter).params)
  fused_params = load("both")
  singles = {stream: load(stream) for stream in ("video", "ecg")}
  for stream, single in singles.items():
    parts = {k: v for k, v in single["encoder"].items() if k.startswith(f"{stream}_")}
    leaves = jax.tree_util.tree_flatten_with_path(parts)[0]
    assert leaves
    for path, value in leaves:
      fused_value = fused_params["encoder"]
      for key in path:
        fused_value = fused_value[key.key]
      np.testing.assert_array_equal(fused_value, value, err_msg=jax.tree_util.keystr(path))
  assert not np.array_equal(
    singles["video"]["classifier"]["output"]["kernel"],
    fused_params["classifier"]["output"]["kernel"],
  )

  # The demo again over the finished workdir redoes only the report and keeps what
  # each stage cost when it did its work.
  assert set(outcome["timings"]) == {"synthesize", "build", "loso", "report"}
  again = end_to_end.run(config, tmp_path, raw_config, seed=3)
  for stage in ("synthesize", "build", "loso"):
    assert again["timings"][stage] == outcome["timings"][stage]
  assert again["resumed"] == [] and again["summary"]["table3"] == outcome["summary"]["table3"]

  # A rerun reads every finished spotter back instead of training again.
  fold_dir = tmp_path / "loso" / "folds" / subjects[0]
  spotted = fold_dir / "both" / loso.SPOTTED_FILE
  before = spotted.stat().st_mtime_ns
  assert loso.run_loso(config, tmp_path / "loso") == folds
  assert spotted.stat().st_mtime_ns == before
  # Another config over the same workdir stops instead of reusing stale results.
  changed = config.copy_and_resolve_references()
  changed.data.sampling.positive_fraction = 0.5
  fraction = config.data.sampling.positive_fraction
  with pytest.raises(
    ValueError, match=re.escape(f"data.sampling.positive_fraction: {fraction!r} → 0.5")
  ):
    loso.run_loso(changed, tmp_path / "loso")
  # Which folds and spotters to run is not part of a spotter's result, nor where the
  # data or the compiled programs lie: a run of a subset of them reads theirs back.
  changed = config.copy_and_resolve_references()
  changed.loso.folds = subjects[0]
  changed.loso.spotters, changed.loso.ccf.spotters = ("both",), ("both",)
  changed.data.data_dir = os.path.relpath(config.data.data_dir)
  changed.loso.compilation_cache_dir = str(tmp_path / "shared_jax_cache")
  (subset,) = loso.run_loso(changed, tmp_path / "loso").values()
  assert subset["variants"] == {
    k: v for k, v in folds[subjects[0]]["variants"].items() if k.startswith("both")
  }
  assert spotted.stat().st_mtime_ns == before
  # Runs of an older cmcl_jax stored the cache switch in their config: still read back.
  stored = json.loads(spotted.read_text())
  stored["config"]["loso.compilation_cache"] = True
  spotted.write_text(json.dumps(stored))
  assert loso.run_loso(changed, tmp_path / "loso") == {subjects[0]: subset}
  # A finished spotter whose own entry changed is refused too.
  changed.spotters.motion.spotting.smoothing_frames = 2.0
  changed.loso.spotters = ("motion", "both")
  with pytest.raises(ValueError, match="spotters.motion.spotting.smoothing_frames: 4.0 → 2.0"):
    loso.run_loso(changed, tmp_path / "loso")

  summary = outcome["summary"]
  ablation = [
    "video only",
    "ECG only",
    "video + ECG",
    "video + ECG + CCF (η = 2.0)",
    "video + ECG + CCF (η chosen in fold)",
  ]
  assert [row["variant"] for row in summary["table3"]] == ablation
  assert [row["variant"] for row in summary["table2"]] == [
    "face motion",
    "face motion + CCF (η = 2.0)",
    "face motion + CCF (η chosen in fold)",
    *ablation,
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
  _check_planted_report(config, summary["planted"], folds)

  _check_spot_trial(tmp_path, raw, planted)


def _check_planted_report(config, planted_report, folds):
  """planted.md accounts for every candidate of every variant: its true positives and
  false positives by source sum to the fold totals of table 3."""
  variants = report.per_subject_variants(config)
  keys = {row["variant"]: key for key, row in zip(variants, planted_report["sources"])}
  assert len(keys) == len(variants)
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
  with (run_dir.parent / loso.SCORES_FILE.format(spotter="both")).open("rb") as f:
    stored = dict(np.load(f))
  curve = stored[f"{subject}/{trial['marker']}|micro"]
  assert spotted.curve.shape == curve.shape == (trial["num_frames"],)
  # Without ECG before frame 0 the first windows' context differs. Inside, only R-peak
  # detection and beat rejection see a shorter recording (their thresholds adapt to it).
  fps, window = spotted.fps, run.spec.window_frames
  interior = slice(int(3 * fps) + window, trial["num_frames"] - int(3 * fps) - window)
  assert len(curve[interior]) >= 5 * run.spec.stride_frames
  np.testing.assert_allclose(spotted.curve[interior], curve[interior], atol=1e-2)
  # The session recording itself, cut at the trial's marker, gives the fold's curve.
  session = single_trial.spot_trial(
    video, raw / truth_subject["ecg"], run, spotting=used, marker=trial["marker"]
  )
  np.testing.assert_allclose(session.curve[interior], curve[interior], atol=1e-2)

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


def test_unknown_folds_and_spotters_are_clear_errors():
  with pytest.raises(ValueError, match="unknown subjects.*s9"):
    dataset.fold_subjects(["s2", "s1"], "s1,s9")
  assert dataset.fold_subjects(["s2", "s1"], "") == ["s1", "s2"]
  assert dataset.fold_subjects(["s2", "s1"], " s2 ") == ["s2"]
  config = loso_synthetic.get_config("runlocal")
  config.spotters.both.modality = "audio"
  with pytest.raises(ValueError, match="spotters.both.modality='audio'"):
    methods.make_spotter("both", config)
  with pytest.raises(ValueError, match="'sound' has no entry in config.spotters"):
    methods.make_spotter("sound", config)
  config.spotters.both.method = "no_such_method"
  with pytest.raises(ValueError, match="spotters.both.method='no_such_method'"):
    methods.make_spotter("both", config)
  config.spotters.both.method = "cmcl_jax.nowhere:Spotter"
  with pytest.raises(ValueError, match="No module named 'cmcl_jax.nowhere'"):
    methods.make_spotter("both", config)


def test_a_spotter_of_your_own_is_a_module_and_a_config_entry():
  config = loso_synthetic.get_config("runlocal")
  config.spotters.mine = dict(method="cmcl_jax.baselines.motion:MotionSpotter", title="mine",
                              spotting=config.loso.spotting.to_dict())  # fmt: skip
  spotter = methods.make_spotter("mine", config)
  assert spotter.name == "mine" and spotter.fit(None)
  assert spotter.spotting.half_width_frames == config.loso.spotting.half_width_frames


def test_demo_synthetic_overrides_are_checked():
  assert end_to_end.synthetic_config("tiny", ["hr_response_share=1.0"]).hr_response_share == 1.0
  assert end_to_end.synthetic_config("demo") == synthetic.preset("demo")
  with pytest.raises(app.UsageError, match="hr_response_share=abc"):
    end_to_end.synthetic_config("demo", ["hr_response_share=abc"])


@pytest.mark.slow
def test_smoke_demo_runs_the_whole_pipeline(tmp_path):
  """`python -m experiments.demo --smoke`: the README's main job on the tiny preset."""
  workdir = tmp_path / "smoke"
  result = subprocess.run(
    [sys.executable, "-m", "experiments.demo", "--smoke", f"--workdir={workdir}"],
    capture_output=True,
    text=True,
    cwd=Path(__file__).resolve().parents[1],
  )
  assert result.returncode == 0, result.stderr[-3000:]
  rows = json.loads((workdir / "results" / "table3.json").read_text())
  assert [r["variant"] for r in rows][:3] == ["video only", "ECG only", "video + ECG"]
  table2 = json.loads((workdir / "results" / "table2.json").read_text())
  assert [r["variant"] for r in table2][:3] == [
    "MDMD (He et al. 2020)",
    "SOFTNet (Liong et al. 2021)",
    "SOFTNet (Liong et al. 2021) + CCF (η = 2.0)",
  ]
  assert table2[-len(rows) :] == rows
  rows = rows + table2
  truth = synthetic.load_ground_truth(workdir / "mecg_raw")
  assert len(truth["subjects"]) == synthetic.preset("tiny").num_subjects
  micro = sum(
    e["kind"] == "micro" for s in truth["subjects"] for t in s["trials"] for e in t["expressions"]
  )
  assert all(r["tp"] + r["fn"] == micro for r in rows)
  assert json.loads((workdir / "timings.json").read_text())["seconds"].keys() == {
    "synthesize", "build", "loso", "report"
  }  # fmt: skip
  for name in ("eta_sweep.png", "per_subject_precision.png", "planted.md"):
    assert (workdir / "results" / name).stat().st_size > 0


def test_smoke_demo_refuses_overrides_of_its_implicit_config():
  result = subprocess.run(
    [sys.executable, "-m", "experiments.demo", "--smoke", "--config.seed=3"],
    capture_output=True,
    text=True,
    cwd=Path(__file__).resolve().parents[1],
  )
  assert result.returncode != 0
  assert "loso_synthetic.py:runlocal" in result.stderr


def test_a_spotter_entry_overrides_the_model_fine_tuning_and_sampling_for_itself():
  config = loso_synthetic.get_config("runlocal")
  config.spotters.both.finetune = {"anchor_weight": 0.3, "steps": 7}
  config.spotters.both.encoder = {"depth": 2}
  config.spotters.both.heads = {"classifier_ecg_features": True}
  config.spotters.both.sampling = {"moving_fraction": 0.75}
  fold = Fold("s1", "s2+s3", builder=None, workdir=None, cache_dir=None)
  both = methods.make_spotter("both", config).training_config(fold)
  assert (both.finetune.anchor_weight, both.finetune.steps, both.model.encoder.depth) == (0.3, 7, 2)
  assert both.model.heads.classifier_ecg_features
  assert both.data.sampling.moving_fraction == 0.75
  assert both.data.sampling.heart_fraction == config.data.sampling.heart_fraction
  assert both.finetune.init_from == "streams" and both.model.encoder.modality == "both"
  video = methods.make_spotter("video", config).training_config(fold)
  assert (video.finetune.anchor_weight, video.finetune.steps) == (0.0, config.finetune.steps)
  assert video.model.encoder.depth == config.model.encoder.depth
  assert "classifier_ecg_features" not in video.model.heads
  assert video.data.sampling.moving_fraction == config.data.sampling.moving_fraction


def test_average_with_must_name_a_cmcl_net_spotter_run_before():
  config = loso_synthetic.get_config("runlocal")
  assert methods.make_spotter("both", config).average_with == ""
  config.spotters.both.average_with = "mdmd"
  with pytest.raises(ValueError, match="average_with='mdmd': expected the name of another"):
    methods.make_spotter("both", config)
  config.spotters.both.average_with = "both"
  with pytest.raises(ValueError, match="expected the name of another CMCL-Net"):
    methods.make_spotter("both", config)
  config.spotters.both.average_with = "video"
  config.spotters.both.start_from = {}
  config.loso.spotters = ("both", "video")
  with pytest.raises(ValueError, match="list 'video' before 'both'"):
    methods.make_spotter("both", config)
