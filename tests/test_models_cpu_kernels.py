"""The CPU forms of the backbone layers compute the functions they replace."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from cmcl_jax.models.activations import gelu
from cmcl_jax.models.conv_utils import conv3d_as_frame_convs, conv3d_as_matmul
from cmcl_jax.models.norms import GroupNorm
from cmcl_jax.models.video_backbone import VideoBackbone


@pytest.mark.parametrize("shape", [(3, 4, 6, 5, 16), (2, 50, 8)])
def test_group_norm_matches_flax(shape):
  channels = shape[-1]
  x = jnp.asarray(np.random.default_rng(0).normal(2.0, 3.0, shape).astype(np.float32))
  ours, flax_norm = (
    cls(channels, num_groups=4, rngs=nnx.Rngs(0)) for cls in (GroupNorm, nnx.GroupNorm)
  )
  gain = np.linspace(0.5, 1.5, channels).astype(np.float32)
  for norm in (ours, flax_norm):
    norm.scale[...] = jnp.asarray(gain)
    norm.bias[...] = jnp.asarray(-gain)
  np.testing.assert_allclose(ours(x), flax_norm(x), rtol=1e-4, atol=1e-4)

  def grads(norm):
    graph, params = nnx.split(norm)
    return jax.grad(lambda p, x: (nnx.merge(graph, p)(x) ** 3).mean(), argnums=(0, 1))(params, x)

  (ours_p, ours_x), (flax_p, flax_x) = grads(ours), grads(flax_norm)
  np.testing.assert_allclose(ours_x, flax_x, rtol=1e-3, atol=1e-5)
  for name in ("scale", "bias"):
    np.testing.assert_allclose(ours_p[name][...], flax_p[name][...], rtol=1e-3, atol=1e-5)


def test_gelu_is_jax_exact_gelu():
  x = jnp.linspace(-12.0, 12.0, 4001, dtype=jnp.float32)
  # 1 + erf cancels in the negative tail, where |GELU| < 2e-6: absolute error < 1e-6.
  np.testing.assert_allclose(gelu(x), jax.nn.gelu(x, approximate=False), rtol=2e-6, atol=1e-6)
  ours, theirs = (
    jax.vmap(jax.grad(f))(x) for f in (gelu, lambda v: jax.nn.gelu(v, approximate=False))
  )
  np.testing.assert_allclose(ours, theirs, rtol=1e-5, atol=1e-6)
  assert gelu(x.astype(jnp.bfloat16)).dtype == jnp.bfloat16


def test_group_norm_refuses_groups_that_do_not_divide():
  with pytest.raises(ValueError, match="does not divide"):
    GroupNorm(12, num_groups=5, rngs=nnx.Rngs(0))
  with pytest.raises(ValueError, match=r"\(B, …, 8\)"):
    GroupNorm(8, num_groups=4, rngs=nnx.Rngs(0))(jnp.zeros((2, 3, 6)))


@pytest.mark.parametrize("form", [conv3d_as_matmul, conv3d_as_frame_convs])
@pytest.mark.parametrize(
  "input_shape, strides, kernel_size",
  [
    ((4, 9, 8), (1, 2, 2), (3, 3, 3)),
    ((5, 8, 7), (2, 2, 2), (3, 3, 3)),
    ((4, 6, 6), (1, 1, 1), (3, 3, 3)),
    ((6, 7, 6), (2, 1, 2), (2, 3, 1)),
  ],
)
def test_cpu_convolution_forms_match_xla(form, input_shape, strides, kernel_size):
  conv = nnx.Conv(
    3, 5, kernel_size, strides=strides, padding="SAME", use_bias=False, rngs=nnx.Rngs(0)
  )
  x = jnp.asarray(np.random.default_rng(1).standard_normal((2, *input_shape, 3), np.float32))
  expected = conv(x)
  actual = form(x, conv.kernel[...], strides)
  assert actual.shape == expected.shape
  np.testing.assert_allclose(actual, expected, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("cpu_form", ["patches", "frames"])
def test_video_backbone_is_the_same_function_with_either_convolution(cpu_form):
  """Same seed, same parameters; a CPU form and `xla` give the same feature map and gradient."""
  flow = jnp.asarray(np.random.default_rng(2).standard_normal((2, 4, 8, 8, 2), np.float32))
  models = [
    VideoBackbone(
      (4, 8, 8), (4, 8), ((1, 2, 2), (2, 2, 2)), conv_implementation=kind, rngs=nnx.Rngs(0)
    )
    for kind in ("xla", cpu_form)
  ]
  outputs, gradients = [], []
  for model in models:
    graph, params = nnx.split(model)
    loss = lambda p: (nnx.merge(graph, p)(flow) ** 2).mean()
    outputs.append(nnx.merge(graph, params)(flow))
    gradients.append(jax.tree.leaves(jax.jit(jax.grad(loss))(params)))
  np.testing.assert_allclose(outputs[1], outputs[0], rtol=1e-4, atol=1e-5)
  for got, want in zip(gradients[1], gradients[0]):
    np.testing.assert_allclose(got, want, rtol=1e-3, atol=1e-5)
  with pytest.raises(ValueError, match="conv_implementation"):
    VideoBackbone((4, 16, 16), conv_implementation="im2col", rngs=nnx.Rngs(0))
