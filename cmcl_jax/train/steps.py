"""Pure training and evaluation steps: (state, batch, rng) → (state, metrics).

Batches are dicts of arrays (see `cmcl_jax.models.cmcl_net` for the model keys):

  pre-training  {"anchor": views, "positive": views, "negative": views}, each view a
                dict of (B, …) arrays; anchor and positive are ME windows, the
                negative a non-ME window.
  fine-tuning   model keys + "label" (B,) int32 (1 = ME, 0 = non-ME).
  evaluation    fine-tuning keys + optional "mask" (B,) bool, False on padding rows.

`make_steps` closes the steps over the model parts and the optimizer and jit-compiles
them with the state donated and the state and metrics replicated on the mesh.
Metrics are float32 scalars.

Train steps differentiate only the stage's `trainable` groups: the others enter the
loss through `stop_gradient`, so their gradient is zero and XLA drops their backward
pass (a classifier trained on frozen encoders does not back-propagate through them).
Clipping and the reported `grad_norm` therefore cover the trained groups only.
"""

import dataclasses
import functools
from collections.abc import Callable, Mapping

import jax
import jax.numpy as jnp
import optax

from cmcl_jax.train import losses
from cmcl_jax.train.optim import parameter_groups
from cmcl_jax.train.state import ModelParts, TrainState, merge_model

VIEWS = ("anchor", "positive", "negative")


def _apply_gradients(
  state: TrainState, grads, tx: optax.GradientTransformation
) -> tuple[TrainState, jax.Array]:
  updates, opt_state = tx.update(grads, state.opt_state, state.params)
  params = optax.apply_updates(state.params, updates)
  new_state = state.replace(step=state.step + 1, params=params, opt_state=opt_state)
  return new_state, optax.tree.norm(grads)


def stop_frozen_gradients(params, trainable: tuple[str, ...]):
  """`params` with every leaf outside the top-level groups `trainable` behind stop_gradient."""
  return jax.tree.map(
    lambda group, p: p if group in trainable else jax.lax.stop_gradient(p),
    parameter_groups(params),
    params,
  )


def stack_views(batch: Mapping[str, Mapping[str, jax.Array]]) -> dict[str, jax.Array]:
  """Triplet views interleaved into one (3B, …) batch: rows a0, p0, n0, a1, p1, n1, ….

  Interleaving (rather than concatenating) keeps each row's three views on the
  device that holds the row when the batch axis is sharded.
  """
  keys = batch[VIEWS[0]].keys()
  return {
    k: jnp.stack([batch[v][k] for v in VIEWS], axis=1).reshape(-1, *batch[VIEWS[0]][k].shape[1:])
    for k in keys
  }


def pretrain_loss(model, batch, *, margin: float, mining: str) -> jax.Array:
  """Triplet loss of one pre-training batch (mining "given" or "batch_hard")."""
  embeddings = model.embed(stack_views(batch))
  triplets = embeddings.reshape(-1, len(VIEWS), embeddings.shape[-1])
  if mining == "given":
    return losses.triplet_loss(triplets[:, 0], triplets[:, 1], triplets[:, 2], margin)
  if mining == "batch_hard":
    # Anchor and positive rows are ME (1), negatives non-ME (0); only ME rows anchor.
    labels = jnp.tile(jnp.array([1, 1, 0]), triplets.shape[0])
    return losses.batch_hard_triplet_loss(embeddings, labels, margin, anchor_mask=labels == 1)
  raise ValueError(f"mining must be one of {losses.MININGS}, got {mining!r}")


def pretrain_step(
  state: TrainState,
  batch,
  rng: jax.Array,
  *,
  parts: ModelParts,
  tx: optax.GradientTransformation,
  schedule: Callable,
  margin: float,
  mining: str,
  trainable: tuple[str, ...],
) -> tuple[TrainState, dict]:
  """One triplet-loss update of the `trainable` groups. Metrics: loss, grad_norm, lr."""

  def loss_fn(params):
    model = merge_model(parts, stop_frozen_gradients(params, trainable), rng)
    return pretrain_loss(model, batch, margin=margin, mining=mining)

  loss, grads = jax.value_and_grad(loss_fn)(state.params)
  new_state, grad_norm = _apply_gradients(state, grads, tx)
  return new_state, {
    "loss": loss,
    "grad_norm": grad_norm,
    "lr": jnp.asarray(schedule(state.step), jnp.float32),
  }


def finetune_step(
  state: TrainState,
  batch,
  rng: jax.Array,
  *,
  parts: ModelParts,
  tx: optax.GradientTransformation,
  schedule: Callable,
  loss_name: str,
  class_weights,
  focal_gamma: float,
  trainable: tuple[str, ...],
) -> tuple[TrainState, dict]:
  """One classification update of the `trainable` groups. Metrics: loss, accuracy, grad_norm, lr."""
  labels = batch["label"]

  def loss_fn(params):
    logits = merge_model(parts, stop_frozen_gradients(params, trainable), rng).classify(batch)
    loss = losses.classification_loss(
      loss_name, logits, labels, class_weights=class_weights, focal_gamma=focal_gamma
    )
    return loss, logits

  (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  new_state, grad_norm = _apply_gradients(state, grads, tx)
  accuracy = jnp.mean(jnp.argmax(logits, -1) == labels)
  return new_state, {
    "loss": loss,
    "accuracy": accuracy.astype(jnp.float32),
    "grad_norm": grad_norm,
    "lr": jnp.asarray(schedule(state.step), jnp.float32),
  }


def eval_step(
  state: TrainState, batch, *, parts: ModelParts, loss_name: str, class_weights, focal_gamma: float
) -> dict:
  """Sums over the batch's valid rows, to be added up over an evaluation pass.

  Returns float32 scalars: loss_sum (unweighted per-row loss), count, and the
  window-level confusion counts tp, fp, fn, tn for the ME class (argmax decision).
  """
  logits = merge_model(parts, state.params, None).classify(batch)
  labels = batch["label"]
  mask = batch.get("mask", jnp.ones(labels.shape, bool)).astype(jnp.float32)
  per_row = jax.vmap(
    lambda lg, y: losses.classification_loss(
      loss_name, lg[None], y[None], class_weights=class_weights, focal_gamma=focal_gamma
    )
  )(logits, labels)
  predicted = jnp.argmax(logits, -1) == 1
  actual = labels == 1
  count = lambda x: jnp.sum(x * mask)
  return {
    "loss_sum": count(per_row),
    "count": jnp.sum(mask),
    "tp": count(predicted & actual),
    "fp": count(predicted & ~actual),
    "fn": count(~predicted & actual),
    "tn": count(~predicted & ~actual),
  }


@dataclasses.dataclass(frozen=True)
class Steps:
  """The jit-compiled steps of one stage."""

  train: Callable[[TrainState, dict, jax.Array], tuple[TrainState, dict]]
  evaluate: Callable[[TrainState, dict], dict]


def make_steps(
  stage_name: str,
  stage: Mapping,
  parts: ModelParts,
  tx: optax.GradientTransformation,
  schedule: Callable,
  replicated: jax.sharding.Sharding,
) -> Steps:
  """Jit-compiled train and eval steps for "pretrain" or "finetune".

  The train step donates the state; state and metrics come back replicated.
  """
  classification = dict(
    loss_name=stage.get("loss", "cross_entropy"),
    class_weights=stage.get("class_weights", None),
    focal_gamma=stage.get("focal_gamma", 2.0),
  )
  trainable = tuple(stage["trainable"])
  if stage_name == "pretrain":
    if stage["mining"] not in losses.MININGS:
      raise ValueError(f"pretrain.mining must be one of {losses.MININGS}, got {stage['mining']!r}")
    train = functools.partial(
      pretrain_step,
      parts=parts,
      tx=tx,
      schedule=schedule,
      margin=stage["margin"],
      mining=stage["mining"],
      trainable=trainable,
    )
  elif stage_name == "finetune":
    if classification["loss_name"] not in losses.CLASSIFICATION_LOSSES:
      raise ValueError(
        f"finetune.loss must be one of {losses.CLASSIFICATION_LOSSES}, "
        f"got {classification['loss_name']!r}"
      )
    train = functools.partial(
      finetune_step, parts=parts, tx=tx, schedule=schedule, trainable=trainable, **classification
    )
  else:
    raise ValueError(f"unknown stage {stage_name!r}; expected 'pretrain' or 'finetune'")
  evaluate = functools.partial(eval_step, parts=parts, **classification)
  return Steps(
    train=jax.jit(train, donate_argnums=0, out_shardings=replicated),
    evaluate=jax.jit(evaluate, out_shardings=replicated),
  )
