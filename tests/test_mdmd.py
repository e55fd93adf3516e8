"""MDMD (the MEGC 2020 baseline): block features, threshold and interval rule, constants.

Synthetic face crops: a smooth random texture (120×120, 6×6 blocks of 20 px), k = 6
frames; a local movement shifts one block's texture by (2, 1) px for frames 20–24 and
puts it back, as an expression that rises and falls within k frames.
"""

import math

import cv2
import numpy as np
import pytest

from cmcl_jax.baselines import mdmd
from cmcl_jax.baselines import mdmd_features as features

SIDE, BLOCK, K, NUM_FRAMES = 120, 20, 6, 48
MOVING = range(20, 25)  # frames of the movement, 5 < k
SHIFT = (2.0, 1.0)  # px
ROW, COL = 2, 3  # the moving block
MOVING_BLOCK = ROW * 6 + COL


def _texture(seed=0):
  noise = np.random.default_rng(seed).random((SIDE, SIDE)).astype(np.float32)
  return cv2.normalize(cv2.GaussianBlur(noise, (0, 0), 2.0), None, 0, 255, cv2.NORM_MINMAX)


def _shifted(image, dx, dy):
  """`image` moved by (dx, dy) px (bicubic, borders reflected)."""
  return cv2.warpAffine(
    image,
    np.float32([[1, 0, dx], [0, 1, dy]]),
    image.shape[::-1],
    flags=cv2.INTER_CUBIC,
    borderMode=cv2.BORDER_REFLECT,
  )


def _sequence(*, block_moves=(), head_moves=()):
  """(NUM_FRAMES, SIDE, SIDE) uint8: the texture, shifted by SHIFT as a whole at the
  frames in `head_moves`, and in block (ROW, COL) only at those in `block_moves`."""
  image = _texture()
  frames = []
  for t in range(NUM_FRAMES):
    frame = _shifted(image, *SHIFT) if t in head_moves else image.copy()
    if t in block_moves:
      rows, cols = slice(ROW * BLOCK, (ROW + 1) * BLOCK), slice(COL * BLOCK, (COL + 1) * BLOCK)
      frame[rows, cols] = _shifted(frame, *SHIFT)[rows, cols]
    frames.append(np.clip(np.round(frame), 0, 255).astype(np.uint8))
  return np.stack(frames)


@pytest.mark.parametrize("flow", ["farneback", "dis"])
def test_one_moving_block_peaks_there_and_gives_one_interval(flow):
  block = features.frame_block_features(_sequence(block_moves=MOVING), K, flow=flow)
  assert block.shape == (NUM_FRAMES, 36) and block.dtype == np.float32
  assert np.isnan(block[:K]).all() and np.isnan(block[-K:]).all()
  assert np.isfinite(block[K:-K]).all()
  moving = block[list(MOVING), MOVING_BLOCK]
  assert (block[list(MOVING)].argmax(axis=1) == MOVING_BLOCK).all()
  # ρ(i−k → i) − ρ(i−k → i+k): the shift while it lasts (DIS sees a fraction of it),
  # nothing where both flows are still (all frames outside [20 − k, 25)).
  still = [t for t in range(K, NUM_FRAMES - K) if not 20 - K <= t < 25]
  assert moving.min() > 5 * np.abs(block[still]).max()
  if flow == "farneback":
    assert moving.min() > 0.75 * math.hypot(*SHIFT)

  score = features.top_block_score(block)
  end_to_end = features.mdmd_scores(_sequence(block_moves=MOVING), K, flow=flow)
  np.testing.assert_array_equal(score, end_to_end)
  intervals = mdmd.spot(score, K, mdmd.P)
  assert intervals.dtype == np.int64 and intervals.shape == (1, 3)
  onset, apex, offset = intervals[0]
  assert (onset, offset) == (20, 24) and onset <= apex <= offset


def test_mdmd_intervals_end_to_end():
  settings = mdmd.MdmdSettings(k_micro=K, micro_frames=(3, 8))
  intervals = mdmd.mdmd_intervals(_sequence(block_moves=MOVING), settings, "micro")
  np.testing.assert_array_equal(intervals[:, [0, 2]], [[20, 24]])
  settings = mdmd.MdmdSettings(k_micro=K, micro_frames=(6, 8))  # 5 frames: too short
  assert mdmd.mdmd_intervals(_sequence(block_moves=MOVING), settings, "micro").shape == (0, 3)


def test_head_shift_that_stays_is_not_removed_but_cancels():
  """The baseline removes no head motion: it crops every frame with the first frame's
  box (``preprocess.py``) and computes flow on the crops as they are. A head shift that
  stays (frames ≥ 20) cancels in the difference ρ(i−k → i) − ρ(i−k → i+k), never
  positive; but the contrast C_i = F_i − (F_{i−m} + F_{i+m}) / 2 turns the dip before
  the shift (−|shift| at frames 14–19, where only the second flow crosses it) into
  peaks either side, frames 9–13 (C from frame 2k − 1 = 11) and 20–24, which `spot`
  reports, as the baseline would."""
  frames = _sequence(head_moves=range(20, NUM_FRAMES))
  block = features.frame_block_features(frames, K)
  assert np.nanmax(block) < 0.05
  assert np.nanmin(block[14:20]) < -0.8 * math.hypot(*SHIFT)
  intervals = mdmd.spot(features.top_block_score(block), K, 0.3)
  np.testing.assert_array_equal(intervals[:, [0, 2]], [[11, 13], [20, 24]])
  removed = features.frame_block_features(frames, K, remove_global_motion=True)
  assert np.nanmax(np.abs(removed)) < 0.1


def test_head_nod_that_returns_is_spotted_unless_removed():
  """A whole-face shift that returns within k frames looks like an expression in every
  block: the baseline spots it. Subtracting each field's median flow (not in the
  baseline) removes it."""
  frames = _sequence(head_moves=MOVING)
  block = features.frame_block_features(frames, K)
  assert (block[list(MOVING)] > 0.75 * math.hypot(*SHIFT)).all()
  intervals = mdmd.spot(features.top_block_score(block), K, 0.3)
  np.testing.assert_array_equal(intervals[:, [0, 2]], [[20, 24]])
  removed = features.frame_block_features(frames, K, remove_global_motion=True)
  assert np.nanmax(np.abs(removed)) < 0.2


def test_block_features_hand_computed():
  """One block (grid 1×1) of six vectors; the second flow is (1, 0) everywhere."""
  to_i = np.array([[(3, 1), (2, 2), (1, 1)], [(-1, -1), (-2, -3), (-1, 1)]], np.float32)
  flows = np.stack([to_i, np.broadcast_to(np.float32([1, 0]), to_i.shape)])[None]
  # Quadrants: main = u, v ≥ 0 (3 vectors); the largest round(3/3) = 1 difference.
  got = features.block_flow_features(flows, (1, 1))
  np.testing.assert_allclose(got, [[math.sqrt(10) - 1]], rtol=1e-6)
  # MDMD.m's atan(u / v): (−1, −1) and (−2, −3) join u, v > 0 (5 vectors); the mean
  # of the largest round(5/3) = 2.
  got = features.block_flow_features(flows, (1, 1), directions="released")
  np.testing.assert_allclose(got, [[(math.sqrt(13) + math.sqrt(10)) / 2 - 1]], rtol=1e-6)


def test_block_layout_row_major_and_remainder_dropped():
  flows = np.zeros((1, 2, 5, 5, 2), np.float32)
  flows[0, 0, 2:4, 0:2] = (1.5, 0)  # block (1, 0) of 2×2 blocks of 2×2 px
  flows[0, 0, 4, :] = (9, 9)  # row 4: in no block
  np.testing.assert_allclose(features.block_flow_features(flows, (2, 2)), [[0, 0, 1.5, 0]])
  np.testing.assert_array_equal(
    features.direction_bins(np.float32([1, -1, -1, 1, 0]), np.float32([1, 1, -1, -1, 0])),
    [0, 1, 2, 3, features.NO_DIRECTION],
  )


def test_top_block_score():
  block = np.array([[1, 4, 2, 3], [0, 0, 0, 8], [np.nan, 1, 1, 1]], np.float32)
  np.testing.assert_allclose(features.top_block_score(block, 2), [3.5, 4, np.nan])


def test_threshold_rule_hand_computed():
  score = np.float32([0, 0, 0, 4, 0, 0, 0, 0, 2, 0, 0, 0])
  # k = 2: C_i = F_i − (F_{i−1} + F_{i+1}) / 2; mean 0, max 4.
  c = mdmd.contrast(score, 2)
  np.testing.assert_array_equal(c, [np.nan, 0, -2, 4, -2, 0, 0, -1, 2, -1, 0, np.nan])
  assert mdmd.threshold(c, 0.25) == 1.0
  np.testing.assert_array_equal(mdmd.spot(score, 2, 0.25), [[3, 3, 3], [8, 8, 8]])
  np.testing.assert_array_equal(mdmd.spot(score, 2, 0.5), [[3, 3, 3]])  # C > 2, strictly
  assert mdmd.spot(score, 2, 1.0).shape == (0, 3)


def test_runs_apex_and_length_limits():
  score = np.float32([0, 0, 0, 0, 1, 2, 2, 1, 0, 0, 0, 0, 0, 0])
  # k = 3: C = F_i − (F_{i−2} + F_{i+2}) / 2 = 1.5 at frames 5 and 6, mean 0.
  np.testing.assert_array_equal(mdmd.spot(score, 3, 0.5), [[5, 5, 6]])
  np.testing.assert_array_equal(mdmd.spot(score, 3, 0.5, min_frames=2, max_frames=2), [[5, 5, 6]])
  assert mdmd.spot(score, 3, 0.5, min_frames=3).shape == (0, 3)
  assert mdmd.spot(score, 3, 0.5, max_frames=1).shape == (0, 3)


def test_intervals_stay_inside_the_frames_with_a_contrast():
  """A score as `mdmd_scores` gives it (NaN in the first and last k frames): C exists at
  frames [2k − 1, T − 2k]; a run reaching T − 2k ends there, peaks of F where C does
  not exist give nothing."""
  k, count = 3, 20
  score = np.zeros(count, np.float32)
  score[:k] = score[-k:] = np.nan
  score[[4, 14, 16]] = 7, 5, 1  # 4 and 16 have F but no C; 14 = T − 2k
  np.testing.assert_array_equal(mdmd.spot(score, k, 0.5), [[14, 14, 14]])
  intervals = mdmd.spot(score, k, 0.0)
  assert intervals[:, 0].min() >= 2 * k - 1 and intervals[:, 2].max() == count - 2 * k


def test_k_and_lengths_at_any_frame_rate():
  assert [mdmd.k_frames(30, kind) for kind in mdmd.KINDS] == [12, 39]
  assert [mdmd.k_frames(200, kind) for kind in mdmd.KINDS] == [80, 260]
  assert [mdmd.k_frames(150, kind) for kind in mdmd.KINDS] == [60, 195]
  assert mdmd.interval_frames(30, "micro") == (7, 16)
  assert mdmd.interval_frames(30, "macro") == (17, None)
  assert mdmd.interval_frames(200, "micro") == (47, 105)
  assert mdmd.interval_frames(200, "macro") == (106, None)
  assert mdmd.interval_frames(150, "micro") == (35, 79)  # nearest: SAMM-LV
  assert mdmd.interval_frames(150, "micro", reference="casme2") == (35, 80)
  settings = mdmd.MdmdSettings.for_fps(150, p=0.05)
  assert (settings.k("micro"), settings.k("macro"), settings.p) == (60, 195, 0.05)
  assert settings.lengths("macro") == (80, None)
  assert mdmd.MdmdSettings() == mdmd.MdmdSettings.for_fps(30)
  assert mdmd.fit_k(39, 200) == 20 and mdmd.fit_k(12, 10) == 2 and mdmd.fit_k(12, 72) == 12


@pytest.mark.parametrize(
  "call, field",
  [
    (lambda: features.block_flow_features(np.zeros((3, 5, 5, 2), np.float32)), "flows"),
    (lambda: features.block_flow_features(np.zeros((1, 2, 5, 5, 2), np.int32)), "flows"),
    (lambda: features.block_flow_features(np.zeros((1, 2, 4, 4, 2), np.float32)), "grid"),
    (lambda: features.top_block_score(np.zeros((2, 36), np.float32), 37), "top_blocks"),
    (lambda: features.mdmd_scores(np.zeros((20, 24, 24), np.float32), 2), "frames"),
    (lambda: features.mdmd_scores(np.zeros((20, 24, 24, 3), np.uint8), 2), "frames"),
    (lambda: features.mdmd_scores(np.zeros((4, 24, 24), np.uint8), 2), "frames"),
    (lambda: features.mdmd_scores(np.zeros((20, 24, 24), np.uint8), 0), "k"),
    (lambda: features.mdmd_scores(np.zeros((20, 24, 24), np.uint8), 1.5), "k"),
    (lambda: features.mdmd_scores(np.zeros((20, 24, 24), np.uint8), 2, flow="rlof"), "flow"),
    (lambda: mdmd.spot(np.zeros(20, np.float32), 1), "k"),
    (lambda: mdmd.spot(np.zeros(20, np.float32), 2, 1.5), "p"),
    (lambda: mdmd.spot(np.zeros(20, np.float32), 2, -0.1), "p"),
    (lambda: mdmd.spot(np.zeros((20, 2), np.float32), 2), "score"),
    (lambda: mdmd.spot(np.full(20, np.nan, np.float32), 2), "score"),
    (lambda: mdmd.spot(np.zeros(20, np.float32), 2, min_frames=0), "min_frames"),
    (lambda: mdmd.MdmdSettings(p=2.0), "p"),
    (lambda: mdmd.MdmdSettings(k_micro=1), "k_micro"),
    (lambda: mdmd.MdmdSettings(grid=(6,)), "grid"),
    (lambda: mdmd.MdmdSettings(top_blocks=37), "top_blocks"),
    (lambda: mdmd.MdmdSettings(flow="rlof"), "flow"),
    (lambda: mdmd.MdmdSettings(directions="eight"), "directions"),
    (lambda: mdmd.MdmdSettings(micro_frames=(10, 5)), "micro_frames"),
    (lambda: mdmd.k_frames(0, "micro"), "fps"),
    (lambda: mdmd.k_frames(30, "meso"), "kind"),
    (lambda: mdmd.k_frames(30, "micro", reference="mmew"), "reference"),
  ],
)
def test_bad_input_names_the_field(call, field):
  with pytest.raises(ValueError, match=rf"^{field}\b"):
    call()
