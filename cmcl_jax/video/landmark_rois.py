"""Facial regions of the video-only baselines from dlib's 68 landmarks (pure NumPy).

Input everywhere: (68, 2) landmarks, (x, y) full-frame pixels in iBUG-68 order, as
`cmcl_jax.video.detect_landmarks` returns them. "Left" and "right" are as seen in the
image (image-left is the subject's right side), as in SOFTNet's code.

Regions, after SOFTNet (Liong et al. 2021, genbing99/SoftNet-SpotME,
``extraction_preprocess.py``), which works on a 128×128 face crop and uses margins of
12 px (eyebrows, mouth), 15 px (eyes) and an 11×11 px nose patch. Here margins are
fractions of the face size `face_px` (12/128, 15/128, 5/128), so the same regions come
out at any resolution; ``face_px=128`` on a 128-px crop gives SOFTNet's pixels exactly.

=============  ==============================  =================================
region         landmarks (x0, y0, x1, y1)      margin (fraction of `face_px`)
=============  ==============================  =================================
left_eyebrow   17, 19, 21, 41 (lower eyelid)   12/128; includes the eye below
right_eyebrow  22, 24, 26, 46 (lower eyelid)   12/128; includes the eye below
left_eye       36, 37–38, 39, 40–41            15/128 (as SOFTNet's eye mask)
right_eye      42, 43–44, 45, 46–47            15/128 (as SOFTNet's eye mask)
mouth          60, 50, 64, 57                  12/128
nose           centre 28 (nose bridge)         square of side 2·round(5/128·face_px)+1
=============  ==============================  =================================

A box's x0 is the smallest x of its first landmark group minus the margin, y0 the
smallest y of the second, x1 and y1 the largest x, y of the third and fourth plus it.

SOFTNet crops each video with dlib's HOG box of its first frame (resized to 128×128)
and places these regions once per video, from the landmarks of its first frame with
a face. Its network input stacks two regions, each resized to 42 wide × 21 high: the
eyebrow band (rows from the higher eyebrow box top to the lower eyebrow box bottom,
columns from ``left_eyebrow`` x0 to ``right_eyebrow`` x1) over the mouth box, after
zeroing the eyes (`eye_mask`) and subtracting the mean flow of the ``nose`` patch
(head motion).

The MEGC 2020 baseline (MDMD, He et al. 2020, HeyingGithub/Baseline-project-for-
MEGC2020_spotting) uses landmarks only for its face crop (`face_crop_box`), then
splits the crop into 6×6 equal blocks without landmark regions.
"""

from __future__ import annotations

import cv2
import numpy as np

from cmcl_jax.video.landmarks import NUM_LANDMARKS

LEFT_EYEBROW = "left_eyebrow"
RIGHT_EYEBROW = "right_eyebrow"
LEFT_EYE = "left_eye"
RIGHT_EYE = "right_eye"
MOUTH = "mouth"
NOSE = "nose"
LANDMARK_REGIONS = (LEFT_EYEBROW, RIGHT_EYEBROW, LEFT_EYE, RIGHT_EYE, MOUTH, NOSE)

# SOFTNet's margins on its 128-px face crop, as fractions of the face size.
SOFTNET_FACE_PX = 128
BOX_MARGIN = 12 / SOFTNET_FACE_PX
EYE_MARGIN = 15 / SOFTNET_FACE_PX
NOSE_HALF_SIDE = 5 / SOFTNET_FACE_PX
NOSE_POINT = 28

# Per region: the landmarks whose min x, min y, max x, max y bound the box, and its
# margin.
_EXTENTS = {
  LEFT_EYEBROW: ((17,), (19,), (21,), (41,), BOX_MARGIN),
  RIGHT_EYEBROW: ((22,), (24,), (26,), (46,), BOX_MARGIN),
  LEFT_EYE: ((36,), (37, 38), (39,), (40, 41), EYE_MARGIN),
  RIGHT_EYE: ((42,), (43, 44), (45,), (46, 47), EYE_MARGIN),
  MOUTH: ((60,), (50,), (64,), (57,), BOX_MARGIN),
}

# Eye polygons of the mask: the six eye points (corner, two upper-lid points, corner,
# two lower-lid points) each pushed outward by the eye margin along this direction.
_EYES = (tuple(range(36, 42)), tuple(range(42, 48)))
_EYE_PUSH = np.array([(-1, 0), (0, -1), (0, -1), (1, 0), (0, 1), (0, 1)], np.float32)

Box = tuple[int, int, int, int]
"""A region ``(x0, y0, x1, y1)``, ints, full-frame pixels; x1, y1 exclusive, so the
region is ``frame[y0:y1, x0:x1]``; clipped to the frame (empty where the region lies
outside it)."""


def check_landmarks(landmarks: object) -> np.ndarray:
  """Return `landmarks` as (68, 2) float64 if it is a finite (68, 2) array of (x, y)."""
  points = np.asarray(landmarks, dtype=np.float64)
  if points.shape != (NUM_LANDMARKS, 2) or not np.isfinite(points).all():
    raise ValueError(
      f"landmarks: expected a finite (68, 2) array of (x, y) pixels in iBUG-68 order, "
      f"got shape {points.shape}"
    )
  return points


def _frame_size(frame_shape: object) -> tuple[int, int]:
  """(H, W) from a frame's shape (H, W) or (H, W, C)."""
  if (
    not isinstance(frame_shape, (tuple, list))
    or len(frame_shape) not in (2, 3)
    or not all(isinstance(s, (int, np.integer)) and s > 0 for s in frame_shape[:2])
  ):
    raise ValueError(
      f"frame_shape: expected (H, W) or (H, W, C) positive ints, got {frame_shape!r}"
    )
  return int(frame_shape[0]), int(frame_shape[1])


def _clip(x0: float, y0: float, x1: float, y1: float, height: int, width: int) -> Box:
  """Outward-rounded box clipped to the frame, x0 <= x1 and y0 <= y1."""
  cx0, cx1 = (int(np.clip(v, 0, width)) for v in (np.floor(x0), np.ceil(x1)))
  cy0, cy1 = (int(np.clip(v, 0, height)) for v in (np.floor(y0), np.ceil(y1)))
  return cx0, cy0, max(cx0, cx1), max(cy0, cy1)


def face_size_px(landmarks: np.ndarray) -> float:
  """Face size the margins scale with: the jaw width |p16 − p0|, pixels.

  On the 26 MECG face crops (256×256) it is 1.04× dlib's HOG face box side (median;
  0.81–1.08), the box SOFTNet resizes to 128 px; so by default the margins come out
  ≈ 4 % wider than SOFTNet's.
  """
  points = check_landmarks(landmarks)
  return float(np.linalg.norm(points[16] - points[0]))


def region_box(
  landmarks: np.ndarray,
  region: str,
  frame_shape: tuple[int, ...],
  *,
  face_px: float | None = None,
) -> Box:
  """One region's box (see the module docstring for landmarks and margins).

  Args:
    landmarks: (68, 2) (x, y) pixels, iBUG-68 order.
    region: one of `LANDMARK_REGIONS`.
    frame_shape: the frame's shape, (H, W) or (H, W, C); boxes are clipped to it.
    face_px: face size in pixels the margins are fractions of; default
      `face_size_px(landmarks)`. 128 on a SOFTNet 128-px face crop.

  Returns:
    ``(x0, y0, x1, y1)`` ints, x1 and y1 exclusive, inside the frame.
  """
  points = check_landmarks(landmarks)
  height, width = _frame_size(frame_shape)
  scale = face_size_px(points) if face_px is None else float(face_px)
  if not scale > 0:
    raise ValueError(f"face_px: expected a face size > 0 pixels, got {face_px!r}")
  if region == NOSE:
    half = round(NOSE_HALF_SIDE * scale)
    x, y = np.round(points[NOSE_POINT])
    return _clip(x - half, y - half, x + half + 1, y + half + 1, height, width)
  if region not in _EXTENTS:
    raise ValueError(f"region: expected one of {LANDMARK_REGIONS}, got {region!r}")
  left, top, right, bottom, margin = _EXTENTS[region]
  m = margin * scale
  return _clip(
    points[list(left), 0].min() - m,
    points[list(top), 1].min() - m,
    points[list(right), 0].max() + m,
    points[list(bottom), 1].max() + m,
    height,
    width,
  )


def region_boxes(
  landmarks: np.ndarray, frame_shape: tuple[int, ...], *, face_px: float | None = None
) -> dict[str, Box]:
  """`region_box` of every region in `LANDMARK_REGIONS`, keyed by region name."""
  return {r: region_box(landmarks, r, frame_shape, face_px=face_px) for r in LANDMARK_REGIONS}


def eye_mask(
  landmarks: np.ndarray, frame_shape: tuple[int, ...], *, face_px: float | None = None
) -> np.ndarray:
  """Where SOFTNet zeroes its flow features: both eyes, grown by the eye margin.

  Each eye is the polygon of its six landmarks (36–41, 42–47), the corners pushed
  outward horizontally and the lid points vertically by 15/128 × `face_px` (SOFTNet:
  15 px on its 128-px crop): blinks and eye movements are not expressions.

  Args:
    landmarks: (68, 2) (x, y) pixels, iBUG-68 order.
    frame_shape: (H, W) or (H, W, C) of the frame (or flow field) to mask.
    face_px: face size in pixels; default `face_size_px(landmarks)`.

  Returns:
    (H, W) bool, True inside the two eye polygons.
  """
  points = check_landmarks(landmarks)
  height, width = _frame_size(frame_shape)
  scale = face_size_px(points) if face_px is None else float(face_px)
  polygons = [
    np.round(points[list(eye)] + EYE_MARGIN * scale * _EYE_PUSH).astype(np.int32) for eye in _EYES
  ]
  mask = np.zeros((height, width), np.uint8)
  cv2.fillPoly(mask, polygons, 1)
  return mask.astype(bool)


def face_crop_box(landmarks: np.ndarray, frame_shape: tuple[int, ...]) -> Box:
  """The MEGC 2020 baseline's (MDMD's) face crop from one frame's landmarks.

  The bounding box of all 68 points, its top raised by the eyebrow-to-eye height
  y36 − y18 so the forehead is in; the baseline computes it on a video's first
  frame, crops every frame with it and resizes to 227×227. (The baseline also
  re-detects on the crop and keeps the higher of the two bottom rows; on a frontal
  face that moves the bottom by a pixel or two.) The extreme points' own pixels are
  included here.

  Returns:
    ``(x0, y0, x1, y1)`` ints, x1 and y1 exclusive, inside the frame.
  """
  points = check_landmarks(landmarks)
  height, width = _frame_size(frame_shape)
  x0, y0 = points.min(axis=0)
  x1, y1 = points.max(axis=0) + 1
  return _clip(x0, y0 - (points[36, 1] - points[18, 1]), x1, y1, height, width)
