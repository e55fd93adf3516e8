"""Loss values against hand-computed numbers; optimizer parameter groups."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from cmcl_jax.train import losses, optim


def _unit(*rows):
  x = np.asarray(rows, np.float32)
  return jnp.asarray(x / np.linalg.norm(x, axis=1, keepdims=True))


def test_triplet_loss_given_triplets():
  anchor = _unit([1, 0], [1, 0])
  positive = _unit([0, 1], [1, 0])  # distances √2 and 0
  negative = _unit([-1, 0], [1, 0])  # distances 2 and 0
  # max(√2 − 2 + 0.5, 0) = 0 and max(0 − 0 + 0.5, 0) = 0.5 → mean 0.25
  got = losses.triplet_loss(anchor, positive, negative, margin=0.5)
  np.testing.assert_allclose(got, 0.25, rtol=1e-6)
  got = losses.triplet_loss(anchor, positive, negative, margin=1.0)
  np.testing.assert_allclose(got, ((math.sqrt(2) - 1) + 1.0) / 2, rtol=1e-6)


def test_batch_hard_takes_farthest_positive_and_closest_negative():
  e = _unit([1, 0], [0, 1], [1, 1], [-1, 0])
  labels = jnp.array([1, 1, 1, 0])
  # Anchor 0: positives at √2 (row 1) and 0.765 (row 2) → √2; negative row 3 at 2.
  # Anchor 1: positives √2, 0.765 → √2; negative at √2.
  # Anchor 2: positives 0.765, 0.765; negative at 1.848. Anchor 3 has no positive.
  d12 = math.sqrt(2 - math.sqrt(2))
  d23 = math.sqrt(2 + math.sqrt(2))
  hinges = [
    max(math.sqrt(2) - 2 + 0.5, 0),
    max(math.sqrt(2) - math.sqrt(2) + 0.5, 0),
    max(d12 - d23 + 0.5, 0),
  ]
  got = losses.batch_hard_triplet_loss(e, labels, margin=0.5)
  np.testing.assert_allclose(got, np.mean(hinges), rtol=1e-5)
  only_first = losses.batch_hard_triplet_loss(
    e, labels, margin=0.5, anchor_mask=jnp.array([True, False, False, False])
  )
  np.testing.assert_allclose(only_first, hinges[0], atol=1e-6)


def test_batch_hard_gradient_is_finite_for_identical_rows():
  e = _unit([1, 0], [1, 0], [0, 1])
  grad = jax.grad(lambda x: losses.batch_hard_triplet_loss(x, jnp.array([1, 1, 0]), 0.5))(e)
  assert np.isfinite(np.asarray(grad)).all()


def test_weighted_cross_entropy():
  logits = jnp.array([[2.0, 0.0], [0.0, 1.0], [1.0, 1.0]])
  labels = jnp.array([0, 1, 1])
  ce = [math.log(1 + math.exp(-2)), math.log(1 + math.exp(-1)), math.log(2)]
  np.testing.assert_allclose(losses.weighted_cross_entropy(logits, labels), np.mean(ce), rtol=1e-6)
  weighted = (1 * ce[0] + 3 * ce[1] + 3 * ce[2]) / 7
  np.testing.assert_allclose(
    losses.weighted_cross_entropy(logits, labels, class_weights=(1.0, 3.0)), weighted, rtol=1e-6
  )
  masked = losses.weighted_cross_entropy(
    logits, labels, (1.0, 3.0), mask=jnp.array([True, True, False])
  )
  np.testing.assert_allclose(masked, (ce[0] + 3 * ce[1]) / 4, rtol=1e-6)


def test_focal_loss():
  logits = jnp.array([[2.0, 0.0], [0.0, 1.0]])
  labels = jnp.array([0, 1])
  p = [1 / (1 + math.exp(-2)), 1 / (1 + math.exp(-1))]
  terms = [(1 - pi) ** 2 * -math.log(pi) for pi in p]
  np.testing.assert_allclose(
    losses.focal_loss(logits, labels, gamma=2.0), np.mean(terms), rtol=1e-6
  )
  np.testing.assert_allclose(
    losses.focal_loss(logits, labels, gamma=2.0, class_weights=(0.25, 0.75)),
    (0.25 * terms[0] + 0.75 * terms[1]) / 1.0,
    rtol=1e-6,
  )
  np.testing.assert_allclose(
    losses.focal_loss(logits, labels, gamma=0.0),
    losses.weighted_cross_entropy(logits, labels),
    rtol=1e-6,
  )


def test_classification_loss_rejects_unknown_name_and_bad_weights():
  with pytest.raises(ValueError, match="loss must be one of"):
    losses.classification_loss("hinge", jnp.zeros((1, 2)), jnp.zeros((1,), int))
  with pytest.raises(ValueError, match="one weight per class"):
    losses.weighted_cross_entropy(jnp.zeros((1, 2)), jnp.zeros((1,), int), (1.0,))


def _stage(**overrides):
  stage = dict(
    steps=10,
    lr=1e-2,
    warmup_steps=2,
    schedule="cosine",
    end_lr_factor=0.0,
    weight_decay=0.0,
    clip_norm=1.0,
    trainable=("encoder", "classifier"),
    lr_multipliers={"encoder": 0.1},
  )
  stage.update(overrides)
  return stage


def test_schedule_warms_up_then_decays():
  schedule = optim.learning_rate_schedule(_stage())
  np.testing.assert_allclose(
    [schedule(0), schedule(1), schedule(2), schedule(10)], [0.0, 5e-3, 1e-2, 0.0], atol=1e-8
  )
  constant = optim.learning_rate_schedule(_stage(schedule="constant"))
  np.testing.assert_allclose(constant(9), 1e-2)
  with pytest.raises(ValueError, match="schedule must be one of"):
    optim.learning_rate_schedule(_stage(schedule="step"))


def test_groups_frozen_and_scaled():
  params = {
    group: {"kernel": jnp.zeros((3, 2)), "bias": jnp.zeros(2)}
    for group in ("encoder", "projection_head", "classifier")
  }
  tx = optim.make_optimizer(_stage(clip_norm=1e9, warmup_steps=0, schedule="constant"), params)
  grads = jax.tree.map(jnp.ones_like, params)
  updates, _ = tx.update(grads, tx.init(params), params)
  largest = {}
  for group, update in zip(
    jax.tree.leaves(optim.parameter_groups(params)), jax.tree.leaves(updates)
  ):
    largest[group] = max(largest.get(group, 0.0), float(jnp.max(jnp.abs(update))))
  # Adam's first step moves every trained parameter by lr (× the group multiplier).
  np.testing.assert_allclose(
    [largest["encoder"], largest["classifier"], largest["projection_head"]],
    [1e-3, 1e-2, 0.0],
    rtol=1e-5,
  )
  with pytest.raises(ValueError, match="unknown parameter groups"):
    optim.make_optimizer(_stage(trainable=("decoder",)), params)


def test_anchor_pulls_toward_the_starting_weights():
  start = {"encoder": {"kernel": jnp.ones((2, 2))}}
  anchor = optim.anchor_to_start(0.5)
  state = anchor.init(start)
  moved = {"encoder": {"kernel": jnp.full((2, 2), 3.0)}}
  grads = {"encoder": {"kernel": jnp.full((2, 2), 0.25)}}
  pulled, _ = anchor.update(grads, state, moved)
  np.testing.assert_allclose(pulled["encoder"]["kernel"], 0.25 + 0.5 * (3.0 - 1.0))
  with pytest.raises(ValueError, match="needs the parameters"):
    anchor.update(grads, state)


@pytest.mark.parametrize("anchor_weight", [0.0, 1.0])
def test_an_anchored_stage_stops_short_of_the_data_optimum(anchor_weight):
  """Loss ½‖θ − 2‖² from θ₀ = 0: plain training reaches 2, anchored the MAP point 1."""
  params = {"classifier": {"kernel": jnp.zeros((2, 2))}}
  stage = _stage(
    steps=600, lr=0.05, warmup_steps=0, schedule="constant", clip_norm=1e9,
    trainable=("classifier",), lr_multipliers={}, anchor_weight=anchor_weight,
  )  # fmt: skip
  tx = optim.make_optimizer(stage, params)
  opt_state = tx.init(params)
  for _ in range(stage["steps"]):
    grads = jax.tree.map(lambda p: p - 2.0, params)
    updates, opt_state = tx.update(grads, opt_state, params)
    params = optax.apply_updates(params, updates)
  expected = 2.0 / (1.0 + anchor_weight)
  np.testing.assert_allclose(params["classifier"]["kernel"], expected, atol=0.05)
