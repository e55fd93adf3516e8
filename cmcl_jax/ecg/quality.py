"""Where an ECG recording cannot be trusted: NaN runs, flat line (lead-off), saturation.

:func:`signal_problems` scans a raw recording and returns the stretches that no R-peak
or heart-rate value should be taken from; :func:`heart_rate` uses it to reject beats and
to clear its per-sample quality flag.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.ndimage

from cmcl_jax.ecg.errors import EcgError

# R-peak detectors need the QRS complex (~80-100 ms) resolved to a few samples.
MIN_SAMPLING_RATE_HZ = 100.0
# A flat line lasts at least this long (s): even at 40 bpm every second of real ECG holds
# a P, QRS or T wave.
FLAT_MIN_S = 1.0
# ... and its peak-to-peak amplitude stays below this fraction of the recording's typical
# (90th percentile) peak-to-peak amplitude per second.
FLAT_RELATIVE_AMPLITUDE = 0.01
# Saturation: the signal sits exactly at the recording's maximum or minimum for at least
# this long (s) or 3 samples, whichever is longer; a real R-peak top lasts one sample.
SATURATION_MIN_S = 0.01
SATURATION_MIN_SAMPLES = 3


@dataclasses.dataclass(frozen=True)
class SignalProblem:
  """A stretch of recording that cannot be trusted.

  Attributes:
    kind: ``"nan"`` (NaN or infinite samples), ``"flat"`` (flat line, e.g. lead-off) or
      ``"saturated"`` (stuck at the recording's maximum or minimum: amplifier clipping).
    start_s: first affected sample, seconds from the first sample.
    end_s: one sample past the last affected sample (s).
  """

  kind: str
  start_s: float
  end_s: float

  def __str__(self) -> str:
    return f"{self.kind} from {self.start_s:.3f} s to {self.end_s:.3f} s"


def check_sampling_rate(sampling_rate: float) -> float:
  """``sampling_rate`` as a float, or :class:`EcgError` if R-peaks cannot be found at it."""
  if not np.isfinite(sampling_rate) or sampling_rate < MIN_SAMPLING_RATE_HZ:
    raise EcgError(
      f"sampling_rate={sampling_rate!r} Hz is below the {MIN_SAMPLING_RATE_HZ:g} Hz that "
      "R-peak detection needs to resolve the QRS complex (upsampling cannot restore it)"
    )
  return float(sampling_rate)


def as_ecg_array(ecg: np.ndarray) -> np.ndarray:
  """``ecg`` as a (N,) float64 array, or :class:`EcgError` if it is not one."""
  array = np.asarray(ecg)
  if array.ndim != 1:
    raise EcgError(f"ECG must be a 1-D signal, got shape {array.shape}")
  if array.size == 0:
    raise EcgError("ECG is empty")
  if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
    raise EcgError(f"ECG must be numeric, got dtype {array.dtype}")
  return array.astype(np.float64)


def signal_problems(ecg: np.ndarray, sampling_rate: float) -> tuple[SignalProblem, ...]:
  """Stretches of a raw ECG that are NaN, flat (lead-off) or saturated (clipped).

  Args:
    ecg: (N,) raw ECG, any unit (thresholds are relative to the recording itself).
    sampling_rate: Hz.

  Returns:
    The problems sorted by start time; empty for a clean recording. A flat line at the
    amplifier's rail is reported both as ``"flat"`` and ``"saturated"``.

  Example:
    >>> ecg = np.sin(np.arange(5000) / 50.0)
    >>> ecg[1000:1200] = np.nan
    >>> [str(p) for p in signal_problems(ecg, 1000.0)]
    ['nan from 1.000 s to 1.200 s']
  """
  ecg = as_ecg_array(ecg)
  if not np.isfinite(sampling_rate) or sampling_rate <= 0:
    raise EcgError(f"sampling_rate must be > 0 Hz, got {sampling_rate!r}")
  finite = np.isfinite(ecg)
  problems = [("nan", run) for run in _runs(~finite)]
  if finite.any():
    problems += [("flat", run) for run in _runs(_flat_mask(ecg, finite, sampling_rate))]
    problems += [("saturated", run) for run in _runs(_saturated_mask(ecg, finite, sampling_rate))]
  return tuple(
    sorted(
      (
        SignalProblem(kind, start / sampling_rate, end / sampling_rate)
        for kind, (start, end) in problems
      ),
      key=lambda p: (p.start_s, p.kind),
    )
  )


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
  """[start, end) sample ranges of the True runs of a boolean mask."""
  edges = np.diff(mask.astype(np.int8), prepend=0, append=0)
  return list(zip(np.flatnonzero(edges == 1).tolist(), np.flatnonzero(edges == -1).tolist()))


def _flat_mask(ecg, finite, sampling_rate):
  """True on samples covered by a >= FLAT_MIN_S window of almost constant signal."""
  # Odd, so that the centred window and the dilation below cover the same samples.
  window = 2 * int(round(FLAT_MIN_S * sampling_rate / 2)) + 1
  if ecg.size < window:
    return np.zeros(ecg.size, dtype=bool)
  # NaNs are handled by their own problem kind; give them a neutral value here.
  filled = np.where(finite, ecg, np.median(ecg[finite]))
  peak_to_peak = scipy.ndimage.maximum_filter1d(filled, window) - scipy.ndimage.minimum_filter1d(
    filled, window
  )
  per_second = peak_to_peak[window // 2 :: window]
  tolerance = FLAT_RELATIVE_AMPLITUDE * np.percentile(per_second, 90)
  # Windows touching a NaN are judged on the NaN problem alone.
  touches_nan = scipy.ndimage.maximum_filter1d(~finite, window)
  flat_centres = (peak_to_peak <= tolerance) & ~touches_nan
  return scipy.ndimage.maximum_filter1d(flat_centres, window) & finite


def _saturated_mask(ecg, finite, sampling_rate):
  """True on runs that sit exactly at the recording's extreme values."""
  minimum_run = max(SATURATION_MIN_SAMPLES, int(round(SATURATION_MIN_S * sampling_rate)))
  at_rail = finite & ((ecg == np.max(ecg[finite])) | (ecg == np.min(ecg[finite])))
  mask = np.zeros(ecg.size, dtype=bool)
  for start, end in _runs(at_rail):
    if end - start >= minimum_run:
      mask[start:end] = True
  return mask
