r"""The demo over several seeds: Table 3 with its spread, and the paper's claims checked.

  python -m experiments.seed_study --seeds=50,51,52 [--workdir=workdir/seeds]
  python -m experiments.seed_study --seeds=50,51,52 --control   # → workdir/seeds_control

Runs the demo (`experiments.end_to_end.run`: synthetic data of that seed, build, LOSO, report) once per
seed, on the `study` synthetic preset (the demo's data with 8 subjects; `--synthetic=demo`
for the demo's 4), under `<workdir>/seed_<n>/` — each resumable — then writes under `<workdir>/`:
`seed_study.{md,csv,json}` (per variant: precision / recall / F1 mean, sd, min, max
and each seed's F1), the same of every spotter's rows in
`seed_study_table2.{md,csv,json}` (when the config runs other methods than
CMCL-Net), `claims.{md,csv,json}` (on how many seeds the fusion beats each
single modality and the CCF raises precision, with the paired differences and
their 95 % bootstrap interval over subjects, `cmcl_jax.analysis.seeds`) and
`seed_study.png`, `planted_sources.{md,csv,json}` (what each variant's candidates
lie on, `cmcl_jax.analysis.planted`, summed over seeds), and `study.json` (what the
study was run with). The seed sets both the synthetic data and the training.

`--control` is the negative control: no ME has a heart-rate response
(`--set=hr_response_share=0.0`), so the ECG carries nothing about MEs and the fusion
must not lose to video alone; its default workdir is `workdir/seeds_control`.
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
  "synthetic",
  "study",
  sorted(synthetic.PRESETS),
  "Synthetic MECG size preset: 'study' is the demo's data with 8 subjects.",
)
_SET = flags.DEFINE_multi_string(
  "set", [], "Override a synthetic field (`SyntheticConfig`): name=value."
)
_CONTROL = flags.DEFINE_bool(
  "control",
  False,
  "The negative control: no ME has a heart-rate response (hr_response_share=0.0); "
  "default workdir workdir/seeds_control.",
)
CONTROL_SETTING = "hr_response_share=0.0"

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
  settings = list(_SET.value)
  if _CONTROL.value:
    if any(s.partition("=")[0].strip() == "hr_response_share" for s in settings):
      raise app.UsageError("--control sets hr_response_share=0.0; do not --set it as well")
    settings.append(CONTROL_SETTING)
    if not flags.FLAGS["workdir"].present:
      workdir = Path("workdir/seeds_control")
  seeds = [int(s) for s in _SEEDS.value]
  if len(set(seeds)) < 2:
    raise app.UsageError("--seeds: give at least two different seeds for a spread")
  synthetic_config = end_to_end.synthetic_config(_SYNTHETIC.value, settings)
  study = {
    "seeds": seeds,
    "control": _CONTROL.value,
    "synthetic": _SYNTHETIC.value,
    "set": settings,
    "subjects_per_seed": synthetic_config.num_subjects,
    "trials_per_subject": synthetic_config.trials_per_subject,
  }
  workdir.mkdir(parents=True, exist_ok=True)
  study_path = workdir / "study.json"
  if study_path.exists():
    stored = json.loads(study_path.read_text())
    differ = {k for k in set(stored) | set(study) if k != "seeds" and stored.get(k) != study.get(k)}
    if differ:
      raise app.UsageError(
        f"{workdir} holds a study run with other settings ({', '.join(sorted(differ))}: "
        f"{ {k: stored.get(k) for k in sorted(differ)} }); use another --workdir"
      )
  study_path.write_text(json.dumps(study, indent=1))
  table3, table2, minutes, sources, per_subject = {}, {}, {}, [], {}
  for number, seed in enumerate(seeds, start=1):
    print(f"\n##### seed {seed} ({number}/{len(seeds)}) #####", flush=True)
    config = _CONFIG.value.copy_and_resolve_references()
    config.seed = seed
    if not config.loso.compilation_cache_dir:  # seeds after the first skip XLA compilation
      config.loso.compilation_cache_dir = str(workdir / "jax_cache")
    outcome = end_to_end.run(
      config,
      workdir / f"seed_{seed}",
      synthetic_config,
      seed,
    )
    table3[seed] = outcome["summary"]["table3"]
    per_subject[seed] = outcome["summary"]["per_subject"]
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
  checks = seeds_lib.claims(table3, report.variant_names(_CONFIG.value), per_subject)
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
