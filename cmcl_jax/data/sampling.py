"""Which windows a training batch holds: the split's window index and the sampling policy.

`SplitIndex` labels every window of a split expression from the trial records alone
(no window is read); `SamplingPolicy` says what a batch is made of (the ME share of a
fine-tuning batch, and where negatives come from); the samplers turn (seed, step) into
record indices: `Triplets` for pre-training (anchor, positive, negative), `Balanced`
for fine-tuning. `cmcl_jax.data.loaders` reads the windows they name, and
`cmcl_jax.analysis.planted.batch_mix` weighs the same pools (`SamplingPolicy.pools`)
to say what the batches hold on a synthetic layout.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from cmcl_jax.data import trials as trials_lib
from cmcl_jax.data import windows

POSITIVE_RESAMPLE_TRIES = 8
"""Draws to find a positive window of another expression than the anchor's."""


@dataclasses.dataclass(frozen=True)
class SplitIndex:
  """Labels of every window of a split expression, from the trial records alone.

  Attributes:
    label: (N,) int8, 1 = ME.
    kind: (N,) int8 index into `windows.KINDS`.
    row: (N,) int32 coding-file row of the window's expression (-1 none).
    trial_index: (N,) int32 position of the window's trial in `trials`.
    trials: `trials.load_trials(split)`.
    motion: (N,) float32 face motion of each window, pixels (`window_motion`).
    heart: (N,) float32 peak HRS of each window, bpm/s (`TrialInfo.window_peak_hrs`).
  """

  label: np.ndarray
  kind: np.ndarray
  row: np.ndarray
  trial_index: np.ndarray
  trials: tuple[trials_lib.TrialInfo, ...]
  motion: np.ndarray
  heart: np.ndarray

  @classmethod
  def load(cls, builder_or_dir, split: str) -> "SplitIndex":
    infos = trials_lib.load_trials(builder_or_dir, split)
    return cls(
      label=np.concatenate([t.window_label for t in infos]),
      kind=np.concatenate([t.window_kind for t in infos]),
      row=np.concatenate([t.window_row for t in infos]),
      trial_index=np.concatenate(
        [np.full(t.num_windows, i, np.int32) for i, t in enumerate(infos)]
      ),
      trials=tuple(infos),
      motion=np.concatenate([t.window_motion for t in infos]),
      heart=np.concatenate([t.window_peak_hrs for t in infos]),
    )

  def __len__(self) -> int:
    return len(self.label)

  def positives(self) -> np.ndarray:
    """Record indices of the ME windows."""
    return np.flatnonzero(self.label == 1)

  def negatives(self, kinds: Sequence[str]) -> np.ndarray:
    """Record indices of the non-ME windows whose kind is in `kinds`."""
    codes = [windows.KINDS.index(k) for k in kinds]
    return np.flatnonzero((self.label == 0) & np.isin(self.kind, codes))

  def moving_negatives(self, kinds: Sequence[str], top_share: float) -> np.ndarray:
    """The `top_share` of `negatives(kinds)` with the most face motion
    (`window_motion`): blinks, head shifts, macro-expressions and ME-like movements
    without an ME, which a detector of motion alone takes for MEs."""
    return self._top_negatives(self.motion, kinds, top_share)

  def heart_negatives(self, kinds: Sequence[str], top_share: float) -> np.ndarray:
    """The `top_share` of `negatives(kinds)` with the steepest heart-rate rise
    (`heart`): accelerations without an ME, which a detector of the ECG alone
    takes for MEs."""
    return self._top_negatives(self.heart, kinds, top_share)

  def _top_negatives(
    self, values: np.ndarray, kinds: Sequence[str], top_share: float
  ) -> np.ndarray:
    negatives = self.negatives(kinds)
    count = int(np.ceil(top_share * len(negatives)))
    order = np.argsort(-values[negatives], kind="stable")
    return np.sort(negatives[order[:count]])


@dataclasses.dataclass(frozen=True)
class SamplingPolicy:
  """What a training batch is made of; maps 1:1 onto the config section `data.sampling`.

  Class-balanced batches hold ~50× more ME windows than the data, but no more
  ME-like movements without an ME (twitches, blinks): the classifier then learns that
  motion alone means ME, and the ECG cannot teach it otherwise. Drawing a share of
  the negatives from the most moving ones restores them (hard negatives, label-free).
  The same holds the other way: heart-rate rises without an ME (spontaneous ones,
  macro-expressions) are rare, so a fused model learns that a rise alone means ME;
  a share of negatives from the steepest rises teaches it to want both.

  Attributes:
    positive_fraction: ME share of each fine-tuning batch (exactly
      `round(positive_fraction × batch_size)` windows); pre-training batches are
      triplets, two ME windows and one negative each.
    negative_kinds: window kinds that may be negatives (`windows.KINDS`): "none" (no
      expression), "macro" (a macro-expression), "partial" (part of an ME, not
      enough for the ME label).
    moving_fraction: expected share of negatives drawn from the moving ones
      (`SplitIndex.moving_negatives`). 0: none.
    moving_top_share: the moving ones are this share of the negatives, by motion.
    heart_fraction: expected share drawn from the heart-active ones
      (`SplitIndex.heart_negatives`); the rest of the negatives uniformly from all.
    heart_top_share: the heart-active ones are this share of the negatives, by peak
      HRS.
  """

  positive_fraction: float
  negative_kinds: Sequence[str]
  moving_fraction: float
  moving_top_share: float
  heart_fraction: float
  heart_top_share: float

  def __post_init__(self):
    object.__setattr__(self, "negative_kinds", tuple(self.negative_kinds))
    if not 0.0 <= self.positive_fraction <= 1.0:
      raise ValueError(f"positive_fraction={self.positive_fraction}: expected 0…1")
    for name in ("moving", "heart"):
      fraction, share = getattr(self, f"{name}_fraction"), getattr(self, f"{name}_top_share")
      if not 0.0 <= fraction <= 1.0:
        raise ValueError(f"{name}_fraction={fraction}: expected 0…1")
      if not 0.0 < share <= 1.0:
        raise ValueError(f"{name}_top_share={share}: expected (0, 1]")
    if self.moving_fraction + self.heart_fraction > 1.0:
      raise ValueError(
        f"moving_fraction + heart_fraction = "
        f"{self.moving_fraction + self.heart_fraction}: expected ≤ 1"
      )
    if not self.negative_kinds:
      raise ValueError(f"negative_kinds is empty: expected some of {windows.KINDS}")
    unknown = [k for k in self.negative_kinds if k not in windows.KINDS]
    if unknown:
      raise ValueError(f"negative_kinds {unknown}: expected some of {windows.KINDS}")

  def negative_pools(self, index: SplitIndex) -> list[tuple[float, np.ndarray]]:
    """(share of the negatives, record indices) of each negative pool: all negatives
    of `negative_kinds` (what the hard pools leave), the moving ones, the heart-active
    ones. The negative sampler draws from exactly these."""
    kinds = self.negative_kinds
    return [
      (1.0 - self.moving_fraction - self.heart_fraction, index.negatives(kinds)),
      (self.moving_fraction, index.moving_negatives(kinds, self.moving_top_share)),
      (self.heart_fraction, index.heart_negatives(kinds, self.heart_top_share)),
    ]

  def pools(self, index: SplitIndex) -> list[tuple[float, np.ndarray]]:
    """(expected share of a fine-tuning batch, record indices) of every pool the
    `Balanced` sampler draws from: the ME windows, then `negative_pools`."""
    negative = 1.0 - self.positive_fraction
    return [(self.positive_fraction, index.positives())] + [
      (negative * share, pool) for share, pool in self.negative_pools(index)
    ]


def check_pool(name: str, indices: np.ndarray, split: str, what: str) -> None:
  """Raises ValueError when a pool the `name` batches need is empty."""
  if not len(indices):
    raise ValueError(f"split {split!r} has no {what} window: cannot build {name} batches")


class Negatives:
  """Draws negatives by a `SamplingPolicy` (with replacement)."""

  def __init__(self, index: SplitIndex, policy: SamplingPolicy, split: str, name: str):
    (_, self.all), *self.hard = policy.negative_pools(index)
    check_pool(name, self.all, split, f"negative ({', '.join(policy.negative_kinds)})")

  def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
    drawn = self.all[rng.integers(len(self.all), size=size)]
    if any(fraction for fraction, _ in self.hard):
      uniform, low = rng.random(size), 0.0
      for fraction, pool in self.hard:
        chosen = (uniform >= low) & (uniform < low + fraction)
        drawn[chosen] = pool[rng.integers(len(pool), size=int(chosen.sum()))]
        low += fraction
    return drawn


class Triplets:
  """(seed, step) → (B, 3) record indices: anchor, positive, negative."""

  def __init__(self, positives, rows, negatives: Negatives, batch_size):
    self._positives, self._rows, self._negatives = positives, rows, negatives
    self._batch_size = batch_size

  def __call__(self, step: int, rng: np.random.Generator) -> np.ndarray:
    del step
    pos, rows = self._positives, self._rows
    anchor = rng.integers(len(pos), size=self._batch_size)
    other = rng.integers(len(pos), size=self._batch_size)
    for _ in range(POSITIVE_RESAMPLE_TRIES):
      same = (rows[other] == rows[anchor]) | (other == anchor)
      if not same.any():
        break
      other[same] = rng.integers(len(pos), size=int(same.sum()))
    if len(np.unique(rows)) > 1:  # keep only draws of another expression
      same = rows[other] == rows[anchor]
      for i in np.flatnonzero(same):
        candidates = np.flatnonzero(rows != rows[anchor[i]])
        other[i] = candidates[rng.integers(len(candidates))]
    negative = self._negatives.draw(rng, self._batch_size)
    return np.stack([pos[anchor], pos[other], negative], axis=1)


class Balanced:
  """(seed, step) → (B,) record indices, `num_positive` of them ME windows."""

  def __init__(self, positives, negatives: Negatives | None, batch_size, num_positive):
    self._positives, self._negatives = positives, negatives
    self._batch_size, self._num_positive = batch_size, num_positive

  def __call__(self, step: int, rng: np.random.Generator) -> np.ndarray:
    del step
    pos = self._positives[rng.integers(len(self._positives), size=self._num_positive)]
    num_negative = self._batch_size - self._num_positive
    neg = self._negatives.draw(rng, num_negative) if num_negative else pos[:0]
    return rng.permutation(np.concatenate([pos, neg]))
