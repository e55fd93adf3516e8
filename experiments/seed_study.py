r"""The demo over several seeds: Table 3 with its spread, and the paper's claims checked.

  python -m experiments.seed_study --seeds=22,23,24 [--workdir=workdir/seeds]

Runs the demo (`experiments.end_to_end.run`: synthetic data of that seed, build, LOSO, report) once per
seed under `<workdir>/seed_<n>/` — each resumable — then writes under `<workdir>/`:
`seed_study.{md,csv,json}` (per variant: precision / recall / F1 mean, sd, min, max
and each seed's F1), the same of every spotter's rows in
`seed_study_table2.{md,csv,json}` (when the config runs other methods than
CMCL-Net), `claims.{md,csv,json}` (on how many seeds the fusion beats each
single modality and the CCF raises precision, with the paired differences) and
`seed_study.png`, and `planted_sources.{md,csv,json}` (what each variant's candidates
lie on, `cmcl_jax.analysis.planted`, summed over seeds). The seed sets both the
synthetic data and the training.
"""

import json
from pathlib import Path

from absl import app
from absl import flags
from ml_collections import config_flags

from cmcl_jax.analysis import planted
from cmcl_jax.analysis import report
from cmcl_jax.analysis import seeds as seeds_lib
from cmcl_jax.analysis import tables
from cmcl_jax.data import synthetic
from cmcl_jax.experiment import runtime
from experiments import end_to_end
from experiments import cli

_CONFIG = config_flags.DEFINE_config_file(
  "config",
  str(Path(__file__).parent / "configs" / "loso_synthetic.py"),
  "LOSO experiment config (its seed is replaced by each study seed).",
)
_WORKDIR = flags.DEFINE_string("workdir", "workdir/seeds", "Output folder.")
_SEEDS = flags.DEFINE_list("seeds", ["22", "23", "24"], "Seeds (data and training).")
_SYNTHETIC = flags.DEFINE_enum(
  "synthetic", "demo", sorted(synthetic.PRESETS), "Synthetic MECG size preset."
)
_SET = flags.DEFINE_multi_string(
  "set", [], "Override a synthetic field (`SyntheticConfig`): name=value."
)

SUMMARY_COLUMNS = (
  "variant",
  "f1_mean",
  "f1_sd",
  "f1_min",
  "f1_max",
  "precision_mean",
  "precision_sd",
  "recall_mean",
  "recall_sd",
  "tp_fp_fn",
)


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  runtime.quiet_checkpoint_logs()
  workdir = Path(_WORKDIR.value)
  seeds = [int(s) for s in _SEEDS.value]
  if len(set(seeds)) < 2:
    raise app.UsageError("--seeds: give at least two different seeds for a spread")
  table3, table2, minutes, sources = {}, {}, {}, []
  for number, seed in enumerate(seeds, start=1):
    print(f"\n##### seed {seed} ({number}/{len(seeds)}) #####", flush=True)
    config = _CONFIG.value.copy_and_resolve_references()
    config.seed = seed
    outcome = end_to_end.run(
      config,
      workdir / f"seed_{seed}",
      end_to_end.synthetic_config(_SYNTHETIC.value, _SET.value),
      seed,
    )
    table3[seed] = outcome["summary"]["table3"]
    table2[seed] = outcome["summary"]["table2"]
    minutes[seed] = sum(outcome["timings"].values()) / 60
    sources += outcome["summary"]["planted"]["sources"]

  rows = seeds_lib.seed_rows(table3)
  tables.write_table(
    rows, workdir, "seed_study", [*SUMMARY_COLUMNS, *(f"f1_seed{s}" for s in seeds)]
  )
  if all(table2.values()):
    tables.write_table(
      seeds_lib.seed_rows(table2),
      workdir,
      "seed_study_table2",
      [*SUMMARY_COLUMNS, *(f"f1_seed{s}" for s in seeds)],
    )
  checks = seeds_lib.claims(table3, report.variant_names(_CONFIG.value))
  tables.write_table(checks, workdir, "claims")
  tables.write_table(planted.summed_rows(sources, "variant"), workdir, "planted_sources")
  figure = seeds_lib.plot_seed_study(table3)
  figure.savefig(workdir / "seed_study.png", dpi=110)
  (workdir / "seed_minutes.json").write_text(json.dumps(minutes, indent=1))
  print("\n" + tables.markdown(rows, SUMMARY_COLUMNS))
  print("\n" + tables.markdown(checks, list(checks[0])))
  print("\nminutes per seed: " + ", ".join(f"{s}: {m:.1f}" for s, m in minutes.items()))


if __name__ == "__main__":
  cli.run(main)
