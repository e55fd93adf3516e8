"""Training metrics out: a JSONL file, TensorBoard event files and a progress line.

Only JAX process 0 writes. Each record is one line of `<stage dir>/metrics.jsonl`:
{"step": int, "stage": str, "time": unix s, <metric>: float, …}; the same scalars go
to TensorBoard under `<stage dir>/tensorboard` as `<stage>/<metric>`. A resumed run
appends, so steps between the last checkpoint and an interruption appear twice.
"""

import json
import time
from collections.abc import Mapping

import jax
from absl import logging
from etils import epath
from tensorboardX import SummaryWriter


class MetricsLog:
  """Writes the scalars of one training stage (process 0 only)."""

  def __init__(self, directory: epath.PathLike, stage: str):
    self.stage = stage
    self._enabled = jax.process_index() == 0
    if not self._enabled:
      return
    directory = epath.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    self._jsonl = (directory / "metrics.jsonl").open("a")
    self._tensorboard = SummaryWriter(str(directory / "tensorboard"))

  def write(self, step: int, metrics: Mapping[str, float]) -> None:
    if not self._enabled:
      return
    record = {
      "step": step,
      "stage": self.stage,
      "time": time.time(),
      **{k: float(v) for k, v in metrics.items()},
    }
    self._jsonl.write(json.dumps(record) + "\n")
    self._jsonl.flush()
    for name, value in metrics.items():
      self._tensorboard.add_scalar(f"{self.stage}/{name}", float(value), step)
    self._tensorboard.flush()

  def close(self) -> None:
    if self._enabled:
      self._jsonl.close()
      self._tensorboard.close()


def format_duration(seconds: float) -> str:
  """'1h02m', '3m05s' or '42s'."""
  seconds = int(round(seconds))
  hours, rest = divmod(seconds, 3600)
  minutes, secs = divmod(rest, 60)
  if hours:
    return f"{hours}h{minutes:02d}m"
  return f"{minutes}m{secs:02d}s" if minutes else f"{secs}s"


class Throughput:
  """steps/s, samples/s and ETA over the interval since the last `measure`."""

  def __init__(self, step: int, total_steps: int, samples_per_step: int):
    self.total_steps = total_steps
    self.samples_per_step = samples_per_step
    self._step, self._time = step, time.perf_counter()

  def measure(self, step: int) -> dict[str, float]:
    """{"steps_per_s", "samples_per_s", "eta_s"} for the steps since the last call."""
    now = time.perf_counter()
    rate = (step - self._step) / max(now - self._time, 1e-9)
    self._step, self._time = step, now
    return {
      "steps_per_s": rate,
      "samples_per_s": rate * self.samples_per_step,
      "eta_s": (self.total_steps - step) / max(rate, 1e-9),
    }


def log_progress(stage: str, step: int, total_steps: int, metrics: Mapping[str, float]) -> None:
  """One absl INFO line: stage, step/total, scalars, steps/s, samples/s, ETA."""
  scalars = " ".join(
    f"{k} {v:.4g}" for k, v in metrics.items() if k not in ("steps_per_s", "samples_per_s", "eta_s")
  )
  logging.info(
    "%s step %d/%d | %s | %.2f steps/s %.1f samples/s | ETA %s",
    stage,
    step,
    total_steps,
    scalars,
    metrics["steps_per_s"],
    metrics["samples_per_s"],
    format_duration(metrics["eta_s"]),
  )
