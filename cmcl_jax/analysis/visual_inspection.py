"""The paper's visual-inspection figures for one trial of a raw MECG layout."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cmcl_jax import ecg
from cmcl_jax.analysis import figures
from cmcl_jax.data import layout
from cmcl_jax.data import trial_ecg
from cmcl_jax.data import video_io

CONTEXT_S = 3.0


def pick_trial(raw: layout.RawLayout, wanted: str | None) -> layout.Trial:
  """The trial named `<subject>/<marker>` or by video name, or the first with an ME.

  Raises:
    ValueError: naming the trial asked for and some that exist.
  """
  for trial in raw.trials:
    if wanted in (trial.trial_id, trial.name) or (
      wanted is None and any(e.kind == "micro" for e in trial.expressions)
    ):
      return trial
  known = ", ".join(t.trial_id for t in raw.trials[:10])
  raise ValueError(
    f"trial {wanted!r}: no such trial (or none with an ME) under {raw.root}; "
    f"known: {known}{', …' if len(raw.trials) > 10 else ''}"
  )


def draw_trial(
  root, wanted: str | None = None, out="workdir/figures", faces: bool = False
) -> list[Path]:
  """Writes `visual_inspection_<subject>_<marker>.png` (ECG, HR, HRS, apex lines) and,
  with `faces`, `onset_apex_<subject>_<marker>.png` of the trial's first ME.

  Returns:
    The paths written.
  """
  trial = pick_trial(layout.discover(root), wanted)
  info = video_io.video_info(trial.video)
  cut = trial_ecg.read_trial_ecg(trial, info.duration_s, pad_s=CONTEXT_S)
  frame_times = np.arange(info.frame_count) / info.fps
  hr = ecg.heart_rate(cut.ecg, cut.sampling_rate, frame_times - cut.start_s)
  name = f"{trial.subject}_{trial.marker}"
  out = Path(out)
  out.mkdir(parents=True, exist_ok=True)
  inside = (cut.times_s >= 0) & (cut.times_s <= info.duration_s)
  figure = figures.plot_visual_inspection(
    cut.ecg[inside],
    cut.times_s[inside],
    hr,
    [(e.apex_s, e.kind) for e in trial.expressions],
    title=f"trial {trial.trial_id}",
    hr_times_offset_s=cut.start_s,
  )
  paths = [out / f"visual_inspection_{name}.png"]
  figure.savefig(paths[-1], dpi=110)
  figures.plt.close(figure)
  micro = [e for e in trial.expressions if e.kind == "micro"]
  if faces and micro:
    onset_frame, apex_frame, _ = micro[0].frames(info.fps)
    onset = next(video_io.iter_frames(trial.video, start=onset_frame, stop=onset_frame + 1))
    apex = next(video_io.iter_frames(trial.video, start=apex_frame, stop=apex_frame + 1))
    figure = figures.plot_onset_apex(
      onset, apex, title=f"{trial.trial_id}: {', '.join(micro[0].action_units)} ME"
    )
    paths.append(out / f"onset_apex_{name}.png")
    figure.savefig(paths[-1], dpi=110)
    figures.plt.close(figure)
  return paths
