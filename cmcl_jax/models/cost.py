"""Model size and compute: parameter counts, XLA-counted FLOPs, example batches."""

import jax
import numpy as np
from flax import nnx

from cmcl_jax.models.encoder import CrossModalEncoder


def count_parameters(module: nnx.Module) -> int:
  """Number of scalars in the module's `nnx.Param`s."""
  return sum(int(np.prod(p.shape)) for p in jax.tree.leaves(nnx.state(module, nnx.Param)))


def xla_flops(fn, *args) -> float:
  """FLOPs of `fn(*args)` as counted by XLA (`compiled.cost_analysis()`).

  `fn` is jit-compiled for the shapes of `args` (a function already wrapped in
  `jax.jit` is used as is); nothing is run, so abstract `jax.ShapeDtypeStruct`
  arguments work too.
  """
  jitted = fn if hasattr(fn, "lower") else jax.jit(fn)
  return compiled_flops(jitted.lower(*args).compile())


def compiled_flops(compiled: jax.stages.Compiled) -> float:
  """FLOPs of one call of an already compiled function, as counted by XLA."""
  cost = compiled.cost_analysis()
  if isinstance(cost, (list, tuple)):  # one entry per program in older jax
    cost = cost[0]
  return float(cost["flops"])


def forward_flops(module: nnx.Module, *args, method: str = "__call__", **kwargs) -> float:
  """FLOPs of one call `module.method(*args, **kwargs)`; keyword arguments are static."""
  graphdef, state = nnx.split(module)

  def forward(state, args):
    return getattr(nnx.merge(graphdef, state), method)(*args, **kwargs)

  return xla_flops(forward, state, args)


def example_batch(encoder: CrossModalEncoder, batch_size: int, seed: int = 0) -> dict:
  """A random float32 batch shaped for `encoder` (see `cmcl_net` for the keys).

  Flow is N(0, 1) px/frame, ECG and features N(0, 1) — standardised units.
  """
  rng = np.random.default_rng(seed)
  batch = {}
  if encoder.uses_video:
    backbone = encoder.video_backbone
    shape = (batch_size, *backbone.input_shape, backbone.in_channels)
    batch["flow"] = rng.standard_normal(shape, dtype=np.float32)
  if encoder.uses_ecg:
    backbone = encoder.ecg_backbone
    shape = (batch_size, backbone.length, backbone.in_channels)
    batch["ecg"] = rng.standard_normal(shape, dtype=np.float32)
    batch["ecg_features"] = rng.standard_normal(
      (batch_size, backbone.num_features), dtype=np.float32
    )
  return batch
