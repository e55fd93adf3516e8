"""Parameter and FLOP counting helpers."""

import jax
import jax.numpy as jnp
import pytest
from flax import nnx

from cmcl_jax.models import count_parameters, forward_flops, xla_flops


def test_count_parameters_counts_every_scalar():
  assert count_parameters(nnx.Linear(16, 4, rngs=nnx.Rngs(0))) == 16 * 4 + 4


def test_flops_of_a_matmul_and_a_linear_layer():
  x = jax.ShapeDtypeStruct((8, 16), jnp.float32)
  w = jax.ShapeDtypeStruct((16, 4), jnp.float32)
  assert xla_flops(jnp.matmul, x, w) == 2 * 8 * 16 * 4
  linear = nnx.Linear(16, 4, rngs=nnx.Rngs(0))
  # The matmul plus one addition per output for the bias.
  assert forward_flops(linear, jnp.zeros((8, 16))) == pytest.approx(2 * 8 * 16 * 4 + 8 * 4)
