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


@pytest.mark.parametrize("suffix", [".avi", ".mp4"])  # MJPG packets; FFmpeg-decoded mp4v
@pytest.mark.parametrize("grayscale", [True, False])
def test_strided_frames_are_the_full_decodes_frames(tmp_path, suffix, grayscale):
  path = tmp_path / f"trial{suffix}"
  video_io.write_video(path, _frames(40), fps=150.0)
  full = list(video_io.iter_frames(path, grayscale=grayscale))
  assert len(full) == 40
  for start, stop, step in [(0, None, 1), (0, None, 7), (1, None, 5), (2, 30, 3), (17, None, 4)]:
    strided = list(
      video_io.iter_frames(path, grayscale=grayscale, start=start, stop=stop, step=step)
    )
    wanted = full[start:stop:step]
    assert len(strided) == len(wanted), (start, stop, step)
    for got, expected in zip(strided, wanted):
      np.testing.assert_array_equal(got, expected)


def test_mjpg_gray_frames_are_the_jpeg_luma(tmp_path):
  path = tmp_path / "trial.avi"
  video_io.write_video(path, _frames(6), fps=150.0)
  capture = cv2.VideoCapture(str(path))
  assert capture.set(cv2.CAP_PROP_FORMAT, -1)  # encoded packets: one JPEG per frame
  packets = [capture.retrieve()[1] for _ in range(6) if capture.grab()]
  gray = list(video_io.iter_frames(path, grayscale=True))
  colour = list(video_io.iter_frames(path))
  for packet, luma, bgr in zip(packets, gray, colour, strict=True):
    np.testing.assert_array_equal(luma, cv2.imdecode(packet, cv2.IMREAD_GRAYSCALE))
    np.testing.assert_array_equal(bgr, cv2.imdecode(packet, cv2.IMREAD_COLOR))
    # BGR -> gray rounds, and clips where a saturated colour leaves [0, 255].
    assert np.abs(luma.astype(int) - cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)).mean() < 1


@pytest.mark.parametrize("source", ["video", "png", "jpg"])
def test_reduced_decoding(tmp_path, source):
  # MJPG keeps even sizes only; 50 / 4 and 70 / 8 round up.
  frames = [cv2.resize(f, (70, 50)) for f in _frames(4)]
  if source == "video":
    path = tmp_path / "trial.avi"
    video_io.write_video(path, frames, fps=150.0)
  else:
    path = tmp_path / source
    path.mkdir()
    for index, frame in enumerate(frames):
      cv2.imwrite(str(path / f"{index}.{source}"), frame)
    (path / "fps.txt").write_text("150")
  full = list(video_io.iter_frames(path, grayscale=True))
  for reduce, shape in [(2, (25, 35)), (4, (13, 18)), (8, (7, 9))]:
    reduced = list(video_io.iter_frames(path, grayscale=True, reduce=reduce, step=3))
    assert len(reduced) == 2 and all(frame.shape == shape for frame in reduced)
    for small, big in zip(reduced, full[::3]):
      shrunk = cv2.resize(big, shape[::-1], interpolation=cv2.INTER_AREA)
      if source != "video":  # a frame folder: decoded whole, then area-averaged
        np.testing.assert_array_equal(small, shrunk)
      else:  # libjpeg's scaled IDCT: another low-pass filter, the same picture
        assert np.abs(small.astype(int) - shrunk).mean() < 8
  colour = next(video_io.iter_frames(path, reduce=2))
  assert colour.shape == (25, 35, 3)


@pytest.mark.parametrize(
  "kwargs, message",
  [
    (dict(step=0), "step=0"),
    (dict(step=-2), "step=-2"),
    (dict(step=1.5), "step=1.5"),
    (dict(step=True), "step=True"),
    (dict(start=-1), "start=-1"),
    (dict(start=2.0), "start=2.0"),
    (dict(stop=-3), "stop=-3"),
    (dict(reduce=3), "reduce=3"),
    (dict(reduce=2.0), "reduce=2.0"),
  ],
)
def test_bad_frame_selection_is_refused(tmp_path, kwargs, message):
  path = tmp_path / "trial.avi"
  video_io.write_video(path, _frames(3), fps=150.0)
  with pytest.raises(ValueError, match=message):
    next(video_io.iter_frames(path, **kwargs))


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
