"""Whole-trial flow in constant memory: frames in, one flow field (or one number) out.

A 60 s trial at 150 fps is 9,000 full-resolution frames; nothing here holds more
than the current and the previous face crop.
"""

from __future__ import annotations

from array import array
from collections.abc import Iterable, Iterator

import numpy as np

from cmcl_jax.video.face import Box
from cmcl_jax.video.flow import DEFAULT_SIZE, FlowEstimator, flow_magnitude
from cmcl_jax.video.frames import check_frame
from cmcl_jax.video.roi import FaceTrack, crop_face

# Rows of the crop, as fractions of its height, that each region covers. The Haar
# box puts the eyes at ~40 % of its height, so the halves separate brows/eyes
# (upper face) from nose tip/mouth (lower face).
REGIONS = {"face": ((0.0, 1.0),), "upper_lower": ((0.0, 0.5), (0.5, 1.0))}


def stream_flow(
  frames: Iterable[np.ndarray],
  roi: FaceTrack | Box,
  *,
  size: tuple[int, int] = DEFAULT_SIZE,
  method: str = "dis",
  remove_global_motion: bool = True,
) -> Iterator[np.ndarray]:
  """Yield the face flow between each pair of consecutive frames of a trial.

  Args:
    frames: the trial's frames in order, uint8 (H, W) or (H, W, 3) BGR, e.g.
      ``cmcl_jax.data.video_io.iter_frames(path)``; consumed lazily.
    roi: a `FaceTrack` (one box per frame; its length must equal the number of
      frames) or one fixed ``(x, y, w, h)`` box.
    size: (H_out, W_out) each crop is resized to, pixels.
    method: "dis" or "farneback".
    remove_global_motion: subtract each field's median flow (residual head motion
      the box did not follow).

  Yields:
    T-1 arrays (H_out, W_out, 2) float32, pixels per frame: flow t goes from
    frame t to frame t+1.

  Raises:
    ValueError: the frame count or frame size disagrees with the `FaceTrack`.
  """
  estimator = FlowEstimator(method, remove_global_motion=remove_global_motion)
  track = roi if isinstance(roi, FaceTrack) else None
  prev, count = None, 0
  for t, frame in enumerate(frames):
    check_frame(frame, name=f"frame {t}")
    if track is not None:
      if t >= len(track):
        raise ValueError(f"frames: more frames than the {len(track)} boxes of the track")
      if frame.shape[:2] != track.frame_shape:
        raise ValueError(
          f"frame {t}: size {frame.shape[:2]} differs from the track's {track.frame_shape}"
        )
    crop = crop_face(frame, track.box(t) if track is not None else roi, size)
    if prev is not None:
      yield estimator(prev, crop)
    prev, count = crop, t + 1
  if track is not None and count != len(track):
    raise ValueError(f"frames: ended after {count} frames, the track has {len(track)} boxes")


def motion_curve(flows: Iterable[np.ndarray], *, regions: str = "face") -> np.ndarray:
  """Mean flow magnitude per frame: the 1-D motion signal of a trial.

  Args:
    flows: consecutive-frame flow fields (H, W, 2), e.g. `stream_flow(...)`;
      consumed lazily.
    regions: "face" (whole crop) or "upper_lower" (top and bottom half).

  Returns:
    (T,) float32 for "face", (T, 2) float32 [upper, lower] for "upper_lower",
    pixels per frame, where T = number of flows + 1: entry t is the motion from
    frame t-1 to frame t, and entry 0 is 0 so that entries line up with frames.
  """
  if regions not in REGIONS:
    raise ValueError(f"regions: expected one of {tuple(REGIONS)}, got {regions!r}")
  bands = REGIONS[regions]
  values = array("f", [0.0] * len(bands))
  for flow in flows:
    magnitude = flow_magnitude(flow)
    height = magnitude.shape[0]
    for top, bottom in bands:
      values.append(float(magnitude[round(top * height) : round(bottom * height)].mean()))
  curve = np.frombuffer(values, dtype=np.float32).reshape(-1, len(bands))
  return curve[:, 0].copy() if regions == "face" else curve.copy()
