"""The MECG annotation table (the "coding file"): its data model and its reader.

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
field and what was expected); the cells of a row are parsed by
`cmcl_jax.data.coding_cells`. What is readable but suspicious is reported by
`cmcl_jax.data.coding_checks`; `cmcl_jax.data.coding_write` writes the same format
back.

Example::

    expressions = read_coding_file("coding_file.xlsx")
    expressions[0].onset_frame   # frame index at 150 fps
"""

from __future__ import annotations

import dataclasses
import datetime
import io
import re
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import openpyxl
import pandas as pd

from cmcl_jax.data import coding_cells
from cmcl_jax.data import text_files

MECG_FPS = 150.0
"""Frame rate of the MECG camera, frames/s."""

MICRO_MAX_DURATION_MS = 500
"""Paper's rule: an expression is micro when onset→offset ≤ this (ms) ..."""
MICRO_MAX_RISE_MS = 250
"""... or when onset→apex ≤ this (ms)."""

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
  `coding_checks.validate_expressions` only: it takes no part in equality, and
  `coding_write.write_coding_file` recomputes it.

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


def seconds_to_frame(seconds: float, fps: float = MECG_FPS) -> int:
  """Nearest frame index of a time in seconds at ``fps`` frames/s: ``round(t × fps)``.

  This is the convention of the rest of cmcl_jax (the synthetic ground truth
  included). Exact ties are common, since at 150 fps every time with an odd last
  hundredth falls half-way between two frames: they go the way the float product
  falls, then to the even frame (24.33 s → 3649.4999999999995 → frame 3649).
  """
  return round(seconds * fps)


def seconds_to_ms(seconds: float) -> int:
  """Nearest whole millisecond of a time or duration in seconds: ``round(t × 1000)``.

  Times are compared on this grid (the coding file's stamps have millisecond
  resolution), so float noise such as 0.2500000001 s does not decide a rule.
  """
  return round(seconds * 1000.0)


def expression_kind(onset_s: float, apex_s: float, offset_s: float) -> str:
  """The paper's rule: ``"micro"`` when onset→offset ≤ 500 ms or onset→apex ≤ 250 ms.

  Durations (from times in seconds) are rounded to whole milliseconds before the
  comparison, so a 0.25 s rise stored as 0.2500000001 counts as micro.
  """
  duration_ms = seconds_to_ms(offset_s - onset_s)
  rise_ms = seconds_to_ms(apex_s - onset_s)
  micro = duration_ms <= MICRO_MAX_DURATION_MS or rise_ms <= MICRO_MAX_RISE_MS
  return "micro" if micro else "macro"


def _expression(row: int, cells: Mapping[str, Any]) -> Expression:
  """One row's cells (``{column: value}``, present columns only) → `Expression`."""
  onset_s = coding_cells.seconds(cells, "OnsetTime")
  apex_s = coding_cells.seconds(cells, "ApexTime")
  offset_s = coding_cells.seconds(cells, "OffsetTime")
  if apex_s < onset_s:
    raise coding_cells.CellError("ApexTime", f"a time ≥ OnsetTime ({onset_s!r} s)", apex_s)
  if offset_s < apex_s:
    raise coding_cells.CellError("OffsetTime", f"a time ≥ ApexTime ({apex_s!r} s)", offset_s)
  onset_clock, onset_counter = coding_cells.stamp(cells, "OnsetFrame")
  apex_clock, apex_counter = coding_cells.stamp(cells, "ApexFrame")
  offset_clock, offset_counter = coding_cells.stamp(cells, "OffsetFrame")
  dif = cells.get("dif")
  return Expression(
    row=row,
    subject=coding_cells.text(cells, "Subject", "a subject id"),
    video=coding_cells.video(cells),
    marker=coding_cells.integer(
      cells.get("Marker"), "Marker", "an integer trigger marker such as 146"
    ),
    onset_s=onset_s,
    apex_s=apex_s,
    offset_s=offset_s,
    action_units=coding_cells.action_units(cells),
    emotion=coding_cells.text(
      cells, "Estimated Emotion", "an emotion label such as 'happy'"
    ).lower(),
    # Without the column the kind follows the paper's rule.
    kind=(
      coding_cells.kind(cells)
      if "Macro/Micro" in cells
      else expression_kind(onset_s, apex_s, offset_s)
    ),
    onset_clock_s=onset_clock,
    apex_clock_s=apex_clock,
    offset_clock_s=offset_clock,
    onset_counter=onset_counter,
    apex_counter=apex_counter,
    offset_counter=offset_counter,
    annotated_on=coding_cells.annotation_date(cells),
    dif=None
    if coding_cells.is_empty(dif)
    else coding_cells.integer(dif, "dif", "an integer number of frames"),
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
  if not table or all(coding_cells.is_empty(c) for c in table[0]):
    raise CodingFileError(f"{path}: row 1: expected a header row, found none", path=path, row=1)
  rows = [
    (i + 2, cells)
    for i, cells in enumerate(table[1:])
    if not all(coding_cells.is_empty(c) for c in cells)
  ]
  return table[0], rows


def _read_csv(path: Path) -> list[list[Any]]:
  """The cells of a coding-file CSV in whichever encoding Excel saved it
  (`text_files.read_csv_text`: UTF-8, GB18030 or Windows-1252)."""
  try:
    text, _ = text_files.read_csv_text(path)
  except text_files.CsvEncodingError as error:
    raise CodingFileError(str(error), path=path) from None
  frame = pd.read_csv(
    io.StringIO(text), dtype=str, keep_default_na=False, skip_blank_lines=False, header=None
  )
  return frame.to_numpy(dtype=object).tolist()


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
    if coding_cells.is_empty(cell):
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
    found = ", ".join(repr(str(c)) for c in header if not coding_cells.is_empty(c))
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
    except coding_cells.CellError as err:
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
