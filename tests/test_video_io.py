"""Streaming video reads: files, frame folders, truncation and bad paths."""

import cv2
import numpy as np
import pytest

from cmcl_jax.data import video_io


def _frames(count, height=48, width=64):
  rng = np.random.default_rng(0)
  base = rng.integers(0, 255, (height, width, 3), dtype=np.uint8)
  for index in range(count):
    frame = base.copy()
    frame[:, : 4 * (index + 1) % width] = 255
    yield frame


def test_write_then_stream_avi(tmp_path):
  path = tmp_path / "trial.avi"
  assert video_io.write_video(path, _frames(12), fps=150.0) == 12
  info = video_io.video_info(path)
  assert (info.frame_count, info.height, info.width) == (12, 48, 64)
  assert info.fps == pytest.approx(150.0)
  frames = list(video_io.iter_frames(path, grayscale=True))
  assert len(frames) == 12 and frames[0].shape == (48, 64)
  assert len(list(video_io.iter_frames(path, start=3, stop=7))) == 4
  strided = list(video_io.iter_frames(path, grayscale=True, start=1, step=5))
  assert len(strided) == 3
  np.testing.assert_array_equal(strided[1], frames[6])


def test_frame_folder_is_ordered_by_number(tmp_path):
  for index, frame in enumerate(_frames(11)):
    cv2.imwrite(str(tmp_path / f"img_{index}.png"), frame)
  (tmp_path / "fps.txt").write_text("150\n")
  info = video_io.video_info(tmp_path)
  assert (info.frame_count, info.fps) == (11, 150.0)
  frames = list(video_io.iter_frames(tmp_path))
  expected = list(_frames(11))
  np.testing.assert_array_equal(frames[10], expected[10])
  np.testing.assert_array_equal(frames[2], expected[2])
  assert len(list(video_io.iter_frames(tmp_path, step=4))) == 3


def test_truncated_video_names_file_and_frame(tmp_path):
  path = tmp_path / "short.avi"
  video_io.write_video(path, _frames(5), fps=150.0)
  with pytest.raises(video_io.VideoError, match=r"short\.avi.*frame 5"):
    list(video_io.iter_frames(path, expect_frames=9))


def test_bad_paths(tmp_path):
  with pytest.raises(video_io.VideoError, match="not found"):
    video_io.video_info(tmp_path / "missing.avi")
  garbage = tmp_path / "garbage.avi"
  garbage.write_bytes(b"not a video at all")
  with pytest.raises(video_io.VideoError, match="garbage.avi"):
    video_io.video_info(garbage)
  (tmp_path / "frames").mkdir()
  cv2.imwrite(str(tmp_path / "frames" / "0.png"), np.zeros((4, 4), np.uint8))
  with pytest.raises(video_io.VideoError, match="fps.txt"):
    video_io.video_info(tmp_path / "frames")
