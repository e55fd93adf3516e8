"""Encoder cost per preset and forward / forward+backward speed on this machine.

  python -m benchmarks.model_speed            # ≈2 min on 2 CPU cores
  python -m benchmarks.model_speed --batch_size=16 --repeats=10

Prints three Markdown tables:
1. per preset: parameters (encoder, whole CMCLNet) and encoder FLOPs per sample for
   forward and forward+backward, as counted by XLA (`compiled.cost_analysis()`);
   the models are built abstractly, so the large preset costs only a compile;
2. for one preset (default: "default"): median time per sample of the jit-compiled
   encoder forward and forward+backward (gradient w.r.t. all parameters of the
   mean squared embedding, eval mode), after warm-up, and the achieved FLOP/s
   next to the machine's float32 matmul rate, measured here with a large jnp.matmul;
3. the input gradient of a strided 3-D convolution against average pooling followed
   by a stride-1 convolution (the reason for `VideoBackbone`'s pooled stages).
"""

import os
import platform
import statistics
import time

import jax
import jax.numpy as jnp
from absl import app, flags
from flax import nnx

from cmcl_jax.models import (
  PRESETS,
  CMCLNet,
  count_parameters,
  example_batch,
  model_config,
  xla_flops,
)

_PRESET = flags.DEFINE_enum("preset", "default", PRESETS, "Preset to time.")
_BATCH_SIZE = flags.DEFINE_integer("batch_size", 8, "Windows per timed call.")
_REPEATS = flags.DEFINE_integer("repeats", 7, "Timed calls after warm-up (median).")
_MATMUL_SIZE = flags.DEFINE_integer("matmul_size", 2048, "n of the n×n matmul.")


def build(preset: str, abstract: bool) -> CMCLNet:
  make = lambda: CMCLNet.from_config(model_config(preset), rngs=nnx.Rngs(0))
  return nnx.eval_shape(make) if abstract else make()


def encoder_functions(encoder):
  """jit-compiled forward and forward+backward of `encoder` as pure functions."""
  graphdef, params, rest = nnx.split(encoder, nnx.Param, ...)

  def forward(params, batch):
    return nnx.merge(graphdef, params, rest)(**batch)

  def loss(params, batch):
    return jnp.mean(forward(params, batch) ** 2)

  return params, jax.jit(forward), jax.jit(jax.value_and_grad(loss))


def median_seconds(fn, *args, repeats: int) -> float:
  jax.block_until_ready(fn(*args))  # compile
  jax.block_until_ready(fn(*args))  # warm-up
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    jax.block_until_ready(fn(*args))
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def matmul_flops_per_second(n: int, repeats: int) -> float:
  a = jax.random.normal(jax.random.key(0), (n, n), jnp.float32)
  b = jax.random.normal(jax.random.key(1), (n, n), jnp.float32)
  return 2 * n**3 / median_seconds(jax.jit(jnp.matmul), a, b, repeats=repeats)


def downsampling_table(batch_size: int, repeats: int) -> str:
  """Why later video stages pool before a stride-1 conv instead of striding it.

  Times the gradient w.r.t. the input (what backprop through a middle stage needs)
  of a 3×3×3 convolution from 16 to 32 channels that halves a (16, 20, 20) map.
  """
  x = jax.random.normal(jax.random.key(0), (batch_size, 16, 20, 20, 16))
  w = jax.random.normal(jax.random.key(1), (3, 3, 3, 16, 32))
  conv = lambda x, stride: jax.lax.conv_general_dilated(
    x, w, stride, "SAME", dimension_numbers=("NDHWC", "DHWIO", "NDHWC")
  )
  variants = {
    "strided convolution": lambda x: conv(x, (2, 2, 2)),
    "average pool, stride-1 convolution": lambda x: conv(
      nnx.avg_pool(x, (2, 2, 2), (2, 2, 2), padding="SAME"), (1, 1, 1)
    ),
  }
  rows = [
    f"| downsampling, batch {batch_size} | forward ms | input-gradient ms |",
    "|---|---:|---:|",
  ]
  for name, fn in variants.items():
    input_grad = jax.jit(jax.grad(lambda x: jnp.sum(fn(x) ** 2)))
    rows.append(
      f"| {name} | {median_seconds(jax.jit(fn), x, repeats=repeats) * 1e3:.1f} "
      f"| {median_seconds(input_grad, x, repeats=repeats) * 1e3:.1f} |"
    )
  return "\n".join(rows)


def cost_table() -> str:
  rows = [
    "| preset | encoder params | CMCLNet params | forward GFLOP / sample "
    "| fwd+bwd GFLOP / sample | tokens (video, ECG) |",
    "|---|---:|---:|---:|---:|---|",
  ]
  for preset in PRESETS:
    model = build(preset, abstract=True)
    encoder = model.encoder
    params, forward, grad = encoder_functions(encoder)
    batch = example_batch(encoder, 1)
    rows.append(
      f"| {preset} | {count_parameters(encoder):,} | {count_parameters(model):,} "
      f"| {xla_flops(forward, params, batch) / 1e9:.3f} "
      f"| {xla_flops(grad, params, batch) / 1e9:.3f} "
      f"| {encoder.video_embed.num_patches}, {encoder.ecg_embed.num_patches} |"
    )
  return "\n".join(rows)


def speed_table(preset: str, batch_size: int, repeats: int, matmul_size: int) -> str:
  encoder = build(preset, abstract=False).encoder
  params, forward, grad = encoder_functions(encoder)
  batch = {k: jnp.asarray(v) for k, v in example_batch(encoder, batch_size).items()}
  peak = matmul_flops_per_second(matmul_size, repeats)
  rows = [
    f"| {preset} encoder, batch {batch_size} | ms / sample | GFLOP / sample "
    "| achieved GFLOP/s | share of matmul rate |",
    "|---|---:|---:|---:|---:|",
  ]
  for name, fn in (("forward", forward), ("forward + backward", grad)):
    flops = xla_flops(fn, params, batch) / batch_size
    seconds = median_seconds(fn, params, batch, repeats=repeats) / batch_size
    rows.append(
      f"| {name} | {seconds * 1e3:.2f} | {flops / 1e9:.3f} "
      f"| {flops / seconds / 1e9:.1f} | {flops / seconds / peak:.0%} |"
    )
  rows.append(
    f"| float32 matmul {matmul_size}×{matmul_size} (reference) | | | {peak / 1e9:.1f} | 100% |"
  )
  return "\n".join(rows)


def main(argv):
  del argv
  print(
    f"jax {jax.__version__}, backend {jax.default_backend()}, "
    f"{jax.device_count()} device(s), {platform.machine()}, "
    f"{os.cpu_count()} CPUs\n"
  )
  print(cost_table(), "\n")
  # Other work on a shared machine slows every row alike; the load says how much.
  load_before = os.getloadavg()[0]
  print(speed_table(_PRESET.value, _BATCH_SIZE.value, _REPEATS.value, _MATMUL_SIZE.value), "\n")
  print(downsampling_table(_BATCH_SIZE.value, _REPEATS.value))
  print(
    f"\n1-min load average {load_before:.1f} before, {os.getloadavg()[0]:.1f} after the timings."
  )


if __name__ == "__main__":
  app.run(main)
