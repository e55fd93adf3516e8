"""One layer of one stream of the fusion encoder (the paper's figure, per stream).

    tokens ─┬─ LayerNorm ── Cross-Attention ─(+)─┬─ LayerNorm ── MLP ─(+)─ tokens'
            └───────────── residual ──────────────┘└────── residual ─────┘

The cross-attention reads the other stream's tokens *after that stream's own
LayerNorm* (`norm_attn`), so one LayerNorm per stream feeds both cross-attentions,
as in the figure.
"""

import jax
import jax.numpy as jnp
from flax import nnx

from cmcl_jax.models.attention import CrossAttentionBlock
from cmcl_jax.models.mlp import MLP

QUERY_SOURCES = ("own", "other")


class StreamLayer(nnx.Module):
  """Pre-norm attention + MLP layer of one stream.

  Args:
    dim: token width.
    num_heads: attention heads.
    query_from: "own" — this stream's tokens query the other stream (keys/values
      from the other stream; any token counts); "other" — the other stream's tokens
      query this stream (as drawn in the paper), the result is added to this
      stream's residual, so both streams need the same token count.
    mlp_ratio: MLP hidden width / dim.
    dropout: dropout rate in attention output and MLP.
    attention_implementation: "fused" or "reference" (see `CrossAttentionBlock`).
  """

  def __init__(
    self,
    dim: int,
    num_heads: int,
    *,
    rngs: nnx.Rngs,
    query_from: str = "own",
    mlp_ratio: float = 4.0,
    dropout: float = 0.0,
    attention_implementation: str = "fused",
    dtype=None,
    param_dtype=jnp.float32,
  ):
    if query_from not in QUERY_SOURCES:
      raise ValueError(f"query_from must be one of {QUERY_SOURCES}, got {query_from!r}")
    self.query_from = query_from
    self.norm_attn = nnx.LayerNorm(dim, dtype=dtype, param_dtype=param_dtype, rngs=rngs)
    self.attention = CrossAttentionBlock(
      dim,
      num_heads,
      dropout=dropout,
      implementation=attention_implementation,
      dtype=dtype,
      param_dtype=param_dtype,
      rngs=rngs,
    )
    self.norm_mlp = nnx.LayerNorm(dim, dtype=dtype, param_dtype=param_dtype, rngs=rngs)
    self.mlp = MLP(
      dim,
      int(dim * mlp_ratio),
      dropout=dropout,
      dtype=dtype,
      param_dtype=param_dtype,
      rngs=rngs,
    )

  def __call__(
    self,
    x: jax.Array,
    context: jax.Array | None = None,
    *,
    mask: jax.Array | None = None,
    deterministic: bool | None = None,
    return_weights: bool = False,
  ):
    """Updates this stream's tokens.

    Args:
      x: (B, N, dim) this stream's tokens.
      context: (B, Nc, dim) the other stream's tokens, already normalised by that
        stream's `norm_attn`; None runs self-attention (single-modality encoder).
      mask: optional (B, Nk) bool key mask over whichever sequence gives the keys:
        `context` for query_from="own", `x` for "other" or self-attention.
      deterministic: overrides the train/eval mode for dropout.
      return_weights: also return the (B, heads, Nq, Nk) attention weights.

    Returns:
      (B, N, dim), and the weights when `return_weights`.
    """
    h = self.norm_attn(x)
    if context is None:
      queries, keys = h, h
    elif self.query_from == "own":
      queries, keys = h, context
    else:
      if context.shape[1] != x.shape[1]:
        raise ValueError(
          f"query_from='other' adds the attention output over the other stream's "
          f"{context.shape[1]} tokens to this stream's {x.shape[1]} tokens; the "
          "counts must be equal (change the patch sizes or use query_from='own')"
        )
      queries, keys = context, h
    out = self.attention(
      queries,
      keys,
      mask=mask,
      deterministic=deterministic,
      return_weights=return_weights,
    )
    attended, weights = out if return_weights else (out, None)
    x = x + attended
    x = x + self.mlp(self.norm_mlp(x), deterministic=deterministic)
    return (x, weights) if return_weights else x
