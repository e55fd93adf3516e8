"""The MEGC protocol per type and overall (pooled counts), and its submission files."""

import pytest

from cmcl_jax.spotting import megc
from cmcl_jax.spotting.metrics import Counts


def test_overall_pools_the_counts_not_the_f1s():
  # The MEGC 2020 baseline on CAS(ME)² (its README): TP 130, FP 6428, FN 227 overall.
  micro, macro = Counts(tp=20, fp=3000, fn=37), Counts(tp=110, fp=3428, fn=190)
  overall = megc.pooled([micro, macro])
  assert (overall.tp, overall.fp, overall.fn) == (130, 6428, 227)
  assert overall.f1 == pytest.approx(0.0376, abs=5e-5)
  assert overall.f1 != pytest.approx((micro.f1 + macro.f1) / 2, abs=1e-3)


def test_a_prediction_matches_ground_truth_of_its_own_type_only():
  truth = {"v1": [(10, 20, "micro"), (100, 200, "macro")], "v2": []}
  predictions = {"v1": [(10, 20, "macro"), (100, 199, "macro")], "v2": [(5, 9, "micro")]}
  results = megc.evaluate_by_kind(predictions, truth, {"v1": "s1", "v2": "s2"})
  micro, macro = results["micro"].total, results["macro"].total
  assert (micro.tp, micro.fp, micro.fn) == (0, 1, 1)  # (10, 20) as macro is no micro TP
  assert (macro.tp, macro.fp, macro.fn) == (1, 1, 0)
  overall = results["overall"]
  assert (overall.tp, overall.fp, overall.fn) == (1, 2, 1)
  with pytest.raises(ValueError, match="type 'Micro'"):
    megc.evaluate_by_kind({"v1": [(1, 2, "Micro")]}, truth, {"v1": "s1", "v2": "s2"})


def test_submission_round_trips_and_bad_files_are_named(tmp_path):
  predictions = {"s15_0101": [(300, 340, "macro"), (12, 20, "micro")], "s16_0102": []}
  path = megc.write_submission(tmp_path / "sub" / "mdmd.csv", predictions)
  assert path.read_text().splitlines()[:2] == [
    "vid,pred_onset,pred_offset,type",
    "s15_0101,12,20,micro",
  ]
  assert megc.read_submission(path) == {"s15_0101": [(12, 20, "micro"), (300, 340, "macro")]}
  bad = tmp_path / "bad.csv"
  bad.write_text("vid,pred_onset,pred_offset,type\ns1,12,x,micro\n")
  with pytest.raises(ValueError, match=r"bad\.csv row 2"):
    megc.read_submission(bad)
  bad.write_text("video,onset\n")
  with pytest.raises(ValueError, match="expected \\('vid'"):
    megc.read_submission(bad)
