"""heart_rate / hrs_at / mean_hrs on ECG with known beats."""

import neurokit2 as nk
import numpy as np
import pytest

from cmcl_jax.ecg import EcgError, HeartRate, heart_rate, hrs_at, mean_hrs, simulate_ecg

FPS = 150.0


def _beats_from_hr(hr_of_t, duration_s):
  """Beat times whose every RR interval has the HR of its midpoint (bpm, callable)."""
  beats = [-0.5]
  while beats[-1] < duration_s + 1.0:
    rr_s = 60.0 / hr_of_t(beats[-1])
    beats.append(beats[-1] + 60.0 / hr_of_t(beats[-1] + rr_s / 2))
  return np.array(beats)


def _true_hr(beats, times_s):
  midpoints = 0.5 * (beats[1:] + beats[:-1])
  return np.interp(times_s, midpoints, 60.0 / np.diff(beats))


@pytest.mark.parametrize(
  "hr_bpm, sampling_rate", [(55.0, 1000.0), (72.0, 250.0), (110.0, 1000.0), (90.0, 128.0)]
)
def test_hr_error_below_1_bpm(hr_bpm, sampling_rate):
  rng = np.random.default_rng(int(hr_bpm))
  rr_s = 60.0 / hr_bpm * (1 + 0.03 * rng.standard_normal(200))
  beats = -0.5 + np.cumsum(rr_s)
  beats = beats[beats < 61.0]
  ecg = simulate_ecg(beats, 60.0, sampling_rate, rng=rng)
  times = np.arange(0, 60.0, 1 / FPS)
  hr = heart_rate(ecg, sampling_rate, times)

  assert hr.hr_bpm.shape == hr.hrs_bpm_per_s.shape == hr.quality.shape == times.shape
  assert hr.hr_bpm.dtype == hr.hrs_bpm_per_s.dtype == np.float32
  assert hr.quality.mean() > 0.9
  error = np.abs(hr.hr_bpm - _true_hr(beats, times))[hr.quality]
  assert error.mean() < 1.0
  assert np.all(hr.hrs_bpm_per_s >= 0)
  # Every planted beat is found to within 10 ms.
  planted = beats[(beats > 0.3) & (beats < 59.7)]
  assert np.abs(hr.r_peaks_s[:, None] - planted[None, :]).min(axis=0).max() < 0.010


def test_clean_signal_hr_is_exact():
  beats = np.arange(0.4, 30.0, 0.8)
  ecg = simulate_ecg(beats, 30.0, rng=np.random.default_rng(0))
  hr = heart_rate(ecg, 1000.0, np.arange(0, 30.0, 1 / FPS))
  assert np.abs(hr.hr_bpm[hr.quality] - 75.0).max() < 0.2
  assert hr.rr_accepted.all()
  # Outside the first / last RR midpoint the HR is held, and flagged.
  assert not hr.quality[0] and not hr.quality[-1]
  assert mean_hrs(hr) < 0.1


@pytest.mark.parametrize("hr_bpm", [60, 95])
def test_neurokit_simulated_ecg(hr_bpm):
  ecg = nk.ecg_simulate(duration=40, sampling_rate=500, heart_rate=hr_bpm, random_state=hr_bpm)
  hr = heart_rate(ecg, 500.0, np.arange(0, 40.0, 1 / FPS))
  assert hr.quality.mean() > 0.9
  assert np.median(hr.hr_bpm[hr.quality]) == pytest.approx(hr_bpm, abs=1.5)


def test_hr_ramp_gives_hrs_equal_to_its_slope():
  slope = 1.5  # bpm/s, from 20 s to 40 s: 60 -> 90 bpm
  hr_of_t = lambda t: 60.0 + slope * np.clip(t - 20.0, 0.0, 20.0)
  beats = _beats_from_hr(hr_of_t, 60.0)
  ecg = simulate_ecg(beats, 60.0, rng=np.random.default_rng(1))
  times = np.arange(0, 60.0, 1 / FPS)
  hr = heart_rate(ecg, 1000.0, times)

  ramp = (times > 22.0) & (times < 38.0)
  flat = ((times > 3.0) & (times < 18.0)) | ((times > 42.0) & (times < 57.0))
  assert np.median(hr.hrs_bpm_per_s[ramp]) == pytest.approx(slope, rel=0.05)
  assert np.all(np.abs(hr.hrs_bpm_per_s[ramp] - slope) < 0.3)
  assert np.all(hr.hrs_bpm_per_s[flat] < 0.2)
  assert hrs_at(hr, 30.0) == pytest.approx(slope, rel=0.1)
  assert hrs_at(hr, np.array([10.0, 30.0])).shape == (2,)
  assert mean_hrs(hr) == pytest.approx(np.mean(hr.hrs_bpm_per_s[hr.quality]))


def test_smoothing_sets_the_time_scale_of_hrs():
  # A 3 s HR bump: stronger smoothing lowers and widens its slope peaks.
  hr_of_t = lambda t: 70.0 + 10.0 * np.exp(-0.5 * ((t - 30.0) / 1.5) ** 2)
  beats = _beats_from_hr(hr_of_t, 60.0)
  ecg = simulate_ecg(beats, 60.0, rng=np.random.default_rng(2))
  times = np.arange(0, 60.0, 1 / FPS)
  sharp = heart_rate(ecg, 1000.0, times, smoothing_s=0.25)
  smooth = heart_rate(ecg, 1000.0, times, smoothing_s=2.0)
  assert smooth.hrs_bpm_per_s.max() < sharp.hrs_bpm_per_s.max()
  # The bump's slopes dominate the trial: they exceed twice the trial mean (the CCF's test).
  peak_time = times[np.argmax(sharp.hrs_bpm_per_s)]
  assert abs(abs(peak_time - 30.0) - 1.5) < 0.6
  assert sharp.hrs_bpm_per_s.max() > 2.0 * mean_hrs(sharp)


def test_ectopic_and_missed_beats_are_rejected_and_flagged():
  beats = np.arange(0.4, 60.0, 0.8)
  planted = beats.copy()
  planted[30] -= 0.3  # premature beat with compensatory pause
  planted = np.delete(planted, 50)  # a missed (dropped) beat
  ecg = simulate_ecg(planted, 60.0, rng=np.random.default_rng(3))
  times = np.arange(0, 60.0, 1 / FPS)
  hr = heart_rate(ecg, 1000.0, times)

  rejected_end_s = hr.r_peaks_s[1:][~hr.rr_accepted]
  assert np.allclose(np.sort(rejected_end_s), [planted[30], planted[31], planted[50]], atol=0.01)
  assert np.abs(hr.hr_bpm - 75.0).max() < 0.5  # interpolated across, not distorted
  assert not hr.quality[np.argmin(np.abs(times - planted[30]))]
  assert not hr.quality[np.argmin(np.abs(times - planted[50]))]
  assert hr.quality[np.argmin(np.abs(times - 20.0))]


def test_hrs_at_outside_times_raises():
  hr = HeartRate(
    times_s=np.array([0.0, 1.0]),
    hr_bpm=np.zeros(2, np.float32),
    hrs_bpm_per_s=np.zeros(2, np.float32),
    quality=np.ones(2, bool),
    r_peaks_s=np.zeros(0),
    rr_accepted=np.zeros(0, bool),
    problems=(),
    smoothing_s=0.5,
  )
  with pytest.raises(EcgError, match="t_s=2.000 s is outside"):
    hrs_at(hr, [0.5, 2.0])


def test_mean_hrs_without_good_samples_raises():
  hr = HeartRate(
    times_s=np.array([0.0, 1.0]),
    hr_bpm=np.zeros(2, np.float32),
    hrs_bpm_per_s=np.zeros(2, np.float32),
    quality=np.zeros(2, bool),
    r_peaks_s=np.zeros(0),
    rr_accepted=np.zeros(0, bool),
    problems=(),
    smoothing_s=0.5,
  )
  with pytest.raises(EcgError, match="no good-quality"):
    mean_hrs(hr)


@pytest.mark.parametrize(
  "times, message",
  [
    (np.array([0.0, 1.0, 1.0]), "strictly increasing"),
    (np.array([0.0, np.nan]), "NaN"),
    (np.zeros((2, 2)), "1-D"),
  ],
)
def test_bad_times(times, message):
  ecg = simulate_ecg(np.arange(0.4, 10.0, 0.8), 10.0, rng=np.random.default_rng(0))
  with pytest.raises(EcgError, match=message):
    heart_rate(ecg, 1000.0, times)
