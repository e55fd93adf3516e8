"""Per-trial ROI policy: drift following, outlier and failure handling, fallback."""

import logging
from pathlib import Path

import cv2
import numpy as np
import pytest

from cmcl_jax.video import centred_box, crop_face, track_face, track_from_detections

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


def test_track_and_crop_errors():
  frame = np.zeros((60, 80), np.uint8)
  with pytest.raises(ValueError, match="no frame"):
    track_face(iter(()), fps=30.0)
  with pytest.raises(ValueError, match="fps"):
    track_face([frame], fps=0)
  with pytest.raises(ValueError, match=r"frame 1: size \(30, 80\) differs"):
    track_face([frame, frame[:30]], fps=30.0)
  with pytest.raises(ValueError, match="outside"):
    track_from_detections({5: None}, frame_count=5, frame_shape=(60, 80), fps=30.0)
  with pytest.raises(ValueError, match="lies outside the 80x60 frame"):
    crop_face(frame, (100, 10, 20, 20))
  crop = crop_face(np.dstack([frame] * 3), (-10, -10, 40, 40), size=(16, 16))
  assert crop.shape == (16, 16) and crop.dtype == np.uint8
