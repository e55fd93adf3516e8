"""Writes annotation spreadsheets in the released formats of CAS(ME)², SAMM-LV and CAS(ME)³.

Each writer takes one `SheetRow` per expression, frames numbered as the released files
number them (1 = the first frame), and writes an ``.xlsx`` that
`cmcl_jax.data.datasets.read_annotations` reads back (the layouts are described in
the reader modules ``casme2.py``, ``samm_lv.py`` and ``casme3.py``):

- ``casme2``: sheets ``CASFEcode_final`` (subject index, clip ``<stem>_<k>``, onset,
  apex, offset, AUs, objective class, ``macro-expression`` / ``micro-expression``,
  emotion; no header), ``naming rule1`` (participant, subject code, subject index; one
  row per code-sheet row, as in the released file) and ``naming rule2`` (video code
  as text ``'0101'``, clip stem; every clip of `CASME2_CLIPS`).
- ``samm_lv``: sheet ``FACS_Movement_Only``: nine rows of notes, the header on row 10
  (``Subject, Filename, Inducement Code, Onset, Apex, Offset, Duration, Type, Action
  Units, Notes``), one row per movement; ``Type`` ``Macro`` / ``Micro - 1/2``;
  ``Duration`` = offset − onset + 1.
- ``casme3``: one sheet, header row 1 (``Subject, Filename, Onset, Apex, Offset, AU,
  Expression type, Objective class, Emotion``), ``Macro-expression`` /
  ``Micro-expression``. The release is an ``.xls``; this writes ``.xlsx``.

``k`` numbers the expressions of one video by onset, from 1. None of the quirks of the
released files (offset 0, apex −1, fractional frames) is written.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Sequence
from pathlib import Path

import openpyxl

from cmcl_jax.data.datasets.annotations import MACRO

CASME2_CLIPS = (
  (101, "disgust1", "disgustingteeth"),
  (102, "disgust2", "eatingworms"),
  (401, "anger1", "girlcrashing"),
  (402, "anger2", "beatingpregnantwoman"),
  (502, "happy1", "funnyerrors"),
  (503, "happy2", "unnyfarting"),
  (505, "happy3", "funnyinnovations"),
  (507, "happy4", "climbingthewall"),
  (508, "happy5", "funnydunkey"),
)
"""CAS(ME)² clips: video code, clip stem (``naming rule2``), raw-folder description."""
CASME2_SHEETS = ("CASFEcode_final", "naming rule1", "naming rule2")
SAMM_SHEET = "FACS_Movement_Only"
SAMM_HEADER_ROW = 10
SAMM_HEADER = (
  "Subject",
  "Filename",
  "Inducement Code",
  "Onset",
  "Apex",
  "Offset",
  "Duration",
  "Type",
  "Action Units",
  "Notes",
)
SAMM_NOTES = (
  "SAMM Long Videos Dataset - FACS Codes (synthetic stand-in, cmcl_jax)",
  None,
  "Symbol Key:",
  '"/" = or',
  None,
  "AU Help:",
  '"L2 or R2" = Unilateral AU 2 on left side of face / right side of face',
  "NOTE: Subjects with Apex Frame not annotated were labelled as -1.",
)
CASME3_HEADER = (
  "Subject",
  "Filename",
  "Onset",
  "Apex",
  "Offset",
  "AU",
  "Expression type",
  "Objective class",
  "Emotion",
)
OBJECTIVE_CLASSES = {"happiness": "positive", "happy": "positive", "surprise": "surprise"}
"""Objective class of an emotion label; "negative" for the others, "others" for "others"."""


@dataclasses.dataclass(frozen=True)
class SheetRow:
  """One expression as a spreadsheet writes it.

  Attributes:
    subject: subject code: ``"s15"`` (CAS(ME)², participant 15), ``"006"``,
      ``"spNO.1"``.
    video: the video within the subject: CAS(ME)² video code (``101``), SAMM-LV
      video number (``1``), CAS(ME)³ file name (``"a"``).
    kind: ``"micro"`` or ``"macro"``.
    onset, apex, offset: frame numbers, 1 = the first frame of the video.
    action_units: ``"+"``-separated AU numbers (``"4+7"``).
    emotion: the dataset's emotion label (not written for SAMM-LV).
  """

  subject: str
  video: int | str
  kind: str
  onset: int
  apex: int
  offset: int
  action_units: str
  emotion: str


def write(dataset: str, path: str | Path, rows: Sequence[SheetRow]) -> Path:
  """Writes ``rows`` to ``path`` in ``dataset``'s format ("casme2", "samm_lv", "casme3")."""
  writers = {"casme2": _casme2, "samm_lv": _samm_lv, "casme3": _casme3}
  if dataset not in writers:
    raise ValueError(f"dataset={dataset!r}: expected one of {', '.join(writers)}")
  workbook = openpyxl.Workbook()
  workbook.remove(workbook.active)
  writers[dataset](workbook, _numbered(rows))
  path = Path(path)
  workbook.save(path)
  return path


def _numbered(rows: Sequence[SheetRow]) -> list[tuple[SheetRow, int]]:
  """``(row, k)`` in file order (subject, video, onset): k numbers a video's rows from 1."""
  ordered = sorted(rows, key=lambda r: (r.subject, str(r.video), r.onset, r.offset))
  count = collections.Counter()
  numbered = []
  for row in ordered:
    count[row.subject, row.video] += 1
    numbered.append((row, count[row.subject, row.video]))
  return numbered


def _action_units(text: str) -> int | str:
  """A single AU as a number, as the released files hold it (``4``, but ``"4+7"``)."""
  return int(text) if text.isdigit() else text


def _objective(emotion: str) -> str:
  return OBJECTIVE_CLASSES.get(emotion, "others" if emotion == "others" else "negative")


def _casme2(workbook, numbered) -> None:
  stems = {code: stem for code, stem, _ in CASME2_CLIPS}
  codes, subjects, rule1 = workbook.create_sheet(CASME2_SHEETS[0]), {}, []
  for row, k in numbered:
    index = subjects.setdefault(row.subject, len(subjects) + 1)
    codes.append(
      (
        index,
        f"{stems[int(row.video)]}_{k}",
        row.onset,
        row.apex,
        row.offset,
        _action_units(row.action_units),
        _objective(row.emotion),
        f"{row.kind}-expression",
        row.emotion,
      )
    )
    rule1.append((int(row.subject.removeprefix("s")), row.subject, index))
  names = workbook.create_sheet(CASME2_SHEETS[1])
  for cells in rule1:
    names.append(cells)
  videos = workbook.create_sheet(CASME2_SHEETS[2])
  for code, stem, _ in CASME2_CLIPS:
    videos.append((f"{code:04d}", stem))


def _samm_lv(workbook, numbered) -> None:
  sheet = workbook.create_sheet(SAMM_SHEET)
  for note in SAMM_NOTES + (None,) * (SAMM_HEADER_ROW - 1 - len(SAMM_NOTES)):
    sheet.append((note,))
  sheet.append(SAMM_HEADER)
  for row, k in numbered:
    sheet.append(
      (
        row.subject,
        f"{row.subject}_{row.video}_{k}",
        int(row.video),
        row.onset,
        row.apex,
        row.offset,
        row.offset - row.onset + 1,
        "Macro" if row.kind == MACRO else "Micro - 1/2",
        _action_units(row.action_units),
        None,
      )
    )


def _casme3(workbook, numbered) -> None:
  sheet = workbook.create_sheet("Sheet1")
  sheet.append(CASME3_HEADER)
  for row, _ in numbered:
    sheet.append(
      (
        row.subject,
        row.video,
        row.onset,
        row.apex,
        row.offset,
        _action_units(row.action_units),
        f"{row.kind.capitalize()}-expression",
        _objective(row.emotion),
        row.emotion,
      )
    )
