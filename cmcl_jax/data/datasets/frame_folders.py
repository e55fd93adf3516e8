"""Where each public long-video dataset keeps its frames: a raw root scanned into frame folders.

The layouts as released (frame numbers are those of the files, 1 = the first frame):

- CAS(ME)² (``casme2``): ``rawpic/s<nn>/<nn>_<code:04d><description>/img<k>.jpg``,
  e.g. ``rawpic/s15/15_0101disgustingteeth/img001.jpg`` (``img001`` … ``img999``,
  then ``img1000`` …); 640×480 colour at 30 fps. The video id is the folder's prefix
  ``s15/15_0101``: the annotation file names no description.
- SAMM Long Videos (``samm_lv``): ``SAMM_longvideos/<subject>_<n>/<subject>_<n>_<k>.jpg``,
  e.g. ``SAMM_longvideos/006_1/006_1_0001.jpg`` (four digits, five in videos of
  10,000 frames or more); 2040×1088 grey at 200 fps. The video id is ``006_1``.
- CAS(ME)³ Part A (``casme3``): ``part_A/<subject>/<video>/color/<k>.jpg``, e.g.
  ``part_A/spNO.1/a/color/1.jpg`` (a ``depth/`` folder beside ``color/`` is not read);
  1280×720 at 30 fps. The video id is ``spNO.1/a``. Subject and video folders are
  matched ignoring case: public code that reads the release meets ``spNo.`` folders
  for ``spNO.`` labels.

`scan` finds the frame folders without reading any image; folders it cannot place
are `Problem`s, never dropped silently. `video_key` is the id under which an
annotated video and its folder are matched.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

from cmcl_jax.data.layout import Problem

FRAMES_DIRS = {"casme2": "rawpic", "samm_lv": "SAMM_longvideos", "casme3": "part_A"}
"""The folder under a dataset's root that holds its frame folders."""
CASME3_FRAMES = "color"
"""CAS(ME)³ Part A: the sub-folder of a video folder that holds its colour frames."""

_CASME2_SUBJECT = re.compile(r"s(\d+)")
_CASME2_VIDEO = re.compile(r"(\d+)_(\d{4})(.*)")
_SAMM_VIDEO = re.compile(r"(\d+)_(\d+)")


@dataclasses.dataclass(frozen=True)
class FrameFolder:
  """One video's frame folder as found on disk.

  Attributes:
    subject: subject code as the folder spells it ("s15", "006", "spNO.1").
    video: video id as the folder spells it ("s15/15_0101", "006_1", "spNO.1/a").
    path: the folder holding the frame images.
  """

  subject: str
  video: str
  path: Path


def expected_folder(dataset: str, video: str) -> str:
  """Where the frames of an annotated video belong, relative to the raw root."""
  pattern = {"casme2": "{}<description>", "samm_lv": "{}", "casme3": "{}/" + CASME3_FRAMES}
  return f"{FRAMES_DIRS[dataset]}/{pattern[dataset].format(video)}"


def video_key(dataset: str, video: str) -> str:
  """The id an annotated video and its frame folder are matched by."""
  return video.lower() if dataset == "casme3" else video


def scan(
  dataset: str, frames_dir: Path, root: Path
) -> tuple[dict[str, FrameFolder], list[Problem]]:
  """The frame folders under ``frames_dir``, by `video_key`, and what could not be placed.

  Args:
    dataset: "casme2", "samm_lv" or "casme3".
    frames_dir: the dataset's frames folder (`FRAMES_DIRS`).
    root: the raw root; problems name paths relative to it.
  """
  found: dict[str, FrameFolder] = {}
  problems: list[Problem] = []

  def report(path: Path, code: str, message: str) -> None:
    problems.append(Problem(code, relative(path, root), message))

  walk = {"casme2": _casme2, "samm_lv": _samm_lv, "casme3": _casme3}[dataset]
  for folder in walk(frames_dir, report):
    key = video_key(dataset, folder.video)
    if key in found:
      message = f"video {folder.video} also at {relative(found[key].path, root)}, which is used"
      problems.append(
        Problem("duplicate_video", relative(folder.path, root), message, folder.subject)
      )
    else:
      found[key] = folder
  return found, problems


def relative(path: Path, root: Path) -> str:
  """``path`` relative to ``root`` (POSIX), or as given when it lies outside."""
  try:
    return path.relative_to(root).as_posix()
  except ValueError:
    return str(path)


def _folders(path: Path) -> list[Path]:
  return sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith("."))


def _casme2(frames_dir: Path, report):
  expected = "expected rawpic/s<nn>/<nn>_<code:04d><description>, e.g. s15/15_0101disgustingteeth"
  for subject_dir in _folders(frames_dir):
    subject = _CASME2_SUBJECT.fullmatch(subject_dir.name)
    if subject is None:
      report(subject_dir, "unrecognised_folder_name", f"not a subject folder s<nn>; {expected}")
      continue
    for video_dir in _folders(subject_dir):
      video = _CASME2_VIDEO.fullmatch(video_dir.name)
      if video is None or int(video[1]) != int(subject[1]):
        why = "the name" if video is None else f"participant {video[1]} in {subject_dir.name}"
        report(video_dir, "unrecognised_folder_name", f"{why} does not fit; {expected}")
        continue
      yield FrameFolder(subject_dir.name, f"{subject_dir.name}/{video[1]}_{video[2]}", video_dir)


def _samm_lv(frames_dir: Path, report):
  for video_dir in _folders(frames_dir):
    video = _SAMM_VIDEO.fullmatch(video_dir.name)
    if video is None:
      message = "expected SAMM_longvideos/<subject>_<n>, e.g. 006_1"
      report(video_dir, "unrecognised_folder_name", message)
      continue
    yield FrameFolder(video[1], video_dir.name, video_dir)


def _casme3(frames_dir: Path, report):
  for subject_dir in _folders(frames_dir):
    for video_dir in _folders(subject_dir):
      color = next((p for p in _folders(video_dir) if p.name.lower() == CASME3_FRAMES), None)
      if color is None:
        message = f"a video folder without a {CASME3_FRAMES}/ frame folder; video skipped"
        report(video_dir, "frame_folder_empty", message)
        continue
      yield FrameFolder(subject_dir.name, f"{subject_dir.name}/{video_dir.name}", color)
