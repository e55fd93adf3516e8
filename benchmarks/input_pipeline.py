"""Build throughput of `mecg` and batches/s of the three grain loaders.

    python -m benchmarks.input_pipeline                 # from the repo root; ~4 min on 2 cores
    python -m benchmarks.input_pipeline --config tiny --runs 3

Writes a synthetic raw layout (`synthetic.preset("tiny")`: 3 subjects × 2 trials ×
10 s, 96×96 px, 150 fps) to a temporary folder, then times

* the build of the chosen config with `num_workers` = 1 and 2 processes (windows/s,
  wall clock, median of `--runs` builds; the 2-process figure includes starting the
  spawned workers), and the size of the built dataset on disk;
* each loader (pretrain triplets, balanced fine-tuning, ordered eval) over the
  whole build: batches/s and windows/s after one warm-up batch, median of `--runs`
  passes of `--batches` batches, with 0 and `--workers` grain worker processes;
* decoding one stored window, side by side: its arrays as raw bytes (how `mecg`
  ≥ 1.4.0 stores them) against the same window serialised with protobuf float lists
  (`mecg` ≤ 1.3.0), interleaved, median of `--runs` passes over 500 windows.

Prints Markdown tables for BENCHMARKS.md. Results depend on the machine: name it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import tensorflow_datasets as tfds
from absl import flags

from cmcl_jax.data import loaders as loaders_lib
from cmcl_jax.data import sampling, synthetic
from data_builders.mecg import mecg_dataset_builder
from experiments.configs import base
from benchmarks import machine


def _build(raw: Path, out: Path, config: str, workers: int):
  builder = mecg_dataset_builder.Builder(config=config, data_dir=str(out), num_workers=workers)
  start = time.perf_counter()
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(raw)))
  return builder, time.perf_counter() - start


def _loader_rate(make, batches: int) -> float:
  iterator = iter(make())
  next(iterator)  # warm-up: opens shards, starts workers
  start = time.perf_counter()
  for _ in range(batches):
    next(iterator)
  return batches / (time.perf_counter() - start)


def _float_list_features(features: tfds.features.FeaturesDict) -> tfds.features.FeaturesDict:
  """The same features with every array stored as a protobuf float list (mecg ≤ 1.3.0)."""
  return tfds.features.FeaturesDict(
    {
      name: tfds.features.Tensor(shape=feature.shape, dtype=feature.np_dtype)
      if isinstance(feature, tfds.features.Tensor) and feature.shape
      else feature
      for name, feature in features.items()
    }
  )


def _decode_rates(builder, split: str, runs: int, count: int = 500) -> dict[str, float]:
  """ms to decode one window, {encoding: median over `runs` interleaved passes}."""
  source = builder.as_data_source(split=split)
  records = [source[i] for i in range(min(count, len(source)))]
  encodings = {"raw bytes (mecg ≥ 1.4.0)": builder.info.features}
  encodings["protobuf float lists (mecg ≤ 1.3.0)"] = _float_list_features(builder.info.features)
  stored = {name: [f.serialize_example(r) for r in records] for name, f in encodings.items()}
  times = {name: [] for name in encodings}
  for _ in range(runs):
    for name, features in encodings.items():
      start = time.perf_counter()
      for data in stored[name]:
        features.deserialize_example_np(data)
      times[name].append((time.perf_counter() - start) / len(records) * 1e3)
  return {name: statistics.median(t) for name, t in times.items()}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--config", default="default", choices=("default", "tiny"))
  parser.add_argument("--runs", type=int, default=3)
  parser.add_argument("--batches", type=int, default=20)
  parser.add_argument("--batch-size", type=int, default=32)
  parser.add_argument("--workers", type=int, default=2)
  args = parser.parse_args()

  with tempfile.TemporaryDirectory() as tmp:
    tmp = Path(tmp)
    raw = tmp / "raw"
    synthetic.generate(raw, synthetic.preset("tiny"), seed=0, progress=False)
    print(
      f"Machine: {machine.describe()}; config {args.config}; raw: synthetic tiny "
      f"(3 subjects × 2 trials × 10 s, 96×96 px)\n"
    )
    print("| build | windows | wall s (median) | windows/s | size on disk |")
    print("|---|---|---|---|---|")
    builder = None
    for workers in (1, 2):
      times = []
      for run in range(args.runs):
        builder, seconds = _build(raw, tmp / f"out{workers}_{run}", args.config, workers)
        times.append(seconds)
      windows_total = sum(s.num_examples for s in builder.info.splits.values())
      size = sum(p.stat().st_size for p in Path(builder.data_dir).rglob("*") if p.is_file())
      median = statistics.median(times)
      print(
        f"| {workers} process{'es' if workers > 1 else ''} | {windows_total} | "
        f"{median:.1f} | {windows_total / median:.0f} | {size / 2**20:.1f} MiB |"
      )

    split = "+".join(builder.info.splits.keys())
    common = dict(batch_size=args.batch_size, shard_index=0, shard_count=1)
    policy = sampling.SamplingPolicy(**base.get_config().data.sampling.to_dict())
    flags.FLAGS.mark_as_parsed()  # grain's worker processes read absl flags
    loaders = {
      "pretrain (triplets)": lambda w: loaders_lib.pretrain_loader(
        builder, split, seed=0, policy=policy, worker_count=w, **common
      ),
      f"finetune ({policy.positive_fraction:.0%} ME)": lambda w: loaders_lib.finetune_loader(
        builder, split, seed=0, policy=policy, worker_count=w, **common
      ),
      "eval (ordered)": lambda w: loaders_lib.eval_loader(builder, split, worker_count=w, **common),
    }
    eval_batches = loaders_lib.eval_steps(
      sum(s.num_examples for s in builder.info.splits.values()), args.batch_size, 1
    )
    print(f"\n| loader (batch {args.batch_size}) | grain workers | batches/s | windows/s |")
    print("|---|---|---|---|")
    for name, make in loaders.items():
      windows_per_batch = args.batch_size * (3 if name.startswith("pretrain") else 1)
      batches = min(args.batches, eval_batches - 1) if name.startswith("eval") else args.batches
      for workers in (0, args.workers):
        rate = statistics.median(
          _loader_rate(lambda: make(workers), batches) for _ in range(args.runs)
        )
        print(f"| {name} | {workers} | {rate:.1f} | {rate * windows_per_batch:.0f} |")

    print("\n| decoding one window, stored as | ms (median) |")
    print("|---|---|")
    for name, ms in _decode_rates(builder, split, args.runs).items():
      print(f"| {name} | {ms:.3f} |")


if __name__ == "__main__":
  main()
