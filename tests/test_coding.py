"""Tests of the MECG coding-file reader, validator and writer (cmcl_jax.data.coding).

The real coding file shows people's names: these tests assert on numbers and row
numbers only and never print its rows.
"""

import dataclasses
import datetime
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from cmcl_jax.data.coding import (
  CodingFileError,
  Expression,
  expression_kind,
  read_coding_file,
  seconds_to_frame,
)
from cmcl_jax.data.coding_checks import (
  DIF_MISMATCH,
  KNOWN_EMOTIONS,
  NEAR_DUPLICATE,
  OFFSET_NOT_MARKED,
  OVERLAP,
  STAMP_DURATION_MISMATCH,
  UNKNOWN_EMOTION,
  Finding,
  summarize_findings,
  validate_expressions,
)
from cmcl_jax.data.coding_write import write_coding_file

REAL_CODING_FILE = (
  Path(__file__).resolve().parents[1].parent / "shared/fixtures/mecg_real/coding_file.xlsx"
)

HEADER = [
  "Subject",
  "Filename",
  "Marker",
  "OnsetTime",
  "ApexTime",
  "OffsetTime",
  "OnsetFrame",
  "ApexFrame",
  "OffsetFrame",
  "Action Units",
  "Estimated Emotion",
  "Date",
  "dif",
]


def _row(**changes):
  """A valid data row (a micro-expression) with some cells replaced."""
  cells = {
    "Subject": "s01",
    "Filename": "happy_1_101_s01_20230801.avi",
    "Marker": 101,
    "OnsetTime": 10.0,
    "ApexTime": 10.2,
    "OffsetTime": 10.4,
    "OnsetFrame": "12-00-10-000-100",
    "ApexFrame": "12-00-10-200-130",
    "OffsetFrame": "12-00-10-400-160",
    "Action Units": "AU12",
    "Estimated Emotion": "happy",
    "Date": "2024年06月30日-14时31分",
    "dif": 30,
  }
  cells.update(changes)
  return cells


def _write_table(path, rows, header=None):
  """Write rows (dicts) under ``header`` as .csv or .xlsx, None for an empty cell."""
  header = header or list(rows[0])
  table = [[row.get(column) for column in header] for row in rows]
  if path.suffix == ".csv":
    pd.DataFrame(table, columns=header, dtype=object).to_csv(path, index=False)
  else:
    workbook = openpyxl.Workbook()
    workbook.active.append(header)
    for cells in table:
      workbook.active.append(cells)
    workbook.save(path)
  return path


@pytest.fixture(scope="module")
def real():
  if not REAL_CODING_FILE.is_file():
    pytest.skip(
      f"real MECG coding file not found at {REAL_CODING_FILE} (shared fixtures are not checked out)"
    )
  expressions = read_coding_file(REAL_CODING_FILE)
  return {e.row: e for e in expressions}, validate_expressions(expressions)


# --- the published file -------------------------------------------------------------


def test_real_file_rows_and_fields(real):
  by_row, _ = real
  assert len(by_row) == 944
  assert sorted(by_row) == list(range(2, 946))
  assert {e.emotion for e in by_row.values()} == {
    "angry",
    "disgust",
    "fear",
    "happy",
    "sad",
    "surprise",
    "tense",
  }
  assert {e.emotion for e in by_row.values()} <= KNOWN_EMOTIONS
  first = by_row[2]
  assert (first.marker, first.onset_s, first.apex_s, first.offset_s) == (146, 24.33, 24.59, 25.33)
  assert first.frames() == (3649, 3688, 3799)
  assert first.action_units == ("AU1",)
  assert first.annotated_on == datetime.datetime(2024, 6, 30, 14, 31)
  assert first.dif == 39
  assert by_row[7].action_units == ("AU4", "AU10", "AU13", "AU17")


def test_real_file_both_stamp_precisions(real):
  by_row, _ = real
  with_counter = [e for e in by_row.values() if e.onset_counter is not None]
  assert len(with_counter) == 675
  assert all(e.onset_clock_s is not None for e in by_row.values())
  # Row 2: 16-00-31-433-685 (five fields), row 464: 15-10-22-548 (four fields).
  assert by_row[2].onset_clock_s == pytest.approx(16 * 3600 + 31.433, abs=1e-9)
  assert by_row[2].onset_counter == 685
  assert by_row[464].onset_clock_s == pytest.approx(15 * 3600 + 10 * 60 + 22.548, abs=1e-9)
  assert by_row[464].onset_counter is None
  # Row 50's offset stamp ends in a four-digit counter, 15-42-04-176-1000.
  assert by_row[50].offset_counter == 1000


def test_real_file_kinds_follow_the_papers_rule(real):
  by_row, _ = real
  kinds = [e.kind for e in by_row.values()]
  assert kinds.count("micro") == 468
  assert kinds.count("macro") == 476
  assert by_row[2].kind == "macro"  # 1.00 s long, 0.26 s rise
  assert by_row[37].kind == "micro"  # 0.47 s long
  # Row 25 lasts 2.2 − 1.7 = 0.5000000000000002 s in floats: micro only because the
  # rule rounds to whole milliseconds (as does row 842).
  assert by_row[25].kind == "micro"
  assert by_row[842].kind == "micro"


def test_real_file_findings(real):
  _, findings = real
  assert summarize_findings(findings) == {
    NEAR_DUPLICATE: 99,
    OVERLAP: 144,
    OFFSET_NOT_MARKED: 433,
    STAMP_DURATION_MISMATCH: 253,
    UNKNOWN_EMOTION: 0,
    DIF_MISMATCH: 395,
  }
  found = {(f.row, f.code, f.related_rows) for f in findings}
  # Same video, onsets 47.30/47.32 s, apexes 47.59/47.64 s; row 44 is dated later.
  assert (44, NEAR_DUPLICATE, (650,)) in found
  # Onsets 51.50/51.51 s, apexes 51.69/51.71 s; row 639 is dated later.
  assert (639, NEAR_DUPLICATE, (37,)) in found
  # [12.33, 12.70] and [12.64, 13.11] s in one video.
  assert (260, OVERLAP, (259,)) in found
  # [38.77, 39.45] contains [39.00, 39.35] s, different AUs, IoU 0.51.
  assert (125, OVERLAP, (124,)) in found
  assert (3, OFFSET_NOT_MARKED, ()) in found  # 12.68 s twice
  assert not any(f.row == 2 and f.code == OFFSET_NOT_MARKED for f in findings)
  # Row 464 has four-field stamps 15-10-22-548 → 15-10-22-928: dif 381 = 928−548+1.
  dif_464 = next(f for f in findings if (f.row, f.code) == (464, DIF_MISMATCH))
  assert "381" in dif_464.message and "millisecond" in dif_464.message
  # Row 50: dif 50 (counter 829 → 878, + 1) but (52.21 − 51.85) s is 54 frames.
  dif_50 = next(f for f in findings if (f.row, f.code) == (50, DIF_MISMATCH))
  assert "millisecond" not in dif_50.message
  assert all(f.related_rows for f in findings if f.code in (NEAR_DUPLICATE, OVERLAP))


def test_real_file_round_trips_through_csv(real, tmp_path):
  by_row, _ = real
  expressions = list(by_row.values())
  path = write_coding_file(expressions, tmp_path / "copy.csv")
  assert read_coding_file(path) == expressions


# --- cell parsing -------------------------------------------------------------------


@pytest.mark.parametrize("cell", ["AU4, AU7", "AU4+AU7", "4,7", "au7, AU4", "AU 4 ,AU07"])
def test_action_units_are_normalised(tmp_path, cell):
  path = _write_table(tmp_path / "au.csv", [_row(**{"Action Units": cell})])
  assert read_coding_file(path)[0].action_units == ("AU4", "AU7")


def test_emotion_is_lower_case_and_stripped(tmp_path):
  path = _write_table(tmp_path / "emotion.xlsx", [_row(**{"Estimated Emotion": "  Happy "})])
  assert read_coding_file(path)[0].emotion == "happy"


@pytest.mark.parametrize(
  "cell, kind",
  [
    ("micro", "micro"),
    (" Micro-expression ", "micro"),
    ("MICRO EXPRESSION", "micro"),
    ("macro", "macro"),
    ("Macro-Expression", "macro"),
  ],
)
def test_kind_column_variants(tmp_path, cell, kind):
  path = _write_table(tmp_path / "kind.csv", [_row(**{"Macro/Micro": cell})])
  assert read_coding_file(path)[0].kind == kind


def test_kind_column_overrides_the_rule(tmp_path):
  path = _write_table(tmp_path / "kind.xlsx", [_row(**{"Macro/Micro": "Macro"})])
  assert read_coding_file(path)[0].kind == "macro"


def test_expression_kind_rounds_to_milliseconds():
  assert expression_kind(0.0, 0.2500000001, 2.0) == "micro"
  assert expression_kind(1.7, 1.97, 2.2) == "micro"
  assert expression_kind(0.0, 0.251, 0.6) == "macro"
  assert expression_kind(0.0, 0.4, 0.5) == "micro"
  assert expression_kind(0.0, 0.4, 0.501) == "macro"


def test_frames_are_nearest_frames():
  e = Expression(
    row=2,
    subject="s",
    video="v.avi",
    marker=1,
    onset_s=24.33,
    apex_s=24.59,
    offset_s=25.33,
    action_units=(),
    emotion="happy",
    kind="macro",
  )
  # Exact ties in decimal (24.33 × 150 = 3649.5) follow the float product.
  assert e.frames() == (3649, 3688, 3799)
  assert (e.onset_frame, e.apex_frame, e.offset_frame) == (3649, 3688, 3799)
  assert e.frames(fps=30.0) == (730, 738, 760)
  assert seconds_to_frame(1 / 150) == 1


def test_optional_cells_may_be_empty(tmp_path):
  path = _write_table(
    tmp_path / "sparse.csv",
    [_row(OnsetFrame="", ApexFrame="", OffsetFrame="", Date="", dif="", **{"Action Units": ""})],
  )
  e = read_coding_file(path)[0]
  assert (e.onset_clock_s, e.apex_clock_s, e.offset_clock_s) == (None, None, None)
  assert (e.annotated_on, e.dif, e.action_units) == (None, None, ())


def test_blank_rows_are_skipped_but_counted(tmp_path):
  path = tmp_path / "blank.csv"
  _write_table(path, [_row(), {c: None for c in HEADER}, _row(OnsetTime="x")])
  with pytest.raises(CodingFileError, match="row 4, field 'OnsetTime'"):
    read_coding_file(path)


def test_gb18030_csv(tmp_path):
  path = tmp_path / "gbk.csv"
  pd.DataFrame([_row()]).to_csv(path, index=False, encoding="gb18030")
  assert read_coding_file(path)[0].annotated_on == datetime.datetime(2024, 6, 30, 14, 31)


# --- hard errors --------------------------------------------------------------------

BAD_CELLS = [
  ("OnsetTime", ""),
  ("OnsetTime", "abc"),
  ("ApexTime", "1O.2"),
  ("OnsetTime", -1.0),
  ("OffsetTime", "inf"),
  ("ApexTime", 9.0),  # onset 10.0 > apex
  ("OffsetTime", 10.1),  # apex 10.2 > offset
  ("OnsetFrame", "12-00-10"),
  ("ApexFrame", "25-00-10-200-130"),
  ("OffsetFrame", "12:00:10.400"),
  ("Filename", "../happy_1_101_s01_20230801.avi"),
  ("Filename", "s01/../../etc/passwd"),
  ("Filename", "/data/x.avi"),
  ("Filename", "\\data\\x.avi"),
  ("Filename", "C:\\data\\x.avi"),
  ("Filename", "c:x.avi"),
  ("Filename", "a\\..\\..\\x.avi"),
  ("Filename", ""),
  ("Marker", "146.5"),
  ("Marker", "abc"),
  ("Marker", ""),
  ("Macro/Micro", "sometimes"),
  ("Macro/Micro", ""),
  ("Action Units", "AU4, smile"),
  ("Date", "30/06/2024"),
  ("dif", "3.5"),
  ("Subject", ""),
  ("Estimated Emotion", ""),
]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
@pytest.mark.parametrize("field, value", BAD_CELLS)
def test_bad_cell_names_file_row_and_field(tmp_path, suffix, field, value):
  header = HEADER + (["Macro/Micro"] if field == "Macro/Micro" else [])
  good = _row(**({"Macro/Micro": "micro"} if field == "Macro/Micro" else {}))
  path = _write_table(tmp_path / f"coding_bad{suffix}", [good, {**good, field: value}], header)
  with pytest.raises(CodingFileError) as info:
    read_coding_file(path)
  message = str(info.value)
  assert "coding_bad" + suffix in message
  assert f"row 3, field '{field}'" in message
  assert "expected" in message
  assert (info.value.row, info.value.field) == (3, field)


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_missing_columns_are_named_with_what_was_found(tmp_path, suffix):
  header = [c for c in HEADER if c not in ("ApexTime", "Marker")]
  path = _write_table(tmp_path / f"no_apex{suffix}", [_row()], header)
  with pytest.raises(CodingFileError) as info:
    read_coding_file(path)
  message = str(info.value)
  assert f"no_apex{suffix}" in message and "row 1" in message
  assert "'Marker', 'ApexTime'" in message
  assert "found columns: 'Subject', 'Filename', 'OnsetTime'" in message


def test_all_bad_rows_are_counted(tmp_path):
  rows = [_row(), _row(Marker="x"), _row(), _row(OnsetTime=""), _row(Filename="/a")]
  with pytest.raises(CodingFileError) as info:
    read_coding_file(_write_table(tmp_path / "many.csv", rows))
  message = str(info.value)
  assert message.startswith(f"{tmp_path / 'many.csv'}: row 3, field 'Marker'")
  assert "2 more row(s) with errors: rows 5, 6" in message
  assert len(info.value.errors) == 3


@pytest.mark.parametrize(
  "name, content, expected",
  [
    ("corrupt.xlsx", b"PK\x03\x04 not really a zip", "cannot read"),
    ("empty.csv", b"", "cannot read"),
    ("coding.xls", b"", "unsupported coding-file extension '.xls'"),
    ("coding.txt", b"Subject\n", "unsupported coding-file extension '.txt'"),
  ],
)
def test_unreadable_files(tmp_path, name, content, expected):
  path = tmp_path / name
  path.write_bytes(content)
  with pytest.raises(CodingFileError, match=expected) as info:
    read_coding_file(path)
  assert name in str(info.value)


def test_missing_file(tmp_path):
  with pytest.raises(CodingFileError, match="no such coding file"):
    read_coding_file(tmp_path / "absent.xlsx")


# --- validation ---------------------------------------------------------------------


def _expr(row, onset, apex, offset, video="v.avi", aus=("AU4",), emotion="happy", **fields):
  return Expression(
    row=row,
    subject="s01",
    video=video,
    marker=101,
    onset_s=onset,
    apex_s=apex,
    offset_s=offset,
    action_units=aus,
    emotion=emotion,
    kind=expression_kind(onset, apex, offset),
    **fields,
  )


def test_near_duplicates_and_overlaps():
  june = datetime.datetime(2024, 6, 1, 10, 0)
  july = datetime.datetime(2024, 7, 1, 10, 0)
  expressions = [
    _expr(2, 10.0, 10.2, 10.4, annotated_on=july),
    _expr(3, 10.1, 10.3, 10.9, annotated_on=june),  # within 0.1 s of row 2
    _expr(4, 20.0, 20.5, 21.0),
    _expr(5, 20.1, 20.7, 21.0),  # IoU 0.9, same AUs
    _expr(6, 20.1, 20.7, 21.0, aus=("AU12",)),  # same interval, other AUs
    _expr(7, 21.0, 21.2, 21.4),  # touches rows 4-6 only
    _expr(8, 10.0, 10.2, 10.4, video="w.avi"),  # other video
    _expr(9, 10.11, 10.2, 10.3),  # onset 0.11 s from row 2
  ]
  findings = validate_expressions(expressions)
  pairs = {(f.row, f.related_rows) for f in findings if f.code == NEAR_DUPLICATE}
  assert pairs == {(2, (3,)), (5, (4,)), (6, (5,)), (9, (3,))}
  overlaps = {(f.row, f.related_rows) for f in findings if f.code == OVERLAP}
  assert overlaps == {(6, (4,)), (9, (2,))}


def test_row_findings():
  expressions = [
    _expr(2, 1.0, 1.2, 1.2),  # offset unmarked
    _expr(3, 2.0, 2.2, 2.4, emotion="anger"),
    _expr(4, 3.0, 3.2, 3.4, dif=34),  # 30 frames
    _expr(5, 4.0, 4.2, 4.4, dif=32),
    _expr(
      6, 5.0, 5.2, 5.4, onset_clock_s=100.0, apex_clock_s=100.2, offset_clock_s=100.5
    ),  # 15 frames off
    _expr(
      7, 6.0, 6.2, 6.4, onset_clock_s=100.0, apex_clock_s=100.21, offset_clock_s=100.41
    ),  # 1.5 frames
  ]
  findings = validate_expressions(expressions)
  assert [(f.row, f.code) for f in findings] == [
    (2, OFFSET_NOT_MARKED),
    (3, UNKNOWN_EMOTION),
    (4, DIF_MISMATCH),
    (6, STAMP_DURATION_MISMATCH),
  ]
  assert "onset→offset is 75.0 frames by the stamps but 60.0" in findings[3].message
  assert summarize_findings(findings) == {
    NEAR_DUPLICATE: 0,
    OVERLAP: 0,
    OFFSET_NOT_MARKED: 1,
    STAMP_DURATION_MISMATCH: 1,
    UNKNOWN_EMOTION: 1,
    DIF_MISMATCH: 1,
  }
  assert isinstance(findings[0], Finding)


# --- writing ------------------------------------------------------------------------


def _written():
  when = datetime.datetime(2024, 6, 30, 14, 31)
  return [
    _expr(
      2,
      24.33,
      24.59,
      25.33,
      aus=("AU4", "AU7"),
      onset_clock_s=57631.433,
      apex_clock_s=57631.686,
      offset_clock_s=57632.428,
      onset_counter=685,
      apex_counter=723,
      offset_counter=1000,
      annotated_on=when,
    ),
    _expr(
      3,
      1.5,
      1.6,
      1.6,
      video="sub/x.avi",
      onset_clock_s=3600.0,
      apex_clock_s=3600.1,
      offset_clock_s=3600.1,
    ),
    _expr(4, 0.0, 0.1, 0.3, emotion="tense"),
  ]


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_write_read_round_trip(tmp_path, suffix):
  expressions = _written()
  path = write_coding_file(expressions, tmp_path / f"out{suffix}")
  back = read_coding_file(path)
  assert back == expressions
  assert [e.dif for e in back] == [39, 15, 15]


def test_written_cells_use_the_published_format(tmp_path):
  path = write_coding_file(_written(), tmp_path / "out.csv")
  table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
  assert list(table.columns) == HEADER
  first = table.iloc[0]
  assert first["OnsetFrame"] == "16-00-31-433-685"
  assert first["OffsetFrame"] == "16-00-32-428-1000"
  assert first["Action Units"] == "AU4, AU7"
  assert first["Date"] == "2024年06月30日-14时31分"
  assert first["dif"] == "39"
  assert table.iloc[1]["OnsetFrame"] == "01-00-00-000"
  assert table.iloc[2]["OnsetFrame"] == ""


@pytest.mark.parametrize("suffix", [".csv", ".xlsx"])
def test_kind_column_round_trip(tmp_path, suffix):
  # A macro-expression that the duration rule would call micro: kept only with the
  # Macro/Micro column.
  expressions = [dataclasses.replace(_written()[2], row=2, kind="macro")]
  with pytest.raises(ValueError, match="include_kind_column=True"):
    write_coding_file(expressions, tmp_path / f"no_kind{suffix}")
  path = write_coding_file(expressions, tmp_path / f"kind{suffix}", include_kind_column=True)
  assert read_coding_file(path) == expressions


def test_write_rejects_unknown_extension(tmp_path):
  with pytest.raises(CodingFileError, match="unsupported"):
    write_coding_file(_written(), tmp_path / "out.json")
