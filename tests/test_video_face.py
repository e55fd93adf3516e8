"""Face detection: real MECG face crops, empty frames, bad input."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from cmcl_jax.video import detect_face

FACES = Path(__file__).resolve().parents[1].parent / "shared/fixtures/mecg_real/me_faces"


def real_face_images():
  if not FACES.is_dir():
    pytest.skip(f"real MECG face crops not found at {FACES} (shared fixtures absent)")
  paths = sorted(FACES.glob("*/onset.png")) + sorted(FACES.glob("*/apex.png"))
  assert paths, f"{FACES} holds no */onset.png or */apex.png"
  return paths


def test_face_found_in_every_real_crop():
  for path in real_face_images():
    image = cv2.imread(str(path), cv2.IMREAD_COLOR)
    box = detect_face(image)
    assert box is not None, f"no face in {path.parent.name}/{path.name}"
    x, y, w, h = box
    # The crops are 256x256 and the face fills most of them.
    assert 0 <= x and 0 <= y and x + w <= 256 and y + h <= 256
    assert w >= 150 and h >= 150


def test_gray_and_bgr_give_the_same_box_scaled_back_to_full_frame():
  path = real_face_images()[0]
  bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
  big = cv2.resize(bgr, (768, 768), interpolation=cv2.INTER_LINEAR)
  gray_box = detect_face(cv2.cvtColor(big, cv2.COLOR_BGR2GRAY))
  bgr_box = detect_face(big)
  assert gray_box == bgr_box
  # Detection ran on a 320 px copy; the box is in 768 px coordinates.
  assert bgr_box[2] > 400


def test_no_face_returns_none():
  rng = np.random.default_rng(0)
  assert detect_face(np.full((240, 320), 128, np.uint8)) is None
  assert detect_face(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)) is None
  assert detect_face(np.zeros((10, 10), np.uint8)) is None  # smaller than the cascade


@pytest.mark.parametrize(
  "frame, error, match",
  [
    (np.zeros((64, 64), np.float32), TypeError, "uint8"),
    (np.zeros((64, 64, 4), np.uint8), ValueError, r"\(H, W, 3\)"),
    (np.zeros((2, 64, 64, 3), np.uint8), ValueError, "shape"),
    (np.zeros((0, 64), np.uint8), ValueError, "empty"),
    ([[0, 1], [2, 3]], TypeError, "NumPy"),
  ],
)
def test_bad_frame_errors(frame, error, match):
  with pytest.raises(error, match=match):
    detect_face(frame)


def test_local_scan_near_the_last_box_finds_the_face_and_ignores_the_rest():
  face = cv2.imread(str(real_face_images()[0]), cv2.IMREAD_GRAYSCALE)
  canvas = np.full((480, 1280), 100, np.uint8)
  canvas[100:356, 100:356] = face
  canvas[100:356, 900:1156] = face  # a second face, far from the first
  x, y, w, h = detect_face(canvas, near=(110, 110, 216, 216))
  # The crop alone gives ~(10, 6, 221, 221); on a flat canvas its hard edges make the
  # cascade's box somewhat larger, so compare by overlap with the pasted face.
  overlap = max(0, min(x + w, 331) - max(x, 110)) * max(0, min(y + h, 327) - max(y, 106))
  assert overlap / (w * h + 221 * 221 - overlap) >= 0.6
  assert detect_face(canvas, near=(300, 0, 50, 50)) is None  # searched region: no face
  with pytest.raises(ValueError, match="outside"):
    detect_face(canvas, near=(2000, 0, 50, 50))
