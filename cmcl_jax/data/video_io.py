"""Streaming reads and writes of trial videos: `.avi`/`.mp4` files or frame folders.

A 60 s trial at 150 fps is 9,000 frames; at the MECG camera's 2040×1080 that is ~60 GB
of RGB, so frames are only ever streamed, one at a time.

A *frame folder* holds one image per frame (`.png`, `.jpg`, `.jpeg`, `.bmp`, `.tif`,
`.tiff`) whose file names carry the frame number (`0001.png`, `img_12.jpg`, …); frames
are ordered by that number, and its fps comes from an `fps.txt` file in the folder or,
failing that, from the caller. The numbers must run on without a gap (from any first
number): a missing frame would shift the time of every later frame against the ECG, so
a folder with gaps, two images of one number, or an image without a number is refused
with a `VideoError` that names them. Every frame read must have the size of frame 0.
`frame_files` lists a folder's numbered frames; each `VideoError` about a frame folder
carries a `code` saying which of these rules it broke.

Decoding. An MJPG video (every packet one JPEG image: OpenCV's own `.avi` writer, most
high-speed cameras) is read packet by packet through FFmpeg without decoding, and only
the frames a caller asks for are decoded, with libjpeg (`cv2.imdecode`): a frame skipped
by `iter_frames(step=k)` costs a packet read (~6 µs at 640×480 against ~0.6 ms to
decode it), and a grayscale frame is the JPEG's luma plane, decoded without the colour
planes — twice as fast as colour, and the same pixels as `cv2.imread` of that JPEG
saved as an image of a frame folder. Other codecs (`mp4v`, H.264, …) are decoded by
FFmpeg, grayscale through `cv2.cvtColor`. For an MJPG file the two decoders differ a
little: FFmpeg's colour frames by up to ~20 levels at sharp colour edges (chroma
upsampling), a BGR→gray conversion from the luma plane by ~1 level (≤ 2 on the
synthetic face video; more where a saturated colour clips in BGR).

Reduced decoding (`iter_frames(reduce=r)`, r in `REDUCTIONS`): frames of
ceil(H / r) × ceil(W / r) pixels. MJPG packets are decoded at that scale by libjpeg's
scaled inverse DCT — cheaper than a full decode (640×480 luma: 0.36 ms at r = 2
against 0.45 ms) and already low-passed; other codecs and frame folders (whose frame
sizes are checked at full size) are decoded whole and shrunk with `cv2.INTER_AREA`.
For a face crop that is shrunk anyway (e.g. a 395 px face box to 128 px), see
`cmcl_jax.video.FaceTrack.reduction`.
"""

from __future__ import annotations

import dataclasses
import math
import numbers
import os
import re
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

VIDEO_SUFFIXES = (".avi", ".mp4")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp", ".tif", ".tiff")
FPS_FILE = "fps.txt"
REDUCTIONS = (1, 2, 4, 8)
"""Factors `iter_frames(reduce=...)` shrinks frames by: libjpeg's scaled decoding."""


class VideoError(ValueError):
  """A trial video is missing, unreadable, truncated or malformed.

  Attributes:
    code: what is wrong, for a frame folder: "frame_folder_empty",
      "frame_unnumbered", "frame_number_repeated", "frame_numbering_gap",
      "frame_unreadable", "frame_sizes_mixed", "frames_truncated", "fps_invalid",
      "fps_missing"; "video_error" for anything else.
  """

  def __init__(self, message: str, code: str = "video_error"):
    super().__init__(message)
    self.code = code


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
    return any(
      child.suffix.lower() in IMAGE_SUFFIXES and _NUMBER.search(child.stem)
      for child in path.iterdir()
    )
  return path.suffix.lower() in VIDEO_SUFFIXES


def video_info(path: str | os.PathLike, fps: float | None = None) -> VideoInfo:
  """Reads fps, frame count and size without decoding the whole video.

  Args:
    path: a `.avi`/`.mp4` file or a folder of numbered frame images.
    fps: frame rate to assume for a frame folder without `fps.txt`.

  Raises:
    VideoError: naming `path`, when it is missing, unreadable or empty, when a frame
      folder's numbering has gaps, repeats or unnumbered images, or its fps is not a
      positive number.
  """
  path = Path(path)
  if path.is_dir():
    frames = _folder_frames(path)
    first = _read_image(frames[0], 0, grayscale=False)
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
  if not (_is_positive(info.fps) and info.frame_count > 0):
    raise VideoError(
      f"{path}: container reports fps={info.fps} and {info.frame_count} frames; expected both > 0"
    )
  if info.height <= 0 or info.width <= 0:
    raise VideoError(
      f"{path}: container reports frames of {info.height}×{info.width} pixels; expected both > 0"
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
  reduce: int = 1,
) -> Iterator[np.ndarray]:
  """Streams frames `start, start+step, … < stop` of a video, one at a time.

  Args:
    path: a `.avi`/`.mp4` file or a folder of numbered frame images.
    grayscale: yield (H, W) uint8 instead of (H, W, 3) uint8 BGR.
    start: first frame index.
    stop: one past the last frame index; None reads to the end.
    step: yield every `step`-th frame, an int >= 1; an MJPG video or a frame folder
      decodes only those (see the module docstring), other codecs skip the colour
      conversion of the frames between, e.g. for face detection on a subsample.
    expect_frames: frame count the container promised; when the stream ends
      earlier, a `VideoError` says the video is truncated. Defaults to the count
      the container reports (for a frame folder: the images it holds).
    reduce: shrink each frame by this factor, one of `REDUCTIONS` (see the module
      docstring); 1 keeps the full size.

  Yields:
    uint8 frames, (H, W) or (H, W, 3) BGR; (ceil(H / reduce), ceil(W / reduce), …)
    with `reduce`.

  Raises:
    ValueError: `step`, `start`, `stop` or `reduce` is not an int in range.
    VideoError: naming the file and frame, when it cannot be opened or decoded,
      ends before the expected frame count, or (frame folder) a frame's size differs
      from frame 0's or the numbering is broken (see the module docstring).
  """
  path = Path(path)
  if not _is_index(step) or step < 1:
    raise ValueError(f"step={step!r}: expected an int >= 1 (yield every step-th frame)")
  if not _is_index(start) or start < 0 or (stop is not None and (not _is_index(stop) or stop < 0)):
    raise ValueError(f"start={start!r}, stop={stop!r}: expected int frame indices >= 0")
  if not _is_index(reduce) or reduce not in REDUCTIONS:
    raise ValueError(f"reduce={reduce!r}: expected one of {REDUCTIONS}")
  if path.is_dir():
    yield from _iter_folder(path, grayscale, start, stop, step, expect_frames, reduce)
    return
  decode = _jpeg_decoder(path, grayscale, reduce)
  capture = _open_capture(path, packets=decode is not None)
  try:
    promised = expect_frames or int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    last = promised or None
    if stop is not None:
      last = stop if last is None else min(stop, last)
    index = 0
    # OpenCV's FFmpeg seek in packet mode lands one frame late for frame 1; reading a
    # few packets is as cheap as a seek.
    if start >= (_PACKET_SEEK_MIN if decode is not None else 1):
      capture.set(cv2.CAP_PROP_POS_FRAMES, start)
      index = start
    while last is None or index < last:
      wanted = index >= start and (index - start) % step == 0
      ok = capture.grab()
      frame = capture.retrieve()[1] if ok and wanted else None
      if frame is not None:
        frame = decode(frame) if decode is not None else _convert(frame, grayscale, reduce)
      if not ok or (wanted and frame is None):
        if last is None:
          return
        raise VideoError(
          f"{path}: truncated or corrupt: frame {index} could not "
          f"be decoded; the container promised {promised} frames"
        )
      if wanted:
        yield frame
      index += 1
  finally:
    capture.release()


def write_video(path: str | os.PathLike, frames, fps: float) -> int:
  """Writes frames to an MJPG `.avi` (or `mp4v` `.mp4`); returns the count written.

  Args:
    path: output file; its suffix picks the codec.
    frames: an iterable of uint8 frames, all (H, W) or all (H, W, 3) BGR, all of
      one size (OpenCV would silently drop frames of another size).
    fps: frames per second stored in the container.

  Raises:
    VideoError: naming the file (and frame), for an unknown suffix, an fps that is
      not a positive number, or a frame of another shape or dtype than frame 0.
  """
  path = Path(path)
  fourcc = {".avi": "MJPG", ".mp4": "mp4v"}.get(path.suffix.lower())
  if fourcc is None:
    raise VideoError(f"{path}: cannot write this suffix; use one of {VIDEO_SUFFIXES}")
  if not _is_positive(fps):
    raise VideoError(f"{path}: fps={fps!r}; expected a positive number of frames per second")
  writer = None
  count = 0
  try:
    for frame in frames:
      frame = np.asarray(frame)
      if frame.dtype != np.uint8 or frame.ndim not in (2, 3) or frame.shape[2:] not in ((), (3,)):
        raise VideoError(
          f"{path}: frame {count} is {frame.dtype} of shape {frame.shape}; "
          "expected uint8 (H, W) or (H, W, 3) BGR"
        )
      if writer is None:
        shape = frame.shape
        height, width = frame.shape[:2]
        writer = cv2.VideoWriter(
          str(path), cv2.VideoWriter_fourcc(*fourcc), fps, (width, height), isColor=frame.ndim == 3
        )
        if not writer.isOpened():
          raise VideoError(f"{path}: OpenCV could not open a {fourcc} writer")
      elif frame.shape != shape:
        raise VideoError(
          f"{path}: frame {count} has shape {frame.shape} but frame 0 has {shape}; "
          "expected every frame of one video to have one size"
        )
      writer.write(frame)
      count += 1
  finally:
    if writer is not None:
      writer.release()
  return count


def _open_capture(path: Path, packets: bool = False) -> cv2.VideoCapture:
  """A capture of `path`; with `packets`, `retrieve` gives each encoded packet (FFmpeg)."""
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
  if packets and not capture.set(cv2.CAP_PROP_FORMAT, -1):
    capture.release()
    raise VideoError(f"{path}: OpenCV's reader of this video gives no encoded packets")
  return capture


# Packet mode reads the frames before a `start` below this instead of seeking.
_PACKET_SEEK_MIN = 16


def _convert(frame: np.ndarray, grayscale: bool, reduce: int) -> np.ndarray:
  """A full-size BGR frame from FFmpeg (or an image file), as the caller asked for it."""
  return _shrink(cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY) if grayscale else frame, reduce)


def _shrink(frame: np.ndarray, reduce: int) -> np.ndarray:
  """Area-average a frame to libjpeg's reduced size, ceil(H / reduce) × ceil(W / reduce)."""
  if reduce == 1:
    return frame
  height, width = frame.shape[:2]
  size = (-(-width // reduce), -(-height // reduce))
  return cv2.resize(frame, size, interpolation=cv2.INTER_AREA)


# libjpeg decoding flags by (grayscale, reduce).
_JPEG_FLAGS = {
  (True, 1): cv2.IMREAD_GRAYSCALE,
  (True, 2): cv2.IMREAD_REDUCED_GRAYSCALE_2,
  (True, 4): cv2.IMREAD_REDUCED_GRAYSCALE_4,
  (True, 8): cv2.IMREAD_REDUCED_GRAYSCALE_8,
  (False, 1): cv2.IMREAD_COLOR,
  (False, 2): cv2.IMREAD_REDUCED_COLOR_2,
  (False, 4): cv2.IMREAD_REDUCED_COLOR_4,
  (False, 8): cv2.IMREAD_REDUCED_COLOR_8,
}


def _jpeg_decoder(path: Path, grayscale: bool, reduce: int):
  """`packet -> frame or None` when `path` is an MJPG video, else None.

  The first packet decides: it must be a JPEG image (starts with the SOI marker
  FF D8) that libjpeg decodes to the container's frame size. A later packet that
  does not decode, or decodes to another size, gives None: a corrupt frame.
  """
  capture = _open_capture(path)
  try:
    height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
    if not capture.set(cv2.CAP_PROP_FORMAT, -1):
      return None
    ok, packet = capture.read()
  finally:
    capture.release()
  if not ok or packet is None or packet.size < 4 or bytes(packet.ravel()[:2]) != b"\xff\xd8":
    return None
  full = cv2.imdecode(packet, cv2.IMREAD_GRAYSCALE | cv2.IMREAD_IGNORE_ORIENTATION)
  if full is None or full.shape != (height, width):
    return None
  # Video decoders ignore EXIF orientation; so must the JPEG decoder of a packet.
  flags = _JPEG_FLAGS[bool(grayscale), reduce] | cv2.IMREAD_IGNORE_ORIENTATION
  size = (-(-height // reduce), -(-width // reduce))

  def decode(packet: np.ndarray) -> np.ndarray | None:
    frame = cv2.imdecode(packet, flags)
    return frame if frame is not None and frame.shape[:2] == size else None

  return decode


def _is_index(value) -> bool:
  """True for an int (or NumPy integer), not for a bool or a float."""
  return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _is_positive(value) -> bool:
  """True for a finite number > 0 (not for text such as "150")."""
  return isinstance(value, numbers.Real) and math.isfinite(value) and value > 0


_NUMBER = re.compile(r"(\d+)(?!.*\d)")
# How many missing frame numbers a gap error lists before "…".
_LISTED_GAPS = 10


def frame_files(folder: str | os.PathLike) -> list[tuple[int, Path]]:
  """(frame number, image path) of a frame folder's images, in frame order.

  The number is the last run of digits in the file name (`img001.jpg` → 1,
  `006_1_0001.jpg` → 1). A gap, a repeated number or an image without a number is
  refused: the frames cannot be timed (see the module docstring).

  Raises:
    VideoError: naming the folder and the images, with `code` "frame_folder_empty",
      "frame_unnumbered", "frame_number_repeated" or "frame_numbering_gap".
  """
  folder = Path(folder)
  numbered: dict[int, Path] = {}
  for child in sorted(folder.iterdir()):
    if child.suffix.lower() not in IMAGE_SUFFIXES:
      continue
    match = _NUMBER.search(child.stem)
    if not match:
      raise VideoError(
        f"{folder}: image {child.name!r} has no frame number in its name; expected every "
        "image of a frame folder to be a numbered frame (move other images out)",
        "frame_unnumbered",
      )
    number = int(match.group(1))
    if number in numbered:
      raise VideoError(
        f"{folder}: {numbered[number].name!r} and {child.name!r} both carry frame number "
        f"{number}; expected one image per frame number",
        "frame_number_repeated",
      )
    numbered[number] = child
  if not numbered:
    raise VideoError(
      f"{folder}: frame folder holds no numbered images ({', '.join(IMAGE_SUFFIXES)})",
      "frame_folder_empty",
    )
  order = sorted(numbered)
  missing = order[-1] - order[0] + 1 - len(order)
  if missing:
    listed = []  # The first few missing numbers, without listing a huge range.
    for before, after in zip(order, order[1:]):
      listed += range(before + 1, min(after, before + 1 + _LISTED_GAPS - len(listed)))
      if len(listed) == _LISTED_GAPS:
        break
    raise VideoError(
      f"{folder}: frame numbers {order[0]}–{order[-1]} have {missing} missing "
      f"({', '.join(map(str, listed))}{', …' if missing > len(listed) else ''}); "
      "expected consecutive numbers, since a missing frame would shift the time of every "
      "later frame (fill the gaps, or renumber the frames if none were lost)",
      "frame_numbering_gap",
    )
  return [(n, numbered[n]) for n in order]


def _folder_frames(folder: Path) -> list[Path]:
  """The frame images of `folder` in frame order (`frame_files` without the numbers)."""
  return [path for _, path in frame_files(folder)]


def _folder_fps(folder: Path, fps: float | None) -> float:
  fps_file = folder / FPS_FILE
  expected = "expected a positive number of frames per second, e.g. '150'"
  if fps_file.exists():
    text = fps_file.read_bytes().decode("utf-8-sig", errors="replace").strip()
    try:
      value = float(text)
    except ValueError:
      raise VideoError(f"{fps_file}: {expected}; found {text!r}", "fps_invalid") from None
    if not _is_positive(value):
      raise VideoError(f"{fps_file}: {expected}; found {text!r}", "fps_invalid")
    return value
  if fps is None:
    raise VideoError(
      f"{folder}: frame folder has no {FPS_FILE}; pass fps explicitly", "fps_missing"
    )
  if not _is_positive(fps):
    raise VideoError(
      f"{folder}: fps={fps!r} passed for a frame folder without {FPS_FILE}; {expected}",
      "fps_invalid",
    )
  return float(fps)


def _read_image(path: Path, index: int, grayscale: bool) -> np.ndarray:
  image = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE if grayscale else cv2.IMREAD_COLOR)
  if image is None:
    raise VideoError(
      f"{path}: frame {index}: image is unreadable or corrupt; expected a "
      f"{path.suffix.lstrip('.').upper()} image that OpenCV can decode",
      "frame_unreadable",
    )
  return image


def _iter_folder(
  folder: Path,
  grayscale: bool,
  start: int,
  stop: int | None,
  step: int,
  expect_frames: int | None,
  reduce: int,
) -> Iterator[np.ndarray]:
  frames = _folder_frames(folder)
  wanted = len(frames) if stop is None else min(stop, len(frames))
  needed = expect_frames if stop is None or not expect_frames else min(stop, expect_frames)
  if needed and len(frames) < needed:
    raise VideoError(
      f"{folder}: truncated: frame {len(frames)} is missing; the folder holds "
      f"{len(frames)} frames, {expect_frames} were expected",
      "frames_truncated",
    )
  size = None
  for index in range(start, wanted, step):
    image = _read_image(frames[index], index, grayscale)
    if size is None:
      size = image.shape[:2] if index == 0 else _read_image(frames[0], 0, grayscale).shape[:2]
    if image.shape[:2] != size:
      raise VideoError(
        f"{folder}: frame {index} ({frames[index].name}) is {image.shape[0]}×{image.shape[1]} "
        f"pixels but frame 0 ({frames[0].name}) is {size[0]}×{size[1]}; expected every frame "
        "of one video to have one size",
        "frame_sizes_mixed",
      )
    yield _shrink(image, reduce)
