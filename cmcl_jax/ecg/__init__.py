"""ECG signal processing: synthetic ECG, R-peaks, heart rate, HR slope, HRV features.

Data flow: raw ECG -> ``signal_problems`` -> ``heart_rate`` (R-peaks, HR, HRS, quality
at video-frame times) -> ``hrs_at`` / ``mean_hrs`` for the Candidate Clip Filter and
``window_features`` for the ECG stream; ``bandpass`` / ``resample`` prepare the raw ECG
input of the TCN.
"""

from cmcl_jax.ecg.errors import EcgError
from cmcl_jax.ecg.features import MIN_WINDOW_INTERVALS, WINDOW_FEATURE_NAMES, window_features
from cmcl_jax.ecg.filters import bandpass, resample
from cmcl_jax.ecg.heart_rate import HeartRate, heart_rate, hrs_at, mean_hrs
from cmcl_jax.ecg.quality import MIN_SAMPLING_RATE_HZ, SignalProblem, signal_problems
from cmcl_jax.ecg.simulate import EcgNoise, simulate_ecg

__all__ = [
  "EcgError",
  "EcgNoise",
  "HeartRate",
  "MIN_SAMPLING_RATE_HZ",
  "MIN_WINDOW_INTERVALS",
  "SignalProblem",
  "WINDOW_FEATURE_NAMES",
  "bandpass",
  "heart_rate",
  "hrs_at",
  "mean_hrs",
  "resample",
  "signal_problems",
  "simulate_ecg",
  "window_features",
]
