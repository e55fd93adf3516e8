"""Data parallelism: a 1-D "data" mesh over all devices of all processes.

Parameters, optimizer state and metrics are replicated; every batch array is split
along its leading (batch) axis. Each JAX process feeds only its own rows (its
`process_batch_size`), and `global_batch` assembles the global array from them.
"""

from collections.abc import Mapping

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

DATA_AXIS = "data"


def initialize_distributed(config: Mapping) -> None:
  """`jax.distributed.initialize` from `config.distributed`, when it names a coordinator.

  Fields: coordinator_address ("host:port"; empty for a single process),
  num_processes, process_id, cpu_collectives ("gloo" runs CPU collectives across
  processes; empty for the platform default). Call before any other JAX work.
  """
  dist = config["distributed"]
  if not dist["coordinator_address"]:
    return
  if dist["cpu_collectives"]:
    jax.config.update("jax_cpu_collectives_implementation", dist["cpu_collectives"])
  jax.distributed.initialize(
    coordinator_address=dist["coordinator_address"],
    num_processes=dist["num_processes"],
    process_id=dist["process_id"],
  )


def make_mesh(devices=None) -> Mesh:
  """A mesh with one "data" axis over `devices` (default `jax.devices()`: all processes)."""
  return Mesh(np.asarray(jax.devices() if devices is None else devices), (DATA_AXIS,))


def replicated(mesh: Mesh) -> NamedSharding:
  """Every device holds the whole array."""
  return NamedSharding(mesh, PartitionSpec())


def batch_sharding(mesh: Mesh) -> NamedSharding:
  """Leading axis split over "data", other axes whole."""
  return NamedSharding(mesh, PartitionSpec(DATA_AXIS))


def process_batch_size(global_batch_size: int, what: str = "batch_size") -> int:
  """Rows this process feeds per step; checks that devices divide the batch."""
  devices = jax.device_count()
  if global_batch_size % devices:
    raise ValueError(
      f"{what}={global_batch_size} must be a multiple of the {devices} devices "
      f"({jax.process_count()} process(es))"
    )
  return global_batch_size // jax.process_count()


def global_batch(local_batch, mesh: Mesh):
  """Global jax.Arrays from this process's rows (a pytree of NumPy arrays).

  Each leaf (b, …) becomes (b · process_count, …), sharded along "data".
  """
  sharding = batch_sharding(mesh)
  return jax.tree.map(
    lambda x: jax.make_array_from_process_local_data(sharding, np.asarray(x)), local_batch
  )
