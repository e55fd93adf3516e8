"""Patch embeddings: cut a feature map or signal into patches, project, add positions.

`PatchEmbed3D` turns a video feature map (B, T, H, W, C) into tubelet tokens and
`PatchEmbed1D` turns an ECG feature sequence (B, L, C) into segment tokens, both
(B, N, dim). A patch is flattened and projected by one linear map, which is the same
as a convolution whose kernel and stride equal the patch size.
"""

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

POSITION_EMBEDDINGS = ("learned", "sinusoidal", "none")


def sinusoidal_embedding_1d(positions: np.ndarray, dim: int) -> np.ndarray:
  """Transformer sine/cosine code of integer positions.

  Args:
    positions: (N,) token positions.
    dim: even embedding width.

  Returns:
    (N, dim) float64: `[sin(p·ω_k), cos(p·ω_k)]` with ω_k = 10000^(-2k/dim).
  """
  if dim % 2:
    raise ValueError(f"sinusoidal position embeddings need an even width, got {dim}")
  omega = 1.0 / 10000.0 ** (np.arange(dim // 2, dtype=np.float64) / (dim // 2))
  angles = np.asarray(positions, np.float64)[:, None] * omega[None, :]
  return np.concatenate([np.sin(angles), np.cos(angles)], axis=1)


def sinusoidal_embedding_3d(grid: Sequence[int], dim: int) -> np.ndarray:
  """Separable sine/cosine code of a (T, H, W) token grid, raster order.

  The width is shared between the axes: H and W get `2·⌊dim/6⌋` channels each,
  T the rest, so any even `dim` works.

  Returns:
    (T·H·W, dim) float64.
  """
  if dim % 2:
    raise ValueError(f"sinusoidal position embeddings need an even width, got {dim}")
  spatial = 2 * (dim // 6)
  widths = (dim - 2 * spatial, spatial, spatial)
  coords = np.meshgrid(*[np.arange(n) for n in grid], indexing="ij")
  parts = [sinusoidal_embedding_1d(c.reshape(-1), w) for c, w in zip(coords, widths) if w > 0]
  return np.concatenate(parts, axis=1)


class _PositionEmbedding(nnx.Module):
  """Adds a learned, fixed sinusoidal or no position code to (B, N, dim) tokens.

  `grid` is (N,) for a sequence or (T, H, W) for a tubelet grid.
  """

  def __init__(self, kind: str, grid: tuple[int, ...], dim: int, *, param_dtype, rngs: nnx.Rngs):
    if kind not in POSITION_EMBEDDINGS:
      raise ValueError(f"pos_embedding must be one of {POSITION_EMBEDDINGS}, got {kind!r}")
    self.kind = kind
    self.grid = grid
    self.dim = dim
    if kind == "learned":
      init = nnx.initializers.normal(stddev=0.02)
      self.table = nnx.Param(init(rngs.params(), (int(np.prod(grid)), dim), param_dtype))
    elif kind == "sinusoidal":
      self._sinusoidal_table()  # validates `dim` at construction

  def _sinusoidal_table(self) -> np.ndarray:
    if len(self.grid) == 1:
      return sinusoidal_embedding_1d(np.arange(self.grid[0]), self.dim)
    return sinusoidal_embedding_3d(self.grid, self.dim)

  def __call__(self, tokens: jax.Array) -> jax.Array:
    if self.kind == "learned":
      return tokens + self.table[...].astype(tokens.dtype)
    if self.kind == "sinusoidal":
      # A trace-time constant, so it is neither a parameter nor checkpointed.
      return tokens + jnp.asarray(self._sinusoidal_table(), tokens.dtype)
    return tokens


class PatchEmbed3D(nnx.Module):
  """Tubelet tokens of a video feature map.

  Args:
    input_shape: (T, H, W) of the feature map this layer will see.
    in_channels: C of the feature map.
    dim: token width.
    patch_size: (pt, ph, pw) tubelet; must divide `input_shape`.
    pos_embedding: "learned", "sinusoidal" or "none".

  Call: (B, T, H, W, C) → (B, N, dim) with N = (T/pt)·(H/ph)·(W/pw), tokens in raster
  order over the (T/pt, H/ph, W/pw) grid.
  """

  def __init__(
    self,
    input_shape: Sequence[int],
    in_channels: int,
    dim: int,
    patch_size: Sequence[int],
    *,
    pos_embedding: str = "learned",
    dtype=None,
    param_dtype=jnp.float32,
    rngs: nnx.Rngs,
  ):
    input_shape, patch_size = tuple(input_shape), tuple(patch_size)
    if len(input_shape) != 3 or len(patch_size) != 3:
      raise ValueError(
        f"PatchEmbed3D needs (T, H, W) input_shape and patch_size, got "
        f"{input_shape} and {patch_size}"
      )
    if any(n % p for n, p in zip(input_shape, patch_size)):
      raise ValueError(
        f"tubelet {patch_size} does not divide the (T, H, W) feature map {input_shape}"
      )
    self.input_shape = input_shape
    self.in_channels = in_channels
    self.patch_size = patch_size
    self.grid = tuple(n // p for n, p in zip(input_shape, patch_size))
    self.num_patches = int(np.prod(self.grid))
    self.projection = nnx.Linear(
      int(np.prod(patch_size)) * in_channels,
      dim,
      dtype=dtype,
      param_dtype=param_dtype,
      rngs=rngs,
    )
    self.position = _PositionEmbedding(
      pos_embedding, self.grid, dim, param_dtype=param_dtype, rngs=rngs
    )

  def __call__(self, x: jax.Array) -> jax.Array:
    expected = (*self.input_shape, self.in_channels)
    if x.ndim != 5 or tuple(x.shape[1:]) != expected:
      raise ValueError(
        f"PatchEmbed3D expects (B, {', '.join(map(str, expected))}), got {tuple(x.shape)}"
      )
    b = x.shape[0]
    (gt, gh, gw), (pt, ph, pw) = self.grid, self.patch_size
    x = x.reshape(b, gt, pt, gh, ph, gw, pw, self.in_channels)
    x = x.transpose(0, 1, 3, 5, 2, 4, 6, 7)
    x = x.reshape(b, self.num_patches, pt * ph * pw * self.in_channels)
    return self.position(self.projection(x))


class PatchEmbed1D(nnx.Module):
  """Segment tokens of a sequence.

  Args:
    length: L of the sequence this layer will see.
    in_channels: C of the sequence.
    dim: token width.
    patch_size: samples per token; must divide `length` unless `num_patches` is set.
    num_patches: tokens N; None for L / patch_size. A larger N zero-pads the
      sequence at its end to N · patch_size samples.
    pos_embedding: "learned", "sinusoidal" or "none".

  Call: (B, L, C) → (B, N, dim).
  """

  def __init__(
    self,
    length: int,
    in_channels: int,
    dim: int,
    patch_size: int,
    *,
    num_patches: int | None = None,
    pos_embedding: str = "learned",
    dtype=None,
    param_dtype=jnp.float32,
    rngs: nnx.Rngs,
  ):
    if num_patches is None:
      if length % patch_size:
        raise ValueError(
          f"patch size {patch_size} does not divide the sequence length {length}; "
          "set num_patches to zero-pad the sequence"
        )
      num_patches = length // patch_size
    if num_patches * patch_size < length:
      raise ValueError(
        f"{num_patches} patches of {patch_size} samples cover {num_patches * patch_size} "
        f"of the {length} samples; expected at least {-(-length // patch_size)} patches"
      )
    self.length = length
    self.in_channels = in_channels
    self.patch_size = patch_size
    self.num_patches = num_patches
    self.projection = nnx.Linear(
      patch_size * in_channels,
      dim,
      dtype=dtype,
      param_dtype=param_dtype,
      rngs=rngs,
    )
    self.position = _PositionEmbedding(
      pos_embedding,
      (self.num_patches,),
      dim,
      param_dtype=param_dtype,
      rngs=rngs,
    )

  def __call__(self, x: jax.Array) -> jax.Array:
    expected = (self.length, self.in_channels)
    if x.ndim != 3 or tuple(x.shape[1:]) != expected:
      raise ValueError(
        f"PatchEmbed1D expects (B, {self.length}, {self.in_channels}), got {tuple(x.shape)}"
      )
    b = x.shape[0]
    padding = self.num_patches * self.patch_size - self.length
    if padding:
      x = jnp.pad(x, ((0, 0), (0, padding), (0, 0)))
    x = x.reshape(b, self.num_patches, self.patch_size * self.in_channels)
    return self.position(self.projection(x))
