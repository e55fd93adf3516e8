"""MDMD's per-frame score: face-crop frames → two flow fields → block features → score.

Main Directional Maximal Difference (Wang et al. 2017, Neurocomputing 230:382–389), as
the MEGC 2020 spotting baseline computes it (He et al. 2020, FG; code in
HeyingGithub/Baseline-project-for-MEGC2020_spotting, ``MDMD_codes/MDMD.m``). For a
frame i of a gray face-crop sequence and a frame distance k (0.4 s for micro-, 1.3 s
for macro-expressions, `cmcl_jax.baselines.mdmd.k_frames`):

1. Two flow fields, both starting at frame i − k: to frame i (``to_i``) and to frame
   i + k (``past_i``).
2. The crop is split into rows × cols equal blocks (6 × 6) of floor(H / rows) ×
   floor(W / cols) pixels from the top left; the last H mod rows rows and W mod cols
   columns belong to no block.
3. In each block the vectors of ``to_i`` are binned into 4 directions; the *main
   direction* is the bin with the most vectors (a count, not a sum of magnitudes).
4. At each of the block's m main-direction pixels, the difference of the two flow
   magnitudes ρ(i−k → i) − ρ(i−k → i+k); the block's feature is the mean of the
   largest third of them (round(m / 3) values).
5. The frame's score is the mean of the largest third of its block features (12 of
   36 blocks).

Why it works: a movement that rises and falls back within k frames is away from its
rest position at frame i (ρ(i−k → i) large) and back at i + k (ρ(i−k → i+k) small); a
movement that stays (a head turn that stays turned, a held expression) gives two equal
magnitudes and a feature ≈ 0, one that starts after frame i a negative one.

Departures from ``MDMD.m``:
- Flow: the baseline runs RLOF (Senst et al., robust local optical flow; the
  ``mex_RLOF`` binary, at every pixel) on its 227×227 crops. RLOF is in opencv-contrib
  (``cv2.optflow``), which this project does not install; the stand-in is one of the
  project's dense estimators (`cmcl_jax.video.flow`): Farneback by default, DIS (FAST
  preset, ~5× cheaper) by choice. Measured on a texture patch of one block shifted by
  1–4 px (the mean of the block's largest third of flow magnitudes over the shift):
  Farneback 83–86 % on a 120-px crop (20-px blocks), 99–100 % on a 227-px one; DIS's
  coarse patches smooth a block's own motion away, 5–16 % and 63–67 %. RLOF, a local
  method, should resolve it too (not measured: no RLOF here).
- Directions: ``MDMD.m`` bins θ = atan(u / v) into [0°, 90°), [90°, 180°), [−180°,
  −90°), [−90°, 0°), but a one-argument arctangent only returns [−90°, 90°]: the third
  bin stays empty, the second holds only v = 0 < u, and the four directions collapse
  into two, u and v of the same sign or of opposite signs. ``directions="quadrants"``
  (default) bins by the vector's quadrant, the four directions the README states ("the
  number of directions is set to 4"); ``"released"`` reproduces the code.
- A block with m ≤ 1 main-direction pixels: ``MDMD.m`` averages round(m / 3) = 0
  values (NaN, which then sorts first and makes the frame's score NaN); here the block
  takes its largest value (m = 1) or 0 (m = 0: no moving pixel).
- Head motion is not removed by the baseline (it crops every frame with the box of
  the first one); ``remove_global_motion=True`` subtracts each flow field's median
  vector first (`cmcl_jax.video.flow.subtract_global_motion`).
"""

from __future__ import annotations

import numpy as np

from cmcl_jax.video import flow as flow_lib

GRID = (6, 6)
"""Blocks (rows, cols) of the face crop (``MDMD_codes/cmd.m``: ``blocks=[6]``)."""

TOP_BLOCKS = 12
"""Blocks averaged into a frame's score: the largest third of 36 (``MDMD.m``:
``round(rows*cols/3)``). Per block, the largest third of the main-direction pixels
is averaged (``round(m/3)``), fixed."""

DIRECTIONS = ("quadrants", "released")
"""Direction bins: the vector's quadrant (paper), or ``MDMD.m``'s atan(u / v) bins."""

NUM_DIRECTIONS = 4
NO_DIRECTION = NUM_DIRECTIONS
"""`direction_bins` of a vector without a direction (zero, or 0 / 0 in "released")."""


def block_flow_features(
  flows: np.ndarray, grid: tuple[int, int] = GRID, *, directions: str = "quadrants"
) -> np.ndarray:
  """The MDMD feature of every block of every frame (steps 2–4 of the module docstring).

  Args:
    flows: (T, 2, H, W, 2) float flow fields, pixels; ``flows[t, 0]`` from frame
      t − k to frame t, ``flows[t, 1]`` from frame t − k to frame t + k; last axis
      (u, v) = (x to the right, y downward), as `cmcl_jax.video.flow` returns them.
    grid: (rows, cols) of blocks, each at least 1 pixel.
    directions: "quadrants" or "released" (see the module docstring).

  Returns:
    (T, rows · cols) float32, pixels: per block (row-major), the mean of the largest
    third of ρ(t−k → t) − ρ(t−k → t+k) over the block's main-direction pixels.
  """
  flows = np.asarray(flows)
  if flows.ndim != 5 or flows.shape[1:2] != (2,) or flows.shape[-1] != 2:
    raise ValueError(
      "flows: expected (T, 2, H, W, 2) flow fields (frame t−k → t and t−k → t+k), "
      f"got shape {flows.shape}"
    )
  if not np.issubdtype(flows.dtype, np.floating):
    raise ValueError(f"flows: expected a float array (pixels), got dtype {flows.dtype}")
  if directions not in DIRECTIONS:
    raise ValueError(f"directions: expected one of {DIRECTIONS}, got {directions!r}")
  rows, cols = check_grid(grid, flows.shape[2:4])
  frames, height, width = flows.shape[0], flows.shape[2] // rows, flows.shape[3] // cols
  fields = flows[:, :, : rows * height, : cols * width].astype(np.float32, copy=False)

  def blocks(image: np.ndarray) -> np.ndarray:
    """(T, rows·height, cols·width) → (T, blocks, pixels), blocks row-major."""
    split = image.reshape(frames, rows, height, cols, width).transpose(0, 1, 3, 2, 4)
    return split.reshape(frames, rows * cols, height * width)

  u, v = fields[:, 0, ..., 0], fields[:, 0, ..., 1]
  bins = blocks(direction_bins(u, v, directions))
  magnitude = np.sqrt(fields[..., 0] ** 2 + fields[..., 1] ** 2)  # (T, 2, H, W)
  difference = blocks(magnitude[:, 0] - magnitude[:, 1])
  counts = np.stack([(bins == b).sum(axis=-1) for b in range(NUM_DIRECTIONS)], axis=-1)
  main = counts.argmax(axis=-1)  # ties: the first bin, as MATLAB's max
  size = np.take_along_axis(counts, main[..., None], axis=-1)[..., 0]
  largest_first = -np.sort(np.where(bins == main[..., None], -difference, np.inf), axis=-1)
  top = np.maximum(1, (size + 1) // 3)  # round(m / 3) for whole m (never x.5)
  sums = np.take_along_axis(np.cumsum(largest_first, axis=-1), top[..., None] - 1, axis=-1)
  return np.where(size > 0, sums[..., 0] / top, 0.0).astype(np.float32)


def direction_bins(u: np.ndarray, v: np.ndarray, directions: str = "quadrants") -> np.ndarray:
  """Direction bin 0–3 of each flow vector, `NO_DIRECTION` (4) where it has none.

  Args:
    u, v: float arrays of one shape, horizontal and vertical flow, pixels.
    directions: "quadrants": the vector's quadrant by signs — 0: u ≥ 0, v ≥ 0; 1:
      u < 0 ≤ v; 2: u, v < 0; 3: v < 0 ≤ u (the angle atan2(v, u) in [0°, 90°), …,
      [270°, 360°) but for vectors on an axis, a tenth of arctan2's cost); a zero
      vector has none. "released": ``MDMD.m``'s bins of θ = atan(u / v) — 0: θ in
      [0°, 90°) (u, v of the same sign, or u = 0), 1: θ = 90° (v = 0 < u), 3: θ in
      [−90°, 0°) (opposite signs, or v = 0 > u), never 2; u = v = 0 has none.

  Returns:
    int8 array of the shape of `u`.
  """
  if directions == "quadrants":
    negative_u, negative_v = u < 0, v < 0
    bins = (negative_v.view(np.int8) << 1) | (negative_u ^ negative_v).view(np.int8)
    bins[(u == 0) & (v == 0)] = NO_DIRECTION
    return bins
  if directions == "released":
    with np.errstate(divide="ignore", invalid="ignore"):
      theta = np.degrees(np.arctan(u / v))  # NaN for 0 / 0
    bins = np.full(theta.shape, NO_DIRECTION, np.int8)
    bins[(theta >= 0) & (theta < 90)] = 0
    bins[theta >= 90] = 1
    bins[(theta >= -90) & (theta < 0)] = 3
    return bins
  raise ValueError(f"directions: expected one of {DIRECTIONS}, got {directions!r}")


def top_block_score(block_features: np.ndarray, top_blocks: int = TOP_BLOCKS) -> np.ndarray:
  """Each frame's score: the mean of its `top_blocks` largest block features (step 5).

  Args:
    block_features: (T, B) float, pixels, e.g. from `block_flow_features`; rows with
      a NaN (frames without a feature) give NaN.
    top_blocks: how many blocks are averaged, 1 ≤ top_blocks ≤ B (MDMD: 12 of 36).

  Returns:
    (T,) float32, pixels.
  """
  features = np.asarray(block_features)
  if features.ndim != 2 or not np.issubdtype(features.dtype, np.floating):
    raise ValueError(
      f"block_features: expected a (T, B) float array, got {features.dtype} {features.shape}"
    )
  check_top_blocks(top_blocks, features.shape[1])
  score = np.full(features.shape[0], np.nan, np.float32)
  defined = np.isfinite(features).all(axis=1)
  largest_first = -np.sort(-features[defined], axis=1)
  score[defined] = largest_first[:, :top_blocks].mean(axis=1)
  return score


def frame_block_features(
  frames: np.ndarray,
  k: int,
  *,
  flow: str = "farneback",
  grid: tuple[int, int] = GRID,
  directions: str = "quadrants",
  remove_global_motion: bool = False,
) -> np.ndarray:
  """`block_flow_features` of a face-crop sequence, its flows computed here.

  Args:
    frames: (T, H, W) uint8 gray face crops of one video, all cropped with one box and
      resized to one size (the baseline: the first frame's landmark box, 227×227,
      `cmcl_jax.video.landmark_rois.face_crop_box`); T ≥ 2k + 1.
    k: frame distance of the two flows, frames ≥ 1 (`mdmd.k_frames`).
    flow: flow estimator, one of `cmcl_jax.video.flow.METHODS` (stand-ins for RLOF).
    grid, directions: as in `block_flow_features`.
    remove_global_motion: subtract each flow field's median vector (head motion);
      the baseline does not.

  Returns:
    (T, rows · cols) float32, pixels; NaN rows for the first k and the last k frames,
    which lack frame t − k or t + k.
  """
  frames = check_frames(frames)
  k = check_k(k, minimum=1)
  if frames.shape[0] < 2 * k + 1:
    raise ValueError(
      f"frames: {frames.shape[0]} frames, need at least 2k + 1 = {2 * k + 1} for k = {k}"
    )
  if flow not in flow_lib.METHODS:
    raise ValueError(f"flow: expected one of {flow_lib.METHODS}, got {flow!r}")
  rows, cols = check_grid(grid, frames.shape[1:])
  estimator = flow_lib.FlowEstimator(flow, remove_global_motion=remove_global_motion)
  features = np.full((frames.shape[0], rows * cols), np.nan, np.float32)
  for t in range(k, frames.shape[0] - k):
    start = frames[t - k]
    pair = np.stack([estimator(start, frames[t]), estimator(start, frames[t + k])])
    features[t] = block_flow_features(pair[None], (rows, cols), directions=directions)[0]
  return features


def mdmd_scores(
  frames: np.ndarray,
  k: int,
  *,
  flow: str = "farneback",
  grid: tuple[int, int] = GRID,
  top_blocks: int = TOP_BLOCKS,
  directions: str = "quadrants",
  remove_global_motion: bool = False,
) -> np.ndarray:
  """MDMD's per-frame score F of a face-crop sequence, end to end (steps 1–5).

  Args:
    frames: (T, H, W) uint8 gray face crops (see `frame_block_features`), T ≥ 2k + 1.
    k: frame distance of the flows, frames ≥ 1.
    flow, grid, directions, remove_global_motion: as in `frame_block_features`.
    top_blocks: blocks averaged per frame, as in `top_block_score`.

  Returns:
    (T,) float32, pixels of the crop; NaN for the first k and the last k frames.
    `cmcl_jax.baselines.mdmd.spot` turns it into intervals.
  """
  rows, cols = check_grid(grid)
  check_top_blocks(top_blocks, rows * cols)  # before the flows, not after
  features = frame_block_features(
    frames,
    k,
    flow=flow,
    grid=grid,
    directions=directions,
    remove_global_motion=remove_global_motion,
  )
  return top_block_score(features, top_blocks)


def check_frames(frames: object) -> np.ndarray:
  """`frames` if it is a (T, H, W) uint8 array, else ValueError naming it."""
  if not isinstance(frames, np.ndarray) or frames.dtype != np.uint8 or frames.ndim != 3:
    described = (
      f"{frames.dtype} {frames.shape}" if isinstance(frames, np.ndarray) else type(frames).__name__
    )
    raise ValueError(
      f"frames: expected a (T, H, W) uint8 array of gray face crops, got {described}"
    )
  return frames


def check_k(k: object, *, minimum: int) -> int:
  """`k` as an int if it is a whole number of frames ≥ `minimum`."""
  if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < minimum:
    raise ValueError(f"k: expected a whole number of frames >= {minimum}, got {k!r}")
  return int(k)


def check_grid(grid: object, image_shape: tuple[int, ...] | None = None) -> tuple[int, int]:
  """`grid` as (rows, cols) if both are ints ≥ 1 and, given the (H, W) `image_shape`,
  each block is at least 1 pixel."""
  if (
    not isinstance(grid, (tuple, list))
    or len(grid) != 2
    or not all(
      isinstance(g, (int, np.integer)) and not isinstance(g, bool) and g >= 1 for g in grid
    )
  ):
    raise ValueError(f"grid: expected (rows, cols) of two ints >= 1, got {grid!r}")
  rows, cols = int(grid[0]), int(grid[1])
  if image_shape is not None and (image_shape[0] < rows or image_shape[1] < cols):
    raise ValueError(
      f"grid: {rows}×{cols} blocks do not fit an image of {image_shape[0]}×{image_shape[1]} pixels"
    )
  return rows, cols


def check_top_blocks(top_blocks: object, num_blocks: int) -> int:
  """`top_blocks` as an int if 1 ≤ top_blocks ≤ `num_blocks`."""
  if (
    isinstance(top_blocks, bool)
    or not isinstance(top_blocks, (int, np.integer))
    or not 1 <= top_blocks <= num_blocks
  ):
    raise ValueError(
      f"top_blocks: expected an int in [1, {num_blocks}] (the number of blocks), got {top_blocks!r}"
    )
  return int(top_blocks)
