"""SOFTNet features: strain with known answers, head motion, eye mask, the authors' recipe."""

import cv2
import numpy as np
import pandas as pd
import pytest

from cmcl_jax.baselines import softnet_features as sf

# A frontal face on a 128-px crop, iBUG-68 order, integer (x, y) pixels (jaw width 108).
_JAW = [(64 - 54 * np.cos(np.pi * i / 16), 45 + 65 * np.sin(np.pi * i / 16)) for i in range(17)]
_REST = [
  (22, 34),
  (30, 31),
  (38, 30),
  (46, 31),
  (54, 34),  # left eyebrow 17–21
  (74, 34),
  (82, 31),
  (90, 30),
  (98, 31),
  (106, 34),  # right eyebrow 22–26
  (64, 45),
  (64, 54),
  (64, 62),
  (64, 70),  # nose bridge 27–30
  (54, 76),
  (59, 78),
  (64, 79),
  (69, 78),
  (74, 76),  # nostrils 31–35
  (28, 50),
  (34, 46),
  (42, 46),
  (48, 50),
  (42, 53),
  (34, 53),  # left eye 36–41
  (80, 50),
  (86, 46),
  (94, 46),
  (100, 50),
  (94, 53),
  (86, 53),  # right eye 42–47
  (46, 95),
  (52, 91),
  (58, 89),
  (64, 90),
  (70, 89),
  (76, 91),  # outer lips 48–53
  (82, 95),
  (76, 100),
  (70, 102),
  (64, 103),
  (58, 102),
  (52, 100),  # 54–59
  (50, 95),
  (58, 93),
  (64, 93),
  (70, 93),
  (78, 95),
  (70, 97),
  (64, 98),
  (58, 97),  # 60–67
]
FACE = np.round(np.array(_JAW + _REST, np.float64)).astype(np.int64)


def texture(seed=0, side=128):
  """uint8 (side, side) smooth random texture."""
  noise = np.random.default_rng(seed).random((side, side)).astype(np.float32)
  return cv2.normalize(cv2.GaussianBlur(noise, (0, 0), 2.0), None, 0, 255, cv2.NORM_MINMAX).astype(
    np.uint8
  )


def authors_strain(u, v):
  """The authors' computeStrain: pandas shifts, then forward fill along x and y."""
  u_x = u - pd.DataFrame(u).shift(-1, axis=1)
  v_y = v - pd.DataFrame(v).shift(-1, axis=0)
  u_y = u - pd.DataFrame(u).shift(-1, axis=0)
  v_x = v - pd.DataFrame(v).shift(-1, axis=1)
  return np.array(np.sqrt(u_x**2 + v_y**2 + 0.5 * (u_y + v_x) ** 2).ffill(axis=1).ffill(axis=0))


def authors_features(flow, p):
  """The authors' steps 2–5 on a 128-px crop with integer landmarks `p`."""
  u, v = flow[..., 0].astype(np.float64), flow[..., 1].astype(np.float64)
  final = np.stack([u, v, authors_strain(u, v)], axis=-1)
  x, y = p[28]
  nose = final[y - 5 : y + 6, x - 5 : x + 6].reshape(-1, 3).mean(axis=0)
  final[..., 0], final[..., 1] = abs(final[..., 0] - nose[0]), abs(final[..., 1] - nose[1])
  final[..., 2] -= nose[2]
  for eye in (range(36, 42), range(42, 48)):
    a, b, c, d, e, f = (p[i] for i in eye)
    polygon = [
      (max(a[0] - 15, 0), a[1]), (b[0], max(b[1] - 15, 0)), (c[0], max(c[1] - 15, 0)),
      (min(d[0] + 15, 128), d[1]), (e[0], min(e[1] + 15, 128)), (f[0], min(f[1] + 15, 128)),
    ]  # fmt: skip
    cv2.fillPoly(final, [np.array(polygon, np.int32)], 0)
  top = min(max(p[19, 1] - 12, 0), max(p[24, 1] - 12, 0))
  bottom = max(min(p[41, 1] + 12, 128), min(p[46, 1] + 12, 128))
  brows = final[top:bottom, max(p[17, 0] - 12, 0) : min(p[26, 0] + 12, 128)]
  mouth = final[p[50, 1] - 12 : p[57, 1] + 12, p[60, 0] - 12 : p[64, 0] + 12]
  return np.concatenate([cv2.resize(brows, (42, 21)), cv2.resize(mouth, (42, 21))], axis=0)


def test_strain_known_answers_and_the_authors_formula():
  ys, xs = np.mgrid[0:32, 0:40].astype(np.float64)
  translation = np.stack([np.full_like(xs, 1.7), np.full_like(xs, -0.4)], axis=-1)
  np.testing.assert_allclose(sf.optical_strain(translation), 0, atol=1e-6)
  stretch = np.stack([0.03 * xs, -0.02 * ys], axis=-1)  # u = a·x, v = b·y
  np.testing.assert_allclose(sf.optical_strain(stretch), np.hypot(0.03, 0.02), rtol=1e-5)
  shear = np.stack([0.05 * ys, np.zeros_like(xs)], axis=-1)  # u = s·y: ε = |s| / √2
  np.testing.assert_allclose(sf.optical_strain(shear), 0.05 / np.sqrt(2), rtol=1e-5)
  rotation = np.stack([-0.01 * ys, 0.01 * xs], axis=-1)  # rigid: u_y + v_x = 0
  np.testing.assert_allclose(sf.optical_strain(rotation), 0, atol=1e-6)
  field = np.random.default_rng(0).normal(size=(20, 24, 2))
  np.testing.assert_allclose(
    sf.optical_strain(field), authors_strain(field[..., 0], field[..., 1]), rtol=1e-6
  )
  with pytest.raises(ValueError, match=r"flow: expected \(H, W, 2\)"):
    sf.optical_strain(field[..., 0])


def test_features_follow_the_authors_recipe_on_a_128_px_crop():
  rng = np.random.default_rng(1)
  flow = cv2.GaussianBlur(rng.normal(size=(128, 128, 2)).astype(np.float32), (0, 0), 3.0)
  regions = sf.softnet_regions(FACE, (128, 128), face_px=128)
  ours = sf.flow_features(flow, regions)
  assert ours.shape == (42, 42, 3) and ours.dtype == np.float32
  np.testing.assert_allclose(ours, authors_features(flow, FACE), atol=1e-5)


def test_nose_patch_removes_a_global_shift_and_keeps_local_motion():
  regions = sf.softnet_regions(FACE, (128, 128), face_px=128)
  flow = np.zeros((128, 128, 2), np.float32) + (1.5, -0.7)
  flow[90:100, 55:75] += (0.0, 0.8)  # a lip movement on top of the head's shift
  fields = np.concatenate([flow, sf.optical_strain(flow)[..., None]], axis=-1)
  out = sf.remove_head_motion(fields, regions.nose)
  still = np.ones((128, 128), bool)
  still[89:101, 54:76] = False
  np.testing.assert_allclose(out[still], 0, atol=1e-6)
  np.testing.assert_allclose(out[92:98, 57:73, 1], 0.8, atol=1e-6)
  assert (out[..., :2] >= 0).all()  # u, v are magnitudes after the subtraction


def test_eye_mask_zeroes_the_eyes_only():
  regions = sf.softnet_regions(FACE, (128, 128), face_px=128)
  image = sf.roi_image(np.ones((128, 128, 3), np.float32), regions)
  x0, y0, x1, y1 = regions.eyebrows  # (10, 18, 118, 65)
  for eye in (range(36, 42), range(42, 48)):
    x, y = FACE[list(eye)].mean(axis=0)  # the eye's centre, in the band's 42 × 21 pixels:
    row, col = int((y - y0) * 21 / (y1 - y0)), int((x - x0) * 42 / (x1 - x0))
    assert (image[row, col] == 0).all()
  assert (image[0, 18:24] == 1).all()  # the brows' top rows, above the masked lids
  assert (image[21:] == 1).all()  # nothing of the mouth is masked


def test_video_of_a_global_translation_gives_near_zero_features():
  base = texture(seed=2, side=160)
  k = 3
  frames = [
    cv2.warpAffine(base, np.float32([[1, 0, 0.5 * t], [0, 1, 0.25 * t]]), (160, 160))[
      16:144, 16:144
    ]
    for t in range(k + 2)
  ]
  features = sf.frame_features(np.stack(frames), FACE, k=k, method="dis", face_px=128)
  assert features.shape == (2, 42, 42, 3) and features.dtype == np.float32
  # A (1.5, 0.75) px head shift between the crops of a pair: what is left is flow error.
  assert np.median(features[..., :2]) < 0.1 and np.abs(np.median(features[..., 2])) < 0.02
  normalized = sf.normalize(features)
  assert normalized.min() == 0 and normalized.max() == 1


def test_landmarks_scale_with_the_crop_and_inputs_are_checked():
  frames = np.stack([texture(seed=s, side=256) for s in range(3)])
  big = sf.frame_features(frames, FACE * 2, k=2, face_px=256)
  small = sf.frame_features(
    [cv2.resize(f, (128, 128), interpolation=cv2.INTER_AREA) for f in frames],
    FACE,
    k=2,
    face_px=128,
  )
  assert big.shape == small.shape == (1, 42, 42, 3)
  np.testing.assert_allclose(big, small, atol=1e-6)  # both become the same 128-px crops
  with pytest.raises(ValueError, match=r"need at least k \+ 1 = 4 crops"):
    sf.frame_features(frames, FACE * 2, k=3)
  with pytest.raises(ValueError, match="k: expected an int >= 1"):
    sf.frame_features(frames, FACE * 2, k=0)
  with pytest.raises(ValueError, match="frame 1: shape"):
    sf.frame_features([frames[0], frames[1, :200], frames[2]], FACE * 2, k=1)
  with pytest.raises(ValueError, match="the SOFTNet eyebrows region .* is empty"):
    sf.frame_features(frames, FACE * 2 - (0, 300), k=1)
  with pytest.raises(ValueError, match="flow method: expected one of"):
    sf.flow_engine("lucas-kanade")
  with pytest.raises(ValueError, match=r"features: expected \(\.\.\., H, W, 3\)"):
    sf.normalize(np.zeros((42, 42, 2)))
  assert (sf.normalize(np.full((1, 42, 42, 3), 5.0)) == 0).all()  # OpenCV's NORM_MINMAX


def test_tvl1_needs_opencv_contrib():
  if hasattr(cv2, "optflow"):
    flow = sf.flow_engine("tvl1")(texture(3), texture(3))
    assert flow.shape == (128, 128, 2) and np.abs(flow).max() < 0.05
  else:
    with pytest.raises(ValueError, match="install opencv-contrib-python-headless"):
      sf.flow_engine("tvl1")
