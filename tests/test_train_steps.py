"""Train steps differentiate only the stage's trainable groups."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from cmcl_jax.models import example_batch, xla_flops
from cmcl_jax.train import optim, sharding, state as state_lib, steps as steps_lib
from experiments.configs import smoke

HEAD_ONLY = dict(trainable=("classifier",))
# The same update with the encoder's gradient computed and then not applied.
ENCODER_AT_RATE_ZERO = dict(trainable=("encoder", "classifier"), lr_multipliers={"encoder": 0.0})


def _train_step(stage_overrides):
  config = smoke.get_config()
  stage = config.finetune.to_dict()
  stage.update(clip_norm=1e9, warmup_steps=0, **stage_overrides)
  parts, params = state_lib.build_model(config.model, seed=0)
  tx = optim.make_optimizer(stage, params)
  schedule = optim.learning_rate_schedule(stage)
  replicated = sharding.replicated(sharding.make_mesh())
  steps = steps_lib.make_steps("finetune", stage, parts, tx, schedule, replicated)
  batch = example_batch(state_lib.merge_model(parts, params, None).encoder, batch_size=4)
  batch["label"] = jnp.array([0, 1, 0, 1], jnp.int32)
  return steps.train, state_lib.create_train_state(params, tx, seed=0), batch


def _pure(state):
  return nnx.to_pure_dict(state.params)


def test_a_frozen_encoder_gets_the_same_head_update_without_its_backward_pass():
  head_only, start, batch = _train_step(HEAD_ONLY)
  differentiated, start_again, _ = _train_step(ENCODER_AT_RATE_ZERO)
  before = jax.tree.map(np.asarray, _pure(start))
  rng = jax.random.PRNGKey(3)
  flops_head_only = xla_flops(head_only, start, batch, rng)
  flops_differentiated = xla_flops(differentiated, start_again, batch, rng)
  after_head_only, metrics_head_only = head_only(start, batch, rng)
  after_differentiated, metrics_differentiated = differentiated(start_again, batch, rng)

  for name, after in (("head only", after_head_only), ("rate 0", after_differentiated)):
    jax.tree.map(
      lambda a, b: np.testing.assert_array_equal(a, b, err_msg=name),
      before["encoder"],
      _pure(after)["encoder"],
    )
  moved = jax.tree.map(
    lambda a, b: np.abs(np.asarray(a) - b).max(),
    _pure(after_head_only)["classifier"],
    before["classifier"],
  )
  assert max(jax.tree.leaves(moved)) > 0
  jax.tree.map(
    lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7),
    _pure(after_head_only)["classifier"],
    _pure(after_differentiated)["classifier"],
  )
  np.testing.assert_allclose(metrics_head_only["loss"], metrics_differentiated["loss"], rtol=1e-6)
  # The reported norm covers the trained groups only.
  assert metrics_head_only["grad_norm"] < metrics_differentiated["grad_norm"]
  # No backward pass through the encoder: the step costs well under the differentiated one.
  assert flops_head_only < 0.75 * flops_differentiated, (flops_head_only, flops_differentiated)


def test_stop_frozen_gradients_zeroes_exactly_the_frozen_groups():
  params = {group: {"w": jnp.ones(2)} for group in ("encoder", "projection_head", "classifier")}
  loss = lambda p: sum(jnp.sum(x**2) for x in jax.tree.leaves(p))
  grads = jax.grad(lambda p: loss(steps_lib.stop_frozen_gradients(p, ("classifier",))))(params)
  assert {g: float(jnp.sum(v["w"])) for g, v in grads.items()} == pytest.approx(
    {"encoder": 0.0, "projection_head": 0.0, "classifier": 4.0}
  )


def test_steps_import_without_the_data_and_checkpoint_libraries():
  """The jit steps import with JAX, Flax and optax alone (a bare GPU machine); the
  loop's names still resolve from `cmcl_jax.train`, on first use."""
  code = (
    "import sys\n"
    "from cmcl_jax.train import optim, sharding, state, steps\n"
    "loaded = sorted(m for m in ('grain', 'orbax', 'tensorflow_datasets') if m in sys.modules)\n"
    "assert not loaded, loaded\n"
    "import cmcl_jax.train as train\n"
    "assert train.train_and_evaluate.__module__ == 'cmcl_jax.train.loop'\n"
    "assert train.Checkpointer.__module__ == 'cmcl_jax.train.checkpoint'\n"
    "try:\n"
    "  train.no_such_name\n"
    "except AttributeError as error:\n"
    "  assert 'no_such_name' in str(error)\n"
    "else:\n"
    "  raise AssertionError('no AttributeError')\n"
  )
  result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
  assert result.returncode == 0, result.stderr[-2000:]
