"""bandpass and resample."""

import numpy as np
import pytest

from cmcl_jax.ecg import EcgError, EcgNoise, bandpass, heart_rate, resample, simulate_ecg


def _sine(hz, seconds=20.0, rate=1000.0):
  return np.sin(2 * np.pi * hz * np.arange(int(seconds * rate)) / rate)


@pytest.mark.parametrize(
  "hz, low_gain, high_gain",
  [
    (0.1, 0.0, 0.05),
    (5.0, 0.95, 1.01),
    (20.0, 0.95, 1.01),
    (50.0, 0.0, 0.2),  # mains, 1.25 x the 40 Hz corner: -17 dB
    (100.0, 0.0, 0.01),
  ],
)
def test_bandpass_passband_and_stopband(hz, low_gain, high_gain):
  out = bandpass(_sine(hz), 1000.0)
  middle = slice(5000, 15000)  # away from the edges
  gain = np.std(out[middle]) / np.std(_sine(hz)[middle])
  assert out.dtype == np.float32
  assert low_gain <= gain <= high_gain


def test_bandpass_is_zero_phase():
  beats = np.arange(0.5, 10.0, 0.9)
  ecg = simulate_ecg(beats, 10.0, noise=EcgNoise.clean(), rng=np.random.default_rng(0))
  out = bandpass(ecg, 1000.0)
  for beat in beats[1:-1]:
    r = int(round(beat * 1000))
    assert abs(r - 50 + np.argmax(out[r - 50 : r + 50]) - beat * 1000) <= 2


@pytest.mark.parametrize(
  "kwargs, message",
  [
    (dict(low_hz=40.0, high_hz=10.0), "low_hz < high_hz"),
    (dict(high_hz=600.0), "Nyquist"),
  ],
)
def test_bandpass_bad_band(kwargs, message):
  with pytest.raises(EcgError, match=message):
    bandpass(_sine(5.0), 1000.0, **kwargs)


def test_bandpass_refuses_nan():
  x = _sine(5.0)
  x[2500] = np.nan
  with pytest.raises(EcgError, match="first at 2.500 s"):
    bandpass(x, 1000.0)


@pytest.mark.parametrize(
  "to_rate, length", [(250.0, 5000), (128.0, 2560), (1000.0, 20000), (2000.0, 40000)]
)
def test_resample_length(to_rate, length):
  out = resample(_sine(5.0), 1000.0, to_rate)
  assert out.shape == (length,)
  assert out.dtype == np.float32


def test_resample_keeps_timing_and_heart_rate():
  rng = np.random.default_rng(1)
  beats = np.arange(0.4, 30.0, 0.75)
  ecg = simulate_ecg(beats, 30.0, 1000.0, rng=rng)
  times = np.arange(0, 30.0, 1 / 150)
  at_250 = heart_rate(resample(ecg, 1000.0, 250.0), 250.0, times)
  assert np.abs(at_250.hr_bpm[at_250.quality] - 80.0).max() < 0.5
  planted = beats[1:-1]
  assert np.abs(at_250.r_peaks_s[:, None] - planted).min(axis=0).max() <= 0.006


def test_resample_bad_rate():
  with pytest.raises(EcgError, match="to_rate must be > 0 Hz"):
    resample(_sine(5.0), 1000.0, 0.0)
