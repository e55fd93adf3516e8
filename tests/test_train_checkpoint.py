"""Checkpointer: a relative run folder (the README's `--workdir=workdir/demo`) works."""

import grain
import jax.numpy as jnp
import numpy as np

from cmcl_jax.train.checkpoint import Checkpointer
from cmcl_jax.train.state import TrainState


def _state(value: float) -> TrainState:
  return TrainState(
    step=jnp.asarray(3, jnp.int32),
    params={"w": jnp.full((2, 2), value)},
    opt_state={"mu": jnp.zeros((2, 2))},
    rng=jnp.zeros((2,), jnp.uint32),
  )


def test_relative_directory_saves_and_restores(tmp_path, monkeypatch):
  monkeypatch.chdir(tmp_path)
  checkpointer = Checkpointer("workdir/run/checkpoints", keep=1)
  assert checkpointer.directory.is_absolute()
  iterator = iter(grain.MapDataset.range(10).to_iter_dataset())
  next(iterator), next(iterator)
  checkpointer.save(_state(1.5), iterator)
  checkpointer.wait()
  assert checkpointer.latest_step() == 3
  assert (tmp_path / "workdir" / "run" / "checkpoints" / "3").is_dir()

  fresh = iter(grain.MapDataset.range(10).to_iter_dataset())
  restored = Checkpointer("workdir/run/checkpoints", keep=1).restore(_state(0.0), fresh)
  np.testing.assert_array_equal(restored.params["w"], np.full((2, 2), 1.5))
  assert next(fresh) == 2
  checkpointer.close()
