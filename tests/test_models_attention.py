"""Cross-attention and stream layer against an independent NumPy float64 version."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx
from scipy.special import erf

from cmcl_jax.models import CrossAttentionBlock, StreamLayer
from cmcl_jax.models.attention import matmul_attention, reference_attention

B, NQ, NK, DIM, HEADS = 2, 5, 7, 8, 2


def relative_error(actual, expected):
  actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
  return np.linalg.norm(actual - expected) / np.linalg.norm(expected)


def linear_np(layer: nnx.Linear, x):
  return x @ np.asarray(layer.kernel[...], np.float64) + np.asarray(layer.bias[...], np.float64)


def layer_norm_np(norm: nnx.LayerNorm, x):
  mean = x.mean(-1, keepdims=True)
  var = ((x - mean) ** 2).mean(-1, keepdims=True)
  y = (x - mean) / np.sqrt(var + norm.epsilon)
  return y * np.asarray(norm.scale[...], np.float64) + np.asarray(norm.bias[...], np.float64)


def attention_np(block: CrossAttentionBlock, x_q, x_kv, mask=None):
  """Returns ((B, Nq, dim) output, (B, heads, Nq, Nk) weights) in float64."""
  heads = block.num_heads
  split = lambda t: t.reshape(t.shape[0], t.shape[1], heads, -1).transpose(0, 2, 1, 3)
  q = split(linear_np(block.query, x_q))
  k = split(linear_np(block.key, x_kv))
  v = split(linear_np(block.value, x_kv))
  logits = q @ k.transpose(0, 1, 3, 2) / np.sqrt(q.shape[-1])
  if mask is not None:
    logits = np.where(mask[:, None, None, :], logits, -np.inf)
  weights = np.exp(logits - logits.max(-1, keepdims=True))
  weights /= weights.sum(-1, keepdims=True)
  out = (weights @ v).transpose(0, 2, 1, 3).reshape(x_q.shape[0], x_q.shape[1], -1)
  return linear_np(block.out, out), weights


def stream_layer_np(layer: StreamLayer, x, context_normed):
  h = layer_norm_np(layer.norm_attn, x)
  if layer.query_from == "own":
    attended, _ = attention_np(layer.attention, h, context_normed)
  else:
    attended, _ = attention_np(layer.attention, context_normed, h)
  x = x + attended
  hidden = linear_np(layer.mlp.hidden, layer_norm_np(layer.norm_mlp, x))
  hidden = 0.5 * hidden * (1.0 + erf(hidden / np.sqrt(2.0)))
  return x + linear_np(layer.mlp.output, hidden)


def random_tokens(seed, *shape):
  return np.random.default_rng(seed).standard_normal(shape).astype(np.float32)


@pytest.mark.parametrize("implementation", ["fused", "reference", "matmul"])
def test_cross_attention_matches_numpy(implementation):
  block = CrossAttentionBlock(DIM, HEADS, implementation=implementation, rngs=nnx.Rngs(0))
  x_q, x_kv = random_tokens(1, B, NQ, DIM), random_tokens(2, B, NK, DIM)
  mask = np.random.default_rng(3).random((B, NK)) > 0.4
  mask[:, 0] = True
  expected, _ = attention_np(block, x_q.astype(np.float64), x_kv.astype(np.float64), mask)
  actual = block(jnp.asarray(x_q), jnp.asarray(x_kv), mask=jnp.asarray(mask))
  assert actual.shape == (B, NQ, DIM)
  assert relative_error(actual, expected) <= 1e-5


def test_fused_and_reference_paths_agree():
  fused = CrossAttentionBlock(DIM, HEADS, implementation="fused", rngs=nnx.Rngs(0))
  reference = CrossAttentionBlock(DIM, HEADS, implementation="reference", rngs=nnx.Rngs(0))
  x_q, x_kv = jnp.asarray(random_tokens(4, B, NQ, DIM)), jnp.asarray(random_tokens(5, B, NK, DIM))
  mask = jnp.asarray(np.arange(NK)[None, :] < np.array([[3], [NK]]))
  np.testing.assert_allclose(
    fused(x_q, x_kv, mask=mask), reference(x_q, x_kv, mask=mask), rtol=1e-5, atol=1e-6
  )


def test_matmul_attention_gradient_matches_autodiff_of_reference():
  """The hand-written backward of `matmul_attention` is the gradient of the reference."""
  q, k, v = (
    jnp.asarray(random_tokens(seed, B, n, HEADS, DIM // HEADS))
    for seed, n in ((8, NQ), (9, NK), (10, NK))
  )
  mask = jnp.asarray(np.arange(NK)[None, :] < np.array([[3], [NK]]))[:, None, None, :]
  cotangent = jnp.asarray(random_tokens(11, B, NQ, HEADS, DIM // HEADS))

  def loss(fn):
    return lambda q, k, v: (fn(q, k, v, mask) * cotangent).sum()

  expected = jax.grad(loss(lambda *a: reference_attention(*a)[0]), argnums=(0, 1, 2))(q, k, v)
  actual = jax.grad(loss(matmul_attention), argnums=(0, 1, 2))(q, k, v)
  for got, want in zip(actual, expected):
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-5)
  # The masked keys of the first row get no gradient.
  assert np.all(np.asarray(actual[1])[0, 3:] == 0.0)


def test_masked_keys_get_exactly_zero_weight():
  block = CrossAttentionBlock(DIM, HEADS, rngs=nnx.Rngs(0))
  x_q, x_kv = jnp.asarray(random_tokens(6, B, NQ, DIM)), jnp.asarray(random_tokens(7, B, NK, DIM))
  mask = np.ones((B, NK), bool)
  mask[0, [1, 4]] = False
  mask[1, 2:] = False
  out, weights = block(x_q, x_kv, mask=jnp.asarray(mask), return_weights=True)
  weights = np.asarray(weights)
  assert weights.shape == (B, HEADS, NQ, NK)
  assert np.all(weights[0][..., [1, 4]] == 0.0)
  assert np.all(weights[1][..., 2:] == 0.0)
  np.testing.assert_allclose(weights.sum(-1), 1.0, rtol=1e-6)
  # Changing a masked key's value cannot change the output.
  x_kv_changed = x_kv.at[1, 3].set(100.0)
  np.testing.assert_array_equal(out, block(x_q, x_kv_changed, mask=jnp.asarray(mask)))


def test_mask_must_be_boolean_over_keys():
  block = CrossAttentionBlock(DIM, HEADS, rngs=nnx.Rngs(0))
  x_q, x_kv = jnp.zeros((B, NQ, DIM)), jnp.zeros((B, NK, DIM))
  with pytest.raises(ValueError, match="bool"):
    block(x_q, x_kv, mask=jnp.ones((B, NK), jnp.float32))
  with pytest.raises(ValueError, match=f"\\({B}, {NK}\\)"):
    block(x_q, x_kv, mask=jnp.ones((B, NQ), bool))


@pytest.mark.parametrize("query_from", ["own", "other"])
def test_stream_layer_matches_numpy(query_from):
  layer = StreamLayer(DIM, HEADS, query_from=query_from, mlp_ratio=2.0, rngs=nnx.Rngs(1))
  # Non-trivial LayerNorm parameters, so the check sees them.
  rng = np.random.default_rng(8)
  for norm in (layer.norm_attn, layer.norm_mlp):
    norm.scale[...] = jnp.asarray(1.0 + 0.1 * rng.standard_normal(DIM), jnp.float32)
    norm.bias[...] = jnp.asarray(0.1 * rng.standard_normal(DIM), jnp.float32)
  n_context = NQ if query_from == "other" else NK
  x, context = random_tokens(9, B, NQ, DIM), random_tokens(10, B, n_context, DIM)
  expected = stream_layer_np(layer, x.astype(np.float64), context.astype(np.float64))
  actual = layer(jnp.asarray(x), jnp.asarray(context))
  assert relative_error(actual, expected) <= 1e-5


def test_stream_layer_without_context_is_self_attention():
  layer = StreamLayer(DIM, HEADS, rngs=nnx.Rngs(2))
  x = jnp.asarray(random_tokens(11, B, NQ, DIM))
  h = layer.norm_attn(x)
  expected = x + layer.attention(h, h)
  expected = expected + layer.mlp(layer.norm_mlp(expected))
  np.testing.assert_allclose(layer(x), expected, rtol=1e-6, atol=1e-6)


def test_query_from_other_needs_equal_token_counts():
  layer = StreamLayer(DIM, HEADS, query_from="other", rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="counts must be equal"):
    layer(jnp.zeros((B, NQ, DIM)), jnp.zeros((B, NK, DIM)))


def test_bfloat16_compute_with_float32_parameters():
  block32 = CrossAttentionBlock(DIM, HEADS, rngs=nnx.Rngs(0))
  block16 = CrossAttentionBlock(DIM, HEADS, dtype=jnp.bfloat16, rngs=nnx.Rngs(0))
  assert block16.query.kernel[...].dtype == jnp.float32
  x_q, x_kv = jnp.asarray(random_tokens(12, B, NQ, DIM)), jnp.asarray(random_tokens(13, B, NK, DIM))
  out16 = block16(x_q, x_kv)
  assert out16.dtype == jnp.bfloat16
  assert relative_error(out16, block32(x_q, x_kv)) <= 1e-2
