"""Training SOFTNet as its authors do: MSE on 0/1 pseudo-labels, plain SGD (optax).

After genbing99/SoftNet-SpotME ``training.py``: per LOSO fold the model restarts
from its initial weights, half of the negatives (label 0) are dropped at random,
micro-expression positives get three augmented copies (horizontal flip, 7 × 7
Gaussian blur, Gaussian noise of variance 0.01), and Keras' ``SGD(lr=0.0005)``
(no momentum) minimises the MSE of the (B, 1) score for 10 epochs of batch 12.

Inputs everywhere: features (N, 42, 42, 3) float32 (u, v, ε; `softnet_features`),
labels (N,) float32 in {0, 1} (`softnet_labels.pseudo_labels`). `training_set`
applies the sampling and augmentation to unnormalised features and returns model
inputs (`softnet_features.normalize`d); `fit` trains on them; `predict` scores.

  inputs, targets = training_set(features, labels, augment=True, seed=0)
  params = fit(inputs, targets, steps=steps_for_epochs(len(inputs)), seed=0)
  scores = predict(params, softnet_features.normalize(test_features))
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Iterator

import cv2
import flax.struct
import jax
import jax.numpy as jnp
import numpy as np
import optax
import tqdm
from flax import nnx

from cmcl_jax.baselines.softnet import INPUT_SIDE, SOFTNet
from cmcl_jax.baselines.softnet_features import CHANNELS, normalize

LEARNING_RATE = 5e-4
"""Keras ``SGD(lr=0.0005)``, the authors' optimiser (no momentum, no decay)."""
BATCH_SIZE = 12
EPOCHS = 10
BLUR_KERNEL = (7, 7)
"""``cv2.GaussianBlur(image, (7, 7), 0)``: σ from the kernel size (1.4 px)."""
NOISE_VARIANCE = 0.01
"""scikit-image ``random_noise`` defaults: zero-mean Gaussian, variance 0.01, clipped."""


@flax.struct.dataclass
class TrainState:
  """step () int32, params (`nnx.State` of the `SOFTNet`), opt_state (optax)."""

  step: jax.Array
  params: nnx.State
  opt_state: optax.OptState


def _check(inputs: np.ndarray, labels: np.ndarray | None = None) -> None:
  expected = (INPUT_SIDE, INPUT_SIDE, len(CHANNELS))
  if np.ndim(inputs) != 4 or np.shape(inputs)[1:] != expected or not len(inputs):
    raise ValueError(
      f"inputs: expected (N >= 1, {', '.join(map(str, expected))}), got {np.shape(inputs)}"
    )
  if labels is not None and np.shape(labels) != (len(inputs),):
    raise ValueError(f"labels: expected ({len(inputs)},), one per input, got {np.shape(labels)}")


def augment(image: np.ndarray, rng: np.random.Generator) -> list[np.ndarray]:
  """The authors' three copies of a positive (42, 42, 3) unnormalised image.

  Horizontal flip; 7 × 7 Gaussian blur; Gaussian noise (variance 0.01) clipped to
  [0, 1], or to [−1, 1] where the image has negative values (scikit-image's rule, so
  flow above 1 px is clipped, as in the authors' training).
  """
  low = -1.0 if image.min() < 0 else 0.0
  noisy = np.clip(image + rng.normal(0.0, math.sqrt(NOISE_VARIANCE), image.shape), low, 1.0)
  return [
    np.ascontiguousarray(image[:, ::-1]),
    cv2.GaussianBlur(image, BLUR_KERNEL, 0),
    noisy.astype(np.float32),
  ]


def training_set(
  features: np.ndarray, labels: np.ndarray, *, augment_positives: bool, seed: int
) -> tuple[np.ndarray, np.ndarray]:
  """One fold's training examples from its unnormalised features and pseudo-labels.

  Drops int(c / 2) negatives at random, c the count of the most common label (the
  negatives in practice); adds three `augment` copies of every positive when
  `augment_positives` (the authors do for micro-expressions only); normalises.

  Args:
    features: (N, 42, 42, 3) float32 (u, v, ε) of the training subjects' frames.
    labels: (N,) float32 0/1 pseudo-labels.
    augment_positives: add the augmented copies.
    seed: seed of the dropping and of the noise.

  Returns:
    (inputs (M, 42, 42, 3) float32 in [0, 1], targets (M,) float32), positives' copies
    after the originals; `fit` shuffles.
  """
  features, labels = np.asarray(features, np.float32), np.asarray(labels, np.float32)
  _check(features, labels)
  rng = np.random.default_rng(seed)
  negatives = np.flatnonzero(labels == 0)
  _, counts = np.unique(labels, return_counts=True)
  dropped = rng.choice(negatives, min(int(counts.max() / 2), len(negatives)), replace=False)
  kept = np.setdiff1d(np.arange(len(labels)), dropped)
  images, targets = list(features[kept]), list(labels[kept])
  if augment_positives:
    for index in kept[labels[kept] == 1]:
      copies = augment(features[index], rng)
      images += copies
      targets += [np.float32(1)] * len(copies)
  return normalize(np.stack(images)), np.asarray(targets, np.float32)


def init_params(seed: int = 0) -> tuple[nnx.GraphDef, nnx.State]:
  """(graphdef, params) of a freshly initialised `SOFTNet` (Keras' initialisers)."""
  return nnx.split(SOFTNet(rngs=nnx.Rngs(seed)))


def mse_loss(graphdef: nnx.GraphDef, params: nnx.State, batch: dict) -> tuple[jax.Array, jax.Array]:
  """(MSE, scores) of a batch {"features": (B, 42, 42, 3), "label": (B,)}."""
  scores = nnx.merge(graphdef, params).score(batch["features"])
  return jnp.mean((scores - batch["label"]) ** 2), scores


def make_train_step(
  graphdef: nnx.GraphDef, tx: optax.GradientTransformation
) -> Callable[[TrainState, dict], tuple[TrainState, dict]]:
  """``train_step(state, batch) -> (state, metrics)``, jit-compiled, `state` donated.

  Metrics: "loss" (MSE) and "mae" (Keras' MeanAbsoluteError), float32 scalars, of
  the batch before the update.
  """

  def train_step(state: TrainState, batch: dict) -> tuple[TrainState, dict]:
    (loss, scores), grads = jax.value_and_grad(functools.partial(mse_loss, graphdef), has_aux=True)(
      state.params, batch
    )
    updates, opt_state = tx.update(grads, state.opt_state, state.params)
    new_state = TrainState(
      step=state.step + 1, params=optax.apply_updates(state.params, updates), opt_state=opt_state
    )
    return new_state, {"loss": loss, "mae": jnp.mean(jnp.abs(scores - batch["label"]))}

  return jax.jit(train_step, donate_argnums=0)


@functools.lru_cache(maxsize=8)
def _sgd_step(graphdef: nnx.GraphDef, learning_rate: float):
  """(tx, compiled train step) of plain SGD, shared by the `fit` calls of a run (one
  compilation for all LOSO folds)."""
  tx = optax.sgd(learning_rate)
  return tx, make_train_step(graphdef, tx)


def batch_indices(
  num_examples: int, batch_size: int, steps: int, seed: int
) -> Iterator[np.ndarray]:
  """`steps` index batches of `batch_size`: each epoch a fresh permutation of
  range(num_examples) from `seed`, consecutive epochs joined so every batch is full."""
  rng = np.random.default_rng(seed)
  pending = np.zeros(0, np.int64)
  for _ in range(steps):
    while len(pending) < batch_size:
      pending = np.concatenate([pending, rng.permutation(num_examples)])
    yield pending[:batch_size]
    pending = pending[batch_size:]


def steps_for_epochs(num_examples: int, batch_size: int = BATCH_SIZE, epochs: int = EPOCHS) -> int:
  """Optimizer steps of `epochs` passes (Keras: ceil(N / batch) steps an epoch)."""
  return epochs * math.ceil(num_examples / batch_size)


def fit(
  inputs: np.ndarray,
  labels: np.ndarray,
  *,
  steps: int,
  batch_size: int = BATCH_SIZE,
  seed: int = 0,
  learning_rate: float = LEARNING_RATE,
  progress: bool = False,
) -> nnx.State:
  """Trains a fresh `SOFTNet` (initialised from `seed`) on normalised inputs.

  Args:
    inputs: (N, 42, 42, 3) float32 model inputs (`training_set`).
    labels: (N,) float32 targets.
    steps: optimizer steps (`steps_for_epochs` for the authors' 10 epochs).
    batch_size: examples per step.
    seed: initialisation and batching seed; the same seed gives the same params.
    learning_rate: SGD step size.
    progress: show a tqdm bar with steps/s, ETA and the running loss.

  Returns:
    The trained params (`nnx.State`); `predict` scores with them.
  """
  _check(inputs, labels)
  if steps < 1 or batch_size < 1:
    raise ValueError(f"steps={steps}, batch_size={batch_size}: expected both >= 1")
  inputs, labels = np.asarray(inputs, np.float32), np.asarray(labels, np.float32)
  graphdef, params = init_params(seed)
  tx, train_step = _sgd_step(graphdef, float(learning_rate))
  state = TrainState(step=jnp.zeros((), jnp.int32), params=params, opt_state=tx.init(params))
  bar = tqdm.tqdm(total=steps, desc="SOFTNet", disable=not progress)
  for step, index in enumerate(batch_indices(len(inputs), batch_size, steps, seed)):
    state, metrics = train_step(state, {"features": inputs[index], "label": labels[index]})
    if progress and (step % 50 == 0 or step == steps - 1):
      bar.set_postfix(loss=f"{float(metrics['loss']):.4f}")
    bar.update()
  bar.close()
  return state.params


@functools.partial(jax.jit, static_argnums=0)
def _scores(graphdef: nnx.GraphDef, params: nnx.State, features: jax.Array) -> jax.Array:
  return nnx.merge(graphdef, params).score(features)


def predict(params: nnx.State, inputs: np.ndarray, *, batch_size: int = 1024) -> np.ndarray:
  """(N,) float32 scores of (N, 42, 42, 3) normalised inputs, in batches of
  min(batch_size, N) (the last one zero-padded, so one compiled shape). `params` from `fit` or
  ``nnx.state(load_keras_weights(path))``."""
  _check(inputs)
  graphdef, _ = init_params()
  size = min(batch_size, len(inputs))
  out = []
  for start in range(0, len(inputs), size):
    chunk = np.asarray(inputs[start : start + size], np.float32)
    padded = np.zeros((size, *chunk.shape[1:]), np.float32)
    padded[: len(chunk)] = chunk
    out.append(np.asarray(_scores(graphdef, params, padded))[: len(chunk)])
  return np.concatenate(out).astype(np.float32)
