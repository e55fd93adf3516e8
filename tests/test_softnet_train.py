"""SOFTNet training: the jit step, deterministic batches, the authors' sampling, a real fit."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from cmcl_jax.baselines import softnet_features, softnet_train as st


def tiny_problem(n=48, seed=0):
  """Normalised inputs whose label is 1 where the u channel's mouth half is bright."""
  rng = np.random.default_rng(seed)
  inputs = rng.random((n, 42, 42, 3), dtype=np.float32) * 0.5
  labels = (np.arange(n) % 2).astype(np.float32)
  inputs[labels == 1, 21:, :, 0] += 0.5
  return inputs, labels


def mse(params, inputs, labels):
  return float(np.mean((st.predict(params, inputs) - labels) ** 2))


def test_fit_lowers_the_loss_and_is_deterministic():
  inputs, labels = tiny_problem()
  _, start = st.init_params(seed=0)
  params = st.fit(inputs, labels, steps=40, batch_size=12, seed=0, learning_rate=0.01)
  assert mse(params, inputs, labels) < 0.5 * mse(start, inputs, labels)
  again = st.fit(inputs, labels, steps=40, batch_size=12, seed=0, learning_rate=0.01)
  for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(again)):
    np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def test_train_step_is_pure_sgd_on_the_mse():
  inputs, labels = tiny_problem(n=12)
  graphdef, params = st.init_params(seed=1)
  tx = optax.sgd(st.LEARNING_RATE)
  state = st.TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params))
  batch = {"features": jnp.asarray(inputs), "label": jnp.asarray(labels)}
  loss_and_grad = jax.value_and_grad(lambda p: st.mse_loss(graphdef, p, batch), has_aux=True)
  (loss, _), grads = jax.jit(loss_and_grad)(params)
  expected = jax.tree.map(lambda p, g: p - st.LEARNING_RATE * g, params, grads)
  new_state, metrics = st.make_train_step(graphdef, tx)(state, batch)
  assert int(new_state.step) == 1 and set(metrics) == {"loss", "mae"}
  assert float(metrics["loss"]) == pytest.approx(float(loss), rel=1e-5)
  for a, b in zip(jax.tree.leaves(new_state.params), jax.tree.leaves(expected)):
    np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)


def test_batches_cover_each_epoch_and_repeat_with_the_seed():
  batches = list(st.batch_indices(10, 4, steps=5, seed=3))
  assert all(len(b) == 4 for b in batches)
  flat = np.concatenate(batches)
  assert sorted(flat[:10]) == list(range(10))  # epoch 1 is a permutation
  np.testing.assert_array_equal(flat, np.concatenate(list(st.batch_indices(10, 4, 5, seed=3))))
  assert st.steps_for_epochs(25) == 10 * 3  # batch 12: ceil(25 / 12) steps an epoch


def test_training_set_drops_half_the_negatives_and_augments_positives():
  rng = np.random.default_rng(0)
  features = rng.normal(1.0, 0.5, size=(12, 42, 42, 3)).astype(np.float32)
  labels = np.array([0] * 10 + [1] * 2, np.float32)
  inputs, targets = st.training_set(features, labels, augment_positives=True, seed=0)
  # 10 negatives → 5; 2 positives + 3 copies each.
  assert inputs.shape == (13, 42, 42, 3) and targets.tolist() == [0] * 5 + [1] * 8
  assert inputs.min() >= 0 and inputs.max() <= 1
  np.testing.assert_allclose(inputs[7], softnet_features.normalize(features[10, :, ::-1]))
  plain, plain_targets = st.training_set(features, labels, augment_positives=False, seed=0)
  assert len(plain) == 7 and plain_targets.sum() == 2
  np.testing.assert_array_equal(plain, inputs[:7])  # the same negatives kept for a seed
  with pytest.raises(ValueError, match=r"labels: expected \(12,\), one per input"):
    st.training_set(features, labels[:5], augment_positives=False, seed=0)


def test_augment_noise_is_clipped_like_scikit_image():
  image = np.full((42, 42, 3), 2.0, np.float32)  # flow magnitudes above 1 px
  flipped, blurred, noisy = st.augment(image, np.random.default_rng(0))
  assert flipped.shape == blurred.shape == noisy.shape == (42, 42, 3)
  np.testing.assert_allclose(blurred, 2.0, rtol=1e-6)
  assert noisy.max() <= 1.0 and noisy.min() >= 0.0
  signed = st.augment(np.full((42, 42, 3), -0.5, np.float32), np.random.default_rng(0))[2]
  assert signed.min() >= -1.0 and signed.min() < -0.5


def test_fit_checks_its_inputs():
  with pytest.raises(ValueError, match=r"inputs: expected \(N >= 1, 42, 42, 3\)"):
    st.fit(np.zeros((4, 42, 42, 2), np.float32), np.zeros(4, np.float32), steps=1)
  with pytest.raises(ValueError, match="steps=0"):
    st.fit(np.zeros((4, 42, 42, 3), np.float32), np.zeros(4, np.float32), steps=0)
