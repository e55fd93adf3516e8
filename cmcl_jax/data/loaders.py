"""grain input pipelines over the `mecg` dataset: triplets, balanced batches, spotting.

Which windows a batch holds is `cmcl_jax.data.sampling`; this module reads them.

Three loaders, each a `grain.IterDataset` of batches (dicts of NumPy arrays) read
from `tfds` array_record shards without TensorFlow:

* `pretrain_loader`: triplets {"anchor", "positive", "negative"} for the triplet
  loss. Anchor: an ME window drawn uniformly (with replacement) from the split's ME
  windows; positive: another ME window, from a *different* expression when the split
  has one (else another window of the same ME, else the anchor itself); negative: a
  window drawn by the `sampling.SamplingPolicy` (kinds, and the shares of hard ones). Two thirds
  of every batch are thus ME windows, against ~1 % of windows naturally.
* `finetune_loader`: class-balanced batches: exactly
  ``round(positive_fraction × batch_size)`` ME windows (with replacement) and the
  rest negatives (by the `SamplingPolicy`, with replacement), in random order.
* `eval_loader`: every window of the split exactly once, in dataset order (trial by
  trial, window by window), last batch padded; `mask` is False on padding.

Batch contents (model keys of `cmcl_jax.models.cmcl_net`, plus bookkeeping):
  flow          (B, T, S, S, 2) float32  face flow clip, pixels
  ecg           (B, L, 1) float32        band-passed ECG, z-scored per window
                                          (`standardize_ecg`), else mV
  ecg_features  (B, F) float32           HRV features, standardised with
                                          `feature_stats` when given
  label         (B,) int32               1 = ME
  kind          (B,) int32               index into `windows.KINDS`
  index         (B,) int64               record index in the split (-1: padding)
  trial_index   (B,) int32               position in `trials.load_trials(split)`
  start_frame, apex_frame (B,) int32
  mask          (B,) bool                eval_loader only

Determinism: the *global* batch of step s is a function of (seed, s) only (grain's
per-index random generators); process p of P takes rows ``[p·B/P, (p+1)·B/P)``, so
batches do not depend on the number of processes or grain workers. Iterators are
checkpointable: ``it = iter(loader); state = it.get_state(); …; it.set_state(state)``
resumes with exactly the same batches; with orbax, save
``grain.checkpoint.CheckpointSave(it)`` next to the train state.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping

import grain
import numpy as np
import tensorflow_datasets as tfds
from absl import flags

from cmcl_jax.data import sampling
from cmcl_jax.data import trials as trials_lib
from cmcl_jax.data.sampling import SamplingPolicy, SplitIndex

ENDLESS = 2**40
"""Number of batches of an endless training loader (never reached)."""


@dataclasses.dataclass(frozen=True)
class Features:
  """How a record becomes model inputs (see the module docstring).

  Attributes:
    standardize_ecg: z-score each window's ECG (the model's convention).
    feature_stats: (mean, std), (F,) each, for `ecg_features`, e.g.
      `trials.feature_stats(builder, train_split)`; None keeps raw values.
    trial_feature_stats: trial id → (mean, std) of its own windows' features
      (`trials.trial_feature_stats`); when given, each window's features are
      standardised within its trial instead: relative to the subject's baseline,
      as the CCF's HRS is to the trial mean, so a held-out subject's resting HR or
      HRV does not look like a training subject's.
  """

  standardize_ecg: bool = True
  feature_stats: tuple[np.ndarray, np.ndarray] | None = None
  trial_feature_stats: Mapping[str, tuple[np.ndarray, np.ndarray]] | None = None

  def model_inputs(self, record: dict) -> dict:
    """{"flow", "ecg", "ecg_features"} of one window (stored or freshly extracted)."""
    ecg = np.asarray(record["ecg"], np.float32)
    if self.standardize_ecg:
      ecg = (ecg - ecg.mean()) / (ecg.std() + 1e-6)
    features = np.asarray(record["ecg_features"], np.float32)
    if self.trial_feature_stats is not None:
      trial = record["trial"]
      trial = trial.decode() if isinstance(trial, bytes) else str(trial)
      if trial not in self.trial_feature_stats:
        raise KeyError(
          f"trial {trial!r} has no feature statistics (trial_feature_stats "
          f"holds {len(self.trial_feature_stats)} trials)"
        )
      mean, std = self.trial_feature_stats[trial]
      features = (features - mean) / std
    elif self.feature_stats is not None:
      mean, std = self.feature_stats
      features = (features - mean) / std
    return {
      "flow": np.asarray(record["flow"], np.float32),
      "ecg": ecg[:, None],
      "ecg_features": features.astype(np.float32),
    }

  def __call__(self, record: dict, index: int, trial_index: int) -> dict:
    return {
      **self.model_inputs(record),
      "label": np.int32(record["label"]),
      "kind": np.int32(record["kind"]),
      "index": np.int64(index),
      "trial_index": np.int32(trial_index),
      "start_frame": np.int32(record["start_frame"]),
      "apex_frame": np.int32(record["apex_frame"]),
    }


def open_split(builder_or_dir, split: str):
  """(tfds random-access data source, `SplitIndex`) of a split expression.

  Args:
    builder_or_dir: a prepared `mecg` builder, or its versioned dataset folder
      (``<data_dir>/mecg/<config>/<version>``).
    split: a subject split or several joined by "+".
  """
  builder = builder_or_dir
  if not hasattr(builder, "as_data_source"):
    builder = tfds.builder_from_directory(str(builder_or_dir))
  trials_lib.split_names(trials_lib.dataset_dir(builder), split)
  return builder.as_data_source(split=split), SplitIndex.load(builder, split)


def _shard(shard_index: int | None, shard_count: int | None) -> tuple[int, int]:
  if shard_index is None or shard_count is None:
    import jax  # pylint: disable=g-import-not-at-top

    shard_index, shard_count = jax.process_index(), jax.process_count()
  if not 0 <= shard_index < shard_count:
    raise ValueError(f"shard_index={shard_index}: expected 0…shard_count-1 ({shard_count})")
  return shard_index, shard_count


def _local_rows(batch_size: int, shard_index: int, shard_count: int) -> slice:
  if batch_size % shard_count:
    raise ValueError(
      f"batch_size={batch_size}: the global batch must divide evenly over {shard_count} processes"
    )
  local = batch_size // shard_count
  return slice(shard_index * local, (shard_index + 1) * local)


def _stack(examples: list[dict]) -> dict:
  return {k: np.stack([e[k] for e in examples]) for k in examples[0]}


class _ReadRows:
  """Global index rows of one batch → this process's batch of records."""

  def __init__(
    self, source, index: SplitIndex, features: Features, rows: slice, roles: tuple[str, ...] | None
  ):
    self._source = source
    self._trial_index = index.trial_index
    self._features = features
    self._rows = rows
    self._roles = roles

  def _read(self, indices) -> dict:
    return _stack(
      [self._features(self._source[int(i)], int(i), self._trial_index[i]) for i in indices]
    )

  def __call__(self, batch: np.ndarray) -> dict:
    batch = batch[self._rows]
    if self._roles is None:
      return self._read(batch)
    return {role: self._read(batch[:, j]) for j, role in enumerate(self._roles)}


def _iterate(
  dataset: grain.MapDataset, worker_count: int, num_threads: int, prefetch: int
) -> grain.IterDataset:
  iterable = dataset.to_iter_dataset(
    grain.ReadOptions(num_threads=num_threads, prefetch_buffer_size=prefetch)
  )
  if worker_count:
    if not flags.FLAGS.is_parsed():
      raise RuntimeError(
        f"worker_count={worker_count}: grain's worker processes read absl flags, which are "
        "not parsed here; run inside absl.app.run, or call absl.flags.FLAGS.mark_as_parsed() "
        "first (google/grain#1355)"
      )
    iterable = iterable.mp_prefetch(grain.MultiprocessingOptions(num_workers=worker_count))
  return iterable


def pretrain_loader(
  builder_or_dir,
  split: str,
  *,
  batch_size: int,
  seed: int,
  policy: SamplingPolicy,
  num_batches: int | None = None,
  features: Features = Features(),
  shard_index: int | None = None,
  shard_count: int | None = None,
  worker_count: int = 0,
  num_threads: int = 2,
  prefetch: int = 4,
) -> grain.IterDataset:
  """Triplet batches {"anchor", "positive", "negative"} for pre-training.

  Args:
    builder_or_dir: prepared `mecg` builder or its dataset folder.
    split: training split expression, e.g. ``"+".join(other subjects)``.
    batch_size: global triplets per step (divisible by the process count).
    seed: everything sampled is a function of (seed, step).
    policy: which windows the negatives are drawn from (its `positive_fraction` is
      for fine-tuning; a triplet holds two ME windows and one negative).
    num_batches: length; None = endless.
    features: record → model inputs.
    shard_index, shard_count: this process and the process count; default
      `jax.process_index()` / `jax.process_count()`.
    worker_count: grain worker processes (0 = read in this process).
    num_threads, prefetch: grain read threads and batches read ahead.

  Returns:
    An `IterDataset` of dicts {role: batch dict}, B / P rows each.
  """
  source, index = open_split(builder_or_dir, split)
  positives = index.positives()
  sampling.check_pool("pretrain", positives, split, "ME")
  negative_pool = sampling.Negatives(index, policy, split, "pretrain")
  rows = _local_rows(batch_size, *_shard(shard_index, shard_count))
  dataset = grain.MapDataset.range(num_batches or ENDLESS).random_map(
    sampling.Triplets(positives, index.row[positives], negative_pool, batch_size), seed=seed
  )
  dataset = dataset.map(
    _ReadRows(source, index, features, rows, ("anchor", "positive", "negative"))
  )
  return _iterate(dataset, worker_count, num_threads, prefetch)


def finetune_loader(
  builder_or_dir,
  split: str,
  *,
  batch_size: int,
  seed: int,
  policy: SamplingPolicy,
  num_batches: int | None = None,
  features: Features = Features(),
  shard_index: int | None = None,
  shard_count: int | None = None,
  worker_count: int = 0,
  num_threads: int = 2,
  prefetch: int = 4,
) -> grain.IterDataset:
  """Class-balanced batches for fine-tuning the classifier.

  Each global batch holds exactly ``round(policy.positive_fraction × batch_size)`` ME
  windows drawn with replacement from the split's ME windows, the rest drawn with
  replacement from the negatives (`policy.negative_pools`), shuffled together.
  Arguments as in `pretrain_loader`.
  """
  source, index = open_split(builder_or_dir, split)
  positives = index.positives()
  num_positive = int(round(policy.positive_fraction * batch_size))
  if num_positive:
    sampling.check_pool("finetune", positives, split, "ME")
  negative_pool = (
    sampling.Negatives(index, policy, split, "finetune") if num_positive < batch_size else None
  )
  rows = _local_rows(batch_size, *_shard(shard_index, shard_count))
  dataset = grain.MapDataset.range(num_batches or ENDLESS).random_map(
    sampling.Balanced(positives, negative_pool, batch_size, num_positive), seed=seed
  )
  dataset = dataset.map(_ReadRows(source, index, features, rows, None))
  return _iterate(dataset, worker_count, num_threads, prefetch)


class _EvalRows:
  """Eval step → this process's record indices (-1 = padding)."""

  def __init__(self, num_records: int, local: int, steps: int, shard_index: int):
    self._num_records, self._local = num_records, local
    self._first = shard_index * steps * local

  def __call__(self, step: int) -> np.ndarray:
    indices = self._first + step * self._local + np.arange(self._local)
    return np.where(indices < self._num_records, indices, -1)


class _ReadPadded(_ReadRows):
  """Like `_ReadRows` for eval: padding rows repeat record 0 and get mask False."""

  def __call__(self, indices: np.ndarray) -> dict:
    batch = self._read(np.maximum(indices, 0))
    batch["mask"] = indices >= 0
    batch["index"] = indices.astype(np.int64)
    return batch


def eval_steps(num_records: int, batch_size: int, shard_count: int) -> int:
  """Batches every process runs to cover `num_records` windows (same on all)."""
  per_process = math.ceil(num_records / shard_count)
  return math.ceil(per_process / (batch_size // shard_count))


def eval_loader(
  builder_or_dir,
  split: str,
  *,
  batch_size: int,
  features: Features = Features(),
  shard_index: int | None = None,
  shard_count: int | None = None,
  worker_count: int = 0,
  num_threads: int = 2,
  prefetch: int = 4,
) -> grain.IterDataset:
  """Every window of the split once, in dataset order, for evaluation and spotting.

  Process p of P gets the contiguous block of records
  ``[p·n, (p+1)·n)`` with ``n = eval_steps(...) × B / P``; each process runs
  `eval_steps` batches (the same number everywhere, as collectives need), padded
  at the end with mask False and index -1. `index` maps a score back to its window
  and `trial_index` to `load_trials(split)`.
  """
  source, index = open_split(builder_or_dir, split)
  shard_index, shard_count = _shard(shard_index, shard_count)
  _local_rows(batch_size, shard_index, shard_count)
  local = batch_size // shard_count
  steps = eval_steps(len(index), batch_size, shard_count)
  dataset = grain.MapDataset.range(steps).map(_EvalRows(len(index), local, steps, shard_index))
  dataset = dataset.map(_ReadPadded(source, index, features, slice(None), None))
  return _iterate(dataset, worker_count, num_threads, prefetch)
