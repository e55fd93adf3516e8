"""The training loop on in-memory data: learning, exact resume, NaN, SIGTERM, parallelism.

Every run is a subprocess of this file's `__main__` (a tiny two-stage job over grain
datasets built from NumPy arrays), so runs can be killed and can use several virtual
CPU devices or processes. The runs share a persistent XLA compilation cache.
"""

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

import grain
import jax
import numpy as np
import pytest
from absl import logging
from flax import nnx

from cmcl_jax.ecg import WINDOW_FEATURE_NAMES
from cmcl_jax.train import StageData, sharding, train_and_evaluate
from experiments.configs import smoke

PRETRAIN_STEPS = 12
FINETUNE_STEPS = 12
TIMEOUT_S = 600


def _config(args):
  config = smoke.get_config()
  config.pretrain.update(steps=args.pretrain_steps, lr=1e-2, warmup_steps=1)
  config.finetune.update(steps=args.finetune_steps, lr=1e-2, warmup_steps=1, lr_multipliers={})
  config.checkpoint.every_steps = 2
  config.logging.every_steps = 1
  config.distributed.update(
    coordinator_address=args.coordinator or "",
    num_processes=args.num_processes,
    process_id=args.process_id,
    cpu_collectives="gloo" if args.coordinator else "",
  )
  return config


def _global_batch(step: int, batch_size: int, seed: int, stage: str) -> dict:
  """Batch `step` as a function of (seed, stage, step): ME windows carry an offset."""
  rng = np.random.default_rng([seed, step, stage == "finetune"])

  def windows(labels):
    shift = (2.0 * labels.astype(np.float32) - 1.0)[:, None, None, None, None]
    return {
      "flow": (rng.standard_normal((len(labels), 4, 16, 16, 2)) + shift).astype(np.float32),
      "ecg": rng.standard_normal((len(labels), 64, 1)).astype(np.float32),
      "ecg_features": (
        rng.standard_normal((len(labels), len(WINDOW_FEATURE_NAMES))) + shift[:, :, 0, 0, 0]
      ).astype(np.float32),
      "label": labels.astype(np.int32),
    }

  if stage == "pretrain":
    return {
      "anchor": windows(np.ones(batch_size)),
      "positive": windows(np.ones(batch_size)),
      "negative": windows(np.zeros(batch_size)),
    }
  return windows(rng.permutation(np.arange(batch_size) % 2))


class _Rows:
  """Global batch of a step → this process's rows; optional crash or NaN at one step."""

  def __init__(self, stage, batch_size, args):
    self.stage, self.batch_size, self.args = stage, batch_size, args

  def __call__(self, step):
    batch = _global_batch(step, self.batch_size, 0, self.stage)
    if self.stage == self.args.fault_stage and step == self.args.fault_step:
      if self.args.fault in ("kill", "term"):
        os.kill(os.getpid(), signal.SIGKILL if self.args.fault == "kill" else signal.SIGTERM)
      if self.args.fault == "nan":
        views = batch.values() if self.stage == "pretrain" else [batch]
        for view in views:
          view["flow"][0, 0, 0, 0, 0] = np.nan
    local = self.batch_size // jax.process_count()
    rows = slice(jax.process_index() * local, (jax.process_index() + 1) * local)
    return jax.tree.map(lambda x: x[rows], batch)


def _stage_data(config, args):
  def iterator(stage, batch_size):
    dataset = grain.MapDataset.range(10**6).map(_Rows(stage, batch_size, args))
    # No read-ahead: a fault fires exactly when the loop asks for that batch.
    return iter(dataset.to_iter_dataset(grain.ReadOptions(num_threads=0, prefetch_buffer_size=0)))

  return {
    "pretrain": StageData(train=lambda: iterator("pretrain", config.data.pretrain_batch_size)),
    "finetune": StageData(train=lambda: iterator("finetune", config.data.finetune_batch_size)),
  }


def _worker(argv):
  parser = argparse.ArgumentParser()
  parser.add_argument("--workdir", required=True)
  parser.add_argument("--pretrain_steps", type=int, default=PRETRAIN_STEPS)
  parser.add_argument("--finetune_steps", type=int, default=FINETUNE_STEPS)
  parser.add_argument("--fault", choices=["kill", "term", "nan"])
  parser.add_argument("--fault_stage", default="finetune")
  parser.add_argument("--fault_step", type=int, default=-1)
  parser.add_argument("--coordinator")
  parser.add_argument("--num_processes", type=int, default=1)
  parser.add_argument("--process_id", type=int, default=0)
  args = parser.parse_args(argv)
  logging.set_verbosity(logging.INFO)
  config = _config(args)
  sharding.initialize_distributed(config)
  results = train_and_evaluate(config, args.workdir, _stage_data(config, args))
  if jax.process_index() == 0:
    for name, result in results.items():
      params = nnx.to_pure_dict(jax.device_get(result.state.params))
      flat = {
        jax.tree_util.keystr(path): np.asarray(leaf)
        for path, leaf in jax.tree_util.tree_leaves_with_path(params)
      }
      np.savez(Path(args.workdir) / f"{name}_params.npz", **flat)
    print(
      "RESULT",
      json.dumps(
        {n: {"preempted": r.preempted, "step": int(r.state.step)} for n, r in results.items()}
      ),
    )


# ----------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
  """A compilation cache shared by the pytest-xdist workers (concurrent use is safe)."""
  path = tmp_path_factory.getbasetemp().parent / "train_jax_cache"
  path.mkdir(exist_ok=True)
  return path


def _env(cache_dir, devices=1):
  env = dict(os.environ)
  root = str(Path(__file__).resolve().parents[1])
  env["PYTHONPATH"] = os.pathsep.join([root, env.get("PYTHONPATH", "")])
  env["XLA_FLAGS"] = f"--xla_force_host_platform_device_count={devices}"
  env["JAX_PLATFORMS"] = "cpu"
  env["JAX_COMPILATION_CACHE_DIR"] = str(cache_dir)
  env["JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS"] = "0"
  env["JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES"] = "0"
  return env


def _start(workdir, cache_dir, *extra, devices=1):
  # Output goes to a file, not a pipe: a peer process blocked on a full pipe would
  # hang the other one in jax.distributed's shutdown barrier.
  log = tempfile.TemporaryFile("w+")
  process = subprocess.Popen(
    [sys.executable, __file__, f"--workdir={workdir}", *extra],
    env=_env(cache_dir, devices),
    stdout=log,
    stderr=subprocess.STDOUT,
    text=True,
  )
  return process, log


def _finish(started) -> str:
  process, log = started
  try:
    process.wait(timeout=TIMEOUT_S)
  finally:
    if process.poll() is None:
      process.kill()
      process.wait()
    log.seek(0)
    output = log.read()
    log.close()
  return output


def _run(workdir, cache_dir, *extra, devices=1, check=True):
  started = _start(workdir, cache_dir, *extra, devices=devices)
  output = _finish(started)
  code = started[0].returncode
  if check and code:
    pytest.fail(f"worker exited with {code}:\n{output[-5000:]}")
  return code, output


def _params(workdir, stage="finetune"):
  with np.load(Path(workdir) / f"{stage}_params.npz") as stored:
    return dict(stored)


def _losses(workdir, stage):
  """step → loss of every logged line (the last one when a step was logged twice)."""
  lines = (Path(workdir) / stage / "metrics.jsonl").read_text().splitlines()
  return {r["step"]: r["loss"] for r in map(json.loads, lines) if "loss" in r}


@pytest.fixture(scope="module")
def reference(tmp_path_factory, cache_dir):
  """An uninterrupted two-stage run on one device."""
  workdir = tmp_path_factory.mktemp("reference")
  _run(workdir, cache_dir)
  return workdir


def test_both_stages_learn(reference):
  for stage in ("pretrain", "finetune"):
    losses = _losses(reference, stage)
    steps = sorted(losses)
    assert steps == list(range(1, len(steps) + 1))
    first, last = np.mean([losses[s] for s in steps[:3]]), np.mean([losses[s] for s in steps[-3:]])
    assert last < 0.8 * first, (stage, losses)
  assert (reference / "pretrain" / "tensorboard").is_dir()


def test_killed_run_resumes_bitwise(reference, tmp_path, cache_dir):
  code, _ = _run(
    tmp_path, cache_dir, "--fault=kill", "--fault_stage=finetune", "--fault_step=5", check=False
  )
  assert code == -signal.SIGKILL
  assert not (tmp_path / "finetune_params.npz").exists()
  _, output = _run(tmp_path, cache_dir)  # the same command again
  assert "pretrain: already complete" in output
  assert "finetune: resumed from step" in output
  want, got = _params(reference), _params(tmp_path)
  assert want.keys() == got.keys()
  for key in want:
    np.testing.assert_array_equal(got[key], want[key], err_msg=key)
  # The resumed steps saw the same batches: identical losses step by step.
  assert _losses(tmp_path, "finetune") == _losses(reference, "finetune")


def test_nan_loss_stops_with_the_step_and_keeps_the_last_good_checkpoint(tmp_path, cache_dir):
  code, output = _run(
    tmp_path, cache_dir, "--fault=nan", "--fault_stage=pretrain", "--fault_step=5", check=False
  )
  assert code != 0
  assert "NonFiniteLossError" in output and "loss is nan at step 5" in output
  checkpoints = sorted(
    int(p.name) for p in (tmp_path / "pretrain" / "checkpoints").iterdir() if p.name.isdigit()
  )
  assert checkpoints[-1] == 4
  assert not (tmp_path / "finetune").exists()


def test_sigterm_saves_and_exits_cleanly(tmp_path, cache_dir):
  # The worker sends itself SIGTERM when the loop fetches pre-training batch 4.
  code, output = _run(
    tmp_path, cache_dir, "--fault=term", "--fault_stage=pretrain", "--fault_step=4"
  )
  assert code == 0 and "stopped by SIGTERM at step 5" in output
  result = json.loads(output.split("RESULT ")[-1].splitlines()[0])
  assert result == {"pretrain": {"preempted": True, "step": 5}}
  assert (tmp_path / "pretrain" / "checkpoints" / "5").is_dir()
  assert not (tmp_path / "finetune").exists()


# The attention key bias has zero gradient in exact arithmetic (softmax ignores a
# per-query shift), so Adam turns its rounding noise into lr-sized steps that depend
# on the order of reductions; every other parameter must agree.
NOISE_ONLY = "['key']['bias']"


def _assert_same_run(got_dir, want_dir):
  for stage in ("pretrain", "finetune"):
    got, want = _params(got_dir, stage), _params(want_dir, stage)
    assert got.keys() == want.keys()
    for key in want:
      if NOISE_ONLY not in key:
        np.testing.assert_allclose(got[key], want[key], rtol=1e-3, atol=1e-5, err_msg=key)
    got, want = _losses(got_dir, stage), _losses(want_dir, stage)
    assert got.keys() == want.keys()
    np.testing.assert_allclose(
      [got[s] for s in sorted(got)], [want[s] for s in sorted(want)], rtol=1e-4, atol=1e-5
    )


@pytest.mark.slow
def test_four_devices_match_one(reference, tmp_path, cache_dir):
  _run(tmp_path, cache_dir, devices=4)
  _assert_same_run(tmp_path, reference)


def _free_port() -> int:
  with socket.socket() as s:
    s.bind(("127.0.0.1", 0))
    return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_match_one_device(reference, tmp_path, cache_dir):
  multi = tmp_path / "multi"
  coordinator = f"127.0.0.1:{_free_port()}"
  started = [
    _start(
      multi, cache_dir, f"--coordinator={coordinator}", "--num_processes=2", f"--process_id={i}"
    )
    for i in range(2)
  ]
  outputs = [_finish(s) for s in started]
  for (process, _), output in zip(started, outputs):
    assert process.returncode == 0, output[-5000:]
  _assert_same_run(multi, reference)


if __name__ == "__main__":
  _worker(sys.argv[1:])
