"""orbax checkpoints of a stage: the `TrainState` and the input iterator's position.

Layout: `<directory>/<step>/state` (arrays, `StandardSave`) and `<directory>/<step>/data`
(one JSON file per JAX process, grain's orbax handler), so a restart resumes with
exactly the batches the interrupted run would have seen next. Writes are
asynchronous; a checkpoint appears under its step only once complete.

Before reading arrays, `restore` compares the saved tree (paths and shapes, from the
checkpoint's metadata) with the one asked for, so a checkpoint of another model (another
preset, modality or size) or optimizer fails with one `CheckpointMismatchError` naming
the checkpoint and the first differing parameters, not deep inside orbax.
"""

import grain
import jax
import orbax.checkpoint as ocp
from etils import epath

from cmcl_jax.train import optim
from cmcl_jax.train.state import TrainState, create_train_state


LISTED_DIFFERENCES = 5
"""How many differing parameters a `CheckpointMismatchError` names."""


class CheckpointMismatchError(ValueError):
  """A checkpoint holds another tree (model or optimizer) than the one restored into."""


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

    Raises:
      FileNotFoundError: naming the directory, when it holds no complete checkpoint.
      CheckpointMismatchError: naming the checkpoint and the first differing arrays
        (paths and shapes), when it holds another tree than `target`.
    """
    step = self.latest_step() if step is None else step
    if step is None:
      raise FileNotFoundError(f"{self.directory}: no complete checkpoint to restore")
    self._check_tree(target, step)
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

  def _check_tree(self, target: TrainState, step: int) -> None:
    """Raises `CheckpointMismatchError` unless the state saved at `step` has the
    paths and shapes of `target`; dtypes may differ (orbax casts, e.g. float32 weights
    into a bfloat16 model)."""
    where = self.directory / str(step) / "state"
    handler = ocp.StandardCheckpointHandler()
    try:
      stored = _shapes(handler.metadata(where))
    finally:
      handler.close()
    wanted = _shapes(target)
    if stored == wanted:
      return
    differences = _differences(stored, wanted)
    count = sum(n for _, n in differences)
    params = sum(n for text, n in differences if text.startswith("params"))
    listed = "; ".join(text for text, _ in differences[:LISTED_DIFFERENCES])
    more = len(differences) - LISTED_DIFFERENCES
    raise CheckpointMismatchError(
      f"{where}: this checkpoint holds another model or optimizer than the one being "
      f"restored: {count} arrays differ ({params} model parameters, {count - params} "
      f"optimizer or other state): {listed}"
      + (f"; … and {more} more differences" if more > 0 else "")
      + ". Was it trained with another model config (preset, modality, sizes) or "
      "optimizer? Restore it with the config it was trained with (its run folder's "
      "config.json), or start from another checkpoint."
    )

  def wait(self) -> None:
    """Blocks until pending writes are complete."""
    self._manager.wait_until_finished()

  def close(self) -> None:
    self._manager.close()


def _key_name(key) -> str:
  for attribute in ("key", "name", "idx"):  # DictKey / FlattenedIndexKey, GetAttrKey, SequenceKey
    if hasattr(key, attribute):
      return str(getattr(key, attribute))
  return str(key)


def _shapes(tree) -> dict[str, tuple[int, ...]]:
  """Dotted path → shape of every array of a state tree or of its checkpoint metadata.

  The two spell paths differently (a saved dataclass field is a dict key, a module
  index a string), so keys are compared by name; the `value` level of nnx
  variables is dropped.
  """
  shapes = {}
  for path, leaf in jax.tree_util.tree_flatten_with_path(tree)[0]:
    names = [_key_name(k) for k in path]
    if names and names[-1] == "value":
      names.pop()
    shape = getattr(leaf, "shape", None)  # None: a scalar saved without one
    shapes[".".join(names)] = () if shape is None else tuple(shape)
  return shapes


def _differences(stored: dict, wanted: dict) -> list[tuple[str, int]]:
  """(description, arrays) of each difference between two `_shapes`, model parameters
  first. Arrays only one side has are grouped under their first path component that
  the other side lacks (e.g. a whole stream of another modality)."""
  prefixes = {
    side: {".".join(path.split(".")[:i]) for path in shapes for i in range(1, path.count(".") + 2)}
    for side, shapes in (("stored", stored), ("wanted", wanted))
  }
  groups = {}
  for path in sorted(stored.keys() | wanted.keys(), key=lambda p: (not p.startswith("params."), p)):
    if path in stored and path in wanted:
      if stored[path] != wanted[path]:
        groups[path, f"checkpoint {stored[path]}, expected {wanted[path]}"] = 1
      continue
    other, where = (
      ("wanted", "only in the checkpoint")
      if path in stored
      else ("stored", "not in the checkpoint")
    )
    parts = path.split(".")
    prefix = next(
      ".".join(parts[:i])
      for i in range(1, len(parts) + 1)
      if ".".join(parts[:i]) not in prefixes[other]
    )
    groups[prefix, where] = groups.get((prefix, where), 0) + 1
  return [
    (f"{path}: {what}" if n == 1 else f"{path} ({n} arrays): {what}", n)
    for (path, what), n in groups.items()
  ]
