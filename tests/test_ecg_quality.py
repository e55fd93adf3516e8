"""Bad ECG input: a clear EcgError or a documented flag, never a silently wrong HR."""

import numpy as np
import pytest
import scipy.ndimage

from cmcl_jax.ecg import EcgError, SignalProblem, heart_rate, signal_problems, simulate_ecg

FPS = 150.0
TIMES = np.arange(0, 60.0, 1 / FPS)


@pytest.fixture(scope="module")
def ecg():
  """60 s at 1 kHz, 75 bpm (beats every 0.8 s from 0.4 s), default noise, float64."""
  beats = np.arange(0.4, 60.0, 0.8)
  return simulate_ecg(beats, 60.0, rng=np.random.default_rng(0)).astype(np.float64)


def _assert_good_hr_elsewhere(hr, bad_from_s, bad_to_s):
  bad = (TIMES > bad_from_s - 0.2) & (TIMES < bad_to_s + 0.2)
  assert not hr.quality[bad].any()
  assert hr.quality[~bad].mean() > 0.85
  assert np.abs(hr.hr_bpm[hr.quality] - 75.0).max() < 0.5


def test_clean_recording_has_no_problems(ecg):
  assert signal_problems(ecg, 1000.0) == ()


def test_short_nan_run_is_flagged_and_bridged(ecg):
  broken = ecg.copy()
  broken[10_000:10_100] = np.nan
  hr = heart_rate(broken, 1000.0, TIMES)
  assert hr.problems == (SignalProblem("nan", 10.0, 10.1),)
  assert str(hr.problems[0]) == "nan from 10.000 s to 10.100 s"
  _assert_good_hr_elsewhere(hr, 10.0, 10.1)


def test_long_nan_run_is_flagged(ecg):
  broken = ecg.copy()
  broken[10_000:15_000] = np.nan
  hr = heart_rate(broken, 1000.0, TIMES)
  assert hr.problems == (SignalProblem("nan", 10.0, 15.0),)
  assert not np.any((hr.r_peaks_s > 10.0) & (hr.r_peaks_s < 15.0))
  _assert_good_hr_elsewhere(hr, 10.0, 15.0)


def test_flat_line_is_flagged(ecg):
  broken = ecg.copy()
  broken[20_000:30_000] = 0.0  # lead-off
  hr = heart_rate(broken, 1000.0, TIMES)
  [flat] = hr.problems
  assert flat.kind == "flat"
  assert flat.start_s == pytest.approx(20.0, abs=0.01)
  assert flat.end_s == pytest.approx(30.0, abs=0.01)
  _assert_good_hr_elsewhere(hr, 20.0, 30.0)


def test_stuck_at_rail_is_flagged_as_saturated(ecg):
  broken = ecg.copy()
  broken[30_000:33_000] = ecg.max() + 1.0
  hr = heart_rate(broken, 1000.0, TIMES)
  assert {p.kind for p in hr.problems} == {"flat", "saturated"}
  assert SignalProblem("saturated", 30.0, 33.0) in hr.problems
  _assert_good_hr_elsewhere(hr, 30.0, 33.0)


def test_clipped_r_peaks_reject_every_beat_with_a_clear_error(ecg):
  with pytest.raises(EcgError, match=r"too few beats.*saturated from 0\.3"):
    heart_rate(np.clip(ecg, None, 0.9), 1000.0, TIMES)


def test_too_few_beats(ecg):
  with pytest.raises(EcgError, match="too few beats for a heart rate: .* in 2.500 s"):
    heart_rate(ecg[:2500], 1000.0, TIMES)


def test_pure_noise_gives_no_heart_rate():
  noise = np.random.default_rng(1).standard_normal(60_000)
  with pytest.raises(EcgError, match="0 accepted RR intervals"):
    heart_rate(noise, 1000.0, TIMES)


def test_beats_stopping_mid_recording_are_not_extrapolated(ecg):
  # ECG for 40 s, then electrode noise only: no good HR is claimed in the noise.
  noise_only = simulate_ecg(np.array([]), 60.0, rng=np.random.default_rng(2))
  mixed = np.concatenate([ecg[:40_000], noise_only[40_000:]])
  hr = heart_rate(mixed, 1000.0, TIMES)
  assert not hr.quality[TIMES > 40.0].any()
  assert np.abs(hr.hr_bpm[hr.quality] - 75.0).max() < 0.5


@pytest.mark.parametrize("sampling_rate", [50.0, 99.0, np.nan])
def test_sampling_rate_too_low(ecg, sampling_rate):
  with pytest.raises(EcgError, match="below the 100 Hz"):
    heart_rate(ecg[::20], sampling_rate, TIMES)


@pytest.mark.parametrize(
  "bad, message",
  [
    (np.zeros((10, 2)), "1-D"),
    (np.zeros(0), "empty"),
    (np.array(["a", "b"]), "numeric"),
  ],
)
def test_not_an_ecg(bad, message):
  with pytest.raises(EcgError, match=message):
    heart_rate(bad, 1000.0, TIMES)


def test_all_nan_and_all_zero():
  with pytest.raises(EcgError, match="nan from 0.000 s to 60.000 s"):
    heart_rate(np.full(60_000, np.nan), 1000.0, TIMES)
  with pytest.raises(EcgError, match="flat from 0.000 s to 60.000 s"):
    heart_rate(np.zeros(60_000), 1000.0, TIMES)


def _flat_reference(ecg, sampling_rate):
  """The flat-line rule of `signal_problems` as sliding filters over every sample."""
  finite = np.isfinite(ecg)
  window = 2 * int(round(sampling_rate / 2)) + 1
  filled = np.where(finite, ecg, np.median(ecg[finite]))
  peak_to_peak = scipy.ndimage.maximum_filter1d(filled, window) - scipy.ndimage.minimum_filter1d(
    filled, window
  )
  tolerance = 0.01 * np.percentile(peak_to_peak[window // 2 :: window], 90)
  touches_nan = scipy.ndimage.maximum_filter1d(~finite, window)
  centres = (peak_to_peak <= tolerance) & ~touches_nan
  return scipy.ndimage.maximum_filter1d(centres, window) & finite


@pytest.mark.parametrize("seed", range(6))
def test_flat_scan_equals_the_sliding_filter_over_every_sample(ecg, seed):
  # Flat stretches of random length and place (also at both ends and near NaNs), some
  # just shorter than the 1 s window, on a recording of odd length.
  rng = np.random.default_rng(seed)
  sampling_rate = float(rng.choice([250.0, 1000.0]))
  broken = ecg[: 40_000 + int(rng.integers(0, 999))].copy()
  for _ in range(5):
    start = int(rng.integers(-500, broken.size))
    length = int(rng.integers(int(0.5 * sampling_rate), int(3 * sampling_rate)))
    broken[max(0, start) : start + length] = broken[max(0, start)] + rng.normal(0, 1e-4)
  if seed % 2:
    start = int(rng.integers(0, broken.size - 300))
    broken[start : start + int(rng.integers(1, 300))] = np.nan
  want = [(p.start_s, p.end_s) for p in signal_problems(broken, sampling_rate) if p.kind == "flat"]
  edges = np.diff(_flat_reference(broken, sampling_rate).astype(np.int8), prepend=0, append=0)
  reference = zip(np.flatnonzero(edges == 1), np.flatnonzero(edges == -1))
  assert want == [(start / sampling_rate, end / sampling_rate) for start, end in reference]
  assert want  # the test planted flat lines


def test_ecg_error_is_a_value_error():
  assert issubclass(EcgError, ValueError)
