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
  "rr_mean_ms",  # mean RR interval (ms)
  "rr_std_ms",  # standard deviation of RR (ms, ddof=1): SDNN of the window
  "hr_mean_bpm",  # mean of the beat-to-beat HR 60 / RR (bpm)
  "sdsd_ms",  # standard deviation of successive RR differences (ms, ddof=1)
  "rmssd_ms",  # root mean square of successive RR differences (ms)
  "hrs_centre_bpm_per_s",  # heart-rate slope at the window centre (bpm/s)
  "hr_rise_bpm",  # largest HR rise near the window centre (bpm), see hr_rise
)
# A window's features use at least this many RR intervals (see window_features).
MIN_WINDOW_INTERVALS = 5
# "hr_rise_bpm" compares the HR over RISE_SPAN_S after a time with RISE_SPAN_S before it
# (about one beat: the time an acceleration locked to an expression takes to build up)
# and takes the largest such rise within RISE_TOLERANCE_S of the window centre.
RISE_SPAN_S = 1.0
RISE_TOLERANCE_S = 0.5
# HR curve samples per RISE_SPAN_S for each mean, and times tried within the tolerance.
RISE_SAMPLES = 50
RISE_SHIFTS = 21


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

  ``hr_rise_bpm`` (see :func:`hr_rise`) is the largest signed rise of the HR curve over
  about a beat, at times within ``RISE_TOLERANCE_S`` of the window centre. HRS at one
  instant is the CCF's cue; a rise over a beat on each side also tells an acceleration
  from a slope of breathing (RSA) or noise, and the tolerance makes it the same for
  every window near an acceleration: cardiac latency varies by hundreds of ms, while a
  spotted clip must sit within tens of ms of the expression, so the heart should say
  *whether* and the face *when*. Every value is finite.

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

  return np.array(
    [
      1000 * np.mean(rr_s),
      1000 * np.std(rr_s, ddof=1) if rr_s.size > 1 else 0.0,
      np.mean(60.0 / rr_s),
      1000 * np.std(differences_s, ddof=1) if differences_s.size > 1 else 0.0,
      1000 * np.sqrt(np.mean(differences_s**2)) if differences_s.size > 0 else 0.0,
      hrs_at(hr, centre_s),
      hr_rise(hr, centre_s),
    ],
    dtype=np.float32,
  )


def hr_rise(
  hr: HeartRate, centre_s: float, span_s: float = RISE_SPAN_S, tolerance_s: float = RISE_TOLERANCE_S
) -> float:
  """Largest rise of the HR curve near ``centre_s``, bpm (signed: < 0 when it only falls).

  The rise at time t is the mean HR over ``(t, t + span_s]`` minus over
  ``[t - span_s, t)``; the result is its maximum over ``RISE_SHIFTS`` times t evenly
  spaced in ``[centre_s - tolerance_s, centre_s + tolerance_s]``. Outside
  ``hr.times_s`` the curve is held at its end values.
  """
  offsets = (np.arange(RISE_SAMPLES) + 0.5) * span_s / RISE_SAMPLES
  times = centre_s + np.linspace(-tolerance_s, tolerance_s, RISE_SHIFTS)[:, None]
  curve = hr.hr_bpm.astype(np.float64)
  after = np.interp(times + offsets, hr.times_s, curve).mean(axis=1)
  before = np.interp(times - offsets, hr.times_s, curve).mean(axis=1)
  return float(np.max(after - before))
