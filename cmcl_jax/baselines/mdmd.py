"""MDMD spotting (He et al. 2020, the MEGC 2020 baseline): settings and intervals.

Training-free. The per-frame score F comes from `mdmd_features.mdmd_scores` (optical
flow, 6×6 blocks, main directional maximal difference); this module holds the
published constants, scales them to any frame rate and turns F into intervals.

Published constants (HeyingGithub/Baseline-project-for-MEGC2020_spotting):

=========  =====  =====  ====  ==============  ==================================
dataset    fps    kind   k     length, frames  (seconds)
=========  =====  =====  ====  ==============  ==================================
CAS(ME)²   30     micro  12    7–16            k 0.4 s, 0.23–0.53 s
CAS(ME)²   30     macro  39    ≥ 17            k 1.3 s, ≥ 0.57 s
SAMM-LV    200    micro  80    47–105          k 0.4 s, 0.235–0.525 s
SAMM-LV    200    macro  260   ≥ 106           k 1.3 s, ≥ 0.53 s
=========  =====  =====  ====  ==============  ==================================

k: ``MDMD_codes/cmd.m``; lengths: ``MDMD_results/evaluation_all_p.py`` and
``gen_MEGC2020_log_file.py`` (``shortest_len``, ``longest_len``) and the README;
p = 0.01: the README and ``gen_MEGC2020_log_file.py`` (``p = 1`` of ``cmd.m``'s sweep
T = mean + 0.01·p·(max − mean), p = 1…99); 6×6 blocks: ``cmd.m``; the top thirds:
``MDMD.m``. In seconds both datasets give the same k (`k_frames`); their length limits
differ by under a frame at 150 fps (`interval_frames`).

Interval rule (`spot`), as ``cmd.m``, ``MDMDmat_to_txt.m`` and ``evaluation_all_p.py``:

1. Contrast C_i = F_i − (F_{i−m} + F_{i+m}) / 2 with m = k − 1: how far a frame's score
   rises above its surroundings.
2. Threshold T = mean(C) + p · (max(C) − mean(C)) over the video's frames with a C;
   frames with C_i > T (strictly) are predicted.
3. Each maximal run of predicted frames is one interval, onset its first and offset its
   last frame; runs shorter than `min_frames` or longer than `max_frames` are dropped.
   There is no merging and no non-maximum suppression (``if_nms = False``).
4. Apex: the frame of largest C in the run (the baseline writes no apex).

Frames are 0-based indices of the input (the baseline numbers images from 1).
Departures from the released code, on purpose:

- ``cmd.m`` evaluates C only up to frame T − 4k + 1 (1-based): it subtracts k twice
  from the feature index, so the last 2k frames that have a C are never spotted. Here
  C is used wherever it is defined, frames [2k − 1, T − 2k].
- ``cmd.m`` does not clear its ``predict`` vector between videos: after a longer
  video, a shorter one inherits the longer one's last (p = 0.99) predictions past its
  own last frame, and ``MDMDmat_to_txt.m`` writes them as intervals outside the
  video. Here intervals lie inside the frames with a C.
- ``cmd.m``'s "auto k" loop (k ← round(k / 2) while T < 6k) never ends for T < 6 (k
  stays 1); `fit_k` stops at k = 2, the least k with a contrast (m ≥ 1).
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np

from cmcl_jax.baselines import mdmd_features
from cmcl_jax.baselines.mdmd_features import (
  DIRECTIONS,
  GRID,
  TOP_BLOCKS,
  check_grid,
  check_k,
  check_top_blocks,
)
from cmcl_jax.video import flow as flow_lib

MICRO, MACRO = "micro", "macro"
KINDS = (MICRO, MACRO)

P = 0.01
"""Relative threshold of the published results."""


@dataclasses.dataclass(frozen=True)
class Published:
  """One row of the baseline's constants: a dataset's frame rate and, per kind, k and
  the interval lengths kept (frames; no upper limit for macro-expressions)."""

  fps: float
  k: dict[str, int]
  micro_frames: tuple[int, int]


PUBLISHED = {
  "casme2": Published(fps=30.0, k={MICRO: 12, MACRO: 39}, micro_frames=(7, 16)),
  "samm": Published(fps=200.0, k={MICRO: 80, MACRO: 260}, micro_frames=(47, 105)),
}
"""The baseline's datasets: CAS(ME)² and SAMM Long Videos. Macro-expressions are the
runs longer than the longest micro-expression (README: "larger than 16 / 105")."""


def check_kind(kind: object) -> str:
  if kind not in KINDS:
    raise ValueError(f"kind: expected one of {KINDS}, got {kind!r}")
  return kind


def _reference(fps: object, reference: str | None) -> Published:
  """The published row to scale from: `reference`, or the one nearest `fps` in ratio
  (CAS(ME)² below √(30 · 200) ≈ 77 fps, SAMM-LV above)."""
  if isinstance(fps, bool) or not isinstance(fps, (int, float, np.number)) or not fps > 0:
    raise ValueError(f"fps: expected a frame rate > 0 frames per second, got {fps!r}")
  if reference is None:
    return min(PUBLISHED.values(), key=lambda row: abs(math.log(fps / row.fps)))
  if reference not in PUBLISHED:
    raise ValueError(f"reference: expected one of {sorted(PUBLISHED)} or None, got {reference!r}")
  return PUBLISHED[reference]


def _frames_at(frames: int, row: Published, fps: float) -> int:
  """`frames` of `row`'s frame rate as whole frames at `fps` (same seconds, half up)."""
  return int(math.floor(frames * fps / row.fps + 0.5))


def k_frames(fps: float, kind: str, *, reference: str | None = None) -> int:
  """MDMD's frame distance k at any frame rate: the published k in seconds.

  Both datasets give the same seconds, 0.4 s for micro- (12 / 30, 80 / 200) and 1.3 s
  for macro-expressions (39 / 30, 260 / 200), so `reference` does not change the
  result at rates where k rounds the same; e.g. 150 fps → 60 and 195 frames.

  Args:
    fps: frame rate of the video, frames per second.
    kind: "micro" or "macro".
    reference: "casme2", "samm", or None for the one nearest in frame rate.

  Returns:
    k in frames, at least 1 (`MdmdSettings` and `spot` ask k ≥ 2: fps ≥ 3.75).
  """
  row = _reference(fps, reference)
  return max(1, _frames_at(row.k[check_kind(kind)], row, fps))


def interval_frames(
  fps: float, kind: str, *, reference: str | None = None
) -> tuple[int, int | None]:
  """The interval lengths the baseline keeps, scaled to `fps` in seconds.

  Micro: the published range scaled (150 fps: 35–79 frames from SAMM-LV, 35–80 from
  CAS(ME)²); macro: anything longer than the micro range, no upper limit.

  Args:
    fps: frame rate, frames per second.
    kind: "micro" or "macro".
    reference: "casme2", "samm", or None for the one nearest in frame rate (SAMM-LV
      for a 150 fps video: a high-speed camera, 4/3 of the rate rather than 5×).

  Returns:
    (min_frames, max_frames), max_frames None for no limit.
  """
  row = _reference(fps, reference)
  shortest, longest = (max(1, _frames_at(n, row, fps)) for n in row.micro_frames)
  return (shortest, longest) if check_kind(kind) == MICRO else (longest + 1, None)


def fit_k(k: int, num_frames: int) -> int:
  """``cmd.m``'s "auto k": halve k (rounding up) while the video has fewer than 6k
  frames, but not below 2.

  Args:
    k: frame distance, frames ≥ 2.
    num_frames: frames in the video.
  """
  k = check_k(k, minimum=2)
  while num_frames < 6 * k and k > 2:
    k = (k + 1) // 2
  return k


@dataclasses.dataclass(frozen=True)
class MdmdSettings:
  """Everything MDMD needs; the defaults are the baseline's CAS(ME)² values (30 fps).

  Attributes:
    k_micro, k_macro: frame distance k per kind, frames ≥ 2 (`k_frames`).
    p: relative threshold in [0, 1], T = mean + p · (max − mean) of the contrast.
    micro_frames: (min, max) length of a micro-expression interval kept, frames.
    macro_frames: (min, max or None) length of a macro-expression interval kept.
    grid: (rows, cols) of face blocks.
    top_blocks: blocks averaged into a frame's score, 1 ≤ top_blocks ≤ rows · cols.
    flow: flow estimator, one of `cmcl_jax.video.flow.METHODS` (stand-in for RLOF).
    directions: direction bins, one of `mdmd_features.DIRECTIONS`.
    remove_global_motion: subtract each flow field's median vector (the baseline:
      False).
  """

  k_micro: int = PUBLISHED["casme2"].k[MICRO]
  k_macro: int = PUBLISHED["casme2"].k[MACRO]
  p: float = P
  micro_frames: tuple[int, int | None] = PUBLISHED["casme2"].micro_frames
  macro_frames: tuple[int, int | None] = (PUBLISHED["casme2"].micro_frames[1] + 1, None)
  grid: tuple[int, int] = GRID
  top_blocks: int = TOP_BLOCKS
  flow: str = "farneback"
  directions: str = "quadrants"
  remove_global_motion: bool = False

  def __post_init__(self):
    for name in ("k_micro", "k_macro"):
      value = getattr(self, name)
      if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 2:
        raise ValueError(f"{name}: expected a whole number of frames >= 2, got {value!r}")
    _check_p(self.p)
    for name in ("micro_frames", "macro_frames"):
      _check_lengths(getattr(self, name), name)
    rows, cols = check_grid(self.grid)
    try:
      check_top_blocks(self.top_blocks, rows * cols)
    except ValueError as error:
      raise ValueError(f"{error} for grid {self.grid}") from None
    if self.flow not in flow_lib.METHODS:
      raise ValueError(f"flow: expected one of {flow_lib.METHODS}, got {self.flow!r}")
    if self.directions not in DIRECTIONS:
      raise ValueError(f"directions: expected one of {DIRECTIONS}, got {self.directions!r}")
    if not isinstance(self.remove_global_motion, bool):
      raise ValueError(
        f"remove_global_motion: expected True or False, got {self.remove_global_motion!r}"
      )

  @classmethod
  def for_fps(cls, fps: float, *, reference: str | None = None, **overrides) -> MdmdSettings:
    """The published k and lengths scaled to `fps` (`k_frames`, `interval_frames`);
    `overrides` set any other field."""
    scaled = dict(
      k_micro=k_frames(fps, MICRO, reference=reference),
      k_macro=k_frames(fps, MACRO, reference=reference),
      micro_frames=interval_frames(fps, MICRO, reference=reference),
      macro_frames=interval_frames(fps, MACRO, reference=reference),
    )
    return cls(**{**scaled, **overrides})

  def k(self, kind: str) -> int:
    """k of `kind` ("micro" or "macro"), frames."""
    return self.k_micro if check_kind(kind) == MICRO else self.k_macro

  def lengths(self, kind: str) -> tuple[int, int | None]:
    """(min, max or None) interval length of `kind`, frames."""
    return self.micro_frames if check_kind(kind) == MICRO else self.macro_frames


def _check_p(p: object) -> float:
  if isinstance(p, bool) or not isinstance(p, (int, float, np.number)) or not 0 <= p <= 1:
    raise ValueError(f"p: expected a relative threshold in [0, 1], got {p!r}")
  return float(p)


def _check_lengths(lengths: object, name: str) -> tuple[int, int | None]:
  ok = isinstance(lengths, (tuple, list)) and len(lengths) == 2
  if ok:
    shortest, longest = lengths
    ok = isinstance(shortest, (int, np.integer)) and shortest >= 1
    ok = ok and (
      longest is None or (isinstance(longest, (int, np.integer)) and longest >= shortest)
    )
  if not ok:
    raise ValueError(
      f"{name}: expected (min, max) interval lengths in frames, 1 <= min <= max "
      f"(max None for no limit), got {lengths!r}"
    )
  return int(lengths[0]), None if lengths[1] is None else int(lengths[1])


def contrast(score: np.ndarray, k: int) -> np.ndarray:
  """C_i = F_i − (F_{i−m} + F_{i+m}) / 2, m = k − 1 (step 1 of the module docstring).

  Args:
    score: (T,) float per-frame score F (`mdmd_features.mdmd_scores`), NaN where
      undefined.
    k: frame distance, frames ≥ 2.

  Returns:
    (T,) float64; NaN for the first and last m frames and wherever F_i, F_{i−m} or
    F_{i+m} is NaN.
  """
  score = _check_score(score)
  m = check_k(k, minimum=2) - 1
  out = np.full(score.shape, np.nan)
  if score.size > 2 * m:
    out[m:-m] = score[m:-m] - (score[: -2 * m] + score[2 * m :]) / 2
  return out


def threshold(values: np.ndarray, p: float) -> float:
  """mean + p · (max − mean) of the finite entries of `values` (step 2).

  Args:
    values: (T,) float, e.g. the contrast C; NaN entries are left out.
    p: relative threshold in [0, 1] (MDMD: 0.01).
  """
  p = _check_p(p)
  values = np.asarray(values, np.float64)
  finite = values[np.isfinite(values)]
  if not finite.size:
    raise ValueError("values: no finite entry to take a threshold of")
  mean = finite.mean()
  return float(mean + p * (finite.max() - mean))


def spot(
  score: np.ndarray,
  k: int,
  p: float = P,
  *,
  min_frames: int = 1,
  max_frames: int | None = None,
) -> np.ndarray:
  """Intervals of one video from its per-frame score, by the baseline's rule.

  Args:
    score: (T,) float per-frame score F, NaN where undefined
      (`mdmd_features.mdmd_scores`).
    k: the frame distance the score was computed with, frames ≥ 2.
    p: relative threshold in [0, 1].
    min_frames, max_frames: interval lengths kept, frames (`MdmdSettings.lengths`);
      max_frames None for no limit.

  Returns:
    (N, 3) int64 (onset, apex, offset) frames, inclusive, by onset; all inside
    [2k − 1, T − 2k] for a score from `mdmd_scores` (inside [k − 1, T − k] for a
    score defined at every frame).
  """
  p = _check_p(p)
  score = _check_score(score)
  c = contrast(score, k)
  min_frames, max_frames = _check_lengths((min_frames, max_frames), "min_frames, max_frames")
  if not np.isfinite(c).any():
    raise ValueError(
      f"score: no frame has a contrast (needs F at frames i and i ± {k - 1}); "
      f"{np.isfinite(score).sum()} of {len(score)} frames have a score"
    )
  predicted = np.concatenate([[False], c > threshold(c, p), [False]])
  edges = np.diff(predicted.astype(np.int8))
  onsets, offsets = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1) - 1
  lengths = offsets - onsets + 1
  keep = lengths >= min_frames
  if max_frames is not None:
    keep &= lengths <= max_frames
  onsets, offsets = onsets[keep], offsets[keep]
  apexes = np.array([a + int(np.argmax(c[a : b + 1])) for a, b in zip(onsets, offsets)], np.int64)
  return np.stack([onsets, apexes.reshape(-1), offsets], axis=1).astype(np.int64).reshape(-1, 3)


def mdmd_intervals(frames: np.ndarray, settings: MdmdSettings, kind: str) -> np.ndarray:
  """MDMD end to end on one video: `fit_k`, `mdmd_scores`, `spot`.

  Args:
    frames: (T, H, W) uint8 gray face crops of the video (one box, one size).
    settings: the method's settings (e.g. `MdmdSettings.for_fps(fps)`).
    kind: "micro" or "macro".

  Returns:
    (N, 3) int64 (onset, apex, offset) frames, inclusive.
  """
  frames = mdmd_features.check_frames(frames)
  k = fit_k(settings.k(kind), frames.shape[0])
  score = mdmd_features.mdmd_scores(
    frames,
    k,
    flow=settings.flow,
    grid=settings.grid,
    top_blocks=settings.top_blocks,
    directions=settings.directions,
    remove_global_motion=settings.remove_global_motion,
  )
  shortest, longest = settings.lengths(kind)
  return spot(score, k, settings.p, min_frames=shortest, max_frames=longest)


def _check_score(score: object) -> np.ndarray:
  values = np.asarray(score)
  if values.ndim != 1 or not np.issubdtype(values.dtype, np.floating):
    raise ValueError(
      f"score: expected a (T,) float per-frame score, got {values.dtype} {values.shape}"
    )
  return values.astype(np.float64)
