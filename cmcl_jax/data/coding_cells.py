"""Parse the cells of one coding-file row into typed values.

Each parser takes the row's cells as ``{column name: raw value}`` (the columns of
`cmcl_jax.data.coding.COLUMNS` present in the file; a value is whatever openpyxl or
pandas read: str, int, float, datetime or None) and the column to read, and returns
the typed value or raises `CellError` naming the column, what was expected and what
was found. `cmcl_jax.data.coding.read_coding_file` adds the file and row.

Example::

    seconds({"OnsetTime": "24.33"}, "OnsetTime")   # 24.33
    stamp({"OnsetFrame": "14-31-02-117-512"}, "OnsetFrame")   # (52262.117, 512)
"""

from __future__ import annotations

import datetime
import math
import re
from collections.abc import Mapping
from pathlib import PurePosixPath, PureWindowsPath
from typing import Any

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


class CellError(Exception):
  """A bad cell; `read_coding_file` adds the file and row.

  Attributes:
    field: the column.
    expected: what the cell should hold, in the user's terms.
    value: what it holds.
  """

  def __init__(self, field: str, expected: str, value: Any):
    super().__init__(field)
    self.field = field
    self.expected = expected
    self.value = value


def is_empty(value: Any) -> bool:
  """True for None, NaN and blank strings: a cell the user left empty."""
  if value is None:
    return True
  if isinstance(value, float) and math.isnan(value):
    return True
  return isinstance(value, str) and not value.strip()


def text(cells: Mapping[str, Any], field: str, expected: str) -> str:
  """A non-empty cell as stripped text; whole floats (Excel's 7.0) as "7"."""
  value = cells.get(field)
  if is_empty(value):
    raise CellError(field, expected, value)
  if isinstance(value, float) and value.is_integer():
    value = int(value)
  return str(value).strip()


def seconds(cells: Mapping[str, Any], field: str) -> float:
  """A time in float seconds from the start of the video, finite and ≥ 0."""
  expected = "a time in seconds from the start of the video (a number ≥ 0)"
  value = cells.get(field)
  if is_empty(value) or isinstance(value, bool):
    raise CellError(field, expected, value)
  try:
    result = float(value.strip() if isinstance(value, str) else value)
  except (TypeError, ValueError):
    raise CellError(field, expected, value) from None
  if not math.isfinite(result) or result < 0:
    raise CellError(field, expected, value)
  return result


def integer(value: Any, field: str, expected: str) -> int:
  """A cell value that is a whole number (int, 146.0 or "146") as an int."""
  if isinstance(value, bool):
    raise CellError(field, expected, value)
  if isinstance(value, int):
    return value
  try:
    number = float(value.strip() if isinstance(value, str) else value)
  except (TypeError, ValueError):
    raise CellError(field, expected, value) from None
  if not number.is_integer():
    raise CellError(field, expected, value)
  return int(number)


def video(cells: Mapping[str, Any]) -> str:
  """``Filename``: a path relative to the dataset root that cannot leave it."""
  expected = (
    "a video file name relative to the dataset root (no '..', no absolute path, no drive letter)"
  )
  name = text(cells, "Filename", expected)
  parts = PureWindowsPath(name).parts + PurePosixPath(name).parts
  if name.startswith(("/", "\\")) or _DRIVE.match(name) or ".." in parts or "\0" in name:
    raise CellError("Filename", expected, name)
  return name


def stamp(cells: Mapping[str, Any], field: str) -> tuple[float | None, int | None]:
  """Camera stamp → (float seconds since midnight, frame counter or None).

  (None, None) for an empty cell; the clock has millisecond resolution.
  """
  value = cells.get(field)
  if is_empty(value):
    return None, None
  expected = "a camera stamp HH-MM-SS-mmm or HH-MM-SS-mmm-ccc (24-hour clock)"
  match = _STAMP.fullmatch(value.strip()) if isinstance(value, str) else None
  if match is None:
    raise CellError(field, expected, value)
  hours, minutes, secs, millis = (int(g) for g in match.groups()[:4])
  if hours > 23 or minutes > 59 or secs > 59:
    raise CellError(field, expected, value)
  counter = None if match.group(5) is None else int(match.group(5))
  total_ms = ((hours * 60 + minutes) * 60 + secs) * 1000 + millis
  return total_ms / 1000.0, counter


def action_units(cells: Mapping[str, Any]) -> tuple[str, ...]:
  """``Action Units`` ("AU4, AU7", "AU4+AU7", "4,7", …) → ("AU4", "AU7"), ascending."""
  value = cells.get("Action Units")
  if is_empty(value):
    return ()
  if isinstance(value, float) and value.is_integer():
    value = int(value)
  numbers = set()
  written = re.sub(r"(?i)AU\s+(?=\d)", "AU", str(value).strip())
  for token in _AU_SEPARATORS.split(written):
    match = _AU.fullmatch(token)
    if match is None:
      raise CellError("Action Units", "action units like 'AU4, AU7', 'AU4+AU7' or '4,7'", value)
    numbers.add(int(match.group(1)))
  return tuple(f"AU{n}" for n in sorted(numbers))


def kind(cells: Mapping[str, Any]) -> str:
  """``Macro/Micro`` ("Micro-expression", "ME", "宏表情", …) → "micro" or "macro"."""
  value = cells.get("Macro/Micro")
  word = re.sub(r"[\s_-]+", "", str(value)).lower() if not is_empty(value) else ""
  word = re.sub(r"expressions?$", "", word)
  if word not in _KIND_WORDS:
    raise CellError("Macro/Micro", "'micro' or 'macro' (e.g. 'Micro-expression')", value)
  return _KIND_WORDS[word]


def annotation_date(cells: Mapping[str, Any]) -> datetime.datetime | None:
  """``Date`` (``YYYY年MM月DD日-HH时MM分`` or an Excel date) → datetime, None if empty."""
  value = cells.get("Date")
  if is_empty(value):
    return None
  if isinstance(value, datetime.datetime):
    return value
  match = _DATE.fullmatch(value.strip()) if isinstance(value, str) else None
  expected = "an annotation time like 2024年06月30日-14时31分"
  if match is None:
    raise CellError("Date", expected, value)
  try:
    return datetime.datetime(*(int(g) for g in match.groups()))
  except ValueError:
    raise CellError("Date", expected, value) from None
