"""Zero-phase band-pass filtering and resampling of raw ECG (the TCN's input)."""

from __future__ import annotations

import fractions

import numpy as np
import scipy.signal

from cmcl_jax.ecg.errors import EcgError
from cmcl_jax.ecg.quality import as_ecg_array

# Largest denominator of the rational up/down factor used by resample(); keeps the
# polyphase filter short while matching any rate to within 0.1 %.
_MAX_RESAMPLE_DENOMINATOR = 1000


def bandpass(
  ecg: np.ndarray, sampling_rate: float, low_hz: float = 0.5, high_hz: float = 40.0, order: int = 4
) -> np.ndarray:
  """Zero-phase Butterworth band-pass: removes baseline wander and mains/EMG noise.

  The 0.5-40 Hz default keeps the P, QRS and T waves (the bandwidth of monitoring ECG)
  and drops respiration-driven wander below and muscle noise above; 50 Hz mains hum,
  just above the corner, is attenuated about 7 times (-17 dB), 60 Hz about 30 times.
  Filtering runs forward and backward (``sosfiltfilt``), so no wave is delayed.

  Args:
    ecg: (N,) raw ECG, any unit; must be finite (see :func:`signal_problems`).
    sampling_rate: Hz.
    low_hz: lower cut-off (Hz), > 0.
    high_hz: upper cut-off (Hz), below the Nyquist frequency ``sampling_rate / 2``.
    order: Butterworth order of each of the two passes (the effective order doubles).

  Returns:
    (N,) float32 filtered ECG in the unit of ``ecg``.

  Example:
    >>> ecg = np.random.default_rng(0).standard_normal(10_000)  # 10 s at 1 kHz
    >>> bandpass(ecg, 1000.0).shape
    (10000,)
  """
  ecg = as_ecg_array(ecg)
  if not np.isfinite(sampling_rate) or sampling_rate <= 0:
    raise EcgError(f"sampling_rate must be > 0 Hz, got {sampling_rate!r}")
  if not 0 < low_hz < high_hz < sampling_rate / 2:
    raise EcgError(
      f"band-pass needs 0 < low_hz < high_hz < Nyquist ({sampling_rate / 2:g} Hz), "
      f"got low_hz={low_hz!r}, high_hz={high_hz!r}"
    )
  _check_finite(ecg, sampling_rate)
  sos = scipy.signal.butter(
    order, (low_hz, high_hz), btype="bandpass", fs=sampling_rate, output="sos"
  )
  padding = min(ecg.size - 1, int(3 * sampling_rate / low_hz))
  return scipy.signal.sosfiltfilt(sos, ecg, padlen=padding).astype(np.float32)


def resample(ecg: np.ndarray, from_rate: float, to_rate: float) -> np.ndarray:
  """ECG resampled from one sampling rate to another (polyphase, anti-aliased).

  The ratio ``to_rate / from_rate`` is approximated by a fraction with a denominator of
  at most 1000, so rates such as 1000 -> 128 Hz or 44.1 -> 1 kHz are exact.

  Args:
    ecg: (N,) ECG, any unit; must be finite.
    from_rate: sampling rate of ``ecg`` (Hz).
    to_rate: wanted sampling rate (Hz).

  Returns:
    (ceil(N * up / down),) float32 ECG, where ``up / down`` is the rational ratio above
    (``round(N * to_rate / from_rate)`` samples give or take one).

  Example:
    >>> resample(np.zeros(1000), 1000.0, 250.0).shape
    (250,)
  """
  ecg = as_ecg_array(ecg)
  for name, rate in (("from_rate", from_rate), ("to_rate", to_rate)):
    if not np.isfinite(rate) or rate <= 0:
      raise EcgError(f"{name} must be > 0 Hz, got {rate!r}")
  _check_finite(ecg, from_rate)
  ratio = fractions.Fraction(to_rate / from_rate).limit_denominator(_MAX_RESAMPLE_DENOMINATOR)
  if ratio == 1:
    return ecg.astype(np.float32)
  resampled = scipy.signal.resample_poly(ecg, ratio.numerator, ratio.denominator, padtype="line")
  return resampled.astype(np.float32)


def _check_finite(ecg, sampling_rate):
  if not np.all(np.isfinite(ecg)):
    first = int(np.flatnonzero(~np.isfinite(ecg))[0])
    raise EcgError(
      f"ECG has NaN or infinite samples (first at {first / sampling_rate:.3f} s); "
      "find them with signal_problems() and cut or fill them first"
    )
