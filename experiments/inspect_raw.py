r"""Prints what a raw MECG layout holds, per subject, and everything that is wrong.

  python -m experiments.inspect_raw --root=/tmp/mecg_raw [--check_ecg]

Columns: trials, video minutes, MEs, macro-expressions, problems. `--check_ecg` also
cuts every trial's ECG (marker found, long enough, rate, NaN / flat / saturated runs).
"""

import collections

from absl import app
from absl import flags
from tqdm.auto import tqdm

from cmcl_jax.data import coding
from cmcl_jax.data import layout
from cmcl_jax.data import trial_ecg
from cmcl_jax.data import video_io

_ROOT = flags.DEFINE_string("root", None, "Raw MECG folder.", required=True)
_CODING_FILE = flags.DEFINE_string("coding_file", None, "Coding file (default: found in root).")
_CHECK_ECG = flags.DEFINE_bool("check_ecg", True, "Cut and check every trial's ECG.")
_EXPECTED_RATE = flags.DEFINE_float("expected_ecg_rate", 1000.0, "ECG rate the dataset uses, Hz.")


def inspect(root, coding_file=None, check_ecg=True, expected_rate=1000.0):
  """Returns (rows of the per-subject table, all problems) of a raw layout."""
  raw = layout.discover(root, coding_file)
  problems = list(raw.problems)
  table = collections.defaultdict(lambda: collections.Counter())
  for trial in tqdm(raw.trials, desc="inspect", unit="trial"):
    row = table[trial.subject]
    row["trials"] += 1
    row["MEs"] += sum(e.kind == "micro" for e in trial.expressions)
    row["macro"] += sum(e.kind == "macro" for e in trial.expressions)
    try:
      info = video_io.video_info(trial.video)
    except video_io.VideoError as error:
      problems.append(layout.Problem("video_unreadable", str(trial.video), str(error),
                                     trial.subject))
      continue
    row["minutes"] += info.duration_s / 60
    if check_ecg:
      try:
        problems.extend(trial_ecg.read_trial_ecg(
            trial, info.duration_s, expected_rate=expected_rate).problems)
      except (trial_ecg.TrialEcgError, ValueError) as error:
        problems.append(layout.Problem(getattr(error, "code", "ecg_unreadable"),
                                       str(trial.ecg), str(error), trial.subject))
  per_subject = collections.Counter(p.subject for p in problems)
  rows = [{"subject": s, "trials": c["trials"], "minutes": round(c["minutes"], 1),
           "MEs": c["MEs"], "macro": c["macro"], "problems": per_subject[s]}
          for s, c in sorted(table.items())]
  return raw, rows, problems


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  raw, rows, problems = inspect(_ROOT.value, _CODING_FILE.value, _CHECK_ECG.value,
                                _EXPECTED_RATE.value)
  header = ["subject", "trials", "minutes", "MEs", "macro", "problems"]
  print("| " + " | ".join(header) + " |")
  print("|" + "---|" * len(header))
  for row in rows:
    print("| " + " | ".join(str(row[h]) for h in header) + " |")
  totals = {h: sum(r[h] for r in rows) for h in header[1:]}
  print(f"| all ({len(rows)}) | " + " | ".join(str(round(totals[h], 1)) for h in header[1:]) + " |")
  print(f"\ncoding file {raw.coding_file.name}: {len(raw.findings)} findings "
        f"{coding.summarize_findings(raw.findings)}")
  print(f"{len(problems)} problems")
  for problem in problems:
    print(f"  [{problem.code}] {problem.where}: {problem.message}")


if __name__ == "__main__":
  app.run(main)
