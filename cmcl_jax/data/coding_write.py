"""Write expressions as an MECG coding file (.xlsx or .csv, the published columns).

The inverse of `cmcl_jax.data.coding.read_coding_file`; the synthetic generator
(`cmcl_jax.data.synthetic.generate`) writes the coding file of its fake raw layout
with it.

Example::

    path = write_coding_file(expressions, "copy.csv")
    coding.read_coding_file(path) == expressions   # rows numbered from 2, as read
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable
from os import PathLike
from pathlib import Path

import openpyxl
import pandas as pd

from cmcl_jax.data.coding import (
  COLUMNS,
  MECG_FPS,
  CodingFileError,
  Expression,
  expression_kind,
  seconds_to_ms,
)


def _format_stamp(clock_s: float | None, counter: int | None) -> str | None:
  if clock_s is None:
    if counter is not None:
      raise ValueError("a frame counter needs its clock stamp")
    return None
  total_ms = seconds_to_ms(clock_s)
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
