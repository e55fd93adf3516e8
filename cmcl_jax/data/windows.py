"""Sliding windows over a trial and their ME / non-ME labels: the `mecg` label policy.

A trial of N video frames is cut into windows of `window_frames` frames every
`stride_frames` frames: window k covers frames ``[k·stride, k·stride + window)``
(end exclusive). Only whole windows are kept, so there are
``(N - window) // stride + 1`` of them (0 when N < window); the last
``(N - window) % stride`` frames are covered by no window start, only by the last
window's tail.

Label policy (frames are inclusive intervals, IoU counted in frames):

* **micro** (label 1): the window overlaps a micro-expression with IoU ≥ `min_iou`
  (0.5), or it contains the ME's apex frame and covers ≥ `min_coverage` (0.5) of the
  ME's onset→offset frames. With 75-frame windows a 0.2–0.37 s ME can never reach
  IoU 0.5, so the apex/coverage rule is what labels short MEs. When several MEs
  qualify, the one with the highest IoU is the window's expression.
* **macro** (label 0): not micro, and the window overlaps a macro-expression by at
  least one frame. Negatives are drawn from the kinds that the training config's
  `data.sampling.negative_kinds` lists (`sampling.SamplingPolicy`).
* **partial** (label 0): not micro and no macro, but the window overlaps a
  micro-expression by at least one frame without meeting the micro rule (a boundary
  window): neither a clean ME nor a clean non-ME. The base config's
  `negative_kinds` ("none", "macro") leaves them out of the negatives; the LOSO demo
  config (`loso_synthetic.py`) adds "partial".
* **none** (label 0): the window overlaps no annotated expression.

The window's expression (for micro, the qualifying ME; for macro / partial, the
overlapping expression with the most overlapping frames) gives its apex frame,
emotion and coding-file row; for "none" those are -1, "" and -1.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from cmcl_jax.data import coding

KINDS = ("none", "micro", "macro", "partial")
"""Window kinds, in the order of the dataset's `kind` class label."""


@dataclasses.dataclass(frozen=True)
class WindowSpec:
  """Geometry and contents of the windows of one dataset config.

  Attributes:
    window_frames: window length, video frames (75 = 0.5 s at 150 fps).
    stride_frames: step between window starts, frames (15 = 0.1 s).
    flow_frames: T, flow fields per window: from the window's first frame to T
      evenly spaced later frames (see `flow_offsets`).
    roi_size: side of the square face crop the flow is computed on, pixels.
    flow_size: side of the stored flow field after area resizing, pixels.
    flow_method: "dis" or "farneback" (`cmcl_jax.video.FlowEstimator`).
    ecg_context_s: ECG context centred on the window centre, s.
    ecg_rate_hz: rate the band-passed ECG is resampled to, Hz.
    hr_rate_hz: rate of the HR / HRS samples over the same context, Hz.
    ecg_band_hz: (low, high) band-pass corners, Hz; `high` is lowered to 0.45 ×
      `ecg_rate_hz` when the target rate cannot carry it.
    min_iou: micro rule, IoU with the ME (frames).
    min_coverage: micro rule, share of the ME inside a window holding its apex.
  """

  window_frames: int = 75
  stride_frames: int = 15
  flow_frames: int = 8
  roi_size: int = 64
  flow_size: int = 32
  flow_method: str = "dis"
  ecg_context_s: float = 2.0
  ecg_rate_hz: float = 250.0
  hr_rate_hz: float = 25.0
  ecg_band_hz: tuple[float, float] = (0.5, 40.0)
  min_iou: float = 0.5
  min_coverage: float = 0.5

  def __post_init__(self):
    if self.window_frames < 2 or self.stride_frames < 1:
      raise ValueError(
        f"window_frames={self.window_frames}, stride_frames="
        f"{self.stride_frames}: expected ≥ 2 and ≥ 1 frames"
      )
    if not 1 <= self.flow_frames < self.window_frames:
      raise ValueError(f"flow_frames={self.flow_frames}: expected 1…window_frames-1")
    if self.flow_size > self.roi_size or self.flow_size < 8:
      raise ValueError(f"flow_size={self.flow_size}: expected 8…roi_size ({self.roi_size})")
    if self.ecg_length < 1 or self.hr_length < 1:
      raise ValueError("ecg_context_s × ecg_rate_hz and × hr_rate_hz must give ≥ 1 sample")

  @property
  def ecg_length(self) -> int:
    """L, ECG samples per window."""
    return int(round(self.ecg_context_s * self.ecg_rate_hz))

  @property
  def hr_length(self) -> int:
    """HR / HRS samples per window."""
    return int(round(self.ecg_context_s * self.hr_rate_hz))

  @property
  def flow_offsets(self) -> np.ndarray:
    """(T,) int frame offsets, from the window start, of the flow targets.

    Evenly spaced over the window and ending on its last frame; for 75 frames and
    T = 8: [9, 18, 28, 37, 46, 56, 65, 74].
    """
    return np.round(np.linspace(0, self.window_frames - 1, self.flow_frames + 1)[1:]).astype(
      np.int64
    )


@dataclasses.dataclass(frozen=True)
class Interval:
  """One annotated expression in frames of its trial (inclusive)."""

  onset: int
  apex: int
  offset: int
  kind: str
  emotion: str
  row: int

  @classmethod
  def from_expression(cls, e: coding.Expression, fps: float) -> "Interval":
    onset, apex, offset = e.frames(fps)
    return cls(onset, apex, offset, e.kind, e.emotion, e.row)


@dataclasses.dataclass(frozen=True)
class WindowLabel:
  """The label of one window (see the module docstring).

  Attributes:
    label: 1 for ME, 0 otherwise.
    kind: one of `KINDS`.
    apex_frame: apex of the window's expression, -1 for "none".
    emotion: emotion of the window's expression, "" for "none".
    row: coding-file row of the window's expression, -1 for "none".
  """

  label: int
  kind: str
  apex_frame: int = -1
  emotion: str = ""
  row: int = -1


def window_starts(frame_count: int, window_frames: int, stride_frames: int) -> np.ndarray:
  """(K,) int64 first frames of the whole windows of a trial of `frame_count` frames."""
  if frame_count < window_frames:
    return np.zeros((0,), np.int64)
  return np.arange(0, frame_count - window_frames + 1, stride_frames, dtype=np.int64)


def overlap(start: int, stop: int, interval: Interval) -> tuple[int, float, float]:
  """(frames in common, IoU, share of the interval covered) of window [start, stop)."""
  common = max(0, min(stop - 1, interval.offset) - max(start, interval.onset) + 1)
  length = interval.offset - interval.onset + 1
  union = (stop - start) + length - common
  return common, common / union, common / length


def label_window(
  start: int, stop: int, intervals: Sequence[Interval], spec: WindowSpec
) -> WindowLabel:
  """Applies the label policy to window frames ``[start, stop)``."""
  best_micro, best_iou = None, -1.0
  macro, macro_common = None, 0
  partial, partial_common = None, 0
  for interval in intervals:
    common, iou, coverage = overlap(start, stop, interval)
    if common == 0:
      continue
    if interval.kind == "micro":
      holds_apex = start <= interval.apex < stop
      if iou >= spec.min_iou or (holds_apex and coverage >= spec.min_coverage):
        if iou > best_iou:
          best_micro, best_iou = interval, iou
      elif common > partial_common:
        partial, partial_common = interval, common
    elif common > macro_common:
      macro, macro_common = interval, common
  for chosen, label, kind in (
    (best_micro, 1, "micro"),
    (macro, 0, "macro"),
    (partial, 0, "partial"),
  ):
    if chosen is not None:
      return WindowLabel(label, kind, chosen.apex, chosen.emotion, chosen.row)
  return WindowLabel(0, "none")
