"""`train_and_evaluate`: triplet pre-training, then fine-tuning, with all side effects.

Per stage, under `<workdir>/<stage>/`: `checkpoints/` (orbax), `metrics.jsonl` and
`tensorboard/`. A stage whose last checkpoint is at its final step is done and is
skipped, so rerunning the same command resumes where a run stopped: the state, the
RNG and the input iterator come back from the newest checkpoint, and the parameters
match those of an uninterrupted run bitwise (on CPU).

Fine-tuning starts from the pre-trained encoder with a fresh classifier
(`finetune.init_from="pretrain"`), from scratch (`"scratch"`), or — a fused model
only — from finished single-modality runs (`"streams"`, `cmcl_jax.train.warm_start`;
no pre-training stage then).

SIGTERM: the current step finishes, a checkpoint is written, and the stage returns
`preempted`. A non-finite loss raises `NonFiniteLossError` naming the step; no
checkpoint is written after that step.
"""

import dataclasses
import json
import math
import signal
import threading
from collections.abc import Callable, Iterable, Iterator, Mapping

import jax
import numpy as np
from absl import logging
from etils import epath
from jax.experimental import multihost_utils

from cmcl_jax.train import config_fields, losses, optim, reporting, sharding, warm_start
from cmcl_jax.train.checkpoint import Checkpointer
from cmcl_jax.train.state import (
  ModelParts,
  TrainState,
  build_model,
  create_train_state,
  remembered,
  transplant,
)
from cmcl_jax.train.steps import VIEWS, make_steps

STAGES = ("pretrain", "finetune")
INIT_FROM = ("pretrain", "scratch", "streams")


class NonFiniteLossError(FloatingPointError):
  """The training loss became NaN or ±Inf."""


@dataclasses.dataclass(frozen=True)
class StageData:
  """The inputs of one stage, as this process sees them.

  Attributes:
    train: returns a fresh grain iterator (`get_state`/`set_state`) of this
      process's rows of each global batch, as dicts of NumPy arrays; it must not
      run out before the stage's last step.
    evaluate: returns one pass of evaluation batches (fine-tuning batches with a
      "mask"), or None for no evaluation.
  """

  train: Callable[[], Iterator]
  evaluate: Callable[[], Iterable] | None = None


@dataclasses.dataclass(frozen=True)
class StageResult:
  """How a stage ended: its final state, whether SIGTERM cut it short, and the
  model's graph (`parts`, to rebuild the model from `state.params`)."""

  state: TrainState
  preempted: bool
  eval_metrics: dict[str, float] | None = None
  parts: ModelParts | None = None


class _StopSignal:
  """Records SIGTERM while installed (main thread only); restores the old handler."""

  def __init__(self):
    self.received = False
    self._previous = None

  def __enter__(self):
    if threading.current_thread() is threading.main_thread():
      self._previous = signal.signal(signal.SIGTERM, self._handle)
    return self

  def _handle(self, signum, frame):
    del signum, frame
    logging.warning("SIGTERM received: saving a checkpoint after this step")
    self.received = True

  def __exit__(self, *exc):
    if self._previous is not None:
      signal.signal(signal.SIGTERM, self._previous)


DEVICE_KEYS = ("flow", "ecg", "ecg_features", "label", "mask")
"""Batch keys the steps read; bookkeeping keys (index, kind, …) stay on the host."""


def _device_keys(batch: Mapping) -> dict:
  """The step's keys of a batch (triplet views keep their nesting)."""
  return {
    k: _device_keys(v) if isinstance(v, Mapping) else v
    for k, v in batch.items()
    if isinstance(v, Mapping) or k in DEVICE_KEYS
  }


def _samples_per_step(name: str, config) -> int:
  """Windows per global step: 3 per triplet when pre-training."""
  if name == "pretrain":
    return len(VIEWS) * config.data.pretrain_batch_size
  return config.data.finetune_batch_size


def _agree_to_stop(received: bool) -> bool:
  """True on every process when any process got SIGTERM."""
  if jax.process_count() == 1:
    return received
  return bool(np.any(multihost_utils.process_allgather(np.int32(received))))


def _evaluate(steps, state: TrainState, batches: Iterable, mesh) -> dict[str, float]:
  """Window-level loss, accuracy, ME precision / recall / F1 over one pass."""
  totals = None
  for batch in batches:
    sums = steps.evaluate(state, sharding.global_batch(_device_keys(batch), mesh))
    totals = sums if totals is None else jax.tree.map(lambda a, b: a + b, totals, sums)
  if totals is None:
    raise ValueError("the evaluation data gave no batch")
  t = {k: float(v) for k, v in jax.device_get(totals).items()}
  precision = t["tp"] / max(t["tp"] + t["fp"], 1)
  recall = t["tp"] / max(t["tp"] + t["fn"], 1)
  return {
    "loss": t["loss_sum"] / max(t["count"], 1),
    "accuracy": (t["tp"] + t["tn"]) / max(t["count"], 1),
    "precision": precision,
    "recall": recall,
    "f1": 2 * precision * recall / max(precision + recall, 1e-12),
  }


def _initial_params(name: str, config, workdir: epath.Path, mesh):
  """Model parts and the stage's starting parameters (fine-tuning: pre-trained encoder)."""
  parts, params = build_model(config.model, config.seed)
  if name != "finetune":
    return parts, params
  init_from = config.finetune.init_from
  if init_from == "scratch":
    return parts, params
  if init_from == "streams":
    return parts, warm_start.from_streams(
      params, config.finetune, workdir, config.model, sharding.replicated(mesh)
    )
  pretrain_dir = workdir / "pretrain" / "checkpoints"
  source = Checkpointer(pretrain_dir, keep=1)
  if source.latest_step() != config.pretrain.steps:
    raise FileNotFoundError(
      f"finetune.init_from='pretrain' needs the final pre-training checkpoint (step "
      f"{config.pretrain.steps}) in {pretrain_dir}; found "
      f"{source.latest_step()}. Run --stage=pretrain (or both) first, or set "
      "--config.finetune.init_from=scratch"
    )
  pretrained = source.restore_params(
    config.pretrain, params, config.seed, sharding.replicated(mesh)
  )
  source.close()
  return parts, transplant(params, pretrained, ("encoder",))


_STEPS_KEPT = 16
_steps_cache: dict[tuple, tuple] = {}


def stage_steps(name: str, stage, parts: ModelParts, params, replicated) -> tuple:
  """(optimizer, `make_steps`) of one stage, built once per process for each stage
  config and model (the `_STEPS_KEPT` latest are kept); `params` only shapes the
  optimizer, and equal parts give equal parameter trees.

  A LOSO run trains the same models in every fold; steps built anew would be
  traced, lowered and read back from the compilation cache again each time (≈ 3 s
  a model and fold for the demo's).
  """

  def build():
    tx = optim.make_optimizer(stage, params)
    schedule = optim.learning_rate_schedule(stage)
    return tx, make_steps(name, stage, parts, tx, schedule, replicated)

  key = (name, config_fields.config_key(stage), parts, replicated)
  return remembered(_steps_cache, key, build, _STEPS_KEPT)


def run_stage(name: str, config, workdir: epath.PathLike, data: StageData) -> StageResult:
  """Trains one stage ("pretrain" or "finetune") to `config.<name>.steps`, resuming."""
  workdir = epath.Path(workdir)
  stage = config[name]
  mesh = sharding.make_mesh()
  replicated = sharding.replicated(mesh)
  parts, params = _initial_params(name, config, workdir, mesh)
  tx, steps = stage_steps(name, stage, parts, params, replicated)
  state = jax.device_put(create_train_state(params, tx, config.seed), replicated)
  iterator = data.train()
  checkpointer = Checkpointer(workdir / name / "checkpoints", config.checkpoint.keep)
  if checkpointer.latest_step() is not None:
    state = checkpointer.restore(state, iterator)
    logging.info("%s: resumed from step %d in %s", name, int(state.step), checkpointer.directory)
  total = stage.steps
  step = int(state.step)
  if step >= total:
    checkpointer.close()
    logging.info("%s: already complete (step %d)", name, step)
    return StageResult(state, preempted=False, parts=parts)

  log = reporting.MetricsLog(workdir / name, name)
  throughput = reporting.Throughput(step, total, _samples_per_step(name, config))
  pending = []  # (step index, device metrics) not yet read back
  eval_metrics = None
  preempted = False
  try:
    with _StopSignal() as stop:
      while step < total:
        batch = sharding.global_batch(_device_keys(next(iterator)), mesh)
        state, metrics = steps.train(state, batch, jax.random.fold_in(state.rng, step))
        pending.append((step, metrics))
        step += 1
        last = step == total
        log_now = step % config.logging.every_steps == 0 or last
        save_now = step % config.checkpoint.every_steps == 0 or last
        evaluate_now = data.evaluate is not None and (last or step % stage.eval_every_steps == 0)
        preempted = (log_now or jax.process_count() == 1) and _agree_to_stop(stop.received)
        if not (log_now or save_now or evaluate_now or preempted):
          continue
        values = jax.device_get(pending)
        pending = []
        for index, m in values:
          if not math.isfinite(float(m["loss"])):
            checkpointer.wait()
            raise NonFiniteLossError(
              f"{name}: the loss is {float(m['loss'])} at step {index}; training "
              f"stopped. The last good checkpoint is step "
              f"{checkpointer.latest_step()} in {checkpointer.directory}"
            )
        means = {k: float(np.mean([m[k] for _, m in values])) for k in values[-1][1]}
        means.update(throughput.measure(step))
        log.write(step, means)
        reporting.log_progress(name, step, total, means)
        if evaluate_now:
          eval_metrics = _evaluate(steps, state, data.evaluate(), mesh)
          log.write(step, {f"eval_{k}": v for k, v in eval_metrics.items()})
          logging.info("%s step %d eval: %s", name, step, eval_metrics)
        if save_now or preempted:
          checkpointer.save(state, iterator)
        if preempted:
          logging.warning(
            "%s: stopped by SIGTERM at step %d; checkpoint saved in %s; "
            "rerun the same command to resume",
            name,
            step,
            checkpointer.directory,
          )
          break
  finally:
    checkpointer.wait()
    checkpointer.close()
    log.close()
  return StageResult(state, preempted=preempted, eval_metrics=eval_metrics, parts=parts)


def check_config(config, stages: Iterable[str] = STAGES) -> None:
  """Raises ValueError naming the first bad field, before any data or compile work."""
  unknown = [s for s in stages if s not in STAGES]
  if unknown:
    raise ValueError(f"unknown stages {unknown}; choose from {STAGES}")
  choices = {
    "pretrain.mining": (config.pretrain.mining, losses.MININGS),
    "finetune.loss": (config.finetune.loss, losses.CLASSIFICATION_LOSSES),
    "finetune.init_from": (config.finetune.init_from, INIT_FROM),
    "pretrain.schedule": (config.pretrain.schedule, optim.SCHEDULES),
    "finetune.schedule": (config.finetune.schedule, optim.SCHEDULES),
  }
  for field, (value, allowed) in choices.items():
    if value not in allowed:
      raise ValueError(f"{field}={value!r}: choose one of {allowed}")
  if config.finetune.init_from == "streams" and "pretrain" in stages:
    raise ValueError(
      "finetune.init_from='streams' fine-tunes from single-modality runs and uses no "
      "pre-training; run only the finetune stage"
    )
  positive = {
    "pretrain.steps": config.pretrain.steps,
    "finetune.steps": config.finetune.steps,
    "checkpoint.every_steps": config.checkpoint.every_steps,
    "checkpoint.keep": config.checkpoint.keep,
    "logging.every_steps": config.logging.every_steps,
  }
  for field, value in positive.items():
    if value < 1:
      raise ValueError(f"{field}={value}: must be ≥ 1")
  for name in ("pretrain", "finetune"):
    stage = config[name]
    ranges = {
      "lr": (stage.lr, stage.lr > 0, "> 0"),
      "warmup_steps": (stage.warmup_steps, 0 <= stage.warmup_steps <= stage.steps, "in [0, steps]"),
      "end_lr_factor": (stage.end_lr_factor, 0 <= stage.end_lr_factor <= 1, "in [0, 1]"),
      "weight_decay": (stage.weight_decay, stage.weight_decay >= 0, "≥ 0"),
      "clip_norm": (stage.clip_norm, stage.clip_norm > 0, "> 0"),
      "anchor_weight": (stage.anchor_weight, stage.anchor_weight >= 0, "≥ 0"),
    }
    for field, (value, ok, expected) in ranges.items():
      if not ok:
        raise ValueError(f"{name}.{field}={value}: must be {expected}")
    bad = {k: v for k, v in stage.lr_multipliers.items() if v < 0}
    if bad:
      raise ValueError(f"{name}.lr_multipliers={dict(stage.lr_multipliers)}: must be ≥ 0")
  if config.pretrain.margin <= 0:
    raise ValueError(f"pretrain.margin={config.pretrain.margin}: must be > 0")
  if config.finetune.eval_every_steps < 1:
    raise ValueError(f"finetune.eval_every_steps={config.finetune.eval_every_steps}: must be ≥ 1")
  if len(config.finetune.class_weights) != 2 or min(config.finetune.class_weights) <= 0:
    raise ValueError(
      f"finetune.class_weights={tuple(config.finetune.class_weights)}: expected two weights > 0"
    )
  if config.finetune.focal_gamma < 0:
    raise ValueError(f"finetune.focal_gamma={config.finetune.focal_gamma}: must be ≥ 0")
  for field in ("pretrain_batch_size", "finetune_batch_size", "eval_batch_size"):
    if config.data[field] < 1:
      raise ValueError(f"data.{field}={config.data[field]}: must be ≥ 1")
    sharding.process_batch_size(config.data[field], f"data.{field}")


RUN_SECTIONS = ("seed", "data", "model", "pretrain", "finetune")
"""Config sections a run's weights depend on; fields of them that do not:"""
RUN_INDEPENDENT_FIELDS = (
  "data.data_dir",
  "data.raw_dir",
  "data.worker_count",
  "data.eval_batch_size",
)


def _run_fields(config_json: dict) -> dict:
  fields = config_fields.flat_fields({s: config_json.get(s) for s in RUN_SECTIONS})
  return {k: v for k, v in fields.items() if k not in RUN_INDEPENDENT_FIELDS}


def check_resumable(config, workdir: epath.PathLike) -> None:
  """Refuses a run folder that holds a run of another config (it would resume, or
  count as finished, with the other run's weights).

  Raises:
    ValueError: naming the folder and the fields that differ.
  """
  stored_path = epath.Path(workdir) / "config.json"
  if not stored_path.exists():
    return
  stored = _run_fields(json.loads(stored_path.read_text()))
  wanted = _run_fields(json.loads(config.to_json_best_effort()))
  differ = config_fields.differences(stored, wanted)
  if differ:
    raise ValueError(
      f"{workdir} holds a run of another config ({differ}); "
      "use a new --workdir, or delete that folder to train again"
    )


def train_and_evaluate(
  config, workdir: epath.PathLike, data: Mapping[str, StageData], stages: Iterable[str] = STAGES
) -> dict[str, StageResult]:
  """Runs `stages` in order ("pretrain", "finetune"); stops early on SIGTERM.

  Args:
    config: an experiment config (see `experiments/configs/`).
    workdir: output directory, shared by all processes.
    data: `StageData` per stage name.
    stages: which stages to run, in order.

  Returns:
    The `StageResult` of every stage that ran.

  Raises:
    ValueError: a bad config field, or `workdir` holds a run of another config
      (`check_resumable`).
  """
  workdir = epath.Path(workdir)
  check_config(config, stages)
  check_resumable(config, workdir)
  if jax.process_index() == 0:
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "config.json").write_text(config.to_json_best_effort(indent=2))
  results = {}
  for name in stages:
    results[name] = run_stage(name, config, workdir, data[name])
    if results[name].preempted:
      break
  return results
