"""Would folds in separate processes train faster? One process on every core against
one process per core, side by side.

    python -m benchmarks.fold_parallelism --config=experiments/configs/loso_synthetic.py --steps=40 --runs=3
    python -m benchmarks.fold_parallelism --steps=20  # the `synthetic` preset's model

For each training stage of the config's model (≈ 2 min on 2 cores for the demo's),
with the random batches of `benchmarks/train_speed.py`: `--steps` jit steps in one
process that may use every core (XLA's own threads), then the same in as many
processes as there are cores, each pinned to one (`os.sched_setaffinity` before JAX
starts), started together, as `loso.folds` split over processes would train. Reports
the steps per second of all processes together, the median of `--runs` rounds of
`--steps` steps (40 are good).
Compile and warm-up steps are not timed; every worker waits for the others before
timing starts.
"""

import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np
from absl import app, flags

from benchmarks import machine, train_speed
from cmcl_jax.train import sharding

# --config (experiment config: model, batches, optimizer) is train_speed's flag.
_CONFIG = train_speed._CONFIG
# --runs (rounds; the median is reported) and --steps (timed steps per process and
# stage) are train_speed's flags too.
_RUNS, _STEPS = train_speed._RUNS, train_speed._STEPS
_WORKER_CORE = flags.DEFINE_integer("worker_core", -1, "Internal: run as a worker on this core.")

STAGES = ("pretrain", "finetune")


def _runners(config) -> dict:
  """{stage: run(n)} of the library's jit steps, compiled and warmed up."""
  runners = {}
  for stage in STAGES:
    batch = train_speed._batch(stage, config, np.random.default_rng(0))
    runners[stage] = train_speed.jax_step_runner(stage, config, batch, sharding.make_mesh())
    runners[stage](2)
  return runners


def _seconds(runners: dict, steps: int) -> dict:
  """{stage: seconds of `steps` steps}."""
  seconds = {}
  for stage, run in runners.items():
    start = time.perf_counter()
    run(steps)
    seconds[stage] = time.perf_counter() - start
  return seconds


def _worker(config, core: int, steps: int) -> None:
  """Pinned to `core`: compiles, says "ready", waits for a line on stdin, times."""
  os.sched_setaffinity(0, {core})
  runners = _runners(config)
  print("ready", flush=True)
  sys.stdin.readline()
  print(json.dumps(_seconds(runners, steps)), flush=True)


def _pinned_round(cores: list[int], steps: int) -> dict:
  """{stage: steps/s of all workers together}, one worker pinned to each core."""
  config_args = [a for a in sys.argv[1:] if a.startswith("--config")]  # and its overrides
  workers = [
    subprocess.Popen(
      [
        sys.executable,
        "-m",
        "benchmarks.fold_parallelism",
        *config_args,
        f"--steps={steps}",
        f"--worker_core={core}",
      ],
      stdin=subprocess.PIPE,
      stdout=subprocess.PIPE,
      text=True,
    )
    for core in cores
  ]
  for worker in workers:  # all compiled before any is timed
    if worker.stdout.readline().strip() != "ready":
      raise RuntimeError(f"worker exited with {worker.wait()} before it was ready")
  for worker in workers:
    worker.stdin.write("go\n")
    worker.stdin.flush()
  results = [json.loads(w.communicate()[0].strip().splitlines()[-1]) for w in workers]
  return {stage: sum(steps / r[stage] for r in results) for stage in STAGES}


def main(argv):
  del argv
  config, steps = _CONFIG.value, _STEPS.value
  if _WORKER_CORE.value >= 0:
    _worker(config, _WORKER_CORE.value, steps)
    return
  cores = sorted(os.sched_getaffinity(0))
  print(f"machine: {machine.describe()}; {len(cores)} cores")
  runners = _runners(config)
  together, pinned = {s: [] for s in STAGES}, {s: [] for s in STAGES}
  for _ in range(_RUNS.value):
    for stage, seconds in _seconds(runners, steps).items():
      together[stage].append(steps / seconds)
    for stage, rate in _pinned_round(cores, steps).items():
      pinned[stage].append(rate)
  print(
    f"\n| stage | 1 process on {len(cores)} cores: steps/s | {len(cores)} processes on 1 core "
    "each: steps/s together | ratio |\n|---|---:|---:|---:|"
  )
  for stage in STAGES:
    one, many = statistics.median(together[stage]), statistics.median(pinned[stage])
    print(f"| {stage} | {one:.2f} | {many:.2f} | {many / one:.2f} |")


if __name__ == "__main__":
  app.run(main)
