"""The training state: a pytree of arrays that the jit steps take and return.

The model is split once into a static `graphdef`, its `nnx.Param` state (trained,
checkpointed) and its `nnx.RngState` (dropout streams, reseeded from the step's key
in every step, so never checkpointed). Optimizer state, step and the run's base RNG
key complete `TrainState`.
"""

import dataclasses
import functools
from collections.abc import Callable, Mapping
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx

from cmcl_jax.models import CMCLNet
from cmcl_jax.train.config_fields import config_key


@flax.struct.dataclass
class TrainState:
  """Everything that changes during training, as arrays.

  Attributes:
    step: () int32, optimizer steps taken.
    params: `nnx.State` of the model's `nnx.Param`s.
    opt_state: the optax state of `params`.
    rng: (2,) uint32 base key of the run; step t uses `fold_in(rng, t)`.
  """

  step: jax.Array
  params: nnx.State
  opt_state: optax.OptState
  rng: jax.Array


@dataclasses.dataclass(frozen=True, eq=False)
class ModelParts:
  """The parts of the split model that steps close over (module docstring).

  Two parts are equal (and hash alike) when they split the same model with the same
  dropout streams, so that steps compiled for one serve the other: a LOSO run builds
  the same model in every fold and compiles its steps once (`cmcl_jax.train.loop`,
  `cmcl_jax.experiment.scoring`).
  """

  train_graphdef: nnx.GraphDef
  eval_graphdef: nnx.GraphDef
  rng_state: nnx.State

  @functools.cached_property
  def _identity(self) -> tuple:
    def raw(x):
      if jnp.issubdtype(x.dtype, jax.dtypes.prng_key):
        x = jax.random.key_data(x)
      return np.asarray(x).tobytes()

    streams = tuple(
      (jax.tree_util.keystr(path), raw(x))
      for path, x in jax.tree_util.tree_leaves_with_path(self.rng_state)
    )
    return (self.train_graphdef, self.eval_graphdef, streams)

  def __eq__(self, other) -> bool:
    return isinstance(other, ModelParts) and self._identity == other._identity

  def __hash__(self) -> int:
    return hash(self._identity)


def remembered(cache: dict, key, build: Callable[[], Any], kept: int):
  """`cache[key]`, made by `build()` the first time; past `kept` entries the oldest
  is dropped. The per-process stores of what a LOSO run builds in every fold."""
  if key not in cache:
    if len(cache) >= kept:
      cache.pop(next(iter(cache)))
    cache[key] = build()
  return cache[key]


_BUILT_KEPT = 8
_built: dict[tuple[str, int], tuple] = {}


def build_model(model_config: Mapping, seed: int) -> tuple[ModelParts, nnx.State]:
  """Builds `CMCLNet.from_config(model_config)` and splits it.

  Args:
    model_config: `cmcl_jax.models.model_config(...)` with any overrides.
    seed: initialisation seed (parameters from `seed`, dropout from `seed + 1`).

  Returns:
    (ModelParts, params): params is the `nnx.Param` state, the caller's own copy.
    A process builds each (config, seed) once (the `_BUILT_KEPT` latest are kept):
    building a model runs its initialisers op by op (≈ 0.7 s for the demo's), and
    a LOSO run builds the same models in every fold.
  """
  parts, params = remembered(
    _built,
    (config_key(model_config), seed),
    lambda: _split_new_model(model_config, seed),
    _BUILT_KEPT,
  )
  # The caller's own parts (sharing the graphs and streams, which are never written:
  # `merge_model` copies what it reseeds) and parameters (copied: a train step
  # donates its state's buffers).
  return dataclasses.replace(parts), jax.tree.map(jnp.copy, params)


def _split_new_model(model_config: Mapping, seed: int) -> tuple[ModelParts, nnx.State]:
  model = CMCLNet.from_config(model_config, rngs=nnx.Rngs(params=seed, dropout=seed + 1))
  model.train()
  train_graphdef, params, rng_state, other = nnx.split(model, nnx.Param, nnx.RngState, ...)
  if jax.tree.leaves(other):
    raise ValueError(
      "the training state holds only nnx.Param and nnx.RngState variables; the model "
      f"also has {sorted({type(v).__name__ for v in jax.tree.leaves(other, is_leaf=lambda x: isinstance(x, nnx.Variable))})}"
    )
  model.eval()
  eval_graphdef = nnx.split(model, nnx.Param, nnx.RngState, ...)[0]
  return ModelParts(train_graphdef, eval_graphdef, rng_state), params


def merge_model(parts: ModelParts, params: nnx.State, rng: jax.Array | None) -> CMCLNet:
  """The model in train mode with dropout reseeded from `rng`, or in eval mode (rng None)."""
  if rng is None:
    return nnx.merge(parts.eval_graphdef, params, parts.rng_state)
  # Fresh Variables (tree.map) so that reseeding may write them inside a jit trace.
  model = nnx.merge(parts.train_graphdef, params, jax.tree.map(lambda x: x, parts.rng_state))
  nnx.reseed(model, dropout=rng)
  return model


def create_train_state(
  params: nnx.State, tx: optax.GradientTransformation, seed: int
) -> TrainState:
  """Step 0 with fresh optimizer state and the base key `PRNGKey(seed)`."""
  return TrainState(
    step=jnp.zeros((), jnp.int32),
    params=params,
    opt_state=tx.init(params),
    rng=jax.random.PRNGKey(seed),
  )


def transplant(params: nnx.State, source: nnx.State, groups: tuple[str, ...]) -> nnx.State:
  """`params` with its top-level `groups` (e.g. ("encoder",)) taken from `source`."""
  pure, other = nnx.to_pure_dict(params), nnx.to_pure_dict(source)
  for group in groups:
    pure[group] = other[group]
  result = jax.tree.map(lambda x: x, params)
  nnx.replace_by_pure_dict(result, pure)
  return result
