"""grain loaders and samplers over a real tiny `mecg` build: contents, balance, order,
shards, resume."""

import numpy as np
import pytest
from absl import flags

from cmcl_jax.data import loaders, sampling, trials, windows
from cmcl_jax.models.presets import model_config
from experiments.configs import base

NEUTRAL_KINDS = ("none", "macro")


def _policy(**overrides) -> sampling.SamplingPolicy:
  """The base config's sampling policy with `overrides`."""
  return sampling.SamplingPolicy(**{**base.get_config().data.sampling.to_dict(), **overrides})


@pytest.fixture(scope="module")
def dataset(tiny_built):
  """(builder, split of every subject)."""
  _, _, builder, _ = tiny_built
  return builder, "+".join(builder.info.splits.keys())


def _take(loader, n):
  iterator = iter(loader)
  return [next(iterator) for _ in range(n)]


def _assert_same(a, b):
  assert a.keys() == b.keys()
  for key in a:
    if isinstance(a[key], dict):
      _assert_same(a[key], b[key])
    else:
      np.testing.assert_array_equal(a[key], b[key])


def test_batches_match_the_tiny_model_shapes(dataset):
  builder, split = dataset
  encoder = model_config("tiny").encoder
  stats = trials.feature_stats(builder, split)
  batch = _take(
    loaders.finetune_loader(
      builder,
      split,
      batch_size=4,
      seed=0,
      policy=_policy(),
      shard_index=0,
      shard_count=1,
      features=loaders.Features(feature_stats=stats),
    ),
    1,
  )[0]
  assert batch["flow"].shape == (4, *encoder.flow_shape, 2)
  assert batch["flow"].dtype == np.float32
  assert batch["ecg"].shape == (4, encoder.ecg_length, 1)
  assert batch["ecg_features"].shape == (4, 7)  # the dataset's 7 HRV features
  np.testing.assert_allclose(batch["ecg"].mean(axis=1), 0.0, atol=1e-4)
  assert all(v.dtype != object for v in batch.values())


def test_triplet_roles(dataset):
  builder, split = dataset
  index = sampling.SplitIndex.load(builder, split)
  for batch in _take(
    loaders.pretrain_loader(
      builder, split, batch_size=8, seed=1, policy=_policy(), shard_index=0, shard_count=1
    ),
    3,
  ):
    assert (batch["anchor"]["label"] == 1).all() and (batch["positive"]["label"] == 1).all()
    assert (batch["negative"]["label"] == 0).all()
    kinds = {windows.KINDS[k] for k in batch["negative"]["kind"]}
    assert kinds <= set(NEUTRAL_KINDS)
    rows = index.row[batch["anchor"]["index"]], index.row[batch["positive"]["index"]]
    assert (rows[0] != rows[1]).all()  # the split has several MEs


def test_finetune_balance(dataset):
  builder, split = dataset
  for batch in _take(
    loaders.finetune_loader(
      builder,
      split,
      batch_size=8,
      seed=2,
      policy=_policy(positive_fraction=0.25),
      shard_index=0,
      shard_count=1,
    ),
    4,
  ):
    assert batch["label"].sum() == 2
    kinds = {windows.KINDS[k] for k, label in zip(batch["kind"], batch["label"]) if not label}
    assert kinds <= set(NEUTRAL_KINDS)


def _assert_top_negatives(index, pool, values, top_share):
  """`pool` is the `top_share` of the default negatives with the highest `values`."""
  negatives = index.negatives(NEUTRAL_KINDS)
  assert len(pool) == int(np.ceil(top_share * len(negatives)))
  assert set(pool) <= set(negatives)
  assert values[pool].min() >= values[np.setdiff1d(negatives, pool)].max()


def test_moving_negatives_are_the_most_moving_negatives(dataset):
  builder, split = dataset
  index = sampling.SplitIndex.load(builder, split)
  moving = index.moving_negatives(NEUTRAL_KINDS, top_share=0.1)
  _assert_top_negatives(index, moving, index.motion, 0.1)
  # Motion is what the windows' flow says: recomputed from a stored record.
  source, _ = loaders.open_split(builder, split)
  record = source[int(moving[0])]
  flow = np.asarray(record["flow"], np.float32)
  expected = np.linalg.norm(flow, axis=-1).mean(axis=(1, 2)).max()
  np.testing.assert_allclose(index.motion[moving[0]], expected, rtol=1e-5)


def test_negatives_split_between_moving_heart_and_uniform(dataset):
  builder, split = dataset
  index = sampling.SplitIndex.load(builder, split)
  policy = _policy(
    moving_fraction=0.3, heart_fraction=0.5, moving_top_share=0.05, heart_top_share=0.05
  )
  negatives = index.negatives(NEUTRAL_KINDS)
  moving = index.moving_negatives(policy.negative_kinds, policy.moving_top_share)
  heart = index.heart_negatives(policy.negative_kinds, policy.heart_top_share)
  drawn = sampling.Negatives(index, policy, split, "test").draw(np.random.default_rng(0), 4000)
  both = len(np.intersect1d(moving, heart))
  # Uniform draws (20 %) and the other pool's draws land in a pool by its share.
  expected_moving = 0.3 + 0.5 * both / len(heart) + 0.2 * len(moving) / len(negatives)
  expected_heart = 0.5 + 0.3 * both / len(moving) + 0.2 * len(heart) / len(negatives)
  assert abs(np.isin(drawn, moving).mean() - expected_moving) < 0.03
  assert abs(np.isin(drawn, heart).mean() - expected_heart) < 0.03
  assert set(drawn) <= set(negatives)


def test_heart_negatives_have_the_steepest_heart_rate_rise(dataset):
  builder, split = dataset
  index = sampling.SplitIndex.load(builder, split)
  heart = index.heart_negatives(NEUTRAL_KINDS, top_share=0.2)
  _assert_top_negatives(index, heart, index.heart, 0.2)
  # The peak HRS over the window's frames of the trial's stored HRS curve.
  window = int(heart[0])
  trial = index.trials[index.trial_index[window]]
  start = trial.window_starts[window - trial.first_index]
  frames = trial.record["spec"]["window_frames"]
  assert index.heart[window] == trial.hrs_bpm_per_s[start : start + frames].max()


def test_moving_negative_fraction_is_drawn(dataset):
  builder, split = dataset
  index = sampling.SplitIndex.load(builder, split)
  policy = _policy(moving_fraction=1.0, moving_top_share=0.2)
  moving = set(index.moving_negatives(policy.negative_kinds, policy.moving_top_share))
  for batch in _take(
    loaders.finetune_loader(
      builder, split, batch_size=8, seed=2, policy=policy, shard_index=0, shard_count=1
    ),
    3,
  ):
    assert set(batch["index"][batch["label"] == 0]) <= moving
  for batch in _take(
    loaders.pretrain_loader(
      builder, split, batch_size=8, seed=1, policy=policy, shard_index=0, shard_count=1
    ),
    2,
  ):
    assert set(batch["negative"]["index"]) <= moving
  with pytest.raises(ValueError, match="moving_fraction=1.5"):
    _policy(moving_fraction=1.5)
  with pytest.raises(ValueError, match="heart_top_share=0"):
    _policy(heart_top_share=0.0)
  with pytest.raises(ValueError, match="moving_fraction \\+ heart_fraction = 1.2"):
    _policy(moving_fraction=0.6, heart_fraction=0.6)
  with pytest.raises(ValueError, match="'blink'"):
    _policy(negative_kinds=("blink",))


def test_features_standardised_within_each_trial(dataset):
  builder, split = dataset
  stats = trials.trial_feature_stats(builder, split)
  features = loaders.Features(trial_feature_stats=stats)
  batches = list(
    loaders.eval_loader(
      builder, split, batch_size=64, features=features, shard_index=0, shard_count=1
    )
  )
  values = np.concatenate([b["ecg_features"][b["mask"]] for b in batches])
  trial_of = np.concatenate([b["trial_index"][b["mask"]] for b in batches])
  assert len(stats) == len(trials.load_trials(builder, split)) == len(set(trial_of))
  for trial in set(trial_of):
    mine = values[trial_of == trial]
    np.testing.assert_allclose(mine.mean(0), 0.0, atol=1e-3)
    varying = mine.std(0) > 1e-3
    np.testing.assert_allclose(mine.std(0)[varying], 1.0, atol=1e-2)
  with pytest.raises(KeyError, match="no feature statistics"):
    loaders.Features(trial_feature_stats={}).model_inputs(
      {"ecg": np.zeros(8), "ecg_features": np.zeros(6), "flow": np.zeros(1), "trial": b"s1/101"}
    )


def test_eval_is_ordered_complete_and_padded(dataset):
  builder, split = dataset
  infos = trials.load_trials(builder, split)
  expected = [(i, s) for i, t in enumerate(infos) for s in t.window_starts]
  batches = list(loaders.eval_loader(builder, split, batch_size=64, shard_index=0, shard_count=1))
  seen = [
    (t, s) for b in batches for t, s, m in zip(b["trial_index"], b["start_frame"], b["mask"]) if m
  ]
  assert seen == expected
  indices = np.concatenate([b["index"][b["mask"]] for b in batches])
  np.testing.assert_array_equal(indices, np.arange(len(expected)))
  assert (np.concatenate([b["index"] for b in batches])[len(expected) :] == -1).all()


def test_process_shards_are_disjoint_and_complete(dataset):
  builder, split = dataset
  steps = None
  covered = []
  for process in range(2):
    batches = list(
      loaders.eval_loader(builder, split, batch_size=32, shard_index=process, shard_count=2)
    )
    steps = steps or len(batches)
    assert len(batches) == steps  # every process runs the same number of steps
    covered += [b["index"][b["mask"]] for b in batches]
  covered = np.concatenate(covered)
  np.testing.assert_array_equal(np.sort(covered), np.arange(len(covered)))

  whole = _take(
    loaders.finetune_loader(
      builder, split, batch_size=8, seed=3, policy=_policy(), shard_index=0, shard_count=1
    ),
    2,
  )
  halves = [
    _take(
      loaders.finetune_loader(
        builder, split, batch_size=8, seed=3, policy=_policy(), shard_index=p, shard_count=2
      ),
      2,
    )
    for p in (0, 1)
  ]
  for step in range(2):
    np.testing.assert_array_equal(
      whole[step]["index"], np.concatenate([h[step]["index"] for h in halves])
    )


def test_resume_gives_the_same_batches(dataset):
  builder, split = dataset
  loader = loaders.pretrain_loader(
    builder, split, batch_size=4, seed=4, policy=_policy(), shard_index=0, shard_count=1
  )
  iterator = iter(loader)
  for _ in range(3):
    next(iterator)
  state = iterator.get_state()
  expected = [next(iterator) for _ in range(3)]
  resumed = iter(loader)
  resumed.set_state(state)
  for a in expected:
    _assert_same(a, next(resumed))


def test_grain_workers_give_the_same_batches(dataset):
  builder, split = dataset
  kwargs = dict(batch_size=4, seed=5, policy=_policy(), shard_index=0, shard_count=1, num_batches=3)
  inline = list(loaders.finetune_loader(builder, split, **kwargs))
  flags.FLAGS.mark_as_parsed()  # grain's workers read absl flags, as in an absl app
  workers = list(loaders.finetune_loader(builder, split, worker_count=1, **kwargs))
  assert len(workers) == 3
  for a, b in zip(inline, workers):
    _assert_same(a, b)


def test_unknown_split_names_the_choices(dataset):
  builder, _ = dataset
  with pytest.raises(ValueError, match="no split 'nobody'"):
    loaders.eval_loader(builder, "nobody", batch_size=4, shard_index=0, shard_count=1)


def test_sampling_policy_comes_from_the_data_config():
  from cmcl_jax.train import inputs
  from experiments.configs import loso_synthetic, synthetic

  data = synthetic.get_config().data
  assert inputs.sampling_policy(data).negative_kinds == NEUTRAL_KINDS
  assert inputs.sampling_policy(data).moving_fraction == 0.5
  data = loso_synthetic.get_config().data  # the demo's: windows on part of an ME too
  assert inputs.sampling_policy(data).negative_kinds == ("none", "macro", "partial")
  data.sampling.negative_kinds = ("none", "blink")
  with pytest.raises(ValueError, match="data.sampling.negative_kinds \\['blink'\\]"):
    inputs.sampling_policy(data)
  data = base.get_config().data
  data.sampling.positive_fraction = 1.5
  with pytest.raises(ValueError, match="data.sampling.positive_fraction=1.5"):
    inputs.sampling_policy(data)
  data = base.get_config().data
  data.sampling.unlock()
  data.sampling.moving_share = 0.2
  with pytest.raises(ValueError, match="unknown fields \\['moving_share'\\]"):
    inputs.sampling_policy(data)


def test_sampler_pools_are_the_batch_mix_weights(dataset):
  builder, split = dataset
  index = sampling.SplitIndex.load(builder, split)
  policy = _policy(positive_fraction=0.25, moving_fraction=0.4, heart_fraction=0.2)
  pools = policy.pools(index)
  assert [w for w, _ in pools] == pytest.approx([0.25, 0.75 * 0.4, 0.75 * 0.4, 0.75 * 0.2])
  np.testing.assert_array_equal(pools[0][1], index.positives())
  (_, every), *hard = policy.negative_pools(index)
  sampler = sampling.Negatives(index, policy, split, "test")
  np.testing.assert_array_equal(sampler.all, every)
  assert [(w, list(p)) for w, p in sampler.hard] == [(w, list(p)) for w, p in hard]


def test_grain_workers_need_parsed_absl_flags(dataset):
  builder, split = dataset
  flags.FLAGS.unparse_flags()
  with pytest.raises(RuntimeError, match="worker_count=1: grain's worker processes"):
    loaders.finetune_loader(
      builder, split, batch_size=4, seed=0, policy=_policy(), worker_count=1, num_batches=1
    )
