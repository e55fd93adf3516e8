"""Discovery of the released CAS(ME)², SAMM-LV and CAS(ME)³ layouts (cmcl_jax.data.datasets.layouts).

Each test writes a small synthetic layout (`megc_layouts`, 1 subject × 2 videos × 6 s),
breaks it the way real copies break (a lost frame, a truncated copy, a corrupt or
resized image, a missing or extra folder, a wrong fps, another dataset's
spreadsheet) and checks the problem: its code, and a message naming the folder,
file or spreadsheet row. The real CAS(ME)² and SAMM-LV spreadsheets are read from
``../shared/fixtures/megc_gt/`` where present.
"""

import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from cmcl_jax.data import video_io
from cmcl_jax.data.datasets import AnnotationFileError, layouts
from cmcl_jax.data.layout import LayoutError
from cmcl_jax.data.synthetic import megc_layouts

MEGC_GT = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "megc_gt"


def _write(root, dataset="casme2"):
  config = megc_layouts.preset(dataset, num_subjects=1, trials_per_subject=2, trial_seconds=6.0)
  truth = megc_layouts.generate(root, dataset, config, seed=0, progress=False)
  return truth, [root / v["folder"] for v in truth["videos"]]


def _one(raw, code):
  found = [p for p in raw.problems if p.code == code]
  assert len(found) == 1, raw.problems
  return found[0]


def _frames(folder):
  return [path for _, path in video_io.frame_files(folder)]


def _real(name):
  path = MEGC_GT / name
  if not path.is_file():
    pytest.skip(f"{path} not found (the shared fixtures are not checked out next to the project)")
  return path


def test_a_lost_frame_skips_the_video_and_names_the_gap(tmp_path):
  truth, folders = _write(tmp_path)
  (folders[0] / "img050.jpg").unlink()
  raw = layouts.discover(tmp_path, "casme2")
  problem = _one(raw, "frame_numbering_gap")
  assert problem.where == "rawpic/s15/15_0505funnyinnovations" and problem.subject == "s15"
  assert "1–180 have 1 missing (50)" in problem.message
  assert "video skipped with its 1 annotated expression(s)" in problem.message
  assert [t.video for t in raw.trials] == [truth["videos"][1]["video"]]


def test_frames_missing_at_the_end_keep_the_expression_and_name_the_row(tmp_path):
  truth, folders = _write(tmp_path)
  offset = truth["videos"][1]["expressions"][-1]["offset_frame"]  # 0-based
  for path in _frames(folders[1])[offset:]:
    path.unlink()
  raw = layouts.discover(tmp_path, "casme2")
  problem = _one(raw, "expression_past_video_end")
  row = 3  # the code sheet: one row per expression, by subject, video, onset
  assert problem.where == f"CAS(ME)^2code_final.xlsx sheet 'CASFEcode_final' row {row}"
  assert f"offset frame {offset + 1} lies past the last image img{offset:03d}.jpg" in (
    problem.message
  )
  assert "frames are missing at the end, or were extracted at another rate than 30 fps" in (
    problem.message
  )
  trial = raw.trials[1]
  assert trial.frame_count == offset and len(trial.expressions) == 2  # kept as annotated


def test_an_unreadable_image_is_named(tmp_path):
  _, folders = _write(tmp_path)
  (folders[0] / "img001.jpg").write_bytes(b"not a jpeg")
  (folders[1] / "img090.jpg").write_bytes(b"not a jpeg")
  raw = layouts.discover(tmp_path, "casme2")
  problem = _one(raw, "frame_unreadable")
  assert "img001.jpg: frame 0: image is unreadable or corrupt" in problem.message
  assert len(raw.trials) == 1  # img090 is found only when every image is decoded
  raw = layouts.discover(tmp_path, "casme2", check_frames=True)
  assert [p.where for p in raw.problems if p.code == "frame_unreadable"] == [
    "rawpic/s15/15_0505funnyinnovations",
    "rawpic/s15/15_0508funnydunkey",
  ]
  assert "img090.jpg: frame 89" in raw.problems[-1].message and raw.trials == ()


def test_mixed_image_sizes_are_named(tmp_path):
  _, folders = _write(tmp_path)
  small = np.full((48, 64, 3), 128, np.uint8)
  cv2.imwrite(str(folders[0] / "img180.jpg"), small)  # the last: checked by default
  cv2.imwrite(str(folders[1] / "img100.jpg"), small)
  problem = _one(layouts.discover(tmp_path, "casme2"), "frame_sizes_mixed")
  assert "frame 179 (img180.jpg) is 48×64 pixels but frame 0 (img001.jpg) is 96×128" in (
    problem.message
  )
  raw = layouts.discover(tmp_path, "casme2", check_frames=True)
  assert sum(p.code == "frame_sizes_mixed" for p in raw.problems) == 2 and raw.trials == ()


def test_annotated_video_without_folder_and_folder_without_annotation(tmp_path):
  truth, folders = _write(tmp_path)
  shutil.copytree(folders[1], folders[1].parent / "15_0102eatingworms")
  shutil.rmtree(folders[1])
  raw = layouts.discover(tmp_path, "casme2")
  missing = _one(raw, "video_missing")
  assert missing.where == "CAS(ME)^2code_final.xlsx sheet 'CASFEcode_final' rows 2, 3"
  assert "video s15/15_0508: 2 expression(s) annotated but no frame folder" in missing.message
  assert "rawpic/s15/15_0508<description>" in missing.message
  extra = _one(raw, "video_not_annotated")
  assert extra.where == "rawpic/s15/15_0102eatingworms"
  by_video = {t.video: t for t in raw.trials}
  assert by_video["s15/15_0102"].expressions == () and by_video["s15/15_0102"].frame_count == 180
  assert len(by_video[truth["videos"][0]["video"]].expressions) == 1


def test_an_fps_that_does_not_match_the_data(tmp_path):
  _, folders = _write(tmp_path, "samm_lv")
  (folders[0] / video_io.FPS_FILE).write_text("100\n")
  raw = layouts.discover(tmp_path, "samm_lv")
  problem = _one(raw, "fps_mismatch")
  assert problem.where == "SAMM_longvideos/006_5/fps.txt"
  assert "fps.txt says 100 fps but SAMM-LV counts frames at 200 fps" in problem.message
  assert [t.video for t in raw.trials] == ["006_7"]
  with pytest.raises(LayoutError, match=r"fps=150: SAMM-LV counts frames at 200 fps.*Release"):
    layouts.discover(tmp_path, "samm_lv", fps=150)


def test_another_datasets_spreadsheet_is_refused(tmp_path):
  _write(tmp_path / "samm", "samm_lv")
  with pytest.raises(AnnotationFileError, match=r"not a CAS\(ME\)² .*looks like a SAMM-LV file"):
    layouts.discover(tmp_path / "samm", "casme2")
  _write(tmp_path / "casme3", "casme3")
  with pytest.raises(AnnotationFileError, match=r"CAS\(ME\)3_part_A_v2.xlsx: not a SAMM-LV"):
    layouts.discover(tmp_path / "casme3", "samm_lv")
  with pytest.raises(AnnotationFileError, match="looks like a SAMM-LV file"):
    layouts.discover(tmp_path / "casme3", "casme3", annotation_file=_real("SAMMLV_gt.xlsx"))


def test_the_real_spreadsheet_joins_the_released_folder_names(tmp_path):
  """CASME_sq_gt.xlsx against synthetic frame folders of its own videos' names."""
  _write(tmp_path)
  raw = layouts.discover(tmp_path, "casme2", annotation_file=_real("CASME_sq_gt.xlsx"))
  videos = {e.video for e in raw.annotations.expressions}
  assert len(videos) == 95 and {t.video for t in raw.trials} == {"s15/15_0505", "s15/15_0508"}
  assert sum(p.code == "video_missing" for p in raw.problems) == 94
  assert _one(raw, "video_not_annotated").where == "rawpic/s15/15_0508funnydunkey"
  trial = raw.trials[0]  # s15/15_0505: the real rows of that video
  assert {e.video for e in trial.expressions} == {"s15/15_0505"} and trial.expressions
  late = [p for p in raw.problems if p.code == "expression_past_video_end"]
  assert late and all("CASME_sq_gt.xlsx sheet 'CASFEcode_final' row " in p.where for p in late)


def test_folders_that_cannot_be_placed(tmp_path):
  _, folders = _write(tmp_path)
  (tmp_path / "rawpic" / "subject15").mkdir()
  shutil.copytree(folders[0], folders[0].parent / "15_0505copy")
  (folders[0].parent / "16_0101disgustingteeth").mkdir()
  (folders[0].parent / "15_0401girlcrashing").mkdir()
  raw = layouts.discover(tmp_path, "casme2")
  assert raw.summarize_problems() == {
    "duplicate_video": 1,
    "frame_folder_empty": 1,
    "unrecognised_folder_name": 2,
  }
  where = {p.code: p.where for p in raw.problems}
  assert where["duplicate_video"] == "rawpic/s15/15_0505funnyinnovations"
  assert where["frame_folder_empty"] == "rawpic/s15/15_0401girlcrashing"
  assert "participant 16 in s15 does not fit" in " ".join(p.message for p in raw.problems)


def test_casme3_folders_match_ignoring_case_and_other_first_numbers(tmp_path):
  truth, folders = _write(tmp_path, "casme3")
  (tmp_path / "part_A" / "spNO.1").rename(tmp_path / "part_A" / "spNo.1")
  color = tmp_path / "part_A" / "spNo.1" / "b" / "color"
  for path in sorted(color.iterdir(), key=lambda p: -int(p.stem)):  # 1.jpg → 41.jpg, …
    path.rename(color / f"{int(path.stem) + 40}.jpg")
  raw = layouts.discover(tmp_path, "casme3")
  assert [t.video for t in raw.trials] == ["spNO.1/a", "spNO.1/b"]  # the spreadsheet's spelling
  moved = raw.trials[1]
  assert moved.first_number == 41 and moved.folder == color
  planted = [
    (e["onset_frame"], e["apex_frame"], e["offset_frame"])
    for e in truth["videos"][1]["expressions"]
  ]
  assert moved.frames() == [tuple(n - 40 for n in f) for f in planted]
  assert "numbered from 41 (41.jpg), not 1" in _one(raw, "first_frame_number").message
  early = _one(raw, "expression_before_video_start")  # the macro at frames 32–86
  assert "macro-expression spNO.1/b: onset frame 33" in early.message
  assert "before the first image 41.jpg" in early.message


def test_the_layout_itself_must_be_there(tmp_path):
  with pytest.raises(LayoutError, match="raw root is not a folder"):
    layouts.discover(tmp_path / "nowhere", "casme2")
  with pytest.raises(LayoutError, match=r"one SAMM-LV annotation spreadsheet .* found none"):
    layouts.discover(tmp_path, "samm_lv")
  with pytest.raises(ValueError, match="MECG: cmcl_jax.data.layout.discover"):
    layouts.discover(tmp_path, "mecg")
  _write(tmp_path, "samm_lv")
  frames = tmp_path / "SAMM_longvideos"
  frames.rename(tmp_path / "frames")
  expected = r"SAMM_longvideos: no frames folder; expected .* \(SAMM_longvideos/<video>\)"
  with pytest.raises(LayoutError, match=expected):
    layouts.discover(tmp_path, "samm_lv")
  raw = layouts.discover(tmp_path, "samm_lv", frames_dir=tmp_path / "frames")
  assert len(raw.trials) == 2 and raw.problems == ()
  (tmp_path / "notes.csv").write_text("not, an, annotation, file\n")
  assert layouts.discover(tmp_path, "samm_lv", frames_dir=tmp_path / "frames").trials
  shutil.copy(tmp_path / "SAMM_LongVideos_V3_Release.xlsx", tmp_path / "copy.xlsx")
  with pytest.raises(LayoutError, match=r"found \['SAMM_LongVideos_V3_Release.xlsx', 'copy.xlsx'"):
    layouts.discover(tmp_path, "samm_lv", frames_dir=tmp_path / "frames")
