"""The cross-modal feature encoder: two backbones, patch tokens, fused streams.

1. flow (B, T, H, W, 2) → VideoBackbone → PatchEmbed3D → video tokens (B, Nv, dim)
2. ecg (B, L, 1) and ecg_features (B, F) → ECGBackbone → PatchEmbed1D
   → ECG tokens (B, Ne, dim)
3. `depth` pairs of StreamLayers, one per stream, each attending to the other stream
   (`fusion_layer`: "cross" as in the paper's figure, or "gated": own self-attention
   plus a gated cross-attention that starts closed; `cmcl_jax.models.stream`)
4. per stream LayerNorm → mean over tokens; fusion: concat (B, 2·dim) or sum (B, dim)

A single-modality encoder (the ablation rows "video only" / "ECG only") keeps one
stream and runs self-attention in its layers, so it is a complete model on its own.
"""

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from cmcl_jax.models.ecg_backbone import ECGBackbone
from cmcl_jax.models.patch_embed import PatchEmbed1D, PatchEmbed3D
from cmcl_jax.models.stream import FUSION_LAYERS, StreamLayer
from cmcl_jax.models.video_backbone import VideoBackbone

MODALITIES = ("both", "video", "ecg")
FUSIONS = ("concat", "sum")


class CrossModalEncoder(nnx.Module):
  """Dual-stream (or single-stream) encoder returning a fused window embedding.

  Args:
    modality: "both", "video" or "ecg".
    query_from: "own" (default: each stream queries the other; token counts may
      differ) or "other" (the paper's figure: the other stream queries this one;
      needs equal token counts, checked here). Ignored for a single modality.
    fusion: "concat" (D = 2·dim) or "sum" (D = dim) of the mean-pooled streams.
    fusion_layer: "cross" (each layer's attention reads the other stream, as in the
      paper) or "gated" (self-attention plus a tanh-gated cross-attention whose gate
      starts at 0, so the fused encoder starts as two single-modality ones).
    flow_shape: (T, H, W) of the optical-flow clips.
    video_channels, video_strides, video_kernel_size, channel_reduction,
      video_conv: the `VideoBackbone` (video_conv is its `conv_implementation`,
      "xla", "frames" or "patches").
    video_tubelet: (pt, ph, pw) tubelet over the backbone's feature map.
    ecg_length: L, ECG samples per window.
    ecg_num_features: F, hand-made ECG features per window.
    ecg_channels, ecg_dilations, ecg_kernel_size: the `ECGBackbone`.
    ecg_patch: backbone samples per ECG token.
    ecg_tokens: ECG tokens; 0 (default) for ecg_length / ecg_patch. A larger count
      zero-pads the backbone's output at the end to ecg_tokens · ecg_patch samples
      (e.g. 500 samples → 64 tokens of 8, to match 64 video tokens for
      query_from="other").
    dim, depth, num_heads, mlp_ratio, dropout: the stream layers.
    attention_implementation: "fused", "reference" or "matmul" (`CrossAttentionBlock`).
    pos_embedding: "learned", "sinusoidal" or "none", for both streams.
    dtype: compute dtype (e.g. jnp.bfloat16); param_dtype: parameter dtype.

  Starts in eval mode; `encoder.train()` turns dropout on.
  """

  def __init__(
    self,
    *,
    modality: str = "both",
    query_from: str = "own",
    fusion: str = "concat",
    fusion_layer: str = "cross",
    flow_shape: Sequence[int] = (8, 32, 32),
    video_channels: Sequence[int] = (16, 32, 64),
    video_strides: Sequence[Sequence[int]] = ((1, 2, 2), (2, 2, 2), (1, 1, 1)),
    video_kernel_size: Sequence[int] = (3, 3, 3),
    channel_reduction: int = 4,
    video_conv: str = "xla",
    video_tubelet: Sequence[int] = (1, 2, 2),
    ecg_length: int = 500,
    ecg_num_features: int = 7,
    ecg_channels: int = 32,
    ecg_dilations: Sequence[int] = (1, 2, 4, 8),
    ecg_kernel_size: int = 3,
    ecg_patch: int = 5,
    ecg_tokens: int = 0,
    dim: int = 64,
    depth: int = 2,
    num_heads: int = 4,
    mlp_ratio: float = 2.0,
    dropout: float = 0.0,
    attention_implementation: str = "fused",
    pos_embedding: str = "learned",
    dtype=None,
    param_dtype=jnp.float32,
    rngs: nnx.Rngs,
  ):
    if modality not in MODALITIES:
      raise ValueError(f"modality must be one of {MODALITIES}, got {modality!r}")
    if fusion not in FUSIONS:
      raise ValueError(f"fusion must be one of {FUSIONS}, got {fusion!r}")
    if fusion_layer not in FUSION_LAYERS:
      raise ValueError(f"fusion_layer must be one of {FUSION_LAYERS}, got {fusion_layer!r}")
    self.modality = modality
    self.depth = depth
    self.fusion = fusion
    self.dtype = dtype
    self.param_dtype = param_dtype
    self.uses_video = modality in ("both", "video")
    self.uses_ecg = modality in ("both", "ecg")
    common = dict(dtype=dtype, param_dtype=param_dtype, rngs=rngs)

    def stream_layers():
      return nnx.List(
        [
          StreamLayer(
            dim,
            num_heads,
            query_from=query_from,
            mlp_ratio=mlp_ratio,
            dropout=dropout,
            attention_implementation=attention_implementation,
            fusion_layer=fusion_layer,
            cross_modal=modality == "both",
            **common,
          )
          for _ in range(depth)
        ]
      )

    if self.uses_video:
      self.video_backbone = VideoBackbone(
        flow_shape,
        video_channels,
        video_strides,
        kernel_size=video_kernel_size,
        channel_reduction=channel_reduction,
        conv_implementation=video_conv,
        **common,
      )
      *feature_grid, feature_channels = self.video_backbone.output_shape
      self.video_embed = PatchEmbed3D(
        feature_grid,
        feature_channels,
        dim,
        video_tubelet,
        pos_embedding=pos_embedding,
        **common,
      )
      self.video_layers = stream_layers()
      self.video_norm = nnx.LayerNorm(dim, **common)
    if self.uses_ecg:
      self.ecg_backbone = ECGBackbone(
        ecg_length,
        ecg_num_features,
        ecg_channels,
        ecg_dilations,
        kernel_size=ecg_kernel_size,
        **common,
      )
      length, channels = self.ecg_backbone.output_shape
      self.ecg_embed = PatchEmbed1D(
        length,
        channels,
        dim,
        ecg_patch,
        num_patches=ecg_tokens or None,
        pos_embedding=pos_embedding,
        **common,
      )
      self.ecg_layers = stream_layers()
      self.ecg_norm = nnx.LayerNorm(dim, **common)

    if modality == "both" and query_from == "other":
      nv, ne = self.video_embed.num_patches, self.ecg_embed.num_patches
      if nv != ne:
        raise ValueError(
          "query_from='other' needs as many video tokens as ECG tokens, got "
          f"{nv} video tokens (feature map {tuple(feature_grid)} / tubelet "
          f"{tuple(video_tubelet)}) and {ne} ECG tokens (length {ecg_length} / "
          f"patch {ecg_patch}); change video_tubelet, ecg_patch or ecg_tokens, or use "
          "query_from='own'"
        )
    self.embedding_dim = 2 * dim if modality == "both" and fusion == "concat" else dim

  def __call__(
    self,
    flow: jax.Array | None = None,
    ecg: jax.Array | None = None,
    ecg_features: jax.Array | None = None,
    *,
    deterministic: bool | None = None,
    return_intermediates: bool = False,
  ):
    """Encodes one batch of windows.

    Args:
      flow: (B, T, H, W, 2) float32 optical flow, pixels per frame (video modes).
      ecg: (B, L, 1) float32 band-passed ECG, standardised per window (ECG modes).
      ecg_features: (B, F) float32 standardised hand-made features (ECG modes).
      deterministic: overrides the train/eval mode for dropout.
      return_intermediates: also return a dict with the per-stream tokens
        "video_tokens" (B, Nv, dim) / "ecg_tokens" (B, Ne, dim) (final LayerNorm
        applied) and "attention_weights": {"video": [...], "ecg": [...]}, one
        (B, heads, Nq, Nk) float32 array per layer (computed by the reference path).

    Returns:
      embedding (B, embedding_dim) float32, and the dict when requested.
    """
    video_tokens = ecg_tokens = None
    if self.uses_video:
      if flow is None:
        raise ValueError(f"modality={self.modality!r} needs `flow` (B, T, H, W, 2)")
      video_tokens = self.video_embed(self.video_backbone(flow))
    if self.uses_ecg:
      if ecg is None or ecg_features is None:
        raise ValueError(
          f"modality={self.modality!r} needs `ecg` (B, L, 1) and `ecg_features` (B, F)"
        )
      ecg_tokens = self.ecg_embed(self.ecg_backbone(ecg, ecg_features))

    def run(layer, x, context, weights):
      out = layer(x, context, deterministic=deterministic, return_weights=return_intermediates)
      if not return_intermediates:
        return out
      weights.append(out[1])
      return out[0]

    weights = {"video": [], "ecg": []}
    for depth_index in range(self.depth):
      video_layer = self.video_layers[depth_index] if self.uses_video else None
      ecg_layer = self.ecg_layers[depth_index] if self.uses_ecg else None
      video_context = ecg_context = None  # self-attention for a single modality
      if self.modality == "both":
        # Each cross-attention reads the other stream through that stream's own
        # LayerNorm, taken before either stream is updated.
        video_context = ecg_layer.norm_attn(ecg_tokens)
        ecg_context = video_layer.norm_attn(video_tokens)
      if self.uses_video:
        video_tokens = run(video_layer, video_tokens, video_context, weights["video"])
      if self.uses_ecg:
        ecg_tokens = run(ecg_layer, ecg_tokens, ecg_context, weights["ecg"])

    streams = {}
    if self.uses_video:
      streams["video"] = self.video_norm(video_tokens)
    if self.uses_ecg:
      streams["ecg"] = self.ecg_norm(ecg_tokens)
    pooled = [t.mean(axis=1) for t in streams.values()]
    if self.fusion == "concat":
      embedding = jnp.concatenate(pooled, axis=-1)
    else:
      embedding = sum(pooled[1:], pooled[0])
    embedding = embedding.astype(jnp.float32)
    if not return_intermediates:
      return embedding
    intermediates = {f"{name}_tokens": t for name, t in streams.items()}
    intermediates["attention_weights"] = {name: weights[name] for name in streams}
    return embedding, intermediates
