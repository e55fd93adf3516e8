"""MEGC metrics, the Candidate Clip Filter and proposals, on hand-made cases."""

import numpy as np
import pytest

from cmcl_jax import spotting


def test_paper_table3_counts():
  p, r, f1 = spotting.precision_recall_f1(709, 1893, 1423)
  assert (round(p, 4), round(r, 4), round(f1, 4)) == (0.2725, 0.3326, 0.2995)


def test_undefined_metrics_are_zero():
  assert spotting.precision_recall_f1(0, 0, 0) == (0.0, 0.0, 0.0)
  assert spotting.precision_recall_f1(0, 3, 0) == (0.0, 0.0, 0.0)
  assert spotting.precision_recall_f1(0, 0, 4) == (0.0, 0.0, 0.0)
  with pytest.raises(ValueError):
    spotting.precision_recall_f1(-1, 0, 0)


def test_iou_is_counted_in_inclusive_frames():
  # [0, 9] and [5, 14]: 5 shared frames of 15 → 1/3; [0, 9] and [0, 9] → 1.
  np.testing.assert_allclose(
    spotting.interval_iou([(0, 9)], [(5, 14), (0, 9), (10, 20)]), [[1 / 3, 1.0, 0.0]]
  )
  # [0, 9] vs [0, 4]: 5 / 10 = 0.5 exactly, a true positive at IoU ≥ 0.5.
  assert spotting.match_intervals([(0, 9)], [(0, 4)]).tp == 1
  assert spotting.match_intervals([(0, 9)], [(0, 3)]).tp == 0


def test_each_interval_matched_at_most_once():
  gt = [(100, 150)]
  match = spotting.match_intervals([(100, 150), (101, 151), (300, 320)], gt)
  assert (match.tp, match.fp, match.fn) == (1, 2, 0)
  assert match.pairs[0][:2] == (0, 0)
  # One prediction between two overlapping ground truths counts once.
  match = spotting.match_intervals([(10, 30)], [(10, 30), (12, 32)])
  assert (match.tp, match.fp, match.fn) == (1, 0, 1)


def test_matching_maximises_true_positives():
  # Greedy by IoU would give p0 to g1 (IoU 0.9) and leave g0 unmatched; the maximum
  # matching pairs p0–g0 and p1–g1.
  gt = [(0, 19), (6, 25)]
  pred = [(4, 23), (10, 29)]
  iou = spotting.interval_iou(pred, gt)
  assert iou[0, 1] > iou[0, 0] >= 0.5 and iou[1, 1] >= 0.5 > iou[1, 0]
  assert spotting.match_intervals(pred, gt).tp == 2


def test_empty_inputs_and_bad_intervals():
  assert spotting.match_intervals([], [(1, 5)]) == spotting.Match(0, 0, 1)
  assert spotting.match_intervals([(1, 5)], []) == spotting.Match(0, 1, 0)
  with pytest.raises(ValueError, match=r"pred\[0\].*start ≤ end"):
    spotting.match_intervals([(9, 3)], [(1, 5)])


def test_evaluate_sums_over_trials_and_subjects():
  ground_truth = {"a/1": [(0, 9)], "a/2": [(50, 60), (80, 90)], "b/1": [(5, 10)]}
  predictions = {"a/1": [(0, 9), (30, 40)], "a/2": [(80, 90)]}
  subject_of = {"a/1": "a", "a/2": "a", "b/1": "b"}
  result = spotting.evaluate(predictions, ground_truth, subject_of)
  assert result.total == spotting.Counts(2, 1, 2)
  assert result.per_subject == {"a": spotting.Counts(2, 1, 1), "b": spotting.Counts(0, 0, 1)}
  assert result.per_trial["b/1"].fn == 1
  with pytest.raises(ValueError, match="c/9"):
    spotting.evaluate({"c/9": [(1, 2)]}, ground_truth, subject_of)


def test_ccf_keeps_candidates_above_eta_times_mean():
  hrs = np.ones(100, np.float32)
  hrs[20] = 2.5
  hrs[60] = 1.9
  candidates = [(10, 20, 30), (50, 60, 70), (0, 5, 9)]
  result = spotting.ccf_filter(candidates, hrs, eta=2.0, mean_hrs=1.0)
  np.testing.assert_array_equal(result.kept, [(10, 20, 30)])
  np.testing.assert_array_equal(result.rejected, [(50, 60, 70), (0, 5, 9)])
  np.testing.assert_allclose(result.kept_hrs, [2.5])
  np.testing.assert_allclose(result.rejected_hrs, [1.9, 1.0])
  assert result.threshold == 2.0
  assert len(spotting.ccf_filter(candidates, hrs, eta=1.8, mean_hrs=1.0).kept) == 2
  default_mean = spotting.ccf_filter(candidates, hrs, eta=2.0)
  assert default_mean.threshold == pytest.approx(2 * hrs.mean())
  with pytest.raises(ValueError, match="apex frame 120"):
    spotting.ccf_filter([(110, 120, 130)], hrs)
  assert spotting.ccf_filter(np.zeros((0, 3)), hrs).kept.shape == (0, 3)


def test_proposals_from_window_scores():
  starts = np.arange(0, 900, 15)
  scores = np.full(starts.shape, 0.05)
  scores[starts == 300] = 0.9  # window 300–374, centre 337
  scores[starts == 600] = 0.7  # centre 637
  scores[starts == 615] = 0.6
  curve = spotting.score_curve(starts, scores, window_length=75, num_frames=975)
  assert curve.shape == (975,) and curve.argmax() == 337
  peaks = spotting.propose(
    curve, half_width_frames=37, min_distance_frames=75, threshold=0.5, centre="peak"
  )
  np.testing.assert_array_equal(peaks, [(300, 337, 374), (600, 637, 674)])
  # "run": the midpoint of each above-threshold run; the second run is lopsided.
  runs = spotting.propose(curve, half_width_frames=37, min_distance_frames=75, threshold=0.5)
  above = np.flatnonzero(curve[560:720] >= 0.5) + 560
  middle = (above[0] + above[-1]) // 2
  assert middle != 637
  np.testing.assert_array_equal(runs, [(300, 337, 374), (middle - 37, middle, middle + 37)])
  motion = np.zeros(975)
  motion[345] = 1.0
  with_apex = spotting.propose(
    curve, half_width_frames=37, min_distance_frames=75, threshold=0.5, apex_signal=motion
  )
  assert with_apex[0, 1] == 345
  relative = spotting.propose(
    curve, half_width_frames=37, min_distance_frames=75, relative_threshold=0.8
  )
  assert len(relative) == 1
  with pytest.raises(ValueError, match="centre='middle'"):
    spotting.propose(curve, half_width_frames=37, min_distance_frames=75, centre="middle")


def test_run_centres_closer_than_the_minimum_distance_keep_the_highest():
  curve = np.zeros(400)
  curve[100:111] = 0.6  # run centre 105
  curve[140:151] = 0.9  # run centre 145, 40 frames later
  curve[300:311] = 0.7  # run centre 305
  candidates = spotting.propose(curve, half_width_frames=10, min_distance_frames=75, threshold=0.5)
  np.testing.assert_array_equal(candidates[:, 1], [145, 305])
