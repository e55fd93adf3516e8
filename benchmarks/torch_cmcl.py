"""CMCL-Net written in PyTorch, for the JAX-vs-PyTorch step-rate benchmark only.

The same architecture and sizes as `cmcl_jax.models.CMCLNet` with `query_from="own"`
and `fusion="concat"`, built from the same model config: 3-D CNN stages (pool →
Conv3d → GroupNorm → GELU → squeeze-excitation), dilated residual TCN with the
hand-made features added, patch embeddings with learned positions, pre-norm
cross-attention + MLP stream layers, mean-pool fusion, projection head (L2
normalised) and classifier. Tensors use PyTorch's channels-first layout inside;
batches come in the JAX layout (B, T, H, W, 2) / (B, L, 1) / (B, F).
Not part of the library (`torch` is only in the `dev` extra).
"""

import math

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F


def _same_padding(size: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
  """XLA "SAME" padding (low, high) of one axis."""
  span = (kernel - 1) * dilation + 1
  total = max((math.ceil(size / stride) - 1) * stride + span - size, 0)
  return total // 2, total - total // 2


class ChannelAttention(nn.Module):
  """Squeeze-and-excitation gate over (B, C, ...) channels."""

  def __init__(self, channels: int, reduction: int):
    super().__init__()
    hidden = max(1, channels // reduction)
    self.squeeze, self.excite = nn.Linear(channels, hidden), nn.Linear(hidden, channels)

  def forward(self, x):
    gate = torch.sigmoid(self.excite(F.relu(self.squeeze(x.mean(dim=(2, 3, 4))))))
    return x * gate[:, :, None, None, None]


class ConvStage(nn.Module):
  """(AvgPool3d) → Conv3d "SAME" → GroupNorm → GELU → channel attention."""

  def __init__(self, in_shape, c_in, c_out, kernel, stride, reduction, pool_first):
    super().__init__()
    self.pool = tuple(stride) if pool_first and any(s > 1 for s in stride) else None
    conv_stride = (1, 1, 1) if pool_first else tuple(stride)
    shape = [n // s for n, s in zip(in_shape, stride)] if self.pool else in_shape
    pads = [_same_padding(n, k, s) for n, k, s in zip(shape, kernel, conv_stride)]
    self.padding = tuple(p for pair in reversed(pads) for p in pair)  # F.pad order
    self.conv = nn.Conv3d(c_in, c_out, tuple(kernel), conv_stride, bias=False)
    self.norm = nn.GroupNorm(math.gcd(c_out, 8), c_out, eps=1e-6)
    self.attention = ChannelAttention(c_out, reduction)

  def forward(self, x):
    if self.pool is not None:
      x = F.avg_pool3d(x, self.pool, self.pool)
    return self.attention(F.gelu(self.norm(self.conv(F.pad(x, self.padding)))))


class TemporalBlock(nn.Module):
  """Residual block of two dilated Conv1d → GroupNorm with GELU."""

  def __init__(self, channels: int, kernel: int, dilation: int):
    super().__init__()

    def conv():
      return nn.Conv1d(channels, channels, kernel, dilation=dilation, padding="same", bias=False)

    groups = math.gcd(channels, 8)
    self.conv1, self.norm1 = conv(), nn.GroupNorm(groups, channels, eps=1e-6)
    self.conv2, self.norm2 = conv(), nn.GroupNorm(groups, channels, eps=1e-6)

  def forward(self, x):
    h = F.gelu(self.norm1(self.conv1(x)))
    return F.gelu(x + self.norm2(self.conv2(h)))


class ECGBackbone(nn.Module):
  """Stem Conv1d, dilated residual blocks, hand-made features added: (B, C, L)."""

  def __init__(self, e):
    super().__init__()
    self.stem = nn.Conv1d(1, e["ecg_channels"], 7, padding="same")
    self.blocks = nn.Sequential(
      *[TemporalBlock(e["ecg_channels"], e["ecg_kernel_size"], d) for d in e["ecg_dilations"]]
    )
    self.feature_projection = nn.Linear(e["ecg_num_features"], e["ecg_channels"])

  def forward(self, ecg, features):
    y = self.blocks(self.stem(ecg.transpose(1, 2)))
    return y + self.feature_projection(features)[:, :, None]


class Tokens(nn.Module):
  """Linear projection of flattened patches plus a learned position table."""

  def __init__(self, patch_dim: int, tokens: int, dim: int):
    super().__init__()
    self.projection = nn.Linear(patch_dim, dim)
    self.table = nn.Parameter(0.02 * torch.randn(tokens, dim))

  def forward(self, patches):
    return self.projection(patches) + self.table


class MLP(nn.Module):
  def __init__(self, dim: int, hidden: int, dropout: float):
    super().__init__()
    self.hidden, self.output = nn.Linear(dim, hidden), nn.Linear(hidden, dim)
    self.dropout = nn.Dropout(dropout)

  def forward(self, x):
    return self.dropout(self.output(self.dropout(F.gelu(self.hidden(x)))))


class CrossAttention(nn.Module):
  def __init__(self, dim: int, heads: int, dropout: float):
    super().__init__()
    self.heads = heads
    self.query, self.key = nn.Linear(dim, dim), nn.Linear(dim, dim)
    self.value, self.out = nn.Linear(dim, dim), nn.Linear(dim, dim)
    self.dropout = nn.Dropout(dropout)

  def forward(self, x_q, x_kv):
    b, nq, d = x_q.shape

    def split(t):
      return t.reshape(b, t.shape[1], self.heads, d // self.heads).transpose(1, 2)

    out = F.scaled_dot_product_attention(
      split(self.query(x_q)), split(self.key(x_kv)), split(self.value(x_kv))
    )
    return self.dropout(self.out(out.transpose(1, 2).reshape(b, nq, d)))


class StreamLayer(nn.Module):
  """One stream layer, queries from this stream (`query_from="own"`).

  fusion_layer "cross": x + CrossAttention(LN(x), context), then the MLP;
  "gated": x + SelfAttention(LN(x)), x + tanh(g)·CrossAttention(LN'(x), context)
  with g starting at 0, then the MLP — as `cmcl_jax.models.stream.StreamLayer`.
  """

  def __init__(self, dim: int, heads: int, mlp_ratio: float, dropout: float, gated: bool):
    super().__init__()
    self.gated = gated
    self.norm_attn = nn.LayerNorm(dim, eps=1e-6)
    self.attention = CrossAttention(dim, heads, dropout)
    if gated:
      self.norm_cross = nn.LayerNorm(dim, eps=1e-6)
      self.cross_attention = CrossAttention(dim, heads, dropout)
      self.cross_gate = nn.Parameter(torch.zeros(()))
    self.norm_mlp = nn.LayerNorm(dim, eps=1e-6)
    self.mlp = MLP(dim, int(dim * mlp_ratio), dropout)

  def forward(self, x, context):
    if self.gated:
      h = self.norm_attn(x)
      x = x + self.attention(h, h)
      x = x + torch.tanh(self.cross_gate) * self.cross_attention(self.norm_cross(x), context)
    else:
      x = x + self.attention(self.norm_attn(x), context)
    return x + self.mlp(self.norm_mlp(x))


class Head(nn.Module):
  """Linear → GELU → (dropout) → Linear, the JAX heads' `hidden` / `output`."""

  def __init__(self, in_dim: int, hidden: int, out_dim: int, dropout: float = 0.0):
    super().__init__()
    self.hidden, self.output = nn.Linear(in_dim, hidden), nn.Linear(hidden, out_dim)
    self.dropout = nn.Dropout(dropout)

  def forward(self, x):
    return self.output(self.dropout(F.gelu(self.hidden(x))))


class TorchCMCLNet(nn.Module):
  """CMCL-Net from a `model_config(...)`: modality "both", query_from "own", concat
  fusion, fusion_layer "cross" or "gated". Submodules carry the JAX model's names
  (`load_jax_params`)."""

  def __init__(self, config):
    super().__init__()
    e, h = config["encoder"], config["heads"]
    if (e["modality"], e["query_from"], e["fusion"]) != ("both", "own", "concat"):
      raise ValueError(
        "the PyTorch twin implements modality='both', query_from='own', fusion='concat' only"
      )
    shape, stages = tuple(e["flow_shape"]), []
    for index, (c_in, c_out, stride) in enumerate(
      zip((2, *e["video_channels"][:-1]), e["video_channels"], e["video_strides"])
    ):
      stages.append(
        ConvStage(
          shape,
          c_in,
          c_out,
          e["video_kernel_size"],
          stride,
          e["channel_reduction"],
          pool_first=index > 0,
        )
      )
      shape = tuple(-(-n // s) for n, s in zip(shape, stride))
    self.video_backbone = nn.Sequential(*stages)
    self.tubelet = tuple(e["video_tubelet"])
    dim, channels = e["dim"], e["video_channels"][-1]
    video_tokens = math.prod(n // p for n, p in zip(shape, self.tubelet))
    self.video_embed = Tokens(math.prod(self.tubelet) * channels, video_tokens, dim)
    self.ecg_backbone = ECGBackbone(e)
    self.ecg_patch = e["ecg_patch"]
    self.ecg_embed = Tokens(
      self.ecg_patch * e["ecg_channels"], e["ecg_length"] // self.ecg_patch, dim
    )
    gated = e.get("fusion_layer", "cross") == "gated"

    def layers():
      return nn.ModuleList(
        [
          StreamLayer(dim, e["num_heads"], e["mlp_ratio"], e["dropout"], gated)
          for _ in range(e["depth"])
        ]
      )

    self.video_layers, self.ecg_layers = layers(), layers()
    self.video_norm, self.ecg_norm = nn.LayerNorm(dim, eps=1e-6), nn.LayerNorm(dim, eps=1e-6)
    self.projection_head = Head(2 * dim, h["projection_hidden_dim"], h["projection_dim"])
    self.classifier = Head(
      2 * dim, h["classifier_hidden_dim"], h.get("num_classes", 2), h["classifier_dropout"]
    )

  def encode(self, batch):
    """Fused embedding (B, 2·dim) from a JAX-layout batch of tensors."""
    x = self.video_backbone(batch["flow"].permute(0, 4, 1, 2, 3))  # (B, C, T, H, W)
    b, c, t, hh, ww = x.shape
    pt, ph, pw = self.tubelet
    x = x.reshape(b, c, t // pt, pt, hh // ph, ph, ww // pw, pw)
    video = self.video_embed(x.permute(0, 2, 4, 6, 3, 5, 7, 1).reshape(b, -1, pt * ph * pw * c))
    y = self.ecg_backbone(batch["ecg"], batch["ecg_features"])  # (B, C, L)
    ecg = self.ecg_embed(y.transpose(1, 2).reshape(b, -1, self.ecg_patch * y.shape[1]))
    for video_layer, ecg_layer in zip(self.video_layers, self.ecg_layers):
      video_context, ecg_context = ecg_layer.norm_attn(ecg), video_layer.norm_attn(video)
      video, ecg = video_layer(video, video_context), ecg_layer(ecg, ecg_context)
    return torch.cat([self.video_norm(video).mean(1), self.ecg_norm(ecg).mean(1)], dim=-1)

  def embed(self, batch):
    return F.normalize(self.projection_head(self.encode(batch)), dim=-1, eps=1e-6)

  def classify(self, batch):
    return self.classifier(self.encode(batch))


def _torch_name(jax_path: str) -> str:
  """The state-dict key of a `CMCLNet` parameter path (e.g.
  "encoder.video_backbone.stages.0.conv.kernel" → "video_backbone.0.conv.weight")."""
  name = jax_path.removeprefix("encoder.")
  for jax_part, torch_part in (
    ("video_backbone.stages.", "video_backbone."),
    ("position.table", "table"),
    (".kernel", ".weight"),
    (".scale", ".weight"),
  ):
    name = name.replace(jax_part, torch_part)
  return name


def load_jax_params(model: TorchCMCLNet, params) -> None:
  """Copies a JAX `CMCLNet`'s parameters (`nnx.State`) into the twin, in place.

  Kernels change layout: Linear (in, out) → (out, in); Conv (k…, C_in, C_out) →
  (C_out, C_in, k…); position tables (N, dim) stay as they are. Every twin parameter must be set exactly once.
  """
  from flax import nnx  # the twin loads JAX weights only for the equivalence check

  own = model.state_dict()
  loaded = set()
  for path, value in nnx.to_flat_state(params):
    array = torch.from_numpy(np.array(value[...], dtype=np.float32))
    jax_path = ".".join(map(str, path))
    name = _torch_name(jax_path)
    if name not in own:
      raise KeyError(f"the PyTorch twin has no parameter for {jax_path} ({name})")
    if jax_path.endswith(".kernel") and array.ndim >= 3:
      array = array.permute(array.ndim - 1, array.ndim - 2, *range(array.ndim - 2))
    elif jax_path.endswith(".kernel"):
      array = array.T
    if tuple(array.shape) != tuple(own[name].shape):
      raise ValueError(f"{name}: JAX {tuple(array.shape)} vs PyTorch {tuple(own[name].shape)}")
    own[name].copy_(array)
    loaded.add(name)
  missing = sorted(set(dict(model.named_parameters())) - loaded)
  if missing:
    raise KeyError(f"JAX parameters did not set the twin's {missing}")


def batch_hard_triplet_loss(embeddings, labels, margin: float, anchor_mask):
  """The same loss as `cmcl_jax.train.losses.batch_hard_triplet_loss`."""
  n = embeddings.shape[0]
  dist = torch.cdist(embeddings, embeddings).clamp_min(1e-6)
  same = labels[:, None] == labels[None, :]
  positive = same & ~torch.eye(n, dtype=torch.bool, device=embeddings.device)
  hardest_positive = dist.masked_fill(~positive, -math.inf).amax(1)
  hardest_negative = dist.masked_fill(same, math.inf).amin(1)
  valid = positive.any(1) & (~same).any(1) & anchor_mask
  hinge = F.relu(
    torch.where(valid, hardest_positive - hardest_negative + margin, torch.zeros_like(dist[:, 0]))
  )
  return hinge.sum() / valid.sum().clamp_min(1)


def make_optimizer(model: TorchCMCLNet, stage) -> torch.optim.AdamW:
  """AdamW over the stage's trainable groups (decay on ndim ≥ 2), as `optim.make_optimizer`."""
  groups = []
  for name in stage["trainable"]:
    factor = dict(stage["lr_multipliers"]).get(name, 1.0)
    params = (
      list(getattr(model, name).parameters())
      if name != "encoder"
      else [
        p
        for n, p in model.named_parameters()
        if not n.startswith(("projection_head", "classifier"))
      ]
    )
    for decay in (True, False):
      chosen = [p for p in params if (p.ndim >= 2) == decay]
      groups.append(
        {
          "params": chosen,
          "lr": stage["lr"] * factor,
          "weight_decay": stage["weight_decay"] if decay else 0.0,
        }
      )
  return torch.optim.AdamW(groups)


def pretrain_step(model, optimizer, batch, margin: float, clip_norm: float) -> float:
  """One batch-hard triplet update on {"anchor", "positive", "negative"} views."""
  views = ("anchor", "positive", "negative")
  stacked = {k: torch.cat([batch[v][k] for v in views]) for k in batch["anchor"]}
  b = batch["anchor"]["flow"].shape[0]
  device = batch["anchor"]["flow"].device
  labels = torch.cat(
    [
      torch.ones(2 * b, dtype=torch.long, device=device),
      torch.zeros(b, dtype=torch.long, device=device),
    ]
  )
  optimizer.zero_grad(set_to_none=True)
  loss = batch_hard_triplet_loss(model.embed(stacked), labels, margin, labels == 1)
  loss.backward()
  torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
  optimizer.step()
  return loss


def finetune_step(model, optimizer, batch, class_weights, clip_norm: float):
  """One weighted cross-entropy update on a labelled batch."""
  optimizer.zero_grad(set_to_none=True)
  loss = F.cross_entropy(model.classify(batch), batch["label"], weight=class_weights)
  loss.backward()
  torch.nn.utils.clip_grad_norm_(model.parameters(), clip_norm)
  optimizer.step()
  return loss
