"""Planted heart rate of a synthetic recording session, and the beats it implies.

HR(t) in bpm = subject baseline + respiratory sinus arrhythmia + slow (LF) wander
+ accelerations locked to a share of expression apexes + spontaneous accelerations.
An acceleration of size Δ centred at c has the shape
  Δ · σ((t − c) / rise) · exp(−max(t − c, 0) / recovery),
so its steepest rise (the HR slope the Candidate Clip Filter looks for) is near c.
Beats are placed where the integral of HR/60 crosses an integer.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from cmcl_jax.data.synthetic.config import SyntheticConfig

HR_GRID_HZ = 100.0
BEAT_JITTER_S = 0.002


@dataclasses.dataclass(frozen=True)
class HeartPlan:
  """The planted heart of one session.

  Attributes:
    times_s: (N,) float64 HR grid, seconds from the recording start (100 Hz).
    hr_bpm: (N,) float64 planted HR on that grid.
    beats_s: (B,) float64 planted R-peak times, seconds from the recording start.
    spontaneous_s: times of accelerations locked to no expression, seconds.
  """

  times_s: np.ndarray
  hr_bpm: np.ndarray
  beats_s: np.ndarray
  spontaneous_s: np.ndarray


def plan_heart(
  config: SyntheticConfig,
  duration_s: float,
  response_times_s,
  response_sizes_bpm,
  rng: np.random.Generator,
) -> HeartPlan:
  """Draws a subject's HR over a session and the R-peaks it implies.

  Args:
    config: generator knobs (baseline HR, RSA, response shape, spontaneous events).
    duration_s: session length, s.
    response_times_s: (R,) centres of the expression-locked accelerations, s from
      the recording start (apex + latency).
    response_sizes_bpm: (R,) their sizes, bpm.
    rng: seeded generator.
  """
  times = np.arange(0.0, duration_s, 1.0 / HR_GRID_HZ)
  baseline = rng.uniform(*config.baseline_hr_bpm)
  breathing_hz = rng.uniform(0.2, 0.33)
  rsa = rng.uniform(*config.rsa_bpm) * np.sin(
    2 * np.pi * breathing_hz * times + rng.uniform(0, 2 * np.pi)
  )
  hr = baseline + rsa + _slow_wander(times, rng)
  num_spontaneous = rng.poisson(config.spontaneous_hr_events_per_minute * duration_s / 60)
  spontaneous = np.sort(rng.uniform(0, duration_s, num_spontaneous))
  centres = np.concatenate([np.asarray(response_times_s, float), spontaneous])
  sizes = np.concatenate(
    [np.asarray(response_sizes_bpm, float), rng.uniform(*config.hr_response_bpm, num_spontaneous)]
  )
  for centre, size in zip(centres, sizes):
    hr += size * _acceleration(times - centre, config.hr_rise_s, config.hr_recovery_s)
  beats = _beats_from_hr(times, hr)
  beats = np.sort(beats + rng.normal(0.0, BEAT_JITTER_S, beats.shape))
  return HeartPlan(times, hr, beats, spontaneous)


def _acceleration(lag_s: np.ndarray, rise_s: float, recovery_s: float) -> np.ndarray:
  rising = 1.0 / (1.0 + np.exp(-np.clip(lag_s / rise_s, -50, 50)))
  return rising * np.exp(-np.maximum(lag_s, 0.0) / recovery_s)


def _slow_wander(times: np.ndarray, rng: np.random.Generator) -> np.ndarray:
  """Low-frequency (0.03–0.15 Hz) HR wander, ±~1.5 bpm."""
  frequencies = rng.uniform(0.03, 0.15, 4)
  phases = rng.uniform(0, 2 * np.pi, 4)
  amplitudes = rng.uniform(0.2, 0.6, 4)
  return (
    amplitudes[:, None] * np.sin(2 * np.pi * frequencies[:, None] * times + phases[:, None])
  ).sum(0)


def _beats_from_hr(times: np.ndarray, hr_bpm: np.ndarray) -> np.ndarray:
  """Times where the beat phase ∫ HR/60 dt crosses an integer (linear interpolation)."""
  dt = times[1] - times[0]
  phase = np.concatenate([[0.0], np.cumsum(hr_bpm[:-1] / 60.0 * dt)]) + 0.5
  beat_numbers = np.arange(np.ceil(phase[0]), np.floor(phase[-1]) + 1)
  return np.interp(beat_numbers, phase, times)
