"""All windows of one trial as dataset examples: face flow + aligned ECG + labels.

The `mecg` build reads every trial twice. Its first pass, `check_trial`, runs the
cheap reading checks (the video is long enough for a window; the ECG reads, holds the
trial's marker, lasts as long as the video and gives a heart rate) without decoding the
video, so the dataset's splits are known before the long work. Its second pass, one
call of `trial_examples` per trial (a process-pool task or a Beam element), reads the
trial's ECG and video, and returns the examples of every window (see
`cmcl_jax.data.windows` for geometry and labels), the trial's record (what spotting and
the build report need), its frame-rate HR/HRS curves, or the reason the trial was
skipped.

Per window (K windows, spec = `WindowSpec`):
  flow           (T, S, S, 2) float16  flow from the window's first face crop to T
                                        evenly spaced later crops (`flow_offsets`),
                                        computed at `roi_size`² with the head's
                                        median motion removed, then area-averaged to
                                        S² = `flow_size`²; pixels of the roi crop.
  ecg            (L,) float32          band-passed ECG (mV) at `ecg_rate_hz` over
                                        `ecg_context_s` centred on the window centre;
                                        zeros where the recording has no context.
  ecg_features   (7,) float32          `cmcl_jax.ecg.window_features` of the window,
                                        order `WINDOW_FEATURE_NAMES`.
  hr_bpm, hrs_bpm_per_s (H,) float32   HR (bpm) and |dHR/dt| (bpm/s) at `hr_rate_hz`
                                        over the same context as `ecg`.
"""

from __future__ import annotations

import collections
import dataclasses
import math
from collections.abc import Callable

import cv2
import numpy as np

from cmcl_jax import ecg as ecg_lib
from cmcl_jax.data import coding
from cmcl_jax.data import ecg_io
from cmcl_jax.data import video_io
from cmcl_jax.data import windows
from cmcl_jax.data.layout import Problem, Trial
from cmcl_jax.data.trial_ecg import TrialEcgError, read_trial_ecg
from cmcl_jax.video import FlowEstimator, crop_face, detect_step, track_face

ECG_MARGIN_S = 2.0
"""ECG read beyond the windows' context on both sides, s: keeps band-pass edge
transients and the HR curve's ends away from every window."""


KEY_STRIDE = 10**7
"""Key distance between two trials of a split: more frames than any trial has."""


class TrialSkipped(Exception):
  """A trial that cannot give examples.

  Attributes:
    code: machine-readable reason ("video_too_short", "ecg_missing",
      "marker_missing", "ecg_too_short", "ecg_unreadable", "ecg_no_heart_rate",
      "video_unreadable"; the build adds "video_unreadable" for a header it cannot
      read and "trial_error" for any other exception, `build_trials`).
  """

  def __init__(self, code: str, message: str):
    super().__init__(message)
    self.code = code


@dataclasses.dataclass(frozen=True)
class TrialTask:
  """One trial to turn into examples.

  Attributes:
    trial: from `layout.discover`.
    trial_id: dataset id of the trial, "<subject id>/<marker>".
    subject_id: dataset (pseudonymised) subject id.
    frame_count: frames of the video (from `video_io.video_info`).
    fps: video frame rate, Hz.
    spec: window geometry and contents.
    first_key: example keys are `first_key` + start frame: integers, because TFDS
      under Beam sorts unshuffled examples by key arithmetically; the builder gives
      trial j of a split ``j × KEY_STRIDE``, so key order is dataset order.
  """

  trial: Trial
  trial_id: str
  subject_id: str
  frame_count: int
  fps: float
  spec: windows.WindowSpec
  first_key: int = 0


@dataclasses.dataclass
class TrialResult:
  """What one trial gives.

  Attributes:
    examples: (key, example) per window, in window order; empty when skipped.
    record: JSON-ready trial record (see `trial_examples`).
    curves: {"hr_bpm", "hrs_bpm_per_s": (N,) float32, "hr_quality": (N,) bool} at
      video frame times and the window index {"window_label": (K,) int8,
      "window_kind": (K,) int8 into `windows.KINDS`, "window_row": (K,) int32,
      "window_motion": (K,) float32 (`window_motion`)};
      empty when skipped.
  """

  examples: list[tuple[str, dict]]
  record: dict
  curves: dict[str, np.ndarray]


def skipped(
  trial: Trial,
  trial_id: str,
  subject_id: str,
  code: str,
  message: str,
  scrub: Callable[[str], str] = str,
  fps: float = coding.MECG_FPS,
) -> TrialResult:
  """The `TrialResult` of a trial that gives no examples: its record says why.

  Args:
    trial, trial_id, subject_id: as in `TrialTask`.
    code: the reason (`TrialSkipped.code`).
    message: what was found, naming the file (and frame or sample).
    scrub: applied to every message kept in the record (pseudonymisation).
    fps: the video's frame rate, Hz, to put the expressions in frames; MECG's 150
      when the video's header could not be read.
  """
  record = _record(trial, trial_id, subject_id, fps, scrub)
  record.update(status="skipped", reason=code, message=scrub(message))
  return TrialResult([], record, {})


def _record(trial: Trial, trial_id: str, subject_id: str, fps: float, scrub) -> dict:
  """What every trial record holds: ids, clip, video name and expressions in frames."""
  intervals = [windows.Interval.from_expression(e, fps) for e in trial.expressions]
  return {
    "trial": trial_id,
    "subject": subject_id,
    "marker": trial.marker,
    "clip_emotion": trial.emotion,
    "video": scrub(trial.name),
    "expressions": [dataclasses.asdict(i) for i in intervals],
  }


def check_trial(task: TrialTask, scrub: Callable[[str], str] = str) -> TrialResult | None:
  """The build's first pass over a trial: the checks that need no video decoding.

  The video must hold a whole window; the ECG must read, hold the trial's marker (a
  session recording), last as long as the video and give a heart rate. Costs the ECG
  read (cached per recording, `trial_ecg.read_trial_ecg`) and ~10 ms of heart rate
  per minute of trial, against minutes of video decoding and flow in
  `trial_examples`.

  Args:
    task: the trial and the window spec.
    scrub: applied to every message kept in the record (pseudonymisation).

  Returns:
    None when the trial passes (`trial_examples` may still skip it, e.g. for a frame
    that does not decode), else the skipped `TrialResult` with the reason
    `trial_examples` would give.
  """
  try:
    _check_length(task)
    _trial_heart(task)
  except TrialSkipped as e:
    return skipped(task.trial, task.trial_id, task.subject_id, e.code, str(e), scrub, task.fps)
  return None


def trial_examples(task: TrialTask, scrub: Callable[[str], str] = str) -> TrialResult:
  """Every window of one trial as an example, or the reason it is skipped.

  Args:
    task: the trial and the window spec.
    scrub: applied to every message kept in the record (pseudonymisation).

  Returns:
    A `TrialResult`. `record["status"]` is "used" or "skipped" (then
    `record["reason"]` and `record["message"]` say why).
  """
  spec = task.spec
  try:
    starts = _check_length(task)
    signals = _trial_signals(task, starts)
    flows, track = window_flows(task, starts)
  except TrialSkipped as e:
    return skipped(task.trial, task.trial_id, task.subject_id, e.code, str(e), scrub, task.fps)

  record = _record(task.trial, task.trial_id, task.subject_id, task.fps, scrub)
  record.update(
    fps=task.fps,
    frame_count=task.frame_count,
    spec={"window_frames": spec.window_frames, "stride_frames": spec.stride_frames},
  )
  intervals = [windows.Interval.from_expression(e, task.fps) for e in task.trial.expressions]
  labels = [
    windows.label_window(int(s), int(s) + spec.window_frames, intervals, spec) for s in starts
  ]
  examples = []
  for k, (start, label) in enumerate(zip(starts, labels)):
    start = int(start)
    examples.append(
      (
        task.first_key + start,
        {
          "flow": flows[k],
          "ecg": signals["ecg"][k],
          "ecg_features": signals["features"][k],
          "hr_bpm": signals["hr"][k],
          "hrs_bpm_per_s": signals["hrs"][k],
          "label": label.label,
          "kind": label.kind,
          "apex_frame": label.apex_frame,
          "expression_row": label.row,
          "emotion": label.emotion,
          "clip_emotion": task.trial.emotion,
          "subject": task.subject_id,
          "trial": task.trial_id,
          "start_frame": start,
          "end_frame": start + spec.window_frames,
          "ecg_padded": bool(signals["padded"][k]),
        },
      )
    )
  for interval in record["expressions"]:
    mine = [lab for lab in labels if lab.row == interval["row"]]
    interval["me_windows"] = sum(lab.label for lab in mine)
    interval["windows"] = len(mine)
  record.update(
    status="used",
    num_windows=len(starts),
    me_windows=sum(lab.label for lab in labels),
    kinds={kind: sum(lab.kind == kind for lab in labels) for kind in windows.KINDS},
    ecg_padded_windows=int(signals["padded"].sum()),
    feature_sum=signals["features"].sum(0, dtype=np.float64).tolist(),
    feature_sumsq=np.square(signals["features"], dtype=np.float64).sum(0).tolist(),
    mean_hrs_bpm_per_s=signals["mean_hrs"],
    hr_quality_share=signals["quality_share"],
    face={
      "method": track.method,
      "sampled": track.sampled,
      "failed": track.failed,
      "rejected": track.rejected,
    },
    problems=[{"code": p.code, "message": scrub(p.message)} for p in signals["problems"]],
  )
  curves = dict(
    signals["curves"],
    window_motion=window_motion(flows),
    window_label=np.array([lab.label for lab in labels], np.int8),
    window_kind=np.array([windows.KINDS.index(lab.kind) for lab in labels], np.int8),
    window_row=np.array([lab.row for lab in labels], np.int32),
  )
  return TrialResult(examples, record, curves)


def window_motion(flows: np.ndarray) -> np.ndarray:
  """(K,) float32 motion of each window, pixels: the largest, over its T flow fields,
  of the mean flow magnitude. A label-free cue for hard negatives (`pipeline`)."""
  magnitude = np.linalg.norm(flows.astype(np.float32), axis=-1)  # (K, T, S, S)
  return magnitude.mean(axis=(2, 3)).max(axis=1).astype(np.float32)


def _check_length(task: TrialTask) -> np.ndarray:
  """(K,) int64 first frames of the trial's windows; `TrialSkipped` when there are none."""
  spec = task.spec
  starts = windows.window_starts(task.frame_count, spec.window_frames, spec.stride_frames)
  if not len(starts):
    raise TrialSkipped(
      "video_too_short",
      f"{task.trial.video}: {task.frame_count} frames, a window needs {spec.window_frames}",
    )
  return starts


def _trial_heart(task: TrialTask):
  """The trial's ECG cut (`TrialEcg`), its `HeartRate` on a frame-rate grid covering
  the trial and its ECG context, the grid ((G,) float64, s from frame 0) and the
  grid's first frame `first` (≤ 0): frame t of the video sits at grid index t - first."""
  spec, fps, trial = task.spec, task.fps, task.trial
  duration_s = task.frame_count / fps
  half_s = spec.ecg_context_s / 2
  try:
    recording = read_trial_ecg(trial, duration_s, pad_s=half_s + ECG_MARGIN_S)
  except TrialEcgError as e:
    raise TrialSkipped(e.code, str(e)) from None
  except ecg_io.EcgFileError as e:
    raise TrialSkipped("ecg_unreadable", str(e)) from None
  end_s = recording.start_s + (len(recording.ecg) - 1) / recording.sampling_rate
  first = math.ceil(max(-half_s, recording.start_s) * fps)
  last = math.floor(min(duration_s + half_s, end_s) * fps)
  grid_s = np.arange(first, last + 1) / fps
  try:
    hr = ecg_lib.heart_rate(recording.ecg, recording.sampling_rate, grid_s - recording.start_s)
  except ecg_lib.EcgError as e:
    raise TrialSkipped("ecg_no_heart_rate", f"{trial.ecg}: trial {trial.name}: {e}") from None
  return recording, hr, grid_s, first


def _trial_signals(task: TrialTask, starts: np.ndarray) -> dict:
  """ECG, HRV features and HR/HRS of every window, and the trial's HR curves."""
  spec, fps, trial = task.spec, task.fps, task.trial
  half_s = spec.ecg_context_s / 2
  recording, hr, grid_s, first = _trial_heart(task)
  rate, raw = recording.sampling_rate, recording.ecg
  times = recording.times_s
  frames = np.arange(task.frame_count) - first
  hr_frames, hrs_frames = hr.hr_bpm[frames], hr.hrs_bpm_per_s[frames]
  quality = hr.quality[frames]
  good = quality if quality.any() else np.ones_like(quality)

  finite = np.isfinite(raw)
  filled = raw if finite.all() else np.interp(times, times[finite], raw[finite])
  low, high = spec.ecg_band_hz
  high = min(high, 0.45 * spec.ecg_rate_hz, 0.45 * rate)
  banded = ecg_lib.resample(ecg_lib.bandpass(filled, rate, low, high), rate, spec.ecg_rate_hz)
  if not finite.all():  # gaps were bridged for filtering only: they read as zeros
    source = np.round(np.arange(len(banded)) * rate / spec.ecg_rate_hz).astype(np.int64)
    banded[~finite[np.clip(source, 0, len(raw) - 1)]] = 0.0

  centres_s = (starts + spec.window_frames / 2) / fps
  lead_s = centres_s - half_s
  begin = np.round((lead_s - recording.start_s) * spec.ecg_rate_hz).astype(np.int64)
  index = begin[:, None] + np.arange(spec.ecg_length)
  inside = (index >= 0) & (index < len(banded))
  ecg = np.where(inside, banded[np.clip(index, 0, len(banded) - 1)], 0.0).astype(np.float32)

  hr_times = lead_s[:, None] + (np.arange(spec.hr_length) + 0.5) / spec.hr_rate_hz
  features = np.stack(
    [
      ecg_lib.window_features(
        hr, s / fps - recording.start_s, (s + spec.window_frames) / fps - recording.start_s
      )
      for s in starts
    ]
  )
  problems = list(recording.problems)
  if not quality.any():
    problems.append(
      Problem(
        "hr_quality_poor",
        str(trial.ecg),
        f"trial {trial.name}: no good-quality HR sample; the mean HRS uses every frame",
      )
    )
  return {
    "ecg": ecg,
    "features": features,
    "hr": np.interp(hr_times, grid_s, hr.hr_bpm).astype(np.float32),
    "hrs": np.interp(hr_times, grid_s, hr.hrs_bpm_per_s).astype(np.float32),
    "padded": ~inside.all(axis=1),
    "mean_hrs": float(np.mean(hrs_frames[good], dtype=np.float64)),
    "quality_share": float(quality.mean()),
    "problems": problems,
    "curves": {"hr_bpm": hr_frames, "hrs_bpm_per_s": hrs_frames, "hr_quality": quality},
  }


def window_flows(task: TrialTask, starts: np.ndarray):
  """(K, T, S, S, 2) float16 flow clips of the windows, and the trial's `FaceTrack`.

  Two passes over the video: the face track (Haar on a few frames per second; only
  those frames are decoded), then the grayscale crops, keeping only the last
  `window_frames` of them. Pass 2 decodes the frames as small as the face box allows
  without enlarging a `roi_size` crop (`FaceTrack.reduction`; for MJPG, libjpeg's
  scaled decoding).
  """
  spec, video = task.spec, task.trial.video
  offsets = spec.flow_offsets
  size = (spec.roi_size, spec.roi_size)
  estimator = FlowEstimator(spec.flow_method, remove_global_motion=True)
  flows = np.empty((len(starts), spec.flow_frames, spec.flow_size, spec.flow_size, 2), np.float16)
  stop = int(starts[-1]) + spec.window_frames
  try:
    step = detect_step(task.fps)
    sampled = video_io.iter_frames(video, grayscale=True, step=step, expect_frames=task.frame_count)
    # A video shorter than the container's count raises VideoError while it is read.
    track = track_face(sampled, fps=task.fps, frame_count=task.frame_count)
    reduce = track.reduction(size, video_io.REDUCTIONS)
    boxes = track.reduced(reduce)
    crops = collections.deque(maxlen=spec.window_frames)
    k = 0
    frames = video_io.iter_frames(video, grayscale=True, stop=stop, reduce=reduce)
    for t, frame in enumerate(frames):
      crops.append(crop_face(frame, boxes.box(t), size))
      if k < len(starts) and t == starts[k] + spec.window_frames - 1:
        reference = crops[0]
        for j, offset in enumerate(offsets):
          flow = estimator(reference, crops[offset])
          flows[k, j] = cv2.resize(
            flow, (spec.flow_size, spec.flow_size), interpolation=cv2.INTER_AREA
          )
        k += 1
  except video_io.VideoError as e:
    raise TrialSkipped("video_unreadable", str(e)) from None
  return flows, track
