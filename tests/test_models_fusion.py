"""The gated fusion: a fused model that starts as its single-modality streams."""

import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest
from flax import nnx

from cmcl_jax.models import CMCLNet, example_batch, model_config
from cmcl_jax.train import warm_start


def tiny(modality, seed, heads=None, **encoder):
  config = model_config("tiny")
  config.encoder.update(modality=modality, **encoder)
  config.heads.update(heads or {})
  return config, CMCLNet.from_config(config, rngs=nnx.Rngs(seed))


def started_from_streams(fused_config, fused, video, ecg):
  """The fused model with its streams from `video` / `ecg` and video's classifier."""
  pure = nnx.to_pure_dict(nnx.state(fused, nnx.Param))
  for stream, source in (("video", video), ("ecg", ecg)):
    source_pure = nnx.to_pure_dict(nnx.state(source, nnx.Param))
    parts = {k: v for k, v in source_pure["encoder"].items() if k.startswith(stream + "_")}
    warm_start._copy_matching(pure["encoder"], parts, "encoder")
  warm_start._start_classifier(
    pure["classifier"],
    nnx.to_pure_dict(nnx.state(video, nnx.Param))["classifier"],
    "video",
    fused_config,
  )
  state = nnx.state(fused, nnx.Param)
  nnx.replace_by_pure_dict(state, pure)
  nnx.update(fused, state)
  return fused


def test_a_gated_fused_model_starts_as_the_video_model():
  _, video = tiny("video", seed=1)
  _, ecg = tiny("ecg", seed=2)
  config, fused = tiny("both", seed=3, fusion_layer="gated")
  batch = example_batch(fused.encoder, 4)
  batch["flow"] = jnp.asarray(np.random.default_rng(0).normal(size=batch["flow"].shape))
  fused = started_from_streams(config, fused, video, ecg)
  np.testing.assert_allclose(fused.classify(batch), video.classify(batch), atol=1e-5)
  # An open gate lets the ECG stream in: the outputs then differ.
  fused.encoder.video_layers[0].cross_gate[...] = jnp.asarray(0.5)
  assert np.abs(np.asarray(fused.classify(batch) - video.classify(batch))).max() > 1e-4


def test_a_classifier_reading_the_ecg_features_starts_as_the_video_model():
  _, video = tiny("video", seed=1)
  _, ecg = tiny("ecg", seed=2)
  config, fused = tiny(
    "both", seed=3, heads=dict(classifier_ecg_features=True), fusion_layer="gated"
  )
  features = fused.encoder.ecg_backbone.num_features
  assert fused.classifier.hidden.kernel.shape[0] == fused.encoder.embedding_dim + features
  batch = example_batch(fused.encoder, 4)
  rng = np.random.default_rng(0)
  batch["flow"] = jnp.asarray(rng.normal(size=batch["flow"].shape))
  batch["ecg_features"] = jnp.asarray(rng.normal(size=batch["ecg_features"].shape))
  fused = started_from_streams(config, fused, video, ecg)
  np.testing.assert_allclose(fused.classify(batch), video.classify(batch), atol=1e-5)
  # Weights on the feature rows let the features in, the encoders unchanged.
  kernel = np.asarray(fused.classifier.hidden.kernel[...])
  kernel[-features:] = 0.5
  fused.classifier.hidden.kernel[...] = jnp.asarray(kernel)
  assert np.abs(np.asarray(fused.classify(batch) - video.classify(batch))).max() > 1e-3


def test_a_video_model_cannot_read_ecg_features():
  with pytest.raises(ValueError, match="classifier_ecg_features=True needs an ECG modality"):
    tiny("video", seed=1, heads=dict(classifier_ecg_features=True))


def test_video_dropout_zeroes_whole_video_embeddings_in_training_only():
  heads = dict(classifier_video_dropout=0.5, classifier_dropout=0.0)
  _, fused = tiny("both", seed=3, heads=heads, dropout=0.0)
  batch = example_batch(fused.encoder, 64)
  batch["flow"] = jnp.asarray(np.random.default_rng(0).normal(size=batch["flow"].shape))
  embedding = fused.encode(batch)
  video_dim = fused.encoder.embedding_dim // 2
  without_video = embedding.at[:, :video_dim].set(0.0)
  with_video = np.asarray(fused.classify(batch))
  np.testing.assert_allclose(with_video, fused.classifier(embedding), atol=1e-6)
  fused.train()
  trained = np.asarray(fused.classify(batch))
  dropped = np.all(np.isclose(trained, fused.classifier(without_video), atol=1e-6), axis=1)
  kept = np.all(np.isclose(trained, with_video, atol=1e-6), axis=1)
  assert np.all(dropped ^ kept)
  assert 16 <= dropped.sum() <= 48  # about half of 64


def test_video_dropout_needs_a_concatenated_fusion():
  with pytest.raises(ValueError, match="classifier_video_dropout=0.5 needs a fused encoder"):
    tiny("both", seed=1, heads=dict(classifier_video_dropout=0.5), fusion="sum")


def test_a_video_model_restarts_from_a_video_model():
  config, video = tiny("video", seed=1)
  _, again = tiny("video", seed=4)
  batch = example_batch(video.encoder, 4)
  batch["flow"] = jnp.asarray(np.random.default_rng(0).normal(size=batch["flow"].shape))
  assert np.abs(np.asarray(again.classify(batch) - video.classify(batch))).max() > 1e-4
  pure = nnx.to_pure_dict(nnx.state(again, nnx.Param))
  source = nnx.to_pure_dict(nnx.state(video, nnx.Param))
  warm_start._copy_matching(pure["encoder"], source["encoder"], "encoder")
  warm_start._start_classifier(pure["classifier"], source["classifier"], "video", config)
  state = nnx.state(again, nnx.Param)
  nnx.replace_by_pure_dict(state, pure)
  nnx.update(again, state)
  np.testing.assert_allclose(again.classify(batch), video.classify(batch), atol=1e-6)


def test_a_video_model_cannot_start_from_an_ecg_run():
  config, video = tiny("video", seed=1)
  finetune = dict(init_streams={"ecg": "../ecg"}, init_classifier="")
  with pytest.raises(ValueError, match=r"among \('video',\) \(model.encoder.modality='video'\)"):
    warm_start.from_streams(
      nnx.state(video, nnx.Param), ml_collections.ConfigDict(finetune), None, config, None
    )


def test_the_paper_fusion_cannot_start_as_a_stream():
  config, fused = tiny("both", seed=3, fusion="sum")
  _, video = tiny("video", seed=1)
  with pytest.raises(ValueError, match="fusion='concat'"):
    warm_start._start_classifier(
      nnx.to_pure_dict(nnx.state(fused, nnx.Param))["classifier"],
      nnx.to_pure_dict(nnx.state(video, nnx.Param))["classifier"],
      "video",
      config,
    )


def test_streams_of_another_size_are_refused_naming_the_parameter():
  _, video = tiny("video", seed=1, dim=8, num_heads=2)
  _, fused = tiny("both", seed=3, fusion_layer="gated")
  pure = nnx.to_pure_dict(nnx.state(fused, nnx.Param))
  source = nnx.to_pure_dict(nnx.state(video, nnx.Param))["encoder"]
  with pytest.raises(ValueError, match=r"encoder\.video_.*shape"):
    warm_start._copy_matching(pure["encoder"], {"video_embed": source["video_embed"]}, "encoder")


def test_paper_preset_matches_token_counts_by_padding_the_ecg():
  config = model_config("paper")
  model = nnx.eval_shape(lambda: CMCLNet.from_config(config, rngs=nnx.Rngs(0)))
  assert model.encoder.video_embed.num_patches == model.encoder.ecg_embed.num_patches == 64
  assert model.encoder.embedding_dim == config.encoder.dim  # streams summed
