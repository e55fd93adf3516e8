"""The MECG coding file in the common annotation model: an adapter of its own reader.

`cmcl_jax.data.coding.read_coding_file` reads the file and
`cmcl_jax.data.coding_checks.validate_expressions` finds its quirks; this module
turns both into `Annotations` (times × 150 fps → 0-based frame positions, so
``frames()`` equals the coding reader's frame indices; AUs ``"AU4", "AU7"`` →
``"4+7"``; each check's finding under the column it is about).

Unlike the other readers, the coding reader refuses the whole file when a row is
bad (a non-numeric time, onset after apex, …), listing every bad row in its
`CodingFileError`, so no MECG row is ever skipped here. A file with another
dataset's layout is refused with an `AnnotationFileError` that says which.

Example::

    notes = read("coding_file.xlsx")
    notes.summarize_findings()   # {'dif_mismatch': …, 'near_duplicate': …, ...}
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

from cmcl_jax.data import coding, coding_checks
from cmcl_jax.data.datasets import sheets as sheets_lib
from cmcl_jax.data.datasets.annotations import (
  AnnotationFileError,
  Annotations,
  Expression,
  Finding,
)
from cmcl_jax.data.datasets.rows import (
  finish,
)

FPS = coding.MECG_FPS
"""MECG camera frame rate, frames/s."""
FIELDS = {
  coding_checks.NEAR_DUPLICATE: "OnsetTime",
  coding_checks.OVERLAP: "OnsetTime",
  coding_checks.OFFSET_NOT_MARKED: "OffsetTime",
  coding_checks.STAMP_DURATION_MISMATCH: "OnsetFrame",
  coding_checks.UNKNOWN_EMOTION: "Estimated Emotion",
  coding_checks.DIF_MISMATCH: "dif",
}
"""The column each coding check is about, for the `Finding.field` of its findings."""


def _expression(e: coding.Expression) -> Expression:
  return Expression(
    subject=e.subject,
    video=e.video,
    kind=e.kind,
    onset=e.onset_s * FPS,
    apex=e.apex_s * FPS,
    offset=e.offset_s * FPS,
    fps=FPS,
    action_units="+".join(au.removeprefix("AU") for au in e.action_units),
    emotion=e.emotion,
    row=e.row,
    source=dataclasses.asdict(e),
  )


def read(path: Path) -> Annotations:
  """Read an MECG coding file (.xlsx or .csv); see the module docstring.

  Raises:
    AnnotationFileError: a file with another dataset's layout.
    cmcl_jax.data.coding.CodingFileError: a file the coding reader refuses.
  """
  try:
    sheets = sheets_lib.load_sheets(path)
  except AnnotationFileError:
    sheets = None  # The coding reader says why, in its own terms.
  if sheets is not None and sheets_lib.identify(sheets) not in (None, "mecg"):
    expected = f"a header row with the columns {', '.join(coding.REQUIRED_COLUMNS)}"
    raise sheets_lib.wrong_file(path, sheets, "mecg", expected)
  read_rows = coding.read_coding_file(path)
  results: list[Expression | Finding] = [_expression(e) for e in read_rows]
  results += [
    Finding("", f.row, FIELDS.get(f.code, ""), f.code, f.message, False, f.related_rows)
    for f in coding_checks.validate_expressions(read_rows)
  ]
  return finish(path, "mecg", FPS, results, len(read_rows), onset_field="OnsetTime")
