"""Reader of the SAMM Long Videos annotations (``SAMM_LongVideos_V*_Release.xlsx``).

One sheet (``FACS_Movement_Only``): rows of notes, then the header (row 10 on the
MEGC ground truth ``SAMMLV_gt.xlsx``; looked for in the first 20 rows)::

    Subject, Filename, Inducement Code, Onset, Apex, Offset, Duration, Type,
    Action Units, Notes

then one row per movement. ``Filename`` is ``<subject>_<video>_<k>``; the video's
frames are ``SAMM_longvideos/<subject>_<video>/``. Frames are 1-based at 200 fps;
onsets, apexes and offsets can be fractional (kept, see `annotations`); apex −1
means "not annotated". Onset 0 (ten macro rows of the MEGC file, probably movements
already under way when the video starts; SoftNet's loader drops them) is read as the
first frame, with an ``onset_before_video`` finding. ``Type`` is ``Macro`` or
``Micro - 1/2``; the file gives no emotion. Checked against each other, with an
``inconsistent`` finding when they disagree: ``Subject`` and the filename's subject,
``Inducement Code`` and the filename's video, ``Duration`` and offset − onset + 1.

Example::

    notes = read("SAMMLV_gt.xlsx")
    notes.counts()   # 502 movements: 343 macro, 159 micro; 30 subjects, 147 videos
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cmcl_jax.data.datasets import sheets as sheets_lib
from cmcl_jax.data.datasets.annotations import (
  INCONSISTENT,
  INVALID_VALUE,
  MACRO,
  MICRO,
  ONSET_BEFORE_VIDEO,
  UNKNOWN_TYPE,
  Annotations,
  Expression,
  Finding,
)
from cmcl_jax.data.datasets.rows import (
  FLOAT_NOISE,
  RowSkipped,
  finish,
  interval,
  is_empty,
  skip,
)

FPS = 200.0
"""SAMM-LV frame rate, frames/s."""
REQUIRED = ("Subject", "Filename", "Onset", "Apex", "Offset", "Type")
OPTIONAL = ("Inducement Code", "Duration", "Action Units", "Notes")
TYPES = {"macro": MACRO, "micro - 1/2": MICRO}
NOT_ANNOTATED = {"Apex": (-1,)}
_FILENAME = re.compile(r"(\d+)_(\d+)_(\d+)")


def _text(value: Any) -> str:
  """A cell as text: integral floats without ``.0``, stripped."""
  if isinstance(value, float) and value.is_integer():
    value = int(value)
  return "" if is_empty(value) else str(value).strip()


def _checks(sheet: str, row: int, cells: dict[str, Any], name: re.Match) -> list[Finding]:
  """``inconsistent`` findings: Subject, Inducement Code and Duration vs the rest."""
  findings = []
  if _text(cells["Subject"]) != name[1]:
    message = (
      f"row {row}, field 'Subject': {cells['Subject']!r} but the filename's subject is {name[1]!r}"
    )
    findings.append(Finding(sheet, row, "Subject", INCONSISTENT, message))
  code = cells.get("Inducement Code")
  if not is_empty(code) and _text(code).lstrip("0") != name[2].lstrip("0"):
    message = (
      f"row {row}, field 'Inducement Code': {code!r} but the filename's video is {name[2]!r}"
    )
    findings.append(Finding(sheet, row, "Inducement Code", INCONSISTENT, message))
  duration, onset, offset = (cells.get(f) for f in ("Duration", "Onset", "Offset"))
  if not is_empty(duration):
    try:
      expected = float(offset) - float(onset) + 1
      if abs(float(duration) - expected) > FLOAT_NOISE:
        message = (
          f"row {row}, field 'Duration': {duration!r} but offset − onset + 1 is {expected:g}"
        )
        findings.append(Finding(sheet, row, "Duration", INCONSISTENT, message))
    except (TypeError, ValueError):
      message = (
        f"row {row}, field 'Duration': expected a number of frames, got {duration!r}; not checked"
      )
      findings.append(Finding(sheet, row, "Duration", INVALID_VALUE, message))
  return findings


def _expression(sheet: str, row: int, cells: dict[str, Any]) -> list[Expression | Finding]:
  name = _FILENAME.fullmatch(_text(cells["Filename"]))
  if name is None:
    raise skip(
      sheet,
      row,
      "Filename",
      INVALID_VALUE,
      f"expected '<subject>_<video>_<k>' such as '006_1_2', got {cells['Filename']!r}",
    )
  kind = TYPES.get(sheets_lib.canonical(cells["Type"]))
  if kind is None:
    raise skip(
      sheet, row, "Type", UNKNOWN_TYPE, f"expected 'Macro' or 'Micro - 1/2', got {cells['Type']!r}"
    )
  frame_cells, results = cells, []
  onset_cell = cells["Onset"]
  if isinstance(onset_cell, (int, float)) and not isinstance(onset_cell, bool) and onset_cell == 0:
    frame_cells = {**cells, "Onset": 1}
    message = f"row {row}, field 'Onset': 0, before the first frame (1); onset = first frame"
    results.append(Finding(sheet, row, "Onset", ONSET_BEFORE_VIDEO, message))
  (onset, apex, offset), more = interval(
    frame_cells, sheet=sheet, row=row, not_annotated=NOT_ANNOTATED
  )
  results += more
  expression = Expression(
    subject=_text(cells["Subject"]) or name[1],
    video=f"{name[1]}_{name[2]}",
    kind=kind,
    onset=onset,
    apex=apex,
    offset=offset,
    fps=FPS,
    name=name[0],
    action_units=_text(cells.get("Action Units")),
    sheet=sheet,
    row=row,
    source=cells,
  )
  return [expression, *results, *_checks(sheet, row, cells, name)]


def read(path: Path) -> Annotations:
  """Read a SAMM-LV annotation workbook; see the module docstring.

  Raises:
    AnnotationFileError: unreadable, without the header row, or without one of
      its required columns (the message says which dataset the file looks like).
  """
  sheets = sheets_lib.load_sheets(path)
  sheet = next(iter(sheets), "")
  rows = sheets.get(sheet, [])
  header_index = sheets_lib.header_row(rows, ("Subject", "Filename", "Inducement Code"))
  if header_index is None:
    expected = "a first sheet with a header row 'Subject, Filename, Inducement Code, Onset, …'"
    raise sheets_lib.wrong_file(path, sheets, "samm_lv", expected)
  found = sheets_lib.columns(rows[header_index])
  missing = [c for c in REQUIRED if sheets_lib.canonical(c) not in found]
  if missing:
    raise sheets_lib.wrong_file(
      path, sheets, "samm_lv", f"on row {header_index + 1} the columns {', '.join(missing)}"
    )
  where = sheets_lib.named_columns(rows[header_index], REQUIRED + OPTIONAL)
  results: list[Expression | Finding] = []
  rows_read = 0
  for row, cells in enumerate(rows[header_index + 1 :], start=header_index + 2):
    if all(is_empty(c) for c in cells):
      continue
    rows_read += 1
    named = {c: cells[i] if i < len(cells) else None for c, i in where.items()}
    try:
      results += _expression(sheet, row, named)
    except RowSkipped as skipped:
      results.append(skipped.finding)
  return finish(path, "samm_lv", FPS, results, rows_read, name_field="Filename")
