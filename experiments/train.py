r"""Trains CMCL-Net: triplet pre-training, then fine-tuning, on a `mecg` LOSO fold.

  python -m experiments.train --config=experiments/configs/synthetic.py \
      --workdir=workdir/synthetic [--stage=both|pretrain|finetune] [--config.x=…]

Configs live in `experiments/configs/` (their docstrings give the commands and
costs). Rerunning the same command resumes from the newest checkpoint in
`--workdir`; SIGTERM saves a checkpoint and exits with status 0.
"""

import jax
from absl import app
from absl import flags
from absl import logging
from ml_collections import config_flags

from cmcl_jax.experiment import dataset, runtime
from cmcl_jax.train import checkpoint, inputs, loop, sharding
from experiments import cli

_CONFIG = config_flags.DEFINE_config_file(
  "config", None, "Experiment config file (experiments/configs/*.py[:arg]).", lock_config=True
)
_WORKDIR = flags.DEFINE_string(
  "workdir", None, "Output directory (checkpoints, metrics.jsonl, TensorBoard)."
)
_STAGE = flags.DEFINE_enum(
  "stage", "both", ["both", "pretrain", "finetune"], "Which stage(s) to run."
)
flags.mark_flags_as_required(["config", "workdir"])

REQUIRED_SECTIONS = (
  "data",
  "model",
  "pretrain",
  "finetune",
  "checkpoint",
  "logging",
  "distributed",
)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  runtime.quiet_checkpoint_logs()
  cli.output_folder("workdir", _WORKDIR.value)
  config = _CONFIG.value
  missing = [s for s in REQUIRED_SECTIONS if s not in config]
  if missing:
    raise app.UsageError(
      f"--config lacks the sections {missing}; see experiments/configs/synthetic.py"
    )
  sharding.initialize_distributed(config)
  stages = loop.STAGES if _STAGE.value == "both" else (_STAGE.value,)
  try:
    loop.check_config(config, stages)
    loop.check_resumable(config, _WORKDIR.value)
    builder = dataset.open_builder(config.data)
    data = inputs.mecg_data(config, builder)
    train_split, _ = inputs.fold_splits(builder, config.data)
    fps = inputs.split_fps(builder, train_split)
  except (FileNotFoundError, ValueError) as error:
    raise app.UsageError(str(error)) from None
  if jax.process_index() == 0:
    inputs.write_inputs(
      _WORKDIR.value,
      builder,
      inputs.input_features(builder, train_split, config.data.feature_norm),
      fps,
    )
  try:
    results = loop.train_and_evaluate(config, _WORKDIR.value, data, stages)
  except checkpoint.CheckpointMismatchError as error:  # resumed or warm-started from another model
    raise app.UsageError(str(error)) from None
  for name, result in results.items():
    logging.info(
      "%s: %s at step %d%s",
      name,
      "stopped by SIGTERM" if result.preempted else "done",
      int(result.state.step),
      f", eval {result.eval_metrics}" if result.eval_metrics else "",
    )


if __name__ == "__main__":
  cli.run(main)
