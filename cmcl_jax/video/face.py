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
    detect_width: int = 240,
    min_face_frac: float = 0.25,
    scale_factor: float = 1.1,
    min_neighbors: int = 4,
) -> Box | None:
    """Find the largest frontal face in one frame.

    The frame is shrunk to at most `detect_width` pixels wide, converted to gray
    and scanned with the Haar cascade. Detection cost grows with the pixel count
    and the range of face sizes searched; in ME recordings the face is large
    (MECG: about half the frame height), hence the small defaults.

    Args:
      frame: uint8 (H, W) grayscale or (H, W, 3) BGR.
      detect_width: width in pixels the frame is shrunk to before detection.
      min_face_frac: smallest face side accepted, as a fraction of min(H, W).
      scale_factor, min_neighbors: passed to ``CascadeClassifier.detectMultiScale``.

    Returns:
      ``(x, y, w, h)`` ints in full-frame pixels, the largest detection by area,
      or None when no face is found.

    Raises:
      TypeError / ValueError: `frame` is not a uint8 (H, W) or (H, W, 3) array.
    """
    check_frame(frame)
    height, width = frame.shape[:2]
    scale = min(1.0, detect_width / width)
    small = frame
    if scale < 1.0:
        small_size = (max(1, round(width * scale)), max(1, round(height * scale)))
        small = cv2.resize(frame, small_size, interpolation=cv2.INTER_AREA)
    gray = to_gray(small)
    min_side = max(24, int(min_face_frac * min(gray.shape)))
    if min_side > min(gray.shape):
        return None
    faces = _cascade(CASCADE_FILE).detectMultiScale(
        gray, scaleFactor=scale_factor, minNeighbors=min_neighbors, minSize=(min_side, min_side)
    )
    if len(faces) == 0:
        return None
    x, y, w, h = max(faces, key=lambda f: int(f[2]) * int(f[3]))
    return (
        int(round(x / scale)),
        int(round(y / scale)),
        min(int(round(w / scale)), width),
        min(int(round(h / scale)), height),
    )
