"""ECG recordings on disk: continuous sessions with a marker channel, or one per trial.

Formats read:
  `.npz`  arrays `ecg` (N,) mV, `marker` (N,) int (optional for per-trial files) and a
          scalar `sampling_rate` in Hz.
  `.csv`  columns `time_s`, `ecg_mv` and optionally `marker`; the sampling rate is
          1 / the median step of `time_s`, which must increase regularly. The text may be
          UTF-8, GB18030 or Windows-1252 (see `text_files.read_csv_text`).
  `.acq`  BIOPAC AcqKnowledge, read with `neurokit2.read_acqknowledge` (bioread): the
          ECG is the first channel whose name contains "ECG"; the marker is a channel
          whose name contains "marker", "trigger" or "event", or else the digital
          input channels (named "Digital…"), read as bits of one integer code.

A marker channel holds a clip's code (e.g. 101…148) from the sample where that trial's
video starts for a short pulse, and 0 elsewhere.

What is malformed is refused with an `EcgFileError` naming the file, the field (column,
channel) and the row or sample: text where numbers belong, an ECG of more than one lead,
a marker that is not an integer code, a time column that does not increase regularly,
duplicate columns, an empty file. What is accepted but worth knowing (a CSV that is not
UTF-8; columns, fields or further ECG / marker channels that are not read) is kept in
`EcgRecording.notes`, which `trial_ecg` reports as problems. Empty or NaN ECG samples
are kept as NaN: `trial_ecg` reports them as "ecg_nan" stretches.
"""

from __future__ import annotations

import collections
import csv
import dataclasses
import io
import os
from pathlib import Path

import numpy as np
import pandas as pd

from cmcl_jax.data import text_files

ECG_SUFFIXES = (".npz", ".csv", ".acq")
_MARKER_NAMES = ("marker", "trigger", "event")
_NPZ_FIELDS = ("ecg", "marker", "sampling_rate")
_CSV_COLUMNS = ("time_s", "ecg_mv", "marker")
_INT32 = np.iinfo(np.int32)


class EcgFileError(ValueError):
  """An ECG file is missing, unreadable or malformed."""


@dataclasses.dataclass(frozen=True)
class EcgNote:
  """Something in an ECG file that was accepted but is worth knowing (not fatal).

  Attributes:
    code: short machine-readable reason, e.g. "ecg_csv_encoding".
    message: what was found and what was done with it.
  """

  code: str
  message: str


@dataclasses.dataclass(frozen=True)
class EcgRecording:
  """An ECG recording.

  Attributes:
    ecg: (N,) float32 ECG, mV.
    marker: (N,) int32 trigger codes (0 = none), or None when the file has none.
    sampling_rate: Hz.
    path: the file it was read from (None when built in memory).
    notes: what was accepted in the file but is worth knowing (see the module
      docstring).
  """

  ecg: np.ndarray
  marker: np.ndarray | None
  sampling_rate: float
  path: Path | None = None
  notes: tuple[EcgNote, ...] = ()

  @property
  def duration_s(self) -> float:
    return len(self.ecg) / self.sampling_rate

  def marker_onsets(self) -> dict[int, list[int]]:
    """Code → sample indices where the marker channel switches to that code."""
    if self.marker is None:
      return {}
    rising = np.flatnonzero((self.marker[1:] != self.marker[:-1]) & (self.marker[1:] != 0)) + 1
    if self.marker[0] != 0:
      rising = np.concatenate([[0], rising])
    onsets: dict[int, list[int]] = {}
    for index in rising:
      onsets.setdefault(int(self.marker[index]), []).append(int(index))
    return onsets


def read_recording(path: str | os.PathLike) -> EcgRecording:
  """Reads an ECG recording (`.npz`, `.csv` or `.acq`; see the module docstring).

  Raises:
    EcgFileError: naming the file, the field (column, channel) and, where one is at
      fault, the row or sample: when the file is missing, unreadable or empty, lacks
      a required field, holds text where numbers belong, more than one ECG lead, a
      marker that is not an integer code, or an irregular, non-increasing or
      non-positive sampling rate.
  """
  path = Path(path)
  if not path.exists():
    raise EcgFileError(f"{path}: ECG file not found")
  if path.is_file() and path.stat().st_size == 0:
    raise EcgFileError(f"{path}: the file is empty (0 bytes); expected an ECG recording")
  suffix = path.suffix.lower()
  readers = {".npz": _read_npz, ".csv": _read_csv, ".acq": _read_acq}
  if suffix not in readers:
    raise EcgFileError(f"{path}: unsupported ECG suffix; expected one of {ECG_SUFFIXES}")
  try:
    ecg, marker, rate, notes = readers[suffix](path)
  except EcgFileError:
    raise
  except Exception as error:  # A corrupt file fails inside numpy/pandas/bioread.
    raise EcgFileError(f"{path}: unreadable ECG file ({type(error).__name__}: {error})") from error
  if not np.isfinite(rate) or rate <= 0:
    raise EcgFileError(f"{path}: field 'sampling_rate' is {rate}; expected a positive rate in Hz")
  if marker is not None and len(marker) != len(ecg):
    raise EcgFileError(
      f"{path}: field 'marker' has {len(marker)} samples but 'ecg' has "
      f"{len(ecg)}; expected equal lengths"
    )
  return EcgRecording(ecg, marker, float(rate), path, tuple(notes))


def write_recording(path: str | os.PathLike, recording: EcgRecording) -> None:
  """Writes `.npz` or `.csv` in the format `read_recording` reads."""
  path = Path(path)
  suffix = path.suffix.lower()
  if suffix not in (".npz", ".csv"):
    raise EcgFileError(f"{path}: can only write .npz or .csv ECG files")
  path.parent.mkdir(parents=True, exist_ok=True)
  if suffix == ".npz":
    arrays = {"ecg": recording.ecg, "sampling_rate": np.float64(recording.sampling_rate)}
    if recording.marker is not None:
      arrays["marker"] = recording.marker
    np.savez(path, **arrays)
  else:
    times = pd.Series(np.arange(len(recording.ecg)) / recording.sampling_rate)
    table = {
      # 12 digits, not the ECG's 6: past 1000 s at 1 kHz, 6 would repeat times.
      "time_s": times.map("{:.12g}".format),
      "ecg_mv": recording.ecg,
    }
    if recording.marker is not None:
      table["marker"] = recording.marker
    pd.DataFrame(table).to_csv(path, index=False, float_format="%.6g")


def _read_npz(path: Path):
  with np.load(path) as arrays:
    for field in ("ecg", "sampling_rate"):
      if field not in arrays:
        raise EcgFileError(f"{path}: missing field {field!r}; found {sorted(arrays)}")
    ecg = _ecg_samples(path, _npz_field(path, arrays, "ecg"), "field 'ecg'")
    rate = _npz_rate(path, _npz_field(path, arrays, "sampling_rate"))
    marker = None
    if "marker" in arrays:
      marker = _npz_field(path, arrays, "marker")
      if marker.ndim != 1 or not _is_numeric(marker):
        raise EcgFileError(
          f"{path}: field 'marker' is {_describe(marker)}; expected (N,) integer trigger "
          "codes (0 = none)"
        )
      marker = _integer_codes(path, marker, "field 'marker'", _at_sample)
    ignored = sorted(set(arrays.files) - set(_NPZ_FIELDS))
  notes = []
  if ignored:
    notes.append(
      EcgNote("ecg_fields_ignored", f"fields {ignored} are not read (only {list(_NPZ_FIELDS)})")
    )
  return ecg, marker, rate, notes


def _npz_field(path: Path, arrays, field: str) -> np.ndarray:
  try:
    return arrays[field]
  except ValueError as error:  # e.g. an object array, refused without allow_pickle.
    raise EcgFileError(
      f"{path}: field {field!r} cannot be loaded ({error}); expected a numeric array"
    ) from None


def _npz_rate(path: Path, value: np.ndarray) -> float:
  if value.size != 1:
    raise EcgFileError(
      f"{path}: field 'sampling_rate' is {_describe(value)}; expected one number in Hz"
    )
  if not _is_numeric(value):
    raise EcgFileError(
      f"{path}: field 'sampling_rate' is {value.reshape(-1)[0].item()!r} "
      f"({_describe(value)}); expected a number in Hz"
    )
  return float(value.reshape(-1)[0])


def _read_csv(path: Path):
  try:
    text, encoding = text_files.read_csv_text(path)
  except text_files.CsvEncodingError as error:
    raise EcgFileError(str(error)) from None
  notes = []
  if encoding != "utf-8":
    notes.append(
      EcgNote(
        "ecg_csv_encoding", f"the text is not UTF-8; read as {text_files.ENCODING_NAMES[encoding]}"
      )
    )
  if not text.strip():
    raise EcgFileError(
      f"{path}: the file is empty; expected a header row 'time_s,ecg_mv[,marker]' and one "
      "row per sample"
    )
  header = next(csv.reader([text.split("\n", 1)[0].rstrip("\r")]))
  for field in ("time_s", "ecg_mv"):
    if field not in header:
      raise EcgFileError(f"{path}: missing column {field!r}; found {header}{_header_hint(header)}")
  counts = collections.Counter(name for name in header if name.strip())
  for name, count in counts.items():
    if count > 1:
      columns = [i + 1 for i, n in enumerate(header) if n == name]
      raise EcgFileError(
        f"{path}: column {name!r} appears {count} times in the header (columns "
        f"{', '.join(map(str, columns))}); expected each column once (one ECG lead per file)"
      )
  try:
    table = pd.read_csv(io.StringIO(text), skip_blank_lines=False)
  except pd.errors.ParserError as error:  # e.g. a row with more cells than the header
    raise EcgFileError(
      f"{path}: {str(error).strip()}; expected every row to have the header's {len(header)} cells"
    ) from None
  table = table.dropna(how="all")  # blank lines: the index still counts them
  rows = table.index.to_numpy() + 2  # header is row 1, first sample row 2
  if len(table) < 2:
    raise EcgFileError(
      f"{path}: {_count(len(table), 'sample row')} below the header; expected at least 2 (the "
      "sampling rate is 1 / the step of column 'time_s')"
    )
  step = _time_step(path, _csv_numbers(path, table, "time_s", rows, "a time in s"), rows)
  ecg = _csv_numbers(path, table, "ecg_mv", rows, "an ECG value in mV")
  marker = None
  if "marker" in table.columns:
    codes = _csv_numbers(path, table, "marker", rows, "an integer trigger code (0 = none)")
    marker = _integer_codes(path, codes, "column 'marker'", lambda i: f"row {rows[i]}")
  ignored = [c for c in table.columns if c not in _CSV_COLUMNS and table[c].notna().any()]
  if ignored:
    notes.append(
      EcgNote("ecg_columns_ignored", f"columns {ignored} are not read (only {list(_CSV_COLUMNS)})")
    )
  return ecg.astype(np.float32), marker, 1.0 / step, notes


def _header_hint(header: list[str]) -> str:
  if len(header) == 1 and any(sep in header[0] for sep in ";\t"):
    return " (separated by ';' or tabs? expected commas)"
  if header and all(_is_number(name) for name in header):
    return " (the first row must be the header: time_s,ecg_mv[,marker])"
  return ""


def _is_number(text: str) -> bool:
  try:
    float(text)
  except ValueError:
    return False
  return True


def _csv_numbers(
  path: Path, table: pd.DataFrame, column: str, rows: np.ndarray, expected: str
) -> np.ndarray:
  """(N,) float64 values of a column, NaN where empty; text cells are refused by row."""
  values = table[column]
  if values.dtype.kind in "iuf":
    return values.to_numpy(np.float64)
  if values.dtype.kind == "b":  # True/False: no number at all
    numbers = pd.Series(np.nan, index=values.index)
  else:
    numbers = pd.to_numeric(values, errors="coerce")
  bad = (values.notna() & numbers.isna()).to_numpy()
  if bad.any():
    i = int(np.flatnonzero(bad)[0])
    raise EcgFileError(
      f"{path}: row {rows[i]}, column {column!r}: {str(values.iloc[i])!r} is not a number; "
      f"expected {expected} ({_count(bad.sum(), 'such cell')} in the column)"
    )
  return numbers.to_numpy(np.float64)


def _time_step(path: Path, times: np.ndarray, rows: np.ndarray) -> float:
  """The regular step of column `time_s`, s; or an `EcgFileError` naming the first bad row."""
  missing = ~np.isfinite(times)
  if missing.any():
    i = int(np.flatnonzero(missing)[0])
    raise EcgFileError(
      f"{path}: row {rows[i]}, column 'time_s': {_shown(times[i])}; expected a time in s "
      f"({_count(missing.sum(), 'such row')} in all)"
    )
  steps = np.diff(times)
  backwards = np.flatnonzero(steps <= 0)
  if backwards.size:
    i = int(backwards[0])
    reversed_hint = " (it counts down: is the file in reverse order?)" if (steps < 0).all() else ""
    raise EcgFileError(
      f"{path}: column 'time_s' must increase from row to row: row {rows[i + 1]} has "
      f"{times[i + 1]:.6g} s after {times[i]:.6g} s at row {rows[i]}; "
      f"{_count(backwards.size, 'such step')} in all{reversed_hint}"
    )
  step = float(np.median(steps))
  irregular = np.flatnonzero(np.abs(steps - step) > 0.01 * step)
  if irregular.size:
    raise EcgFileError(
      f"{path}: column 'time_s' is irregular at row {rows[irregular[0] + 1]} "
      f"(step {steps[irregular[0]]:.6g} s, expected {step:.6g} s); "
      f"{irregular.size} irregular steps in all"
    )
  return step


def _read_acq(path: Path):
  import neurokit2 as nk  # Imported here: only .acq reading needs bioread through it.

  data, rate = nk.read_acqknowledge(str(path))
  ecg_columns = [c for c in data.columns if "ecg" in c.lower()]
  if not ecg_columns:
    raise EcgFileError(f"{path}: no channel named like 'ECG'; found {list(data.columns)}")
  named = [c for c in data.columns if any(n in c.lower() for n in _MARKER_NAMES)]
  digital = sorted(c for c in data.columns if c.lower().startswith("digital"))
  notes = []
  for kind, channels in (("ECG", ecg_columns), ("marker", named)):
    if len(channels) > 1:
      notes.append(
        EcgNote(
          f"ecg_{kind.lower()}_channels_ignored",
          f"channels {channels[1:]} are also named like a {kind} channel but are not "
          f"read; {channels[0]!r} is",
        )
      )
  if named:
    values = data[named[0]].to_numpy(np.float64).round()
    marker = _integer_codes(path, values, f"channel {named[0]!r}", _at_sample)
  elif digital:
    bits = np.stack([(data[c].to_numpy() > 2.5) for c in digital], axis=1)
    marker = (bits * (1 << np.arange(len(digital)))).sum(axis=1).astype(np.int32)
  else:
    marker = None
  ecg = _ecg_samples(path, data[ecg_columns[0]].to_numpy(), f"channel {ecg_columns[0]!r}")
  return ecg, marker, float(rate), notes


def _ecg_samples(path: Path, values: np.ndarray, label: str) -> np.ndarray:
  """(N,) float32 ECG, or an `EcgFileError` for another shape, text or no samples."""
  values = np.asarray(values)
  if values.ndim != 1:
    leads = f" ({values.shape[1]} leads?)" if values.ndim == 2 else ""
    raise EcgFileError(
      f"{path}: {label} is {_describe(values)}{leads}; expected one lead, shape (N,): "
      "save the lead to use on its own"
    )
  if not _is_numeric(values):
    raise EcgFileError(f"{path}: {label} is {_describe(values)}; expected numbers in mV")
  if values.size == 0:
    raise EcgFileError(f"{path}: {label} has no samples; expected an ECG of at least one")
  return values.astype(np.float32)


def _integer_codes(path: Path, values: np.ndarray, label: str, where) -> np.ndarray:
  """(N,) int32 trigger codes, or an `EcgFileError` at the first value that is not one.

  `where(i)` names sample `i` in the user's terms ("row 17", "sample 15").
  """
  values = np.asarray(values, np.float64)
  with np.errstate(invalid="ignore"):
    bad = ~np.isfinite(values) | (values != np.round(values))
    bad |= (values < _INT32.min) | (values > _INT32.max)
  if bad.any():
    i = int(np.flatnonzero(bad)[0])
    raise EcgFileError(
      f"{path}: {where(i)}, {label}: {_shown(values[i])}; expected an integer trigger code "
      f"(0 = none) ({_count(bad.sum(), 'such value')} in all)"
    )
  return values.astype(np.int32)


def _at_sample(index: int) -> str:
  return f"sample {index}"


def _is_numeric(values: np.ndarray) -> bool:
  return values.dtype.kind in "iuf"


def _describe(values: np.ndarray) -> str:
  kinds = {"U": "text", "S": "bytes", "b": "booleans", "O": "Python objects", "c": "complex"}
  kind = kinds.get(values.dtype.kind, str(values.dtype))
  return f"{kind} of shape {values.shape}" if values.ndim else kind


def _shown(value: float) -> str:
  return "empty or NaN" if np.isnan(value) else f"{value:.6g}"


def _count(number, noun: str) -> str:
  return f"{int(number)} {noun}{'' if number == 1 else 's'}"
