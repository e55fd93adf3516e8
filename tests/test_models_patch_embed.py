"""Patch embeddings: token order, position codes, input checks."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from cmcl_jax.models import PatchEmbed1D, PatchEmbed3D
from cmcl_jax.models.patch_embed import sinusoidal_embedding_1d, sinusoidal_embedding_3d


def test_patch_embed_3d_is_a_strided_convolution():
  embed = PatchEmbed3D((4, 6, 4), 3, 5, (2, 3, 2), pos_embedding="none", rngs=nnx.Rngs(0))
  x = np.random.default_rng(0).standard_normal((2, 4, 6, 4, 3)).astype(np.float32)
  tokens = embed(jnp.asarray(x))
  assert tokens.shape == (2, 2 * 2 * 2, 5)
  kernel = np.asarray(embed.projection.kernel[...]).reshape(2, 3, 2, 3, 5)
  conv = jax.lax.conv_general_dilated(
    x,
    kernel,
    window_strides=(2, 3, 2),
    padding="VALID",
    dimension_numbers=("NDHWC", "DHWIO", "NDHWC"),
  ) + np.asarray(embed.projection.bias[...])
  # Tokens are the convolution's output grid in raster (t, h, w) order.
  np.testing.assert_allclose(tokens, conv.reshape(2, 8, 5), rtol=1e-5, atol=1e-5)


def test_patch_embed_1d_tokens_are_consecutive_segments():
  embed = PatchEmbed1D(12, 2, 4, 3, pos_embedding="none", rngs=nnx.Rngs(0))
  x = np.random.default_rng(1).standard_normal((2, 12, 2)).astype(np.float32)
  tokens = embed(jnp.asarray(x))
  kernel, bias = np.asarray(embed.projection.kernel[...]), np.asarray(embed.projection.bias[...])
  expected = np.stack([x[:, 3 * i : 3 * i + 3].reshape(2, 6) @ kernel + bias for i in range(4)], 1)
  np.testing.assert_allclose(tokens, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("kind,num_params", [("learned", 1), ("sinusoidal", 0), ("none", 0)])
def test_position_embedding_kinds(kind, num_params):
  embed = PatchEmbed1D(8, 1, 6, 2, pos_embedding=kind, rngs=nnx.Rngs(0))
  assert len(jax.tree.leaves(nnx.state(embed.position, nnx.Param))) == num_params
  zeros = jnp.zeros((1, 8, 1))
  codes = np.asarray(embed(zeros) - embed.projection(zeros.reshape(1, 4, 2)))
  if kind == "none":
    assert np.all(codes == 0)
  else:
    assert len(np.unique(codes.round(6), axis=1)[0]) == 4  # one code per position
  if kind == "sinusoidal":
    np.testing.assert_allclose(codes[0], sinusoidal_embedding_1d(np.arange(4), 6), atol=1e-6)


def test_sinusoidal_3d_codes_are_distinct_and_bounded():
  table = sinusoidal_embedding_3d((2, 3, 4), 10)
  assert table.shape == (24, 10)
  assert np.abs(table).max() <= 1.0
  assert len(np.unique(table.round(8), axis=0)) == 24
  with pytest.raises(ValueError, match="even"):
    sinusoidal_embedding_3d((2, 3, 4), 9)


def test_shape_errors_name_the_expected_shape():
  with pytest.raises(ValueError, match="does not divide"):
    PatchEmbed3D((4, 6, 4), 3, 5, (3, 3, 2), rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match="does not divide"):
    PatchEmbed1D(10, 1, 4, 3, rngs=nnx.Rngs(0))
  embed = PatchEmbed1D(12, 2, 4, 3, rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match=r"\(B, 12, 2\)"):
    embed(jnp.zeros((1, 12, 1)))
  with pytest.raises(ValueError, match="pos_embedding"):
    PatchEmbed1D(12, 2, 4, 3, pos_embedding="rotary", rngs=nnx.Rngs(0))
