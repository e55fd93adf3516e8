r"""Writes a synthetic raw layout: MECG (videos, ECG with markers, coding file) by default,
or a stand-in of CAS(ME)², SAMM-LV or CAS(ME)³ Part A in its released layout.

  python -m experiments.synthesize --out=/tmp/mecg_raw --preset=demo --seed=0
  python -m experiments.synthesize --dataset=samm_lv --out=/tmp/samm_raw --preset=tiny

MECG: `tiny` takes a few seconds, `demo` about a minute on 2 CPU cores. CAS(ME)²,
SAMM-LV, CAS(ME)³ (`cmcl_jax.data.synthetic.megc_layouts`, frame folders and the
annotation spreadsheet, no ECG): `tiny` (2 subjects × 2 videos × 8 s, small frames of
the dataset's aspect) takes 1–3 s; `demo` (4 × 3 × 30 s) 20–80 s (SAMM-LV, at 200 fps,
the longest); `stress` writes the released frame sizes. Any field of
`cmcl_jax.data.synthetic.SyntheticConfig` can be overridden, e.g.
`--set=num_subjects=8 --set=hr_response_share=0.5`.
"""

import time

from absl import app
from absl import flags

from cmcl_jax.data import synthetic
from cmcl_jax.data.synthetic import megc_layouts
from cmcl_jax.data.synthetic.generate import GROUND_TRUTH_NAME
from experiments import cli

_OUT = flags.DEFINE_string("out", None, "Folder to write the raw layout into.", required=True)
_DATASET = flags.DEFINE_enum(
  "dataset", "mecg", ["mecg", *megc_layouts.FORMATS], "Which dataset's layout to write."
)
_PRESET = flags.DEFINE_enum("preset", "demo", sorted(synthetic.PRESETS), "Size preset.")
_SEED = flags.DEFINE_integer("seed", 0, "Random seed: the output is a function of it.")
_SET = flags.DEFINE_multi_string("set", [], "Override a config field: name=value.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  out = cli.output_folder("out", _OUT.value)
  if out.is_dir() and any(out.iterdir()) and not (out / GROUND_TRUTH_NAME).is_file():
    raise app.UsageError(
      f"--out={_OUT.value}: holds files but no {GROUND_TRUTH_NAME}, so it is no "
      "synthetic layout this command wrote; expected a new or empty folder (the layout "
      "would be mixed into what is there)"
    )
  if _SEED.value < 0:
    raise app.UsageError(f"--seed={_SEED.value}: expected an integer ≥ 0")
  dataset = _DATASET.value
  try:
    overrides = synthetic.parse_overrides(_SET.value)
    if dataset == "mecg":
      config = synthetic.preset(_PRESET.value, **overrides)
    else:
      config = megc_layouts.preset(dataset, _PRESET.value, **overrides)
  except ValueError as error:
    raise app.UsageError(f"--set: {error}") from None
  start = time.perf_counter()
  if dataset == "mecg":
    truth = synthetic.generate(_OUT.value, config, seed=_SEED.value)
    trials = [t for s in truth["subjects"] for t in s["trials"]]
    kinds = [e["kind"] for t in trials for e in t["expressions"]]
    wrote = f"{len(truth['subjects'])} subjects, {len(trials)} trials"
  else:
    try:
      truth = megc_layouts.generate(_OUT.value, dataset, config, seed=_SEED.value)
    except (ValueError, FileExistsError) as error:
      raise app.UsageError(str(error)) from None
    kinds = [e["kind"] for v in truth["videos"] for e in v["expressions"]]
    wrote = (
      f"{len({v['subject'] for v in truth['videos']})} subjects, {len(truth['videos'])} videos"
    )
  print(
    f"wrote {wrote}, {kinds.count('micro')} MEs and {kinds.count('macro')} macro-expressions "
    f"to {_OUT.value} in {time.perf_counter() - start:.1f} s"
  )


if __name__ == "__main__":
  cli.run(main)
