"""Raw layout discovery, ECG recordings and per-trial ECG cutting."""

import shutil

import numpy as np
import pytest

from cmcl_jax.data import ecg_io
from cmcl_jax.data import layout
from cmcl_jax.data import trial_ecg
from cmcl_jax.data import video_io


def test_discovers_every_planted_trial_and_expression(tiny_raw):
  root, truth = tiny_raw
  raw = layout.discover(root)
  assert raw.problems == ()
  assert raw.subjects == tuple(s["subject"] for s in truth["subjects"])
  planted = {t["video"].split("/")[-1][:-4]: t for s in truth["subjects"] for t in s["trials"]}
  assert {t.name for t in raw.trials} == set(planted)
  for trial in raw.trials:
    expected = planted[trial.name]["expressions"]
    assert [(e.kind, e.frames(150.0)) for e in trial.expressions] == [
      (e["kind"], (e["onset_frame"], e["apex_frame"], e["offset_frame"])) for e in expected
    ]
    assert trial.marker == planted[trial.name]["marker"] and not trial.ecg_is_per_trial


def test_trial_ecg_starts_at_the_marker(tiny_raw):
  root, truth = tiny_raw
  raw = layout.discover(root)
  subject = truth["subjects"][0]
  trial = raw.trials_of(subject["subject"])[1]
  start = next(t["start_in_recording_s"] for t in subject["trials"] if t["marker"] == trial.marker)
  info = video_io.video_info(trial.video)
  cut = trial_ecg.read_trial_ecg(trial, info.duration_s, pad_s=1.0, expected_rate=1000.0)
  assert cut.start_s == pytest.approx(-1.0)
  assert len(cut.ecg) == round((info.duration_s + 2.0) * 1000)
  recording = ecg_io.read_recording(trial.ecg)
  first = round((start - 1.0) * 1000)
  np.testing.assert_array_equal(cut.ecg, recording.ecg[first : first + len(cut.ecg)])
  assert cut.problems == ()


def _copy_layout(tiny_raw, tmp_path):
  root, _ = tiny_raw
  copy = tmp_path / "raw"
  shutil.copytree(root, copy)
  return copy


def test_missing_video_and_ecg_are_reported_not_dropped(tiny_raw, tmp_path):
  root = _copy_layout(tiny_raw, tmp_path)
  victim = sorted((root / "videos" / "subj01").glob("*.avi"))[0]
  rows = len(layout.discover(root).trials_of("subj01")[0].expressions)
  victim.unlink()
  next((root / "ecg").glob("subj02_*")).unlink()
  (root / "videos" / "holiday.avi").write_bytes(b"")
  raw = layout.discover(root)
  codes = [p.code for p in raw.problems]
  assert codes.count("video_missing") == rows
  assert codes.count("ecg_missing") == 2
  assert codes.count("unrecognised_video_name") == 1
  assert all(p.subject == "subj01" for p in raw.problems if p.code == "video_missing")
  assert len(raw.trials) == 5


def test_marker_missing_and_short_ecg_are_clear_errors(tiny_raw, tmp_path):
  root = _copy_layout(tiny_raw, tmp_path)
  raw = layout.discover(root)
  trial = raw.trials_of("subj03")[0]
  recording = ecg_io.read_recording(trial.ecg)
  marker = recording.marker.copy()
  marker[marker == trial.marker] = 0
  ecg_io.write_recording(trial.ecg, ecg_io.EcgRecording(recording.ecg, marker, 1000.0))
  trial_ecg._recording.cache_clear()
  with pytest.raises(
    trial_ecg.TrialEcgError, match=rf"marker {trial.marker}.*{trial.name}"
  ) as error:
    trial_ecg.read_trial_ecg(trial, 10.0)
  assert error.value.code == "marker_missing"
  later = raw.trials_of("subj03")[1]
  with pytest.raises(trial_ecg.TrialEcgError, match="before the end of trial") as error:
    trial_ecg.read_trial_ecg(later, 600.0)
  assert error.value.code == "ecg_too_short"


def test_per_trial_csv_ecg_with_artefacts_and_rate_mismatch(tiny_raw, tmp_path):
  root = _copy_layout(tiny_raw, tmp_path)
  trial = layout.discover(root).trials_of("subj01")[0]
  segment = ecg_io.read_recording(trial.ecg).ecg[5000:17000].copy()
  segment[2000:2600] = np.nan
  segment[6000:8000] = segment[6000]
  ecg_io.write_recording(
    trial.video.with_suffix(".csv"), ecg_io.EcgRecording(segment[::2], None, 500.0)
  )
  trial = layout.discover(root).trials_of("subj01")[0]
  assert trial.ecg_is_per_trial and trial.ecg.suffix == ".csv"
  cut = trial_ecg.read_trial_ecg(trial, 10.0, pad_s=1.0, expected_rate=1000.0)
  assert cut.start_s == 0.0 and cut.sampling_rate == pytest.approx(500.0)
  codes = {p.code: p.message for p in cut.problems}
  assert set(codes) >= {"sampling_rate_mismatch", "ecg_nan", "ecg_flat"}
  assert "2.000 s" in codes["ecg_nan"]


def test_bad_files_name_file_and_field(tmp_path):
  with pytest.raises(layout.LayoutError, match="coding file"):
    layout.discover(tmp_path)
  bad = tmp_path / "bad.npz"
  np.savez(bad, ecg=np.zeros(10))
  with pytest.raises(ecg_io.EcgFileError, match=r"bad\.npz.*sampling_rate"):
    ecg_io.read_recording(bad)
  irregular = tmp_path / "irregular.csv"
  irregular.write_text("time_s,ecg_mv\n0,0\n0.001,0\n0.002,0\n0.005,0\n")
  with pytest.raises(ecg_io.EcgFileError, match=r"irregular\.csv.*time_s.*row 5"):
    ecg_io.read_recording(irregular)
  corrupt = tmp_path / "corrupt.npz"
  corrupt.write_bytes(b"PK nonsense")
  with pytest.raises(ecg_io.EcgFileError, match=r"corrupt\.npz: unreadable"):
    ecg_io.read_recording(corrupt)
