"""SOFTNet's k, pseudo-labels and spotting rule: hand-computed cases and the authors' loops."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import scipy.signal

from cmcl_jax.baselines import softnet_labels as sl

MEGC_GT = Path(__file__).resolve().parents[1].parent / "shared/fixtures/megc_gt"


def test_k_is_half_the_mean_length_rounded_down():
  assert sl.k_from_intervals([(0, 12), (10, 20)]) == 6  # mean 11 → int(12 / 2)
  assert sl.k_from_intervals([(3, 3)]) == 1  # never below one frame
  with pytest.raises(ValueError, match="need at least one expression"):
    sl.k_from_intervals([])
  with pytest.raises(ValueError, match=r"row 1 = \(9, 4\), expected 0 <= onset <= offset"):
    sl.k_from_intervals([(0, 5), (9, 4)])


def test_k_frames_come_from_the_megc_annotations():
  if not MEGC_GT.is_dir():
    pytest.skip(f"MEGC ground truth not found at {MEGC_GT} (shared fixtures absent)")
  xl = pd.ExcelFile(MEGC_GT / "CASME_sq_gt.xlsx")
  cas = xl.parse(xl.sheet_names[0], header=None)
  onset, apex, offset, kind = (cas[i] for i in (2, 3, 4, 7))
  samm = pd.read_excel(MEGC_GT / "SAMMLV_gt.xlsx", header=9)
  for (dataset, expression), k in sl.K_FRAMES.items():
    if dataset == "CASME_sq":
      rows = kind == f"{expression}-expression"
      ends = np.where(offset[rows] == 0, apex[rows], offset[rows])  # offset 0: use the apex
      pairs = np.stack([onset[rows], ends], axis=1) - 1
    else:
      rows = samm["Type"] == ("Micro - 1/2" if expression == "micro" else "Macro")
      rows &= (samm["Onset"].astype(int) != 0) | (expression == "micro")  # as the authors
      ends = np.where(samm["Offset"][rows] == 0, samm["Apex"][rows], samm["Offset"][rows])
      pairs = np.stack([samm["Onset"][rows], ends], axis=1).astype(int) - 1
    assert sl.k_from_intervals(pairs) == k, (dataset, expression)


def test_pseudo_labels_by_hand():
  # T = 20, k = 3: 17 scores; window i covers frames i … i + 2, the expression counts
  # as frames 6 … 8, so scores 4 … 8 overlap it.
  labels = sl.pseudo_labels(20, [(5, 8)], k=3)
  assert labels.shape == (17,) and labels.dtype == np.float32
  np.testing.assert_array_equal(np.flatnonzero(labels), [4, 5, 6, 7, 8])
  assert not sl.pseudo_labels(20, [(5, 5)], k=3).any()  # no frame after the onset
  assert not sl.pseudo_labels(20, [], k=3).any()
  assert sl.pseudo_labels(2, [(0, 1)], k=3).shape == (0,)
  with pytest.raises(ValueError, match="num_frames: expected an int >= 0"):
    sl.pseudo_labels(-1, [], k=3)


def authors_pseudo_labels(num_frames, intervals, k):
  """The authors' loop: 1 where the window's IoU with frames onset + 1 … offset > 0."""
  labels = [0] * (num_frames - k)
  for onset, offset in intervals:
    truth = np.arange(onset + 1, offset + 1)
    for i in range(len(labels)):
      window = np.arange(i, i + k)
      if labels[i] < len(np.intersect1d(window, truth)) / len(np.union1d(window, truth)):
        labels[i] = 1
  return np.array(labels, np.float32)


def test_pseudo_labels_match_the_authors_loop():
  rng = np.random.default_rng(0)
  for _ in range(20):
    k = int(rng.integers(1, 8))
    onsets = rng.integers(0, 60, size=3)
    intervals = [(int(a), int(a + rng.integers(0, 15))) for a in onsets]
    np.testing.assert_array_equal(
      sl.pseudo_labels(70, intervals, k), authors_pseudo_labels(70, intervals, k)
    )


def test_aggregate_and_spotting_by_hand():
  np.testing.assert_allclose(sl.aggregate_scores(np.arange(10.0), 2), np.arange(6) + 1.5)
  assert sl.aggregate_scores(np.ones(4), 2).shape == (0,)
  # k = 2: the aggregate is 0, .25, .5, .75, 1, .75, .5, .25 (mean .5), the threshold
  # .5 + .55 × (1 − .5) = .775, one peak at entry 4 = frame 6: the interval 4 … 8.
  scores = np.array([0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0], np.float64)
  assert sl.threshold_of(sl.aggregate_scores(scores, 2)) == pytest.approx(0.775)
  np.testing.assert_array_equal(sl.spot_intervals(scores, 2), [[4, 6, 8]])
  assert sl.spot_intervals(scores, 2, threshold=1.5).shape == (0, 3)
  assert sl.spot_intervals(scores[:4], 2).shape == (0, 3)


def authors_spotting(scores, k, p):
  """The authors' aggregation loop, threshold and peaks, back in frame coordinates."""
  agg = scores.copy()
  for x in range(len(scores[k:-k])):
    agg[x + k] = scores[x : x + 2 * k].mean()
  agg = agg[k:-k]
  threshold = agg.mean() + p * (max(agg) - agg.mean())
  peaks, _ = scipy.signal.find_peaks(agg, height=threshold, distance=k)
  # They compare [peak − k, peak + k] with ground truth shifted by −k frames.
  return [(peak, peak + 2 * k) for peak in peaks]


def test_spotting_matches_the_authors_loop():
  rng = np.random.default_rng(1)
  for k in (1, 3, 6, 18):
    scores = np.convolve(rng.random(400), np.ones(5) / 5, mode="same")
    ours = sl.spot_intervals(scores, k)
    assert [tuple(r) for r in ours[:, [0, 2]]] == authors_spotting(scores, k, 0.55)
    np.testing.assert_array_equal(ours[:, 1], ours[:, 0] + k)


def test_frame_curve_places_the_aggregate_at_its_frames():
  scores = np.array([0, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0, 0], np.float64)  # T = 14, k = 2
  curve = sl.frame_curve(scores, 2, 14)
  assert curve.shape == (14,) and curve.dtype == np.float32
  np.testing.assert_allclose(curve[2:10], sl.aggregate_scores(scores, 2))
  assert (curve[:2] == 0).all() and (curve[10:] == 0).all()
  assert int(np.argmax(curve)) == 6  # the apex of the spotted interval
  with pytest.raises(ValueError, match="expected T − k = 15 − 2 entries, got 12"):
    sl.frame_curve(scores, 2, 15)
