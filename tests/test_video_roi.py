"""Per-trial ROI policy: drift following, outlier and failure handling, fallback."""

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from cmcl_jax.data import video_io
from cmcl_jax.data.synthetic import faces
from cmcl_jax.video import centred_box, crop_face, detect_step, track_face, track_from_detections

FACES = Path(__file__).resolve().parents[1].parent / "shared/fixtures/mecg_real/me_faces"


def box_centres(track):
  return track.boxes[:, :2] + track.boxes[:, 2:] / 2


def test_smoothed_track_follows_slow_drift_through_jitter_outliers_and_misses():
  fps, frames, step = 30.0, 300, 3
  t = np.arange(frames)
  truth = np.stack([200 + 0.2 * t, 150 - 0.1 * t], axis=1)  # 6 and 3 px/s
  rng = np.random.default_rng(0)
  detections = {}
  for k in range(0, frames, step):
    side = 100 + rng.integers(-4, 5)
    cx, cy = truth[k] + rng.uniform(-3, 3, 2)
    detections[k] = (round(cx - side / 2), round(cy - side / 2), side, side)
  for k in (30, 33, 120, 270):
    detections[k] = None
  detections[150] = (20, 20, 100, 100)  # a false detection far from the face
  track = track_from_detections(detections, frame_count=frames, frame_shape=(480, 640), fps=fps)
  assert track.method == "haar" and len(track) == frames
  assert (track.sampled, track.failed, track.rejected) == (100, 4, 1)
  assert track.boxes.dtype == np.int32 and track.boxes.shape == (frames, 4)
  assert abs(track.boxes[0, 2] - 100) <= 2 and (track.boxes[:, 2:] == track.boxes[0, 2:]).all()
  # Detector jitter is ±3 px; the 1 s smoothing brings it to ~0.5 px on average
  # (integer boxes add up to 0.5 px), worst at the trial ends.
  error = np.abs(box_centres(track) - truth)
  assert error.mean() <= 1.0 and error.max() <= 3.5
  # Slow drift gives a slowly moving box: never more than 1 px between frames.
  assert np.abs(np.diff(track.boxes[:, :2], axis=0)).max() <= 1


def test_no_face_anywhere_falls_back_to_a_counted_fixed_box(caplog):
  frames = (np.full((120, 160, 3), 90, np.uint8) for _ in range(25))
  with caplog.at_level(logging.WARNING, logger="cmcl_jax.video.roi"):
    track = track_face(frames, fps=25.0, detect_every=5)
  assert track.method == "fallback"
  assert (track.sampled, track.failed, len(track)) == (5, 5, 25)
  assert (track.boxes == centred_box((120, 160))).all()
  assert "no face found on any of 5 sampled frames" in caplog.text
  assert "method=fallback" in track.summary() and "no face on 5" in track.summary()

  given = track_from_detections(
    {0: None}, frame_count=3, frame_shape=(120, 160), fps=25.0, fallback_box=(150, 100, 40, 40)
  )
  assert given.box(2) == (150, 100, 10, 20)  # clipped to the frame


def real_face(size=200):
  if not FACES.is_dir():
    pytest.skip(f"real MECG face crops not found at {FACES} (shared fixtures absent)")
  path = sorted(FACES.glob("*/onset.png"))[0]
  return cv2.resize(cv2.imread(str(path), cv2.IMREAD_GRAYSCALE), (size, size))


def test_real_face_moving_slowly_is_followed_and_missing_frames_are_counted():
  face = real_face()
  fps, frames = 30.0, 90
  shift = np.stack([np.linspace(0, 45, frames), np.linspace(0, -20, frames)], axis=1)

  def video():
    for t in range(frames):
      canvas = np.full((360, 480), 100, np.uint8)
      if 30 <= t < 36:  # a brief occlusion: the detector must miss these frames
        yield canvas
        continue
      x, y = np.round((120, 100) + shift[t]).astype(int)
      canvas[y : y + 200, x : x + 200] = face
      yield canvas

  track = track_face(video(), fps=fps, detect_every=3)
  assert track.method == "haar" and len(track) == frames
  assert track.failed == 2  # frames 30 and 33
  truth = (220, 200) + shift
  offset = np.median(box_centres(track) - truth, axis=0)  # Haar box vs pasted square
  assert np.abs(offset).max() <= 15
  assert np.abs(box_centres(track) - truth - offset).max() <= 4.0


def drifting_face_video(path, frames=60, fps=150.0):
  """A drawn face drifting 60 px/s right, 30 px/s down; MJPG .avi, 240×320."""
  face = faces.make_face(240, 320, np.random.default_rng(0)).open_eyes

  def generate():
    for t in range(frames):
      shift = np.float32([[1, 0, 60 * t / fps], [0, 1, 30 * t / fps]])
      moved = cv2.warpAffine(face, shift, (320, 240), borderMode=cv2.BORDER_REFLECT)
      yield np.clip(moved, 0, 255).astype(np.uint8)

  video_io.write_video(path, generate(), fps)


def test_track_from_every_kth_decoded_frame_equals_track_from_all(tmp_path):
  path = tmp_path / "face.avi"
  fps, frames = 150.0, 61
  drifting_face_video(path, frames, fps)
  step = detect_step(fps)
  assert step == 30
  full = track_face(video_io.iter_frames(path, grayscale=True), fps=fps)
  sampled = track_face(
    video_io.iter_frames(path, grayscale=True, step=step), fps=fps, frame_count=frames
  )
  assert full.method == "haar" and (full.sampled, full.failed) == (3, 0)
  np.testing.assert_array_equal(sampled.boxes, full.boxes)
  assert sampled.summary() == full.summary()
  fine = track_face(video_io.iter_frames(path, step=7), fps=fps, detect_every=7, frame_count=frames)
  assert (len(fine), fine.sampled) == (frames, 9)


def test_track_for_reduced_frames():
  detections = {0: (101, 51, 395, 395), 10: (121, 61, 395, 395)}
  track = track_from_detections(detections, frame_count=11, frame_shape=(481, 640), fps=10.0)
  assert track.reduced(1) is track
  half = track.reduced(2)
  assert half.frame_shape == (241, 320) and len(half) == 11
  assert (half.boxes[:, 2:] == 198).all()
  np.testing.assert_allclose(half.boxes[:, :2], track.boxes[:, :2] / 2, atol=0.5)
  assert (half.boxes[:, :2] + half.boxes[:, 2:] <= (320, 241)).all()
  assert (half.sampled, half.method) == (track.sampled, track.method)
  assert track.reduction((128, 128)) == 2  # 395 // 4 = 98 px would enlarge a 128 px crop
  assert track.reduction((64, 64)) == 4 and track.reduction((48, 48)) == 8
  assert track.reduction((400, 400)) == 1 and track.reduction((48, 48), factors=(1, 2)) == 2
  for bad in (0, 1.5, True):
    with pytest.raises(ValueError, match="factor: expected an int >= 1"):
      track.reduced(bad)


def test_track_and_crop_errors():
  frame = np.zeros((60, 80), np.uint8)
  with pytest.raises(ValueError, match="no frame"):
    track_face(iter(()), fps=30.0)
  with pytest.raises(ValueError, match="fps"):
    track_face([frame], fps=0)
  with pytest.raises(ValueError, match=r"frame 1: size \(30, 80\) differs"):
    track_face([frame, frame[:30]], fps=30.0)
  with pytest.raises(ValueError, match="every 5-th of 12 frames is 3"):
    track_face([frame] * 2, fps=25.0, frame_count=12)
  for bad in (0, 2.5, True):
    with pytest.raises(ValueError, match="frame_count: expected an int >= 1"):
      track_face([frame], fps=25.0, frame_count=bad)
  for bad in (0, 1.5):
    with pytest.raises(ValueError, match="detect_every: expected an int >= 1"):
      detect_step(30.0, bad)
  with pytest.raises(ValueError, match="outside"):
    track_from_detections({5: None}, frame_count=5, frame_shape=(60, 80), fps=30.0)
  with pytest.raises(ValueError, match="lies outside the 80x60 frame"):
    crop_face(frame, (100, 10, 20, 20))
  crop = crop_face(np.dstack([frame] * 3), (-10, -10, 40, 40), size=(16, 16))
  assert crop.shape == (16, 16) and crop.dtype == np.uint8
