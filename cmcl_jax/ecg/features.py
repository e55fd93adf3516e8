"""Hand-made ECG features of one window: the HRV vector added to the ECG stream.

The features come from the accepted RR intervals of a :class:`HeartRate` (rejected
beats never enter them), from its HR slope and from its HR curve around the window
centre, in the fixed order of :data:`WINDOW_FEATURE_NAMES`.
"""

from __future__ import annotations

import numpy as np

from cmcl_jax.ecg.errors import EcgError
from cmcl_jax.ecg.heart_rate import HeartRate, hrs_at

WINDOW_FEATURE_NAMES = (
    "rr_mean_ms",        # mean RR interval (ms)
    "rr_std_ms",         # standard deviation of RR (ms, ddof=1): SDNN of the window
    "hr_mean_bpm",       # mean of the beat-to-beat HR 60 / RR (bpm)
    "sdsd_ms",           # standard deviation of successive RR differences (ms, ddof=1)
    "rmssd_ms",          # root mean square of successive RR differences (ms)
    "hrs_centre_bpm_per_s",  # heart-rate slope at the window centre (bpm/s)
    "hr_rise_bpm",       # mean HR over the RISE_SPAN_S after the centre minus before (bpm)
)
# A window's features use at least this many RR intervals (see window_features).
MIN_WINDOW_INTERVALS = 5
# Span (s) on each side of the window centre compared by "hr_rise_bpm": about one beat,
# the time an acceleration locked to an expression takes to build up.
RISE_SPAN_S = 1.0
# HR curve samples per RISE_SPAN_S for the two means of "hr_rise_bpm".
RISE_SAMPLES = 50


def window_features(hr: HeartRate, start_s: float, end_s: float) -> np.ndarray:
  """HRV features of the window ``[start_s, end_s]`` as a fixed-order vector.

  Intervals used: the accepted RR intervals (``hr.rr_accepted``) whose midpoint lies in
  the window. Micro-expression windows are shorter than a second and hold one beat or
  none, so when fewer than ``MIN_WINDOW_INTERVALS`` (5) intervals fall inside, the
  ``MIN_WINDOW_INTERVALS`` accepted intervals with midpoints nearest to the window
  centre are used instead (all of them if the recording has fewer). Successive
  differences are taken only between intervals that follow each other directly (never
  across a rejected beat). SDSD needs two such differences and RMSSD one; without them
  they are 0.0.

  ``hr_rise_bpm`` is signed: the mean of the HR curve over ``(c, c + RISE_SPAN_S]``
  minus its mean over ``[c - RISE_SPAN_S, c)``, c the window centre (> 0 when the heart
  accelerates across the window). Where those spans leave ``hr.times_s``, the curve is
  held at its end values. HRS at one instant is the CCF's cue; the rise over about a
  beat on each side also tells an acceleration from a slope of breathing (RSA) or noise.
  Every value is finite.

  Args:
    hr: heart rate of the recording (from :func:`heart_rate`).
    start_s: window start, s from the first ECG sample.
    end_s: window end (s), ``>= start_s``; its centre must lie within ``hr.times_s``.

  Returns:
    (7,) float32 vector in the order of ``WINDOW_FEATURE_NAMES``.

  Example:
    >>> features = window_features(hr, 12.0, 12.5)
    >>> dict(zip(WINDOW_FEATURE_NAMES, features))["hr_mean_bpm"]
  """
  if not (np.isfinite(start_s) and np.isfinite(end_s) and start_s <= end_s):
    raise EcgError(f"window needs finite start_s <= end_s, got [{start_s!r}, {end_s!r}] s")
  accepted = np.flatnonzero(hr.rr_accepted)
  rr_s = np.diff(hr.r_peaks_s)[accepted]
  midpoints_s = 0.5 * (hr.r_peaks_s[accepted] + hr.r_peaks_s[accepted + 1])
  centre_s = 0.5 * (start_s + end_s)

  chosen = np.flatnonzero((midpoints_s >= start_s) & (midpoints_s <= end_s))
  if chosen.size < MIN_WINDOW_INTERVALS:
    nearest = np.argsort(np.abs(midpoints_s - centre_s), kind="stable")
    chosen = np.sort(nearest[:MIN_WINDOW_INTERVALS])
  rr_s, index = rr_s[chosen], accepted[chosen]
  differences_s = np.diff(rr_s)[np.diff(index) == 1]

  return np.array([
      1000 * np.mean(rr_s),
      1000 * np.std(rr_s, ddof=1) if rr_s.size > 1 else 0.0,
      np.mean(60.0 / rr_s),
      1000 * np.std(differences_s, ddof=1) if differences_s.size > 1 else 0.0,
      1000 * np.sqrt(np.mean(differences_s**2)) if differences_s.size > 0 else 0.0,
      hrs_at(hr, centre_s),
      hr_rise(hr, centre_s),
  ], dtype=np.float32)


def hr_rise(hr: HeartRate, centre_s: float, span_s: float = RISE_SPAN_S) -> float:
  """Mean HR (bpm) over ``(centre_s, centre_s + span_s]`` minus over
  ``[centre_s - span_s, centre_s)``, the curve held at its ends outside ``hr.times_s``."""
  offsets = (np.arange(RISE_SAMPLES) + 0.5) * span_s / RISE_SAMPLES
  curve = hr.hr_bpm.astype(np.float64)
  after = np.interp(centre_s + offsets, hr.times_s, curve)
  before = np.interp(centre_s - offsets, hr.times_s, curve)
  return float(after.mean() - before.mean())
