"""Table 3 over several seeds: mean, spread, and whether the paper's claims hold.

One seed of a 4-subject synthetic MECG holds ~50 MEs, so differences of a few true
positives are noise. `seed_rows` summarises each variant's precision, recall and F1
over seeds (mean, sample standard deviation, min, max, and each seed's value);
`claims` checks, seed by seed, the claims of the paper's ablation (the fusion beats
each single modality, the CCF raises precision) and the guarantees this project
makes (the CCF with η chosen in fold does not lower F1), each with a 95 % bootstrap
interval of the paired difference over subjects: every replicate redraws each seed's
held-out subjects with replacement, sums both variants' counts over the drawn
subjects, and averages the per-seed differences.
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


CLAIMS = (
  ("video + ECG beats video only (F1)", "both", "video", "f1", 0.0),
  ("video + ECG beats ECG only (F1)", "both", "ecg", "f1", 0.0),
  # The fused spotter's training without the ECG: what the heart adds at equal budget.
  (
    "video + ECG beats video with its classifier retrained as long (F1)",
    "both",
    "video_retrained",
    "f1",
    0.0,
  ),
  ("video + ECG beats the paper's fusion (F1)", "both", "paper", "f1", 0.0),
  ("CCF raises precision (video + ECG + CCF vs video + ECG)", "both+ccf", "both", "precision", 0.0),
  ("video + ECG + CCF beats video only (F1)", "both+ccf", "video", "f1", 0.0),
  (
    "CCF with η chosen in fold keeps F1 (vs video + ECG, within 0.02)",
    "both+ccf_chosen",
    "both",
    "f1",
    -0.02,
  ),
)
"""(claim, better variant key, worse variant key, metric, margin): a seed supports
the claim when better − worse > margin (≥ for a negative margin: "keeps within");
a claim whose variants a study did not run is left out."""
BOOTSTRAP_REPLICATES = 2000


def _metric(tp, fp, fn, metric: str):
  """Precision, recall or F1 of (arrays of) summed counts; 0 where undefined."""
  tp, fp, fn = (np.asarray(x, np.float64) for x in (tp, fp, fn))
  precision = np.divide(tp, tp + fp, out=np.zeros_like(tp), where=tp + fp > 0)
  recall = np.divide(tp, tp + fn, out=np.zeros_like(tp), where=tp + fn > 0)
  if metric == "precision":
    return precision
  if metric == "recall":
    return recall
  total = precision + recall
  return np.divide(2 * precision * recall, total, out=np.zeros_like(tp), where=total > 0)


def bootstrap_interval(
  per_subject: Mapping[int, Mapping[str, Mapping[str, Mapping]]],
  better: str,
  worse: str,
  metric: str,
  replicates: int = BOOTSTRAP_REPLICATES,
  seed: int = 0,
) -> tuple[float, float]:
  """95 % percentile interval of the seed-averaged paired difference (module docstring).

  Args:
    per_subject: seed → row name → subject → {"tp", "fp", "fn"}.
    better, worse: row names.
    metric: "precision", "recall" or "f1".
  """
  rng = np.random.default_rng(seed)
  differences = np.zeros(replicates)
  for study_seed in sorted(per_subject):
    rows = per_subject[study_seed]
    subjects = sorted(rows[better])
    counts = {
      name: np.array([[rows[name][s][k] for k in ("tp", "fp", "fn")] for s in subjects])
      for name in (better, worse)
    }
    drawn = rng.integers(0, len(subjects), size=(replicates, len(subjects)))
    values = {
      name: _metric(*np.moveaxis(c[drawn].sum(axis=1), -1, 0), metric) for name, c in counts.items()
    }
    differences += values[better] - values[worse]
  differences /= len(per_subject)
  low, high = np.percentile(differences, [2.5, 97.5])
  return float(low), float(high)


def claims(
  tables: Mapping[int, Sequence[Mapping]],
  names: Mapping[str, str],
  per_subject: Mapping[int, Mapping[str, Mapping]] | None = None,
) -> list[dict]:
  """Per claim: on how many seeds it holds, the paired differences, and (with
  `per_subject`) their 95 % bootstrap interval over subjects.

  Args:
    tables: seed → Table 3 rows.
    names: variant key → the row's name (`report.variant_names`).
    per_subject: seed → row name → subject → counts (`report.write_report`'s
      "per_subject"), or None for no intervals.
  """
  seeds = sorted(tables)

  def value(seed, key, metric):
    return next(r[metric] for r in tables[seed] if r["variant"] == names[key])

  def present(key):
    return key in names and all(any(r["variant"] == names[key] for r in tables[s]) for s in seeds)

  out = []
  for text, better, worse, metric, margin in CLAIMS:
    if not (present(better) and present(worse)):
      continue
    differences = np.array([value(s, better, metric) - value(s, worse, metric) for s in seeds])
    holds = differences > margin if margin >= 0 else differences >= margin
    record = {
      "claim": text,
      "holds_on": f"{int(holds.sum())}/{len(seeds)} seeds",
      "difference_mean": float(differences.mean()),
      "difference_min": float(differences.min()),
      "difference_max": float(differences.max()),
    }
    if per_subject is not None:
      low, high = bootstrap_interval(per_subject, names[better], names[worse], metric)
      subjects = sum(len(per_subject[s][names[better]]) for s in seeds)
      record.update(ci95_low=low, ci95_high=high, subjects=subjects)
    out.append(record)
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
