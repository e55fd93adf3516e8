"""LOSO folds one after another vs in worker processes pinned to their own cores.

    python benchmarks/loso_processes.py --data_dir=WORK/tfds            # ~12 min on 2 cores
    python benchmarks/loso_processes.py --data_dir=WORK/tfds --repeats=3 --steps=20,60

Needs a built `mecg/default` (e.g. the demo's `<workdir>/tfds`). Runs the same
folds with `experiments/configs/loso_synthetic.py` (training steps shortened by
`--steps`, pre-training,fine-tuning) with `loso.processes` = 1, then = `--processes`,
alternating, each repeat in a fresh workdir (cold compilation cache, as a first demo
run) and reports the median wall time of each and the speed-up. The fold results of
the two settings are also compared: pinning changes where XLA runs, not what it
computes, so TP / FP / FN should agree. Prints a Markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

from cmcl_jax.spotting import loso
from experiments.configs import loso_synthetic


def run_once(data_dir: str, folds: str, processes: int, steps: tuple[int, int],
             variants: tuple[str, ...]) -> tuple[float, dict]:
  config = loso_synthetic.get_config()
  config.data.data_dir = data_dir
  config.loso.folds = folds
  config.loso.variants = variants
  config.loso.processes = processes
  config.pretrain.steps, config.finetune.steps = steps
  config.finetune.eval_every_steps = config.finetune.steps
  config.checkpoint.every_steps = config.finetune.steps
  with tempfile.TemporaryDirectory() as workdir:
    start = time.perf_counter()
    results = loso.run_loso(config, workdir)
    seconds = time.perf_counter() - start
  counts = {subject: {variant: counts["total"] for variant, counts in result["variants"].items()}
            for subject, result in results.items()}
  return seconds, counts


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
  parser.add_argument("--data_dir", required=True, help="TFDS data_dir holding mecg/default")
  parser.add_argument("--folds", default="", help="held-out subjects; '' = every subject")
  parser.add_argument("--processes", type=int, default=2)
  parser.add_argument("--repeats", type=int, default=2)
  parser.add_argument("--steps", default="20,60", help="pre-training,fine-tuning steps")
  parser.add_argument("--variants", default="video,ecg,both")
  args = parser.parse_args()
  steps = tuple(int(s) for s in args.steps.split(","))
  variants = tuple(args.variants.split(","))

  times = {1: [], args.processes: []}
  counts = {}
  for repeat in range(args.repeats):
    for processes in times:
      seconds, counts[processes] = run_once(args.data_dir, args.folds, processes, steps,
                                            variants)
      times[processes].append(seconds)
      print(f"repeat {repeat + 1}/{args.repeats}, processes={processes}: {seconds:.0f} s",
            flush=True)

  sequential = statistics.median(times[1])
  parallel = statistics.median(times[args.processes])
  print(f"\nMachine: {platform.processor() or platform.machine()}, "
        f"{len(os.sched_getaffinity(0))} cores; folds {args.folds or 'all'}; "
        f"steps {steps}; variants {','.join(variants)}; median of {args.repeats}\n")
  print("| folds run | wall time (s) | speed-up |")
  print("|---|---|---|")
  print(f"| one after another (processes=1) | {sequential:.0f} | 1.00× |")
  print(f"| {args.processes} pinned worker processes | {parallel:.0f} | "
        f"{sequential / parallel:.2f}× |")
  same = counts[1] == counts[args.processes]
  print(f"\nTP / FP / FN identical in both settings: {same}")
  if not same:
    print(json.dumps(counts, indent=1))


if __name__ == "__main__":
  main()
