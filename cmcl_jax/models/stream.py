"""One layer of one stream of the fusion encoder.

`fusion_layer="cross"` is the paper's figure, per stream:

    tokens ─┬─ LayerNorm ── Cross-Attention ─(+)─┬─ LayerNorm ── MLP ─(+)─ tokens'
            └───────────── residual ──────────────┘└────── residual ─────┘

`fusion_layer="gated"` keeps the stream's own self-attention and adds the other
stream through a cross-attention scaled by tanh(g), g a learned scalar starting at 0
(the gated cross-attention of Flamingo, Alayrac et al. 2022):

    x ← x + SelfAttention(LN(x));  x ← x + tanh(g)·CrossAttention(LN'(x), other);
    x ← x + MLP(LN''(x))

so a fused stream starts as the single-modality stream (same parameter names) and
takes in the other stream only as far as training opens the gate.

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
FUSION_LAYERS = ("cross", "gated")


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
    attention_implementation: "fused", "reference" or "matmul" (see
      `CrossAttentionBlock`).
    fusion_layer: "cross" (the attention reads the other stream) or "gated"
      (self-attention, then gated cross-attention; module docstring).
    cross_modal: whether the layer will be given the other stream's tokens; a
      "gated" layer builds its cross-attention and gate only then.
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
    fusion_layer: str = "cross",
    cross_modal: bool = False,
    dtype=None,
    param_dtype=jnp.float32,
  ):
    if query_from not in QUERY_SOURCES:
      raise ValueError(f"query_from must be one of {QUERY_SOURCES}, got {query_from!r}")
    if fusion_layer not in FUSION_LAYERS:
      raise ValueError(f"fusion_layer must be one of {FUSION_LAYERS}, got {fusion_layer!r}")
    self.query_from = query_from
    self.gated = fusion_layer == "gated" and cross_modal

    def attention_block():
      return CrossAttentionBlock(
        dim,
        num_heads,
        dropout=dropout,
        implementation=attention_implementation,
        dtype=dtype,
        param_dtype=param_dtype,
        rngs=rngs,
      )

    self.norm_attn = nnx.LayerNorm(dim, dtype=dtype, param_dtype=param_dtype, rngs=rngs)
    self.attention = attention_block()
    if self.gated:
      self.norm_cross = nnx.LayerNorm(dim, dtype=dtype, param_dtype=param_dtype, rngs=rngs)
      self.cross_attention = attention_block()
      self.cross_gate = nnx.Param(jnp.zeros((), param_dtype))
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
      mask: optional (B, Nk) bool key mask over whichever sequence gives the keys
        of the attention that reads `context`: `context` for query_from="own",
        `x` for "other"; self-attention's keys for a single modality.
      deterministic: overrides the train/eval mode for dropout.
      return_weights: also return the (B, heads, Nq, Nk) weights of the attention
        that reads `context` (the self-attention's for a single modality).

    Returns:
      (B, N, dim), and the weights when `return_weights`.
    """
    if context is not None and self.gated:
      h = self.norm_attn(x)
      x = x + self.attention(h, h, deterministic=deterministic)
      out = self._attend(
        self.cross_attention, self.norm_cross(x), context, mask, deterministic, return_weights
      )
      attended, weights = out if return_weights else (out, None)
      x = x + jnp.tanh(self.cross_gate[...]).astype(attended.dtype) * attended
    else:
      out = self._attend(
        self.attention, self.norm_attn(x), context, mask, deterministic, return_weights
      )
      attended, weights = out if return_weights else (out, None)
      x = x + attended
    x = x + self.mlp(self.norm_mlp(x), deterministic=deterministic)
    return (x, weights) if return_weights else x

  def _attend(self, attention, h, context, mask, deterministic, return_weights):
    """`attention` of this stream's normalised tokens `h` (B, N, dim) with `context`,
    queries on the side `query_from` names; self-attention when `context` is None."""
    if context is None:
      queries, keys = h, h
    elif self.query_from == "own":
      queries, keys = h, context
    else:
      if context.shape[1] != h.shape[1]:
        raise ValueError(
          f"query_from='other' adds the attention output over the other stream's "
          f"{context.shape[1]} tokens to this stream's {h.shape[1]} tokens; the "
          "counts must be equal (change the patch sizes or use query_from='own')"
        )
      queries, keys = context, h
    return attention(
      queries, keys, mask=mask, deterministic=deterministic, return_weights=return_weights
    )
