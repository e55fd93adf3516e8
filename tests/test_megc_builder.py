"""The `megc` TFDS builder: real builds of the tiny configs on the synthetic stand-ins."""

import json
from pathlib import Path

import numpy as np
import pytest
import tensorflow_datasets as tfds
from tensorflow_datasets.proto import tf_example_pb2

from cmcl_jax.data import trials, windows
from cmcl_jax.data.datasets import AnnotationFileError, video_windows
from cmcl_jax.data.synthetic import megc_layouts
from data_builders.megc import megc_dataset_builder

CONFIGS = {c.name: c for c in megc_dataset_builder.Builder.BUILDER_CONFIGS}


def _build(raw, out, config="tiny", **kwargs):
  builder = megc_dataset_builder.Builder(config=config, data_dir=str(out), num_workers=1, **kwargs)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(raw)))
  return builder


def _raw(tmp_path_factory, dataset):
  root = tmp_path_factory.mktemp(f"{dataset}_raw")
  truth = megc_layouts.generate(root, dataset, megc_layouts.preset(dataset, "tiny"), progress=False)
  return root, truth


def _planted(truth):
  """Trial id → the planted expressions as `windows.Interval`s (row unknown: -1)."""
  return {
    video_windows.trial_id(video_windows.split_name(v["subject"]), v["video"]): [
      windows.Interval(e["onset_frame"], e["apex_frame"], e["offset_frame"], e["kind"], "", -1)
      for e in v["expressions"]
    ]
    for v in truth["videos"]
  }


def _check_build(builder, truth, target):
  """Split sizes, labels and per-video files against the planted ground truth."""
  spec = CONFIGS[builder.builder_config.name].windows.spec(truth["config"]["fps"])
  expected = {}
  for v in truth["videos"]:
    split = video_windows.split_name(v["subject"])
    n = (v["num_frames"] - spec.window_frames) // spec.stride_frames + 1
    expected[split] = expected.get(split, 0) + n
  assert {s: split.num_examples for s, split in builder.info.splits.items()} == expected

  planted = _planted(truth)
  split = "+".join(sorted(builder.info.splits.keys()))
  source = builder.as_data_source(split=split)
  infos = trials.load_trials(builder, split)
  positives = 0
  for info in infos:
    assert info.fps == truth["config"]["fps"] and info.mean_hrs_bpm_per_s is None
    assert np.isnan(info.hrs_bpm_per_s).all() and not info.hr_quality.any()
    assert [(e.onset, e.kind) for e in info.expressions] == [
      (e.onset, e.kind) for e in sorted(planted[info.trial], key=lambda e: e.onset)
    ]
    for k, start in enumerate(info.window_starts):
      example = source[info.first_index + k]
      assert example["trial"].decode() == info.trial and example["start_frame"] == start
      want = video_windows.label_window(
        int(start), int(start) + spec.window_frames, planted[info.trial], spec, target
      )
      assert (example["label"], windows.KINDS[example["kind"]]) == (want.label, want.kind)
      assert info.window_label[k] == want.label
      if want.label:
        assert want.kind == target
      positives += want.label
  assert example["flow"].shape == (4, 16, 16, 2) and example["flow"].dtype == np.float16
  stored = tf_example_pb2.Example.FromString(source.data_source[len(source) - 1])
  assert stored.features.feature["flow"].WhichOneof("kind") == "bytes_list"  # not a float list
  assert positives > 0
  report = json.loads((Path(builder.data_dir) / "build_report.json").read_text())
  assert report["totals"]["me_windows"] == positives
  assert report["dataset"] == truth["dataset"]
  assert {e["status"] for e in report["expressions"]} <= {"used", "no_me_window"}


@pytest.mark.parametrize("dataset", ["casme2", "samm_lv", "casme3"])
def test_tiny_builds_every_dataset_with_the_planted_labels(dataset, tmp_path_factory):
  raw, truth = _raw(tmp_path_factory, dataset)
  builder = _build(raw, tmp_path_factory.mktemp("tfds"))
  assert builder.info.features["label"].names == ["other", "micro"]
  _check_build(builder, truth, "micro")


def test_macro_windows_label_macro_expressions(tmp_path_factory):
  raw, truth = _raw(tmp_path_factory, "casme2")
  builder = _build(raw, tmp_path_factory.mktemp("tfds"), config="tiny_macro")
  assert builder.info.features["label"].names == ["other", "macro"]
  spec = CONFIGS["tiny_macro"].windows.spec(30.0)
  assert (spec.window_frames, spec.stride_frames) == (60, 8)  # 2 s, 0.25 s at 30 fps
  _check_build(builder, truth, "macro")


def test_geometry_is_in_seconds_at_the_dataset_fps():
  micro, macro = CONFIGS["samm_lv"].windows, CONFIGS["samm_lv_macro"].windows
  assert (micro.spec(200.0).window_frames, micro.spec(200.0).stride_frames) == (100, 20)
  assert (micro.spec(30.0).window_frames, micro.spec(30.0).stride_frames) == (15, 3)
  assert macro.spec(200.0).window_frames == 400
  with pytest.raises(ValueError, match="window_s=0.1 at 30 fps is 3 frames; flow_frames=8"):
    video_windows.VideoWindows(window_s=0.1, stride_s=0.1).spec(30.0)


def test_a_bad_video_is_skipped_and_reported(tmp_path_factory):
  raw, truth = _raw(tmp_path_factory, "casme2")
  folder = raw / truth["videos"][0]["folder"]
  (folder / "img100.jpg").write_bytes(b"not a jpeg")  # mid-video: found by the second pass
  fps_folder = raw / truth["videos"][3]["folder"]
  (fps_folder / "fps.txt").write_text("25")  # found by discovery
  builder = _build(raw, tmp_path_factory.mktemp("tfds"))
  report = json.loads((Path(builder.data_dir) / "build_report.json").read_text())
  assert report["skipped_by_reason"] == {"video_unreadable": 1}
  (bad,) = [t for t in report["trials"] if t["status"] == "skipped"]
  assert bad["video"] == truth["videos"][0]["video"] and "img100.jpg" in bad["message"]
  assert [p["code"] for p in report["layout_problems"]] == ["fps_mismatch"]
  skipped = {e["reason"] for e in report["expressions"] if e["status"] == "skipped"}
  assert skipped == {"video_unreadable", "fps_mismatch"}
  assert report["totals"]["trials_used"] == 2
  assert sorted(builder.info.splits.keys()) == ["s15", "s16"]
  assert "video_unreadable" in (Path(builder.data_dir) / "build_report.md").read_text()


def test_another_datasets_layout_is_refused_naming_it(tmp_path_factory):
  raw, _ = _raw(tmp_path_factory, "samm_lv")
  with pytest.raises(AnnotationFileError, match="looks like a SAMM-LV file"):
    _build(raw, tmp_path_factory.mktemp("tfds"), config="casme2")


def test_split_names_are_what_tfds_allows():
  assert video_windows.split_name("spNO.1") == "spNO_1"
  assert video_windows.trial_id("spNO_1", "spNO.1/a") == "spNO_1/a"
  assert video_windows.trial_id("006", "006_1") == "006/006_1"
