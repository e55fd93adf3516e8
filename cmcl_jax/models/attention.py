"""Multi-head cross-attention: queries from one token sequence, keys/values from another."""

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

ATTENTION_IMPLEMENTATIONS = ("fused", "reference", "matmul")


def _masked_logit(dtype) -> float:
  # Finite, so a query whose keys are all masked attends uniformly instead of
  # producing NaN; the same constant as `jax.nn.dot_product_attention`.
  return -0.7 * float(jnp.finfo(dtype).max)


def reference_attention(
  query: jax.Array,
  key: jax.Array,
  value: jax.Array,
  mask: jax.Array | None = None,
) -> tuple[jax.Array, jax.Array]:
  """Scaled dot-product attention written out as einsum → mask → softmax → einsum.

  Args:
    query: (B, Nq, heads, head_dim).
    key, value: (B, Nk, heads, head_dim).
    mask: optional (B, 1, 1, Nk) bool, True = attend.

  Returns:
    (B, Nq, heads, head_dim) in `value.dtype` and the attention weights
    (B, heads, Nq, Nk) float32. Logits and softmax are float32 whatever the input
    dtype, as in the fused path.
  """
  scale = 1.0 / np.sqrt(query.shape[-1])
  logits = jnp.einsum("bqhd,bkhd->bhqk", query, key, preferred_element_type=jnp.float32) * scale
  if mask is not None:
    logits = jnp.where(mask, logits, _masked_logit(jnp.float32))
  weights = jax.nn.softmax(logits, axis=-1)
  out = jnp.einsum("bhqk,bkhd->bqhd", weights.astype(value.dtype), value)
  return out, weights


def _heads_first(t: jax.Array) -> jax.Array:
  """(B, N, heads, head_dim) → (B·heads, N, head_dim)."""
  b, n, h, d = t.shape
  return t.transpose(0, 2, 1, 3).reshape(b * h, n, d)


@jax.custom_vjp
def _attend_heads_first(query, key, value, bias):
  return _attend_forward(query, key, value, bias)[0]


def _attend_forward(query, key, value, bias):
  scale = 1.0 / np.sqrt(query.shape[-1])
  logits = jnp.matmul(query, jnp.swapaxes(key, 1, 2), preferred_element_type=jnp.float32)
  weights = jax.nn.softmax(logits * scale + bias, axis=-1)
  out = jnp.matmul(weights.astype(value.dtype), value)
  return out, (query, key, value, weights)


def _attend_backward(residuals, d_out):
  query, key, value, weights = residuals
  scale = 1.0 / np.sqrt(query.shape[-1])
  d_value = jnp.matmul(jnp.swapaxes(weights, 1, 2).astype(d_out.dtype), d_out)
  d_weights = jnp.matmul(d_out, jnp.swapaxes(value, 1, 2), preferred_element_type=jnp.float32)
  # Softmax backward: dL/dlogit = w ⊙ (dL/dw − Σ_k w_k dL/dw_k).
  d_logits = weights * (d_weights - (d_weights * weights).sum(-1, keepdims=True)) * scale
  d_query = jnp.matmul(d_logits.astype(key.dtype), key)
  d_key = jnp.matmul(jnp.swapaxes(d_logits, 1, 2).astype(query.dtype), query)
  return d_query, d_key, d_value, None


_attend_heads_first.defvjp(_attend_forward, _attend_backward)


def matmul_attention(
  query: jax.Array,
  key: jax.Array,
  value: jax.Array,
  mask: jax.Array | None = None,
) -> jax.Array:
  """Scaled dot-product attention as batched matmuls with a hand-written backward.

  The function of `reference_attention` (float32 logits and softmax, the same mask
  constant) with heads moved next to the batch and the gradient written out
  (`jax.custom_vjp`): XLA on CPU differentiates the softmax of many small
  (Nq, Nk) blocks into passes over transposed copies, and the written-out
  backward is 2.5× faster forward + backward at the default encoder's sizes
  (B 64, 100 tokens, 4 heads of 16: 33 → 13 ms on 2 cores; PyTorch's
  `scaled_dot_product_attention` 12 ms).

  Args:
    query: (B, Nq, heads, head_dim).
    key, value: (B, Nk, heads, head_dim).
    mask: optional (B, 1, 1, Nk) bool, True = attend (no gradient flows to it).

  Returns:
    (B, Nq, heads, head_dim) in `value.dtype`.
  """
  b, nq, heads, head_dim = query.shape
  nk = key.shape[1]
  if mask is None:
    bias = jnp.zeros((1, 1, nk), jnp.float32)
  else:
    bias = jnp.where(mask, 0.0, _masked_logit(jnp.float32)).astype(jnp.float32)
    bias = jnp.broadcast_to(bias, (b, heads, 1, nk)).reshape(b * heads, 1, nk)
  out = _attend_heads_first(_heads_first(query), _heads_first(key), _heads_first(value), bias)
  return out.reshape(b, heads, nq, head_dim).transpose(0, 2, 1, 3)


class CrossAttentionBlock(nnx.Module):
  """Multi-head attention of `x_q` over `x_kv`, with output projection and dropout.

  Args:
    dim: token width of both sequences and of the output.
    num_heads: number of heads; must divide `dim`.
    dropout: dropout rate on the projected output. Dropout sits after the output
      projection (not on the attention weights) so that both implementations
      compute the same function in training too.
    implementation: "fused" uses `jax.nn.dot_product_attention` (XLA picks the
      kernel: cuDNN on GPU); "reference" writes the einsum/softmax out;
      "matmul" is `matmul_attention` (batched matmuls with a written-out
      backward, the fastest on CPU).
    dtype: compute dtype (None: from inputs and parameters); `param_dtype` the
      parameter dtype.

  The block starts in eval mode (dropout off); `model.train()` / `model.eval()` or
  the `deterministic` call argument switch it.
  """

  def __init__(
    self,
    dim: int,
    num_heads: int,
    *,
    rngs: nnx.Rngs,
    dropout: float = 0.0,
    implementation: str = "fused",
    dtype=None,
    param_dtype=jnp.float32,
  ):
    if dim % num_heads:
      raise ValueError(f"num_heads={num_heads} does not divide dim={dim}")
    if implementation not in ATTENTION_IMPLEMENTATIONS:
      raise ValueError(
        f"implementation must be one of {ATTENTION_IMPLEMENTATIONS}, got {implementation!r}"
      )
    self.dim = dim
    self.num_heads = num_heads
    self.implementation = implementation

    def linear():
      return nnx.Linear(dim, dim, dtype=dtype, param_dtype=param_dtype, rngs=rngs)

    self.query, self.key, self.value, self.out = linear(), linear(), linear(), linear()
    self.dropout = nnx.Dropout(dropout, deterministic=True, rngs=rngs)

  def __call__(
    self,
    x_q: jax.Array,
    x_kv: jax.Array,
    mask: jax.Array | None = None,
    deterministic: bool | None = None,
    return_weights: bool = False,
  ):
    """Attends from `x_q` over `x_kv`.

    Args:
      x_q: (B, Nq, dim) query tokens.
      x_kv: (B, Nk, dim) key/value tokens.
      mask: optional (B, Nk) bool, True = attend. Masked keys get exactly zero
        weight; a query with every key masked attends uniformly.
      deterministic: overrides the train/eval mode for dropout; None keeps it.
      return_weights: also return the (B, heads, Nq, Nk) float32 weights. The
        fused kernel does not expose them, so this runs the reference path.

    Returns:
      (B, Nq, dim), and the weights when `return_weights`.
    """
    if x_q.ndim != 3 or x_kv.ndim != 3 or x_q.shape[0] != x_kv.shape[0]:
      raise ValueError(
        f"CrossAttentionBlock expects x_q (B, Nq, {self.dim}) and x_kv "
        f"(B, Nk, {self.dim}), got {tuple(x_q.shape)} and {tuple(x_kv.shape)}"
      )
    (b, nq, _), nk = x_q.shape, x_kv.shape[1]
    heads, head_dim = self.num_heads, self.dim // self.num_heads
    q = self.query(x_q).reshape(b, nq, heads, head_dim)
    k = self.key(x_kv).reshape(b, nk, heads, head_dim)
    v = self.value(x_kv).reshape(b, nk, heads, head_dim)

    if mask is not None:
      if mask.shape != (b, nk) or mask.dtype != jnp.bool_:
        raise ValueError(
          f"mask must be ({b}, {nk}) bool (True = attend), got {tuple(mask.shape)} {mask.dtype}"
        )
      mask = mask[:, None, None, :]

    weights = None
    if return_weights or self.implementation == "reference":
      attended, weights = reference_attention(q, k, v, mask)
    elif self.implementation == "matmul":
      attended = matmul_attention(q, k, v, mask)
    else:
      attended = jax.nn.dot_product_attention(q, k, v, mask=mask)
    out = self.out(attended.reshape(b, nq, self.dim))
    out = self.dropout(out, deterministic=deterministic)
    return (out, weights) if return_weights else out
