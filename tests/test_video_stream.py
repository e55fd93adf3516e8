"""Whole-trial streaming: constant memory, motion curves, head motion removed, errors."""

import tracemalloc
import types

import cv2
import numpy as np
import pytest

from cmcl_jax.data import video_io
from cmcl_jax.video import motion_curve, stream_flow, track_from_detections

HEIGHT, WIDTH = 240, 320
BOX = (100, 60, 120, 120)


def scene(seed=0):
  """uint8 (HEIGHT + 40, WIDTH + 40) smooth random texture the camera slides over."""
  noise = np.random.default_rng(seed).random((HEIGHT + 40, WIDTH + 40)).astype(np.float32)
  blurred = cv2.GaussianBlur(noise, (0, 0), 2.0)
  return cv2.normalize(blurred, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)


def head_moving_video(frames, *, event=range(0)):
  """Whole frame translating 1 px/frame right (head motion); during `event` a patch
  in the lower half of BOX also moves 2 px/frame down (a local, mouth-like motion)."""
  texture = scene()
  x, y, w, h = BOX
  patch_rows = slice(y + 75, y + 105)
  patch_cols = slice(x + 30, x + 90)
  lowered = 0
  for t in range(frames):
    offset = t % 40
    frame = texture[20 : 20 + HEIGHT, offset : offset + WIDTH].copy()
    if t in event:
      lowered += 2
    if lowered:
      source = texture[20 - lowered : 20 - lowered + HEIGHT, offset : offset + WIDTH]
      frame[patch_rows, patch_cols] = source[patch_rows, patch_cols]
    yield frame


def test_stream_is_lazy_and_memory_does_not_grow_with_trial_length():
  frames = 1200  # 92 MB of frames if anything held them
  flows = stream_flow(head_moving_video(frames), BOX, size=(64, 64))
  assert isinstance(flows, types.GeneratorType)
  tracemalloc.start()
  try:
    curve = motion_curve(flows)
    _, peak = tracemalloc.get_traced_memory()
  finally:
    tracemalloc.stop()
  assert curve.shape == (frames,) and curve.dtype == np.float32
  assert peak < 2_000_000, f"peak traced memory {peak / 1e6:.1f} MB"


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_motion_curve_sees_local_motion_not_head_motion(method):
  frames, event = 30, range(12, 15)
  flows = stream_flow(head_moving_video(frames, event=event), BOX, method=method)
  curve = motion_curve(flows, regions="upper_lower")
  assert curve.shape == (frames, 2) and curve[0].tolist() == [0.0, 0.0]
  quiet = [t for t in range(1, frames) if t not in event and t % 40]
  upper, lower = curve[:, 0], curve[:, 1]
  assert upper[quiet].max() < 0.15 and lower[quiet].max() < 0.15
  assert lower[list(event)].min() > 3 * upper[list(event)].max()
  assert lower[list(event)].min() > 0.3

  with_head = motion_curve(
    stream_flow(head_moving_video(frames), BOX, method=method, remove_global_motion=False)
  )
  # Without the median subtraction the head's 1 px/frame (≈1.07 px in the 128 px crop
  # of a 120 px box) dominates every frame.
  assert with_head[quiet].min() > 0.8


def test_track_must_match_the_frames():
  track = track_from_detections(
    {0: (100, 60, 120, 120)}, frame_count=5, frame_shape=(HEIGHT, WIDTH), fps=30.0
  )
  assert len(list(stream_flow(head_moving_video(5), track, size=(32, 32)))) == 4
  with pytest.raises(ValueError, match="more frames than the 5 boxes"):
    list(stream_flow(head_moving_video(6), track, size=(32, 32)))
  with pytest.raises(ValueError, match="ended after 4 frames, the track has 5"):
    list(stream_flow(head_moving_video(4), track, size=(32, 32)))
  small = (f[:100] for f in head_moving_video(2))
  with pytest.raises(ValueError, match=r"frame 0: size \(100, 320\) differs"):
    list(stream_flow(small, track))
  with pytest.raises(TypeError, match="frame 0: expected dtype uint8"):
    list(stream_flow([np.zeros((HEIGHT, WIDTH))], track))
  with pytest.raises(ValueError, match="regions"):
    motion_curve([], regions="eyes")


def test_flow_from_reduced_decoding_matches_full_decoding(tmp_path):
  # The local-motion video at 2× (480×640 MJPG, a 240 px face box) cropped to 64 px:
  # decoding at half size (libjpeg's scaled IDCT) instead of area-shrinking the full
  # decode changes the anti-aliasing filter only.
  path = tmp_path / "event.avi"
  frames, event = 40, range(12, 16)
  video = head_moving_video(frames, event=event)
  video_io.write_video(path, (cv2.resize(f, None, fx=2, fy=2) for f in video), 150.0)
  box = tuple(2 * v for v in BOX)
  track = track_from_detections({0: box}, frame_count=frames, frame_shape=(480, 640), fps=150.0)
  size = (64, 64)
  assert track.reduction(size) == 2 and track.reduction((128, 128)) == 1
  full = np.stack(list(stream_flow(video_io.iter_frames(path, grayscale=True), track, size=size)))
  half = video_io.iter_frames(path, grayscale=True, reduce=2)
  reduced = np.stack(list(stream_flow(half, track.reduced(2), size=size)))
  difference = np.abs(full - reduced)
  assert difference.mean() < 0.01 and np.percentile(difference, 99) < 0.05  # px
  full_curve = motion_curve(iter(full), regions="upper_lower")
  reduced_curve = motion_curve(iter(reduced), regions="upper_lower")
  assert np.abs(full_curve - reduced_curve).max() < 0.01
  assert reduced_curve[list(event), 1].min() > 5 * np.delete(reduced_curve[:, 1], event).max()
