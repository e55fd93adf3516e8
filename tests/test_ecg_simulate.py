"""simulate_ecg: R-peaks where planted, PQRST shape, noise that NeuroKit2 copes with."""

import neurokit2 as nk
import numpy as np
import pytest

from cmcl_jax.ecg import EcgNoise, simulate_ecg


def _beats(hr_bpm, duration_s, rng):
  """Beat times with 3 % RR jitter covering [-1 s, duration_s + 1 s]."""
  rr_s = 60.0 / hr_bpm * (1 + 0.03 * rng.standard_normal(int(duration_s * hr_bpm / 40) + 10))
  beats = -1.0 + np.cumsum(rr_s)
  return beats[beats < duration_s + 1.0]


def _match(detected_s, planted_s, tolerance_s):
  """(sensitivity, positive predictive value) of detections within tolerance."""
  distance = np.abs(detected_s[:, None] - planted_s[None, :])
  return (distance.min(axis=0) <= tolerance_s).mean(), (distance.min(axis=1) <= tolerance_s).mean()


def test_shape_dtype_and_length():
  ecg = simulate_ecg(
    np.array([0.5, 1.3]), duration_s=2.0005, sampling_rate=250.0, rng=np.random.default_rng(0)
  )
  assert ecg.shape == (500,)
  assert ecg.dtype == np.float32


@pytest.mark.parametrize("sampling_rate", [1000.0, 250.0])
def test_clean_r_peak_maxima_at_planted_beats(sampling_rate):
  rng = np.random.default_rng(1)
  beats = _beats(75.0, 20.0, rng)
  ecg = simulate_ecg(beats, 20.0, sampling_rate, noise=EcgNoise.clean(), rng=rng)
  inside = beats[(beats > 0.1) & (beats < 19.9)]
  half = int(0.1 * sampling_rate)
  for beat in inside:
    centre = int(round(beat * sampling_rate))
    local_max = centre - half + int(np.argmax(ecg[centre - half : centre + half]))
    assert abs(local_max - beat * sampling_rate) <= 1.0
  assert 1.0 < ecg.max() < 1.6  # R amplitude, mV
  assert -0.5 < ecg.min() < -0.1  # S wave, mV


def test_t_wave_moves_towards_r_as_heart_rate_rises():
  def r_to_t_peak_s(hr_bpm):
    rr_s = 60.0 / hr_bpm
    beats = np.arange(1.0, 9.0, rr_s)
    ecg = simulate_ecg(beats, 10.0, noise=EcgNoise.clean(), rng=np.random.default_rng(2))
    r = int(round(beats[3] * 1000))
    return (np.argmax(ecg[r + 100 : r + int(0.7 * rr_s * 1000)]) + 100) / 1000

  assert r_to_t_peak_s(120.0) < r_to_t_peak_s(60.0) - 0.05


@pytest.mark.parametrize("hr_bpm", [55.0, 70.0, 90.0, 110.0])
def test_neurokit_finds_planted_beats_at_default_noise(hr_bpm):
  duration_s, fs = 90.0, 1000.0
  rng = np.random.default_rng(int(hr_bpm))
  beats = _beats(hr_bpm, duration_s, rng)
  ecg = simulate_ecg(beats, duration_s, fs, rng=rng)
  cleaned = nk.ecg_clean(ecg, sampling_rate=fs)
  detected = nk.ecg_findpeaks(cleaned, sampling_rate=fs)["ECG_R_Peaks"] / fs
  # Filter transients at the record edges are not the simulator's concern.
  interior = lambda t: t[(t > 1.0) & (t < duration_s - 1.0)]
  sensitivity, ppv = _match(interior(detected), interior(beats), tolerance_s=0.010)
  assert sensitivity >= 0.99
  assert ppv >= 0.99


def test_noise_sizes():
  rng = np.random.default_rng(3)
  silent = simulate_ecg(np.array([]), 60.0, noise=EcgNoise(), rng=rng)
  assert 0.02 < np.std(silent) < 0.2  # baseline wander dominates, mV
  hum = simulate_ecg(
    np.array([]),
    2.0,
    noise=EcgNoise(baseline_wander_mv=0, mains_mv=0.1, emg_mv=0, white_mv=0),
    rng=rng,
  )
  spectrum = np.abs(np.fft.rfft(hum))
  assert np.argmax(spectrum) / 2.0 == pytest.approx(50.0)
  assert np.all(simulate_ecg(np.array([]), 1.0, noise=EcgNoise.clean(), rng=rng) == 0)


def test_noise_scaled():
  assert EcgNoise().scaled(0.0) == EcgNoise.clean()
  assert EcgNoise().scaled(2.0).emg_mv == 2 * EcgNoise().emg_mv
  assert EcgNoise().scaled(2.0).mains_hz == EcgNoise().mains_hz


@pytest.mark.parametrize(
  "beats, message",
  [
    (np.array([1.0, 0.5]), "strictly increasing"),
    (np.array([1.0, np.nan]), "NaN"),
    (np.zeros((2, 2)), "1-D"),
  ],
)
def test_bad_beat_times(beats, message):
  with pytest.raises(ValueError, match=message):
    simulate_ecg(beats, 2.0, rng=np.random.default_rng(0))


def test_bad_noise():
  with pytest.raises(ValueError, match="emg_mv"):
    EcgNoise(emg_mv=-1.0)
