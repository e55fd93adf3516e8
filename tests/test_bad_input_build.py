"""Bad trials in a `mecg` build are skipped, counted and named; they never abort the others.

A small synthetic layout (3 subjects × 2 trials × 4 s, CSV session ECG) is corrupted in
a copy: a text cell in one subject's session ECG (none of its trials can be cut), a
second lead in another's, a frame of another size or an unreadable frame in a frame
folder. The builds are real (TFDS, array_record, process pool or Beam's DirectRunner).
"""

import dataclasses
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest
import tensorflow_datasets as tfds

from cmcl_jax.data import build_trials
from cmcl_jax.data import layout
from cmcl_jax.data import pseudonyms
from cmcl_jax.data import synthetic
from cmcl_jax.data import trials
from cmcl_jax.data import video_io
from cmcl_jax.data import window_examples
from data_builders.mecg import mecg_dataset_builder

SPEC = mecg_dataset_builder.Builder.BUILDER_CONFIGS[1].spec
WINDOWS_PER_TRIAL = (600 - SPEC.window_frames) // SPEC.stride_frames + 1  # 4 s at 150 fps


@pytest.fixture(scope="module")
def small_raw(tmp_path_factory):
  """(root, ground truth): 3 subjects × 2 trials × 4 s, session ECG as CSV."""
  root = tmp_path_factory.mktemp("small_raw")
  config = synthetic.preset(
    "tiny",
    trial_seconds=4.0,
    rest_seconds=2.0,
    micro_per_trial=1.0,
    macro_per_trial=0.0,
    ecg_format="csv",
  )
  return root, synthetic.generate(root, config, seed=0, progress=False)


def _copy(small_raw, tmp_path):
  root, truth = small_raw
  raw = tmp_path / "raw"
  shutil.copytree(root, raw, ignore=shutil.ignore_patterns(pseudonyms.MAPPING_FILE))
  ids = pseudonyms.Pseudonyms.load_or_create(raw, [s["subject"] for s in truth["subjects"]])
  return raw, truth["subjects"], ids


def _text_cell(csv, row=501):
  """Writes 'abc' into the ECG column of spreadsheet row `row` (header = row 1)."""
  lines = csv.read_text().splitlines()
  cells = lines[row - 1].split(",")
  cells[1] = "abc"
  lines[row - 1] = ",".join(cells)
  csv.write_text("\n".join(lines) + "\n")


def _to_frame_folder(video, broken=None, resized=None):
  """Replaces `video` by a frame folder; frame `broken` garbage, frame `resized` 80×80."""
  folder = video.with_suffix("")
  folder.mkdir()
  for index, frame in enumerate(video_io.iter_frames(video)):
    if index == resized:
      frame = cv2.resize(frame, (80, 80))
    cv2.imwrite(str(folder / f"{index:05d}.png"), frame)
  if broken is not None:
    (folder / f"{broken:05d}.png").write_bytes(b"not a png")
  (folder / video_io.FPS_FILE).write_text("150")
  video.unlink()


def _build(raw, out, beam=False, **kwargs):
  builder = mecg_dataset_builder.Builder(config="tiny", data_dir=str(out), **kwargs)
  options = {}
  if beam:
    import apache_beam  # the `test` extra installs it: the cluster path runs in CI

    options["beam_options"] = apache_beam.options.pipeline_options.PipelineOptions(
      runner="DirectRunner"
    )
  builder.download_and_prepare(
    download_config=tfds.download.DownloadConfig(manual_dir=str(raw), **options)
  )
  return builder


@pytest.fixture(scope="module")
def corrupted(small_raw, tmp_path_factory):
  """A layout with subject 0's session ECG unreadable and subject 1's first video
  changing frame size at frame 200, built with a 2-process pool."""
  raw, subjects, ids = _copy(small_raw, tmp_path_factory.mktemp("corrupted"))
  _text_cell(raw / subjects[0]["ecg"])
  _to_frame_folder(raw / subjects[1]["trials"][0]["video"], resized=200)
  builder = _build(raw, raw.parent / "out", num_workers=2)
  return builder, raw, subjects, ids


def test_bad_trials_are_skipped_named_and_counted_and_the_rest_is_built(corrupted):
  builder, _, subjects, ids = corrupted
  left_out, partial, intact = (ids[s["subject"]] for s in subjects)
  splits = {name: split.num_examples for name, split in builder.info.splits.items()}
  assert splits == {partial: WINDOWS_PER_TRIAL, intact: 2 * WINDOWS_PER_TRIAL}

  report = json.loads((Path(builder.data_dir) / "build_report.json").read_text())
  assert report["skipped_by_reason"] == {"ecg_unreadable": 2, "video_unreadable": 1}
  assert report["totals"]["trials_skipped"] == 3 and report["totals"]["trials_used"] == 3
  resized = f"{partial}/{subjects[1]['trials'][0]['marker']}"
  (skip,) = [t for t in report["trials"] if t["trial"] == resized]
  assert skip["status"] == "skipped" and skip["reason"] == "video_unreadable"
  assert "frame 200 (00200.png) is 80×80 pixels" in skip["message"]
  assert skip["video"] in skip["message"]  # names the folder
  index = json.loads((Path(builder.data_dir) / trials.TRIALS_INDEX).read_text())["splits"]
  assert [t.split("/")[0] for t in index[partial]] == [partial]


def test_a_subject_without_a_usable_trial_is_left_out_with_each_reason(corrupted):
  builder, _, subjects, ids = corrupted
  report = json.loads((Path(builder.data_dir) / "build_report.json").read_text())
  left_out = ids[subjects[0]["subject"]]
  assert report["totals"]["subjects_found"] == 3
  assert report["totals"]["subjects_left_out"] == 1
  (entry,) = report["subjects_left_out"]
  assert entry["subject"] == left_out
  assert [t["trial"] for t in entry["trials"]] == sorted(
    f"{left_out}/{t['marker']}" for t in subjects[0]["trials"]
  )
  for trial in entry["trials"]:
    assert trial["reason"] == "ecg_unreadable"
    assert "row 501, column 'ecg_mv': 'abc' is not a number" in trial["message"]
    assert f"<manual_dir>/ecg/{left_out}_" in trial["message"]  # the file, pseudonymised
  markdown = (Path(builder.data_dir) / "build_report.md").read_text()
  section = markdown.split("## Subjects left out")[1].split("##")[0]
  assert left_out in section and section.count("ecg_unreadable") == 2
  assert subjects[0]["subject"] not in markdown


def test_beam_gives_the_same_dataset_and_report_on_bad_trials(corrupted, tmp_path):
  builder, raw, _, _ = corrupted
  beam_builder = _build(raw, tmp_path, beam=True)
  assert beam_builder.info.splits.keys() == builder.info.splits.keys()
  split = "+".join(builder.info.splits.keys())
  local, distributed = builder.as_data_source(split=split), beam_builder.as_data_source(split=split)
  assert len(local) == len(distributed)
  for i in (0, len(local) - 1):
    assert local[i]["trial"] == distributed[i]["trial"]
    np.testing.assert_array_equal(local[i]["flow"], distributed[i]["flow"])
  reports = [
    json.loads((Path(b.data_dir) / "build_report.json").read_text())
    for b in (builder, beam_builder)
  ]
  for key in ("skipped_by_reason", "subjects_left_out", "totals"):
    assert reports[0][key] == reports[1][key], key


def test_a_second_lead_leaves_only_that_subject_out(small_raw, tmp_path):
  raw, subjects, ids = _copy(small_raw, tmp_path)
  csv = raw / subjects[2]["ecg"]
  columns = np.genfromtxt(csv, delimiter=",", names=True)
  ecg = np.stack([columns["ecg_mv"]] * 2, axis=1)
  np.savez(csv.with_suffix(".npz"), ecg=ecg, marker=columns["marker"], sampling_rate=1000.0)
  csv.unlink()
  builder = _build(raw, tmp_path / "out", num_workers=1)
  report = json.loads((Path(builder.data_dir) / "build_report.json").read_text())
  (entry,) = report["subjects_left_out"]
  assert entry["subject"] == ids[subjects[2]["subject"]]
  assert all("2 leads?" in t["message"] for t in entry["trials"])
  assert set(builder.info.splits.keys()) == {ids[s["subject"]] for s in subjects[:2]}


def test_no_usable_trial_at_all_fails_up_front_naming_each_trial(small_raw, tmp_path):
  raw, subjects, ids = _copy(small_raw, tmp_path)
  for subject in subjects:
    _text_cell(raw / subject["ecg"], row=1000)
  builder = mecg_dataset_builder.Builder(config="tiny", data_dir=str(tmp_path), num_workers=1)
  with pytest.raises(ValueError, match="no trial passed the reading checks") as error:
    builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(raw)))
  message = str(error.value)
  assert message.count("ecg_unreadable") == 6 and message.count("row 1000") == 6
  for subject in subjects:
    for trial in subject["trials"]:
      assert f"{ids[subject['subject']]}/{trial['marker']}" in message
    assert subject["subject"] not in message  # pseudonymised, as the records


def test_a_subject_whose_every_video_breaks_late_ends_the_build_naming_each(small_raw, tmp_path):
  raw, subjects, ids = _copy(small_raw, tmp_path)
  for trial in subjects[1]["trials"]:  # passes the reading checks, fails on decoding
    _to_frame_folder(raw / trial["video"], broken=300)
  subject = ids[subjects[1]["subject"]]
  with pytest.raises(ValueError, match=f"split {subject}: every trial") as error:
    _build(raw, tmp_path / "out", num_workers=1)
  message = str(error.value)
  assert message.count("frame 300: image is unreadable or corrupt") == 2
  for trial in subjects[1]["trials"]:
    assert f"{subject}/{trial['marker']}" in message


def test_an_unexpected_error_in_one_trial_is_recorded_not_raised(small_raw, tmp_path):
  root, _ = small_raw
  trial = layout.discover(root).trials[0]
  info = video_io.video_info(trial.video)
  spec = dataclasses.replace(SPEC, flow_method="optical-magic")  # FlowEstimator refuses it
  task = window_examples.TrialTask(trial, "s/101", "s", info.frame_count, info.fps, spec)
  assert build_trials.check_trials([task], str(tmp_path)) == [True]  # no flow in pass 1
  assert build_trials.run_trial(task, str(tmp_path)) == []
  record = trials.read_records(tmp_path)["s/101"]
  assert record["status"] == "skipped" and record["reason"] == build_trials.TRIAL_ERROR
  assert "ValueError: method: expected one of" in record["message"]
  assert str(trial.video) in record["message"] and "flow.py" in record["message"]


def test_a_trial_at_another_frame_rate_is_skipped_naming_both_rates(small_raw, tmp_path):
  raw, subjects, ids = _copy(small_raw, tmp_path)
  video = raw / subjects[2]["trials"][1]["video"]
  _to_frame_folder(video)
  (video.with_suffix("") / video_io.FPS_FILE).write_text("30")
  builder = _build(raw, tmp_path / "out", num_workers=1)
  report = json.loads((Path(builder.data_dir) / "build_report.json").read_text())
  assert report["skipped_by_reason"] == {build_trials.FPS_MISMATCH: 1}
  (skip,) = [t for t in report["trials"] if t["status"] == "skipped"]
  assert skip["trial"] == f"{ids[subjects[2]['subject']]}/{subjects[2]['trials'][1]['marker']}"
  assert "30 fps, but the dataset's other trials are at 150 fps" in skip["message"]
  assert builder.info.splits[ids[subjects[2]["subject"]]].num_examples == WINDOWS_PER_TRIAL
