r"""Training step on an accelerator: a preset in bfloat16, JAX against its PyTorch twin.

    python -m benchmarks.accelerator_speed --steps=10      # one GPU: the `large` preset
    python -m benchmarks.accelerator_speed --preset=tiny --dtype=float32 \
        --pretrain_triplets=4 --finetune_windows=8 --runs=2   # a CPU check of the script

For each stage (pre-training: batch-hard triplets; fine-tuning: class-weighted
cross-entropy; AdamW with global-norm clipping), the table gives:

- JAX: the library's jit step (`cmcl_jax.train.make_steps`, state donated), compiled
  ahead of time (`train_speed.jax_step`: the compile seconds), the batch split over a
  "data" mesh of every device (data parallel; with several devices, a second row on
  one device gives the scaling); samples/s, the median of `--runs` runs of `--steps`
  steps; XLA's FLOP count of the compiled step (`cost_analysis`); model FLOP
  utilisation = FLOPs / step time / peak, against the chip's dense bfloat16 peak
  (`--peak_tflops`, or the table `PEAK_TFLOPS` by device kind) and against a large
  bfloat16 matmul measured in the same run; memory per device, as XLA plans it
  (`memory_analysis`: arguments + outputs + temporaries − donated buffers).
- PyTorch: `benchmarks/torch_cmcl.py` on the same device, eager, float32 parameters
  under `torch.autocast` to bfloat16 (the preset's `dtype="bfloat16"`,
  `param_dtype="float32"`); samples/s and peak allocated memory (GPU).

Before timing, `train_speed.check_same_function` checks on the CPU, in float32, that
the twin computes the same function (same parameter count, same outputs with the same
weights). Inputs are random arrays already on the device. Prints Markdown tables for
BENCHMARKS.md.
"""

import jax
import jax.numpy as jnp
import numpy as np
import torch
from absl import app, flags

from benchmarks import machine, train_speed
from cmcl_jax.models import PRESETS, compiled_flops, model_config
from cmcl_jax.train import sharding
from experiments.configs import base

_PRESET = flags.DEFINE_enum("preset", "large", PRESETS, "Model preset.")
_DTYPE = flags.DEFINE_enum("dtype", "bfloat16", ("bfloat16", "float32"), "Compute dtype.")
_PRETRAIN_TRIPLETS = flags.DEFINE_integer("pretrain_triplets", 64, "Triplets per step.")
_FINETUNE_WINDOWS = flags.DEFINE_integer("finetune_windows", 256, "Windows per step.")
# --runs and --steps (timed runs of that many steps; median) are train_speed's flags.
_RUNS, _STEPS = train_speed._RUNS, train_speed._STEPS
_PEAK_TFLOPS = flags.DEFINE_float(
  "peak_tflops", None, "The chip's dense peak TFLOP/s at --dtype; default from PEAK_TFLOPS."
)
_VIDEO_CONV = flags.DEFINE_enum(
  "video_conv", None, ("xla", "frames", "patches"), "Override the preset's video_conv."
)
_ATTENTION = flags.DEFINE_enum(
  "attention_implementation",
  None,
  ("fused", "reference", "matmul"),
  "Override the preset's attention_implementation.",
)
_SKIP_TORCH = flags.DEFINE_bool("skip_torch", False, "Time JAX only.")

PEAK_TFLOPS = {"H100": 989.4, "H200": 989.4, "A100": 312.0}
"""Dense bfloat16 peak TFLOP/s of the SXM parts (NVIDIA data sheets), by device-kind
substring; `--peak_tflops` for another chip or dtype."""


def experiment_config(preset: str, dtype: str, pretrain_triplets: int, finetune_windows: int):
  """`base.py` with the preset's model at `dtype` and the given batch sizes."""
  config = base.get_config()
  config.model = model_config(preset)
  config.model.dtype = dtype
  for field, flag in (("video_conv", _VIDEO_CONV), ("attention_implementation", _ATTENTION)):
    if flag.value is not None:
      config.model.encoder[field] = flag.value
  config.data.pretrain_batch_size = pretrain_triplets
  config.data.finetune_batch_size = finetune_windows
  return config


def peak_tflops(device) -> float | None:
  if _PEAK_TFLOPS.value is not None:
    return _PEAK_TFLOPS.value
  return next((peak for kind, peak in PEAK_TFLOPS.items() if kind in device.device_kind), None)


def matmul_tflops(dtype: str, n: int = 8192, repeats: int = 10) -> float:
  """TFLOP/s of an n × n × n matmul at `dtype` on the default device (the chip's
  achievable rate, beside the data-sheet peak)."""
  a = jnp.ones((n, n), dtype)
  matmul = jax.jit(lambda x: x @ x)
  jax.block_until_ready(matmul(a))
  seconds = machine.median_seconds(lambda: jax.block_until_ready(matmul(a)), repeats)
  return 2 * n**3 / seconds / 1e12


def planned_memory_gib(compiled) -> float | None:
  """Device memory XLA plans for one step: arguments + outputs + temporaries − donated."""
  plan = compiled.memory_analysis()
  if plan is None:
    return None
  total = (
    plan.argument_size_in_bytes
    + plan.output_size_in_bytes
    + plan.temp_size_in_bytes
    - plan.alias_size_in_bytes
  )
  return total / 2**30


def time_jax(stage, config, batch, devices, runs, steps):
  """(steps/s, compile s, XLA FLOPs per step, planned GiB per device) on a data mesh
  over `devices`."""
  mesh = sharding.make_mesh(devices)
  run, compiled, compile_seconds = train_speed.jax_step(stage, config, batch, mesh)
  flops = compiled_flops(compiled)
  rate = train_speed.interleaved_rates({"jax": run}, runs, steps)["jax"]
  return rate, compile_seconds, flops, planned_memory_gib(compiled)


def time_torch(stage, config, batch, runs, steps, dtype):
  """(steps/s, peak allocated GiB or None) of the twin on the GPU if there is one, else
  the CPU; bfloat16 as `torch.autocast` over float32 parameters."""
  device = "cuda" if torch.cuda.is_available() else "cpu"
  autocast_dtype = torch.bfloat16 if dtype == "bfloat16" else None
  run = train_speed.torch_step_runner(stage, config, batch, device, autocast_dtype)
  if device == "cuda":
    torch.cuda.reset_peak_memory_stats()
  rate = train_speed.interleaved_rates({"torch": run}, runs, steps)["torch"]
  return rate, torch.cuda.max_memory_allocated() / 2**30 if device == "cuda" else None


def _format(value, spec):
  return "–" if value is None or value != value else format(value, spec)


def main(argv):
  del argv
  config = experiment_config(
    _PRESET.value, _DTYPE.value, _PRETRAIN_TRIPLETS.value, _FINETUNE_WINDOWS.value
  )
  devices = jax.devices()
  device = devices[0]
  print(
    f"machine: {machine.describe()}; jax {jax.__version__}, torch {torch.__version__}; "
    f"{len(devices)} × {device.device_kind} ({device.platform})"
  )
  check = experiment_config(_PRESET.value, "float32", 2, 2)
  with jax.default_device(jax.devices("cpu")[0]):
    difference = train_speed.check_same_function(check)
  print(f"same function (CPU, float32): max |JAX − PyTorch| = {difference:.1e}")
  peak = peak_tflops(device)
  achievable = matmul_tflops(_DTYPE.value) if device.platform != "cpu" else None
  print(
    f"peak {_DTYPE.value}: data sheet {_format(peak, '.0f')} TFLOP/s, "
    f"8192³ matmul here {_format(achievable, '.0f')} TFLOP/s"
  )
  meshes = [("all", devices)] + ([("1", devices[:1])] if len(devices) > 1 else [])
  print(
    "\n| stage | framework | devices | batch (windows) | steps/s | samples/s | "
    "GFLOP / step | MFU (data sheet) | MFU (matmul) | compile s | memory GiB |"
  )
  print("|---|---|---|---|---|---|---|---|---|---|---|")
  rng = np.random.default_rng(0)
  for stage in ("pretrain", "finetune"):
    batch = train_speed._batch(stage, config, rng)
    windows = train_speed.windows_per_step(stage, config)
    for label, mesh_devices in meshes:
      rate, compile_s, flops, memory = time_jax(
        stage, config, batch, mesh_devices, _RUNS.value, _STEPS.value
      )
      tflops = flops * rate / 1e12
      mfu = lambda rate_tflops: (
        None if rate_tflops is None else tflops / (rate_tflops * len(mesh_devices))
      )
      print(
        f"| {stage} | JAX | {len(mesh_devices)} ({label}) | {windows} | {rate:.2f} | "
        f"{rate * windows:.0f} | {flops / 1e9:.1f} | {_format(mfu(peak), '.1%')} | "
        f"{_format(mfu(achievable), '.1%')} | {compile_s:.0f} | "
        f"{_format(memory, '.2f')} |",
        flush=True,
      )
    if not _SKIP_TORCH.value:
      rate, memory = time_torch(stage, config, batch, _RUNS.value, _STEPS.value, _DTYPE.value)
      form = "eager, autocast" if _DTYPE.value == "bfloat16" else "eager"
      print(
        f"| {stage} | PyTorch ({form}) | 1 | {windows} | {rate:.2f} | "
        f"{rate * windows:.0f} | – | – | – | – | {_format(memory, '.1f')} |",
        flush=True,
      )


if __name__ == "__main__":
  app.run(main)
