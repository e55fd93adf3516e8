"""Heads on the fused embedding: triplet-loss projection and ME / non-ME classifier."""

import jax
import jax.numpy as jnp
from flax import nnx

from cmcl_jax.models.activations import gelu


class ProjectionHead(nnx.Module):
  """Linear → GELU → Linear → L2 normalisation, for the triplet loss.

  Call: (B, in_dim) → (B, out_dim) float32 with unit L2 norm per row.
  """

  def __init__(
    self,
    in_dim: int,
    hidden_dim: int,
    out_dim: int,
    *,
    rngs: nnx.Rngs,
    dtype=None,
    param_dtype=jnp.float32,
  ):
    self.hidden = nnx.Linear(in_dim, hidden_dim, dtype=dtype, param_dtype=param_dtype, rngs=rngs)
    self.output = nnx.Linear(hidden_dim, out_dim, dtype=dtype, param_dtype=param_dtype, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    z = self.output(gelu(self.hidden(x)))
    z = z.astype(jnp.float32)
    # The floor keeps the gradient finite for an all-zero row.
    norm = jnp.sqrt(jnp.maximum(jnp.sum(z * z, axis=-1, keepdims=True), 1e-12))
    return z / norm


class Classifier(nnx.Module):
  """Linear → GELU → dropout → Linear: window logits.

  Call: (B, in_dim) → (B, num_classes) float32 logits; class 1 = ME, 0 = non-ME.
  Starts in eval mode (dropout off).
  """

  def __init__(
    self,
    in_dim: int,
    hidden_dim: int,
    num_classes: int = 2,
    *,
    rngs: nnx.Rngs,
    dropout: float = 0.0,
    dtype=None,
    param_dtype=jnp.float32,
  ):
    self.hidden = nnx.Linear(in_dim, hidden_dim, dtype=dtype, param_dtype=param_dtype, rngs=rngs)
    self.dropout = nnx.Dropout(dropout, deterministic=True, rngs=rngs)
    self.output = nnx.Linear(
      hidden_dim, num_classes, dtype=dtype, param_dtype=param_dtype, rngs=rngs
    )

  def __call__(self, x: jax.Array, deterministic: bool | None = None) -> jax.Array:
    h = gelu(self.hidden(x))
    h = self.dropout(h, deterministic=deterministic)
    return self.output(h).astype(jnp.float32)
