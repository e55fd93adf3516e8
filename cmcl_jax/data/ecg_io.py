"""ECG recordings on disk: continuous sessions with a marker channel, or one per trial.

Formats read:
  `.npz`  arrays `ecg` (N,) mV, `marker` (N,) int (optional for per-trial files) and a
          scalar `sampling_rate` in Hz.
  `.csv`  columns `time_s`, `ecg_mv` and optionally `marker`; the sampling rate is
          1 / the median step of `time_s`, which must be regular.
  `.acq`  BIOPAC AcqKnowledge, read with `neurokit2.read_acqknowledge` (bioread): the
          ECG is the first channel whose name contains "ECG"; the marker is a channel
          whose name contains "marker", "trigger" or "event", or else the digital
          input channels (named "Digital…"), read as bits of one integer code.

A marker channel holds a clip's code (e.g. 101…148) from the sample where that trial's
video starts for a short pulse, and 0 elsewhere.
"""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

import numpy as np
import pandas as pd

ECG_SUFFIXES = (".npz", ".csv", ".acq")
_MARKER_NAMES = ("marker", "trigger", "event")


class EcgFileError(ValueError):
  """An ECG file is missing, unreadable or malformed."""


@dataclasses.dataclass(frozen=True)
class EcgRecording:
  """An ECG recording.

  Attributes:
    ecg: (N,) float32 ECG, mV.
    marker: (N,) int32 trigger codes (0 = none), or None when the file has none.
    sampling_rate: Hz.
    path: the file it was read from (None when built in memory).
  """

  ecg: np.ndarray
  marker: np.ndarray | None
  sampling_rate: float
  path: Path | None = None

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
    EcgFileError: naming the file and the field, when it is missing, unreadable,
      lacks a required field, or has an irregular or non-positive sampling rate.
  """
  path = Path(path)
  if not path.exists():
    raise EcgFileError(f"{path}: ECG file not found")
  suffix = path.suffix.lower()
  readers = {".npz": _read_npz, ".csv": _read_csv, ".acq": _read_acq}
  if suffix not in readers:
    raise EcgFileError(f"{path}: unsupported ECG suffix; expected one of {ECG_SUFFIXES}")
  try:
    ecg, marker, rate = readers[suffix](path)
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
  return EcgRecording(
    np.asarray(ecg, np.float32),
    None if marker is None else np.asarray(marker, np.int32),
    float(rate),
    path,
  )


def write_recording(path: str | os.PathLike, recording: EcgRecording) -> None:
  """Writes `.npz` or `.csv` in the format `read_recording` reads."""
  path = Path(path)
  path.parent.mkdir(parents=True, exist_ok=True)
  if path.suffix == ".npz":
    arrays = {"ecg": recording.ecg, "sampling_rate": np.float64(recording.sampling_rate)}
    if recording.marker is not None:
      arrays["marker"] = recording.marker
    np.savez(path, **arrays)
  elif path.suffix == ".csv":
    table = {
      "time_s": np.arange(len(recording.ecg)) / recording.sampling_rate,
      "ecg_mv": recording.ecg,
    }
    if recording.marker is not None:
      table["marker"] = recording.marker
    pd.DataFrame(table).to_csv(path, index=False, float_format="%.6g")
  else:
    raise EcgFileError(f"{path}: can only write .npz or .csv ECG files")


def _read_npz(path: Path):
  with np.load(path) as arrays:
    for field in ("ecg", "sampling_rate"):
      if field not in arrays:
        raise EcgFileError(f"{path}: missing field {field!r}; found {sorted(arrays)}")
    marker = arrays["marker"] if "marker" in arrays else None
    return arrays["ecg"], marker, float(arrays["sampling_rate"])


def _read_csv(path: Path):
  table = pd.read_csv(path)
  for field in ("time_s", "ecg_mv"):
    if field not in table.columns:
      raise EcgFileError(f"{path}: missing column {field!r}; found {list(table.columns)}")
  times = table["time_s"].to_numpy(np.float64)
  steps = np.diff(times)
  if len(steps) == 0:
    raise EcgFileError(f"{path}: column 'time_s' needs at least 2 samples")
  step = float(np.median(steps))
  irregular = np.flatnonzero(np.abs(steps - step) > 0.01 * step)
  if irregular.size:
    row = int(irregular[0]) + 3  # header is row 1, first sample row 2
    raise EcgFileError(
      f"{path}: column 'time_s' is irregular at row {row} "
      f"(step {steps[irregular[0]]:.6g} s, expected {step:.6g} s); "
      f"{irregular.size} irregular steps in all"
    )
  marker = table["marker"].to_numpy() if "marker" in table.columns else None
  return table["ecg_mv"].to_numpy(np.float32), marker, 1.0 / step


def _read_acq(path: Path):
  import neurokit2 as nk  # Imported here: only .acq reading needs bioread through it.

  data, rate = nk.read_acqknowledge(str(path))
  ecg_columns = [c for c in data.columns if "ecg" in c.lower()]
  if not ecg_columns:
    raise EcgFileError(f"{path}: no channel named like 'ECG'; found {list(data.columns)}")
  named = [c for c in data.columns if any(n in c.lower() for n in _MARKER_NAMES)]
  digital = sorted(c for c in data.columns if c.lower().startswith("digital"))
  if named:
    marker = data[named[0]].to_numpy().round().astype(np.int32)
  elif digital:
    bits = np.stack([(data[c].to_numpy() > 2.5) for c in digital], axis=1)
    marker = (bits * (1 << np.arange(len(digital)))).sum(axis=1).astype(np.int32)
  else:
    marker = None
  return data[ecg_columns[0]].to_numpy(np.float32), marker, float(rate)
