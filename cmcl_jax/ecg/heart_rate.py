"""Heart rate (HR) and heart-rate slope (HRS) of an ECG, sampled at chosen times.

Pipeline: raw ECG -> :func:`signal_problems` (NaN, flat line, saturation) -> split at
long gaps and flat lines -> ``nk.ecg_clean`` + ``nk.ecg_findpeaks`` per segment ->
R-peaks -> RR intervals, implausible ones rejected -> beat-to-beat HR -> PCHIP curve
-> HR and HRS at ``times_s`` with a per-sample quality flag.

Definitions (all times in seconds from the first ECG sample, sample ``i`` at
``i / sampling_rate``):

* Beat-to-beat HR: ``60 / RR_k`` bpm for each accepted RR interval ``k``, placed at the
  interval's midpoint (the average rate over an interval belongs to its middle, so a
  rising HR is not delayed by half a beat).
* HR curve ``HR(t)``: shape-preserving cubic (PCHIP) interpolation of the beat-to-beat
  HR through accepted intervals only, held constant before the first and after the
  last one. PCHIP does not overshoot between beats, so it invents no slope.
* HRS (bpm/s): ``HRS(t) = | d/dt (G_sigma * HR)(t) |``, the absolute time derivative of
  the HR curve smoothed by a Gaussian of standard deviation ``sigma = smoothing_s``
  (default 0.5 s). The HR curve is only sampled once per beat (~1 Hz), so slopes faster
  than about a beat are interpolation artefacts; a 0.5 s Gaussian (full width at half
  maximum 1.2 s, about one beat) removes them while keeping HR responses that build up
  over 1-3 s, the time scale of the cardiac response to an expression. The absolute
  value makes HRS non-negative (rises and falls both count), as plotted in the paper.
  A Gaussian leaves a linear ramp unchanged, so a steady HR ramp of ``a`` bpm/s has
  ``HRS = |a|``.

Beat rejection (for the HR curve; every detected R-peak is still reported): an RR
interval is accepted when

1. both its beats lie in the same analysed segment and at least ``PROBLEM_MARGIN_S``
   (0.2 s) away from every signal problem ("usable");
2. both beats look like the segment's typical QRS: the cleaned ECG within
   ``QRS_HALF_WIDTH_S`` (60 ms) of the peak correlates with the segment's median beat
   by at least ``MIN_QRS_CORRELATION`` (0.5) and its least-squares gain against that
   median beat lies in ``QRS_GAIN_RANGE`` (1/3 to 3) - this rejects T waves taken for
   R-peaks, ectopic (wide) beats, spikes and detections in noise;
3. it is physiological, ``MIN_RR_S <= RR <= MAX_RR_S`` (30-200 bpm);
4. it deviates by at most ``MAX_RR_DEVIATION`` (20 %) from the median of the RR
   intervals passing rules 1-3 among its ``RUNNING_MEDIAN_BEATS`` (11) centred
   neighbours, itself included - this rejects both intervals around a premature beat
   (short + compensatory pause), an interval with a missed beat (twice as long) and the
   two halves made by a false detection;
5. at least half (``MIN_REGULAR_SHARE``) of the usable intervals among those
   neighbours pass rules 2-4, so an odd regular-looking interval in a stretch of
   irregular detections is not trusted.
"""

from __future__ import annotations

import dataclasses
import warnings

import neurokit2 as nk
import numpy as np
import scipy.interpolate
import scipy.ndimage

from cmcl_jax.ecg.errors import EcgError
from cmcl_jax.ecg.quality import SignalProblem, as_ecg_array, check_sampling_rate, signal_problems

# Physiological RR bounds (s): 200 bpm and 30 bpm.
MIN_RR_S = 0.3
MAX_RR_S = 2.0
# Largest accepted relative deviation of an RR interval from its running median.
MAX_RR_DEVIATION = 0.2
# Number of RR intervals (centred) of the running median.
RUNNING_MEDIAN_BEATS = 11
# Half-width (s) of the QRS snippet compared with the segment's median beat.
QRS_HALF_WIDTH_S = 0.06
# Least correlation with, and range of least-squares gain against, the median beat.
MIN_QRS_CORRELATION = 0.5
QRS_GAIN_RANGE = (1 / 3, 3.0)
# Share of the usable intervals among those neighbours that must pass the rules above.
MIN_REGULAR_SHARE = 0.5
# Beats closer than this to a signal problem are rejected (filter transients, partial QRS).
PROBLEM_MARGIN_S = 0.2
# NaN runs up to this long are filled by linear interpolation before cleaning (and still
# flagged); longer ones, and flat lines, split the recording into separate segments.
MAX_FILLED_GAP_S = 0.25
# Segments shorter than this hold too few beats to trust and are not analysed.
MIN_SEGMENT_S = 3.0
# Fewest accepted RR intervals for which a heart-rate curve is returned.
MIN_ACCEPTED_INTERVALS = 3
# Uniform grid (Hz) on which the HR curve is smoothed and differentiated.
HRS_GRID_HZ = 20.0


@dataclasses.dataclass(frozen=True, eq=False)
class HeartRate:
  """Heart rate and its slope at chosen times, from one ECG recording.

  Attributes:
    times_s: (T,) float64 sample times (s from the first ECG sample), increasing.
    hr_bpm: (T,) float32 heart rate ``HR(t)`` (bpm), the unsmoothed PCHIP curve.
    hrs_bpm_per_s: (T,) float32 heart-rate slope ``HRS(t) >= 0`` (bpm/s), from the
      Gaussian-smoothed curve.
    quality: (T,) bool; False where ``t`` lies outside the accepted beats, between two
      accepted intervals that are not adjacent (interpolated across rejected beats) or
      within ``PROBLEM_MARGIN_S`` of a signal problem.
    r_peaks_s: (B,) float64 times of all detected R-peaks (s), rejected ones included.
    rr_accepted: (B - 1,) bool; whether the RR interval ending at ``r_peaks_s[k + 1]``
      was used for the HR curve.
    problems: signal problems found in the raw ECG (see :func:`signal_problems`).
    smoothing_s: standard deviation of the Gaussian used for HRS (s).
  """

  times_s: np.ndarray
  hr_bpm: np.ndarray
  hrs_bpm_per_s: np.ndarray
  quality: np.ndarray
  r_peaks_s: np.ndarray
  rr_accepted: np.ndarray
  problems: tuple[SignalProblem, ...]
  smoothing_s: float


def heart_rate(
  ecg: np.ndarray,
  sampling_rate: float,
  times_s: np.ndarray,
  *,
  powerline_hz: float = 50.0,
  smoothing_s: float = 0.5,
) -> HeartRate:
  """Heart rate and heart-rate slope of a raw ECG at the given times.

  See the module docstring for the exact HR and HRS definitions and the beat-rejection
  rule. R-peaks come from NeuroKit2 (``ecg_clean`` then ``ecg_findpeaks``, method
  ``"neurokit"``), which needs at least 100 Hz.

  Args:
    ecg: (N,) raw ECG, any unit (mV for BIOPAC exports). NaN runs, flat lines and
      saturation are allowed: they are reported in ``problems`` and flagged in
      ``quality``.
    sampling_rate: Hz, >= 100.
    times_s: (T,) increasing times at which to report HR and HRS (s from the first ECG
      sample), e.g. every video frame ``np.arange(n_frames) / 150``.
    powerline_hz: mains frequency removed by ``nk.ecg_clean`` (50 or 60 Hz).
    smoothing_s: standard deviation (s) of the Gaussian smoothing before the HR
      derivative; > 0.

  Returns:
    A :class:`HeartRate`.

  Raises:
    EcgError: ECG not 1-D numeric, sampling rate below 100 Hz, bad ``times_s``, or fewer
      than 3 accepted RR intervals (the message lists the signal problems found).

  Example:
    >>> rng = np.random.default_rng(0)
    >>> ecg = simulate_ecg(np.arange(0.4, 30, 0.8), 30.0, rng=rng)  # 75 bpm
    >>> hr = heart_rate(ecg, 1000.0, np.arange(0, 30, 1 / 150))
    >>> round(float(np.median(hr.hr_bpm)))
    75
  """
  ecg = as_ecg_array(ecg)
  sampling_rate = check_sampling_rate(sampling_rate)
  times_s = _as_times(times_s)
  if not np.isfinite(smoothing_s) or smoothing_s <= 0:
    raise EcgError(f"smoothing_s must be > 0 s, got {smoothing_s!r}")

  problems = signal_problems(ecg, sampling_rate)
  r_peaks_s, segment_of_peak, qrs_like = _r_peaks(ecg, sampling_rate, problems, powerline_hz)
  rr_accepted = _accepted_intervals(r_peaks_s, segment_of_peak, qrs_like, problems)
  n_accepted = int(rr_accepted.sum())
  if n_accepted < MIN_ACCEPTED_INTERVALS:
    raise EcgError(
      f"too few beats for a heart rate: {r_peaks_s.size} R-peaks and {n_accepted} "
      f"accepted RR intervals (need {MIN_ACCEPTED_INTERVALS}) in "
      f"{ecg.size / sampling_rate:.3f} s of ECG (stretches shorter than {MIN_SEGMENT_S:g} s "
      f"between problems are not analysed); signal problems: {_describe(problems)}"
    )

  midpoints_s = 0.5 * (r_peaks_s[:-1] + r_peaks_s[1:])[rr_accepted]
  beat_hr_bpm = 60.0 / np.diff(r_peaks_s)[rr_accepted]
  curve = scipy.interpolate.PchipInterpolator(midpoints_s, beat_hr_bpm, extrapolate=False)
  hr_bpm = curve(np.clip(times_s, midpoints_s[0], midpoints_s[-1]))
  hrs = _slope(curve, midpoints_s, times_s, smoothing_s)
  quality = _quality(times_s, midpoints_s, np.flatnonzero(rr_accepted), problems)
  return HeartRate(
    times_s=times_s,
    hr_bpm=hr_bpm.astype(np.float32),
    hrs_bpm_per_s=hrs.astype(np.float32),
    quality=quality,
    r_peaks_s=r_peaks_s,
    rr_accepted=rr_accepted,
    problems=problems,
    smoothing_s=float(smoothing_s),
  )


def hrs_at(hr: HeartRate, t_s: float | np.ndarray) -> float | np.ndarray:
  """HRS (bpm/s) at time(s) ``t_s``, linearly interpolated between ``hr.times_s``.

  Example:
    >>> hrs_at(hr, 12.34)          # a candidate's apex time, s
    >>> hrs_at(hr, apex_frames / 150)

  Raises:
    EcgError: a time outside ``[hr.times_s[0], hr.times_s[-1]]``.
  """
  t = np.asarray(t_s, dtype=np.float64)
  outside = ~((t >= hr.times_s[0]) & (t <= hr.times_s[-1]))
  if np.any(outside):
    bad = float(np.ravel(t)[np.flatnonzero(np.ravel(outside))[0]])
    raise EcgError(
      f"t_s={bad:.3f} s is outside the heart-rate times "
      f"[{hr.times_s[0]:.3f}, {hr.times_s[-1]:.3f}] s"
    )
  values = np.interp(t, hr.times_s, hr.hrs_bpm_per_s.astype(np.float64))
  return float(values) if values.ndim == 0 else values


def mean_hrs(hr: HeartRate) -> float:
  """Mean HRS (bpm/s) over the good-quality samples: the CCF's trial baseline.

  Raises:
    EcgError: no sample has good quality.
  """
  if not hr.quality.any():
    raise EcgError(
      f"no good-quality heart-rate sample in [{hr.times_s[0]:.3f}, "
      f"{hr.times_s[-1]:.3f}] s; signal problems: {_describe(hr.problems)}"
    )
  return float(np.mean(hr.hrs_bpm_per_s[hr.quality], dtype=np.float64))


def _describe(problems, shown=5):
  """The first few problems as text, for error messages."""
  text = "; ".join(str(p) for p in problems[:shown]) or "none"
  return text + (f" (and {len(problems) - shown} more)" if len(problems) > shown else "")


def _as_times(times_s):
  times_s = np.asarray(times_s, dtype=np.float64)
  if times_s.ndim != 1 or times_s.size == 0:
    raise EcgError(f"times_s must be a non-empty 1-D array, got shape {times_s.shape}")
  if not np.all(np.isfinite(times_s)):
    raise EcgError("times_s contains NaN or infinite values")
  if np.any(np.diff(times_s) <= 0):
    k = int(np.flatnonzero(np.diff(times_s) <= 0)[0])
    raise EcgError(
      f"times_s must be strictly increasing; times_s[{k + 1}]="
      f"{times_s[k + 1]:.6f} s follows {times_s[k]:.6f} s"
    )
  return times_s


def _r_peaks(ecg, sampling_rate, problems, powerline_hz):
  """R-peak times (s) over all analysable segments, the segment of each and whether
  each looks like its segment's typical QRS (rule 2)."""
  starts, ends = _segments(ecg.size, sampling_rate, problems)
  peaks, segments, qrs_like = [], [], []
  for index, (start, end) in enumerate(zip(starts, ends)):
    if end - start < MIN_SEGMENT_S * sampling_rate:
      continue
    segment = _fill_short_gaps(ecg[start:end])
    cleaned = nk.ecg_clean(segment, sampling_rate=sampling_rate, powerline=powerline_hz)
    found = np.asarray(
      nk.ecg_findpeaks(cleaned, sampling_rate=sampling_rate)["ECG_R_Peaks"], dtype=np.int64
    )
    peaks.append((start + found) / sampling_rate)
    segments.append(np.full(found.size, index))
    qrs_like.append(_matches_median_beat(cleaned, found, sampling_rate))
  if not peaks:
    return np.zeros(0), np.zeros(0, dtype=np.int64), np.zeros(0, dtype=bool)
  return np.concatenate(peaks), np.concatenate(segments), np.concatenate(qrs_like)


def _segments(size, sampling_rate, problems):
  """[start, end) sample ranges between the problems that split a recording: flat lines
  and NaN runs longer than MAX_FILLED_GAP_S."""
  splitting = [
    (round(p.start_s * sampling_rate), round(p.end_s * sampling_rate))
    for p in problems
    if p.kind == "flat" or (p.kind == "nan" and p.end_s - p.start_s > MAX_FILLED_GAP_S)
  ]
  if not splitting:
    return np.array([0]), np.array([size])
  kept = np.ones(size, dtype=bool)
  for start, end in splitting:
    kept[start:end] = False
  edges = np.diff(kept.astype(np.int8), prepend=0, append=0)
  return np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)


def _matches_median_beat(cleaned, peaks, sampling_rate):
  """(B,) bool: QRS snippets that correlate with, and scale like, the median beat."""
  if peaks.size == 0:
    return np.zeros(0, dtype=bool)
  half = int(round(QRS_HALF_WIDTH_S * sampling_rate))
  # Snippets near either end repeat the end sample (edge padding).
  offsets = np.arange(-half, half + 1)
  snippets = cleaned[np.clip(peaks[:, None] + offsets, 0, cleaned.size - 1)]
  snippets = snippets - snippets.mean(axis=1, keepdims=True)
  # Median over beats on the (samples, beats) transpose: contiguous rows, same values.
  template = np.median(np.ascontiguousarray(snippets.T), axis=1)
  template_energy = float(template @ template)
  if template_energy == 0:
    return np.zeros(peaks.size, dtype=bool)
  projection = snippets @ template
  gain = projection / template_energy
  with np.errstate(invalid="ignore", divide="ignore"):  # an all-constant snippet: rejected
    correlation = projection / np.sqrt(template_energy * np.sum(snippets**2, axis=1))
  return (
    (correlation >= MIN_QRS_CORRELATION) & (gain >= QRS_GAIN_RANGE[0]) & (gain <= QRS_GAIN_RANGE[1])
  )


def _fill_short_gaps(segment):
  """Linear interpolation over the (short) NaN runs left inside a segment."""
  finite = np.isfinite(segment)
  if finite.all():
    return segment
  index = np.arange(segment.size)
  return np.interp(index, index[finite], segment[finite])


def _accepted_intervals(r_peaks_s, segment_of_peak, qrs_like, problems):
  """(B - 1,) bool: RR intervals passing the rejection rule of the module docstring."""
  if r_peaks_s.size < 2:
    return np.zeros(max(0, r_peaks_s.size - 1), dtype=bool)
  near_problem = _near_problem(r_peaks_s, problems)
  rr_s = np.diff(r_peaks_s)
  usable = (segment_of_peak[1:] == segment_of_peak[:-1]) & ~near_problem[1:] & ~near_problem[:-1]
  plausible = usable & qrs_like[1:] & qrs_like[:-1] & (rr_s >= MIN_RR_S) & (rr_s <= MAX_RR_S)
  with warnings.catch_warnings():  # a window without plausible RR gives NaN: rejected below
    warnings.simplefilter("ignore", RuntimeWarning)
    running_median = np.nanmedian(_neighbours(np.where(plausible, rr_s, np.nan)), axis=1)
  consistent = plausible & (np.abs(rr_s - running_median) <= MAX_RR_DEVIATION * running_median)
  consistent_count = np.nansum(_neighbours(consistent.astype(float)), axis=1)
  usable_count = np.nansum(_neighbours(usable.astype(float)), axis=1)
  regular = consistent_count >= MIN_REGULAR_SHARE * usable_count
  return consistent & regular


def _neighbours(values):
  """(K, RUNNING_MEDIAN_BEATS) centred windows over a (K,) float array, NaN-padded."""
  half = RUNNING_MEDIAN_BEATS // 2
  padded = np.pad(values, half, constant_values=np.nan)
  return np.lib.stride_tricks.sliding_window_view(padded, RUNNING_MEDIAN_BEATS)


def _slope(curve, midpoints_s, times_s, smoothing_s):
  """|d/dt of the Gaussian-smoothed HR curve| (bpm/s) at ``times_s``."""
  start = min(midpoints_s[0], times_s[0]) - 4 * smoothing_s
  stop = max(midpoints_s[-1], times_s[-1]) + 4 * smoothing_s
  grid_s = start + np.arange(int(np.ceil((stop - start) * HRS_GRID_HZ)) + 1) / HRS_GRID_HZ
  hr_grid = curve(np.clip(grid_s, midpoints_s[0], midpoints_s[-1]))
  slope = (
    scipy.ndimage.gaussian_filter1d(hr_grid, smoothing_s * HRS_GRID_HZ, order=1, mode="nearest")
    * HRS_GRID_HZ
  )
  return np.interp(times_s, grid_s, np.abs(slope))


def _quality(times_s, midpoints_s, accepted_index, problems):
  """(T,) bool quality flag, see :class:`HeartRate`."""
  left = np.clip(np.searchsorted(midpoints_s, times_s, side="right") - 1, 0, midpoints_s.size - 2)
  adjacent = np.diff(accepted_index) == 1
  return (
    (times_s >= midpoints_s[0])
    & (times_s <= midpoints_s[-1])
    & adjacent[left]
    & ~_near_problem(times_s, problems)
  )


def _near_problem(t_s, problems):
  """Whether each time lies within PROBLEM_MARGIN_S of a problem (problems may overlap)."""
  starts = np.sort([p.start_s - PROBLEM_MARGIN_S for p in problems])
  ends = np.sort([p.end_s + PROBLEM_MARGIN_S for p in problems])
  opened = np.searchsorted(starts, t_s, side="left")
  closed = np.searchsorted(ends, t_s, side="right")
  return opened > closed
