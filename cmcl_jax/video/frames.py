"""Validation of video frames at the boundary of `cmcl_jax.video`.

Every public function of the package takes frames as NumPy arrays: uint8, either
grayscale ``(H, W)`` or OpenCV BGR ``(H, W, 3)``. This module checks that contract
once, with errors in the caller's terms, and converts to the grayscale image that
face detection and optical flow work on.
"""

from __future__ import annotations

import cv2
import numpy as np


def check_frame(frame: object, *, name: str = "frame") -> np.ndarray:
  """Return `frame` unchanged if it is a uint8 (H, W) or (H, W, 3) BGR array.

  Raises:
    TypeError: `frame` is not a NumPy array or not uint8.
    ValueError: its shape is not (H, W) / (H, W, 3), or it is empty.
  """
  if not isinstance(frame, np.ndarray):
    raise TypeError(f"{name}: expected a NumPy uint8 array, got {type(frame).__name__}")
  if frame.dtype != np.uint8:
    raise TypeError(
      f"{name}: expected dtype uint8 (0..255 pixel values), got {frame.dtype}; "
      "convert with np.clip(x, 0, 255).astype(np.uint8) if it is an image"
    )
  if not (frame.ndim == 2 or (frame.ndim == 3 and frame.shape[2] == 3)):
    raise ValueError(f"{name}: expected shape (H, W) grayscale or (H, W, 3) BGR, got {frame.shape}")
  if frame.shape[0] == 0 or frame.shape[1] == 0:
    raise ValueError(f"{name}: empty image of shape {frame.shape}")
  return frame


def to_gray(frame: np.ndarray, *, name: str = "frame") -> np.ndarray:
  """uint8 (H, W) or (H, W, 3) BGR → uint8 (H, W) grayscale (a view if already gray)."""
  check_frame(frame, name=name)
  if frame.ndim == 2:
    return frame
  return cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)


def resize_gray(gray: np.ndarray, size: tuple[int, int]) -> np.ndarray:
  """Resize a uint8 (h, w) image to `size` = (H, W) pixels, anti-aliased when shrinking.

  Shrinking uses area averaging by the largest integer factor k with h, w >= k·H, k·W
  (OpenCV's fast path for integer factors: the last h mod k rows and w mod k columns
  are dropped), then bilinear interpolation for the remaining factor below 2 — a
  third of the cost of one area resize by a non-integer factor.
  """
  out_h, out_w = size
  if gray.shape == (out_h, out_w):
    return gray
  factor = min(gray.shape[0] // out_h, gray.shape[1] // out_w)
  if factor >= 2:
    rows, cols = gray.shape[0] // factor, gray.shape[1] // factor
    gray = cv2.resize(
      gray[: rows * factor, : cols * factor], (cols, rows), interpolation=cv2.INTER_AREA
    )
  return cv2.resize(gray, (out_w, out_h), interpolation=cv2.INTER_LINEAR)


def check_size(size: object) -> tuple[int, int]:
  """Validate an output size ``(H, W)`` in pixels and return it as ints."""
  if (
    not isinstance(size, (tuple, list))
    or len(size) != 2
    or not all(isinstance(s, (int, np.integer)) and s >= 8 for s in size)
  ):
    raise ValueError(f"size: expected (H, W) with two ints >= 8 pixels, got {size!r}")
  return int(size[0]), int(size[1])
