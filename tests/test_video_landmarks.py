"""dlib landmarks and the baselines' landmark regions: real MECG face crops, real dlib."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from cmcl_jax.video import LandmarkModelError, detect_landmarks
from cmcl_jax.video import landmark_rois as rois

FACES = Path(__file__).resolve().parents[1].parent / "shared/fixtures/mecg_real/me_faces"


@pytest.fixture(scope="module")
def crops():
  """label → uint8 (256, 256, 3) BGR onset and apex crops of the 13 real MEs."""
  if not FACES.is_dir():
    pytest.skip(f"real MECG face crops not found at {FACES} (shared fixtures absent)")
  paths = sorted(FACES.glob("*/onset.png")) + sorted(FACES.glob("*/apex.png"))
  assert len(paths) == 26, f"{FACES}: expected 13 samples × onset.png, apex.png; got {len(paths)}"
  # Keyed by position: the folder names hold the subjects' names (keep them out of logs).
  return {f"crop {i} ({p.stem})": cv2.imread(str(p), cv2.IMREAD_COLOR) for i, p in enumerate(paths)}


def centre(points, indices):
  return points[list(indices)].mean(axis=0)


def test_landmarks_and_regions_on_every_real_crop(crops):
  for name, image in crops.items():
    points = detect_landmarks(image)
    assert points is not None, f"no face in {name}"
    assert points.shape == (68, 2) and points.dtype == np.float32
    # Brows, eyes, nose and mouth lie inside the 256×256 crop; the crops are tight
    # around the face, so the jaw line may touch or cross the edge by a pixel or two.
    assert ((points[17:] >= 0) & (points[17:] < 256)).all(), name
    assert ((points >= -3) & (points < 259)).all(), name
    left_eye, right_eye = centre(points, range(36, 42)), centre(points, range(42, 48))
    mouth, nose_tip = centre(points, range(48, 68)), points[30]
    assert left_eye[0] + 60 < right_eye[0], name  # image-left eye first, ~100 px apart
    assert max(left_eye[1], right_eye[1]) < nose_tip[1] < mouth[1], name
    assert centre(points, range(17, 22))[1] < left_eye[1], name
    assert points[48, 0] < points[54, 0], name  # mouth corners, image-left first

    boxes = rois.region_boxes(points, image.shape)
    assert tuple(boxes) == rois.LANDMARK_REGIONS
    for region, (x0, y0, x1, y1) in boxes.items():
      assert 0 <= x0 < x1 <= 256 and 0 <= y0 < y1 <= 256, (name, region)
    assert boxes[rois.LEFT_EYE][2] < boxes[rois.RIGHT_EYE][2], name
    assert boxes[rois.LEFT_EYEBROW][0] < boxes[rois.RIGHT_EYEBROW][0], name
    assert boxes[rois.NOSE][3] < boxes[rois.MOUTH][3], name
    mask = rois.eye_mask(points, image.shape)
    x, y = np.round(left_eye).astype(int)
    assert mask.shape == (256, 256) and mask[y, x], name
    x, y = np.round(nose_tip).astype(int)
    assert not mask[y, x] and 0.05 < mask.mean() < 0.2, name
    x0, y0, x1, y1 = rois.face_crop_box(points, image.shape)
    assert x0 < left_eye[0] < right_eye[0] < x1 and y0 < points[19, 1] and mouth[1] < y1, name


def test_gray_and_bgr_give_the_same_points(crops):
  image = next(iter(crops.values()))
  gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
  np.testing.assert_array_equal(detect_landmarks(gray), detect_landmarks(image))


def test_small_face_in_a_large_frame_is_found_by_upsampling(crops):
  # Faces ≈ 40 px wide (crops shrunk to 48 px) are below dlib's 80-px HOG window: no
  # upsampling misses them, the automatic policy retries at 2× and finds them.
  side, x, y = 48, 100, 300
  for name, image in list(crops.items())[::7]:
    full = detect_landmarks(image)
    canvas = np.full((512, 512, 3), 128, np.uint8)
    canvas[y : y + side, x : x + side] = cv2.resize(
      image, (side, side), interpolation=cv2.INTER_AREA
    )
    assert detect_landmarks(canvas, upsample=0) is None, name
    points = detect_landmarks(canvas)
    assert points is not None, name
    # The same face at 48/256 scale: points agree with the scaled full-size ones.
    error = np.linalg.norm(points - (full * side / 256 + (x, y)), axis=1)
    assert np.median(error) < 1.5 and error.max() < 6, name


def test_no_face_returns_none():
  rng = np.random.default_rng(0)
  assert detect_landmarks(np.full((240, 320), 128, np.uint8)) is None
  assert detect_landmarks(rng.integers(0, 256, (240, 320, 3), dtype=np.uint8)) is None


@pytest.mark.parametrize(
  "frame, kwargs, match",
  [
    (np.zeros((64, 64), np.float32), {}, "uint8"),
    (np.zeros((64, 64, 4), np.uint8), {}, r"\(H, W, 3\)"),
    (np.zeros((0, 64), np.uint8), {}, "empty"),
    ([[0, 1], [2, 3]], {}, "NumPy"),
    (np.zeros((64, 64), np.uint8), {"upsample": -1}, "upsample"),
    (np.zeros((64, 64), np.uint8), {"upsample": 1.0}, "upsample"),
  ],
)
def test_bad_input_errors(frame, kwargs, match):
  with pytest.raises(ValueError, match=match):
    detect_landmarks(frame, **kwargs)


def test_missing_or_unreadable_model_file(tmp_path, monkeypatch):
  frame = np.zeros((64, 64), np.uint8)
  bogus = tmp_path / "no_such_model.dat"
  with pytest.raises(LandmarkModelError, match="no_such_model.dat.*pip install face-recognition"):
    detect_landmarks(frame, model_path=bogus)
  monkeypatch.setenv("CMCL_LANDMARK_MODEL", str(bogus))
  with pytest.raises(LandmarkModelError, match=r"no_such_model.dat \(from \$CMCL_LANDMARK_MODEL\)"):
    detect_landmarks(frame)
  garbage = tmp_path / "garbage.dat"
  garbage.write_bytes(b"not a model")
  with pytest.raises(LandmarkModelError, match="garbage.dat: not a dlib shape predictor"):
    detect_landmarks(frame, model_path=garbage)


def test_regions_reproduce_softnet_pixels_on_a_128_px_crop(crops):
  image = cv2.resize(next(iter(crops.values())), (128, 128), interpolation=cv2.INTER_AREA)
  p = detect_landmarks(image).astype(int)
  boxes = rois.region_boxes(p, image.shape, face_px=128)

  def clip(x0, y0, x1, y1):
    return max(x0, 0), max(y0, 0), min(x1, 128), min(y1, 128)

  # SOFTNet's extraction_preprocess.py: 12-px margins, eyebrow boxes down to the
  # lower eyelid, mouth from the inner lip corners, an 11×11 nose patch at point 28.
  assert boxes[rois.LEFT_EYEBROW] == clip(
    p[17, 0] - 12, p[19, 1] - 12, p[21, 0] + 12, p[41, 1] + 12
  )
  assert boxes[rois.RIGHT_EYEBROW] == clip(
    p[22, 0] - 12, p[24, 1] - 12, p[26, 0] + 12, p[46, 1] + 12
  )
  assert boxes[rois.MOUTH] == clip(p[60, 0] - 12, p[50, 1] - 12, p[64, 0] + 12, p[57, 1] + 12)
  assert boxes[rois.NOSE] == (p[28, 0] - 5, p[28, 1] - 5, p[28, 0] + 6, p[28, 1] + 6)
  # Eye mask: the eye polygon with corners pushed ±15 px in x and lids ±15 px in y.
  push = np.array([(-15, 0), (0, -15), (0, -15), (15, 0), (0, 15), (0, 15)])
  expected = np.zeros((128, 128), np.uint8)
  cv2.fillPoly(expected, [p[36:42] + push, p[42:48] + push], 1)
  np.testing.assert_array_equal(rois.eye_mask(p, image.shape, face_px=128), expected.astype(bool))


def test_regions_are_clipped_to_the_frame_and_validated(crops):
  points = detect_landmarks(next(iter(crops.values())))
  shifted = points - (150, 0)  # the image-left half of the face is outside the frame
  boxes = rois.region_boxes(shifted, (256, 256))
  x0, y0, x1, y1 = boxes[rois.LEFT_EYE]
  assert x0 == x1 == 0 and y0 < y1  # empty, not negative
  assert boxes[rois.RIGHT_EYE][0] >= 0 and boxes[rois.RIGHT_EYE][0] < boxes[rois.RIGHT_EYE][2]
  with pytest.raises(ValueError, match=r"landmarks: expected a finite \(68, 2\)"):
    rois.region_boxes(points[:5], (256, 256))
  with pytest.raises(ValueError, match="region: expected one of"):
    rois.region_box(points, "forehead", (256, 256))
  with pytest.raises(ValueError, match="frame_shape"):
    rois.eye_mask(points, (256,))
