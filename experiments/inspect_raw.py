r"""Prints what a raw MECG layout holds, per subject, and everything that is wrong.

  python -m experiments.inspect_raw --root=/tmp/mecg_raw [--nocheck_ecg]

Columns: trials, video minutes, MEs, macro-expressions, problems. By default every
trial's ECG is also cut and checked (marker found, long enough, rate, NaN / flat /
saturated runs); takes seconds for the demo layout.
"""

import math

from absl import app
from absl import flags

from cmcl_jax.data import coding
from cmcl_jax.data import coding_checks
from cmcl_jax.data import layout
from cmcl_jax.data import summary
from experiments import cli

_ROOT = flags.DEFINE_string("root", None, "Raw MECG folder.", required=True)
_CODING_FILE = flags.DEFINE_string("coding_file", None, "Coding file (default: found in root).")
_CHECK_ECG = flags.DEFINE_bool("check_ecg", True, "Cut and check every trial's ECG.")
_EXPECTED_RATE = flags.DEFINE_float("expected_ecg_rate", 1000.0, "ECG rate the dataset uses, Hz.")


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  rate = _EXPECTED_RATE.value
  if not (math.isfinite(rate) and rate > 0):
    raise app.UsageError(f"--expected_ecg_rate={rate}: expected a sampling rate in Hz > 0")
  try:
    raw, rows, problems = summary.summarize_layout(
      _ROOT.value, _CODING_FILE.value, _CHECK_ECG.value, rate
    )
  except (layout.LayoutError, coding.CodingFileError) as error:
    raise app.UsageError(str(error)) from None
  print(summary.markdown_table(rows))
  print(
    f"\ncoding file {raw.coding_file.name}: {len(raw.findings)} findings "
    f"{coding_checks.summarize_findings(raw.findings)}"
  )
  print(f"{len(problems)} problems")
  for problem in problems:
    print(f"  [{problem.code}] {problem.where}: {problem.message}")


if __name__ == "__main__":
  cli.run(main)
