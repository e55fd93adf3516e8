"""Table 3 over several seeds: mean, spread, and whether the paper's claims hold.

One seed of a 4-subject synthetic MECG holds ~50 MEs, so differences of a few true
positives are noise. `seed_rows` summarises each variant's precision, recall and F1
over seeds (mean, sample standard deviation, min, max, and each seed's value);
`claims` checks, seed by seed, the two claims of the paper's ablation: the fusion beats
each single modality (F1), and the CCF raises precision.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from cmcl_jax.analysis import figures

METRICS = ("precision", "recall", "f1")


def seed_rows(tables: Mapping[int, Sequence[Mapping]]) -> list[dict]:
  """One row per variant: `<metric>_mean`, `_sd`, `_min`, `_max`, and `f1_seed<N>`.

  Args:
    tables: seed → Table 3 rows (`report.ablation_rows`), same variants per seed.
  """
  seeds = sorted(tables)
  variants = [row["variant"] for row in tables[seeds[0]]]
  rows = []
  for variant in variants:
    per_seed = {seed: next(r for r in tables[seed] if r["variant"] == variant) for seed in seeds}
    row = {"variant": variant, "seeds": len(seeds)}
    for metric in METRICS:
      values = np.array([per_seed[s][metric] for s in seeds], np.float64)
      row[f"{metric}_mean"] = float(values.mean())
      row[f"{metric}_sd"] = float(values.std(ddof=1)) if len(values) > 1 else 0.0
      row[f"{metric}_min"] = float(values.min())
      row[f"{metric}_max"] = float(values.max())
    row.update({f"f1_seed{s}": float(per_seed[s]["f1"]) for s in seeds})
    row["tp_fp_fn"] = " / ".join(
      f"{sum(per_seed[s][k] for s in seeds)}" for k in ("tp", "fp", "fn")
    )
    rows.append(row)
  return rows


def claims(tables: Mapping[int, Sequence[Mapping]], names: Mapping[str, str]) -> list[dict]:
  """Per claim: on how many seeds it holds, and the paired differences.

  Args:
    tables: seed → Table 3 rows.
    names: variant key → the row's name, for "video", "ecg", "both", "both+ccf".
  """

  def value(seed, key, metric):
    return next(r[metric] for r in tables[seed] if r["variant"] == names[key])

  checks = (
    ("video + ECG beats video only (F1)", "both", "video", "f1"),
    ("video + ECG beats ECG only (F1)", "both", "ecg", "f1"),
    ("CCF raises precision (video + ECG + CCF vs video + ECG)", "both+ccf", "both", "precision"),
    ("video + ECG + CCF beats video only (F1)", "both+ccf", "video", "f1"),
  )
  seeds = sorted(tables)
  out = []
  for text, better, worse, metric in checks:
    differences = np.array([value(s, better, metric) - value(s, worse, metric) for s in seeds])
    out.append(
      {
        "claim": text,
        "holds_on": f"{int((differences > 0).sum())}/{len(seeds)} seeds",
        "difference_mean": float(differences.mean()),
        "difference_min": float(differences.min()),
        "difference_max": float(differences.max()),
      }
    )
  return out


def plot_seed_study(tables: Mapping[int, Sequence[Mapping]]) -> "figures.plt.Figure":
  """F1 and precision per variant: one dot per seed, bar = mean, line = ± sd."""
  rows = seed_rows(tables)
  seeds = sorted(tables)
  figure, axes = figures.plt.subplots(1, 2, figsize=(11, 3.8), sharey=True)
  positions = np.arange(len(rows))
  for axis, metric in zip(axes, ("f1", "precision")):
    means = [r[f"{metric}_mean"] for r in rows]
    sds = [r[f"{metric}_sd"] for r in rows]
    axis.bar(positions, means, 0.6, yerr=sds, capsize=4, color="lightgray", edgecolor="black")
    for seed in seeds:
      values = [next(x for x in tables[seed] if x["variant"] == r["variant"])[metric] for r in rows]
      axis.plot(positions, values, "o", ms=4, label=f"seed {seed}")
    axis.set_xticks(positions, [r["variant"] for r in rows], rotation=25, ha="right", fontsize=8)
    axis.set_title(f"{metric} (bar: mean ± sd over {len(seeds)} seeds)", fontsize=9)
  axes[0].set_ylabel("score")
  axes[1].legend(fontsize=7)
  figure.tight_layout()
  return figure
