"""The encoder used from Linen through `flax.nnx.bridge.to_linen`."""

import jax
import numpy as np
from flax import nnx
from flax.core import meta
from flax.nnx import bridge

from cmcl_jax.models import CrossModalEncoder, example_batch, model_config


def test_linen_encoder_matches_nnx_encoder():
  kwargs = model_config("tiny").encoder.to_dict()
  nnx_encoder = CrossModalEncoder(**kwargs, rngs=nnx.Rngs(0))
  batch = example_batch(nnx_encoder, 2)
  inputs = (batch["flow"], batch["ecg"], batch["ecg_features"])

  linen_encoder = bridge.to_linen(CrossModalEncoder, **kwargs)
  # Dropout layers take their stream at construction, so init needs a "dropout" key;
  # training from Linen is `apply(..., deterministic=False, rngs={"dropout": key})`.
  variables = linen_encoder.init(
    {"params": jax.random.key(1), "dropout": jax.random.key(2)}, *inputs
  )
  embedding = jax.jit(linen_encoder.apply)(variables, *inputs)
  assert embedding.shape == (2, nnx_encoder.embedding_dim)

  # Same weights, same function: the Linen params are the NNX state tree.
  nnx.update(nnx_encoder, meta.unbox(variables["params"]))
  np.testing.assert_allclose(
    embedding, nnx.jit(lambda m, *x: m(*x))(nnx_encoder, *inputs), rtol=1e-6, atol=1e-6
  )
