"""Synthetic ECG with R-peaks exactly where the caller planted the beats.

Each beat is a sum of five Gaussian waves (P, Q, R, S, T) in the spirit of ECGSYN
(McSharry et al., 2003), but written in the time domain around a given R-peak time so
that a generator can plant beats from its own heart-rate trajectory and know the ground
truth to the sample. Noise (baseline wander, mains hum, EMG bursts, white noise) is added
on top; :class:`EcgNoise` holds its sizes.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import scipy.signal

# Wave order in the tables below.
_WAVES = ("P", "Q", "R", "S", "T")
# Peak amplitude of each wave at rest (mV), lead-II-like.
_AMPLITUDE_MV = np.array([0.15, -0.12, 1.2, -0.3, 0.3])
# Gaussian width (standard deviation, s) of each wave at RR = 1 s.
_WIDTH_S = np.array([0.025, 0.008, 0.011, 0.009, 0.055])
# Time of each wave's peak relative to the R-peak at RR = 1 s (s).
_OFFSET_S = np.array([-0.165, -0.030, 0.0, 0.030, 0.290])
# Exponent of RR (s) that scales offset and width: PR barely changes with heart rate,
# the QT interval shortens roughly with sqrt(RR) (Bazett), QRS does not change.
_RR_EXPONENT = np.array([0.2, 0.0, 0.0, 0.0, 0.5])
# Per-beat relative jitter (standard deviation) of amplitude and width.
_JITTER = 0.04
# Samples of one beat are computed from this far before to this far after its R-peak (s);
# beyond that every wave is below 1e-6 of its amplitude.
_BEAT_SPAN_S = (-0.35, 0.75)
# Relative depth of respiratory modulation of the wave amplitudes (electrical axis shift).
_RESPIRATORY_AMPLITUDE_DEPTH = 0.05
# EMG: band (Hz), mean bursts per second, burst duration range (s).
_EMG_BAND_HZ = (20.0, 150.0)
_EMG_BURSTS_PER_S = 0.1
_EMG_BURST_S = (0.3, 1.5)


@dataclasses.dataclass(frozen=True)
class EcgNoise:
  """Sizes of the noise added by :func:`simulate_ecg` (all amplitudes in mV).

  Attributes:
    baseline_wander_mv: amplitude of the respiration-like baseline wander, a sinusoid
      near ``respiration_hz`` whose frequency drifts slowly, plus a slower drift of half
      that amplitude.
    respiration_hz: centre frequency of the baseline wander (breathing rate, Hz).
    mains_hz: mains frequency (50 Hz in Europe/China, 60 Hz in the Americas). Mains hum
      above the Nyquist frequency is left out (an ADC's anti-alias filter removes it).
    mains_mv: amplitude of the mains hum (slowly amplitude-modulated sinusoid).
    emg_mv: RMS of muscle noise (20-150 Hz band-limited) inside EMG bursts, which come
      at random about every 10 s and last 0.3-1.5 s; a floor of a tenth of it is always on.
    white_mv: standard deviation of white (amplifier) noise.

  Example:
    >>> EcgNoise(emg_mv=0.0)  # default noise without muscle artefacts
    >>> EcgNoise.clean()      # no noise at all
    >>> EcgNoise().scaled(2)  # twice the default amplitudes
  """

  baseline_wander_mv: float = 0.15
  respiration_hz: float = 0.25
  mains_hz: float = 50.0
  mains_mv: float = 0.02
  emg_mv: float = 0.04
  white_mv: float = 0.01

  def __post_init__(self):
    for field in dataclasses.fields(self):
      value = getattr(self, field.name)
      if not np.isfinite(value) or value < 0:
        raise ValueError(f"EcgNoise.{field.name} must be a finite number >= 0, got {value!r}")

  @classmethod
  def clean(cls) -> EcgNoise:
    """No noise: the bare PQRST waveform."""
    return cls().scaled(0.0)

  def scaled(self, factor: float) -> EcgNoise:
    """The same noise with every amplitude (``*_mv``) multiplied by ``factor``."""
    return dataclasses.replace(
      self,
      **{
        field.name: getattr(self, field.name) * factor
        for field in dataclasses.fields(self)
        if field.name.endswith("_mv")
      },
    )


def simulate_ecg(
  beat_times_s: np.ndarray,
  duration_s: float,
  sampling_rate: float = 1000.0,
  *,
  noise: EcgNoise = EcgNoise(),
  rng: np.random.Generator,
) -> np.ndarray:
  """Synthetic single-lead ECG with R-peaks at the given beat times.

  Each beat is P, Q, R, S and T Gaussian waves. Their amplitudes and widths jitter by
  4 % from beat to beat and follow respiration by 5 %; the T wave moves closer to the
  R-peak and narrows as the preceding RR interval shortens (QT ~ sqrt(RR), Bazett), the
  P wave slightly. Without noise the sampled waveform's R-peak maxima lie at
  ``beat_times_s`` to within one sample; noise (see :class:`EcgNoise`) can move a
  maximum by a sample or two, as in a real recording.

  Args:
    beat_times_s: (B,) strictly increasing R-peak times in seconds from the first
      sample (sample ``i`` is at ``i / sampling_rate``). Beats outside
      ``[0, duration_s)`` contribute only the part of their waveform that falls inside.
    duration_s: length of the recording (s).
    sampling_rate: samples per second (Hz).
    noise: noise sizes; ``EcgNoise.clean()`` for none.
    rng: random generator for the jitter and the noise.

  Returns:
    (N,) float32 ECG in mV, ``N = round(duration_s * sampling_rate)``.

  Example:
    >>> rng = np.random.default_rng(0)
    >>> beats = np.cumsum(np.full(10, 60 / 72))  # 72 bpm
    >>> ecg = simulate_ecg(beats, duration_s=10.0, rng=rng)
    >>> ecg.shape, ecg.dtype
    ((10000,), dtype('float32'))
  """
  beat_times_s = np.asarray(beat_times_s, dtype=np.float64)
  if beat_times_s.ndim != 1:
    raise ValueError(f"beat_times_s must be 1-D, got shape {beat_times_s.shape}")
  if not np.all(np.isfinite(beat_times_s)):
    raise ValueError("beat_times_s contains NaN or infinite values")
  if np.any(np.diff(beat_times_s) <= 0):
    first = int(np.flatnonzero(np.diff(beat_times_s) <= 0)[0])
    raise ValueError(
      "beat_times_s must be strictly increasing; beat "
      f"{first + 1} at {beat_times_s[first + 1]:.4f} s follows {beat_times_s[first]:.4f} s"
    )
  if not (np.isfinite(duration_s) and duration_s > 0):
    raise ValueError(f"duration_s must be > 0, got {duration_s!r}")
  if not (np.isfinite(sampling_rate) and sampling_rate > 0):
    raise ValueError(f"sampling_rate must be > 0 Hz, got {sampling_rate!r}")

  n_samples = int(round(duration_s * sampling_rate))
  respiration_phase = _respiration_phase(n_samples, sampling_rate, noise.respiration_hz, rng)
  ecg = _pqrst_beats(beat_times_s, n_samples, sampling_rate, respiration_phase, rng)
  ecg += _noise(n_samples, sampling_rate, noise, respiration_phase, rng)
  return ecg.astype(np.float32)


def _respiration_phase(n_samples, sampling_rate, respiration_hz, rng):
  """Phase (rad) of a breathing cycle whose rate wanders by ~10 % over tens of seconds."""
  t = np.arange(n_samples) / sampling_rate
  drift = 0.1 * np.sin(2 * np.pi * t / 40.0 + rng.uniform(0, 2 * np.pi))
  rate_hz = respiration_hz * (1.0 + drift)
  return rng.uniform(0, 2 * np.pi) + 2 * np.pi * np.cumsum(rate_hz) / sampling_rate


def _pqrst_beats(beat_times_s, n_samples, sampling_rate, respiration_phase, rng):
  """Sum of the five Gaussian waves of every beat, as (N,) float64 mV."""
  ecg = np.zeros(n_samples)
  n_beats = beat_times_s.size
  if n_beats == 0 or n_samples == 0:
    return ecg
  # RR interval preceding each beat; the first beat borrows the following one.
  rr_s = np.diff(beat_times_s, prepend=2 * beat_times_s[0] - beat_times_s[min(1, n_beats - 1)])
  rr_s = np.where(rr_s > 0, rr_s, 1.0)
  rr_scale = rr_s[:, None] ** _RR_EXPONENT[None, :]  # (B, 5)
  centres_s = beat_times_s[:, None] + _OFFSET_S * rr_scale
  widths_s = _WIDTH_S * rr_scale * (1 + _JITTER * rng.standard_normal((n_beats, len(_WAVES))))
  amplitudes_mv = _AMPLITUDE_MV * (1 + _JITTER * rng.standard_normal((n_beats, len(_WAVES))))
  r_sample = np.clip(np.rint(beat_times_s * sampling_rate).astype(np.int64), 0, n_samples - 1)
  amplitudes_mv *= 1 + _RESPIRATORY_AMPLITUDE_DEPTH * np.cos(respiration_phase[r_sample])[:, None]

  # Evaluate each beat on its own span of samples and scatter-add; done in chunks of
  # beats to bound memory for hour-long recordings.
  span = np.arange(
    int(np.floor(_BEAT_SPAN_S[0] * sampling_rate)),
    int(np.ceil(_BEAT_SPAN_S[1] * sampling_rate)) + 1,
  )
  chunk = max(1, 2_000_000 // (span.size * len(_WAVES)))
  for lo in range(0, n_beats, chunk):
    hi = min(lo + chunk, n_beats)
    index = np.rint(beat_times_s[lo:hi] * sampling_rate).astype(np.int64)[:, None] + span
    t_s = index / sampling_rate
    waves = amplitudes_mv[lo:hi, None, :] * np.exp(
      -0.5 * ((t_s[:, :, None] - centres_s[lo:hi, None, :]) / widths_s[lo:hi, None, :]) ** 2
    )
    inside = (index >= 0) & (index < n_samples)
    ecg += np.bincount(index[inside], weights=waves.sum(axis=2)[inside], minlength=n_samples)
  return ecg


def _noise(n_samples, sampling_rate, noise, respiration_phase, rng):
  """Baseline wander + mains hum + EMG bursts + white noise, as (N,) float64 mV."""
  t = np.arange(n_samples) / sampling_rate
  out = noise.baseline_wander_mv * (
    np.sin(respiration_phase) + 0.5 * np.sin(2 * np.pi * 0.05 * t + rng.uniform(0, 2 * np.pi))
  )
  if noise.mains_mv > 0 and noise.mains_hz < sampling_rate / 2:
    modulation = 1 + 0.2 * np.sin(2 * np.pi * 0.1 * t + rng.uniform(0, 2 * np.pi))
    out += (
      noise.mains_mv
      * modulation
      * np.sin(2 * np.pi * noise.mains_hz * t + rng.uniform(0, 2 * np.pi))
    )
  if noise.emg_mv > 0:
    out += noise.emg_mv * _emg(n_samples, sampling_rate, rng)
  if noise.white_mv > 0:
    out += noise.white_mv * rng.standard_normal(n_samples)
  return out


def _emg(n_samples, sampling_rate, rng):
  """Unit-RMS band-limited noise inside random bursts, 0.1 RMS outside them."""
  nyquist = sampling_rate / 2
  band = (_EMG_BAND_HZ[0], min(_EMG_BAND_HZ[1], 0.9 * nyquist))
  if band[0] >= band[1]:
    return np.zeros(n_samples)
  sos = scipy.signal.butter(4, band, btype="bandpass", fs=sampling_rate, output="sos")
  carrier = scipy.signal.sosfilt(sos, rng.standard_normal(n_samples))
  carrier /= max(float(np.std(carrier)), 1e-12)

  envelope = np.full(n_samples, 0.1)
  duration_s = n_samples / sampling_rate
  n_bursts = rng.poisson(_EMG_BURSTS_PER_S * duration_s)
  starts = rng.uniform(0, duration_s, n_bursts)
  lengths = rng.uniform(*_EMG_BURST_S, n_bursts)
  for start_s, length_s in zip(starts, lengths):
    lo = int(start_s * sampling_rate)
    hi = min(n_samples, int((start_s + length_s) * sampling_rate))
    envelope[lo:hi] = np.maximum(envelope[lo:hi], np.hanning(hi - lo + 2)[1:-1])
  return envelope * carrier
