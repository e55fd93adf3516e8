"""Training losses: triplet (given or batch-hard) and class-weighted classification.

Embeddings are the model's L2-normalised projections, so Euclidean distances lie in
[0, 2]. All losses return a float32 scalar averaged over the batch.
"""

import jax
import jax.numpy as jnp

MININGS = ("given", "batch_hard")
CLASSIFICATION_LOSSES = ("cross_entropy", "focal")


def pairwise_distances(x: jax.Array, y: jax.Array) -> jax.Array:
  """Euclidean distances (N, M) float32 between rows of x (N, D) and y (M, D).

  The floor under the square root keeps the gradient finite for identical rows.
  """
  d2 = jnp.sum((x[:, None, :] - y[None, :, :]) ** 2, axis=-1)
  return jnp.sqrt(jnp.maximum(d2, 1e-12))


def _distance(x: jax.Array, y: jax.Array) -> jax.Array:
  return jnp.sqrt(jnp.maximum(jnp.sum((x - y) ** 2, axis=-1), 1e-12))


def triplet_loss(
  anchor: jax.Array, positive: jax.Array, negative: jax.Array, margin: float
) -> jax.Array:
  """Mean of max(‖a−p‖ − ‖a−n‖ + margin, 0) over the given triplets.

  Args:
    anchor, positive, negative: (B, D) float32 embeddings (row i is one triplet).
    margin: distance margin, in embedding units (≤ 2 for unit vectors).
  """
  hinge = _distance(anchor, positive) - _distance(anchor, negative) + margin
  return jnp.mean(jax.nn.relu(hinge))


def batch_hard_triplet_loss(
  embeddings: jax.Array, labels: jax.Array, margin: float, anchor_mask: jax.Array | None = None
) -> jax.Array:
  """Batch-hard triplet loss (Hermans et al., 2017) over all rows of a batch.

  Each anchor takes its farthest same-label row (other than itself) as positive and
  its closest other-label row as negative. Anchors with no positive or no negative
  in the batch do not count.

  Args:
    embeddings: (N, D) float32.
    labels: (N,) int class of each row.
    margin: distance margin, in embedding units.
    anchor_mask: (N,) bool, rows allowed as anchors (default: all).

  Returns:
    The mean hinge over the valid anchors (0 when there are none).
  """
  n = embeddings.shape[0]
  dist = pairwise_distances(embeddings, embeddings)
  same = labels[:, None] == labels[None, :]
  positive = same & ~jnp.eye(n, dtype=bool)
  negative = ~same
  hardest_positive = jnp.max(jnp.where(positive, dist, -jnp.inf), axis=1)
  hardest_negative = jnp.min(jnp.where(negative, dist, jnp.inf), axis=1)
  valid = positive.any(axis=1) & negative.any(axis=1)
  if anchor_mask is not None:
    valid &= anchor_mask
  hinge = jax.nn.relu(jnp.where(valid, hardest_positive - hardest_negative + margin, 0.0))
  return jnp.sum(hinge) / jnp.maximum(jnp.sum(valid), 1)


def _class_weights(labels: jax.Array, class_weights, num_classes: int) -> jax.Array:
  if class_weights is None:
    return jnp.ones(labels.shape, jnp.float32)
  weights = jnp.asarray(class_weights, jnp.float32)
  if weights.shape != (num_classes,):
    raise ValueError(
      f"class_weights needs one weight per class ({num_classes}), got {weights.shape}"
    )
  return weights[labels]


def weighted_cross_entropy(
  logits: jax.Array, labels: jax.Array, class_weights=None, mask: jax.Array | None = None
) -> jax.Array:
  """Softmax cross-entropy Σ w_y·CE / Σ w_y (PyTorch's `CrossEntropyLoss(weight=)`).

  Args:
    logits: (B, C) float32.
    labels: (B,) int class indices.
    class_weights: (C,) per-class weights w, or None for 1.
    mask: (B,) bool rows that count (padding excluded), or None for all.
  """
  return focal_loss(logits, labels, gamma=0.0, class_weights=class_weights, mask=mask)


def focal_loss(
  logits: jax.Array,
  labels: jax.Array,
  gamma: float = 2.0,
  class_weights=None,
  mask: jax.Array | None = None,
) -> jax.Array:
  """Focal loss Σ w_y·(1 − p_y)^γ·CE / Σ w_y (Lin et al., 2017); γ = 0 is weighted CE.

  Args:
    logits: (B, C) float32.
    labels: (B,) int class indices.
    gamma: focusing exponent γ ≥ 0.
    class_weights: (C,) per-class weights w (the α of the paper), or None for 1.
    mask: (B,) bool rows that count, or None for all.
  """
  log_p = jax.nn.log_softmax(logits.astype(jnp.float32), axis=-1)
  log_p_y = jnp.take_along_axis(log_p, labels[:, None].astype(jnp.int32), axis=-1)[:, 0]
  per_example = -log_p_y
  if gamma:
    per_example = per_example * (1.0 - jnp.exp(log_p_y)) ** gamma
  weights = _class_weights(labels, class_weights, logits.shape[-1])
  if mask is not None:
    weights = weights * mask
  return jnp.sum(weights * per_example) / jnp.maximum(jnp.sum(weights), 1e-12)


def classification_loss(
  name: str,
  logits: jax.Array,
  labels: jax.Array,
  *,
  class_weights=None,
  focal_gamma: float = 2.0,
  mask: jax.Array | None = None,
) -> jax.Array:
  """The classification loss chosen by name: "cross_entropy" or "focal"."""
  if name == "cross_entropy":
    return weighted_cross_entropy(logits, labels, class_weights, mask)
  if name == "focal":
    return focal_loss(logits, labels, focal_gamma, class_weights, mask)
  raise ValueError(f"loss must be one of {CLASSIFICATION_LOSSES}, got {name!r}")
