"""Optical flow: known shifts, real onset→apex pairs, global-motion removal, errors."""

from pathlib import Path

import cv2
import numpy as np
import pytest

from cmcl_jax.video import (
  flow_from_reference,
  flow_magnitude,
  optical_flow,
  subtract_global_motion,
)

FACES = Path(__file__).resolve().parents[1].parent / "shared/fixtures/mecg_real/me_faces"

# Largest error of the median flow vs a known global shift, pixels (measured:
# DIS ≤ 0.15 px, Farneback ≤ 0.05 px on this texture, see docs/signals.md).
SHIFT_TOLERANCE = {"dis": 0.2, "farneback": 0.1}
SHIFTS = [(0.0, 0.0), (0.3, 0.2), (1.5, -0.75), (3.0, 2.0), (-2.0, 4.0)]


def texture(seed=0, side=200):
  """uint8 (side, side) smooth random texture (blob scale ≈ 2 px)."""
  noise = np.random.default_rng(seed).random((side, side)).astype(np.float32)
  blurred = cv2.GaussianBlur(noise, (0, 0), 2.0)
  return cv2.normalize(blurred, None, 0, 255, cv2.NORM_MINMAX)


def shifted(image, dx, dy, crop=128):
  """`image` moved by (dx, dy) px (sub-pixel: bicubic), centre `crop` px, uint8."""
  moved = cv2.warpAffine(
    image,
    np.float32([[1, 0, dx], [0, 1, dy]]),
    image.shape[::-1],
    flags=cv2.INTER_CUBIC,
    borderMode=cv2.BORDER_REFLECT,
  )
  top = (image.shape[0] - crop) // 2
  return np.clip(np.round(moved[top : top + crop, top : top + crop]), 0, 255).astype(np.uint8)


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_known_shift_is_recovered(method):
  image = texture()
  frames = [shifted(image, dx, dy) for dx, dy in SHIFTS]
  flows = flow_from_reference(frames, frames[0], method=method, size=(128, 128))
  assert flows.shape == (len(SHIFTS), 128, 128, 2) and flows.dtype == np.float32
  for (dx, dy), flow in zip(SHIFTS, flows):
    median = np.median(flow[16:-16, 16:-16].reshape(-1, 2), axis=0)
    error = np.abs(median - (dx, dy)).max()
    assert error <= SHIFT_TOLERANCE[method], f"{method} shift {(dx, dy)} → {median}"


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_consecutive_flow_and_global_motion_removal(method):
  image = texture(1)
  frames = [shifted(image, 1.0 * t, -0.5 * t) for t in range(4)]
  flows = optical_flow(frames, method=method, size=(128, 128))
  assert flows.shape == (3, 128, 128, 2)
  inner = flows[:, 16:-16, 16:-16]
  np.testing.assert_allclose(np.median(inner, axis=(1, 2)), [[1.0, -0.5]] * 3, atol=0.2)
  residual = optical_flow(frames, method=method, size=(128, 128), remove_global_motion=True)
  assert np.abs(np.median(residual, axis=(1, 2))).max() < 0.02
  assert flow_magnitude(residual[:, 16:-16, 16:-16]).mean() < 0.15


def test_subtract_global_motion_keeps_local_motion():
  flow = np.zeros((2, 32, 32, 2), np.float32)
  flow[..., 0] = 2.0  # head moves right by 2 px
  flow[:, 8:12, 8:12, 1] += 1.5  # a brow moves down
  local = subtract_global_motion(flow)
  assert np.allclose(local[:, 8:12, 8:12], [0.0, 1.5])
  assert np.count_nonzero(flow_magnitude(local)) == 2 * 16
  assert flow_magnitude(local).shape == (2, 32, 32)


@pytest.mark.parametrize("method", ["dis", "farneback"])
def test_real_onset_to_apex_moves_more_than_sensor_noise(method):
  if not FACES.is_dir():
    pytest.skip(f"real MECG face crops not found at {FACES} (shared fixtures absent)")
  rng = np.random.default_rng(0)
  pairs = sorted(FACES.iterdir())
  assert pairs, f"{FACES} is empty"
  for sample in pairs:
    onset = cv2.imread(str(sample / "onset.png"), cv2.IMREAD_GRAYSCALE)
    apex = cv2.imread(str(sample / "apex.png"), cv2.IMREAD_GRAYSCALE)
    noisy = np.clip(onset + rng.normal(0.0, 3.0, onset.shape), 0, 255).astype(np.uint8)
    flows = flow_from_reference([apex, noisy], onset, method=method, remove_global_motion=True)
    expression, noise = flow_magnitude(flows).mean(axis=(1, 2))
    assert expression > noise, f"{sample.name}: apex {expression:.3f} ≤ noise {noise:.3f}"


def test_bad_input_errors():
  frame = np.zeros((64, 64), np.uint8)
  with pytest.raises(ValueError, match="method"):
    optical_flow([frame, frame], method="lucas-kanade")
  with pytest.raises(ValueError, match="at least 2"):
    optical_flow([frame])
  with pytest.raises(ValueError, match="size"):
    optical_flow([frame, frame], size=(128,))
  with pytest.raises(TypeError, match="frame 1: expected dtype uint8"):
    optical_flow([frame, frame.astype(np.float32)])
  with pytest.raises(TypeError, match="reference"):
    flow_from_reference([frame], frame.astype(np.int16))
  with pytest.raises(ValueError, match=r"\(\.\.\., H, W, 2\)"):
    flow_magnitude(np.zeros((8, 8, 3), np.float32))
