"""Face detection on one frame with OpenCV's frontal-face Haar cascade.

The cascade file ships with the ``opencv-python-headless`` 4.x wheel
(``cv2.data.haarcascades``); OpenCV 5 dropped ``CascadeClassifier``, hence the pin
``<5`` in setup.cfg. The classifier is loaded once per process and cached.
"""

from __future__ import annotations

import functools

import cv2
import numpy as np

from cmcl_jax.video.frames import check_frame, to_gray

CASCADE_FILE = "haarcascade_frontalface_default.xml"

# Face width, pixels, that a local scan (`near=`) shrinks its search region to:
# small enough to cost a few ms, large enough for a box jitter of a few % of the
# face, which the ROI policy's 1 s smoothing averages out.
NEAR_FACE_PX = 100

Box = tuple[int, int, int, int]
"""A face box ``(x, y, w, h)`` in pixels of the full frame: left, top, width, height."""


@functools.lru_cache(maxsize=None)
def _cascade(filename: str) -> cv2.CascadeClassifier:
  if not hasattr(cv2, "CascadeClassifier") or not hasattr(cv2, "data"):
    raise RuntimeError(
      f"OpenCV {cv2.__version__} has no CascadeClassifier / cv2.data; "
      "install opencv-python-headless>=4.9,<5"
    )
  path = cv2.data.haarcascades + filename
  cascade = cv2.CascadeClassifier(path)
  if cascade.empty():
    raise RuntimeError(f"could not load the Haar cascade {path}")
  return cascade


def detect_face(
  frame: np.ndarray,
  *,
  near: Box | None = None,
  detect_width: int = 240,
  min_face_frac: float = 0.25,
  scale_factor: float = 1.1,
  min_neighbors: int = 4,
) -> Box | None:
  """Find the largest frontal face in one frame.

  Full scan (``near=None``): the frame is shrunk to at most `detect_width` pixels
  wide, converted to gray and scanned for faces of side >= `min_face_frac` ×
  min(H, W). In ME recordings the face is large (MECG: about half the frame
  height), hence the small defaults; cost grows with pixel count and size range.

  Local scan (``near`` = the face's last box): only the box grown by half its size
  on each side is searched, shrunk so the face is `NEAR_FACE_PX` pixels wide, for
  faces 0.75–1.33 × the box — several times cheaper than a full scan, and blind to
  false faces elsewhere. Fall back to a full scan when it finds nothing.

  Args:
    frame: uint8 (H, W) grayscale or (H, W, 3) BGR.
    near: ``(x, y, w, h)`` where the face was recently, full-frame pixels.
    detect_width: width in pixels the frame is shrunk to for a full scan.
    min_face_frac: smallest face side of a full scan, as a fraction of min(H, W).
    scale_factor, min_neighbors: passed to ``CascadeClassifier.detectMultiScale``.

  Returns:
    ``(x, y, w, h)`` ints in full-frame pixels, the largest detection by area,
    or None when no face is found.

  Raises:
    TypeError / ValueError: `frame` is not a uint8 (H, W) or (H, W, 3) array.
  """
  check_frame(frame)
  height, width = frame.shape[:2]
  if near is None:
    x0, y0, x1, y1 = 0, 0, width, height
    scale = min(1.0, detect_width / width)
    min_side, max_side = min_face_frac * min(height, width) * scale, None
  else:
    x, y, w, h = (int(v) for v in near)
    if w <= 0 or h <= 0:
      raise ValueError(f"near: expected a box (x, y, w, h) with w, h > 0, got {near}")
    x0, y0 = max(0, x - w // 2), max(0, y - h // 2)
    x1, y1 = min(width, x + w + w // 2), min(height, y + h + h // 2)
    if x1 <= x0 or y1 <= y0:
      raise ValueError(f"near: box {near} lies outside the {width}x{height} frame")
    scale = min(1.0, NEAR_FACE_PX / max(w, h))
    min_side, max_side = 0.75 * max(w, h) * scale, 1.33 * max(w, h) * scale
  region = frame[y0:y1, x0:x1]
  if scale < 1.0:
    size = (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale)))
    region = cv2.resize(region, size, interpolation=cv2.INTER_AREA)
  gray = to_gray(region)
  min_side = max(24, int(min_side))
  if min_side > min(gray.shape):
    return None
  faces = _cascade(CASCADE_FILE).detectMultiScale(
    gray,
    scaleFactor=scale_factor,
    minNeighbors=min_neighbors,
    minSize=(min_side, min_side),
    maxSize=(int(max_side), int(max_side)) if max_side else (0, 0),
  )
  if len(faces) == 0:
    return None
  fx, fy, fw, fh = max(faces, key=lambda f: int(f[2]) * int(f[3]))
  return (
    x0 + int(round(fx / scale)),
    y0 + int(round(fy / scale)),
    min(int(round(fw / scale)), width),
    min(int(round(fh / scale)), height),
  )
