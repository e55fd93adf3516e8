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
  """``ecg`` as a (N,) float64 array (the input itself if it already is one), or
  :class:`EcgError` if it is not one."""
  array = np.asarray(ecg)
  if array.ndim != 1:
    raise EcgError(f"ECG must be a 1-D signal, got shape {array.shape}")
  if array.size == 0:
    raise EcgError("ECG is empty")
  if not (np.issubdtype(array.dtype, np.number) or array.dtype == bool):
    raise EcgError(f"ECG must be numeric, got dtype {array.dtype}")
  return array.astype(np.float64, copy=False)


def signal_problems(ecg: np.ndarray, sampling_rate: float) -> tuple[SignalProblem, ...]:
  """Stretches of a raw ECG that are NaN, flat (lead-off) or saturated (clipped).

  Cost: a few passes over the samples (~20 ms for 1 h at 1 kHz); the sliding-window
  flat-line test runs only where whole blocks of the signal are already quiet.

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
  all_finite = bool(finite.all())
  problems = [] if all_finite else [("nan", run) for run in _runs(~finite)]
  if all_finite or finite.any():
    problems += [("flat", run) for run in _runs(_flat_mask(ecg, finite, all_finite, sampling_rate))]
    problems += [
      ("saturated", run) for run in _saturated_runs(ecg, finite, all_finite, sampling_rate)
    ]
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
  index = np.flatnonzero(mask)
  if index.size == 0:
    return []
  breaks = np.flatnonzero(np.diff(index) > 1)
  starts = index[np.concatenate(([0], breaks + 1))]
  ends = index[np.concatenate((breaks, [index.size - 1]))] + 1
  return list(zip(starts.tolist(), ends.tolist()))


def _flat_mask(ecg, finite, all_finite, sampling_rate):
  """True on samples covered by a >= FLAT_MIN_S window of almost constant signal.

  A centred window is flat when its peak-to-peak amplitude is at most the tolerance.
  Every block of samples inside a flat window is then quiet too, so the exact sliding
  min/max runs only around runs of quiet blocks - for a good recording, nowhere. The
  result equals the sliding test over the whole signal (scipy's filters, whose
  "reflect" border adds no sample outside the window).
  """
  # Odd, so that the centred window and the dilation below cover the same samples.
  window = 2 * int(round(FLAT_MIN_S * sampling_rate / 2)) + 1
  half = window // 2
  if ecg.size < window:
    return np.zeros(ecg.size, dtype=bool)
  # NaNs are handled by their own problem kind; give them a neutral value here.
  filled = ecg if all_finite else np.where(finite, ecg, np.median(ecg[finite]))
  tolerance = FLAT_RELATIVE_AMPLITUDE * np.percentile(_window_peak_to_peak(filled, window), 90)
  # A window (>= half + 1 samples at the borders) holds >= `least` whole blocks.
  block = max(1, (half + 1) // 4)
  least = max(1, (half + 2) // block - 1)
  blocks = filled[: filled.size // block * block].reshape(-1, block)
  quiet = blocks.max(axis=1) - blocks.min(axis=1) <= tolerance
  flat = np.zeros(ecg.size, dtype=bool)
  for first, last in _runs(quiet):
    if last - first < least:
      continue
    # Centres within `half` of the run; their windows within `2 * half`.
    lo, hi = max(0, first * block - 2 * half), min(ecg.size, last * block + 2 * half)
    centre_lo, centre_hi = max(0, first * block - half), min(ecg.size, last * block + half)
    part = filled[lo:hi]
    centres = (
      scipy.ndimage.maximum_filter1d(part, window) - scipy.ndimage.minimum_filter1d(part, window)
      <= tolerance
    )
    if not all_finite:  # windows touching a NaN are judged on the NaN problem alone
      centres &= ~scipy.ndimage.maximum_filter1d(~finite[lo:hi], window)
    centres[: centre_lo - lo] = False
    centres[centre_hi - lo :] = False
    flat[lo:hi] |= scipy.ndimage.maximum_filter1d(centres, window)
  return flat & finite


def _window_peak_to_peak(signal, window):
  """Peak-to-peak amplitude of consecutive `window`-sample stretches (the last one may be
  shorter, down to window // 2 + 1 samples): the windows centred on samples
  window // 2, window // 2 + window, ...; the recording's typical amplitude per second."""
  whole = signal[: (signal.size // window) * window].reshape(-1, window)
  amplitude = whole.max(axis=1) - whole.min(axis=1)
  rest = signal[whole.size :]
  if rest.size > window // 2:
    amplitude = np.append(amplitude, rest.max() - rest.min())
  return amplitude


def _saturated_runs(ecg, finite, all_finite, sampling_rate):
  """[start, end) runs of >= SATURATION_MIN_S that sit exactly at the recording's
  extreme values."""
  minimum_run = max(SATURATION_MIN_SAMPLES, int(round(SATURATION_MIN_S * sampling_rate)))
  values = ecg if all_finite else ecg[finite]
  at_rail = (ecg == values.max()) | (ecg == values.min())  # NaN compares False
  return [(start, end) for start, end in _runs(at_rail) if end - start >= minimum_run]
