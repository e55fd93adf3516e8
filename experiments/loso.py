r"""Leave-one-subject-out spotting: train, spot, filter and evaluate every fold.

  python -m experiments.loso --config=experiments/configs/loso_synthetic.py \
      --config.data.data_dir=workdir/tfds --workdir=workdir/loso \
      [--config.loso.folds=s1,s2] [--report_only]

Resumable per fold (finished folds are read back; an interrupted fold resumes from
its checkpoints). Folds can run in parallel processes with disjoint
`--config.loso.folds`; then `--report_only` combines them into
`<workdir>/results/` (Table 3, η sweep, per-subject precision, a spotting figure,
ECG statistics).
"""

from absl import app
from absl import flags
from ml_collections import config_flags

from cmcl_jax.analysis import report
from cmcl_jax.experiment import dataset, loso, runtime
from experiments import cli

_CONFIG = config_flags.DEFINE_config_file("config", None, "Experiment config file.")
_WORKDIR = flags.DEFINE_string("workdir", None, "Output folder.", required=True)
_REPORT_ONLY = flags.DEFINE_bool(
  "report_only", False, "Only combine finished folds into the results."
)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  runtime.quiet_checkpoint_logs()
  config = _CONFIG.value
  if config is None or "loso" not in config:
    raise app.UsageError(
      "--config must be a LOSO config (with a `loso` section), e.g. "
      "experiments/configs/loso_synthetic.py"
    )
  try:
    builder = dataset.open_builder(config.data)
    if _REPORT_ONLY.value:
      folds = loso.finished_folds(config, _WORKDIR.value, dataset.dataset_subjects(builder))
    else:
      runtime.use_compilation_cache(runtime.compilation_cache_folder(config, _WORKDIR.value))
      folds = loso.run_loso(config, _WORKDIR.value)
  except (ValueError, FileNotFoundError) as error:
    raise app.UsageError(str(error)) from None
  summary = report.write_report(config, _WORKDIR.value, builder, folds)
  print(report.tables.markdown(summary["table3"], ["variant", *report.tables.COLUMNS]))


if __name__ == "__main__":
  cli.run(main)
