"""orbax checkpoints of a stage: the `TrainState` and the input iterator's position.

Layout: `<directory>/<step>/state` (arrays, `StandardSave`) and `<directory>/<step>/data`
(one JSON file per JAX process, grain's orbax handler), so a restart resumes with
exactly the batches the interrupted run would have seen next. Writes are
asynchronous; a checkpoint appears under its step only once complete.
"""

import grain
import jax
import orbax.checkpoint as ocp
from etils import epath

from cmcl_jax.train import optim
from cmcl_jax.train.state import TrainState, create_train_state


class Checkpointer:
  """Keeps the last `keep` checkpoints of one stage in `directory`."""

  def __init__(self, directory: epath.PathLike, keep: int):
    if keep < 1:
      raise ValueError(f"checkpoint.keep must be ≥ 1, got {keep}")
    self.directory = epath.Path(directory)
    if not self.directory.is_absolute():  # orbax writes only to absolute paths
      self.directory = self.directory.resolve()
    self._manager = ocp.CheckpointManager(
      self.directory, options=ocp.CheckpointManagerOptions(max_to_keep=keep, create=True)
    )

  def latest_step(self) -> int | None:
    """Step of the newest complete checkpoint, or None."""
    return self._manager.latest_step()

  def save(self, state: TrainState, iterator) -> None:
    """Starts writing `state` and the state of `iterator` (a grain iterator) at `state.step`."""
    self._manager.save(
      int(state.step),
      args=ocp.args.Composite(
        state=ocp.args.StandardSave(state), data=grain.checkpoint.CheckpointSave(iterator)
      ),
      force=True,
    )

  def restore(self, target: TrainState, iterator=None, step: int | None = None) -> TrainState:
    """The state at `step` (default: latest), shaped and sharded like `target`.

    `target` holds arrays or `jax.ShapeDtypeStruct`s with shardings.

    When `iterator` (a grain iterator) is given it is moved to the saved position in
    place; without it only the state is read (e.g. to start the next stage).
    """
    step = self.latest_step() if step is None else step
    abstract = jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=x.sharding), target
    )
    items = {"state": ocp.args.StandardRestore(abstract)}
    if iterator is not None:
      items["data"] = grain.checkpoint.CheckpointRestore(iterator)
    return self._manager.restore(step, args=ocp.args.Composite(**items))["state"]

  def restore_params(self, stage_config, params, seed: int, sharding):
    """The parameters of the newest checkpoint of a stage trained with `stage_config`
    (its optimizer shapes the saved state), placed with `sharding`; `params` gives
    their structure and shapes only."""
    tx = optim.make_optimizer(stage_config, params)
    target = jax.tree.map(
      lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding),
      jax.eval_shape(lambda: create_train_state(params, tx, seed)),
    )
    return self.restore(target).params

  def wait(self) -> None:
    """Blocks until pending writes are complete."""
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.close()
