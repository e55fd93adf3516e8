"""MDMD and SOFTNet as spotters of the harness on a tiny synthetic MECG: raw videos
found for the built trials, face crops, intervals mapped back to video frames."""

import numpy as np
import pytest

from cmcl_jax.baselines import face_crops
from cmcl_jax.data import trials
from cmcl_jax.experiment import methods
from cmcl_jax.experiment.spotter import Fold
from cmcl_jax.spotting import ScoredTrial, candidates_of
from experiments.configs import loso_synthetic


def _config(raw, data_dir):
  config = loso_synthetic.get_config("runlocal")
  config.data.raw_dir, config.data.data_dir = str(raw), str(data_dir)
  return config


def test_every_built_trial_has_its_raw_video(tiny_built):
  raw, _, builder, _ = tiny_built
  videos = face_crops.trial_videos(raw)
  split = "+".join(builder.info.splits.keys())
  for info in trials.load_trials(builder, split):
    assert videos[info.trial].exists(), info.trial
  with pytest.raises(FileNotFoundError, match="data.raw_dir is empty"):
    face_crops.trial_videos("")


def test_face_crops_of_a_synthetic_video(tiny_built):
  raw, _, builder, _ = tiny_built
  info = trials.load_trials(builder, sorted(builder.info.splits.keys())[0])[0]
  crops = face_crops.read_face_crops(face_crops.trial_videos(raw)[info.trial], 64)
  assert crops.frames.shape == (info.frame_count, 64, 64) and crops.frames.dtype == np.uint8
  assert crops.landmarks.shape == (68, 2) and (crops.landmarks >= 0).all()
  assert crops.fps == info.fps and crops.first_face == 0 and crops.step == 1
  every_third = face_crops.read_face_crops(face_crops.trial_videos(raw)[info.trial], 64, step=3)
  np.testing.assert_array_equal(every_third.frames, crops.frames[::3])
  np.testing.assert_array_equal(every_third.landmarks, crops.landmarks)
  assert every_third.box == crops.box and every_third.step == 3
  # Several videos at a time (dlib's models are shared by the threads): the same crops.
  video = face_crops.trial_videos(raw)[info.trial]
  side_by_side = face_crops.each_video(
    lambda _: face_crops.read_face_crops(video, 64, step=3).frames, range(6), workers=3
  )
  for frames in side_by_side:
    np.testing.assert_array_equal(frames, every_third.frames)


def test_each_video_keeps_order_and_returns_face_crop_errors_in_place():
  def compute(i):
    if i == 2:
      raise face_crops.FaceCropError(f"video {i}: no face")
    return np.full(3, i)

  for workers in (1, 2, 3):
    out = face_crops.each_video(compute, range(5), workers)
    assert isinstance(out[2], face_crops.FaceCropError) and "video 2" in str(out[2])
    assert [int(o[0]) for k, o in enumerate(out) if k != 2] == [0, 1, 3, 4]

  def broken(i):
    raise OSError(f"disk gone at {i}")

  with pytest.raises(OSError, match="disk gone"):
    face_crops.each_video(broken, range(3), 2)
  with pytest.raises(ValueError, match="workers=0"):
    face_crops.each_video(compute, range(3), 0)


def test_cached_arrays_are_written_whole_and_read_back(tmp_path):
  video = tmp_path / "trial.avi"
  calls = []
  compute = lambda: calls.append(1) or np.arange(4.0)
  first = face_crops.cached(tmp_path / "cache", video, [5, "dis"], compute)
  again = face_crops.cached(tmp_path / "cache", video, [5, "dis"], compute)
  np.testing.assert_array_equal(first, again)
  assert len(calls) == 1
  assert [f.name for f in (tmp_path / "cache").iterdir() if "partial" in f.name] == []
  face_crops.cached(tmp_path / "cache", video, [6, "dis"], compute)  # another key: computed
  assert len(calls) == 2


def test_analysis_frames_map_back_to_video_frames():
  assert face_crops.frame_step(150.0, 30.0) == 5
  with pytest.raises(ValueError, match="no whole multiple"):
    face_crops.frame_step(150.0, 40.0)
  with pytest.raises(ValueError, match="expected 0 < fps"):
    face_crops.frame_step(30.0, 60.0)
  intervals = face_crops.to_video_intervals(np.array([[2, 3, 4], [8, 9, 9]]), 5, 48)
  np.testing.assert_array_equal(intervals, [[10, 15, 24], [40, 45, 47]])
  curve = face_crops.to_video_curve(np.array([1.0, 2.0, 3.0]), 5, 17)
  np.testing.assert_array_equal(curve, [1] * 5 + [2] * 5 + [3] * 7)


def test_mdmd_spotter_gives_intervals_the_harness_uses(tiny_built, tmp_path):
  raw, _, builder, data_dir = tiny_built
  config = _config(raw, data_dir)
  spotter = methods.make_spotter("mdmd", config)
  subject = sorted(builder.info.splits.keys())[0]
  fold = Fold(subject, "", builder, tmp_path / "fold", tmp_path / "cache")
  assert spotter.fit(fold)
  scored = spotter.score(fold, subject)
  assert len(scored) == len(trials.load_trials(builder, subject))
  assert list(fold.cache_dir.glob("*.npy"))  # the MDMD scores, kept for other folds
  for trial, candidates in zip(scored, candidates_of(scored, spotter.spotting)):
    np.testing.assert_array_equal(candidates.candidates, trial.intervals["micro"])
    assert trial.curves["micro"].shape == (trial.info.frame_count,)
  again = spotter.score(fold, subject)  # from the cache
  for a, b in zip(scored, again):
    np.testing.assert_array_equal(a.intervals["micro"], b.intervals["micro"])


def test_bad_baseline_entries_are_refused(tiny_built):
  raw, _, _, data_dir = tiny_built
  config = _config(raw, data_dir)
  config.spotters.softnet.flow = "rlof"
  with pytest.raises(ValueError, match="spotters.softnet.flow='rlof'"):
    methods.make_spotter("softnet", config)
  config.spotters.mdmd.spotting.choose_threshold = True
  with pytest.raises(ValueError, match="MDMD has its own threshold"):
    methods.make_spotter("mdmd", config)


def test_intervals_outside_the_trial_are_refused(tiny_built):
  _, _, builder, _ = tiny_built
  info = trials.load_trials(builder, sorted(builder.info.splits.keys())[0])[0]
  curve = np.zeros(info.frame_count, np.float32)
  with pytest.raises(ValueError, match="onset ≤ apex ≤ offset"):
    ScoredTrial(info, {"micro": curve}, {"micro": np.array([[5, 3, 9]])})
  with pytest.raises(ValueError, match="onset ≤ apex ≤ offset"):
    ScoredTrial(info, {"micro": curve}, {"micro": np.array([[5, 6, info.frame_count]])})
