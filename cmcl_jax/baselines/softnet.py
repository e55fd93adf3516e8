"""SOFTNet (Liong, See, Wong, ICIP 2021), the shallow three-stream CNN, in Flax NNX.

The published Keras model (genbing99/SoftNet-SpotME, ``training.py``, ``SOFTNet()``)
scores one frame from three (42, 42, 1) float32 feature images, each min-max
normalised to [0, 1] (`cmcl_jax.baselines.softnet_features`): the horizontal flow u,
the vertical flow v and the optical strain ε between frame i and frame i + k.

  u (B, 42, 42, 1) → Conv 5×5 'same', 3 filters, ReLU → MaxPool 3×3/3 → (B, 14, 14, 3)
  v (B, 42, 42, 1) → Conv 5×5 'same', 5 filters, ReLU → MaxPool 3×3/3 → (B, 14, 14, 5)
  ε (B, 42, 42, 1) → Conv 5×5 'same', 8 filters, ReLU → MaxPool 3×3/3 → (B, 14, 14, 8)
  concatenate (u, v, ε order)                                         → (B, 14, 14, 16)
  MaxPool 2×2/2                                                       → (B, 7, 7, 16)
  flatten, channels last (index (y·7 + x)·16 + c)                     → (B, 784)
  Dense 400, ReLU → Dense 1, linear                                   → (B, 1)

Keras pools with 'valid' padding; 42 / 3 and 14 / 2 divide exactly, so no row or
column is dropped. Initialisation as Keras': Glorot-uniform kernels, zero biases.

The three streams keep their own kernels (as Keras stores them), but run as one
convolution of the stacked (B, 42, 42, 3) input with a block-diagonal (5, 5, 3, 16)
kernel, and pool by reshaping: the same function, with a training step about 0.7×
the time of three 1-channel convolutions and `reduce_window` pooling on XLA:CPU
(BENCHMARKS.md, "Cost per method").

`load_keras_weights` reads the authors' weight files (``SOFTNet_Weights/<dataset>/
<type>-expression/s<fold>.hdf5``, Keras 2.2.4-tf, weights only) with h5py. Keras names
layers in creation order, so ``conv2d`` is the u stream (3 filters), ``conv2d_1`` v
(5), ``conv2d_2`` ε (8), ``dense`` the 784 → 400 layer and ``dense_1`` 400 → 1.
"""

from __future__ import annotations

import os

import h5py
import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

INPUT_SIDE = 42
STREAM_FILTERS = (3, 5, 8)
"""Filters of the u, v and ε streams' convolutions."""
KERNEL_SIZE = (5, 5)
STREAM_POOL = 3
MERGED_POOL = 2
HIDDEN_UNITS = 400
FLAT_FEATURES = (INPUT_SIDE // STREAM_POOL // MERGED_POOL) ** 2 * sum(STREAM_FILTERS)  # 784

# Keras layer name → (attribute path of our module, kernel shape, bias shape).
KERAS_LAYERS = {
  "conv2d": (("streams", 0), (*KERNEL_SIZE, 1, STREAM_FILTERS[0]), (STREAM_FILTERS[0],)),
  "conv2d_1": (("streams", 1), (*KERNEL_SIZE, 1, STREAM_FILTERS[1]), (STREAM_FILTERS[1],)),
  "conv2d_2": (("streams", 2), (*KERNEL_SIZE, 1, STREAM_FILTERS[2]), (STREAM_FILTERS[2],)),
  "dense": (("hidden",), (FLAT_FEATURES, HIDDEN_UNITS), (HIDDEN_UNITS,)),
  "dense_1": (("output",), (HIDDEN_UNITS, 1), (1,)),
}


def _max_pool(x: jax.Array, side: int) -> jax.Array:
  """Keras' MaxPooling2D(pool_size=side, strides=side), 'valid' padding, NHWC, for
  sides that divide H and W (a reshape and a max, whose gradient is cheaper on XLA:CPU
  than `reduce_window`'s select-and-scatter)."""
  b, h, w, c = x.shape
  if h % side or w % side:
    raise ValueError(f"max pool {side}×{side}: {h}×{w} is not a multiple of {side}")
  return x.reshape(b, h // side, side, w // side, side, c).max(axis=(2, 4))


class SOFTNet(nnx.Module):
  """The three-stream network; call ``model(u, v, strain)``.

  Call: three (B, 42, 42, 1) float32 images (u, v, ε, each min-max normalised) →
  (B, 1) float32 score, regressed towards the 0/1 pseudo-label
  (`cmcl_jax.baselines.softnet_labels.pseudo_labels`).
  """

  def __init__(self, *, rngs: nnx.Rngs):
    kernel_init = nnx.initializers.glorot_uniform()
    self.streams = nnx.List(
      [
        nnx.Conv(1, filters, KERNEL_SIZE, padding="SAME", kernel_init=kernel_init, rngs=rngs)
        for filters in STREAM_FILTERS
      ]
    )
    self.hidden = nnx.Linear(FLAT_FEATURES, HIDDEN_UNITS, kernel_init=kernel_init, rngs=rngs)
    self.output = nnx.Linear(HIDDEN_UNITS, 1, kernel_init=kernel_init, rngs=rngs)

  def __call__(self, u: jax.Array, v: jax.Array, strain: jax.Array) -> jax.Array:
    for name, image in (("u", u), ("v", v), ("strain", strain)):
      if image.ndim != 4 or image.shape[1:] != (INPUT_SIDE, INPUT_SIDE, 1):
        raise ValueError(
          f"SOFTNet input {name}: expected (B, {INPUT_SIDE}, {INPUT_SIDE}, 1), got {image.shape}"
        )
    return self._forward(jnp.concatenate([u, v, strain], axis=-1))

  def score(self, features: jax.Array) -> jax.Array:
    """(B, 42, 42, 3) float32 stacked (u, v, ε) → (B,) float32 scores."""
    if features.ndim != 4 or features.shape[1:] != (INPUT_SIDE, INPUT_SIDE, 3):
      raise ValueError(
        f"SOFTNet features: expected (B, {INPUT_SIDE}, {INPUT_SIDE}, 3), got {features.shape}"
      )
    return self._forward(features)[:, 0]

  def _block_kernel(self) -> tuple[jax.Array, jax.Array]:
    """The streams' kernels on the diagonal of one (5, 5, 3, 16) kernel, and their biases."""
    kernel = jnp.zeros((*KERNEL_SIZE, len(STREAM_FILTERS), sum(STREAM_FILTERS)), jnp.float32)
    start = 0
    for channel, conv in enumerate(self.streams):
      filters = conv.kernel.shape[-1]
      kernel = kernel.at[:, :, channel, start : start + filters].set(conv.kernel[...][:, :, 0])
      start += filters
    return kernel, jnp.concatenate([conv.bias[...] for conv in self.streams])

  def _forward(self, features: jax.Array) -> jax.Array:
    """(B, 42, 42, 3) stacked (u, v, ε) → (B, 1) scores."""
    kernel, bias = self._block_kernel()
    maps = jax.lax.conv_general_dilated(
      features, kernel, (1, 1), "SAME", dimension_numbers=("NHWC", "HWIO", "NHWC")
    )
    # Channels 0–2 are the u stream's, 3–7 v's, 8–15 ε's: Keras' concatenation order.
    pooled = _max_pool(jax.nn.relu(maps + bias), STREAM_POOL)
    merged = _max_pool(pooled, MERGED_POOL)
    flat = merged.reshape(merged.shape[0], -1)  # row-major NHWC = Keras' Flatten
    return self.output(jax.nn.relu(self.hidden(flat)))


def _read(weights: h5py.File, path: str, layer: str, name: str, shape: tuple) -> np.ndarray:
  """One dataset ``<layer>/<layer>/<name>:0`` as float32, checked against `shape`."""
  key = f"{layer}/{layer}/{name}:0"
  if key not in weights:
    raise ValueError(
      f"{path}: missing dataset {key!r}; expected a Keras SOFTNet weights file with layers "
      f"{', '.join(KERAS_LAYERS)}"
    )
  array = np.asarray(weights[key], np.float32)
  if array.shape != shape:
    raise ValueError(f"{path}: dataset {key!r} has shape {array.shape}, expected {shape}")
  return array


def load_keras_weights(path: str | os.PathLike, *, seed: int = 0) -> SOFTNet:
  """A `SOFTNet` with the weights of one of the authors' Keras .hdf5 files.

  Args:
    path: a Keras weights-only HDF5 file (``model.save_weights``), e.g.
      ``SOFTNet_Weights/CASME_sq/micro-expression/s1.hdf5``.
    seed: initialisation seed of the module before its weights are overwritten
      (every parameter is overwritten, so the result does not depend on it).

  Returns:
    The model; kernels keep Keras' layout (conv HWIO (5, 5, 1, F), dense (in, out)).

  Raises:
    FileNotFoundError: `path` does not exist.
    ValueError: the file is not HDF5, or a layer's kernel or bias is missing or has
      the wrong shape (the message names the file and the dataset).
  """
  path = os.fspath(path)
  if not os.path.isfile(path):
    raise FileNotFoundError(f"{path}: no such SOFTNet weights file")
  model = SOFTNet(rngs=nnx.Rngs(seed))
  try:
    weights = h5py.File(path, "r")
  except OSError as error:
    raise ValueError(f"{path}: not a readable HDF5 file ({error})") from error
  with weights:
    for layer, (attribute, kernel_shape, bias_shape) in KERAS_LAYERS.items():
      module = model
      for step in attribute:
        module = module[step] if isinstance(step, int) else getattr(module, step)
      module.kernel[...] = jnp.asarray(_read(weights, path, layer, "kernel", kernel_shape))
      module.bias[...] = jnp.asarray(_read(weights, path, layer, "bias", bias_shape))
  return model
