"""Paired ME-vs-control statistics on constructed data with known answers."""

import numpy as np
import pytest

from cmcl_jax.analysis import ecg_statistics


def test_detects_a_planted_difference_and_not_a_null_one():
  rng = np.random.default_rng(0)
  control = rng.normal(1.0, 0.5, (40, 2))
  me = control + np.stack([rng.normal(1.0, 0.5, 40), rng.normal(0.0, 0.5, 40)], axis=1)
  shifted, null = ecg_statistics.paired_comparison(me, control, ["hrs", "hr"])
  assert shifted.wilcoxon_p < 1e-5 and shifted.cohens_dz > 1.2 and shifted.rank_biserial > 0.8
  assert null.wilcoxon_p > 0.05 and abs(null.cohens_dz) < 0.4
  assert shifted.n == 40 and shifted.mean_difference == pytest.approx(
    (me[:, 0] - control[:, 0]).mean()
  )
  table = ecg_statistics.markdown_table([shifted, null])
  assert table.count("\n") == 3 and "| hrs | 40 |" in table


def test_identical_values_give_no_effect_and_nan_p():
  values = np.ones((5, 1))
  (result,) = ecg_statistics.paired_comparison(values, values, ["hr"])
  assert result.cohens_dz == 0.0 and np.isnan(result.wilcoxon_p)


def test_control_times_avoid_expressions():
  rng = np.random.default_rng(1)
  busy = [(5.0, 5.4), (12.0, 13.5)]
  times = ecg_statistics.matched_control_times(30.0, busy, 20, rng, exclusion_s=2.0)
  assert len(times) == 20 and np.all((times >= 1.0) & (times <= 29.0))
  for onset, offset in busy:
    assert np.all((times < onset - 2.0) | (times > offset + 2.0))
  assert ecg_statistics.matched_control_times(4.0, [(1.0, 3.0)], 3, rng).size == 0
