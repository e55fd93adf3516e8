"""Video stream backbone: a small 3-D CNN with channel attention over optical flow.

The paper uses CA-I3D (I3D with channel attention). This is the same idea sized for
CPU: a strided stem convolution, then stages that average-pool (where strided) and
convolve, each Conv3D → GroupNorm → GELU → channel attention. GroupNorm instead
of BatchNorm keeps the model free of running statistics, so train and eval compute
the same function apart from dropout.
"""

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from cmcl_jax.models.activations import gelu
from cmcl_jax.models.conv_utils import (
  CONV_IMPLEMENTATIONS,
  conv3d_as_frame_convs,
  conv3d_as_matmul,
  conv_kernel_init,
  group_count,
)
from cmcl_jax.models.norms import GroupNorm


_CONV_FUNCTIONS = {"patches": conv3d_as_matmul, "frames": conv3d_as_frame_convs}
"""The CPU forms of `nnx.Conv` ("xla"), by `conv_implementation`."""


class ChannelAttention(nnx.Module):
  """Squeeze-and-excitation gate: rescale channels by a function of their means.

  Args:
    channels: C.
    reduction: bottleneck factor; the hidden width is max(1, C // reduction).

  Call: (B, ..., C) → (B, ..., C), x · sigmoid(W2 relu(W1 mean(x))).
  """

  def __init__(
    self, channels: int, reduction: int = 4, *, rngs: nnx.Rngs, dtype=None, param_dtype=jnp.float32
  ):
    hidden = max(1, channels // reduction)
    self.squeeze = nnx.Linear(channels, hidden, dtype=dtype, param_dtype=param_dtype, rngs=rngs)
    self.excite = nnx.Linear(hidden, channels, dtype=dtype, param_dtype=param_dtype, rngs=rngs)

  def __call__(self, x: jax.Array) -> jax.Array:
    pooled = x.mean(axis=tuple(range(1, x.ndim - 1)))
    gate = jax.nn.sigmoid(self.excite(jax.nn.relu(self.squeeze(pooled))))
    return x * gate.reshape(x.shape[0], *([1] * (x.ndim - 2)), -1).astype(x.dtype)


class _ConvStage(nnx.Module):
  """(Average pool) → Conv3D → GroupNorm → GELU → channel attention.

  A stage downsamples by `stride` either inside a strided convolution
  (`pool_first=False`, used for the stem, whose input gradient is never needed) or
  by average pooling before a stride-1 convolution (`pool_first=True`). The
  second form is I3D's pooling-between-blocks; it is used for every later stage
  because XLA on CPU computes the input gradient of a strided 3-D convolution
  through a slow path (over 20× slower than pool + convolution, measured by
  benchmarks/model_speed.py).
  """

  def __init__(
    self,
    in_channels,
    out_channels,
    kernel_size,
    stride,
    reduction,
    *,
    pool_first,
    conv_implementation,
    rngs,
    dtype,
    param_dtype,
  ):
    self.conv_implementation = conv_implementation
    self.pool = stride if pool_first and any(s > 1 for s in stride) else None
    self.conv = nnx.Conv(
      in_channels,
      out_channels,
      kernel_size,
      strides=(1, 1, 1) if pool_first else stride,
      padding="SAME",
      use_bias=False,
      kernel_init=conv_kernel_init(),
      dtype=dtype,
      param_dtype=param_dtype,
      rngs=rngs,
    )
    self.norm = GroupNorm(
      out_channels,
      num_groups=group_count(out_channels),
      dtype=dtype,
      param_dtype=param_dtype,
      rngs=rngs,
    )
    self.attention = ChannelAttention(
      out_channels, reduction, dtype=dtype, param_dtype=param_dtype, rngs=rngs
    )

  def __call__(self, x):
    if self.pool is not None:
      x = nnx.avg_pool(x, self.pool, self.pool, padding="SAME", count_include_pad=False)
    if self.conv_implementation in _CONV_FUNCTIONS:
      kernel = self.conv.kernel[...].astype(self.conv.dtype or x.dtype)
      conv = _CONV_FUNCTIONS[self.conv_implementation]
      x = conv(x.astype(kernel.dtype), kernel, self.conv.strides)
    else:
      x = self.conv(x)
    return self.attention(gelu(self.norm(x)))


class VideoBackbone(nnx.Module):
  """3-D CNN with channel attention over optical-flow clips.

  Args:
    input_shape: (T, H, W) of the flow clips.
    channels: output channels of each stage.
    strides: (st, sh, sw) of each stage, one per entry of `channels`; the first
      stage's convolution is strided, later stages average-pool first.
    kernel_size: (kt, kh, kw) of every convolution.
    channel_reduction: squeeze-excitation bottleneck factor.
    in_channels: 2 for (dx, dy) optical flow.
    conv_implementation: "xla" (`nnx.Conv`, XLA's 3-D convolution: GPU, TPU),
      "frames" (the same convolution as one 2-D convolution of the time-stacked
      frames, `conv_utils.conv3d_as_frame_convs`: the fastest on CPU) or "patches"
      (patch matrix × kernel, `conv_utils.conv3d_as_matmul`: 1.4–6× faster than
      "xla" forward + backward on CPU; "frames" takes 3–22 % off the whole CPU
      training step against it, benchmarks/step_levers.py);
      the parameters are the same in all three.

  Call: flow (B, T, H, W, in_channels) float32, pixels per frame →
  feature map (B, T', H', W', channels[-1]), with `output_shape` = (T', H', W', C).
  """

  def __init__(
    self,
    input_shape: Sequence[int],
    channels: Sequence[int] = (16, 32, 64),
    strides: Sequence[Sequence[int]] = ((1, 2, 2), (2, 2, 2), (1, 1, 1)),
    *,
    kernel_size: Sequence[int] = (3, 3, 3),
    channel_reduction: int = 4,
    in_channels: int = 2,
    conv_implementation: str = "xla",
    rngs: nnx.Rngs,
    dtype=None,
    param_dtype=jnp.float32,
  ):
    input_shape, channels = tuple(input_shape), tuple(channels)
    strides = tuple(tuple(s) for s in strides)
    if len(input_shape) != 3:
      raise ValueError(f"input_shape must be (T, H, W), got {input_shape}")
    if len(strides) != len(channels) or any(len(s) != 3 for s in strides):
      raise ValueError(
        f"need one (st, sh, sw) stride per stage: {len(channels)} stages, strides {strides}"
      )
    if conv_implementation not in CONV_IMPLEMENTATIONS:
      raise ValueError(
        f"conv_implementation must be one of {CONV_IMPLEMENTATIONS}, got {conv_implementation!r}"
      )
    self.input_shape = input_shape
    self.in_channels = in_channels
    stages = []
    for index, (c_in, c_out, stride) in enumerate(
      zip((in_channels, *channels[:-1]), channels, strides)
    ):
      stages.append(
        _ConvStage(
          c_in,
          c_out,
          tuple(kernel_size),
          stride,
          channel_reduction,
          pool_first=index > 0,
          conv_implementation=conv_implementation,
          rngs=rngs,
          dtype=dtype,
          param_dtype=param_dtype,
        )
      )
    self.stages = nnx.List(stages)
    shape = input_shape
    for stride in strides:  # "SAME" padding: ceil(n / s) per axis
      shape = tuple(-(-n // s) for n, s in zip(shape, stride))
    self.output_shape = (*shape, channels[-1])

  def __call__(self, flow: jax.Array) -> jax.Array:
    expected = (*self.input_shape, self.in_channels)
    if flow.ndim != 5 or tuple(flow.shape[1:]) != expected:
      raise ValueError(
        f"flow must be (B, {', '.join(map(str, expected))}) (B, T, H, W, 2), got "
        f"{tuple(flow.shape)}"
      )
    x = flow
    for stage in self.stages:
      x = stage(x)
    return x
