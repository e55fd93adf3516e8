"""Reader of the CAS(ME)³ Part A spotting annotations (``CAS(ME)3_part_A_v2.xls`` layout).

The format was learned from the public code that reads it:

- zzy188zzy/megc_spotting_code, ``libs/datasets/casme_cube.py`` (MEGC 2024
  spotting): ``pd.read_excel("CAS(ME)3_part_A_v2.xls", sheet_name=0)``, so one
  header row; columns ``Subject`` (``spNO.1``), ``Filename`` (the video, a letter,
  lower-cased before use), ``Onset``, ``Offset`` and ``Expression type``
  (``"Macro-expression"``, anything else taken as micro); a video is
  ``<Subject>_<filename>``.
- tvaranka/meb, ``tools/extract_casme3_part_a.py``: the same workbook, micro rows
  selected by ``Expression type == "Micro-expression"``, frames ``Onset``…``Offset``
  copied from ``part_A/<Subject>/<Filename>/color/<n>.jpg``, so frame numbers are
  the numbers of the frame files. Its ``meb/datasets/datasets.py`` (``Casme3A``)
  reads the ME-only sibling ``cas(me)3_part_A_ME_label_JpgIndex_v2.xlsx`` with the
  same ``Subject, Filename, Onset, Apex, Offset`` columns and ``AU``
  (``+``-separated), and fixes rows of it by hand: one apex, one onset, three
  offsets, and one row whose onset and apex it sets to 1.

So: the header is row 1; columns are found by name (case and spaces ignored, order
not relied on); ``Subject``, ``Filename``, ``Onset``, ``Apex``, ``Offset`` and
``Expression type`` are required, ``AU`` and ``Emotion`` read where present, every
cell kept in `Expression.source`. Frame numbers are taken as 1-based (the first
frame file ``1.jpg``, which meb's fix of an onset to 1 suggests; not confirmed
against the frames). 0 as apex or offset means "not annotated", as in CAS(ME)²,
the same lab's earlier file; 0 as onset makes the row unusable. The type is
compared ignoring case and surrounding spaces, so unlike casme_cube.py an unknown
label is a skipped row, not a micro-expression. The video is
``<Subject>/<filename, lower case>`` (``spNO.1/a``), at 30 fps. The file has no id
per expression (`Expression.name` is "").

Example::

    notes = read("CAS(ME)3_part_A_v2.xlsx")
    notes.expressions[0].video   # 'spNO.1/a'
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from cmcl_jax.data.datasets import sheets as sheets_lib
from cmcl_jax.data.datasets.annotations import (
  INVALID_VALUE,
  MACRO,
  MICRO,
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
"""CAS(ME)³ frame rate, frames/s."""
REQUIRED = ("Subject", "Filename", "Onset", "Apex", "Offset", "Expression type")
OPTIONAL = ("AU", "Emotion")
TYPES = {"macro-expression": MACRO, "micro-expression": MICRO}
NOT_ANNOTATED = {"Apex": (0,), "Offset": (0,)}


def _text(cells: dict[str, Any], field: str) -> str:
  value = cells.get(field)
  if isinstance(value, float) and value.is_integer():
    value = int(value)
  return "" if is_empty(value) else str(value).strip()


def _expression(sheet: str, row: int, cells: dict[str, Any]) -> list[Expression | Finding]:
  subject, video = _text(cells, "Subject"), _text(cells, "Filename").lower()
  for field, value in (("Subject", subject), ("Filename", video)):
    if not value or "/" in value or "\\" in value:
      raise skip(
        sheet, row, field, INVALID_VALUE, f"expected a folder name, got {cells.get(field)!r}"
      )
  kind = TYPES.get(sheets_lib.canonical(cells["Expression type"]))
  if kind is None:
    expected = "'Macro-expression' or 'Micro-expression'"
    raise skip(
      sheet,
      row,
      "Expression type",
      UNKNOWN_TYPE,
      f"expected {expected}, got {cells['Expression type']!r}",
    )
  (onset, apex, offset), results = interval(
    cells, sheet=sheet, row=row, not_annotated=NOT_ANNOTATED
  )
  expression = Expression(
    subject=subject,
    video=f"{subject}/{video}",
    kind=kind,
    onset=onset,
    apex=apex,
    offset=offset,
    fps=FPS,
    action_units=_text(cells, "AU"),
    emotion=_text(cells, "Emotion").lower() or None,
    sheet=sheet,
    row=row,
    source=cells,
  )
  return [expression, *results]


def read(path: Path) -> Annotations:
  """Read a CAS(ME)³ Part A annotation workbook (or its CSV); see the module docstring.

  Raises:
    AnnotationFileError: unreadable, or a first row without the required columns
      (the message says which dataset the file looks like).
  """
  sheets = sheets_lib.load_sheets(path)
  sheet = next(iter(sheets), "")
  rows = sheets.get(sheet, [])
  found = sheets_lib.columns(rows[0]) if rows else {}
  missing = [c for c in REQUIRED if sheets_lib.canonical(c) not in found]
  if missing:
    expected = (
      f"a header row 1 with the columns {', '.join(REQUIRED)} (missing: {', '.join(missing)})"
    )
    raise sheets_lib.wrong_file(path, sheets, "casme3", expected)
  where = sheets_lib.named_columns(rows[0], REQUIRED + OPTIONAL)
  results: list[Expression | Finding] = []
  rows_read = 0
  for row, cells in enumerate(rows[1:], start=2):
    if all(is_empty(c) for c in cells):
      continue
    rows_read += 1
    named = {c: cells[i] if i < len(cells) else None for c, i in where.items()}
    try:
      results += _expression(sheet, row, named)
    except RowSkipped as skipped:
      results.append(skipped.finding)
  return finish(path, "casme3", FPS, results, rows_read)
