"""Reader of the CAS(ME)² spotting annotations (the ``CAS(ME)^2code_final.xlsx`` layout).

Three sheets, no header rows (the MEGC ground truth ``CASME_sq_gt.xlsx``):

- the code sheet (``CASFEcode_final``), one row per expression: subject index,
  clip (``<stem>_<k>``, e.g. ``anger1_1``), onset, apex, offset (1-based frames at
  30 fps), AUs (``4+10+14``, or a bare number), objective class, type
  (``macro-expression`` / ``micro-expression``), emotion.
- ``naming rule1``: participant number, subject code, subject index. On the
  published file it is row-aligned with the code sheet (357 rows), not one row per
  subject; it is read as a mapping, and an index mapped two ways is a finding.
- ``naming rule2``: video code (the text ``'0101'``) → clip stem (``disgust1``).

An expression's video is the raw-folder prefix ``<subject code>/<participant>_<code>``
(``s15/15_0101``): the folders carry a description after the code
(``15_0101disgustingteeth``) that no sheet holds. Sentinels: apex 0 and offset 0
mean "not annotated" (the rules of `annotations`). The emotion ``happyiness`` is
read as ``happiness``, with a finding.

Example::

    notes = read("CASME_sq_gt.xlsx")
    notes.counts()   # 357 expressions: 300 macro, 57 micro, 22 subjects
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from cmcl_jax.data.datasets import sheets as sheets_lib
from cmcl_jax.data.datasets.annotations import (
  EMOTION_CORRECTED,
  INCONSISTENT,
  INVALID_VALUE,
  MACRO,
  MICRO,
  UNKNOWN_CLIP,
  UNKNOWN_SUBJECT,
  UNKNOWN_TYPE,
  Annotations,
  Expression,
  Finding,
)
from cmcl_jax.data.datasets.rows import (
  RowSkipped,
  finish,
  interval,
  is_empty,
  skip,
)

FPS = 30.0
"""CAS(ME)² frame rate, frames/s."""
COLUMNS = (
  "Subject",
  "Clip",
  "Onset",
  "Apex",
  "Offset",
  "AUs",
  "Objective class",
  "Type",
  "Emotion",
)
"""Names given to the code sheet's columns A–I (the sheet has no header)."""
TYPES = {"macro-expression": MACRO, "micro-expression": MICRO}
NOT_ANNOTATED = {"Apex": (0,), "Offset": (0,)}
EMOTION_TYPOS = {"happyiness": "happiness"}
"""Misspelt emotion labels of the published file and what they are read as."""
SUBJECT_SHEET, VIDEO_SHEET = "naming rule1", "naming rule2"
_CLIP = re.compile(r"([a-z]+\d+)_(\d+)")


def _index(value: Any) -> int | None:
  """A whole number in a cell (int, integral float or digits), else None."""
  if isinstance(value, bool):
    return None
  if isinstance(value, float) and value.is_integer():
    return int(value)
  if isinstance(value, int):
    return value
  if isinstance(value, str) and value.strip().isdigit():
    return int(value)
  return None


def _subjects(rows: sheets_lib.Rows) -> tuple[dict[int, tuple[int, str]], list[Finding]]:
  """``{subject index: (participant number, subject code)}`` from ``naming rule1``."""
  mapping: dict[int, tuple[int, str]] = {}
  first_row: dict[int, int] = {}
  findings = []
  for row, cells in enumerate(rows, start=1):
    cells = tuple(cells) + (None,) * 3
    if all(is_empty(c) for c in cells):
      continue
    participant, code, index = _index(cells[0]), cells[1], _index(cells[2])
    if participant is None or index is None or is_empty(code):
      message = (
        f"row {row}: expected participant number, subject code, subject index; "
        f"got {cells[:3]!r}; row not used"
      )
      findings.append(Finding(SUBJECT_SHEET, row, "Subject index", INVALID_VALUE, message))
      continue
    entry = (participant, str(code).strip())
    known = mapping.setdefault(index, entry)
    first_row.setdefault(index, row)
    if known != entry:
      message = (
        f"row {row}: subject index {index} is {entry}, but {known} on row "
        f"{first_row[index]}; the first is used"
      )
      findings.append(Finding(SUBJECT_SHEET, row, "Subject index", INCONSISTENT, message))
  return mapping, findings


def _videos(rows: sheets_lib.Rows) -> tuple[dict[str, str], list[Finding]]:
  """``{clip stem: 4-digit video code}`` from ``naming rule2``."""
  mapping: dict[str, str] = {}
  findings = []
  for row, cells in enumerate(rows, start=1):
    cells = tuple(cells) + (None,) * 2
    if all(is_empty(c) for c in cells):
      continue
    code, stem = _index(cells[0]), cells[1]
    if code is None or is_empty(stem):
      message = f"row {row}: expected video code, clip stem; got {cells[:2]!r}; row not used"
      findings.append(Finding(VIDEO_SHEET, row, "Video code", INVALID_VALUE, message))
      continue
    stem = str(stem).strip().lower()
    if mapping.setdefault(stem, f"{code:04d}") != f"{code:04d}":
      message = (
        f"row {row}: clip stem {stem!r} is code {code:04d} but {mapping[stem]} "
        "before; the first is used"
      )
      findings.append(Finding(VIDEO_SHEET, row, "Video code", INCONSISTENT, message))
  return mapping, findings


def _expression(
  sheet: str,
  row: int,
  cells: dict[str, Any],
  subjects: dict[int, tuple[int, str]],
  videos: dict[str, str],
) -> list[Expression | Finding]:
  index = _index(cells["Subject"])
  if index is None or index not in subjects:
    raise skip(
      sheet,
      row,
      "Subject",
      UNKNOWN_SUBJECT,
      f"subject index {cells['Subject']!r} is not in {SUBJECT_SHEET!r}",
    )
  participant, subject = subjects[index]
  clip = _CLIP.fullmatch(str(cells["Clip"]).strip().lower())
  if clip is None:
    raise skip(
      sheet,
      row,
      "Clip",
      INVALID_VALUE,
      f"expected a clip name such as 'anger1_1', got {cells['Clip']!r}",
    )
  if clip[1] not in videos:
    raise skip(sheet, row, "Clip", UNKNOWN_CLIP, f"clip stem {clip[1]!r} is not in {VIDEO_SHEET!r}")
  kind = TYPES.get(sheets_lib.canonical(cells["Type"]))
  if kind is None:
    raise skip(
      sheet, row, "Type", UNKNOWN_TYPE, f"expected one of {', '.join(TYPES)}, got {cells['Type']!r}"
    )
  (onset, apex, offset), results = interval(
    cells, sheet=sheet, row=row, not_annotated=NOT_ANNOTATED
  )
  emotion = None if is_empty(cells["Emotion"]) else str(cells["Emotion"]).strip().lower()
  if emotion in EMOTION_TYPOS:
    message = f"row {row}, field 'Emotion': {emotion!r} read as {EMOTION_TYPOS[emotion]!r}"
    results.append(Finding(sheet, row, "Emotion", EMOTION_CORRECTED, message))
    emotion = EMOTION_TYPOS[emotion]
  expression = Expression(
    subject=subject,
    video=f"{subject}/{participant}_{videos[clip[1]]}",
    kind=kind,
    onset=onset,
    apex=apex,
    offset=offset,
    fps=FPS,
    name=clip[0],
    action_units="" if is_empty(cells["AUs"]) else str(cells["AUs"]).strip(),
    emotion=emotion,
    sheet=sheet,
    row=row,
    source=cells,
  )
  return [expression, *results]


def read(path: Path) -> Annotations:
  """Read a CAS(ME)² annotation workbook; see the module docstring.

  Raises:
    AnnotationFileError: unreadable, or without the two naming-rule sheets (the
      message says which dataset the file looks like).
  """
  sheets = sheets_lib.load_sheets(path)
  by_name = {sheets_lib.canonical(n): n for n in sheets}
  code_sheets = [n for n in sheets if sheets_lib.canonical(n) not in (SUBJECT_SHEET, VIDEO_SHEET)]
  if SUBJECT_SHEET not in by_name or VIDEO_SHEET not in by_name or not code_sheets:
    expected = f"a code sheet and the sheets {SUBJECT_SHEET!r} and {VIDEO_SHEET!r}"
    raise sheets_lib.wrong_file(path, sheets, "casme2", expected)
  subjects, results = _subjects(sheets[by_name[SUBJECT_SHEET]])
  videos, video_findings = _videos(sheets[by_name[VIDEO_SHEET]])
  results += video_findings
  sheet = code_sheets[0]
  rows_read = 0
  for row, cells in enumerate(sheets[sheet], start=1):
    if all(is_empty(c) for c in cells):
      continue
    rows_read += 1
    named = dict(zip(COLUMNS, tuple(cells) + (None,) * len(COLUMNS)))
    # Cells right of column I have no name in the layout; the source row keeps them.
    extra = enumerate(cells[len(COLUMNS) :], start=len(COLUMNS) + 1)
    named.update({f"column {i}": c for i, c in extra if not is_empty(c)})
    try:
      results += _expression(sheet, row, named, subjects, videos)
    except RowSkipped as skipped:
      results.append(skipped.finding)
  return finish(path, "casme2", FPS, results, rows_read, name_field="Clip")
