"""Per-trial face region of interest: one box per frame, following slow head drift.

Policy (see docs/signals.md, "Video"):

1. Detect the face with the Haar cascade on every `detect_every`-th frame only
   (default: 5 detections per second of video), near the last detection first
   (`detect_face(near=...)`, a few ms) and over the whole frame when that fails
   (10–20 ms): detecting on every frame would dominate the per-frame budget.
2. Box size: the median detected width and height over the trial, so the crop scale
   is constant and flow is not polluted by detector jitter in size.
3. Box centre: detected centres that jump more than `outlier_frac` × box size away
   from the median of their ~1 s neighbourhood are dropped as false detections;
   the rest are linearly interpolated to every frame (held constant before the first
   and after the last detection) and smoothed with a first-order Savitzky–Golay
   filter over `smooth_s` seconds. A first-order filter follows a steady drift
   without lag, also at the ends of the trial, while averaging out detector jitter.
4. No detection at all: a fixed fallback box (given, or a centred square) is used,
   `method` says "fallback" and a warning is logged; failures are always counted.

What the box cannot follow (fast head jerks, sub-box jitter) is left to the flow
stage, which subtracts each frame's median flow (``remove_global_motion=True``).
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterable, Mapping

import numpy as np
import scipy.signal

from cmcl_jax.video.face import Box, detect_face
from cmcl_jax.video.frames import check_frame, check_size, resize_gray, to_gray

log = logging.getLogger(__name__)


@dataclasses.dataclass(frozen=True)
class FaceTrack:
  """The crop box of every frame of one trial.

  Attributes:
    boxes: (T, 4) int32, ``(x, y, w, h)`` per frame in full-frame pixels; every
      box lies inside the frame and all have the same w, h.
    frame_shape: (H, W) of the video frames, pixels.
    sampled: number of frames the detector ran on.
    failed: of those, frames where it found no face.
    rejected: of those, detections dropped as outliers (jumps away from the
      neighbouring detections).
    method: "haar" (boxes from detections) or "fallback" (no usable detection;
      a fixed box).
  """

  boxes: np.ndarray
  frame_shape: tuple[int, int]
  sampled: int
  failed: int
  rejected: int
  method: str

  def __len__(self) -> int:
    return len(self.boxes)

  def box(self, t: int) -> Box:
    """The ``(x, y, w, h)`` box of frame `t`."""
    x, y, w, h = self.boxes[t]
    return int(x), int(y), int(w), int(h)

  def reduced(self, factor: int) -> FaceTrack:
    """This track for frames shrunk `factor` times, ceil(H / factor) × ceil(W / factor)
    (``video_io.iter_frames(reduce=factor)``): box corners and sizes divided by
    `factor` and rounded, one w, h for all, every box inside the smaller frame.

    Raises:
      ValueError: `factor` is not an int >= 1.
    """
    if not isinstance(factor, (int, np.integer)) or isinstance(factor, bool) or factor < 1:
      raise ValueError(f"factor: expected an int >= 1, got {factor!r}")
    if factor == 1:
      return self
    height, width = (-(-side // factor) for side in self.frame_shape)
    w = min(width, max(1, round(int(self.boxes[0, 2]) / factor)))
    h = min(height, max(1, round(int(self.boxes[0, 3]) / factor)))
    x = np.clip(np.round(self.boxes[:, 0] / factor), 0, width - w)
    y = np.clip(np.round(self.boxes[:, 1] / factor), 0, height - h)
    boxes = np.stack([x, y, np.full_like(x, w), np.full_like(y, h)], axis=1).astype(np.int32)
    return dataclasses.replace(self, boxes=boxes, frame_shape=(height, width))

  def reduction(self, size: tuple[int, int], factors=(1, 2, 4, 8)) -> int:
    """The largest of `factors` by which frames can be shrunk before cropping, so that
    the box still covers at least `size` = (H, W) pixels: cropping from frames decoded
    that much smaller (`video_io.iter_frames(reduce=...)`) shrinks the crop less and
    never enlarges it. 1 when even the full-size box is smaller than `size`."""
    out_h, out_w = check_size(size)
    w, h = int(self.boxes[0, 2]), int(self.boxes[0, 3])
    fits = [f for f in factors if f == 1 or (w // f >= out_w and h // f >= out_h)]
    return max(fits)

  def summary(self) -> str:
    """One line for logs and dataset-build reports."""
    return (
      f"{len(self)} frames, method={self.method}, detector ran on {self.sampled}, "
      f"no face on {self.failed}, outliers rejected {self.rejected}, "
      f"box {self.boxes[0, 2]}x{self.boxes[0, 3]} px"
    )


def centred_box(frame_shape: tuple[int, int], frac: float = 0.6) -> Box:
  """A centred square of side `frac` × min(H, W) pixels: the default fallback."""
  height, width = frame_shape
  side = max(1, int(frac * min(height, width)))
  return (width - side) // 2, (height - side) // 2, side, side


def track_face(
  frames: Iterable[np.ndarray],
  *,
  fps: float,
  detect_every: int | None = None,
  smooth_s: float = 1.0,
  fallback_box: Box | None = None,
  frame_count: int | None = None,
) -> FaceTrack:
  """Run the ROI policy over one trial, streaming: only boxes are kept.

  Two ways to feed it, with the same result for the same pixels:

  * every frame (``frame_count=None``): frames between detections are only counted
    and checked, never processed;
  * only the frames the detector runs on, 0, k, 2k, … with
    k = ``detect_step(fps, detect_every)``, and the trial's ``frame_count``: a reader
    then decodes only those, e.g. ``video_io.iter_frames(path, step=k)`` (MJPG:
    ~1/30 of the decoding at 150 fps).

  Args:
    frames: the trial's frames in order, uint8 (H, W) or (H, W, 3) BGR; all of them,
      or every k-th from frame 0 when `frame_count` is given.
    fps: frame rate, Hz.
    detect_every: run the detector on every k-th frame; default round(fps / 5).
    smooth_s: length of the centre-smoothing window, seconds.
    fallback_box: box used when no face is found on any sampled frame; default
      `centred_box`.
    frame_count: T, frames in the trial, when `frames` holds only every k-th;
      there must then be ceil(T / k) of them.

  Returns:
    A `FaceTrack` with one box per frame.

  Raises:
    ValueError: a frame of another size than the first, no frame at all, or (with
      `frame_count`) a count that is not an int >= 1 or disagrees with the frames.
  """
  step = detect_step(fps, detect_every)
  if frame_count is not None and (
    not isinstance(frame_count, (int, np.integer))
    or isinstance(frame_count, bool)
    or frame_count < 1
  ):
    raise ValueError(f"frame_count: expected an int >= 1 frames, got {frame_count!r}")
  stride = 1 if frame_count is None else step
  seen = {"count": 0, "shape": None}

  def sampled():
    for i, frame in enumerate(frames):
      t = i * stride
      check_frame(frame, name=f"frame {t}")
      if seen["shape"] is None:
        seen["shape"] = frame.shape[:2]
      elif frame.shape[:2] != seen["shape"]:
        raise ValueError(
          f"frame {t}: size {frame.shape[:2]} differs from the first frame's {seen['shape']}"
        )
      seen["count"] = i + 1
      if t % step == 0:
        yield t, frame

  detections = detect_faces(sampled())
  frame_shape = seen["shape"]
  if frame_shape is None:
    raise ValueError("frames: the iterable yielded no frame")
  if frame_count is None:
    frame_count = seen["count"]
  elif seen["count"] != -(-frame_count // step):
    raise ValueError(
      f"frames: got {seen['count']} frames; every {step}-th of {frame_count} frames "
      f"is {-(-frame_count // step)}"
    )
  return track_from_detections(
    detections,
    frame_count=int(frame_count),
    frame_shape=frame_shape,
    fps=fps,
    smooth_s=smooth_s,
    fallback_box=fallback_box,
  )


def detect_step(fps: float, detect_every: int | None = None) -> int:
  """Frames from one face detection to the next: `detect_every`, default round(fps / 5).

  Raises:
    ValueError: `fps` is not a positive rate (Hz) or `detect_every` not an int >= 1.
  """
  if not fps > 0:
    raise ValueError(f"fps: expected a positive frame rate in Hz, got {fps}")
  if detect_every is None:
    return max(1, round(fps / 5))
  if not isinstance(detect_every, (int, np.integer)) or detect_every < 1:
    raise ValueError(f"detect_every: expected an int >= 1 frame, got {detect_every!r}")
  return int(detect_every)


def detect_faces(indexed_frames: Iterable[tuple[int, np.ndarray]]) -> dict[int, Box | None]:
  """Step 1 of the policy on the frames a reader chose to decode.

  Each frame is scanned near the last face found (`detect_face(near=...)`) and,
  when that finds nothing, over the whole frame.

  Args:
    indexed_frames: (frame index, uint8 frame) pairs, e.g. every k-th frame of a
      trial from a reader that skips decoding the others.

  Returns:
    frame index → box or None, the input of `track_from_detections`.
  """
  detections: dict[int, Box | None] = {}
  last = None
  for t, frame in indexed_frames:
    box = detect_face(frame, near=last) if last is not None else None
    detections[t] = box if box is not None else detect_face(frame)
    last = detections[t] or last
  return detections


def track_from_detections(
  detections: Mapping[int, Box | None],
  *,
  frame_count: int,
  frame_shape: tuple[int, int],
  fps: float,
  smooth_s: float = 1.0,
  outlier_frac: float = 0.25,
  fallback_box: Box | None = None,
) -> FaceTrack:
  """Build a `FaceTrack` from detections on some frames (steps 2–4 of the policy).

  With a reader that can decode only the sampled frames, use
  ``track_from_detections(detect_faces(...), ...)``; `track_face` is the front end
  for a plain stream of all frames.

  Args:
    detections: frame index → `detect_face` result (a box or None) for each
      frame the detector ran on.
    frame_count: T, number of frames in the trial.
    frame_shape: (H, W) of the frames, pixels.
    fps: frame rate, Hz.
    smooth_s: centre-smoothing window, seconds.
    outlier_frac: a detected centre further than this fraction of the box size
      from the median of its `smooth_s` neighbourhood is rejected.
    fallback_box: box used when nothing usable was detected.
  """
  if frame_count < 1:
    raise ValueError(f"frame_count: expected >= 1, got {frame_count}")
  height, width = check_size(tuple(int(s) for s in frame_shape))
  bad = [t for t in detections if not 0 <= t < frame_count]
  if bad:
    raise ValueError(f"detections: frame indices {bad[:5]} outside [0, {frame_count})")
  window = max(1, round(smooth_s * fps))
  found = sorted((t, box) for t, box in detections.items() if box is not None)
  failed = len(detections) - len(found)
  if failed:
    log.info("face not found on %d of %d sampled frames", failed, len(detections))
  if not found:
    box = fallback_box if fallback_box is not None else centred_box((height, width))
    box = _clip_box(*box, frame_shape=(height, width))
    log.warning(
      "no face found on any of %d sampled frames; using fixed fallback box %s",
      len(detections),
      box,
    )
    boxes = np.tile(np.asarray(box, np.int32), (frame_count, 1))
    return FaceTrack(boxes, (height, width), len(detections), failed, 0, "fallback")

  times = np.array([t for t, _ in found], np.float64)
  sizes = np.array([box[2:] for _, box in found], np.float64)
  centres = np.array([(x + w / 2, y + h / 2) for _, (x, y, w, h) in found], np.float64)
  w, h = np.median(sizes, axis=0)
  keep = _inliers(times, centres, window / 2, outlier_frac * max(w, h))
  times, centres = times[keep], centres[keep]

  frame_times = np.arange(frame_count, dtype=np.float64)
  path = np.stack([np.interp(frame_times, times, centres[:, i]) for i in range(2)], axis=1)
  smooth = min(window, frame_count)
  smooth -= 1 - smooth % 2  # savgol needs an odd window <= T
  if smooth >= 3:
    path = scipy.signal.savgol_filter(path, smooth, polyorder=1, axis=0, mode="interp")
  w, h = min(round(w), width), min(round(h), height)
  x = np.clip(np.round(path[:, 0] - w / 2), 0, width - w)
  y = np.clip(np.round(path[:, 1] - h / 2), 0, height - h)
  boxes = np.stack([x, y, np.full_like(x, w), np.full_like(y, h)], axis=1).astype(np.int32)
  return FaceTrack(boxes, (height, width), len(detections), failed, int((~keep).sum()), "haar")


def crop_face(frame: np.ndarray, box: Box, size: tuple[int, int] = (128, 128)) -> np.ndarray:
  """Cut `box` out of `frame`, convert to gray and resize it.

  Args:
    frame: uint8 (H, W) or (H, W, 3) BGR.
    box: ``(x, y, w, h)`` in pixels; the part outside the frame is dropped.
    size: output (H_out, W_out), pixels.

  Returns:
    uint8 (H_out, W_out) grayscale crop (anti-aliased when shrinking, see
    `frames.resize_gray`).
  """
  check_frame(frame)
  x0, y0, w, h = _clip_box(*box, frame_shape=frame.shape[:2])
  return resize_gray(to_gray(frame[y0 : y0 + h, x0 : x0 + w]), check_size(size))


def _clip_box(x: int, y: int, w: int, h: int, frame_shape: tuple[int, int]) -> Box:
  """Intersect a box with the frame; error if nothing is left."""
  height, width = frame_shape
  x0, y0 = max(0, int(x)), max(0, int(y))
  x1, y1 = min(width, int(x) + int(w)), min(height, int(y) + int(h))
  if x1 <= x0 or y1 <= y0:
    raise ValueError(f"box {(x, y, w, h)} lies outside the {width}x{height} frame")
  return x0, y0, x1 - x0, y1 - y0


def _inliers(times: np.ndarray, centres: np.ndarray, half: float, tol: float) -> np.ndarray:
  """Mask of detections within `tol` px of the median centre of their ±`half` frames."""
  lo = np.searchsorted(times, times - half, side="left")
  hi = np.searchsorted(times, times + half, side="right")
  medians = np.array([np.median(centres[a:b], axis=0) for a, b in zip(lo, hi)])
  return np.linalg.norm(centres - medians, axis=1) <= tol
