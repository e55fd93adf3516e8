"""Figures people would rather see than read: a trial's physiology, an expression's face.

Every function draws into a new matplotlib figure and returns it; callers save it.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (after choosing the file backend)
import numpy as np  # noqa: E402

from cmcl_jax.ecg import HeartRate  # noqa: E402

_KIND_COLOURS = {"micro": "tab:red", "macro": "tab:purple"}


def plot_visual_inspection(
  ecg: np.ndarray,
  ecg_times_s: np.ndarray,
  hr: HeartRate,
  apexes: Sequence[tuple[float, str]],
  title: str = "",
  hr_times_offset_s: float = 0.0,
) -> plt.Figure:
  """The paper's visual-inspection plot: ECG, HR and HR slope with ME apex lines.

  Args:
    ecg: (N,) ECG, mV.
    ecg_times_s: (N,) sample times, s from the trial video's frame 0.
    hr: heart rate of that ECG, its `times_s` counted from the ECG's first sample.
    apexes: (apex time s from frame 0, kind "micro"/"macro") of each expression.
    title: figure title (use opaque trial ids, never a person's name).
    hr_times_offset_s: time of the ECG's first sample from frame 0, s (≤ 0 when the
      ECG was cut with context before the trial).
  """
  figure, (ax_ecg, ax_hr, ax_hrs) = plt.subplots(3, 1, figsize=(12, 6), sharex=True)
  hr_times = hr.times_s + hr_times_offset_s
  ax_ecg.plot(ecg_times_s, ecg, lw=0.5, color="black")
  ax_ecg.set_ylabel("ECG (mV)")
  ax_hr.plot(hr_times, hr.hr_bpm, color="tab:blue")
  beats = hr.r_peaks_s + hr_times_offset_s
  ax_ecg.plot(
    beats, np.interp(beats, ecg_times_s, ecg), "o", ms=2, color="tab:orange", label="R-peaks"
  )
  ax_hr.set_ylabel("HR (bpm)")
  ax_hrs.plot(hr_times, hr.hrs_bpm_per_s, color="tab:green")
  mean = float(np.mean(hr.hrs_bpm_per_s[hr.quality])) if hr.quality.any() else np.nan
  ax_hrs.axhline(mean, ls=":", color="gray", label=f"trial mean {mean:.2f} bpm/s")
  ax_hrs.axhline(2 * mean, ls="--", color="gray", label="2 × mean (CCF, η = 2)")
  ax_hrs.set_ylabel("HRS (bpm/s)")
  ax_hrs.set_xlabel("time from video frame 0 (s)")
  for axis in (ax_ecg, ax_hr, ax_hrs):
    for apex, kind in apexes:
      axis.axvline(apex, color=_KIND_COLOURS.get(kind, "black"), lw=1, alpha=0.7)
  handles = [plt.Line2D([], [], color=c, label=f"{k} apex") for k, c in _KIND_COLOURS.items()]
  ax_ecg.legend(
    handles=handles + ax_ecg.get_legend_handles_labels()[0], loc="upper right", fontsize=8
  )
  ax_hrs.legend(loc="upper right", fontsize=8)
  ax_ecg.set_xlim(0, ecg_times_s[-1])
  figure.suptitle(title)
  figure.tight_layout()
  return figure


def plot_onset_apex(onset: np.ndarray, apex: np.ndarray, title: str = "") -> plt.Figure:
  """Onset frame, apex frame and their absolute difference, side by side.

  Args:
    onset, apex: (H, W, 3) uint8 BGR or (H, W) uint8 frames.
  """

  def rgb(frame):
    return frame[..., ::-1] if frame.ndim == 3 else frame

  difference = np.abs(apex.astype(np.int16) - onset.astype(np.int16))
  if difference.ndim == 3:
    difference = difference.max(axis=-1)
  figure, axes = plt.subplots(1, 3, figsize=(9, 3.2))
  for axis, image, name in zip(
    axes, (rgb(onset), rgb(apex), difference), ("onset", "apex", "|apex − onset|")
  ):
    axis.imshow(image, cmap="magma" if image is difference else "gray")
    axis.set_title(name)
    axis.axis("off")
  figure.suptitle(title)
  figure.tight_layout()
  return figure


def plot_eta_sweep(sweep: dict, fixed_eta: float, chosen_etas: Sequence[float] = ()) -> plt.Figure:
  """Precision, recall and F1 of the CCF against η.

  Args:
    sweep: η → `Counts` (summed over the dataset).
    fixed_eta: the paper's η, drawn as a vertical line.
    chosen_etas: the η chosen inside each fold, drawn as ticks; None ("no filter"
      chosen) is counted in the legend.
  """
  etas = sorted(sweep)
  figure, axis = plt.subplots(figsize=(6, 3.6))
  for name, colour in (("precision", "tab:blue"), ("recall", "tab:orange"), ("f1", "black")):
    axis.plot(etas, [getattr(sweep[e], name) for e in etas], "o-", color=colour, label=name)
  axis.axvline(fixed_eta, ls="--", color="gray", label=f"paper η = {fixed_eta}")
  filtered = [e for e in chosen_etas if e is not None]
  switched_off = len(chosen_etas) - len(filtered)
  if len(chosen_etas):
    axis.plot(
      filtered,
      np.zeros(len(filtered)),
      "|",
      ms=14,
      color="tab:red",
      label=f"η chosen in each fold ({switched_off} of {len(chosen_etas)} chose no filter)",
    )
  axis.set_xlabel("η (CCF threshold, × trial mean HRS)")
  axis.set_ylabel("score")
  axis.set_ylim(bottom=0)
  axis.legend(fontsize=8)
  figure.tight_layout()
  return figure


def plot_per_subject_precision(per_variant: dict[str, dict]) -> plt.Figure:
  """Grouped bars: per-subject precision of each variant (the paper's results plot).

  Args:
    per_variant: variant name → {subject → `Counts`}.
  """
  variants = list(per_variant)
  subjects = sorted({s for counts in per_variant.values() for s in counts})
  width = 0.8 / max(1, len(variants))
  figure, axis = plt.subplots(figsize=(max(6, 0.6 * len(subjects) * len(variants) / 2), 3.6))
  positions = np.arange(len(subjects))
  for index, variant in enumerate(variants):
    values = [
      per_variant[variant][s].precision if s in per_variant[variant] else 0.0 for s in subjects
    ]
    axis.bar(positions + (index - (len(variants) - 1) / 2) * width, values, width, label=variant)
  axis.set_xticks(positions, subjects, rotation=45, ha="right", fontsize=8)
  axis.set_ylabel("precision")
  axis.legend(fontsize=8)
  figure.tight_layout()
  return figure


def plot_spotting_trial(
  curve: np.ndarray,
  threshold: float,
  kept,
  rejected,
  ground_truth,
  hrs: np.ndarray,
  hrs_threshold: float,
  fps: float,
  title: str = "",
) -> plt.Figure:
  """One trial's spotting: score curve, candidates kept / rejected by the CCF, truth.

  Args:
    curve: (T,) per-frame ME score; threshold: its peak threshold.
    kept, rejected: (K, 3) (onset, apex, offset) frames after the CCF.
    ground_truth: (G, 2) inclusive ME intervals, frames.
    hrs: (T,) HRS, bpm/s; hrs_threshold: η × trial mean HRS.
    fps: frames per second (x axis in seconds).
  """
  seconds = np.arange(len(curve)) / fps
  figure, (ax_score, ax_hrs) = plt.subplots(2, 1, figsize=(12, 5), sharex=True)
  ax_score.plot(seconds, curve, color="black", lw=1, label="ME score")
  ax_score.axhline(threshold, ls=":", color="gray", label="peak threshold")
  for onset, offset in np.asarray(ground_truth).reshape(-1, 2):
    ax_score.axvspan(onset / fps, offset / fps, color="tab:green", alpha=0.25)
  for clips, colour, name in (
    (kept, "tab:blue", "kept by CCF"),
    (rejected, "tab:red", "rejected by CCF"),
  ):
    for onset, apex, offset in np.asarray(clips).reshape(-1, 3):
      ax_score.plot([onset / fps, offset / fps], [1.04, 1.04], color=colour, lw=4)
      ax_hrs.axvline(apex / fps, color=colour, lw=1)
    ax_score.plot([], [], color=colour, lw=4, label=name)
  ax_score.fill_between([], [], color="tab:green", alpha=0.25, label="ground-truth ME")
  ax_score.set_ylabel("score")
  ax_score.set_ylim(0, 1.3)  # room above the candidates for the legend
  ax_score.legend(loc="upper center", fontsize=7, ncol=5, frameon=False)
  ax_hrs.plot(seconds, hrs, color="tab:green")
  ax_hrs.axhline(hrs_threshold, ls="--", color="gray", label="η × mean HRS")
  ax_hrs.set_ylabel("HRS (bpm/s)")
  ax_hrs.set_xlabel("time (s)")
  ax_hrs.legend(loc="upper right", fontsize=8)
  figure.suptitle(title)
  figure.tight_layout()
  return figure


def plot_kinds_trial(
  curves: dict[str, np.ndarray],
  thresholds: dict[str, float | None],
  candidates: dict[str, np.ndarray],
  ground_truth: dict[str, np.ndarray],
  fps: float,
  title: str = "",
) -> plt.Figure:
  """One trial's spotting of each expression type (video-only datasets): one panel per
  type with its score curve, threshold, candidates and ground truth.

  Args:
    curves: kind ("micro", "macro") → (T,) per-frame score.
    thresholds: kind → the curve's peak threshold (None: the method's own rule).
    candidates: kind → (K, 3) (onset, apex, offset) frames.
    ground_truth: kind → (G, 2) inclusive intervals, frames.
    fps: frames per second (x axis in seconds).
  """
  kinds = list(curves)
  figure, axes = plt.subplots(len(kinds), 1, figsize=(12, 2.6 * len(kinds)), sharex=True)
  for axis, kind in zip(np.atleast_1d(axes), kinds):
    curve = np.asarray(curves[kind], np.float64)
    seconds = np.arange(len(curve)) / fps
    top = max(float(np.nanmax(curve)) if curve.size else 1.0, 1e-6)
    axis.plot(seconds, curve, color="black", lw=1, label=f"{kind} score")
    if thresholds.get(kind) is not None:
      axis.axhline(thresholds[kind], ls=":", color="gray", label="peak threshold")
    for onset, offset in np.asarray(ground_truth.get(kind, ())).reshape(-1, 2):
      axis.axvspan(onset / fps, offset / fps, color=_KIND_COLOURS[kind], alpha=0.2)
    for onset, _, offset in np.asarray(candidates.get(kind, ())).reshape(-1, 3):
      axis.plot([onset / fps, offset / fps], [1.08 * top] * 2, color="tab:blue", lw=4)
    axis.plot([], [], color="tab:blue", lw=4, label="candidates")
    axis.fill_between([], [], color=_KIND_COLOURS[kind], alpha=0.2, label=f"ground-truth {kind}")
    axis.set_ylim(min(0.0, float(np.nanmin(curve)) if curve.size else 0.0), 1.35 * top)
    axis.set_ylabel("score")
    axis.legend(loc="upper center", fontsize=7, ncol=4, frameon=False)
  np.atleast_1d(axes)[-1].set_xlabel("time (s)")
  figure.suptitle(title)
  figure.tight_layout()
  return figure
