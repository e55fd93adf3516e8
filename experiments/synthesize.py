r"""Writes a synthetic MECG raw layout (videos, ECG with markers, coding file).

  python -m experiments.synthesize --out=/tmp/mecg_raw --preset=demo --seed=0

`tiny` takes a few seconds, `demo` about a minute on 2 CPU cores. Any field of
`cmcl_jax.data.synthetic.SyntheticConfig` can be overridden, e.g.
`--set=num_subjects=8 --set=hr_response_share=0.5`.
"""

import dataclasses
import time

from absl import app
from absl import flags

from cmcl_jax.data import synthetic

_OUT = flags.DEFINE_string("out", None, "Folder to write the raw layout into.", required=True)
_PRESET = flags.DEFINE_enum("preset", "demo", sorted(synthetic.PRESETS), "Size preset.")
_SEED = flags.DEFINE_integer("seed", 0, "Random seed: the output is a function of it.")
_SET = flags.DEFINE_multi_string("set", [], "Override a config field: name=value.")


def parse_overrides(assignments: list[str]) -> dict:
  """`["num_subjects=4", "fps=100"]` → typed overrides of `SyntheticConfig` fields."""
  fields = {f.name: f for f in dataclasses.fields(synthetic.SyntheticConfig)}
  defaults = synthetic.SyntheticConfig()
  overrides = {}
  for assignment in assignments:
    name, _, text = assignment.partition("=")
    if name not in fields or not text:
      raise app.UsageError(f"--set={assignment}: expected name=value with name one of "
                           f"{sorted(fields)}")
    default = getattr(defaults, name)
    try:
      if isinstance(default, tuple):
        overrides[name] = tuple(float(v) for v in text.split(","))
      else:
        overrides[name] = type(default)(text)
    except ValueError:
      raise app.UsageError(f"--set={assignment}: {text!r} is not a "
                           f"{type(default).__name__}") from None
  return overrides


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  config = synthetic.preset(_PRESET.value, **parse_overrides(_SET.value))
  start = time.perf_counter()
  truth = synthetic.generate(_OUT.value, config, seed=_SEED.value)
  trials = [t for s in truth["subjects"] for t in s["trials"]]
  kinds = [e["kind"] for t in trials for e in t["expressions"]]
  print(f"wrote {len(truth['subjects'])} subjects, {len(trials)} trials, "
        f"{kinds.count('micro')} MEs and {kinds.count('macro')} macro-expressions to "
        f"{_OUT.value} in {time.perf_counter() - start:.1f} s")


if __name__ == "__main__":
  app.run(main)
