"""Tests of the dataset annotation readers (cmcl_jax.data.datasets).

The real CAS(ME)² and SAMM-LV spreadsheets are read from the shared fixtures
(``../shared/fixtures/megc_gt/``, skipped where absent); CAS(ME)³ from the
hand-written fixture ``tests/fixtures/casme3/``; MECG from a tiny coding file
written here, and the real one (numbers only: it shows people's names).
"""

import importlib.util
from pathlib import Path

import openpyxl
import pytest

from cmcl_jax.data import coding
from cmcl_jax.data.coding_write import write_coding_file
from cmcl_jax.data.datasets import (
  AnnotationFileError,
  read_annotations,
)

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures"
MEGC_GT = SHARED / "megc_gt"
CASME2_FILE = MEGC_GT / "CASME_sq_gt.xlsx"
SAMM_FILE = MEGC_GT / "SAMMLV_gt.xlsx"
MECG_FILE = SHARED / "mecg_real" / "coding_file.xlsx"
CASME3_FILE = Path(__file__).resolve().parent / "fixtures" / "casme3" / "part_A_annotations.csv"


def _shared(path):
  if not path.is_file():
    pytest.skip(f"{path} not found (the shared fixtures are not checked out next to the project)")
  return path


@pytest.fixture(scope="module")
def casme2():
  return read_annotations(_shared(CASME2_FILE), "casme2")


@pytest.fixture(scope="module")
def samm():
  return read_annotations(_shared(SAMM_FILE), "samm_lv")


@pytest.fixture(scope="module")
def casme3():
  return read_annotations(CASME3_FILE, "casme3")


def _by_row(notes):
  return {e.row: e for e in notes.expressions}


def _findings(notes, code):
  return [(f.row, f.field) for f in notes.findings if f.code == code]


# --- CAS(ME)² ------------------------------------------------------------------------


def test_casme2_counts(casme2):
  assert casme2.counts() == {
    "rows_read": 357,
    "expressions": 357,
    "skipped_rows": 0,
    "macro": 300,
    "micro": 57,
    "subjects": 22,
    "videos": 95,
  }
  assert casme2.fps == 30.0
  assert casme2.summarize_findings() == {
    "apex_not_annotated": 1,
    "apex_outside_interval": 3,
    "emotion_corrected": 1,
    "offset_not_annotated": 44,
  }


def test_casme2_rows_become_zero_based_expressions(casme2):
  by_row = _by_row(casme2)
  first = by_row[1]  # (1, 'anger1_1', 557, 572, 608, '4+10+14', 'negative', 'macro-…', 'anger')
  assert (first.subject, first.video, first.name) == ("s15", "s15/15_0401", "anger1_1")
  assert first.kind == "macro"
  assert first.frames() == (556, 571, 607)
  assert first.frames(60) == (1112, 1142, 1214)
  assert (first.action_units, first.emotion, first.sheet) == ("4+10+14", "anger", "CASFEcode_final")
  assert first.source["Objective class"] == "negative"
  assert by_row[2].action_units == "38"  # A bare number in the AU column.
  assert by_row[3].frames() == (2154, 2162, 2162)  # Offset 0: offset = apex.
  assert by_row[309].frames() == (1762, 1774, 1786)  # Apex 0: the middle.
  assert by_row[170].frames() == (1220, 1222, 1223)  # Apex 1230 > offset 1224: 1221.5.
  assert by_row[203].emotion == "happiness"  # 'happyiness' in the file.
  assert all(e.onset <= e.apex <= e.offset for e in casme2.expressions)


def test_casme2_findings_name_row_and_field(casme2):
  assert (3, "Offset") in _findings(casme2, "offset_not_annotated")
  assert _findings(casme2, "apex_not_annotated") == [(309, "Apex")]
  assert [r for r, _ in _findings(casme2, "apex_outside_interval")] == [170, 242, 262]
  assert _findings(casme2, "emotion_corrected") == [(203, "Emotion")]
  assert all(f.sheet == "CASFEcode_final" for f in casme2.findings)


def _casme2_workbook(path, code_rows):
  workbook = openpyxl.Workbook()
  workbook.active.title = "CASFEcode_final"
  for cells in code_rows:
    workbook.active.append(cells)
  workbook.create_sheet("naming rule1").append([15, "s15", 1])
  workbook.create_sheet("naming rule2").append(["0401", "anger1"])
  workbook.save(path)
  return path


def test_casme2_unusable_rows_are_reported_and_counted(tmp_path):
  good = [1, "anger1_1", 557, 572, 608, 4, "negative", "macro-expression", "anger"]
  path = _casme2_workbook(
    tmp_path / "code.xlsx",
    [
      good,
      [1, "anger1_2", "abc", 572, 608, 4, "negative", "macro-expression", "anger"],
      [2, "anger1_3", 557, 572, 608, 4, "negative", "macro-expression", "anger"],
      [1, "happy1_1", 557, 572, 608, 4, "negative", "macro-expression", "anger"],
      [1, "anger1_4", 557, 572, 608, 4, "negative", "Macro", "anger"],
      [1, "anger1_5", 557, 0, 0, 4, "negative", "macro-expression", "anger"],
    ],
  )
  notes = read_annotations(path, "casme2")
  assert notes.rows_read == 6
  assert [e.row for e in notes.expressions] == [1]
  assert notes.skipped_rows == (2, 3, 4, 5, 6)
  skipped = {f.row: (f.field, f.code) for f in notes.findings if f.row_skipped}
  assert skipped == {
    2: ("Onset", "invalid_value"),
    3: ("Subject", "unknown_subject"),
    4: ("Clip", "unknown_clip"),
    5: ("Type", "unknown_type"),
    6: ("Offset", "missing_frame"),
  }
  message = next(f.message for f in notes.findings if f.row == 2)
  assert "row 2, field 'Onset'" in message and "'abc'" in message


# --- SAMM-LV -------------------------------------------------------------------------


def test_samm_counts(samm):
  assert samm.counts() == {
    "rows_read": 502,
    "expressions": 502,
    "skipped_rows": 0,
    "macro": 343,
    "micro": 159,
    "subjects": 30,
    "videos": 147,
  }
  assert samm.fps == 200.0
  summary = samm.summarize_findings()
  assert summary["apex_not_annotated"] == 6
  assert summary["onset_before_video"] == 10
  assert summary["duplicate_name"] == 1
  assert summary["fractional_frame"] > 100
  assert "inconsistent" not in summary  # Subject, inducement code, duration agree.


def test_samm_rows(samm):
  by_row = _by_row(samm)
  first = by_row[11]  # ('006', '006_1_1', 1, 566.4, 647.6, 743.2, 177.8, 'Macro', '4(B/C)+7B')
  assert (first.subject, first.video, first.name) == ("006", "006_1", "006_1_1")
  assert first.kind == "macro"
  assert first.onset == pytest.approx(565.4)
  assert first.frames() == (565, 647, 742)
  assert first.action_units == "4(B/C)+7B" and first.emotion is None
  assert by_row[12].kind == "micro"  # 'Micro - 1/2'.
  assert by_row[76].frames() == (88, 148, 208)  # Apex -1: the middle of 89…209.
  assert by_row[143].onset == 0.0  # Onset 0: the first frame.
  assert (11, "Onset") in _findings(samm, "fractional_frame")
  assert _findings(samm, "duplicate_name") == [(507, "Filename")]
  assert next(f for f in samm.findings if f.code == "duplicate_name").related_rows == (506,)


# --- CAS(ME)³ (hand-written fixture) ------------------------------------------------


def test_casme3_fixture(casme3):
  assert casme3.counts() == {
    "rows_read": 11,
    "expressions": 7,
    "skipped_rows": 4,
    "macro": 3,
    "micro": 4,
    "subjects": 3,
    "videos": 5,
  }
  by_row = _by_row(casme3)
  assert by_row[2].video == "spNO.1/a" and by_row[2].frames() == (135, 151, 172)
  assert by_row[4].frames() == (510, 534, 559)  # Apex 0: middle 534.5, to even.
  assert by_row[5].frames() == (879, 890, 890)  # Offset 0: offset = apex.
  assert by_row[9].frames() == (299, 309, 319)  # Apex after offset: middle.
  assert by_row[10].kind == "micro"  # 'micro-expression ' read as Micro-expression.
  assert (by_row[2].action_units, by_row[2].emotion) == ("4+7", "disgust")
  assert by_row[4].source["Notes"] == "apex not annotated"
  codes = {f.row: (f.field, f.code, f.row_skipped) for f in casme3.findings}
  assert codes == {
    4: ("Apex", "apex_not_annotated", False),
    5: ("Offset", "offset_not_annotated", False),
    6: ("Offset", "offset_before_onset", True),
    7: ("Onset", "invalid_value", True),
    9: ("Apex", "apex_outside_interval", False),
    11: ("Onset", "duplicate_interval", False),
    12: ("Expression type", "unknown_type", True),
    13: ("Onset", "invalid_value", True),
  }


# --- MECG ----------------------------------------------------------------------------


def test_mecg_adapts_the_coding_reader(tmp_path):
  rows = [
    coding.Expression(
      2, "s01", "happy_1_101_s01.avi", 101, 10.0, 10.2, 10.4, ("AU12",), "happy", "micro"
    ),
    coding.Expression(
      3, "s01", "happy_1_101_s01.avi", 101, 20.0, 21.0, 21.0, ("AU4", "AU7"), "sad", "macro"
    ),
  ]
  path = write_coding_file(rows, tmp_path / "coding.xlsx")
  notes = read_annotations(path, "mecg")
  assert notes.fps == 150.0 and notes.counts()["expressions"] == 2
  for ours, theirs in zip(notes.expressions, coding.read_coding_file(path)):
    assert ours.frames() == theirs.frames()
    assert ours.frames(30) == theirs.frames(30)
  assert [e.action_units for e in notes.expressions] == ["12", "4+7"]
  assert _findings(notes, "offset_not_marked") == [(3, "OffsetTime")]


def test_mecg_bad_row_refuses_the_file(tmp_path):
  path = tmp_path / "coding.csv"
  header = "Subject,Filename,Marker,OnsetTime,ApexTime,OffsetTime,Action Units,Estimated Emotion"
  path.write_text(f"{header}\ns01,happy_1_101_s01.avi,101,abc,10.2,10.4,AU12,happy\n")
  with pytest.raises(coding.CodingFileError, match="row 2, field 'OnsetTime'"):
    read_annotations(path, "mecg")


def test_mecg_real_file():
  notes = read_annotations(_shared(MECG_FILE), "mecg")
  assert notes.counts()["expressions"] == 944 and notes.skipped_rows == ()
  assert notes.summarize_findings()["near_duplicate"] == 99


# --- bad input -----------------------------------------------------------------------


def test_unknown_dataset_lists_the_choices():
  with pytest.raises(ValueError, match="casme2, samm_lv, casme3, mecg"):
    read_annotations(CASME3_FILE, "casme4")


@pytest.mark.parametrize(
  "path, dataset, looks_like",
  [
    (SAMM_FILE, "casme2", "samm_lv"),
    (CASME2_FILE, "samm_lv", "casme2"),
    (CASME2_FILE, "casme3", "casme2"),
    (SAMM_FILE, "mecg", "samm_lv"),
    (CASME3_FILE, "samm_lv", "casme3"),
    (CASME3_FILE, "mecg", "casme3"),
  ],
)
def test_another_datasets_file_is_refused(path, dataset, looks_like):
  with pytest.raises(AnnotationFileError) as error:
    read_annotations(_shared(path), dataset)
  assert str(path) in str(error.value) and "expected" in str(error.value)
  assert f"dataset={looks_like!r}" in str(error.value)


def test_unreadable_files(tmp_path):
  with pytest.raises(AnnotationFileError, match="unsupported annotation-file extension"):
    read_annotations(tmp_path / "notes.txt", "casme3")
  with pytest.raises(AnnotationFileError, match="no such annotation file"):
    read_annotations(tmp_path / "missing.xlsx", "samm_lv")


def test_xls_without_xlrd_says_so(tmp_path):
  if importlib.util.find_spec("xlrd") is not None:
    pytest.skip("xlrd is installed, so .xls files are read")
  path = tmp_path / "CAS(ME)3_part_A_v2.xls"
  path.write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504))  # An OLE2 header.
  with pytest.raises(AnnotationFileError, match="needs the xlrd package"):
    read_annotations(path, "casme3")
