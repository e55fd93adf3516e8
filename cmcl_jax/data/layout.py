"""Discovers the trials of a raw MECG layout (docs/data.md) and joins their expressions.

A raw layout is a folder holding:
  - a coding file (`coding_file.xlsx`/`.csv`, or the one `*.xlsx`/`*.csv` whose name
    contains "coding"), one row per expression;
  - trial videos anywhere below the root: files `<emotion>_<index>_<marker>_<subject>_
    <yyyymmdd>.avi|.mp4`, or folders of that name holding numbered frame images;
  - ECG anywhere below the root: one file per trial named like its video
    (`<video stem>.npz|.csv|.acq`), or one continuous recording per subject session
    named `<subject>_<yyyymmdd>.*` or `<subject>.*`, with a marker channel.

Discovery reads names, the coding file and the headers (fps, frame count) of videos
with expressions, no video or ECG samples; what cannot be used or looks wrong is
returned as a `Problem` naming the file or row, never dropped silently. An expression
annotated past the last frame of its video is kept and reported. A video whose header
cannot be read is reported by whoever reads it (`video_io.VideoError`), not here.
"""

from __future__ import annotations

import collections
import dataclasses
import os
import re
from pathlib import Path, PureWindowsPath

from cmcl_jax.data import coding
from cmcl_jax.data import coding_checks
from cmcl_jax.data import ecg_io
from cmcl_jax.data import video_io

TRIAL_NAME = re.compile(
  r"^(?P<emotion>[A-Za-z]+)_(?P<index>\d+)_(?P<marker>\d+)_"
  r"(?P<subject>[^_/\\]+)_(?P<date>\d{8})$"
)


class LayoutError(ValueError):
  """A raw layout cannot be read at all (no root, no coding file)."""


@dataclasses.dataclass(frozen=True)
class Problem:
  """Something in a raw layout that is skipped or suspect.

  Attributes:
    code: short machine-readable reason, e.g. "video_missing".
    where: the file, folder or coding-file row concerned.
    message: what was found and what was expected.
    subject: the subject concerned, where one is.
  """

  code: str
  where: str
  message: str
  subject: str | None = None


@dataclasses.dataclass(frozen=True)
class Trial:
  """One trial: one subject watching one emotional clip.

  Attributes:
    subject: subject id from the video name.
    name: video stem `<emotion>_<index>_<marker>_<subject>_<yyyymmdd>`.
    video: absolute path of the video file or frame folder.
    marker: the clip's trigger code.
    emotion: the clip's emotion (lower-case).
    date: recording date `yyyymmdd`.
    ecg: the trial's own ECG file, or the subject's session recording, or None.
    ecg_is_per_trial: True when `ecg` holds only this trial (starts at frame 0).
    expressions: the coding-file rows of this video, by onset.
  """

  subject: str
  name: str
  video: Path
  marker: int
  emotion: str
  date: str
  ecg: Path | None
  ecg_is_per_trial: bool
  expressions: tuple[coding.Expression, ...]

  @property
  def trial_id(self) -> str:
    return f"{self.subject}/{self.marker}"


@dataclasses.dataclass(frozen=True)
class RawLayout:
  """Everything discovered under a raw root.

  Attributes:
    root: the raw root.
    coding_file: the coding file read.
    trials: trials with a usable video, sorted by (subject, marker).
    findings: the coding file's validation findings (suspect but kept).
    problems: what was skipped or is missing, with the reason.
  """

  root: Path
  coding_file: Path
  trials: tuple[Trial, ...]
  findings: tuple[coding_checks.Finding, ...]
  problems: tuple[Problem, ...]

  @property
  def subjects(self) -> tuple[str, ...]:
    return tuple(sorted({t.subject for t in self.trials}))

  def trials_of(self, subject: str) -> tuple[Trial, ...]:
    return tuple(t for t in self.trials if t.subject == subject)


def find_coding_file(root: Path) -> Path:
  """The coding file at the top of `root` (see the module docstring)."""
  for name in ("coding_file.xlsx", "coding_file.csv"):
    if (root / name).is_file():
      return root / name
  candidates = sorted(
    p
    for p in root.iterdir()
    if p.suffix.lower() in (".xlsx", ".csv") and "coding" in p.name.lower()
  )
  if len(candidates) != 1:
    raise LayoutError(
      f"{root}: expected one coding file (coding_file.xlsx/.csv or a "
      f"*.xlsx/*.csv named like 'coding'); found {[p.name for p in candidates]}"
    )
  return candidates[0]


def discover(root: str | os.PathLike, coding_file: str | os.PathLike | None = None) -> RawLayout:
  """Finds the trials, their ECG and their expressions under a raw root.

  Args:
    root: the raw MECG folder.
    coding_file: the annotation file; by default found at the top of `root`.

  Raises:
    LayoutError: when `root` is not a folder or holds no coding file.
    coding.CodingFileError: when the coding file is malformed (names file, row, field).
  """
  root = Path(root).resolve()
  if not root.is_dir():
    raise LayoutError(f"{root}: raw MECG root is not a folder")
  coding_path = Path(coding_file) if coding_file else find_coding_file(root)
  expressions = coding.read_coding_file(coding_path)
  problems: list[Problem] = []
  videos, ecg_files = _scan(root, problems)

  by_video = collections.defaultdict(list)
  for e in expressions:
    # PureWindowsPath splits at "\\" as well as "/": a Filename typed on Windows.
    by_video[PureWindowsPath(e.video).stem].append(e)
  for stem, rows in sorted(by_video.items()):
    if stem not in videos:
      for e in rows:
        problems.append(
          Problem(
            "video_missing",
            f"{coding_path.name} row {e.row}",
            f"Filename {e.video!r}: no video file or frame folder of "
            f"that name under {root}; expression skipped",
            e.subject,
          )
        )

  trials = []
  for stem, video in sorted(videos.items()):
    parts = TRIAL_NAME.match(stem).groupdict()
    rows = tuple(sorted(by_video.get(stem, ()), key=lambda e: e.onset_s))
    for e in rows:
      if e.subject != parts["subject"] or e.marker != int(parts["marker"]):
        problems.append(
          Problem(
            "row_disagrees_with_filename",
            f"{coding_path.name} row {e.row}",
            f"Subject {e.subject!r}/Marker {e.marker} but the Filename says "
            f"{parts['subject']!r}/{parts['marker']}; the Filename is used",
            parts["subject"],
          )
        )
    problems.extend(_past_video_end(rows, video, coding_path.name, parts["subject"]))
    ecg, per_trial = _ecg_for(stem, parts, ecg_files)
    if ecg is None:
      problems.append(
        Problem(
          "ecg_missing",
          str(video.relative_to(root)),
          f"no ECG file named {stem}.* (per trial) or "
          f"{parts['subject']}_{parts['date']}.* / {parts['subject']}.* "
          "(session) under the root",
          parts["subject"],
        )
      )
    trials.append(
      Trial(
        subject=parts["subject"],
        name=stem,
        video=video,
        marker=int(parts["marker"]),
        emotion=parts["emotion"].lower(),
        date=parts["date"],
        ecg=ecg,
        ecg_is_per_trial=per_trial,
        expressions=rows,
      )
    )
  trials.sort(key=lambda t: (t.subject, t.marker, t.name))
  return RawLayout(
    root,
    coding_path,
    tuple(trials),
    tuple(coding_checks.validate_expressions(expressions)),
    tuple(problems),
  )


def _scan(root: Path, problems: list[Problem]) -> tuple[dict[str, Path], dict[str, Path]]:
  """Walks `root` once; frame folders are recognised by name and not descended into."""
  videos: dict[str, Path] = {}
  ecg_files: dict[str, Path] = {}
  imageless: dict[str, Path] = {}
  for folder, subfolders, files in os.walk(root):
    folder = Path(folder)
    for name in list(subfolders):
      if TRIAL_NAME.match(name):
        if video_io.is_video_source(folder / name):
          _add_video(videos, name, folder / name, root, problems)
          subfolders.remove(name)
        else:
          imageless.setdefault(name, folder / name)
    if folder != root and not TRIAL_NAME.match(folder.name) and video_io.is_video_source(folder):
      problems.append(
        Problem(
          "unrecognised_video_name",
          str(folder.relative_to(root)),
          "a folder of numbered frame images, but its name is not "
          "<emotion>_<index>_<marker>_<subject>_<yyyymmdd>; frame folder skipped",
        )
      )
    for name in files:
      path = folder / name
      suffix = path.suffix.lower()
      if suffix in video_io.VIDEO_SUFFIXES:
        if TRIAL_NAME.match(path.stem):
          _add_video(videos, path.stem, path, root, problems)
        else:
          problems.append(
            Problem(
              "unrecognised_video_name",
              str(path.relative_to(root)),
              "expected <emotion>_<index>_<marker>_<subject>_<yyyymmdd>; video skipped",
            )
          )
      elif suffix in ecg_io.ECG_SUFFIXES:
        if path.stem in ecg_files:
          problems.append(
            Problem(
              "duplicate_ecg",
              str(path.relative_to(root)),
              f"another ECG file is named {path.stem}.*: "
              f"{ecg_files[path.stem].relative_to(root)} is used",
            )
          )
        else:
          ecg_files[path.stem] = path
  for name, folder in sorted(imageless.items()):
    if name not in videos:
      problems.append(
        Problem(
          "frame_folder_empty",
          str(folder.relative_to(root)),
          "a folder named like a trial, but it holds no numbered frame images "
          f"({', '.join(video_io.IMAGE_SUFFIXES)}); not used as a video",
        )
      )
  return videos, ecg_files


def _past_video_end(rows, video: Path, coding_name: str, subject: str) -> list[Problem]:
  """A problem for each expression of `rows` with a time past the video's last frame."""
  if not rows:
    return []
  try:
    info = video_io.video_info(video)
  except video_io.VideoError:
    return []  # Whoever reads the video reports why it cannot be read.
  found = []
  for e in rows:
    times = {"OnsetTime": e.onset_s, "ApexTime": e.apex_s, "OffsetTime": e.offset_s}
    late = {
      field: (t, frame)
      for (field, t), frame in zip(times.items(), e.frames(info.fps))
      if frame >= info.frame_count
    }
    if late:
      said = " and ".join(
        f"{field} {t:.3f} s (frame {frame})" for field, (t, frame) in late.items()
      )
      found.append(
        Problem(
          "expression_past_video_end",
          f"{coding_name} row {e.row}",
          f"Filename {e.video!r}: {said} {'lies' if len(late) == 1 else 'lie'} past the "
          "last frame of the video "
          f"({info.frame_count} frames = {info.duration_s:.3f} s at {info.fps:g} fps, "
          f"last frame {info.frame_count - 1}); expected times within the video; the "
          "expression is kept as annotated",
          subject,
        )
      )
  return found


def _add_video(videos, stem, path, root, problems):
  if stem in videos:
    problems.append(
      Problem(
        "duplicate_video",
        str(path.relative_to(root)),
        f"trial {stem} also at {videos[stem].relative_to(root)}, which is used",
      )
    )
  else:
    videos[stem] = path


def _ecg_for(stem, parts, ecg_files) -> tuple[Path | None, bool]:
  if stem in ecg_files:
    return ecg_files[stem], True
  for session in (f"{parts['subject']}_{parts['date']}", parts["subject"]):
    if session in ecg_files:
      return ecg_files[session], False
  return None, False
