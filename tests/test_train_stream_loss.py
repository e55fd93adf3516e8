"""Fine-tuning with per-stream auxiliary classifiers (`finetune.stream_loss_weight`)."""

import jax
import numpy as np
import pytest
from flax import nnx

from cmcl_jax.models import example_batch, model_config
from cmcl_jax.models.cmcl_net import CMCLNet
from cmcl_jax.train import loop, optim, sharding, steps
from cmcl_jax.train.state import build_model, create_train_state, merge_model
from experiments.configs import smoke


def _stage(weight):
  return dict(steps=4, lr=1e-2, warmup_steps=0, schedule="constant", end_lr_factor=0.0,
              weight_decay=0.0, clip_norm=1.0, lr_multipliers={},
              trainable=("encoder", "classifier", "stream_classifier"),
              loss="cross_entropy", class_weights=None, focal_gamma=2.0,
              stream_loss_weight=weight)


def _one_step(weight, model_cfg):
  parts, params = build_model(model_cfg, seed=0)
  stage = _stage(weight)
  tx = optim.make_optimizer(stage, params)
  state = create_train_state(params, tx, seed=0)
  mesh = sharding.make_mesh()
  step = steps.make_steps("finetune", stage, parts, tx, optim.learning_rate_schedule(stage),
                          sharding.replicated(mesh))
  batch = example_batch(merge_model(parts, params, None).encoder, 4)
  batch["label"] = np.array([1, 0, 1, 0], np.int32)
  before = jax.tree.map(np.asarray, params)
  new_state, metrics = step.train(state, batch, jax.random.PRNGKey(1))
  return parts, before, new_state, metrics, batch


def test_stream_loss_trains_the_stream_heads_and_adds_to_the_loss():
  cfg = model_config("tiny")
  cfg.heads.stream_classifiers = True
  parts, before, state, metrics, batch = _one_step(1.0, cfg)
  moved = jax.tree.map(lambda a, b: float(np.abs(np.asarray(a) - b).max()),
                       state.params["stream_classifier"], before["stream_classifier"])
  assert min(jax.tree.leaves(moved)) > 0  # every stream-head parameter was updated
  model = merge_model(parts, jax.tree.map(np.asarray, before), None)
  model.eval()
  fused, per_stream = model.classify_streams(batch)
  assert set(per_stream) == {"video", "ecg"} and fused.shape == (4, 2)
  assert float(metrics["stream_loss"]) > 0
  assert float(metrics["loss"]) > float(metrics["stream_loss"])

  _, before0, state0, metrics0, _ = _one_step(0.0, cfg)
  assert "stream_loss" not in metrics0  # weight 0: the heads exist but get no gradient
  np.testing.assert_array_equal(
      jax.tree.leaves(state0.params["stream_classifier"])[0],
      jax.tree.leaves(before0["stream_classifier"])[0])


def test_single_stream_models_have_no_stream_heads():
  cfg = model_config("tiny")
  cfg.heads.stream_classifiers = True
  cfg.encoder.modality = "video"
  model = CMCLNet.from_config(cfg, rngs=nnx.Rngs(0))
  assert not model.has_stream_classifiers
  with pytest.raises(ValueError, match="two-stream model"):
    model.classify_streams(example_batch(model.encoder, 2))


@pytest.mark.parametrize("change, message", [
    (dict(weight=-1.0), "must be ≥ 0"),
    (dict(weight=1.0, heads=False), "stream_classifiers=True"),
    (dict(weight=1.0, modality="video"), "modality='both'"),
    (dict(weight=1.0, trainable=("encoder", "classifier")), "add 'stream_classifier'"),
])
def test_bad_stream_loss_configs_are_named(change, message):
  config = smoke.get_config()
  config.finetune.stream_loss_weight = change["weight"]
  config.model.heads.stream_classifiers = change.get("heads", True)
  config.model.encoder.modality = change.get("modality", "both")
  config.finetune.trainable = change.get(
      "trainable", ("encoder", "classifier", "stream_classifier"))
  with pytest.raises(ValueError, match=message):
    loop.check_config(config)
