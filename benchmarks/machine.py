"""The machine a benchmark ran on, as its tables name it, and how a time is taken on it
(`python -m benchmarks.<name>`)."""

import os
import platform
import statistics
import subprocess
import time


def cpu_name() -> str:
  """The CPU model `lscpu` reports, else what `platform` knows."""
  try:
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True, check=True).stdout
  except (OSError, subprocess.CalledProcessError):
    return platform.processor() or platform.machine()
  for line in lscpu.splitlines():
    if line.startswith("Model name:"):
      return line.split(":", 1)[1].strip()
  return platform.processor() or platform.machine()


def describe() -> str:
  """ "<CPU>, <N> cores, <arch>, Python <version>"."""
  return (
    f"{cpu_name()}, {os.cpu_count()} cores, {platform.machine()}, "
    f"Python {platform.python_version()}"
  )


def median_seconds(fn, repeats: int) -> float:
  """Median wall time of `repeats` calls of `fn()`, seconds."""
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return statistics.median(times)
