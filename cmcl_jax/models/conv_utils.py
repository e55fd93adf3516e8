"""Helpers shared by the convolutional backbones."""

import itertools
import math
from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx


def conv_kernel_init(base=nnx.initializers.lecun_normal()):
  """`base` drawn as the 2-D (fan_in, fan_out) matrix, reshaped to the kernel shape.

  A (k..., C_in, C_out) kernel and its (prod(k)·C_in, C_out) matrix have the same
  fan-in and fan-out, so a variance-scaling `base` gives the same distribution.
  The reason is compile time: XLA on CPU compiles the truncated-normal draw for a
  5-D shape about 10× slower than for a 2-D one (≈10 s vs ≈0.6 s a shape on 2
  cores), which dominated building a model.
  """

  def init(key, shape, dtype=jnp.float32):
    return base(key, (math.prod(shape[:-1]), shape[-1]), dtype).reshape(shape)

  return init


def group_count(channels: int, max_groups: int = 8) -> int:
  """GroupNorm groups for `channels`: the largest divisor not above `max_groups`."""
  return math.gcd(channels, max_groups)


CONV_IMPLEMENTATIONS = ("xla", "patches", "frames")


def same_padding(size: int, kernel: int, stride: int) -> tuple[tuple[int, int], int]:
  """("SAME" (low, high) padding, output length) of one axis, as XLA pads it."""
  out = -(-size // stride)
  total = max((out - 1) * stride + kernel - size, 0)
  return (total // 2, total - total // 2), out


def _taps(start: int, out: int, stride: int) -> slice:
  """The `out` input positions a kernel tap at offset `start` meets, every `stride`."""
  return slice(start, start + (out - 1) * stride + 1, stride)


def conv3d_as_matmul(x: jax.Array, kernel: jax.Array, strides: Sequence[int]) -> jax.Array:
  """A "SAME" 3-D convolution written as gather-patches-then-matmul (im2col).

  Args:
    x: (B, T, H, W, C_in).
    kernel: (kt, kh, kw, C_in, C_out), the layout of `nnx.Conv`'s kernel.
    strides: (st, sh, sw).

  Returns:
    (B, T', H', W', C_out) with T' = ⌈T / st⌉ etc., equal to `nnx.Conv(padding="SAME",
    use_bias=False)` up to float rounding. On CPU, XLA runs the few-channel
    convolutions of the video backbone (and the weight gradient of a strided one)
    far below its matmul rate; the (B·T'·H'·W', kt·kh·kw·C_in) patch matrix times
    the kernel runs near it, at the cost of holding the patch matrix in memory.
  """
  kernel_shape = kernel.shape[:3]
  pads, outs = zip(*(same_padding(n, k, s) for n, k, s in zip(x.shape[1:4], kernel_shape, strides)))
  padded = jnp.pad(x, ((0, 0), *pads, (0, 0)))
  patches = [
    padded[:, *(_taps(d, out, s) for d, out, s in zip(offsets, outs, strides)), :]
    for offsets in itertools.product(*(range(k) for k in kernel_shape))
  ]
  return jnp.concatenate(patches, axis=-1) @ kernel.reshape(-1, kernel.shape[-1])


def conv3d_as_frame_convs(x: jax.Array, kernel: jax.Array, strides: Sequence[int]) -> jax.Array:
  """A "SAME" 3-D convolution written as one 2-D convolution over frames.

  Each output frame sees kt input frames; those frames are stacked on the channel axis
  (B·T' frames of kt·C_in channels) and convolved in 2-D with the kernel's (kh, kw,
  kt·C_in, C_out) form. Arguments and result as `conv3d_as_matmul`'s. On CPU, XLA's
  2-D convolution of the stacked frames (and its gradients) runs the few-channel
  convolutions of the video backbone faster than its 3-D convolution or the patch
  matrix of `conv3d_as_matmul`, which is kt·kh·kw times the input.
  """
  kt, kh, kw, c_in, c_out = kernel.shape
  (low, high), frames_out = same_padding(x.shape[1], kt, strides[0])
  padded = jnp.pad(x, ((0, 0), (low, high), (0, 0), (0, 0), (0, 0)))
  stacked = jnp.concatenate(
    [padded[:, _taps(dt, frames_out, strides[0])] for dt in range(kt)],
    axis=-1,
  )  # (B, T', H, W, kt·C_in), channel index dt·C_in + c
  frames = stacked.reshape(-1, *stacked.shape[2:])
  frame_kernel = jnp.transpose(kernel, (1, 2, 0, 3, 4)).reshape(kh, kw, kt * c_in, c_out)
  out = jax.lax.conv_general_dilated(
    frames, frame_kernel, strides[1:], "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
  )
  return out.reshape(x.shape[0], frames_out, *out.shape[1:])
