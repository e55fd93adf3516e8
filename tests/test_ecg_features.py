"""window_features against values worked out by hand on a known beat train."""

import numpy as np
import pytest

from cmcl_jax.ecg import (
  MIN_WINDOW_INTERVALS,
  WINDOW_FEATURE_NAMES,
  EcgError,
  HeartRate,
  heart_rate,
  simulate_ecg,
  window_features,
)
from cmcl_jax.ecg.features import RISE_SPAN_S, RISE_TOLERANCE_S, hr_rise

# R-peaks (s) and their RR intervals (s):     0.8  0.9  0.8  0.7  0.8  0.9  0.9  0.8
R_PEAKS_S = np.array([1.0, 1.8, 2.7, 3.5, 4.2, 5.0, 5.9, 6.8, 7.6])
# ... with the 5th interval (4.2 -> 5.0 s) rejected. Midpoints of the accepted ones:
#                 1.4  2.25 3.1  3.85 --   5.45 6.35 7.2
RR_ACCEPTED = np.array([True, True, True, True, False, True, True, True])


def _heart_rate():
  times = np.array([0.0, 10.0])
  return HeartRate(
    times_s=times,
    hr_bpm=np.full(2, 75.0, np.float32),
    hrs_bpm_per_s=np.array([0.0, 10.0], np.float32),  # HRS(t) = t bpm/s
    quality=np.ones(2, bool),
    r_peaks_s=R_PEAKS_S,
    rr_accepted=RR_ACCEPTED,
    problems=(),
    smoothing_s=0.5,
  )


def test_names_and_shape():
  assert WINDOW_FEATURE_NAMES == (
    "rr_mean_ms",
    "rr_std_ms",
    "hr_mean_bpm",
    "sdsd_ms",
    "rmssd_ms",
    "hrs_centre_bpm_per_s",
    "hr_rise_bpm",
  )
  features = window_features(_heart_rate(), 2.0, 4.0)
  assert features.shape == (len(WINDOW_FEATURE_NAMES),)
  assert features.dtype == np.float32


def test_short_window_uses_the_nearest_intervals():
  # Window [2, 4] s holds 3 midpoints (< MIN_WINDOW_INTERVALS = 5), so the 5 accepted
  # intervals nearest to its centre 3.0 s are used: midpoints 3.1, 2.25, 3.85, 1.4, 5.45,
  # RR = 0.8, 0.9, 0.8, 0.7, 0.9 s. Successive differences only between direct
  # neighbours (not across the rejected interval): +0.1, -0.1, -0.1 s.
  assert MIN_WINDOW_INTERVALS == 5
  features = dict(zip(WINDOW_FEATURE_NAMES, window_features(_heart_rate(), 2.0, 4.0)))
  assert features["rr_mean_ms"] == pytest.approx(820.0)  # 4.1 s / 5
  # deviations -20, 80, -20, -120, 80 ms: sqrt(28000 / 4)
  assert features["rr_std_ms"] == pytest.approx(np.sqrt(7000.0))
  assert features["hr_mean_bpm"] == pytest.approx((75 + 200 / 3 + 75 + 600 / 7 + 200 / 3) / 5)
  # differences 100, -100, -100 ms, mean -100/3: sqrt((400/3)^2 + 2 (200/3)^2) / 2)
  assert features["sdsd_ms"] == pytest.approx(np.sqrt(((400 / 3) ** 2 + 2 * (200 / 3) ** 2) / 2))
  assert features["rmssd_ms"] == pytest.approx(100.0)
  assert features["hrs_centre_bpm_per_s"] == pytest.approx(3.0)


def test_long_window_uses_its_own_intervals():
  # [0, 7] s: all accepted midpoints but 7.2 s -> RR 0.8 0.9 0.8 0.7 0.9 0.9 s,
  # direct-neighbour differences +0.1 -0.1 -0.1 (gap) 0.0 s.
  features = dict(zip(WINDOW_FEATURE_NAMES, window_features(_heart_rate(), 0.0, 7.0)))
  assert features["rr_mean_ms"] == pytest.approx(5000.0 / 6)
  assert features["rmssd_ms"] == pytest.approx(np.sqrt(0.03 / 4) * 1000)
  assert features["hrs_centre_bpm_per_s"] == pytest.approx(3.5)


def test_no_successive_differences_fall_back_to_zero():
  beats = np.arange(7) * 0.8
  hr = HeartRate(
    times_s=np.array([0.0, 5.0]),
    hr_bpm=np.zeros(2, np.float32),
    hrs_bpm_per_s=np.zeros(2, np.float32),
    quality=np.ones(2, bool),
    r_peaks_s=beats,
    rr_accepted=np.array([True, False] * 3),
    problems=(),
    smoothing_s=0.5,
  )
  features = dict(zip(WINDOW_FEATURE_NAMES, window_features(hr, 1.0, 2.0)))
  assert features["sdsd_ms"] == 0.0 and features["rmssd_ms"] == 0.0
  assert features["rr_std_ms"] == pytest.approx(0.0, abs=1e-3)
  assert features["hr_mean_bpm"] == pytest.approx(75.0)


def test_matches_planted_beats_through_heart_rate():
  rng = np.random.default_rng(0)
  beats = -0.5 + np.cumsum(0.8 + 0.05 * rng.standard_normal(60))
  ecg = simulate_ecg(beats, 40.0, rng=rng)
  hr = heart_rate(ecg, 1000.0, np.arange(0, 40.0, 1 / 150))
  assert hr.rr_accepted.all()
  features = window_features(hr, 10.0, 20.0)

  rr_s = np.diff(beats)
  inside = rr_s[(0.5 * (beats[1:] + beats[:-1]) >= 10.0) & (0.5 * (beats[1:] + beats[:-1]) <= 20.0)]
  expected = [
    1000 * inside.mean(),
    1000 * inside.std(ddof=1),
    np.mean(60 / inside),
    1000 * np.diff(inside).std(ddof=1),
    1000 * np.sqrt(np.mean(np.diff(inside) ** 2)),
  ]
  np.testing.assert_allclose(features[:5], expected, rtol=0.03)
  assert np.all(np.isfinite(features))


@pytest.mark.parametrize("start, end", [(3.0, 2.0), (np.nan, 1.0)])
def test_bad_window(start, end):
  with pytest.raises(EcgError, match="start_s <= end_s"):
    window_features(_heart_rate(), start, end)


def _ramp(times_s, hr_bpm):
  n = len(times_s)
  return HeartRate(
    times_s=np.asarray(times_s, float),
    hr_bpm=np.asarray(hr_bpm, np.float32),
    hrs_bpm_per_s=np.zeros(n, np.float32),
    quality=np.ones(n, bool),
    r_peaks_s=R_PEAKS_S,
    rr_accepted=RR_ACCEPTED,
    problems=(),
    smoothing_s=0.5,
  )


def test_hr_rise_is_signed_in_bpm_and_tolerant_of_latency():
  # HR(t) = 70 + 3 t: the mean over (t, t + 1] minus over [t - 1, t) is 3 bpm/s × 1 s
  # at every t, a fall gives -3.
  assert (RISE_SPAN_S, RISE_TOLERANCE_S) == (1.0, 0.5)
  times = np.linspace(0.0, 10.0, 1001)
  assert hr_rise(_ramp(times, 70 + 3 * times), 5.0) == pytest.approx(3.0, abs=1e-3)
  assert hr_rise(_ramp(times, 70 - 3 * times), 5.0) == pytest.approx(-3.0, abs=1e-3)
  # A 12 bpm step at 5.3 s: the full 12 bpm for every centre within 0.5 s of it …
  step = _ramp(times, np.where(times >= 5.3, 82.0, 70.0))
  for centre_s in (4.8, 5.0, 5.3, 5.8):
    assert hr_rise(step, centre_s) == pytest.approx(12.0, abs=0.3)
  assert dict(zip(WINDOW_FEATURE_NAMES, window_features(step, 4.9, 5.1)))[
    "hr_rise_bpm"
  ] == pytest.approx(12.0, abs=0.3)
  # … and, further away, only the part of the step the best time's spans still straddle.
  assert hr_rise(step, 6.3) == pytest.approx(12 * 0.5, abs=0.3)
  assert hr_rise(step, 7.0, tolerance_s=0.0) == pytest.approx(0.0, abs=1e-6)
  # Outside the curve's times HR is held at its ends: at t = 0.5 s (the tolerance's
  # end) (0.5, 1.5] averages 73 bpm, [-0.5, 0.5) half 70 and half 70.375 on average.
  assert hr_rise(_ramp(times, 70 + 3 * times), 0.0) == pytest.approx(2.625, abs=0.01)


def test_hr_rise_finds_a_planted_acceleration():
  # Beats at 75 bpm, then 90 bpm from 20 s on: the rise at 20 s is large, at 10 s ~0.
  rr = np.r_[np.full(25, 0.8), np.full(30, 60 / 90)]
  beats = 0.3 + np.concatenate([[0.0], np.cumsum(rr)])
  beats = beats[beats < 39.5]
  ecg = simulate_ecg(beats, 40.0, rng=np.random.default_rng(1))
  hr = heart_rate(ecg, 1000.0, np.arange(0, 40.0, 1 / 150))
  change_s = beats[25]
  rise = dict(zip(WINDOW_FEATURE_NAMES, window_features(hr, change_s - 0.25, change_s + 0.25)))
  calm = dict(zip(WINDOW_FEATURE_NAMES, window_features(hr, 9.75, 10.25)))
  assert rise["hr_rise_bpm"] > 7.0
  assert abs(calm["hr_rise_bpm"]) < 0.5
