"""ECG stream backbone: a dilated residual TCN plus the hand-made ECG features.

The band-passed ECG goes through a stem convolution and residual blocks of dilated
convolutions (receptive field grows as the sum of the dilations); the hand-made
feature vector (RR mean, RR std, HR mean, HRV SDSD, …) is projected to the channel
width and added at every time step — the paper's F_e = X'_e ⊕ features.
"""

from collections.abc import Sequence

import jax
import jax.numpy as jnp
from flax import nnx

from cmcl_jax.models.activations import gelu
from cmcl_jax.models.conv_utils import conv_kernel_init, group_count
from cmcl_jax.models.norms import GroupNorm


class TemporalBlock(nnx.Module):
  """Residual block: two dilated Conv1D → GroupNorm, GELU between and after.

  Call: (B, L, C) → (B, L, C); "SAME" padding keeps the length (non-causal: a
  window is classified as a whole, so future samples may be used).
  """

  def __init__(
    self,
    channels: int,
    kernel_size: int,
    dilation: int,
    *,
    rngs: nnx.Rngs,
    dtype=None,
    param_dtype=jnp.float32,
  ):
    def conv():
      return nnx.Conv(
        channels,
        channels,
        (kernel_size,),
        kernel_dilation=dilation,
        padding="SAME",
        use_bias=False,
        kernel_init=conv_kernel_init(),
        dtype=dtype,
        param_dtype=param_dtype,
        rngs=rngs,
      )

    def norm():
      return GroupNorm(
        channels,
        num_groups=group_count(channels),
        dtype=dtype,
        param_dtype=param_dtype,
        rngs=rngs,
      )

    self.conv1, self.norm1 = conv(), norm()
    self.conv2, self.norm2 = conv(), norm()

  def __call__(self, x: jax.Array) -> jax.Array:
    h = gelu(self.norm1(self.conv1(x)))
    h = self.norm2(self.conv2(h))
    return gelu(x + h)


class ECGBackbone(nnx.Module):
  """Dilated residual TCN over band-passed ECG, with hand-made features added.

  Args:
    length: L, samples per window (e.g. 500 = 2 s at 250 Hz).
    num_features: F, length of the hand-made feature vector.
    channels: width of the TCN.
    dilations: one residual block per dilation.
    kernel_size: taps of every dilated convolution.
    stem_kernel_size: taps of the first convolution.
    in_channels: ECG leads (1).

  Call: ecg (B, L, in_channels) float32, band-passed and standardised per window;
  features (B, F) float32, standardised → (B, L, channels), `output_shape` = (L, C).
  """

  def __init__(
    self,
    length: int,
    num_features: int,
    channels: int = 32,
    dilations: Sequence[int] = (1, 2, 4, 8),
    *,
    kernel_size: int = 3,
    stem_kernel_size: int = 7,
    in_channels: int = 1,
    rngs: nnx.Rngs,
    dtype=None,
    param_dtype=jnp.float32,
  ):
    self.length = length
    self.num_features = num_features
    self.in_channels = in_channels
    self.stem = nnx.Conv(
      in_channels,
      channels,
      (stem_kernel_size,),
      padding="SAME",
      kernel_init=conv_kernel_init(),
      dtype=dtype,
      param_dtype=param_dtype,
      rngs=rngs,
    )
    self.blocks = nnx.List(
      [
        TemporalBlock(channels, kernel_size, d, dtype=dtype, param_dtype=param_dtype, rngs=rngs)
        for d in dilations
      ]
    )
    self.feature_projection = nnx.Linear(
      num_features, channels, dtype=dtype, param_dtype=param_dtype, rngs=rngs
    )
    self.output_shape = (length, channels)

  def __call__(self, ecg: jax.Array, features: jax.Array) -> jax.Array:
    if ecg.ndim != 3 or tuple(ecg.shape[1:]) != (self.length, self.in_channels):
      raise ValueError(
        f"ecg must be (B, {self.length}, {self.in_channels}), got {tuple(ecg.shape)}"
      )
    if features.shape != (ecg.shape[0], self.num_features):
      raise ValueError(
        f"ecg_features must be ({ecg.shape[0]}, {self.num_features}) to match the "
        f"ecg batch, got {tuple(features.shape)}"
      )
    x = self.stem(ecg)
    for block in self.blocks:
      x = block(x)
    return x + self.feature_projection(features)[:, None, :]
