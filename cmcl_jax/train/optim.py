"""optax chains from a stage config: global-norm clipping → per-group AdamW.

Parameters are grouped by the model's top-level module ("encoder",
"projection_head", "classifier"). A stage trains the groups in `trainable`, each at
`lr × lr_multipliers.get(group, 1)` on one shared schedule (linear warm-up, then
cosine decay or constant), and leaves the others untouched. Weight decay applies to
matrices and kernels (ndim ≥ 2), not to biases, norms' scales or 1-D tokens.

`anchor_weight` > 0 adds the gradient of `anchor_weight / 2 · ‖θ − θ₀‖²` to the
clipped gradient, θ₀ the parameters the stage starts from (L2-SP, Li et al. 2018):
a warm-started model moves away from its start only as far as the data pull it.

Stage config fields (see `experiments/configs/`): steps, lr, warmup_steps,
schedule ("cosine" | "constant"), end_lr_factor, weight_decay, clip_norm,
trainable (tuple of groups), lr_multipliers (group → factor), anchor_weight (≥ 0).
"""

from collections.abc import Callable, Mapping
from typing import NamedTuple

import jax
import optax

SCHEDULES = ("cosine", "constant")
FROZEN = "frozen"


def learning_rate_schedule(stage: Mapping) -> Callable[[int], float]:
  """Base learning rate per step: warm-up from 0 to `lr`, then `schedule`."""
  if stage["schedule"] not in SCHEDULES:
    raise ValueError(f"schedule must be one of {SCHEDULES}, got {stage['schedule']!r}")
  if not 0 <= stage["warmup_steps"] <= stage["steps"]:
    raise ValueError(
      f"warmup_steps={stage['warmup_steps']} must lie in [0, steps={stage['steps']}]"
    )
  warmup, lr = stage["warmup_steps"], stage["lr"]
  if stage["schedule"] == "cosine":
    decay = optax.cosine_decay_schedule(
      lr, max(stage["steps"] - warmup, 1), alpha=stage["end_lr_factor"]
    )
  else:
    decay = optax.constant_schedule(lr)
  if not warmup:
    return decay
  return optax.join_schedules([optax.linear_schedule(0.0, lr, warmup), decay], [warmup])


def parameter_groups(params) -> object:
  """The same tree as `params` with each leaf replaced by its top-level module name."""
  return jax.tree_util.tree_map_with_path(lambda path, _: path[0].key, params)


class AnchorState(NamedTuple):
  start: optax.Params  # θ₀: the parameters `init` was given


def anchor_to_start(weight: float) -> optax.GradientTransformation:
  """Adds `weight · (θ − θ₀)` to the gradient; θ₀ is kept in the state (checkpointed)."""

  def init(params):
    return AnchorState(start=jax.tree.map(lambda p: p.copy(), params))

  def update(updates, state, params=None):
    if params is None:
      raise ValueError("anchor_to_start needs the parameters in tx.update(…, params)")
    updates = jax.tree.map(lambda g, p, p0: g + weight * (p - p0), updates, params, state.start)
    return updates, state

  return optax.GradientTransformation(init, update)


def make_optimizer(stage: Mapping, params) -> optax.GradientTransformation:
  """clip_by_global_norm(clip_norm) → AdamW per trainable group; frozen groups get 0.

  Args:
    stage: the stage config (fields in the module docstring).
    params: the model's `nnx.Param` state (only its structure and shapes are read).
  """
  groups = parameter_groups(params)
  names = sorted(set(jax.tree.leaves(groups)))
  trainable = tuple(stage["trainable"])
  multipliers = dict(stage["lr_multipliers"])
  unknown = sorted((set(trainable) | set(multipliers)) - set(names))
  if unknown:
    raise ValueError(f"unknown parameter groups {unknown}; the model has {names}")
  base = learning_rate_schedule(stage)
  decay_mask = jax.tree.map(lambda p: p.ndim >= 2, params)
  transforms = {FROZEN: optax.set_to_zero()}
  for name in trainable:
    factor = float(multipliers.get(name, 1.0))
    transforms[name] = optax.adamw(
      lambda step, factor=factor: factor * base(step),
      weight_decay=stage["weight_decay"],
      mask=decay_mask,
    )
  labels = jax.tree.map(lambda name: name if name in trainable else FROZEN, groups)
  anchor_weight = float(stage.get("anchor_weight", 0.0))
  anchor = [anchor_to_start(anchor_weight)] if anchor_weight > 0 else []
  return optax.chain(
    optax.clip_by_global_norm(stage["clip_norm"]),
    *anchor,
    optax.multi_transform(transforms, labels),
  )
