"""The gated fusion: a fused model that starts as its single-modality streams."""

import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from cmcl_jax.models import CMCLNet, example_batch, model_config
from cmcl_jax.train import warm_start


def tiny(modality, seed, **encoder):
  config = model_config("tiny")
  config.encoder.update(modality=modality, **encoder)
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
