"""Streaming reads and writes of trial videos: `.avi`/`.mp4` files or frame folders.

A 60 s trial at 150 fps is 9,000 frames; at the MECG camera's 2040×1080 that is ~60 GB
of RGB, so frames are only ever streamed, one at a time.

A *frame folder* holds one image per frame (`.png`, `.jpg`, `.jpeg`, `.bmp`, `.tif`,
`.tiff`) whose file names carry the frame number (`0001.png`, `img_12.jpg`, …); frames
are ordered by that number, and its fps comes from an `fps.txt` file in the folder or,
failing that, from the caller.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

VIDEO_SUFFIXES = (".avi", ".mp4")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
FPS_FILE = "fps.txt"


class VideoError(ValueError):
  """A trial video is missing, unreadable, truncated or malformed."""


@dataclasses.dataclass(frozen=True)
class VideoInfo:
  """What a video says about itself.

  Attributes:
    path: the file or frame folder.
    fps: frames per second.
    frame_count: frames in the video.
    height: frame height, pixels.
    width: frame width, pixels.
  """

  path: Path
  fps: float
  frame_count: int
  height: int
  width: int

  @property
  def duration_s(self) -> float:
    return self.frame_count / self.fps


def is_video_source(path: str | os.PathLike) -> bool:
  """True for a video file with a known suffix or a folder of frame images."""
  path = Path(path)
  if path.is_dir():
    return bool(_numbered_frames(path))
  return path.suffix.lower() in VIDEO_SUFFIXES


def video_info(path: str | os.PathLike, fps: float | None = None) -> VideoInfo:
  """Reads fps, frame count and size without decoding the whole video.

  Args:
    path: a `.avi`/`.mp4` file or a folder of numbered frame images.
    fps: frame rate to assume for a frame folder without `fps.txt`.

  Raises:
    VideoError: naming `path`, when it is missing, unreadable or empty.
  """
  path = Path(path)
  if path.is_dir():
    frames = _numbered_frames(path)
    if not frames:
      raise VideoError(
        f"{path}: frame folder holds no numbered images ({', '.join(IMAGE_SUFFIXES)})"
      )
    first = _read_image(frames[0], grayscale=False)
    return VideoInfo(path, _folder_fps(path, fps), len(frames), *first.shape[:2])
  capture = _open_capture(path)
  try:
    info = VideoInfo(
      path=path,
      fps=float(capture.get(cv2.CAP_PROP_FPS)),
      frame_count=int(capture.get(cv2.CAP_PROP_FRAME_COUNT)),
      height=int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT)),
      width=int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)),
    )
  finally:
    capture.release()
  if info.fps <= 0 or info.frame_count <= 0:
    raise VideoError(
      f"{path}: container reports fps={info.fps} and {info.frame_count} frames; expected both > 0"
    )
  return info


def iter_frames(
  path: str | os.PathLike,
  *,
  grayscale: bool = False,
  start: int = 0,
  stop: int | None = None,
  step: int = 1,
  expect_frames: int | None = None,
) -> Iterator[np.ndarray]:
  """Streams frames `start, start+step, … < stop` of a video, one at a time.

  Args:
    path: a `.avi`/`.mp4` file or a folder of numbered frame images.
    grayscale: yield (H, W) uint8 instead of (H, W, 3) uint8 BGR.
    start: first frame index.
    stop: one past the last frame index; None reads to the end.
    step: yield every `step`-th frame; the frames between are grabbed without
      being converted (cheaper than reading them), e.g. for face detection on a
      subsample.
    expect_frames: frame count the container promised; when the stream ends
      earlier, a `VideoError` says the video is truncated. Defaults to the count
      the container reports.

  Yields:
    uint8 frames, (H, W) or (H, W, 3) BGR.

  Raises:
    VideoError: naming the file and frame, when it cannot be opened or decoded
      or ends before the expected frame count.
  """
  path = Path(path)
  if step < 1:
    raise ValueError(f"step={step}: expected ≥ 1")
  if path.is_dir():
    yield from _iter_folder(path, grayscale, start, stop, step)
    return
  capture = _open_capture(path)
  try:
    promised = expect_frames or int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    last = promised or None
    if stop is not None:
      last = stop if last is None else min(stop, last)
    if start:
      capture.set(cv2.CAP_PROP_POS_FRAMES, start)
    index = start
    while last is None or index < last:
      wanted = (index - start) % step == 0
      ok = capture.grab()
      frame = capture.retrieve()[1] if ok and wanted else None
      if not ok or (wanted and frame is None):
        if last is None:
          return
        raise VideoError(
          f"{path}: truncated or corrupt: frame {index} could not "
          f"be decoded; the container promised {promised} frames"
        )
      if wanted:
        yield cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if grayscale else frame
      index += 1
  finally:
    capture.release()


def write_video(path: str | os.PathLike, frames, fps: float) -> int:
  """Writes frames to an MJPG `.avi` (or `mp4v` `.mp4`); returns the count written.

  Args:
    path: output file; its suffix picks the codec.
    frames: an iterable of uint8 frames, all (H, W) or all (H, W, 3) BGR.
    fps: frames per second stored in the container.
  """
  path = Path(path)
  fourcc = {".avi": "MJPG", ".mp4": "mp4v"}.get(path.suffix.lower())
  if fourcc is None:
    raise VideoError(f"{path}: cannot write this suffix; use one of {VIDEO_SUFFIXES}")
  writer = None
  count = 0
  try:
    for frame in frames:
      if writer is None:
        height, width = frame.shape[:2]
        writer = cv2.VideoWriter(
          str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height), isColor=frame.ndim == 3
        )
        if not writer.isOpened():
          raise VideoError(f"{path}: OpenCV could not open a {fourcc} writer")
      writer.write(frame)
      count += 1
  finally:
    if writer is not None:
      writer.release()
  return count


def _open_capture(path: Path) -> cv2.VideoCapture:
  if not path.exists():
    raise VideoError(f"{path}: video file not found")
  if path.suffix.lower() not in VIDEO_SUFFIXES:
    raise VideoError(
      f"{path}: unsupported video suffix; expected one of "
      f"{VIDEO_SUFFIXES} or a folder of numbered frame images"
    )
  capture = cv2.VideoCapture(str(path))
  if not capture.isOpened():
    raise VideoError(f"{path}: OpenCV cannot open this video (corrupt or unknown codec)")
  return capture


_NUMBER = re.compile(r"(\d+)(?!.*\d)")


def _numbered_frames(folder: Path) -> list[Path]:
  numbered = []
  for child in folder.iterdir():
    if child.suffix.lower() in IMAGE_SUFFIXES:
      match = _NUMBER.search(child.stem)
      if match:
        numbered.append((int(match.group(1)), child))
  numbered.sort()
  return [child for _, child in numbered]


def _folder_fps(folder: Path, fps: float | None) -> float:
  fps_file = folder / FPS_FILE
  if fps_file.exists():
    text = fps_file.read_text().strip()
    try:
      return float(text)
    except ValueError:
      raise VideoError(
        f"{fps_file}: expected a number of frames per second, found {text!r}"
      ) from None
  if fps is None:
    raise VideoError(f"{folder}: frame folder has no {FPS_FILE}; pass fps explicitly")
  return float(fps)


def _read_image(path: Path, grayscale: bool) -> np.ndarray:
  image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE if grayscale else cv2.IMREAD_COLOR)
  if image is None:
    raise VideoError(f"{path}: frame image is unreadable or corrupt")
  return image


def _iter_folder(
  folder: Path, grayscale: bool, start: int, stop: int | None, step: int
) -> Iterator[np.ndarray]:
  frames = _numbered_frames(folder)
  if not frames:
    raise VideoError(f"{folder}: frame folder holds no numbered images")
  for frame_path in frames[start:stop:step]:
    yield _read_image(frame_path, grayscale)
