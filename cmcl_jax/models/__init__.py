"""Flax NNX modules of CMCL-Net.

Building blocks (`PatchEmbed3D`, `PatchEmbed1D`, `CrossAttentionBlock`, `MLP`,
`StreamLayer`, `ChannelAttention`, `VideoBackbone`, `ECGBackbone`), the
`CrossModalEncoder`, its heads (`ProjectionHead`, `Classifier`), the `CMCLNet`
wrapper with its presets (`model_config`) and cost helpers (`count_parameters`,
`forward_flops`, `xla_flops`, `compiled_flops`, `example_batch`).
"""

from cmcl_jax.models.attention import CrossAttentionBlock, reference_attention
from cmcl_jax.models.cmcl_net import CMCLNet
from cmcl_jax.models.cost import (
  compiled_flops,
  count_parameters,
  example_batch,
  forward_flops,
  xla_flops,
)
from cmcl_jax.models.ecg_backbone import ECGBackbone, TemporalBlock
from cmcl_jax.models.encoder import CrossModalEncoder
from cmcl_jax.models.heads import Classifier, ProjectionHead
from cmcl_jax.models.mlp import MLP
from cmcl_jax.models.patch_embed import PatchEmbed1D, PatchEmbed3D
from cmcl_jax.models.presets import PRESETS, model_config
from cmcl_jax.models.stream import StreamLayer
from cmcl_jax.models.video_backbone import ChannelAttention, VideoBackbone

__all__ = [
  "compiled_flops",
  "CMCLNet",
  "ChannelAttention",
  "Classifier",
  "CrossAttentionBlock",
  "CrossModalEncoder",
  "ECGBackbone",
  "MLP",
  "PRESETS",
  "PatchEmbed1D",
  "PatchEmbed3D",
  "ProjectionHead",
  "StreamLayer",
  "TemporalBlock",
  "VideoBackbone",
  "count_parameters",
  "example_batch",
  "forward_flops",
  "model_config",
  "reference_attention",
  "xla_flops",
]
