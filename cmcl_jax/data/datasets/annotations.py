"""The common annotation model of the spotting datasets, and `read_annotations`.

Each dataset's annotation file (CAS(ME)², SAMM-LV, CAS(ME)³ Part A, MECG) is read
into one `Annotations`: its `Expression`s (subject, video, kind, 0-based onset/apex/
offset frames, AUs, emotion, source row) and its `Finding`s, every quirk met on the
way, each naming the sheet, row and field, with one of the codes below. Rows are
numbered as a spreadsheet user sees them: the first row of a sheet is row 1. A row
that gives no expression is never dropped silently: its finding has
``row_skipped=True``, and `Annotations.skipped_rows` counts those rows. The rules
the readers share (missing offsets and apexes, fractional frames, duplicates) are
in `cmcl_jax.data.datasets.rows`; each dataset module states its own sentinels.

Example::

    notes = read_annotations("CASME_sq_gt.xlsx", "casme2")
    notes.expressions[0].frames()      # (556, 571, 607): 0-based, 30 fps
    notes.summarize_findings()         # {'apex_not_annotated': 1, ...}
"""

from __future__ import annotations

import collections
import dataclasses
import importlib
from collections.abc import Mapping
from os import PathLike
from pathlib import Path
from typing import Any

DATASETS = ("casme2", "samm_lv", "casme3", "mecg")
"""Names `read_annotations` takes; each is a module of this package."""
TITLES = {"casme2": "CAS(ME)²", "samm_lv": "SAMM-LV", "casme3": "CAS(ME)³ Part A", "mecg": "MECG"}
MICRO, MACRO = "micro", "macro"

# Codes of findings that skip their row (`Finding.row_skipped`) …
INVALID_VALUE = "invalid_value"
MISSING_FRAME = "missing_frame"
OFFSET_BEFORE_ONSET = "offset_before_onset"
UNKNOWN_TYPE = "unknown_type"
UNKNOWN_SUBJECT = "unknown_subject"
UNKNOWN_CLIP = "unknown_clip"
# … and of findings about rows that are kept (the MECG checks add their own codes).
OFFSET_NOT_ANNOTATED = "offset_not_annotated"
APEX_NOT_ANNOTATED = "apex_not_annotated"
APEX_OUTSIDE_INTERVAL = "apex_outside_interval"
FRACTIONAL_FRAME = "fractional_frame"
ONSET_BEFORE_VIDEO = "onset_before_video"
INCONSISTENT = "inconsistent"
EMOTION_CORRECTED = "emotion_corrected"
DUPLICATE_NAME = "duplicate_name"
DUPLICATE_INTERVAL = "duplicate_interval"


class AnnotationFileError(ValueError):
  """A file that cannot be read as the dataset asked for; the message names the file.

  Attributes:
    path: the file.
    sheet, row, field: where the problem is, where it is in one place (else None).
  """

  def __init__(
    self,
    message: str,
    *,
    path: str | PathLike,
    sheet: str | None = None,
    row: int | None = None,
    field: str | None = None,
  ):
    super().__init__(message)
    self.path, self.sheet, self.row, self.field = Path(path), sheet, row, field


@dataclasses.dataclass(frozen=True)
class Finding:
  """A quirk of one row: something read but suspicious, or a row that was skipped.

  Attributes:
    sheet: sheet name ("" for a CSV file or a reader that does not know it).
    row: spreadsheet row (first row of the sheet = 1).
    field: the column concerned, by the name the dataset module gives it.
    code: what kind of quirk (the constants of this module, or the MECG checks').
    message: what was found and what was done, in the file's terms.
    row_skipped: True when the row gave no expression because of this.
    related_rows: other rows involved (the first of a duplicate pair).
  """

  sheet: str
  row: int
  field: str
  code: str
  message: str
  row_skipped: bool = False
  related_rows: tuple[int, ...] = ()


@dataclasses.dataclass(frozen=True)
class Expression:
  """One annotated expression, in the terms every dataset shares.

  Attributes:
    subject: subject code (``"s15"``, ``"006"``, ``"spNO.1"``, MECG's id).
    video: the video it is in, as a path relative to the dataset's frame root, e.g.
      ``"s15/15_0401"`` (a raw-folder prefix), ``"006_1"``, ``"spNO.1/a"``.
    kind: ``"micro"`` or ``"macro"``.
    onset, apex, offset: 0-based frame positions at ``fps``; float, fractional only
      where the file is (SAMM-LV); onset ≤ apex ≤ offset.
    fps: the dataset's frame rate, frames/s.
    name: the file's own id of the expression (``"anger1_1"``, ``"006_1_3"``), or "".
    action_units: FACS codes as written, ``"+"``-separated, without ``"AU"``
      (``"4+10+14"``, ``"4(B/C)+7B"``); "" where none.
    emotion: lower-case label where the file gives one, else None.
    sheet, row: where it was read (spreadsheet numbering).
    source: the row's cells by field name, as read.
  """

  subject: str
  video: str
  kind: str
  onset: float
  apex: float
  offset: float
  fps: float
  name: str = ""
  action_units: str = ""
  emotion: str | None = None
  sheet: str = ""
  row: int = 0
  source: Mapping[str, Any] = dataclasses.field(default_factory=dict, compare=False)

  def frames(self, fps: float | None = None) -> tuple[int, int, int]:
    """(onset, apex, offset) as 0-based frame numbers at ``fps`` (default: own fps)."""
    scale = 1.0 if fps is None else fps / self.fps
    onset, apex, offset = (round(x * scale) for x in (self.onset, self.apex, self.offset))
    return onset, apex, offset


@dataclasses.dataclass(frozen=True)
class Annotations:
  """What one annotation file gives: expressions, findings, and how many rows.

  ``rows_read == len(expressions) + len(skipped_rows)``: every non-blank data row
  is either an expression or a skipped row with its finding.
  """

  path: Path
  dataset: str
  fps: float
  expressions: tuple[Expression, ...]
  findings: tuple[Finding, ...]
  rows_read: int

  @property
  def skipped_rows(self) -> tuple[int, ...]:
    """Rows that gave no expression, each explained by a ``row_skipped`` finding."""
    return tuple(sorted({f.row for f in self.findings if f.row_skipped}))

  def summarize_findings(self) -> dict[str, int]:
    """Number of findings per code, codes in alphabetical order."""
    return dict(sorted(collections.Counter(f.code for f in self.findings).items()))

  def counts(self) -> dict[str, int]:
    """Rows read, used and skipped; expressions per kind; subjects and videos."""
    kinds = collections.Counter(e.kind for e in self.expressions)
    return {
      "rows_read": self.rows_read,
      "expressions": len(self.expressions),
      "skipped_rows": len(self.skipped_rows),
      MACRO: kinds[MACRO],
      MICRO: kinds[MICRO],
      "subjects": len({e.subject for e in self.expressions}),
      "videos": len({e.video for e in self.expressions}),
    }


def read_annotations(path: str | PathLike, dataset: str) -> Annotations:
  """Read a dataset's annotation file into the common model.

  Args:
    path: the annotation file (.xlsx, .xls with xlrd installed, or .csv).
    dataset: one of `DATASETS`.

  Returns:
    The file's `Annotations`.

  Raises:
    ValueError: an unknown ``dataset``.
    AnnotationFileError: a file that cannot be read, or is another dataset's file
      (detected from its sheets and headers).
    cmcl_jax.data.coding.CodingFileError: an MECG coding file its reader refuses.
  """
  if dataset not in DATASETS:
    raise ValueError(f"unknown dataset {dataset!r}; expected one of: {', '.join(DATASETS)}")
  # Imported here: the dataset modules import this one for the model.
  return importlib.import_module(f"cmcl_jax.data.datasets.{dataset}").read(Path(path))
