"""Read, check and write the MECG annotation table (the "coding file").

The coding file has one row per annotated facial expression, in the columns the
MECG authors publish::

    Subject, Filename, Marker, OnsetTime, ApexTime, OffsetTime, OnsetFrame,
    ApexFrame, OffsetFrame, Action Units, Estimated Emotion, [Macro/Micro], Date, dif

- ``OnsetTime``/``ApexTime``/``OffsetTime``: seconds from the start of the trial
  video.
- ``OnsetFrame``/``ApexFrame``/``OffsetFrame``: camera stamps ``HH-MM-SS-mmm-ccc`` or
  ``HH-MM-SS-mmm``. ``HH-MM-SS-mmm`` is the wall clock (millisecond resolution).
  The optional fifth field is *not* microseconds: on the published file it is the
  camera's frame counter modulo 1000 (its differences track the wall clock × 150
  fps, it wraps at 1000, and ``dif`` equals its apex−onset difference + 1 on all
  675 rows that have it).
- ``Filename``: ``<emotion>_<index>_<marker>_<subject>_<yyyymmdd>.avi``, relative to
  the dataset root.
- ``Date``: annotation time ``YYYY年MM月DD日-HH时MM分`` (minute resolution).
- ``dif``: apex − onset in frames (150 fps).
- ``Macro/Micro`` (optional): without it the kind follows the paper's rule (see
  `expression_kind`).

Rows are numbered as a spreadsheet user sees them: the header is row 1, the first
expression row 2. Every message uses that numbering.

`read_coding_file` raises `CodingFileError` for a file it cannot take (with file, row,
field and what was expected); `validate_expressions` reports what is readable but
suspicious as `Finding` records; `write_coding_file` writes the same format back.

Example::

    expressions = read_coding_file("coding_file.xlsx")
    findings = validate_expressions(expressions)
    summarize_findings(findings)   # {'near_duplicate': 124, 'overlap': 125, ...}
"""

from __future__ import annotations

import dataclasses
import datetime
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from itertools import combinations
from os import PathLike
from pathlib import Path, PurePosixPath, PureWindowsPath
from typing import Any

import openpyxl
import pandas as pd

MECG_FPS = 150.0
"""Frame rate of the MECG camera, frames/s."""

MICRO_MAX_DURATION_MS = 500
"""Paper's rule: an expression is micro when onset→offset ≤ this (ms) ..."""
MICRO_MAX_RISE_MS = 250
"""... or when onset→apex ≤ this (ms)."""

DUPLICATE_TOLERANCE_S = 0.1
"""Near-duplicate rule: onsets and apexes both within this many seconds."""
DUPLICATE_MIN_IOU = 0.7
"""Near-duplicate rule: or interval IoU ≥ this with the same set of AUs."""
FRAME_TOLERANCE = 2
"""Largest disagreement (frames) tolerated between two sources of one duration."""

KNOWN_EMOTIONS = frozenset(
  {"angry", "contempt", "disgust", "fear", "happy", "sad", "surprise", "tense"}
)
"""Emotion labels taken without a finding: the seven the published coding file uses
(``tense`` replaces the paper's ``contempt``) plus ``contempt``. The paper's noun
forms (``anger``, ``happiness``, …) are flagged on purpose, so that a file mixing
``anger`` and ``angry`` does not silently split one class in two."""

COLUMNS = (
  "Subject",
  "Filename",
  "Marker",
  "OnsetTime",
  "ApexTime",
  "OffsetTime",
  "OnsetFrame",
  "ApexFrame",
  "OffsetFrame",
  "Action Units",
  "Estimated Emotion",
  "Macro/Micro",
  "Date",
  "dif",
)
"""All columns of the published format, in order; ``Macro/Micro`` is optional."""
OPTIONAL_COLUMNS = ("OnsetFrame", "ApexFrame", "OffsetFrame", "Macro/Micro", "Date", "dif")
REQUIRED_COLUMNS = tuple(c for c in COLUMNS if c not in OPTIONAL_COLUMNS)
"""Columns a coding file must have; the stamps, ``Date`` and ``dif`` may be absent
(their values are then None)."""

NEAR_DUPLICATE = "near_duplicate"
OVERLAP = "overlap"
OFFSET_NOT_MARKED = "offset_not_marked"
STAMP_DURATION_MISMATCH = "stamp_duration_mismatch"
UNKNOWN_EMOTION = "unknown_emotion"
DIF_MISMATCH = "dif_mismatch"
FINDING_CODES = (
  NEAR_DUPLICATE,
  OVERLAP,
  OFFSET_NOT_MARKED,
  STAMP_DURATION_MISMATCH,
  UNKNOWN_EMOTION,
  DIF_MISMATCH,
)

_KIND_WORDS = {
  "micro": "micro",
  "me": "micro",
  "微表情": "micro",
  "macro": "macro",
  "mae": "macro",
  "宏表情": "macro",
}
_STAMP = re.compile(r"(\d{2})-(\d{2})-(\d{2})-(\d{3})(?:-(\d{1,4}))?")
_DATE = re.compile(r"(\d{4})年(\d{1,2})月(\d{1,2})日\s*-?\s*(\d{1,2})时(\d{1,2})分")
_AU = re.compile(r"(?:AU)?0*(\d+)", re.IGNORECASE)
_AU_SEPARATORS = re.compile(r"[,+;，、\s]+")
_DRIVE = re.compile(r"^[A-Za-z]:")
_MAX_LISTED_ROWS = 10


class CodingFileError(ValueError):
  """A coding file that cannot be read; the message names file, row and field.

  Attributes:
    path: the file.
    row: spreadsheet row of the (first) error, 1 for the header; None for
      whole-file errors.
    field: column of the (first) error, or None.
    errors: every row error found, one message each (the first is in the
      exception message).
  """

  def __init__(
    self,
    message: str,
    *,
    path: str | PathLike,
    row: int | None = None,
    field: str | None = None,
    errors: Sequence[str] = (),
  ):
    super().__init__(message)
    self.path = Path(path)
    self.row = row
    self.field = field
    self.errors = tuple(errors) or (message,)


@dataclasses.dataclass(frozen=True)
class Expression:
  """One annotated expression (one coding-file row).

  Times ``*_s`` are float seconds from the start of the trial video; ``*_clock_s``
  are the camera wall-clock stamps in float seconds since midnight (millisecond
  resolution), None where the stamp cell is empty; ``*_counter`` are the camera
  frame counters (modulo 1000) from the stamps' optional fifth field, None where
  absent. ``dif`` is the file's own apex−onset in frames, kept for
  `validate_expressions` only: it takes no part in equality, and
  `write_coding_file` recomputes it.

  Attributes:
    row: spreadsheet row (header = 1, first expression = 2).
    subject: subject id as written in the file.
    video: ``Filename``, a path relative to the dataset root.
    marker: trial trigger marker (e.g. 101…148).
    action_units: e.g. ``("AU4", "AU7")``, ascending AU number, no repeats.
    emotion: lower-case label, e.g. ``"happy"``.
    kind: ``"micro"`` or ``"macro"``.
    annotated_on: time of annotation (minute resolution) or None.
  """

  row: int
  subject: str
  video: str
  marker: int
  onset_s: float
  apex_s: float
  offset_s: float
  action_units: tuple[str, ...]
  emotion: str
  kind: str
  onset_clock_s: float | None = None
  apex_clock_s: float | None = None
  offset_clock_s: float | None = None
  onset_counter: int | None = None
  apex_counter: int | None = None
  offset_counter: int | None = None
  annotated_on: datetime.datetime | None = None
  dif: int | None = dataclasses.field(default=None, compare=False)

  def frames(self, fps: float = MECG_FPS) -> tuple[int, int, int]:
    """(onset, apex, offset) nearest frame indices at ``fps`` frames/s."""
    return (
      seconds_to_frame(self.onset_s, fps),
      seconds_to_frame(self.apex_s, fps),
      seconds_to_frame(self.offset_s, fps),
    )

  @property
  def onset_frame(self) -> int:
    """Onset frame index at the MECG 150 fps."""
    return self.frames()[0]

  @property
  def apex_frame(self) -> int:
    """Apex frame index at the MECG 150 fps."""
    return self.frames()[1]

  @property
  def offset_frame(self) -> int:
    """Offset frame index at the MECG 150 fps."""
    return self.frames()[2]


@dataclasses.dataclass(frozen=True)
class Finding:
  """A readable but suspicious coding-file entry.

  Attributes:
    row: spreadsheet row the finding is about.
    code: one of `FINDING_CODES`.
    message: what is wrong, in the file's terms (rows, columns, seconds, frames).
    related_rows: other rows involved (the other half of a duplicate or overlap).
  """

  row: int
  code: str
  message: str
  related_rows: tuple[int, ...] = ()


def seconds_to_frame(seconds: float, fps: float = MECG_FPS) -> int:
  """Nearest frame index of a time in seconds at ``fps`` frames/s: ``round(t × fps)``.

  This is the convention of the rest of cmcl_jax (the synthetic ground truth
  included). Exact ties are common, since at 150 fps every time with an odd last
  hundredth falls half-way between two frames: they go the way the float product
  falls, then to the even frame (24.33 s → 3649.4999999999995 → frame 3649).
  """
  return round(seconds * fps)


def expression_kind(onset_s: float, apex_s: float, offset_s: float) -> str:
  """The paper's rule: ``"micro"`` when onset→offset ≤ 500 ms or onset→apex ≤ 250 ms.

  Durations (from times in seconds) are rounded to whole milliseconds before the
  comparison, so a 0.25 s rise stored as 0.2500000001 counts as micro.
  """
  duration_ms = round((offset_s - onset_s) * 1000.0)
  rise_ms = round((apex_s - onset_s) * 1000.0)
  micro = duration_ms <= MICRO_MAX_DURATION_MS or rise_ms <= MICRO_MAX_RISE_MS
  return "micro" if micro else "macro"


class _FieldError(Exception):
  """A bad cell; `read_coding_file` adds the file and row."""

  def __init__(self, field: str, expected: str, value: Any):
    super().__init__(field)
    self.field = field
    self.expected = expected
    self.value = value


def _is_empty(value: Any) -> bool:
  if value is None:
    return True
  if isinstance(value, float) and math.isnan(value):
    return True
  return isinstance(value, str) and not value.strip()


def _text(cells: Mapping[str, Any], field: str, expected: str) -> str:
  value = cells.get(field)
  if _is_empty(value):
    raise _FieldError(field, expected, value)
  if isinstance(value, float) and value.is_integer():
    value = int(value)
  return str(value).strip()


def _time(cells: Mapping[str, Any], field: str) -> float:
  expected = "a time in seconds from the start of the video (a number ≥ 0)"
  value = cells.get(field)
  if _is_empty(value) or isinstance(value, bool):
    raise _FieldError(field, expected, value)
  try:
    seconds = float(value.strip() if isinstance(value, str) else value)
  except (TypeError, ValueError):
    raise _FieldError(field, expected, value) from None
  if not math.isfinite(seconds) or seconds < 0:
    raise _FieldError(field, expected, value)
  return seconds


def _integer(value: Any, field: str, expected: str) -> int:
  if isinstance(value, bool):
    raise _FieldError(field, expected, value)
  if isinstance(value, int):
    return value
  try:
    number = float(value.strip() if isinstance(value, str) else value)
  except (TypeError, ValueError):
    raise _FieldError(field, expected, value) from None
  if not number.is_integer():
    raise _FieldError(field, expected, value)
  return int(number)


def _video(cells: Mapping[str, Any]) -> str:
  expected = (
    "a video file name relative to the dataset root (no '..', no absolute path, no drive letter)"
  )
  name = _text(cells, "Filename", expected)
  parts = PureWindowsPath(name).parts + PurePosixPath(name).parts
  if name.startswith(("/", "\\")) or _DRIVE.match(name) or ".." in parts or "\0" in name:
    raise _FieldError("Filename", expected, name)
  return name


def _stamp(cells: Mapping[str, Any], field: str) -> tuple[float | None, int | None]:
  """Camera stamp → (seconds since midnight, frame counter or None)."""
  value = cells.get(field)
  if _is_empty(value):
    return None, None
  expected = "a camera stamp HH-MM-SS-mmm or HH-MM-SS-mmm-ccc (24-hour clock)"
  match = _STAMP.fullmatch(value.strip()) if isinstance(value, str) else None
  if match is None:
    raise _FieldError(field, expected, value)
  hours, minutes, seconds, millis = (int(g) for g in match.groups()[:4])
  if hours > 23 or minutes > 59 or seconds > 59:
    raise _FieldError(field, expected, value)
  counter = None if match.group(5) is None else int(match.group(5))
  total_ms = ((hours * 60 + minutes) * 60 + seconds) * 1000 + millis
  return total_ms / 1000.0, counter


def _action_units(cells: Mapping[str, Any]) -> tuple[str, ...]:
  value = cells.get("Action Units")
  if _is_empty(value):
    return ()
  if isinstance(value, float) and value.is_integer():
    value = int(value)
  numbers = set()
  text = re.sub(r"(?i)AU\s+(?=\d)", "AU", str(value).strip())
  for token in _AU_SEPARATORS.split(text):
    match = _AU.fullmatch(token)
    if match is None:
      raise _FieldError("Action Units", "action units like 'AU4, AU7', 'AU4+AU7' or '4,7'", value)
    numbers.add(int(match.group(1)))
  return tuple(f"AU{n}" for n in sorted(numbers))


def _kind(cells: Mapping[str, Any], onset_s: float, apex_s: float, offset_s: float) -> str:
  if "Macro/Micro" not in cells:
    return expression_kind(onset_s, apex_s, offset_s)
  value = cells["Macro/Micro"]
  word = re.sub(r"[\s_-]+", "", str(value)).lower() if not _is_empty(value) else ""
  word = re.sub(r"expressions?$", "", word)
  if word not in _KIND_WORDS:
    raise _FieldError("Macro/Micro", "'micro' or 'macro' (e.g. 'Micro-expression')", value)
  return _KIND_WORDS[word]


def _date(cells: Mapping[str, Any]) -> datetime.datetime | None:
  value = cells.get("Date")
  if _is_empty(value):
    return None
  if isinstance(value, datetime.datetime):
    return value
  match = _DATE.fullmatch(value.strip()) if isinstance(value, str) else None
  expected = "an annotation time like 2024年06月30日-14时31分"
  if match is None:
    raise _FieldError("Date", expected, value)
  try:
    return datetime.datetime(*(int(g) for g in match.groups()))
  except ValueError:
    raise _FieldError("Date", expected, value) from None


def _expression(row: int, cells: Mapping[str, Any]) -> Expression:
  onset_s = _time(cells, "OnsetTime")
  apex_s = _time(cells, "ApexTime")
  offset_s = _time(cells, "OffsetTime")
  if apex_s < onset_s:
    raise _FieldError("ApexTime", f"a time ≥ OnsetTime ({onset_s!r} s)", apex_s)
  if offset_s < apex_s:
    raise _FieldError("OffsetTime", f"a time ≥ ApexTime ({apex_s!r} s)", offset_s)
  onset_clock, onset_counter = _stamp(cells, "OnsetFrame")
  apex_clock, apex_counter = _stamp(cells, "ApexFrame")
  offset_clock, offset_counter = _stamp(cells, "OffsetFrame")
  dif = cells.get("dif")
  return Expression(
    row=row,
    subject=_text(cells, "Subject", "a subject id"),
    video=_video(cells),
    marker=_integer(cells.get("Marker"), "Marker", "an integer trigger marker such as 146"),
    onset_s=onset_s,
    apex_s=apex_s,
    offset_s=offset_s,
    action_units=_action_units(cells),
    emotion=_text(cells, "Estimated Emotion", "an emotion label such as 'happy'").lower(),
    kind=_kind(cells, onset_s, apex_s, offset_s),
    onset_clock_s=onset_clock,
    apex_clock_s=apex_clock,
    offset_clock_s=offset_clock,
    onset_counter=onset_counter,
    apex_counter=apex_counter,
    offset_counter=offset_counter,
    annotated_on=_date(cells),
    dif=None if _is_empty(dif) else _integer(dif, "dif", "an integer number of frames"),
  )


def _canonical_column(name: Any) -> str:
  return re.sub(r"[\s_]+", "", str(name)).lower()


_CANONICAL = {_canonical_column(c): c for c in COLUMNS} | {"micro/macro": "Macro/Micro"}


def _read_table(path: Path) -> tuple[list[Any], list[tuple[int, list[Any]]]]:
  """Header cells and (spreadsheet row, cells) of every non-blank row."""
  suffix = path.suffix.lower()
  if suffix not in (".xlsx", ".csv"):
    raise CodingFileError(
      f"{path}: unsupported coding-file extension {path.suffix!r}; expected .xlsx or .csv",
      path=path,
    )
  if not path.is_file():
    raise CodingFileError(f"{path}: no such coding file", path=path)
  try:
    if suffix == ".xlsx":
      workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
      try:
        table = [list(r) for r in workbook.worksheets[0].iter_rows(values_only=True)]
      finally:
        workbook.close()
    else:
      table = _read_csv(path)
  except CodingFileError:
    raise
  except Exception as err:  # Whatever the parser chokes on, the file is unusable.
    raise CodingFileError(
      f"{path}: cannot read the coding file ({type(err).__name__}: {err}); "
      f"expected a readable {suffix} table with a header row",
      path=path,
    ) from err
  if not table or all(_is_empty(c) for c in table[0]):
    raise CodingFileError(f"{path}: row 1: expected a header row, found none", path=path, row=1)
  rows = [
    (i + 2, cells) for i, cells in enumerate(table[1:]) if not all(_is_empty(c) for c in cells)
  ]
  return table[0], rows


def _read_csv(path: Path) -> list[list[Any]]:
  # Excel on a Chinese-locale Windows saves CSV as GBK, hence the fallback.
  for encoding in ("utf-8-sig", "gb18030"):
    try:
      frame = pd.read_csv(
        path,
        dtype=str,
        keep_default_na=False,
        skip_blank_lines=False,
        header=None,
        encoding=encoding,
      )
      return frame.to_numpy(dtype=object).tolist()
    except UnicodeDecodeError:
      continue
  raise CodingFileError(f"{path}: cannot decode the CSV; expected UTF-8 or GB18030 text", path=path)


def read_coding_file(path: str | PathLike) -> list[Expression]:
  """Read a coding file (.xlsx, first sheet; or .csv) into expressions.

  Column names are matched ignoring case, spaces and underscores; unknown columns
  are ignored; fully blank rows are skipped (row numbers still count them).

  Args:
    path: the .xlsx or .csv file.

  Returns:
    One `Expression` per non-blank row, in file order.

  Raises:
    CodingFileError: unsupported extension, missing or unreadable file, missing
      required columns, or bad cells (empty/non-numeric/negative time, onset >
      apex or apex > offset, malformed stamp or date, unsafe filename, non-integer
      marker or dif, unknown Macro/Micro value, bad AU list). All rows are checked;
      the message gives the first bad row in full and lists the others.
  """
  path = Path(path)
  header, rows = _read_table(path)
  names: dict[str, int] = {}
  for index, cell in enumerate(header):
    if _is_empty(cell):
      continue
    name = _CANONICAL.get(_canonical_column(cell))
    if name is None:
      continue
    if name in names:
      raise CodingFileError(
        f"{path}: row 1: column {name!r} appears twice; expected each column once",
        path=path,
        row=1,
        field=name,
      )
    names[name] = index
  missing = [c for c in REQUIRED_COLUMNS if c not in names]
  if missing:
    found = ", ".join(repr(str(c)) for c in header if not _is_empty(c))
    raise CodingFileError(
      f"{path}: row 1 (header): missing required column(s) "
      f"{', '.join(map(repr, missing))}; found columns: {found or 'none'}",
      path=path,
      row=1,
      field=missing[0],
    )

  expressions, errors = [], []
  for row, cells in rows:
    named = {name: cells[i] if i < len(cells) else None for name, i in names.items()}
    try:
      expressions.append(_expression(row, named))
    except _FieldError as err:
      errors.append(
        (
          row,
          err.field,
          f"{path}: row {row}, field {err.field!r}: expected {err.expected}, got {err.value!r}",
        )
      )
  if errors:
    row, field, message = errors[0]
    others = [str(r) for r, _, _ in errors[1:]]
    if others:
      more = ", …" if len(others) > _MAX_LISTED_ROWS else ""
      message += (
        f" ({len(others)} more row(s) with errors: rows "
        f"{', '.join(others[:_MAX_LISTED_ROWS])}{more}; see "
        "CodingFileError.errors)"
      )
    raise CodingFileError(
      message, path=path, row=row, field=field, errors=[m for _, _, m in errors]
    )
  return expressions


def _ms(seconds: float) -> int:
  return round(seconds * 1000.0)


def _iou(a: Expression, b: Expression) -> float:
  """IoU of the [onset, offset] intervals, on whole milliseconds."""
  inter = min(_ms(a.offset_s), _ms(b.offset_s)) - max(_ms(a.onset_s), _ms(b.onset_s))
  union = max(_ms(a.offset_s), _ms(b.offset_s)) - min(_ms(a.onset_s), _ms(b.onset_s))
  if inter < 0:
    return 0.0
  return 1.0 if union == 0 else inter / union


def _intersect(a: Expression, b: Expression) -> bool:
  return max(_ms(a.onset_s), _ms(b.onset_s)) < min(_ms(a.offset_s), _ms(b.offset_s))


def _later_first(a: Expression, b: Expression) -> tuple[Expression, Expression]:
  """(re-annotation, original): the later annotation date, else the later row."""
  if a.annotated_on and b.annotated_on and a.annotated_on != b.annotated_on:
    return (a, b) if a.annotated_on > b.annotated_on else (b, a)
  return (a, b) if a.row > b.row else (b, a)


def _when(e: Expression) -> str:
  return e.annotated_on.strftime("%Y-%m-%d %H:%M") if e.annotated_on else "undated"


def _pair_findings(
  expressions: Sequence[Expression], tolerance_ms: int, min_iou: float
) -> list[Finding]:
  by_video: dict[str, list[Expression]] = {}
  for e in expressions:
    by_video.setdefault(e.video, []).append(e)
  findings = []
  for video, group in by_video.items():
    for a, b in combinations(group, 2):
      d_onset = abs(_ms(a.onset_s) - _ms(b.onset_s))
      d_apex = abs(_ms(a.apex_s) - _ms(b.apex_s))
      iou = _iou(a, b)
      close = d_onset <= tolerance_ms and d_apex <= tolerance_ms
      if close or (iou >= min_iou and a.action_units == b.action_units):
        new, old = _later_first(a, b)
        findings.append(
          Finding(
            new.row,
            NEAR_DUPLICATE,
            f"row {new.row} ({_when(new)}) re-annotates the expression of row "
            f"{old.row} ({_when(old)}) in {video}: onsets differ by "
            f"{d_onset / 1000:.3f} s, apexes by {d_apex / 1000:.3f} s, "
            f"IoU {iou:.2f}, AUs {','.join(new.action_units)} vs "
            f"{','.join(old.action_units)}",
            (old.row,),
          )
        )
      elif _intersect(a, b):
        first, second = sorted((a, b), key=lambda e: e.row)
        findings.append(
          Finding(
            second.row,
            OVERLAP,
            f"row {second.row} [{second.onset_s}, {second.offset_s}] s overlaps "
            f"row {first.row} [{first.onset_s}, {first.offset_s}] s in {video} "
            f"(IoU {iou:.2f}, not a near-duplicate)",
            (first.row,),
          )
        )
  return findings


def _stamp_finding(e: Expression, fps: float, tolerance: int) -> Finding | None:
  problems = []
  for name, start_clock, end_clock, start_s, end_s in (
    ("onset→apex", e.onset_clock_s, e.apex_clock_s, e.onset_s, e.apex_s),
    ("onset→offset", e.onset_clock_s, e.offset_clock_s, e.onset_s, e.offset_s),
  ):
    if start_clock is None or end_clock is None:
      continue
    by_clock = (end_clock - start_clock) * fps
    by_time = (end_s - start_s) * fps
    if abs(by_clock - by_time) > tolerance:
      problems.append(
        f"{name} is {by_clock:.1f} frames by the stamps but {by_time:.1f} by the times"
      )
  if not problems:
    return None
  return Finding(
    e.row,
    STAMP_DURATION_MISMATCH,
    f"row {e.row}: {'; '.join(problems)} (at {fps:g} fps, tolerance {tolerance} frames)",
  )


def _dif_finding(e: Expression, fps: float, tolerance: int) -> Finding | None:
  onset, apex, _ = e.frames(fps)
  if e.dif is None or abs(e.dif - (apex - onset)) <= tolerance:
    return None
  message = (
    f"row {e.row}: dif is {e.dif} but ApexTime−OnsetTime is "
    f"{apex - onset} frames at {fps:g} fps (tolerance {tolerance})"
  )
  if e.onset_counter is None and e.onset_clock_s is not None and e.apex_clock_s is not None:
    ms_field_diff = (_ms(e.apex_clock_s) - _ms(e.onset_clock_s)) % 1000
    if e.dif == ms_field_diff + 1:
      message += (
        "; it equals the stamps' millisecond-field difference + 1, the "
        "frame-counter formula applied to stamps without a counter"
      )
  return Finding(e.row, DIF_MISMATCH, message)


def validate_expressions(
  expressions: Sequence[Expression],
  fps: float = MECG_FPS,
  *,
  duplicate_tolerance_s: float = DUPLICATE_TOLERANCE_S,
  duplicate_min_iou: float = DUPLICATE_MIN_IOU,
  frame_tolerance: int = FRAME_TOLERANCE,
) -> list[Finding]:
  """Check readable expressions for suspicious entries; never raises on data.

  Rules (times compared on whole milliseconds):

  - ``near_duplicate``: two rows of the same video whose onsets and apexes both
    differ by ≤ ``duplicate_tolerance_s`` (0.1 s), or whose [onset, offset]
    intervals have IoU ≥ ``duplicate_min_iou`` (0.7) with the same AU set. The
    finding is on the re-annotation (later ``Date``, else later row);
    ``related_rows`` holds the other row.
  - ``overlap``: two rows of the same video whose [onset, offset] intervals share
    more than an end point and are not near-duplicates; on the later row.
  - ``offset_not_marked``: OffsetTime equals ApexTime.
  - ``stamp_duration_mismatch``: onset→apex or onset→offset from the camera stamps
    (wall clock) and from the times differ by > ``frame_tolerance`` frames
    (2) at ``fps``; rows without both stamps are not checked.
  - ``unknown_emotion``: label not in `KNOWN_EMOTIONS`.
  - ``dif_mismatch``: ``dif`` differs from apex − onset frames (from the times, at
    ``fps``) by > ``frame_tolerance`` frames. The published file's ``dif`` is the
    stamps' counter difference + 1, within tolerance where the stamps carry a
    frame counter; where they do not, the authors' formula produced a millisecond
    difference, and the message says so.

  Args:
    expressions: as returned by `read_coding_file`.
    fps: video frame rate, frames/s.

  Returns:
    Findings sorted by row, then code.
  """
  findings = _pair_findings(expressions, _ms(duplicate_tolerance_s), duplicate_min_iou)
  for e in expressions:
    if _ms(e.offset_s) == _ms(e.apex_s):
      findings.append(
        Finding(
          e.row,
          OFFSET_NOT_MARKED,
          f"row {e.row}: OffsetTime equals ApexTime "
          f"({e.apex_s} s); the offset was probably not "
          "marked",
        )
      )
    if e.emotion not in KNOWN_EMOTIONS:
      findings.append(
        Finding(
          e.row,
          UNKNOWN_EMOTION,
          f"row {e.row}: emotion {e.emotion!r} is not one of {', '.join(sorted(KNOWN_EMOTIONS))}",
        )
      )
    findings.extend(
      f
      for f in (_stamp_finding(e, fps, frame_tolerance), _dif_finding(e, fps, frame_tolerance))
      if f
    )
  return sorted(findings, key=lambda f: (f.row, FINDING_CODES.index(f.code), f.related_rows))


def summarize_findings(findings: Iterable[Finding]) -> dict[str, int]:
  """Number of findings per code, every code of `FINDING_CODES` listed (0 too)."""
  counts = dict.fromkeys(FINDING_CODES, 0)
  for finding in findings:
    counts[finding.code] += 1
  return counts


def _format_stamp(clock_s: float | None, counter: int | None) -> str | None:
  if clock_s is None:
    if counter is not None:
      raise ValueError("a frame counter needs its clock stamp")
    return None
  total_ms = _ms(clock_s)
  seconds, millis = divmod(total_ms, 1000)
  minutes, seconds = divmod(seconds, 60)
  hours, minutes = divmod(minutes, 60)
  stamp = f"{hours:02d}-{minutes:02d}-{seconds:02d}-{millis:03d}"
  return stamp if counter is None else f"{stamp}-{counter:03d}"


def _format_date(when: datetime.datetime | None) -> str | None:
  if when is None:
    return None
  return f"{when.year:04d}年{when.month:02d}月{when.day:02d}日-{when.hour:02d}时{when.minute:02d}分"


def write_coding_file(
  expressions: Iterable[Expression],
  path: str | PathLike,
  *,
  include_kind_column: bool = False,
  fps: float = MECG_FPS,
) -> Path:
  """Write expressions in the published coding-file format (.xlsx or .csv).

  Rows are written in the given order (so read back as rows 2, 3, …). Times are
  written as given (seconds); stamps as ``HH-MM-SS-mmm-ccc`` (``HH-MM-SS-mmm``
  where the counter is None, empty where the clock is None), so clocks keep
  millisecond resolution; ``Date`` as ``YYYY年MM月DD日-HH时MM分`` (seconds are
  dropped); ``Action Units`` as ``"AU4, AU7"``; ``dif`` recomputed as apex − onset
  frames at ``fps``. CSV is UTF-8 with a byte-order mark, which Excel opens
  correctly.

  Args:
    expressions: what to write.
    path: destination; its extension chooses the format.
    include_kind_column: write the ``Macro/Micro`` column. Without it a reader
      re-derives the kind from the paper's rule, so every expression's kind must
      agree with `expression_kind`.
    fps: frame rate for ``dif``, frames/s.

  Returns:
    ``path`` as a `Path`, so that ``read_coding_file(write_coding_file(x, p)) == x``
    for expressions numbered from row 2.

  Raises:
    CodingFileError: unsupported extension.
    ValueError: an expression whose kind disagrees with the paper's rule while
      ``include_kind_column`` is False, or a counter without its clock.
  """
  path = Path(path)
  suffix = path.suffix.lower()
  if suffix not in (".xlsx", ".csv"):
    raise CodingFileError(
      f"{path}: unsupported coding-file extension {path.suffix!r}; expected .xlsx or .csv",
      path=path,
    )
  columns = [c for c in COLUMNS if include_kind_column or c != "Macro/Micro"]
  records = []
  for e in expressions:
    if not include_kind_column and e.kind != expression_kind(e.onset_s, e.apex_s, e.offset_s):
      raise ValueError(
        f"expression of row {e.row} ({e.video}) is {e.kind!r} but the paper's "
        "rule makes it "
        f"{expression_kind(e.onset_s, e.apex_s, e.offset_s)!r}; pass "
        "include_kind_column=True to keep it"
      )
    onset, apex, _ = e.frames(fps)
    record = {
      "Subject": e.subject,
      "Filename": e.video,
      "Marker": e.marker,
      "OnsetTime": e.onset_s,
      "ApexTime": e.apex_s,
      "OffsetTime": e.offset_s,
      "OnsetFrame": _format_stamp(e.onset_clock_s, e.onset_counter),
      "ApexFrame": _format_stamp(e.apex_clock_s, e.apex_counter),
      "OffsetFrame": _format_stamp(e.offset_clock_s, e.offset_counter),
      "Action Units": ", ".join(e.action_units),
      "Estimated Emotion": e.emotion,
      "Macro/Micro": e.kind,
      "Date": _format_date(e.annotated_on),
      "dif": apex - onset,
    }
    records.append([record[c] for c in columns])
  if suffix == ".csv":
    pd.DataFrame(records, columns=columns).to_csv(path, index=False, encoding="utf-8-sig")
  else:
    workbook = openpyxl.Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(columns)
    for record in records:
      sheet.append(record)
    workbook.save(path)
  return path
