r"""Writes a synthetic MECG raw layout (videos, ECG with markers, coding file).

  python -m experiments.synthesize --out=/tmp/mecg_raw --preset=demo --seed=0

`tiny` takes a few seconds, `demo` about a minute on 2 CPU cores. Any field of
`cmcl_jax.data.synthetic.SyntheticConfig` can be overridden, e.g.
`--set=num_subjects=8 --set=hr_response_share=0.5`.
"""

import time

from absl import app
from absl import flags

from cmcl_jax.data import synthetic
from experiments import cli

_OUT = flags.DEFINE_string("out", None, "Folder to write the raw layout into.", required=True)
_PRESET = flags.DEFINE_enum("preset", "demo", sorted(synthetic.PRESETS), "Size preset.")
_SEED = flags.DEFINE_integer("seed", 0, "Random seed: the output is a function of it.")
_SET = flags.DEFINE_multi_string("set", [], "Override a config field: name=value.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  try:
    config = synthetic.preset(_PRESET.value, **synthetic.parse_overrides(_SET.value))
  except ValueError as error:
    raise app.UsageError(f"--set: {error}") from None
  start = time.perf_counter()
  truth = synthetic.generate(_OUT.value, config, seed=_SEED.value)
  trials = [t for s in truth["subjects"] for t in s["trials"]]
  kinds = [e["kind"] for t in trials for e in t["expressions"]]
  print(
    f"wrote {len(truth['subjects'])} subjects, {len(trials)} trials, "
    f"{kinds.count('micro')} MEs and {kinds.count('macro')} macro-expressions to "
    f"{_OUT.value} in {time.perf_counter() - start:.1f} s"
  )


if __name__ == "__main__":
  cli.run(main)
