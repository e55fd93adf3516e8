"""The synthetic MECG holds the signal it claims to plant, and nothing is too easy."""

import dataclasses
import json

import numpy as np
import pytest

from cmcl_jax import ecg
from cmcl_jax import video
from cmcl_jax.data import coding
from cmcl_jax.data import ecg_io
from cmcl_jax.data import layout
from cmcl_jax.data import pseudonyms, synthetic
from cmcl_jax.data import trial_ecg
from cmcl_jax.data import video_io
from cmcl_jax.data.coding_checks import summarize_findings, validate_expressions
from cmcl_jax.data.synthetic import faces
from cmcl_jax.data.synthetic import schedule


def _trials(truth):
  return {t["video"].split("/")[-1][:-4]: t for s in truth["subjects"] for t in s["trials"]}


def test_same_seed_same_layout(tiny_raw, tmp_path):
  root, truth = tiny_raw
  config = synthetic.preset("tiny", num_subjects=1)
  first = synthetic.generate(tmp_path / "a", config, seed=0, progress=False)
  again = synthetic.generate(tmp_path / "b", config, seed=0, progress=False)
  other = synthetic.generate(tmp_path / "c", config, seed=1, progress=False)
  assert json.dumps(first) == json.dumps(again) != json.dumps(other)
  video_a = next((tmp_path / "a" / "videos").rglob("*.avi")).read_bytes()
  video_b = next((tmp_path / "b" / "videos").rglob("*.avi")).read_bytes()
  assert video_a == video_b
  # The dataset built from it gets the same subject ids (so the same folds) every time.
  ids = {
    name: pseudonyms.Pseudonyms.load_or_create(tmp_path / name, ["subj01"]).ids
    for name in ("a", "b", "c")
  }
  assert ids["a"] == ids["b"] != ids["c"]


def test_coding_file_matches_ground_truth_and_paper_rule(tiny_raw):
  root, truth = tiny_raw
  rows = coding.read_coding_file(root / "coding_file.xlsx")
  planted = [e for t in _trials(truth).values() for e in t["expressions"]]
  assert len(rows) == len(planted) > 10
  assert {e.kind for e in rows} == {"micro", "macro"} or {e.kind for e in rows} == {"micro"}
  for row in rows:
    assert row.kind == coding.expression_kind(row.onset_s, row.apex_s, row.offset_s)
    if row.kind == "micro":
      assert row.offset_s - row.onset_s <= 0.5
  assert summarize_findings(validate_expressions(rows))["stamp_duration_mismatch"] == 0


def test_r_peaks_found_by_neurokit_match_planted_beats(tiny_raw):
  root, truth = tiny_raw
  for subject in truth["subjects"]:
    recording = ecg_io.read_recording(root / subject["ecg"])
    planted = np.load(root / "ground_truth" / f"{subject['subject']}_heart.npz")["beats_s"]
    times = np.arange(0, recording.duration_s, 0.01)
    found = ecg.heart_rate(recording.ecg, recording.sampling_rate, times).r_peaks_s
    nearest_found = np.abs(planted[:, None] - found[None, :]).min(axis=1)
    nearest_planted = np.abs(found[:, None] - planted[None, :]).min(axis=1)
    sensitivity = np.mean(nearest_found <= 0.010)
    ppv = np.mean(nearest_planted <= 0.010)
    assert sensitivity >= 0.99 and ppv >= 0.99, (subject["subject"], sensitivity, ppv)


def test_hr_slope_is_high_at_responding_apexes_only(tiny_raw):
  root, truth = tiny_raw
  planted = _trials(truth)
  responding, silent = [], []
  for trial in layout.discover(root).trials:
    cut = trial_ecg.read_trial_ecg(trial, 10.0, pad_s=3.0)
    frame_times = np.arange(1500) / 150.0
    hr = ecg.heart_rate(cut.ecg, cut.sampling_rate, frame_times - cut.start_s)
    trial_mean = ecg.mean_hrs(hr)
    for e in planted[trial.name]["expressions"]:
      ratio = ecg.hrs_at(hr, e["apex_s"] - cut.start_s) / trial_mean
      (responding if e["hr_response"] else silent).append(ratio)
  assert len(responding) >= 5 and len(silent) >= 2
  assert np.mean(responding) > 1.8, responding
  assert np.mean(responding) > 1.5 * np.mean(silent), (responding, silent)


def test_flow_peaks_at_mes_and_at_distractors_alike(tiny_raw):
  root, truth = tiny_raw
  planted = _trials(truth)
  rng = np.random.default_rng(0)
  motion = {"micro": [], "blink": [], "quiet": []}
  for trial in layout.discover(root).trials:
    frames = list(video_io.iter_frames(trial.video, grayscale=True))
    x, y, w, h = video.track_face(frames, fps=150.0).boxes[0]

    def peak_motion(a, b):
      flow = video.optical_flow(
        [frames[a][y : y + h, x : x + w], frames[b][y : y + h, x : x + w]],
        method="dis",
        size=(64, 64),
      )[0]
      flow = flow - np.median(flow.reshape(-1, 2), axis=0)
      return np.percentile(video.flow_magnitude(flow), 99)

    p = planted[trial.name]
    for e in p["expressions"]:
      if e["kind"] == "micro":
        motion["micro"].append(peak_motion(e["onset_frame"], e["apex_frame"]))
    for d in p["distractors"]:
      if d["kind"] == "blink":
        motion["blink"].append(
          peak_motion(d["start_frame"], (d["start_frame"] + d["end_frame"]) // 2)
        )
    busy = [(e["onset_frame"], e["offset_frame"]) for e in p["expressions"] + p["twitches"]] + [
      (d["start_frame"], d["end_frame"]) for d in p["distractors"]
    ]
    for a in rng.integers(0, len(frames) - 30, 12):
      if all(a + 25 < start - 75 or a > end + 75 for start, end in busy):
        motion["quiet"].append(peak_motion(a, a + 25))
  quiet = np.median(motion["quiet"])
  assert len(motion["quiet"]) >= 5 and len(motion["blink"]) >= 2
  assert np.median(motion["micro"]) > 1.8 * quiet, motion
  assert np.median(motion["blink"]) > 1.8 * quiet, motion


def test_a_twitch_renders_exactly_like_the_same_me():
  rng = np.random.default_rng(0)
  face = faces.make_face(96, 96, rng)
  me = schedule.PlannedExpression("micro", 0.2, 0.35, 0.6, ("AU12",), "happy", 2.0, False, 0.0, 0.0)
  twitch = dataclasses.replace(me, kind="twitch")
  as_me = schedule.TrialPlan("s", "happy", 1, 101, (me,), ())
  as_twitch = schedule.TrialPlan("s", "happy", 1, 101, (), (), (twitch,))
  still = schedule.TrialPlan("s", "happy", 1, 101, (), ())

  def render(plan):
    return np.stack(list(faces.render_trial(face, plan, 120, 150.0, 0.0, np.random.default_rng(1))))

  np.testing.assert_array_equal(render(as_twitch), render(as_me))
  apex = round(0.35 * 150)
  moved = np.abs(render(as_twitch)[apex].astype(int) - render(still)[apex]).max()
  assert moved > 20


def test_twitches_look_like_mes_but_are_not_coded_and_move_no_heart(tiny_raw):
  root, truth = tiny_raw
  twitches = [t for trial in _trials(truth).values() for t in trial["twitches"]]
  assert len(twitches) >= 2
  assert all(
    t["kind"] == "twitch" and not t["hr_response"] and t["hr_size_bpm"] == 0 for t in twitches
  )
  assert all(t["offset_s"] - t["onset_s"] <= 0.5 for t in twitches)
  coded = {(r.video, r.onset_s) for r in coding.read_coding_file(root / "coding_file.xlsx")}
  for name, trial in _trials(truth).items():
    for t in trial["twitches"]:
      assert (f"{name}.avi", t["onset_s"]) not in coded
      for e in trial["expressions"]:  # placed min_gap_s apart from the coded ones
        assert t["onset_s"] > e["offset_s"] or t["offset_s"] < e["onset_s"]


def test_events_that_do_not_fit_are_counted_not_dropped_silently():
  # 40 twitches a minute cannot sit 2 s apart in 10 s trials: the rest is counted.
  config = synthetic.preset("tiny", num_subjects=1, twitches_per_minute=40.0)
  plans = schedule.plan_subject_trials(config, "subj01", np.random.default_rng(0))
  for plan in plans:
    unplaced = dict(plan.unplaced)
    assert set(unplaced) == {"micro", "macro", "twitch"}
    assert unplaced["twitch"] > 0
    busy = sorted((e.onset_s, e.offset_s) for e in plan.expressions + plan.twitches)
    assert all(b[0] - a[1] > config.min_gap_s for a, b in zip(busy, busy[1:]))
  truth = {
    "subjects": [
      {
        "trials": [
          {
            "expressions": [dataclasses.asdict(e) for e in p.expressions],
            "twitches": [dataclasses.asdict(e) for e in p.twitches],
            "unplaced": dict(p.unplaced),
          }
          for p in plans
        ]
      }
    ]
  }
  total = sum(dict(p.unplaced)["twitch"] for p in plans)
  summary = synthetic.unplaced_summary(truth)
  assert f"{total} twitch" in summary and "not planted for lack of room" in summary


@pytest.mark.parametrize(
  "field,value,message",
  [
    ("fps", 0.0, "fps=0.0: expected > 0"),
    ("ecg_sampling_rate", float("nan"), "ecg_sampling_rate=nan: expected > 0"),
    ("hr_response_share", 2.0, r"hr_response_share=2.0: expected a share in \[0, 1\]"),
    ("twitches_per_minute", -1.0, "twitches_per_minute=-1.0: expected ≥ 0"),
    ("rsa_bpm", (2.0, 1.0), r"rsa_bpm=\(2.0, 1.0\): expected \(min, max\)"),
    ("trial_seconds", 2.0, "trial_seconds=2: expected ≥ 4.5 s"),
  ],
)
def test_out_of_range_knobs_are_refused_up_front(field, value, message):
  with pytest.raises(ValueError, match=message):
    synthetic.preset("tiny", **{field: value})


def test_a_rerun_leaves_no_stale_subject_and_foreign_data_is_refused(tmp_path):
  small = synthetic.preset("tiny", num_subjects=1, trials_per_subject=1, trial_seconds=6.0)
  synthetic.generate(tmp_path / "raw", dataclasses.replace(small, num_subjects=2), progress=False)
  assert (tmp_path / "raw" / "videos" / "subj02").is_dir()
  synthetic.generate(tmp_path / "raw", small, progress=False)
  assert sorted(p.name for p in (tmp_path / "raw" / "videos").iterdir()) == ["subj01"]
  foreign = tmp_path / "real"
  (foreign / "videos").mkdir(parents=True)
  with pytest.raises(FileExistsError, match="refusing to write a synthetic MECG over it"):
    synthetic.generate(foreign, small, progress=False)
