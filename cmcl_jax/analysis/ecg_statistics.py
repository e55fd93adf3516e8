"""The paper's statistical question: do heart rate and HR slope at ME apexes differ
from matched non-ME moments of the same trial?

Each ME apex is paired with one control moment drawn from the same trial at least
`exclusion_s` away from every annotated expression, so subject and trial effects
cancel in the paired difference. Per feature the table gives the means, the paired
Wilcoxon signed-rank test (no normality assumed), the paired t-test, Cohen's d_z
(mean difference / SD of differences) and the matched-pairs rank-biserial correlation.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
import scipy.stats


@dataclasses.dataclass(frozen=True)
class PairedResult:
  """One feature's paired comparison, ME apex vs matched control moment."""

  feature: str
  n: int
  me_mean: float
  control_mean: float
  mean_difference: float
  wilcoxon_p: float
  t_p: float
  cohens_dz: float
  rank_biserial: float


def matched_control_times(
  duration_s: float,
  busy: Sequence[tuple[float, float]],
  count: int,
  rng: np.random.Generator,
  exclusion_s: float = 2.0,
  margin_s: float = 1.0,
) -> np.ndarray:
  """`count` control times in [margin, duration − margin], ≥ `exclusion_s` from every
  busy (onset, offset) interval; fewer when the trial has no room (never a fake one)."""
  grid = np.arange(margin_s, duration_s - margin_s, 0.01)
  free = np.ones(grid.shape, bool)
  for onset, offset in busy:
    free &= (grid < onset - exclusion_s) | (grid > offset + exclusion_s)
  candidates = grid[free]
  if not candidates.size:
    return candidates
  return np.sort(rng.choice(candidates, size=min(count, candidates.size), replace=False))


def paired_comparison(
  me_values: np.ndarray, control_values: np.ndarray, names: Sequence[str]
) -> list[PairedResult]:
  """Paired tests per feature column.

  Args:
    me_values: (N, F) feature values at ME apexes.
    control_values: (N, F) values at their matched control moments.
    names: F feature names.
  """
  me_values = np.asarray(me_values, np.float64)
  control_values = np.asarray(control_values, np.float64)
  if me_values.shape != control_values.shape or me_values.shape[1] != len(names):
    raise ValueError(
      f"me_values {me_values.shape}, control_values {control_values.shape} "
      f"and {len(names)} names disagree"
    )
  results = []
  for column, name in enumerate(names):
    me, control = me_values[:, column], control_values[:, column]
    keep = np.isfinite(me) & np.isfinite(control)
    me, control = me[keep], control[keep]
    difference = me - control
    n = int(difference.size)
    if n < 2 or not np.any(difference):
      results.append(
        PairedResult(
          name,
          n,
          _mean(me),
          _mean(control),
          _mean(difference),
          float("nan"),
          float("nan"),
          0.0,
          0.0,
        )
      )
      continue
    wilcoxon = scipy.stats.wilcoxon(me, control)
    t_test = scipy.stats.ttest_rel(me, control)
    sd = difference.std(ddof=1)
    ranks = scipy.stats.rankdata(np.abs(difference[difference != 0]))
    signs = np.sign(difference[difference != 0])
    rank_biserial = float((ranks * signs).sum() / ranks.sum())
    results.append(
      PairedResult(
        name,
        n,
        _mean(me),
        _mean(control),
        _mean(difference),
        float(wilcoxon.pvalue),
        float(t_test.pvalue),
        float(difference.mean() / sd) if sd > 0 else 0.0,
        rank_biserial,
      )
    )
  return results


def markdown_table(results: Sequence[PairedResult]) -> str:
  """The results as a Markdown table."""
  lines = [
    "| feature | n | ME apex | control | difference | Wilcoxon p | t-test p | d_z | r_rb |",
    "|---|---|---|---|---|---|---|---|---|",
  ]
  for r in results:
    lines.append(
      f"| {r.feature} | {r.n} | {r.me_mean:.3f} | {r.control_mean:.3f} | "
      f"{r.mean_difference:+.3f} | {r.wilcoxon_p:.2g} | {r.t_p:.2g} | "
      f"{r.cohens_dz:+.2f} | {r.rank_biserial:+.2f} |"
    )
  return "\n".join(lines)


def _mean(values: np.ndarray) -> float:
  return float(values.mean()) if values.size else float("nan")
