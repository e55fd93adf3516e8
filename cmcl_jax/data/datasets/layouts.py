"""Discovers the raw layout of a public long-video dataset into trials, with its problems.

A raw root of CAS(ME)² (``"casme2"``), SAMM-LV (``"samm_lv"``) or CAS(ME)³ Part A
(``"casme3"``) holds, as released:

- the annotation spreadsheet at the top (`find_annotation_file`; the release names are
  `RELEASE_NAMES`), read by `read_annotations`;
- the frames folder (``rawpic/``, ``SAMM_longvideos/``, ``part_A/``) with one folder of
  numbered JPEG frames per long video (`frame_folders` gives the layouts).

`discover` joins the two by video id into `VideoTrial`s: subject, video id, frame
folder, fps, frame count and size, and the video's expressions, micro and macro, as
0-based frame positions at the dataset's fps (`Expression.frames`). The spreadsheets
number frames as their files are numbered, from 1; a folder numbered from another
first number k has its expressions moved by k − 1 to stay on the same files.

Every problem is a `cmcl_jax.data.layout.Problem` naming the folder, file or
spreadsheet row; nothing is dropped silently:

==============================  ==============================================  =========
code                            found                                           trial
==============================  ==============================================  =========
video_missing                   an annotated video without a frame folder       none
video_not_annotated             a frame folder the spreadsheet does not name    kept
frame_folder_empty              a video folder without numbered images          skipped
frame_numbering_gap             frame numbers with gaps (frames lost)           skipped
frame_number_repeated,          two images of one number, an image without a    skipped
frame_unnumbered                number
frame_unreadable                the first or last image does not decode (any    skipped
                                image, with ``check_frames``)
frame_sizes_mixed               the last image (any, with ``check_frames``) is  skipped
                                not the size of the first
fps_mismatch                    a folder's ``fps.txt`` is not the dataset's fps skipped
expression_past_video_end       annotated frames past the last image: frames    kept
                                missing at the end, or frames extracted at
                                another rate than the dataset's
expression_before_video_start   annotated frames before the first image         kept
first_frame_number              frames numbered from k ≠ 1 (expressions moved)  kept
unrecognised_folder_name,       folders `frame_folders.scan` cannot place       none
duplicate_video
==============================  ==============================================  =========

Raised instead: `LayoutError` (no root, no frames folder, no single annotation
spreadsheet, an ``fps`` argument that is not the dataset's) and
`AnnotationFileError` (an unreadable spreadsheet, or another dataset's, which the
message names). The spreadsheet's own quirks are `DatasetLayout.findings`.

Cost: discovery lists every folder and decodes its first and last image (seconds for
a whole dataset); ``check_frames=True`` decodes every image, which for SAMM-LV
(147 videos of tens of seconds at 200 fps, 2040×1088) takes hours.

Example::

    raw = discover("/data/SAMM_LV", "samm_lv")
    trial = raw.trials[0]   # VideoTrial: subject '006', video '006_1', 200 fps
    trial.frames("micro")   # [(onset, apex, offset), …]: 0-based frames at 200 fps
    raw.summarize_problems()
"""

from __future__ import annotations

import collections
import dataclasses
import os
from pathlib import Path

from cmcl_jax.data import video_io
from cmcl_jax.data.datasets import frame_folders
from cmcl_jax.data.datasets import sheets as sheets_lib
from cmcl_jax.data.datasets.annotations import (
  TITLES,
  AnnotationFileError,
  Annotations,
  Expression,
  Finding,
  read_annotations,
)
from cmcl_jax.data.layout import LayoutError, Problem

DATASETS = ("casme2", "samm_lv", "casme3")
"""Datasets with a frame-folder layout (MECG has its own: `cmcl_jax.data.layout`)."""
RELEASE_NAMES = {
  "casme2": "CAS(ME)^2code_final.xlsx",
  "samm_lv": "SAMM_LongVideos_V3_Release.xlsx",
  "casme3": "CAS(ME)3_part_A_v2.xls",
}
"""The annotation spreadsheet's name in each release."""
ANNOTATION_SUFFIXES = (".xlsx", ".xls", ".csv")


@dataclasses.dataclass(frozen=True)
class VideoTrial:
  """One long video: its frame folder and its annotated expressions.

  Attributes:
    subject: subject code ("s15", "006", "spNO.1"), as the spreadsheet spells it.
    video: video id, `Expression.video` ("s15/15_0101", "006_1", "spNO.1/a").
    info: the frame folder's path, fps (frames/s), frame count and size (pixels).
    expressions: micro- and macro-expressions by onset, 0-based frame positions at
      ``info.fps`` (moved by ``first_number − 1`` from the spreadsheet's).
    first_number: the number in the first frame file's name (1 as released).
  """

  subject: str
  video: str
  info: video_io.VideoInfo
  expressions: tuple[Expression, ...]
  first_number: int = 1

  @property
  def folder(self) -> Path:
    return self.info.path

  @property
  def fps(self) -> float:
    return self.info.fps

  @property
  def frame_count(self) -> int:
    return self.info.frame_count

  def frames(self, kind: str | None = None) -> list[tuple[int, int, int]]:
    """0-based (onset, apex, offset) frames of the expressions of ``kind`` (default all)."""
    return [e.frames() for e in self.expressions if kind in (None, e.kind)]


@dataclasses.dataclass(frozen=True)
class DatasetLayout:
  """Everything discovered under a raw root.

  Attributes:
    root: the raw root.
    dataset: "casme2", "samm_lv" or "casme3".
    annotations: the spreadsheet as read (its path, fps, expressions, findings).
    frames_dir: the folder holding the frame folders.
    trials: usable videos, sorted by (subject, video).
    problems: what was skipped or is suspect (see the module docstring).
  """

  root: Path
  dataset: str
  annotations: Annotations
  frames_dir: Path
  trials: tuple[VideoTrial, ...]
  problems: tuple[Problem, ...]

  @property
  def fps(self) -> float:
    return self.annotations.fps

  @property
  def findings(self) -> tuple[Finding, ...]:
    return self.annotations.findings

  @property
  def subjects(self) -> tuple[str, ...]:
    return tuple(sorted({t.subject for t in self.trials}))

  def trials_of(self, subject: str) -> tuple[VideoTrial, ...]:
    return tuple(t for t in self.trials if t.subject == subject)

  def summarize_problems(self) -> dict[str, int]:
    """Number of problems per code, codes in alphabetical order."""
    return dict(sorted(collections.Counter(p.code for p in self.problems).items()))


def find_annotation_file(root: Path, dataset: str) -> Path:
  """The annotation spreadsheet at the top of ``root``: the only one, or the only one
  with ``dataset``'s layout (`sheets.identify`).

  Raises:
    LayoutError: none, or several that cannot be told apart.
  """
  candidates = sorted(
    p
    for p in root.iterdir()
    if p.is_file()
    and p.suffix.lower() in ANNOTATION_SUFFIXES
    and not p.name.startswith(("~$", "."))
  )
  if len(candidates) == 1:
    return candidates[0]
  matching = [p for p in candidates if _layout_of(p) == dataset]
  if len(matching) == 1:
    return matching[0]
  raise LayoutError(
    f"{root}: expected one {TITLES[dataset]} annotation spreadsheet "
    f"({'/'.join(ANNOTATION_SUFFIXES)}) at the top of the root, e.g. "
    f"{RELEASE_NAMES[dataset]}; found {[p.name for p in candidates] or 'none'}; "
    "pass annotation_file= to choose"
  )


def find_dataset(root: str | os.PathLike) -> str:
  """The dataset whose frames folder (`frame_folders.FRAMES_DIRS`) is under ``root``.

  Raises:
    LayoutError: none or several of them are.
  """
  root = Path(root)
  found = [d for d in DATASETS if (root / frame_folders.FRAMES_DIRS[d]).is_dir()]
  if len(found) != 1:
    expected = ", ".join(f"{frame_folders.FRAMES_DIRS[d]}/ ({TITLES[d]})" for d in DATASETS)
    raise LayoutError(
      f"{root}: expected the frames folder of one dataset, one of {expected}; found "
      f"{[frame_folders.FRAMES_DIRS[d] for d in found] or 'none'}; name the dataset"
    )
  return found[0]


def discover(
  root: str | os.PathLike,
  dataset: str,
  *,
  annotation_file: str | os.PathLike | None = None,
  frames_dir: str | os.PathLike | None = None,
  fps: float | None = None,
  check_frames: bool = False,
) -> DatasetLayout:
  """Finds the videos of a raw root and joins their expressions; see the module docstring.

  Args:
    root: the dataset's raw root.
    dataset: one of `DATASETS`.
    annotation_file: the spreadsheet; by default `find_annotation_file`.
    frames_dir: the folder of frame folders; by default ``root/`` + the release's
      name (`frame_folders.FRAMES_DIRS`).
    fps: the frame rate the caller expects (e.g. a config's), frames/s; refused
      when it is not the dataset's.
    check_frames: decode every image (slow), not only the first and last.

  Raises:
    ValueError: an unknown ``dataset``.
    LayoutError: see the module docstring.
    AnnotationFileError: an unreadable spreadsheet, or one of another dataset.
  """
  if dataset not in DATASETS:
    hint = "; MECG: cmcl_jax.data.layout.discover" if dataset == "mecg" else ""
    raise ValueError(f"dataset={dataset!r}: expected one of {', '.join(DATASETS)}{hint}")
  root = Path(root).resolve()
  if not root.is_dir():
    raise LayoutError(f"{root}: {TITLES[dataset]} raw root is not a folder")
  path = Path(annotation_file) if annotation_file else find_annotation_file(root, dataset)
  notes = read_annotations(path, dataset)
  if fps is not None and fps != notes.fps:
    raise LayoutError(
      f"fps={fps:g}: {TITLES[dataset]} counts frames at {notes.fps:g} fps (annotation "
      f"file {path}); expected fps={notes.fps:g}, or none"
    )
  frames = Path(frames_dir).resolve() if frames_dir else root / frame_folders.FRAMES_DIRS[dataset]
  if not frames.is_dir():
    raise LayoutError(
      f"{frames}: no frames folder; expected the {TITLES[dataset]} frame folders as released "
      f"({frame_folders.expected_folder(dataset, '<video>')}), or pass frames_dir="
    )
  folders, problems = frame_folders.scan(dataset, frames, root)
  by_key = collections.defaultdict(list)
  for e in notes.expressions:
    by_key[frame_folders.video_key(dataset, e.video)].append(e)
  for key, rows in sorted(by_key.items()):
    if key not in folders:
      video = rows[0].video
      problems.append(
        Problem(
          "video_missing",
          _rows_at(path, rows),
          f"video {video}: {len(rows)} expression(s) annotated but no frame folder "
          f"{frame_folders.expected_folder(dataset, video)} under {root}; expressions skipped",
          rows[0].subject,
        )
      )
  trials = []
  for key, folder in sorted(folders.items()):
    rows = sorted(by_key.get(key, ()), key=lambda e: (e.onset, e.offset))
    trial, found = _trial(dataset, folder, rows, path, root, notes.fps, check_frames)
    problems += found
    if trial is not None:
      trials.append(trial)
  trials.sort(key=lambda t: (t.subject, t.video))
  return DatasetLayout(root, dataset, notes, frames, tuple(trials), tuple(problems))


def _trial(dataset, folder, rows, path, root, fps, check_frames):
  """The `VideoTrial` of one frame folder (None when unusable) and its problems."""
  where = frame_folders.relative(folder.path, root)
  subject = rows[0].subject if rows else folder.subject
  video = rows[0].video if rows else folder.video
  skipped = "video skipped" + (f" with its {len(rows)} annotated expression(s)" if rows else "")
  try:
    numbers = video_io.frame_files(folder.path)
    info = video_io.video_info(folder.path, fps=fps)
    # The last image is where an interrupted copy shows; every image only on request.
    next(video_io.iter_frames(folder.path, grayscale=True, start=info.frame_count - 1))
    if check_frames:
      for _ in video_io.iter_frames(folder.path, grayscale=True):
        pass
  except video_io.VideoError as error:
    return None, [Problem(error.code, where, f"{error}; {skipped}", subject)]
  if info.fps != fps:
    message = (
      f"{video_io.FPS_FILE} says {info.fps:g} fps but {TITLES[dataset]} counts frames at "
      f"{fps:g} fps ({path.name}); expected {fps:g} or no {video_io.FPS_FILE}; {skipped}"
    )
    return None, [Problem("fps_mismatch", f"{where}/{video_io.FPS_FILE}", message, subject)]
  problems = []
  first = numbers[0][0]
  if first != 1:
    rows = [_moved(e, first - 1) for e in rows]
    problems.append(
      Problem(
        "first_frame_number",
        where,
        f"frames are numbered from {first} ({numbers[0][1].name}), not 1; the spreadsheet's "
        f"frame numbers are read as file numbers, so frame n is at position n − {first}",
        subject,
      )
    )
  if not rows:
    message = (
      f"frame folder of video {video}, which {path.name} does not name; kept as a trial "
      "without expressions"
    )
    problems.append(Problem("video_not_annotated", where, message, subject))
  problems += _outside(rows, info, numbers, path, where, first)
  return VideoTrial(subject, video, info, tuple(rows), first), problems


def _outside(rows, info, numbers, path, where, first) -> list[Problem]:
  """A problem for each expression with frames before the first or past the last image."""
  found = []
  last = info.frame_count - 1
  for e in rows:
    frames = dict(zip(("onset", "apex", "offset"), e.frames()))
    late = {f: n for f, n in frames.items() if n > last}
    early = {f: n for f, n in frames.items() if n < 0}
    for code, fields, side in (
      ("expression_past_video_end", late, f"past the last image {numbers[-1][1].name}"),
      ("expression_before_video_start", early, f"before the first image {numbers[0][1].name}"),
    ):
      if not fields:
        continue
      said = " and ".join(f"{f} frame {n + first}" for f, n in fields.items())
      message = (
        f"{e.kind}-expression {e.name or e.video}: {said} "
        f"{'lies' if len(fields) == 1 else 'lie'} {side} of {where} ({info.frame_count} "
        f"frames at {info.fps:g} fps)"
      )
      if code == "expression_past_video_end":
        message += (
          "; frames are missing at the end, or were extracted at another rate than "
          f"{info.fps:g} fps"
        )
      found.append(Problem(code, _rows_at(path, [e]), message + "; kept as annotated", e.subject))
  return found


def _moved(e: Expression, frames: int) -> Expression:
  return dataclasses.replace(
    e, onset=e.onset - frames, apex=e.apex - frames, offset=e.offset - frames
  )


def _rows_at(path: Path, rows: list[Expression]) -> str:
  """``"<file> sheet '<sheet>' row(s) …"`` of spreadsheet rows."""
  numbers = sorted({e.row for e in rows})
  sheet = f" sheet {rows[0].sheet!r}" if rows[0].sheet else ""
  said = f"row {numbers[0]}" if len(numbers) == 1 else f"rows {', '.join(map(str, numbers))}"
  return f"{path.name}{sheet} {said}"


def _layout_of(path: Path) -> str | None:
  try:
    return sheets_lib.identify(sheets_lib.load_sheets(path))
  except AnnotationFileError:
    return None
