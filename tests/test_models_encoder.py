"""CrossModalEncoder and CMCLNet: shapes, gradients, jit, dtypes, dropout modes."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from cmcl_jax.models import MLP, PRESETS, CMCLNet, example_batch, model_config

BATCH = 2


def tiny_model(seed=0, dtype="float32", **encoder_overrides):
  config = model_config("tiny")
  config.encoder.update(encoder_overrides)
  config.dtype = dtype
  return CMCLNet.from_config(config, rngs=nnx.Rngs(seed))


@functools.partial(jax.jit, static_argnums=(0, 1))
def _apply(graphdef, method, state, batch):
  return getattr(nnx.merge(graphdef, state), method)(batch)


def apply(model, method, batch):
  """`model.method(batch)` through one jit cache shared by every test here."""
  graphdef, state = nnx.split(model)
  return _apply(graphdef, method, state, batch)


def relative_error(actual, expected):
  actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
  return np.linalg.norm(actual - expected) / np.linalg.norm(expected)


@pytest.mark.parametrize("preset", PRESETS)
@pytest.mark.parametrize(
  "modality,query_from,fusion",
  [
    ("both", "own", "concat"),
    ("both", "other", "sum"),
    ("video", "own", "concat"),
    ("ecg", "own", "sum"),
  ],
)
def test_output_shapes(preset, modality, query_from, fusion):
  config = model_config(preset)
  config.encoder.update(modality=modality, query_from=query_from, fusion=fusion)
  if preset == "default" and query_from == "other":
    config.encoder.update(ecg_length=512, ecg_patch=8)  # 64 tokens, as the video
  # Abstract construction and evaluation: shapes of every preset at no compute cost.
  abstract = nnx.eval_shape(lambda: CMCLNet.from_config(config, rngs=nnx.Rngs(0)))
  graphdef, state = nnx.split(abstract)
  batch = example_batch(abstract.encoder, BATCH)

  def output_shapes(method, **kwargs):
    call = lambda state, b: getattr(nnx.merge(graphdef, state), method)(b, **kwargs)
    return jax.eval_shape(call, state, batch)

  embedding, extra = jax.eval_shape(
    lambda state, b: nnx.merge(graphdef, state).encoder(**b, return_intermediates=True),
    state,
    batch,
  )
  dim, heads = config.encoder.dim, config.encoder.num_heads
  expected_dim = 2 * dim if (modality, fusion) == ("both", "concat") else dim
  assert embedding.shape == (BATCH, expected_dim) and embedding.dtype == jnp.float32
  streams = {"both": ("video", "ecg"), "video": ("video",), "ecg": ("ecg",)}[modality]
  assert sorted(extra["attention_weights"]) == sorted(streams)
  tokens = {s: extra[f"{s}_tokens"].shape[1] for s in streams}
  for stream in streams:
    assert extra[f"{stream}_tokens"].shape == (BATCH, tokens[stream], dim)
    weights = extra["attention_weights"][stream]
    assert len(weights) == config.encoder.depth
    keys = tokens[stream]
    if modality == "both" and query_from == "own":
      keys = tokens["ecg" if stream == "video" else "video"]
    assert weights[0].shape == (BATCH, heads, tokens[stream], keys)
  assert output_shapes("embed").shape == (BATCH, config.heads.projection_dim)
  assert output_shapes("classify").shape == (BATCH, 2)


def test_query_from_other_rejects_unequal_token_counts():
  config = model_config("default")
  config.encoder.query_from = "other"
  build = lambda: CMCLNet.from_config(config, rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="64 video tokens .* 100 ECG tokens"):
    nnx.eval_shape(build)
  config.encoder.query_from = "own"  # the common formulation takes any counts
  nnx.eval_shape(build)


def test_missing_batch_keys_are_named():
  model = tiny_model()
  batch = example_batch(model.encoder, BATCH)
  del batch["ecg_features"]
  with pytest.raises(KeyError, match="ecg_features"):
    model.classify(batch)
  video_only = tiny_model(modality="video")
  assert apply(video_only, "classify", {"flow": batch["flow"]}).shape == (BATCH, 2)


def test_wrong_input_shape_is_reported():
  model = tiny_model()
  batch = example_batch(model.encoder, BATCH)
  batch["flow"] = batch["flow"][:, :, :8]
  with pytest.raises(ValueError, match=r"flow must be \(B, 4, 16, 16, 2\)"):
    model.encode(batch)


@pytest.mark.parametrize("query_from,fusion_layer", [("other", "cross"), ("own", "gated")])
def test_every_parameter_gets_a_finite_nonzero_gradient(query_from, fusion_layer):
  model = tiny_model(query_from=query_from, fusion_layer=fusion_layer)
  for layer in [*model.encoder.video_layers, *model.encoder.ecg_layers]:
    if layer.gated:  # a closed gate (its start) passes no gradient to its attention
      layer.cross_gate[...] = jnp.asarray(0.3)
  batch = example_batch(model.encoder, BATCH)
  labels = jnp.array([0, 1])

  @nnx.jit
  def gradients(model, batch):
    def loss_fn(model):
      embedding = model.encode(batch)
      logits = model.classifier(embedding)
      projection = model.projection_head(embedding)
      xent = -jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], 1).mean()
      return xent + jnp.sum(projection[0] * projection[1])

    return nnx.grad(loss_fn)(model)

  grads = gradients(model, batch)
  flat = nnx.to_flat_state(grads)
  assert len(flat) == len(nnx.to_flat_state(nnx.state(model, nnx.Param)))
  for path, leaf in flat:
    value = np.asarray(leaf[...])
    name = "/".join(map(str, path))
    assert np.all(np.isfinite(value)), name
    assert np.any(value != 0), name


def test_jit_traces_once_per_shape():
  model = tiny_model()
  graphdef, state = nnx.split(model)
  traces = []

  @jax.jit
  def classify(state, batch):
    traces.append(jax.tree.map(jnp.shape, batch))
    return nnx.merge(graphdef, state).classify(batch)

  for seed in range(3):
    classify(state, example_batch(model.encoder, BATCH, seed=seed)).block_until_ready()
  assert len(traces) == 1
  classify(state, example_batch(model.encoder, BATCH + 1)).block_until_ready()
  classify(state, example_batch(model.encoder, BATCH + 1, seed=5)).block_until_ready()
  assert len(traces) == 2


def test_bfloat16_forward_close_to_float32():
  model32, model16 = tiny_model(), tiny_model(dtype="bfloat16")
  params16 = nnx.state(model16, nnx.Param)
  assert {p.dtype for p in jax.tree.leaves(params16)} == {jnp.dtype(jnp.float32)}
  batch = example_batch(model32.encoder, BATCH)
  emb32 = apply(model32, "encode", batch)
  emb16 = apply(model16, "encode", batch)
  assert emb16.dtype == jnp.float32
  assert relative_error(emb16, emb32) <= 1e-2


def test_dropout_only_in_train_mode():
  model = tiny_model()
  batch = example_batch(model.encoder, BATCH)
  eval_a, eval_b = apply(model, "encode", batch), apply(model, "encode", batch)
  np.testing.assert_array_equal(eval_a, eval_b)
  model.train()
  # nnx.jit carries the dropout RNG state forward: a fresh mask per call.
  encode = nnx.jit(lambda model, batch: model.encode(batch))
  train_a, train_b = encode(model, batch), encode(model, batch)
  assert not np.allclose(train_a, eval_a)
  assert not np.allclose(train_a, train_b)
  model.eval()
  np.testing.assert_array_equal(apply(model, "encode", batch), eval_a)


def test_deterministic_argument_overrides_the_mode():
  mlp = MLP(4, 32, dropout=0.5, rngs=nnx.Rngs(0))
  x = jnp.ones((3, 4))
  np.testing.assert_array_equal(mlp(x), mlp(x, deterministic=True))
  assert not np.allclose(mlp(x, deterministic=False), mlp(x))
  mlp.train()
  assert not np.allclose(mlp(x), mlp(x, deterministic=True))
