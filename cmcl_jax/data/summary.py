"""A per-subject summary of a raw MECG layout and everything wrong with it."""

from __future__ import annotations

import collections

from tqdm.auto import tqdm

from cmcl_jax.data import layout
from cmcl_jax.data import trial_ecg
from cmcl_jax.data import video_io

COLUMNS = ("subject", "trials", "minutes", "MEs", "macro", "problems")


def summarize_layout(
  root,
  coding_file=None,
  check_ecg: bool = True,
  expected_rate: float = 1000.0,
  progress: bool = True,
):
  """Reads every trial's header (and ECG, with `check_ecg`) of a raw layout.

  Returns:
    (raw layout, rows, problems): one dict per subject with the `COLUMNS` keys
    (minutes of video, ME and macro-expression counts, problem count), and every
    problem found: discovery's, unreadable videos, and each trial's ECG problems
    (marker missing, ECG too short, rate mismatch, NaN / flat / saturated runs).
  """
  raw = layout.discover(root, coding_file)
  problems = list(raw.problems)
  table = collections.defaultdict(collections.Counter)
  for trial in tqdm(raw.trials, desc="inspect", unit="trial", disable=not progress):
    row = table[trial.subject]
    row["trials"] += 1
    row["MEs"] += sum(e.kind == "micro" for e in trial.expressions)
    row["macro"] += sum(e.kind == "macro" for e in trial.expressions)
    try:
      info = video_io.video_info(trial.video)
    except video_io.VideoError as error:
      problems.append(
        layout.Problem("video_unreadable", str(trial.video), str(error), trial.subject)
      )
      continue
    row["minutes"] += info.duration_s / 60
    if check_ecg:
      try:
        problems.extend(
          trial_ecg.read_trial_ecg(trial, info.duration_s, expected_rate=expected_rate).problems
        )
      except ValueError as error:  # TrialEcgError, EcgFileError
        problems.append(
          layout.Problem(
            getattr(error, "code", "ecg_unreadable"), str(trial.ecg), str(error), trial.subject
          )
        )
  per_subject = collections.Counter(p.subject for p in problems)
  rows = [
    {
      "subject": s,
      "trials": c["trials"],
      "minutes": c["minutes"],
      "MEs": c["MEs"],
      "macro": c["macro"],
      "problems": per_subject[s],
    }
    for s, c in sorted(table.items())
  ]
  return raw, rows, problems


def markdown_table(rows) -> str:
  """The summary rows as a Markdown table with a totals line."""
  lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
  lines += ["| " + " | ".join(_cell(row[c]) for c in COLUMNS) + " |" for row in rows]
  totals = [_cell(sum(r[c] for r in rows)) for c in COLUMNS[1:]]
  lines.append(f"| all ({len(rows)}) | " + " | ".join(totals) + " |")
  return "\n".join(lines)


def _cell(value) -> str:
  return f"{value:.1f}" if isinstance(value, float) else str(value)
