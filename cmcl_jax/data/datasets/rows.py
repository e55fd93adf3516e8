"""The rules every annotation reader shares, turning a row's cells into an expression.

- Frames become 0-based positions at the dataset's own frame rate (``frame − 1`` for
  the 1-based files). Fractional frames (SAMM-LV) are kept as floats with a
  ``fractional_frame`` finding per cell; `Expression.frames` rounds them to the
  nearest frame (ties to even). Spreadsheet float noise (within `FLOAT_NOISE` of a
  whole frame) is snapped to that frame without a finding.
- Offset not annotated → offset = apex (``offset_not_annotated``), as the public
  MEGC loaders (SoftNet's ``load_gt``) do; without an apex either, the row is skipped.
- Apex not annotated, or outside [onset, offset] → apex = (onset + offset) / 2
  (``apex_not_annotated`` / ``apex_outside_interval``): the interval, which the MEGC
  protocol scores, stays as annotated.
- A missing, non-numeric or out-of-range onset/offset, an offset before the onset:
  the row is skipped (`skip` raises `RowSkipped`, whose finding says why), as are
  rows the dataset modules find unusable (unknown type label, subject or clip).
- The same expression id twice in a video (``duplicate_name``), or the same frames
  and kind twice (``duplicate_interval``): both rows are kept, the later one flagged
  (`finish`).

Example::

    (onset, apex, offset), findings = interval(
      {"Onset": 557, "Apex": 572, "Offset": 0}, sheet="s", row=3, not_annotated={"Offset": (0,)}
    )
    (onset, apex, offset)   # (556.0, 571.0, 571.0); findings: one offset_not_annotated
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from cmcl_jax.data.datasets.annotations import (
  APEX_NOT_ANNOTATED,
  APEX_OUTSIDE_INTERVAL,
  DUPLICATE_INTERVAL,
  DUPLICATE_NAME,
  FRACTIONAL_FRAME,
  INVALID_VALUE,
  MISSING_FRAME,
  OFFSET_BEFORE_ONSET,
  OFFSET_NOT_ANNOTATED,
  Annotations,
  Expression,
  Finding,
)

FLOAT_NOISE = 1e-6
"""Largest distance (frames) to a whole frame still read as that frame."""


class RowSkipped(Exception):
  """Raised by a dataset's row parser: the row gives no expression; why is ``finding``."""

  def __init__(self, finding: Finding):
    super().__init__(finding.message)
    self.finding = finding


def skip(sheet: str, row: int, field: str, code: str, message: str) -> RowSkipped:
  """The `RowSkipped` of a row, to raise; ``message`` is said after the row and field."""
  return RowSkipped(
    Finding(sheet, row, field, code, f"row {row}, field {field!r}: {message}; row skipped", True)
  )


def is_empty(value: Any) -> bool:
  """True for None, an empty or blank string, and NaN."""
  if value is None:
    return True
  if isinstance(value, float):
    return math.isnan(value)
  return isinstance(value, str) and not value.strip()


def _number(value: Any, sheet: str, row: int, field: str) -> float:
  """A non-empty frame cell as a finite float (numeric text is taken too)."""
  number = None
  if isinstance(value, (int, float)) and not isinstance(value, bool):
    number = float(value)
  elif isinstance(value, str):
    try:
      number = float(value.strip())
    except ValueError:
      pass
  if number is None or not math.isfinite(number):
    raise skip(sheet, row, field, INVALID_VALUE, f"expected a frame number, got {value!r}")
  if abs(number - round(number)) <= FLOAT_NOISE:
    return float(round(number))
  return number


def interval(
  cells: Mapping[str, Any],
  *,
  sheet: str,
  row: int,
  fields: Sequence[str] = ("Onset", "Apex", "Offset"),
  first_frame: int = 1,
  not_annotated: Mapping[str, Iterable[float]] = {},
) -> tuple[tuple[float, float, float], list[Finding]]:
  """The 0-based (onset, apex, offset) of a row's frame cells, by the rules above.

  Args:
    cells: the row's cells by field name.
    fields: names of the onset, apex and offset fields.
    first_frame: the number the file gives the first frame of a video (1 or 0).
    not_annotated: per field, the values that mean "not annotated" (e.g. 0, −1).

  Returns:
    ((onset, apex, offset) as 0-based frames, findings about the row).

  Raises:
    RowSkipped: a frame cell not a number or below ``first_frame``, no onset, no
      offset and no apex, or an offset before the onset.
  """
  values: dict[str, float | None] = {}
  for field in fields:
    raw = cells.get(field)
    value = None if is_empty(raw) else _number(raw, sheet, row, field)
    if value is not None and value in set(not_annotated.get(field, ())):
      value = None
    elif value is not None and value < first_frame:
      expected = f"expected a frame ≥ {first_frame}, got {raw!r}"
      raise skip(sheet, row, field, INVALID_VALUE, expected)
    values[field] = None if value is None else value - first_frame

  def said(field: str) -> str:
    raw = cells.get(field)
    return "empty" if is_empty(raw) else f"{raw!r}, i.e. not annotated"

  onset_f, apex_f, offset_f = fields
  onset, apex, offset = (values[f] for f in fields)
  findings = [
    Finding(
      sheet,
      row,
      f,
      FRACTIONAL_FRAME,
      f"row {row}, field {f!r}: fractional frame {round(values[f] + first_frame, 6)!r}; "
      "kept, frames() rounds it",
    )
    for f in fields
    if values[f] is not None and values[f] != round(values[f])
  ]
  if onset is None:
    raise skip(sheet, row, onset_f, MISSING_FRAME, f"the onset is {said(onset_f)}")
  if offset is None:
    if apex is None:
      raise skip(sheet, row, offset_f, MISSING_FRAME, "neither offset nor apex is annotated")
    offset = apex
    findings.append(
      Finding(
        sheet,
        row,
        offset_f,
        OFFSET_NOT_ANNOTATED,
        f"row {row}, field {offset_f!r}: offset {said(offset_f)}; offset = apex",
      )
    )
  if offset < onset:
    message = f"offset {cells.get(offset_f)!r} is before the onset {cells.get(onset_f)!r}"
    raise skip(sheet, row, offset_f, OFFSET_BEFORE_ONSET, message)
  if apex is None or not onset <= apex <= offset:
    code = APEX_NOT_ANNOTATED if apex is None else APEX_OUTSIDE_INTERVAL
    why = said(apex_f) if apex is None else f"{cells.get(apex_f)!r} is outside [onset, offset]"
    apex = (onset + offset) / 2
    findings.append(
      Finding(sheet, row, apex_f, code, f"row {row}, field {apex_f!r}: apex {why}; apex = middle")
    )
  return (onset, apex, offset), findings


def finish(
  path: Path,
  dataset: str,
  fps: float,
  results: Iterable[Expression | Finding],
  rows_read: int,
  *,
  name_field: str = "",
  onset_field: str = "Onset",
) -> Annotations:
  """`Annotations` from a reader's expressions and findings, adding the duplicate checks.

  Args:
    results: expressions and findings in any order.
    rows_read: number of non-blank data rows the reader saw.
    name_field: field holding `Expression.name`, for ``duplicate_name`` findings.
    onset_field: field named by ``duplicate_interval`` findings.
  """
  results = list(results)
  expressions = tuple(r for r in results if isinstance(r, Expression))
  findings = [r for r in results if isinstance(r, Finding)]
  first_of_name: dict[tuple[str, str], Expression] = {}
  first_of_frames: dict[tuple[str, str, tuple[int, int, int]], Expression] = {}
  for e in expressions:
    if e.name:
      first = first_of_name.setdefault((e.video, e.name), e)
      if first is not e:
        message = (
          f"row {e.row}: expression id {e.name!r} of video {e.video} is also row {first.row}"
        )
        findings.append(
          Finding(e.sheet, e.row, name_field, DUPLICATE_NAME, message, False, (first.row,))
        )
    first = first_of_frames.setdefault((e.video, e.kind, e.frames()), e)
    if first is not e:
      message = f"row {e.row}: same {e.kind} frames {e.frames()} in {e.video} as row {first.row}"
      findings.append(
        Finding(e.sheet, e.row, onset_field, DUPLICATE_INTERVAL, message, False, (first.row,))
      )
  findings.sort(key=lambda f: (f.sheet, f.row, f.code))
  return Annotations(path, dataset, fps, expressions, tuple(findings), rows_read)
