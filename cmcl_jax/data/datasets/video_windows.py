"""All windows of one long video as video-only dataset examples: face flow + labels.

The `megc` build (CAS(ME)², SAMM-LV, CAS(ME)³ Part A: no ECG) cuts each video the
way the `mecg` build cuts a trial, reusing its pieces: `cmcl_jax.data.windows` for the
geometry and the label rule, `window_examples` for the face track and the flow clips,
`build_trials.write_trial` for the per-trial files that `cmcl_jax.data.trials` reads.
A dataset config gives its geometry in seconds (`VideoWindows`); `VideoWindows.spec`
turns it into a `WindowSpec` in frames at the dataset's fps (0.5 s is 15 frames at
30 fps, 100 at 200 fps).

Each config spots one *target* kind, "micro" or "macro". Label 1 is a window that
meets the `windows` rule (IoU ≥ 0.5 with an expression of the target kind, or holding
its apex and ≥ 50 % of it); the window's `kind` is "micro" or "macro" for the kind
of expression it is labelled with or overlaps most (the target kind when label is
1), "partial" when it overlaps a target expression without meeting the rule and
"none" when it overlaps nothing. So a micro config labels as `mecg` does, and a
macro config (longer windows) is the same rule with the kinds' roles swapped.

Per window (K windows, spec = `VideoWindows.spec(fps)`):
  flow   (T, S, S, 2) float16  flow from the window's first face crop to T evenly
                                spaced later crops (`WindowSpec.flow_offsets`) at
                                `roi_size`², head motion removed, area-averaged to
                                S² = `flow_size`²; pixels of the roi crop.

Per video, beside the shards (`trials/<stem>.json` / `.npz`, the `mecg` layout):
the record (ids, the dataset's video id, the frame folder relative to the raw root,
fps, frame count, expressions in frames, window counts, face track) and the window
index (`window_label`, `window_kind`, `window_row`, `window_motion`, one value per
window). The heart-rate curves `cmcl_jax.data.trials.TrialInfo` carries are NaN
(`hr_quality` False) and the record's ``mean_hrs_bpm_per_s`` is None: there is no
ECG, and nothing that needs one (the CCF, heart-rate hard negatives) may run on it.
"""

from __future__ import annotations

import dataclasses
import os
import traceback
from collections.abc import Sequence

import numpy as np

from cmcl_jax.data import build_trials
from cmcl_jax.data import window_examples
from cmcl_jax.data import windows
from cmcl_jax.data.datasets.layouts import VideoTrial

TARGETS = ("micro", "macro")
"""The expression kinds a config can spot."""
NO_MARKER = 0
"""`TrialInfo.marker` of a video: these datasets have no trigger codes."""
TRIAL_ERROR = "trial_error"


@dataclasses.dataclass(frozen=True)
class VideoWindows:
  """Window geometry in seconds and flow-clip contents of a `megc` config.

  Attributes:
    target: "micro" or "macro", the kind label 1 stands for.
    window_s: window length, s (a whole number of frames at the dataset's fps).
    stride_s: step between window starts, s (at least one frame).
    flow_frames, roi_size, flow_size, flow_method: as in `windows.WindowSpec`.
    min_iou, min_coverage: the label rule's thresholds (`windows.WindowSpec`).
  """

  target: str = "micro"
  window_s: float = 0.5
  stride_s: float = 0.1
  flow_frames: int = 8
  roi_size: int = 64
  flow_size: int = 32
  flow_method: str = "dis"
  min_iou: float = 0.5
  min_coverage: float = 0.5

  def __post_init__(self):
    if self.target not in TARGETS:
      raise ValueError(f"target={self.target!r}: expected one of {TARGETS}")
    if not 0 < self.stride_s <= self.window_s:
      raise ValueError(
        f"window_s={self.window_s}, stride_s={self.stride_s}: expected 0 < stride_s ≤ window_s"
      )

  def spec(self, fps: float) -> windows.WindowSpec:
    """The `WindowSpec` in frames at `fps` (frames/s): lengths rounded to frames.

    Raises:
      ValueError: naming the fields, when the window is shorter than its flow clip
        needs at this fps.
    """
    window_frames = int(round(self.window_s * fps))
    if window_frames <= self.flow_frames:
      raise ValueError(
        f"window_s={self.window_s} at {fps:g} fps is {window_frames} frames; "
        f"flow_frames={self.flow_frames} needs more than {self.flow_frames}"
      )
    return windows.WindowSpec(
      window_frames=window_frames,
      stride_frames=max(1, int(round(self.stride_s * fps))),
      flow_frames=self.flow_frames,
      roi_size=self.roi_size,
      flow_size=self.flow_size,
      flow_method=self.flow_method,
      min_iou=self.min_iou,
      min_coverage=self.min_coverage,
    )


@dataclasses.dataclass(frozen=True)
class VideoTask:
  """One video to turn into examples.

  Attributes:
    trial: from `layouts.discover`.
    trial_id: dataset id, "<split>/<video name>" (`trial_id`).
    subject_id: the split (`split_name` of the subject).
    source: the frame folder relative to the raw root (where the baselines find it).
    spec: the window geometry in frames at the video's fps.
    target: "micro" or "macro".
    dataset: "casme2", "samm_lv" or "casme3".
    first_key: example keys are `first_key` + start frame (`window_examples.KEY_STRIDE`).
  """

  trial: VideoTrial
  trial_id: str
  subject_id: str
  source: str
  spec: windows.WindowSpec
  target: str
  dataset: str
  first_key: int = 0


def split_name(subject: str) -> str:
  """The TFDS split of a subject: its code with every character TFDS does not allow
  in a split name (letters, digits, "_" and "-" only) replaced by "_" ("spNO.1" →
  "spNO_1")."""
  return "".join(c if c.isalnum() or c in "_-" else "_" for c in subject)


def trial_id(split: str, video: str) -> str:
  """ "<split>/<last part of the video id>": "s15/15_0101", "006/006_1", "spNO_1/a"."""
  return f"{split}/{video.rsplit('/', 1)[-1]}"


def intervals(trial: VideoTrial) -> list[windows.Interval]:
  """The video's expressions as `windows.Interval`s in its frames."""
  return [windows.Interval(*e.frames(), e.kind, e.emotion or "", e.row) for e in trial.expressions]


_SWAPPED = {"micro": "macro", "macro": "micro"}


def label_window(
  start: int, stop: int, truth: Sequence[windows.Interval], spec: windows.WindowSpec, target: str
) -> windows.WindowLabel:
  """The label of window frames ``[start, stop)`` for `target` (module docstring).

  `windows.label_window` labels micro-expressions; for macro the kinds are swapped
  on the way in and back out, so the same rule labels macro-expressions.
  """
  if target == "micro":
    return windows.label_window(start, stop, truth, spec)
  swapped = [dataclasses.replace(i, kind=_SWAPPED.get(i.kind, i.kind)) for i in truth]
  label = windows.label_window(start, stop, swapped, spec)
  return dataclasses.replace(label, kind=_SWAPPED.get(label.kind, label.kind))


def _record(task: VideoTask) -> dict:
  return {
    "trial": task.trial_id,
    "subject": task.subject_id,
    "marker": NO_MARKER,
    "clip_emotion": "",
    "dataset": task.dataset,
    "video": task.trial.video,
    "source": task.source,
    "target": task.target,
    "fps": task.trial.fps,
    "frame_count": task.trial.frame_count,
    "expressions": [dataclasses.asdict(i) for i in intervals(task.trial)],
  }


def skipped(task: VideoTask, code: str, message: str) -> window_examples.TrialResult:
  """The `TrialResult` of a video that gives no examples: its record says why."""
  record = _record(task)
  record.update(status="skipped", reason=code, message=message)
  return window_examples.TrialResult([], record, {})


def check_task(task: VideoTask) -> window_examples.TrialResult | None:
  """The build's first pass over a video: None when it holds a whole window, else
  its skipped result (reason "video_too_short"). Decodes nothing."""
  if task.trial.frame_count < task.spec.window_frames:
    return skipped(
      task,
      "video_too_short",
      f"{task.source}: {task.trial.frame_count} frames, a window needs "
      f"{task.spec.window_frames} ({task.spec.window_frames / task.trial.fps:g} s at "
      f"{task.trial.fps:g} fps)",
    )
  return None


class _FlowSource:
  """What `window_examples.window_flows` reads of an MECG trial: its video."""

  def __init__(self, video):
    self.video = video


def video_examples(task: VideoTask) -> window_examples.TrialResult:
  """Every window of one video as an example, or the reason it is skipped.

  Returns:
    A `TrialResult`: `record["status"]` is "used" or "skipped" (then
    `record["reason"]` and `record["message"]` say why).
  """
  spec, trial = task.spec, task.trial
  starts = windows.window_starts(trial.frame_count, spec.window_frames, spec.stride_frames)
  too_short = check_task(task)
  if too_short is not None:
    return too_short
  flow_task = window_examples.TrialTask(
    _FlowSource(trial.folder), task.trial_id, task.subject_id, trial.frame_count, trial.fps, spec
  )
  try:
    # The `mecg` build's face track and flow clips; they read only the video.
    flows, track = window_examples.window_flows(flow_task, starts)
  except window_examples.TrialSkipped as e:
    return skipped(task, e.code, str(e))
  truth = intervals(trial)
  labels = [
    label_window(int(s), int(s) + spec.window_frames, truth, spec, task.target) for s in starts
  ]
  examples = []
  for k, (start, label) in enumerate(zip(starts, labels)):
    start = int(start)
    examples.append(
      (
        task.first_key + start,
        {
          "flow": flows[k],
          "label": label.label,
          "kind": label.kind,
          "apex_frame": label.apex_frame,
          "expression_row": label.row,
          "emotion": label.emotion,
          "subject": task.subject_id,
          "trial": task.trial_id,
          "video": trial.video,
          "start_frame": start,
          "end_frame": start + spec.window_frames,
        },
      )
    )
  record = _record(task)
  for interval in record["expressions"]:
    mine = [lab for lab in labels if lab.row == interval["row"]]
    interval["me_windows"] = sum(lab.label for lab in mine)
    interval["windows"] = len(mine)
  record.update(
    status="used",
    spec={"window_frames": spec.window_frames, "stride_frames": spec.stride_frames},
    num_windows=len(starts),
    me_windows=sum(lab.label for lab in labels),
    kinds={kind: sum(lab.kind == kind for lab in labels) for kind in windows.KINDS},
    mean_hrs_bpm_per_s=None,
    face={
      "method": track.method,
      "sampled": track.sampled,
      "failed": track.failed,
      "rejected": track.rejected,
    },
  )
  no_heart = np.full(trial.frame_count, np.nan, np.float32)
  curves = {
    "hr_bpm": no_heart,
    "hrs_bpm_per_s": no_heart,
    "hr_quality": np.zeros(trial.frame_count, bool),
    "window_motion": window_examples.window_motion(flows),
    "window_label": np.array([lab.label for lab in labels], np.int8),
    "window_kind": np.array([windows.KINDS.index(lab.kind) for lab in labels], np.int8),
    "window_row": np.array([lab.row for lab in labels], np.int32),
  }
  return window_examples.TrialResult(examples, record, curves)


def run_task(task: VideoTask, data_dir: str) -> list[tuple[int, dict]]:
  """`video_examples` + `build_trials.write_trial`: one unit of the build's work.

  Any exception of the video is recorded as reason "trial_error" (its type, message
  and the line that raised it): one bad video never aborts the build.
  """
  try:
    result = video_examples(task)
  except Exception as e:  # recorded; one bad video never aborts the build
    where = traceback.extract_tb(e.__traceback__)[-1]
    result = skipped(
      task,
      TRIAL_ERROR,
      f"{task.source}: {type(e).__name__}: {e} (raised at {os.path.basename(where.filename)}:"
      f"{where.lineno} in {where.name}); the video is left out and the build goes on",
    )
  build_trials.write_trial(data_dir, result)
  return result.examples
