"""The `mecg` TFDS builder: a real build of the tiny config on synthetic raw layouts."""

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.proto import tf_example_pb2

from cmcl_jax.data import pseudonyms, trials, windows
from data_builders.mecg import mecg_dataset_builder

SPEC = mecg_dataset_builder.Builder.BUILDER_CONFIGS[1].spec


def _build(raw, out, **kwargs):
  builder = mecg_dataset_builder.Builder(config="tiny", data_dir=str(out), **kwargs)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(raw)))
  return builder


@pytest.fixture(scope="module")
def built(tiny_raw, tmp_path_factory):
  """(builder, raw root, ground truth), built with a 2-process pool."""
  root, truth = tiny_raw
  return _build(root, tmp_path_factory.mktemp("mecg"), num_workers=2), root, truth


def _truth_trials(truth):
  for subject in truth["subjects"]:
    for trial in subject["trials"]:
      yield subject["subject"], trial


def test_splits_are_subjects_with_the_predicted_window_counts(built):
  builder, root, truth = built
  ids = pseudonyms.Pseudonyms.load_or_create(root, [s["subject"] for s in truth["subjects"]])
  expected = {}
  for subject, trial in _truth_trials(truth):
    n = (trial["num_frames"] - SPEC.window_frames) // SPEC.stride_frames + 1
    expected[ids[subject]] = expected.get(ids[subject], 0) + n
  assert {name: split.num_examples for name, split in builder.info.splits.items()} == expected
  assert builder.info.file_format.value == "array_record"


def test_labels_follow_the_policy_on_the_planted_expressions(built):
  builder, root, truth = built
  ids = pseudonyms.Pseudonyms.load_or_create(root, [s["subject"] for s in truth["subjects"]])
  planted = {}
  for subject, trial in _truth_trials(truth):
    planted[f"{ids[subject]}/{trial['marker']}"] = [
      windows.Interval(
        e["onset_frame"], e["apex_frame"], e["offset_frame"], e["kind"], e["emotion"], -1
      )
      for e in trial["expressions"]
    ]
  split = "+".join(builder.info.splits.keys())
  source = builder.as_data_source(split=split)
  positives = 0
  for i in range(len(source)):
    record = source[i]
    trial_id = record["trial"].decode()
    start, stop = int(record["start_frame"]), int(record["end_frame"])
    expected = windows.label_window(start, stop, planted[trial_id], SPEC)
    assert (record["label"], windows.KINDS[record["kind"]]) == (expected.label, expected.kind)
    assert record["apex_frame"] == expected.apex_frame
    positives += expected.label
    if record["label"]:  # an ME window holds the apex of a planted ME
      assert any(e.kind == "micro" and start <= e.apex < stop for e in planted[trial_id])
  assert positives > 0
  assert record["flow"].shape == (SPEC.flow_frames, SPEC.flow_size, SPEC.flow_size, 2)
  assert record["flow"].dtype == np.float16 and record["ecg"].shape == (64,)


def test_every_micro_expression_gives_me_windows(built):
  builder, _, truth = built
  report = json.loads((Path(builder.data_dir) / "build_report.json").read_text())
  micro = [e for e in report["expressions"] if e["kind"] == "micro"]
  assert len(micro) == sum(
    e["kind"] == "micro" for _, t in _truth_trials(truth) for e in t["expressions"]
  )
  for e in micro:  # the synthetic MEs all lie well inside their 10 s trials
    assert e["status"] == "used" and e["me_windows"] >= 1, e
  assert report["totals"]["trials_skipped"] == 0


def test_trial_records_match_the_dataset_order(built):
  builder, _, _ = built
  split = "+".join(builder.info.splits.keys())
  infos = trials.load_trials(builder, split)
  source = builder.as_data_source(split=split)
  assert sum(t.num_windows for t in infos) == len(source)
  for info in infos:
    first, last = source[info.first_index], source[info.first_index + info.num_windows - 1]
    assert first["trial"].decode() == info.trial == last["trial"].decode()
    assert (first["start_frame"], last["start_frame"]) == tuple(info.window_starts[[0, -1]])
    assert info.hrs_bpm_per_s.shape == (info.frame_count,)
    assert info.mean_hrs_bpm_per_s > 0


def test_array_features_are_stored_as_raw_bytes(built):
  """flow, ECG, features, HR and HRS are bytes in the stored example (a float list
  is ~6x slower to read) and come back with the dtype and shape the builder declares."""
  builder, _, _ = built
  split = next(iter(builder.info.splits.keys()))
  source = builder.as_data_source(split=split)
  example = tf_example_pb2.Example.FromString(source.data_source[0]).features.feature
  record = source[0]
  arrays = ("flow", "ecg", "ecg_features", "hr_bpm", "hrs_bpm_per_s")
  for name in arrays:
    assert example[name].WhichOneof("kind") == "bytes_list", name
    declared = builder.info.features[name]
    assert record[name].dtype == declared.np_dtype and record[name].shape == declared.shape, name
    stored_values = np.frombuffer(example[name].bytes_list.value[0], declared.np_dtype)
    np.testing.assert_array_equal(stored_values.reshape(declared.shape), record[name])
  assert record["flow"].dtype == np.float16


def test_no_subject_name_anywhere_in_the_dataset(built):
  builder, root, truth = built
  names = [s["subject"].encode() for s in truth["subjects"]]
  for path in Path(builder.data_dir).rglob("*"):
    if path.is_file():
      data = path.read_bytes()
      assert not any(name in data for name in names), path
  mapping = json.loads((Path(root) / pseudonyms.MAPPING_FILE).read_text())
  assert set(mapping["subjects"]) == {s["subject"] for s in truth["subjects"]}
  assert set(builder.info.splits.keys()) == set(mapping["subjects"].values())


def test_broken_layout_is_reported_with_reasons(tiny_raw, tmp_path):
  root, truth = tiny_raw
  raw = tmp_path / "raw"
  shutil.copytree(root, raw, ignore=shutil.ignore_patterns(pseudonyms.MAPPING_FILE))
  first = truth["subjects"][0]
  lost_video = raw / first["trials"][0]["video"]
  lost_video.unlink()
  second = truth["subjects"][1]
  (raw / second["ecg"]).unlink()
  builder = _build(raw, tmp_path / "out", num_workers=1)
  report = json.loads((Path(builder.data_dir) / "build_report.json").read_text())
  ids = pseudonyms.Pseudonyms.load_or_create(raw, [s["subject"] for s in truth["subjects"]])

  assert report["skipped_by_reason"] == {"ecg_missing": 2}
  skipped = {t["trial"] for t in report["trials"] if t["status"] == "skipped"}
  assert skipped == {f"{ids[second['subject']]}/{t['marker']}" for t in second["trials"]}
  assert ids[second["subject"]] not in builder.info.splits
  problems = {p["code"] for p in report["layout_problems"]}
  assert {"video_missing", "ecg_missing"} <= problems
  by_reason = {}
  for e in report["expressions"]:
    by_reason.setdefault(e.get("reason"), 0)
    by_reason[e.get("reason")] += 1
  assert by_reason.get("video_missing", 0) == len(first["trials"][0]["expressions"])
  assert by_reason.get("ecg_missing", 0) == sum(len(t["expressions"]) for t in second["trials"])
  markdown = (Path(builder.data_dir) / "build_report.md").read_text()
  assert "ecg_missing" in markdown and "video_missing" in markdown
  assert first["subject"] not in markdown and str(raw) not in markdown


def test_beam_direct_runner_gives_the_same_examples(built, tmp_path):
  import apache_beam as beam  # the `test` extra installs it: the cluster path runs in CI

  builder, root, _ = built
  beam_builder = mecg_dataset_builder.Builder(config="tiny", data_dir=str(tmp_path))
  beam_builder.download_and_prepare(
    download_config=tfds.download.DownloadConfig(
      manual_dir=str(root),
      beam_options=beam.options.pipeline_options.PipelineOptions(runner="DirectRunner"),
    )
  )
  split = "+".join(builder.info.splits.keys())
  local, distributed = builder.as_data_source(split=split), beam_builder.as_data_source(split=split)
  assert len(local) == len(distributed)
  for i in (0, len(local) // 2, len(local) - 1):
    a, b = local[i], distributed[i]
    assert a["trial"] == b["trial"] and a["start_frame"] == b["start_frame"]
    np.testing.assert_array_equal(a["flow"], b["flow"])
  assert (Path(beam_builder.data_dir) / "build_report.json").exists()
