"""Synthetic CAS(ME)², SAMM-LV and CAS(ME)³ stand-ins (cmcl_jax.data.synthetic.megc_layouts).

Each is written in its released layout, read back by the annotation readers and the
layout discovery, and compared with the ground truth it planted: both kinds of
expression, 0-based frames. Real OpenCV JPEG writing and reading throughout.
"""

import json
import re
import subprocess
import sys

import cv2
import pytest

from cmcl_jax.data.datasets import layouts, read_annotations, sheets
from cmcl_jax.data.synthetic import megc_layouts

DATASETS = ("casme2", "samm_lv", "casme3")


@pytest.fixture(scope="module", params=DATASETS)
def written(request, tmp_path_factory):
  """(dataset, root, ground truth) of the tiny preset, seed 0."""
  dataset = request.param
  root = tmp_path_factory.mktemp(dataset)
  config = megc_layouts.preset(dataset, "tiny")
  return dataset, root, megc_layouts.generate(root, dataset, config, seed=0, progress=False)


def _planted(truth):
  return {
    v["video"]: sorted(
      (e["kind"], (e["onset_frame"], e["apex_frame"], e["offset_frame"])) for e in v["expressions"]
    )
    for v in truth["videos"]
  }


def test_round_trip_gives_back_what_was_planted(written):
  dataset, root, truth = written
  raw = layouts.discover(root, dataset)
  assert raw.problems == () and raw.findings == ()
  found = {t.video: sorted((e.kind, e.frames()) for e in t.expressions) for t in raw.trials}
  assert found == _planted(truth)
  kinds = {kind for rows in found.values() for kind, _ in rows}
  assert kinds == {"micro", "macro"}
  for trial, video in zip(raw.trials, sorted(truth["videos"], key=lambda v: v["video"])):
    assert (trial.subject, trial.frame_count, trial.fps) == (
      video["subject"],
      video["num_frames"],
      megc_layouts.FORMATS[dataset].fps,
    )
    assert trial.folder == root / video["folder"]
    assert len(trial.frames("micro")) + len(trial.frames("macro")) == len(trial.frames())
  assert json.loads((root / "ground_truth.json").read_text()) == truth


def test_layout_is_the_released_one(written):
  dataset, root, truth = written
  spec = megc_layouts.FORMATS[dataset]
  annotation = root / truth["annotation_file"]
  assert sheets.identify(sheets.load_sheets(annotation)) == dataset
  notes = read_annotations(annotation, dataset)
  assert notes.fps == spec.fps and notes.skipped_rows == ()
  first = root / truth["videos"][0]["folder"]
  names = sorted(p.name for p in first.iterdir())
  expected_first = {
    "casme2": "img001.jpg",
    "samm_lv": f"{first.name}_0001.jpg",
    "casme3": "1.jpg",
  }[dataset]
  assert expected_first in names and len(names) == truth["videos"][0]["num_frames"]
  image = cv2.imread(str(first / expected_first), cv2.IMREAD_UNCHANGED)
  height, width = spec.frame_size
  assert abs(image.shape[1] / image.shape[0] - width / height) < 0.01 * width / height
  assert (image.ndim == 3) == spec.colour  # SAMM-LV's camera records grey frames.
  relative = first.relative_to(root).as_posix()
  pattern = {
    "casme2": r"rawpic/s\d+/\d+_\d{4}[a-z]+",
    "samm_lv": r"SAMM_longvideos/\d{3}_\d",
    "casme3": r"part_A/spNO\.\d+/[a-z]/color",
  }[dataset]
  assert re.fullmatch(pattern, relative), relative


def test_expressions_carry_aus_and_emotions(written):
  dataset, root, truth = written
  notes = read_annotations(root / truth["annotation_file"], dataset)
  planted = [e for v in truth["videos"] for e in v["expressions"]]
  assert sorted(e.action_units for e in notes.expressions) == sorted(
    e["action_units"] for e in planted
  )
  emotions = sorted(str(e.emotion) for e in notes.expressions)
  assert emotions == sorted(str(e["emotion"]) for e in planted)
  if dataset == "samm_lv":
    assert {e.emotion for e in notes.expressions} == {None}  # the file has no emotion
  if dataset == "casme2":  # clips are named <stem>_<k>, stems of the released clips
    stems = {e.name.rsplit("_", 1)[0] for e in notes.expressions}
    assert stems <= {stem for _, stem, _ in megc_layouts.megc_sheets.CASME2_CLIPS}


def test_config_must_keep_fps_aspect_and_video_count(tmp_path):
  with pytest.raises(ValueError, match=r"fps=150.*SAMM-LV.*200 fps"):
    megc_layouts.generate(tmp_path, "samm_lv", megc_layouts.preset("samm_lv", fps=150.0))
  with pytest.raises(ValueError, match=r"frame_width=128, frame_height=128.*640×480"):
    megc_layouts.generate(tmp_path, "casme2", megc_layouts.preset("casme2", frame_height=128))
  with pytest.raises(ValueError, match=r"trials_per_subject=10.*at most 9"):
    megc_layouts.generate(tmp_path, "casme2", megc_layouts.preset("casme2", trials_per_subject=10))
  with pytest.raises(ValueError, match=r"trial_seconds=4: expected ≥ 4.5 s"):
    megc_layouts.generate(tmp_path, "casme3", megc_layouts.preset("casme3", trial_seconds=4.0))
  with pytest.raises(ValueError, match="mecg.*synthetic.generate"):
    megc_layouts.preset("mecg")
  assert not any(tmp_path.iterdir())


def test_regenerating_replaces_only_its_own_frames(tmp_path):
  small = dict(num_subjects=1, trials_per_subject=1, trial_seconds=5.0)
  megc_layouts.generate(tmp_path, "casme3", megc_layouts.preset("casme3", **small), progress=False)
  stale = tmp_path / "part_A" / "spNO.9"
  stale.mkdir()
  megc_layouts.generate(tmp_path, "casme3", megc_layouts.preset("casme3", **small), progress=False)
  assert not stale.exists()
  foreign = tmp_path / "foreign"
  (foreign / "rawpic").mkdir(parents=True)
  with pytest.raises(FileExistsError, match="rawpic.*not written by"):
    megc_layouts.generate(foreign, "casme2", megc_layouts.preset("casme2", **small))


def test_command_line_writes_each_dataset(tmp_path):
  out = tmp_path / "samm"
  result = subprocess.run(
    [
      sys.executable,
      "-m",
      "experiments.synthesize",
      "--dataset=samm_lv",
      f"--out={out}",
      "--preset=tiny",
      "--set=num_subjects=1",
      "--set=trials_per_subject=1",
      "--set=trial_seconds=5",
    ],
    capture_output=True,
    text=True,
    timeout=120,
  )
  assert result.returncode == 0, result.stderr
  assert "wrote 1 subjects, 1 videos" in result.stdout
  raw = layouts.discover(out, "samm_lv")
  assert [t.frame_count for t in raw.trials] == [1000] and not (out / "ecg").exists()
