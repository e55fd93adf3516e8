"""Annotation workbooks as rows of cells, and which dataset's layout a workbook has.

`load_sheets` reads .xlsx (openpyxl), .xls (pandas with xlrd, where installed) and
.csv (UTF-8, else GB18030, as Excel saves it on a Chinese-locale Windows) into
``{sheet name: [row cells, …]}``; row ``i`` of a list is spreadsheet row ``i + 1``.
`identify` recognises the four layouts from sheet names and headers, so that a
reader handed another dataset's file can say which one it looks like
(`wrong_file`).

Example::

    sheets = load_sheets("SAMMLV_gt.xlsx")
    identify(sheets)   # 'samm_lv'
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import openpyxl

from cmcl_jax.data.datasets.annotations import (
  TITLES,
  AnnotationFileError,
)
from cmcl_jax.data.datasets.rows import (
  is_empty,
)

Rows = list[tuple[Any, ...]]
SAMM_HEADER_SEARCH_ROWS = 20
"""SAMM-LV's header is on row 10, under its notes; it is looked for this far down."""


def canonical(cell: Any) -> str:
  """A header cell compared ignoring case and runs of white space."""
  return re.sub(r"\s+", " ", str(cell)).strip().lower()


def load_sheets(path: Path) -> dict[str, Rows]:
  """Every sheet of ``path`` as rows of cell values (a CSV file is one sheet, "").

  Raises:
    AnnotationFileError: a missing file, an extension other than .xlsx/.xls/.csv,
      an .xls without xlrd installed, or a file its parser cannot read.
  """
  suffix = path.suffix.lower()
  if suffix not in (".xlsx", ".xls", ".csv"):
    raise AnnotationFileError(
      f"{path}: unsupported annotation-file extension {path.suffix!r}; "
      "expected .xlsx, .xls or .csv",
      path=path,
    )
  if not path.is_file():
    raise AnnotationFileError(f"{path}: no such annotation file", path=path)
  try:
    if suffix == ".xlsx":
      workbook = openpyxl.load_workbook(path, read_only=True, data_only=True)
      try:
        return {ws.title: [tuple(r) for r in ws.iter_rows(values_only=True)] for ws in workbook}
      finally:
        workbook.close()
    if suffix == ".xls":
      import pandas as pd  # Only .xls needs it (and xlrd behind it).

      frames = pd.read_excel(path, sheet_name=None, header=None, dtype=object)
      return {
        str(name): [tuple(None if is_empty(c) else c for c in r) for r in f.itertuples(False)]
        for name, f in frames.items()
      }
    return {"": _read_csv(path)}
  except ImportError as err:
    raise AnnotationFileError(
      f"{path}: reading .xls needs the xlrd package ({err}); install xlrd, or save "
      "the workbook as .xlsx",
      path=path,
    ) from err
  except AnnotationFileError:
    raise
  except Exception as err:  # Whatever the parser chokes on, the file is unusable.
    raise AnnotationFileError(
      f"{path}: cannot read the annotation file ({type(err).__name__}: {err}); "
      f"expected a readable {suffix} workbook",
      path=path,
    ) from err


def _read_csv(path: Path) -> Rows:
  data = path.read_bytes()
  for encoding in ("utf-8-sig", "gb18030"):
    try:
      text = data.decode(encoding)
    except UnicodeDecodeError:
      continue
    return [tuple(None if is_empty(c) else c for c in r) for r in csv.reader(io.StringIO(text))]
  raise AnnotationFileError(f"{path}: cannot decode the CSV; expected UTF-8 or GB18030", path=path)


def header_row(rows: Rows, first: Sequence[str]) -> int | None:
  """Index of the first row (within `SAMM_HEADER_SEARCH_ROWS`) starting with ``first``."""
  wanted = [canonical(c) for c in first]
  for index, cells in enumerate(rows[:SAMM_HEADER_SEARCH_ROWS]):
    if [canonical(c) for c in cells[: len(wanted)]] == wanted:
      return index
  return None


def columns(header: Sequence[Any]) -> dict[str, int]:
  """``{canonical header: column index}`` of a header row's non-empty cells."""
  return {canonical(c): i for i, c in reversed(list(enumerate(header))) if not is_empty(c)}


def named_columns(header: Sequence[Any], known: Sequence[str]) -> dict[str, int]:
  """``{field: column index}`` of every header cell: ``known`` fields under their own
  spelling (matched by `canonical`), any other column under its header as written."""
  names = {canonical(n): n for n in known}
  return {names.get(key, str(header[i]).strip()): i for key, i in columns(header).items()}


CASME2_TYPES = ("macro-expression", "micro-expression")
CASME3_HEADER = ("subject", "filename", "onset", "apex", "offset", "expression type")
MECG_HEADER = ("onsettime", "apextime", "offsettime")


def identify(sheets: Mapping[str, Rows]) -> str | None:
  """The dataset whose layout ``sheets`` has, or None when it is none of them."""
  names = {canonical(n) for n in sheets}
  first = next(iter(sheets.values()), [])
  if {"naming rule1", "naming rule2"} <= names:
    return "casme2"
  if header_row(first, ("Subject", "Filename", "Inducement Code")) is not None:
    return "samm_lv"
  header = set(columns(first[0])) if first else set()
  if set(CASME3_HEADER) <= header:
    return "casme3"
  if set(MECG_HEADER) <= {h.replace(" ", "").replace("_", "") for h in header}:
    return "mecg"
  if first and len(first[0]) > 7 and canonical(first[0][7]) in CASME2_TYPES:
    return "casme2"  # The code sheet saved alone, without its naming rules.
  return None


def wrong_file(
  path: Path, sheets: Mapping[str, Rows], dataset: str, expected: str
) -> AnnotationFileError:
  """The error for a file without ``dataset``'s layout, saying what it looks like."""
  if list(sheets) == [""]:
    found = "a CSV table"
  else:
    found = "sheets " + (", ".join(repr(n) for n in sheets) or "none")
  message = f"{path}: not a {TITLES[dataset]} annotation file: expected {expected}; found {found}"
  guess = identify(sheets)
  if guess and guess != dataset:
    message += f"; it looks like a {TITLES[guess]} file (read it with dataset={guess!r})"
  return AnnotationFileError(message, path=path)
