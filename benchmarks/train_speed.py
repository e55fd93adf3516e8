"""Training step rate on CPU: the library's jit steps against the same step in PyTorch.

    python -m benchmarks.train_speed                      # ≈ 6 min on 2 cores
    python -m benchmarks.train_speed --config=experiments/configs/smoke.py --runs=3
    python -m benchmarks.train_speed --batch_scales=0.25,0.5,1,2   # the ratio by batch size

Model, batch sizes and optimizer come from the config (default: the `synthetic`
preset): pre-training is one batch-hard triplet update of `pretrain_batch_size`
triplets (3 windows each), fine-tuning one class-weighted cross-entropy update of
`finetune_batch_size` windows; AdamW with global-norm clipping in both frameworks
(`benchmarks/torch_cmcl.py` is the PyTorch twin, same parameter count). Inputs are
random arrays already in memory, so only the step is timed. For each stage: both
frameworks built and warmed up (JAX compiled ahead of time), then `--runs` timed runs
of `--steps` steps each, alternating (JAX, PyTorch, JAX, …) so that a drift in the
machine's speed falls on both alike; steps/s is the median over runs. Prints a
Markdown table for BENCHMARKS.md.
`--batch_scales` repeats both stages with the config's batch sizes times each scale
(rounded, at least 1 triplet or window), one row each.
"""

import contextlib
import itertools
import statistics
import time

import jax
import numpy as np
import torch
from absl import app, flags
from ml_collections import config_flags

from benchmarks import torch_cmcl
from cmcl_jax.train import optim, sharding, state as state_lib, steps as steps_lib
from benchmarks import machine

_CONFIG = config_flags.DEFINE_config_file(
  "config", "experiments/configs/synthetic.py", "Experiment config (model, batches, optimizer)."
)
_RUNS = flags.DEFINE_integer("runs", 5, "Timed runs per stage and framework.")
_STEPS = flags.DEFINE_integer("steps", 3, "Steps per timed run.")
_BATCH_SCALES = flags.DEFINE_list(
  "batch_scales", ["1"], "Factors on the config's batch sizes; a row per stage and factor."
)


def _windows(encoder, count, rng):
  t, h, w = encoder.flow_shape
  labels = np.arange(count) % 2
  return {
    "flow": rng.standard_normal((count, t, h, w, 2), np.float32),
    "ecg": rng.standard_normal((count, encoder.ecg_length, 1), np.float32),
    "ecg_features": rng.standard_normal((count, encoder.ecg_num_features), np.float32),
    "label": labels.astype(np.int32),
  }


def _batch(stage, config, rng):
  encoder = config.model.encoder
  if stage == "pretrain":
    size = config.data.pretrain_batch_size
    return {v: _windows(encoder, size, rng) for v in steps_lib.VIEWS}
  return _windows(encoder, config.data.finetune_batch_size, rng)


def scaled_batches(config, scale: float):
  """A copy of `config` whose pre-training triplets and fine-tuning windows per step
  are its own times `scale`, rounded, at least 1."""
  scaled = config.copy_and_resolve_references()
  for field in ("pretrain_batch_size", "finetune_batch_size"):
    scaled.data[field] = max(1, round(config.data[field] * scale))
  return scaled


def windows_per_step(stage, config) -> int:
  """Windows in one step's batch: 3 a triplet for pre-training."""
  if stage == "pretrain":
    return 3 * config.data.pretrain_batch_size
  return config.data.finetune_batch_size


def jax_step(stage, config, batch, mesh):
  """(run, compiled, compile seconds): the library's jit step (`make_steps`, state
  donated) compiled ahead of time for `batch` on `mesh`; `run(n)` runs n steps on one
  state, the batch on the devices, and waits for the last."""
  replicated = sharding.replicated(mesh)
  stage_config = config[stage]
  parts, params = state_lib.build_model(config.model, config.seed)
  tx = optim.make_optimizer(stage_config, params)
  schedule = optim.learning_rate_schedule(stage_config)
  train = steps_lib.make_steps(stage, stage_config, parts, tx, schedule, replicated).train
  holder = [jax.device_put(state_lib.create_train_state(params, tx, config.seed), replicated)]
  device_batch = sharding.global_batch(batch, mesh)
  step_key = lambda state: jax.random.fold_in(state.rng, state.step)
  start = time.perf_counter()
  compiled = train.lower(holder[0], device_batch, step_key(holder[0])).compile()
  compile_seconds = time.perf_counter() - start

  def run(n):
    current = holder[0]
    for _ in range(n):
      current, metrics = compiled(current, device_batch, step_key(current))
    jax.block_until_ready(metrics)
    holder[0] = current

  return run, compiled, compile_seconds


def jax_step_runner(stage, config, batch, mesh):
  """`run(n)` of `jax_step`."""
  return jax_step(stage, config, batch, mesh)[0]


def interleaved_rates(runners: dict, runs: int, steps: int) -> dict:
  """Median steps/s of each `run(n)` of `runners` ({name: run}) over `runs`
  alternating rounds of `steps` steps, after two warm-up steps each."""
  for run in runners.values():
    run(2)
  rates = {name: [] for name in runners}
  for _ in range(runs):
    for name, run in runners.items():
      start = time.perf_counter()
      run(steps)
      rates[name].append(steps / (time.perf_counter() - start))
  return {name: statistics.median(values) for name, values in rates.items()}


def torch_step_runner(stage, config, batch, device="cpu", autocast_dtype=None):
  """`run(n)`: n updates of the PyTorch twin (train mode) on `device`, waiting for the
  last; float32 parameters, the forward under `torch.autocast(autocast_dtype)` if given."""
  device = torch.device(device)
  torch.manual_seed(config.seed)
  model = torch_cmcl.TorchCMCLNet(config.model).to(device).train()
  stage_config = config[stage]
  optimizer = torch_cmcl.make_optimizer(model, stage_config)
  to_torch = lambda tree: {
    k: to_torch(v)
    if isinstance(v, dict)
    else torch.from_numpy(v.astype(np.int64) if k == "label" else v).to(device)
    for k, v in tree.items()
  }
  batch = to_torch(batch)
  if stage == "pretrain":
    step = lambda: torch_cmcl.pretrain_step(
      model, optimizer, batch, stage_config.margin, stage_config.clip_norm
    )
  else:
    weights = torch.tensor(stage_config.class_weights, dtype=torch.float32, device=device)
    step = lambda: torch_cmcl.finetune_step(
      model, optimizer, batch, weights, stage_config.clip_norm
    )
  autocast = (
    torch.autocast(device.type, dtype=autocast_dtype)
    if autocast_dtype is not None
    else contextlib.nullcontext()
  )
  synchronize = torch.cuda.synchronize if device.type == "cuda" else lambda: None

  def run(n):
    with autocast:
      for _ in range(n):
        step()
    synchronize()

  return run


def check_same_function(config, batch_size: int = 4) -> float:
  """Max |JAX − PyTorch| over the logits and embeddings of one random batch, both
  models in eval mode with the JAX parameters copied into the twin (the fusion
  gates set to 0.5 so that the cross-attentions count). Raises when the parameter
  counts differ or the outputs differ by more than float32 rounding (1e-4)."""
  parts, params = state_lib.build_model(config.model, config.seed)
  params = jax.tree.map_with_path(
    lambda path, x: x + 0.5 if "cross_gate" in jax.tree_util.keystr(path) else x, params
  )
  model = state_lib.merge_model(parts, params, None)
  twin = torch_cmcl.TorchCMCLNet(config.model).eval()
  jax_count = sum(x.size for x in jax.tree.leaves(params))
  torch_count = sum(p.numel() for p in twin.parameters())
  if jax_count != torch_count:
    raise AssertionError(f"parameter counts differ: JAX {jax_count:,}, PyTorch {torch_count:,}")
  with torch.no_grad():
    torch_cmcl.load_jax_params(twin, params)
    batch = _windows(config.model.encoder, batch_size, np.random.default_rng(1))
    inputs = {k: torch.from_numpy(v) for k, v in batch.items() if k != "label"}
    worst = 0.0
    for method in ("classify", "embed"):
      ours = np.asarray(getattr(model, method)(batch))
      theirs = getattr(twin, method)(inputs).numpy()
      worst = max(worst, float(np.abs(ours - theirs).max()))
  if worst > 1e-4:
    raise AssertionError(f"JAX and PyTorch outputs differ by {worst:.2e} with the same weights")
  return worst


def describe_machine() -> str:
  return (
    f"{machine.describe()}; "
    f"jax {jax.__version__}, torch {torch.__version__} "
    f"({torch.get_num_threads()} threads)"
  )


def main(argv):
  del argv
  config, runs, steps = _CONFIG.value, _RUNS.value, _STEPS.value
  rng = np.random.default_rng(0)
  print(f"machine: {describe_machine()}; devices {jax.devices()}")
  difference = check_same_function(config)
  print(f"same function: max |JAX − PyTorch| = {difference:.1e} on logits and embeddings")
  print(
    "\n| stage | batch (windows) | JAX steps/s | JAX samples/s | PyTorch steps/s | "
    "PyTorch samples/s | JAX / PyTorch | JAX compile s |"
  )
  print("|---|---|---|---|---|---|---|---|")
  for stage, scale in itertools.product(("pretrain", "finetune"), map(float, _BATCH_SCALES.value)):
    scaled = scaled_batches(config, scale)
    batch = _batch(stage, scaled, rng)
    windows = windows_per_step(stage, scaled)
    run_jax, _, compile_s = jax_step(stage, scaled, batch, sharding.make_mesh())
    run_torch = torch_step_runner(stage, scaled, batch)
    rates = interleaved_rates({"jax": run_jax, "torch": run_torch}, runs, steps)
    jax_rate, torch_rate = rates["jax"], rates["torch"]
    print(
      f"| {stage} | {windows} | {jax_rate:.2f} | {jax_rate * windows:.0f} | "
      f"{torch_rate:.2f} | {torch_rate * windows:.0f} | "
      f"{jax_rate / torch_rate:.2f} | {compile_s:.0f} |",
      flush=True,
    )


if __name__ == "__main__":
  app.run(main)
