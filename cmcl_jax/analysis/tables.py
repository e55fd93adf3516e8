"""Result tables (the paper's Table 3 analogue, η sweeps) as Markdown, CSV and JSON."""

from __future__ import annotations

import csv
import json
from collections.abc import Mapping, Sequence
from pathlib import Path

from cmcl_jax.spotting.metrics import Counts

COLUMNS = ("tp", "fp", "fn", "precision", "recall", "f1")


def counts_rows(counts: Mapping, key: str) -> list[dict]:
  """One row per entry: `{key: name, tp, fp, fn, precision, recall, f1}`."""
  return [{key: name, **value.as_dict()} for name, value in counts.items()]


def markdown(rows: Sequence[Mapping], columns: Sequence[str]) -> str:
  """A Markdown table; floats with 4 decimals."""

  def cell(value):
    return f"{value:.4f}" if isinstance(value, float) else str(value)

  lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
  lines += ["| " + " | ".join(cell(row.get(c, "")) for c in columns) + " |" for row in rows]
  return "\n".join(lines)


def write_table(
  rows: Sequence[Mapping], out_dir, stem: str, columns: Sequence[str] | None = None
) -> list[Path]:
  """Writes `<stem>.md`, `<stem>.csv` and `<stem>.json`; returns the paths."""
  out_dir = Path(out_dir)
  out_dir.mkdir(parents=True, exist_ok=True)
  columns = list(columns or rows[0].keys())
  paths = [out_dir / f"{stem}.{suffix}" for suffix in ("md", "csv", "json")]
  paths[0].write_text(markdown(rows, columns) + "\n")
  with paths[1].open("w", newline="") as file:
    writer = csv.DictWriter(file, fieldnames=columns, extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
  paths[2].write_text(json.dumps(list(rows), indent=1))
  return paths


def sum_counts(counts: Sequence[Counts]) -> Counts:
  """Counts summed over folds (MEGC sums TP/FP/FN before computing P, R, F1)."""
  return sum(counts, Counts())
