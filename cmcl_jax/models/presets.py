"""Named model presets as `ml_collections.ConfigDict`s for `CMCLNet.from_config`.

  tiny     tests: about 12 k parameters, 8 tokens per stream; fits the `mecg/tiny`
           windows (4 flow fields at 16², 64 ECG samples).
  default  CPU demo: fits the `mecg/default` windows (8 flow fields at 32², 2 s of
           ECG at 250 Hz = 500 samples); 64 video and 100 ECG tokens.
  large    GPU: 16 flow fields at 80², 2 s of ECG at 500 Hz, 100 tokens per stream,
           bfloat16 compute with float32 parameters, XLA's own convolution and
           fused attention (the others use the CPU forms of both).
  paper    `default` with the fusion of the paper's figure: the other stream
           queries each stream (`query_from="other"`), cross-attention in place of
           self-attention (`fusion_layer="cross"`), streams summed
           (`fusion="sum"`); the 500 ECG samples are zero-padded to 64 tokens of 8
           to match the 64 video tokens.

tiny, default and large use `query_from="own"`, which takes any token counts, and
`fusion_layer="gated"`: each stream keeps its self-attention and reads the other
through a gated cross-attention that starts closed (`cmcl_jax.models.stream`).
Every preset reads the 7 window features of `cmcl_jax.ecg.WINDOW_FEATURE_NAMES`.
"""

import ml_collections

PRESETS = ("tiny", "default", "large", "paper")


def paper_fusion(**token_match) -> dict:
  """Encoder fields of the paper's fusion (its figure), plus `token_match`: the
  ECG patch fields that give as many ECG tokens as video tokens."""
  return dict(query_from="other", fusion="sum", fusion_layer="cross", **token_match)


def model_config(name: str = "default") -> ml_collections.ConfigDict:
  """The model section of an experiment config.

  Returns a ConfigDict with `encoder` (`CrossModalEncoder` keyword arguments),
  `heads` (`CMCLNet` keyword arguments), `dtype` and `param_dtype` (names).
  """
  if name not in PRESETS:
    raise ValueError(f"unknown model preset {name!r}; choose one of {PRESETS}")
  shared = dict(
    modality="both",
    query_from="own",
    fusion="concat",
    fusion_layer="gated",
    ecg_tokens=0,  # ecg_length / ecg_patch
    attention_implementation="matmul",  # hand-written backward: CPU (attention.py)
    pos_embedding="learned",
    video_kernel_size=(3, 3, 3),
    channel_reduction=4,
    video_conv="frames",  # the 3-D convolutions as 2-D ones over stacked frames: CPU (conv_utils)
    ecg_kernel_size=3,
    ecg_num_features=7,  # len(cmcl_jax.ecg.WINDOW_FEATURE_NAMES)
    dropout=0.1,
  )
  if name == "tiny":
    encoder = dict(
      flow_shape=(4, 16, 16),  # → feature map (2, 4, 4) → 2·2·2 = 8 tokens
      video_channels=(8, 16),
      video_strides=((1, 2, 2), (2, 2, 2)),
      video_tubelet=(1, 2, 2),
      ecg_length=64,  # / patch 8 → 8 tokens
      ecg_channels=8,
      ecg_dilations=(1, 2),
      ecg_patch=8,
      dim=16,
      depth=1,
      num_heads=2,
      mlp_ratio=2.0,
    )
    heads = dict(
      projection_dim=8, projection_hidden_dim=16, classifier_hidden_dim=8, classifier_dropout=0.1
    )
    dtype = "float32"
  elif name in ("default", "paper"):
    encoder = dict(
      flow_shape=(8, 32, 32),  # → feature map (4, 8, 8) → 4·4·4 = 64 tokens
      video_channels=(16, 32, 64),
      video_strides=((1, 2, 2), (2, 2, 2), (1, 1, 1)),
      video_tubelet=(1, 2, 2),
      ecg_length=500,  # 2 s at 250 Hz / patch 5 (20 ms) → 100 tokens
      ecg_channels=32,
      ecg_dilations=(1, 2, 4, 8),
      ecg_patch=5,
      dim=64,
      depth=2,
      num_heads=4,
      mlp_ratio=2.0,
    )
    heads = dict(
      projection_dim=64, projection_hidden_dim=128, classifier_hidden_dim=64, classifier_dropout=0.1
    )
    dtype = "float32"
    if name == "paper":
      encoder.update(paper_fusion(ecg_patch=8, ecg_tokens=64))
  else:
    encoder = dict(
      flow_shape=(16, 80, 80),  # → feature map (8, 10, 10) → 4·5·5 = 100 tokens
      video_channels=(32, 64, 128, 256),
      video_strides=((1, 2, 2), (2, 2, 2), (1, 2, 2), (1, 1, 1)),
      video_tubelet=(2, 2, 2),
      ecg_length=1000,  # 2 s at 500 Hz / patch 10 (20 ms) → 100 tokens
      ecg_channels=64,
      ecg_dilations=(1, 2, 4, 8, 16, 32),
      ecg_patch=10,
      dim=256,
      depth=4,
      num_heads=8,
      mlp_ratio=4.0,
      video_conv="xla",  # cuDNN's convolution; the CPU forms are for CPU
      attention_implementation="fused",  # jax.nn.dot_product_attention
    )
    heads = dict(
      projection_dim=128,
      projection_hidden_dim=512,
      classifier_hidden_dim=256,
      classifier_dropout=0.1,
    )
    dtype = "bfloat16"
  return ml_collections.ConfigDict(
    dict(
      encoder={**shared, **encoder},
      heads=heads,
      dtype=dtype,
      param_dtype="float32",
    )
  )
