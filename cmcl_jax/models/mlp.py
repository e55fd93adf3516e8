"""Token-wise feed-forward network of the stream layers."""

import jax
import jax.numpy as jnp
from flax import nnx

from cmcl_jax.models.activations import gelu


class MLP(nnx.Module):
  """Linear → GELU → dropout → Linear → dropout, applied to every token.

  Args:
    dim: input and output width.
    hidden_dim: width of the hidden layer.
    dropout: dropout rate after the activation and after the output layer.

  Call: (..., dim) → (..., dim). Starts in eval mode (dropout off).
  """

  def __init__(
    self,
    dim: int,
    hidden_dim: int,
    *,
    rngs: nnx.Rngs,
    dropout: float = 0.0,
    dtype=None,
    param_dtype=jnp.float32,
  ):
    self.hidden = nnx.Linear(dim, hidden_dim, dtype=dtype, param_dtype=param_dtype, rngs=rngs)
    self.output = nnx.Linear(hidden_dim, dim, dtype=dtype, param_dtype=param_dtype, rngs=rngs)
    self.dropout = nnx.Dropout(dropout, deterministic=True, rngs=rngs)

  def __call__(self, x: jax.Array, deterministic: bool | None = None) -> jax.Array:
    x = gelu(self.hidden(x))
    x = self.dropout(x, deterministic=deterministic)
    return self.dropout(self.output(x), deterministic=deterministic)
