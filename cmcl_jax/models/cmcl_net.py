"""CMCL-Net: the cross-modal encoder with its projection head and classifier.

Input convention — a dict batch (NumPy or JAX arrays):

  "flow"          (B, T, H, W, 2) float32  optical flow (dx, dy) of the face crop,
                                            pixels per frame; video modalities.
  "ecg"           (B, L, 1)       float32  band-passed ECG of the same window,
                                            standardised per window; ECG modalities.
  "ecg_features"  (B, F)          float32  hand-made ECG features (RR mean, RR std,
                                            HR mean, HRV SDSD, …), standardised;
                                            ECG modalities.

Other keys (labels, ids, …) are ignored, so a training batch can be passed as is.
"""

from collections.abc import Mapping

import jax
import jax.numpy as jnp
from flax import nnx

from cmcl_jax.models.encoder import CrossModalEncoder
from cmcl_jax.models.heads import Classifier, ProjectionHead

BATCH_KEYS = {"video": ("flow",), "ecg": ("ecg", "ecg_features")}


class CMCLNet(nnx.Module):
  """Encoder + projection head (pre-training) + classifier (fine-tuning).

  Args:
    encoder: the `CrossModalEncoder` (built by the caller, so any encoder works).
    projection_dim, projection_hidden_dim: the `ProjectionHead`.
    classifier_hidden_dim, num_classes, classifier_dropout: the `Classifier`.
    classifier_ecg_features: the classifier also reads the batch's hand-made ECG
      features (B, F), appended to the embedding: its input is
      (B, embedding_dim + F). ECG modalities only. A late fusion of the fixed,
      interpretable heart features (e.g. the heart-rate rise) beside the learned
      ones, which cannot fit the training subjects' ECG noise.
    classifier_video_dropout: in training, the share of windows whose video
      embedding is zeroed before the classifier (modality dropout; fused models with
      fusion "concat"). A classifier over encoders already fit to the training
      subjects would otherwise learn that the video explains every label and give
      the heart no weight.

  Heads compute in the encoder's dtype. Starts in eval mode; `model.train()` turns
  all dropout on, `model.eval()` off.
  """

  def __init__(
    self,
    encoder: CrossModalEncoder,
    *,
    projection_dim: int = 64,
    projection_hidden_dim: int = 128,
    classifier_hidden_dim: int = 64,
    num_classes: int = 2,
    classifier_dropout: float = 0.0,
    classifier_ecg_features: bool = False,
    classifier_video_dropout: float = 0.0,
    rngs: nnx.Rngs,
  ):
    if classifier_ecg_features and not encoder.uses_ecg:
      raise ValueError(
        "classifier_ecg_features=True needs an ECG modality; the encoder's modality is "
        f"{encoder.modality!r}"
      )
    if classifier_video_dropout and (encoder.modality != "both" or encoder.fusion != "concat"):
      raise ValueError(
        f"classifier_video_dropout={classifier_video_dropout} needs a fused encoder "
        f"(modality 'both', fusion 'concat'); got modality={encoder.modality!r}, "
        f"fusion={encoder.fusion!r}"
      )
    dtypes = dict(dtype=encoder.dtype, param_dtype=encoder.param_dtype)
    self.encoder = encoder
    self.classifier_ecg_features = classifier_ecg_features
    classifier_inputs = encoder.embedding_dim
    if classifier_ecg_features:
      classifier_inputs += encoder.ecg_backbone.num_features
    self.projection_head = ProjectionHead(
      encoder.embedding_dim,
      projection_hidden_dim,
      projection_dim,
      rngs=rngs,
      **dtypes,
    )
    self.classifier = Classifier(
      classifier_inputs,
      classifier_hidden_dim,
      num_classes,
      dropout=classifier_dropout,
      rngs=rngs,
      **dtypes,
    )
    # Built last and only when used, so that a model without it draws the same
    # initial weights and dropout keys as before it existed. Drops whole rows.
    self.video_dropout = (
      nnx.Dropout(classifier_video_dropout, broadcast_dims=(1,), deterministic=True, rngs=rngs)
      if classifier_video_dropout
      else None
    )

  @classmethod
  def from_config(cls, config: Mapping, *, rngs: nnx.Rngs) -> "CMCLNet":
    """Builds the model from `model_config(name)` (or any mapping shaped like it).

    `config.encoder` holds `CrossModalEncoder` keyword arguments, `config.heads`
    the keyword arguments of this class, and `config.dtype` / `config.param_dtype`
    dtype names such as "float32" or "bfloat16".
    """
    encoder = CrossModalEncoder(
      **dict(config["encoder"]),
      dtype=jnp.dtype(config["dtype"]),
      param_dtype=jnp.dtype(config["param_dtype"]),
      rngs=rngs,
    )
    return cls(encoder, **dict(config["heads"]), rngs=rngs)

  def encode(
    self, batch: Mapping[str, jax.Array], *, deterministic: bool | None = None
  ) -> jax.Array:
    """Fused window embedding (B, encoder.embedding_dim) float32."""
    modalities = {"both": ("video", "ecg"), "video": ("video",), "ecg": ("ecg",)}
    needed = [k for m in modalities[self.encoder.modality] for k in BATCH_KEYS[m]]
    missing = [k for k in needed if k not in batch]
    if missing:
      raise KeyError(
        f"batch lacks {missing} needed by modality={self.encoder.modality!r}; it "
        f"has {sorted(batch)}"
      )
    return self.encoder(**{k: jnp.asarray(batch[k]) for k in needed}, deterministic=deterministic)

  def embed(
    self, batch: Mapping[str, jax.Array], *, deterministic: bool | None = None
  ) -> jax.Array:
    """L2-normalised projection (B, projection_dim) float32 for the triplet loss."""
    return self.projection_head(self.encode(batch, deterministic=deterministic))

  def classify(
    self, batch: Mapping[str, jax.Array], *, deterministic: bool | None = None
  ) -> jax.Array:
    """ME / non-ME logits (B, num_classes) float32."""
    inputs = self.encode(batch, deterministic=deterministic)
    if self.video_dropout is not None:
      video_dim = self.encoder.embedding_dim // 2  # the video half comes first
      kept = self.video_dropout(jnp.ones_like(inputs[:, :1]), deterministic=deterministic) > 0
      video = jnp.where(kept, inputs[:, :video_dim], 0.0)
      inputs = jnp.concatenate([video, inputs[:, video_dim:]], axis=-1)
    if self.classifier_ecg_features:
      features = jnp.asarray(batch["ecg_features"], jnp.float32)
      inputs = jnp.concatenate([inputs, features], axis=-1)
    return self.classifier(inputs, deterministic=deterministic)
