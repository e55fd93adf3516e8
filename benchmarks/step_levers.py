"""What each CPU lever of the model gives the jit training step, side by side.

    python -m benchmarks.step_levers                   # ≈ 4 min on 2 cores
    python -m benchmarks.step_levers --stage=pretrain --rounds=5

Builds the library's jit step (`cmcl_jax.train.make_steps`, state donated) once per
variant of the config's model — the config as it is ("preset"), then each lever set
back to its portable form — and times them in interleaved rounds (variant A, B, C,
A, B, C, …) so that load from other processes falls on all of them alike. Each
round runs `--steps_per_round` steps; the table gives the median ms per step over rounds and
the ratio to the preset. The inputs are the random batches of
`benchmarks/train_speed.py`. Variants compute the same function (tests/
test_models_cpu_kernels.py, tests/test_models_attention.py) except "no dropout",
which shows what dropout costs and is not a lever, and "bfloat16 compute", which
rounds activations to 8 bits of mantissa (the `large` preset's setting for
accelerators). "GELU as jax.nn.gelu" builds the model with JAX's exact GELU (written
with `erfc`) in place of `cmcl_jax.models.activations.gelu` (with `erf`), the same
function within 1e-6. The two "head only" rows train the stage's head on a frozen encoder
(the demo's fused spotter): once as the library does it, the encoder behind
`stop_gradient`, and once with the encoder differentiated but not moved (its rate × 0),
which is what the step cost before it learnt to skip frozen groups.
"""

import contextlib
import statistics
import time
from unittest import mock

import jax
import numpy as np
from absl import app, flags

from benchmarks import machine, train_speed
from cmcl_jax.models import ecg_backbone, heads, mlp, video_backbone
from cmcl_jax.train import sharding

# --config (experiment config: model, batches, optimizer) is train_speed's flag.
_CONFIG = train_speed._CONFIG
_STAGE = flags.DEFINE_enum("stage", "finetune", ("pretrain", "finetune"), "Training stage.")
_ROUNDS = flags.DEFINE_integer("rounds", 5, "Interleaved timing rounds.")
_STEPS_PER_ROUND = flags.DEFINE_integer("steps_per_round", 3, "Steps per variant per round.")
_ONLY = flags.DEFINE_list(
  "only", [], "Variants to time beside the preset (parts of their names); all when empty."
)

VARIANTS = {
  "preset": {},
  "video_conv='xla' (XLA's convolution)": {"video_conv": "xla"},
  "video_conv='patches' (patch matrix × kernel)": {"video_conv": "patches"},
  "attention_implementation='fused'": {"attention_implementation": "fused"},
  "attention_implementation='reference'": {"attention_implementation": "reference"},
  "no dropout (not a lever)": {"dropout": 0.0},
  "bfloat16 compute (model.dtype)": {"dtype": "bfloat16"},
}
MODEL_FIELDS = ("dtype",)
"""Variant fields of `config.model` itself; the others are `model.encoder` fields."""
HEADS = {"pretrain": "projection_head", "finetune": "classifier"}
HEAD_ONLY = {
  "head only, frozen encoder (trainable=(head,))": lambda head: {"trainable": (head,)},
  "head only, encoder differentiated at rate × 0": lambda head: {
    "trainable": ("encoder", head),
    "lr_multipliers": {"encoder": 0.0},
  },
}
"""Stage-config variants; `head` is the stage's head group (HEADS)."""
GELU_MODULES = (ecg_backbone, heads, mlp, video_backbone)
"""The model modules that call `activations.gelu`."""


def jax_gelu():
  """While open, the model's modules call `jax.nn.gelu(approximate=False)`."""
  exact = lambda x: jax.nn.gelu(x, approximate=False)
  stack = contextlib.ExitStack()
  for module in GELU_MODULES:
    stack.enter_context(mock.patch.object(module, "gelu", exact))
  return stack


BUILD_CONTEXTS = {"GELU as jax.nn.gelu (erfc; the same function)": jax_gelu}
"""Variants of how the model is traced (the step is compiled inside the context)."""


def main(argv):
  del argv
  base, stage = _CONFIG.value, _STAGE.value
  batch = train_speed._batch(stage, base, np.random.default_rng(0))
  mesh = sharding.make_mesh()
  runners = {}
  chosen = lambda name: name == "preset" or not _ONLY.value or any(p in name for p in _ONLY.value)
  for name, fields in filter(lambda item: chosen(item[0]), VARIANTS.items()):
    config = base.copy_and_resolve_references()
    config.model.encoder.update({k: v for k, v in fields.items() if k not in MODEL_FIELDS})
    config.model.update({k: v for k, v in fields.items() if k in MODEL_FIELDS})
    if "dropout" in fields:
      config.model.heads.classifier_dropout = fields["dropout"]
    runners[name] = train_speed.jax_step_runner(stage, config, batch, mesh)
  for name, stage_fields in filter(lambda item: chosen(item[0]), HEAD_ONLY.items()):
    config = base.copy_and_resolve_references()
    config[stage].update(stage_fields(HEADS[stage]))
    runners[name] = train_speed.jax_step_runner(stage, config, batch, mesh)
  for name, context in filter(lambda item: chosen(item[0]), BUILD_CONTEXTS.items()):
    with context():
      runners[name] = train_speed.jax_step_runner(stage, base, batch, mesh)
  for run in runners.values():
    run(2)  # one warm-up step (compiled ahead of time)
  times = {name: [] for name in runners}
  for _ in range(_ROUNDS.value):
    for name, run in runners.items():
      start = time.perf_counter()
      run(_STEPS_PER_ROUND.value)
      times[name].append(1000 * (time.perf_counter() - start) / _STEPS_PER_ROUND.value)
  print(f"machine: {machine.describe()}; jax {jax.__version__}; stage {stage}")
  print("\n| variant | ms / step (median) | × preset |\n|---|---:|---:|")
  preset = statistics.median(times["preset"])
  for name, values in times.items():
    median = statistics.median(values)
    print(f"| {name} | {median:.0f} | {median / preset:.2f} |")


if __name__ == "__main__":
  app.run(main)
