"""Cost of heart rate + HR slope on a long ECG, next to NeuroKit2's ecg_process.

    python -m benchmarks.ecg_heart_rate                # ~6 min on 2 cores (ecg_process)
    python -m benchmarks.ecg_heart_rate --skip-neurokit  # ~15 s
    python -m benchmarks.ecg_heart_rate --minutes 10 --repeats 3

Simulates one recording with :func:`cmcl_jax.ecg.simulate_ecg` (1 kHz by default,
default noise, HR wandering 60-90 bpm with respiratory sinus arrhythmia and three
premature beats a minute), then times, each the median of ``--repeats`` runs:

* ``signal_problems`` alone (NaN / flat / saturation scan);
* ``heart_rate`` end to end: R-peaks, beat rejection, HR and HRS at every video frame
  (150 fps);
* ``neurokit2.ecg_process`` on the same signal, the all-in-one call it replaces
  (``--skip-neurokit`` leaves it out: nearly all of the run time).

Also prints the accuracy against the planted beats: R-peak sensitivity and PPV (10 ms
tolerance, beats more than 1 s from either end) and the HR error on good-quality frames
(true HR: the planted beat-to-beat HR of the regular rhythm, ectopic intervals left out).
Prints Markdown tables for BENCHMARKS.md. Results depend on the machine: name it.
"""

from __future__ import annotations

import argparse
import os
import platform

import neurokit2 as nk
import numpy as np

from cmcl_jax.ecg import heart_rate, signal_problems, simulate_ecg
from benchmarks import machine
from benchmarks.machine import cpu_name

FPS = 150.0
PEAK_TOLERANCE_S = 0.010


def planted_beats(duration_s: float, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
  """Beat times (s) and a (B,) bool marking premature (ectopic) beats."""
  beats, t = [], 0.3
  while t < duration_s:
    hr_bpm = 75 + 12 * np.sin(2 * np.pi * t / 300) + 3 * np.sin(2 * np.pi * 0.25 * t)
    beats.append(t)
    t += 60.0 / hr_bpm
  beats = np.array(beats)
  ectopic = np.zeros(beats.size, dtype=bool)
  n_ectopic = int(3 * duration_s / 60)
  ectopic[rng.choice(np.arange(2, beats.size - 2), size=n_ectopic, replace=False)] = True
  beats[ectopic] -= 0.35 * (beats[ectopic] - beats[np.flatnonzero(ectopic) - 1])
  return beats, ectopic


def distance_to_nearest(times_s: np.ndarray, reference_s: np.ndarray) -> np.ndarray:
  """(T,) distance (s) from each time to the nearest of the sorted reference times."""
  right = np.searchsorted(reference_s, times_s).clip(1, reference_s.size - 1)
  return np.minimum(np.abs(times_s - reference_s[right - 1]), np.abs(times_s - reference_s[right]))


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--minutes", type=float, default=60.0, help="recording length")
  parser.add_argument("--sampling-rate", type=float, default=1000.0, help="Hz")
  parser.add_argument("--repeats", type=int, default=5, help="runs per timing (median)")
  parser.add_argument("--seed", type=int, default=0)
  parser.add_argument(
    "--skip-neurokit", action="store_true", help="do not time neurokit2.ecg_process"
  )
  args = parser.parse_args()

  rng = np.random.default_rng(args.seed)
  duration_s = 60.0 * args.minutes
  beats, ectopic = planted_beats(duration_s, rng)
  ecg = simulate_ecg(beats, duration_s, args.sampling_rate, rng=rng)
  frame_times = np.arange(int(duration_s * FPS)) / FPS

  ours_s = machine.median_seconds(
    lambda: heart_rate(ecg, args.sampling_rate, frame_times), args.repeats
  )
  scan_s = machine.median_seconds(lambda: signal_problems(ecg, args.sampling_rate), args.repeats)
  neurokit_s = (
    None
    if args.skip_neurokit
    else machine.median_seconds(
      lambda: nk.ecg_process(ecg, sampling_rate=args.sampling_rate), args.repeats
    )
  )

  hr = heart_rate(ecg, args.sampling_rate, frame_times)
  # NeuroKit2 skips beats in the first 0.3 s of a record: score the interior only.
  interior = lambda t: t[(t >= 1.0) & (t <= duration_s - 1.0)]
  to_planted = distance_to_nearest(interior(hr.r_peaks_s), beats)
  to_found = distance_to_nearest(interior(beats), hr.r_peaks_s)
  # True HR of the regular rhythm: beat-to-beat HR over intervals not touching an ectopic.
  regular = ~(ectopic[1:] | ectopic[:-1])
  midpoints = 0.5 * (beats[1:] + beats[:-1])
  true_hr = np.interp(frame_times, midpoints[regular], 60.0 / np.diff(beats)[regular])
  error = np.abs(hr.hr_bpm - true_hr)[hr.quality]

  print(
    f"Machine: {cpu_name()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
    f"NumPy {np.__version__}, NeuroKit2 {nk.__version__}"
  )
  print(
    f"Recording: {args.minutes:g} min at {args.sampling_rate:g} Hz ({ecg.size:,} samples), "
    f"{beats.size:,} beats ({ectopic.sum()} premature), HR/HRS at {frame_times.size:,} "
    f"frames (150 fps); median of {args.repeats} runs.\n"
  )
  print("| step | time (s) |")
  print("|---|---|")
  print(f"| `cmcl_jax.ecg.signal_problems` | {scan_s:.2f} |")
  print(f"| `cmcl_jax.ecg.heart_rate` (scan, R-peaks, rejection, HR + HRS) | {ours_s:.2f} |")
  if neurokit_s is not None:
    print(f"| `neurokit2.ecg_process` | {neurokit_s:.2f} |")
    print(f"| speed-up | {neurokit_s / ours_s:.1f}x |")
  print()
  print("| accuracy vs planted beats | value |")
  print("|---|---|")
  print(f"| R-peak sensitivity (10 ms) | {np.mean(to_found <= PEAK_TOLERANCE_S):.4f} |")
  print(f"| R-peak PPV (10 ms) | {np.mean(to_planted <= PEAK_TOLERANCE_S):.4f} |")
  print(f"| RR intervals rejected | {np.sum(~hr.rr_accepted)} of {hr.rr_accepted.size} |")
  print(f"| frames with good quality | {hr.quality.mean():.3f} |")
  print(f"| HR error on good frames, mean / max (bpm) | {error.mean():.3f} / {error.max():.2f} |")


if __name__ == "__main__":
  main()
