"""Writes a complete synthetic MECG raw layout (docs/data.md) and its ground truth.

Layout written under `out_dir`:
  coding_file.xlsx                      the authors' column format (no Macro/Micro column)
  videos/<subject>/<emotion>_<index>_<marker>_<subject>_<yyyymmdd>.avi   MJPG, `fps`
  ecg/<subject>_<yyyymmdd>.npz|.csv     one continuous recording per subject session with
                                        a marker channel: the clip's code (101…148)
                                        during the first 10 ms of each trial video
  ground_truth.json                     everything planted, frames and seconds
  ground_truth/<subject>_heart.npz      planted beats and HR curve of the session
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import hashlib
import json
import shutil
from pathlib import Path

import numpy as np
from tqdm.auto import tqdm

from cmcl_jax.data import coding
from cmcl_jax.data import coding_write
from cmcl_jax.data import ecg_io
from cmcl_jax.data import pseudonyms
from cmcl_jax.data import video_io
from cmcl_jax.data.synthetic import faces
from cmcl_jax.data.synthetic import heart
from cmcl_jax.data.synthetic import schedule
from cmcl_jax.data.synthetic.config import SyntheticConfig
from cmcl_jax.ecg.simulate import EcgNoise, simulate_ecg

MARKER_PULSE_S = 0.01
CODING_FILE_NAME = "coding_file.xlsx"
GROUND_TRUTH_NAME = "ground_truth.json"
GENERATOR = "cmcl_jax.data.synthetic"


WRITTEN_FOLDERS = ("videos", "ecg", "ground_truth")
"""The folders `generate` writes below `out_dir`."""


def _clear_earlier(out_dir: Path) -> None:
  """Removes the folders of an earlier run of this generator in `out_dir`.

  Raises:
    FileExistsError: `out_dir` holds one of those folders but no ground truth of ours.
  """
  present = [out_dir / name for name in WRITTEN_FOLDERS if (out_dir / name).exists()]
  if not present:
    return
  truth = out_dir / GROUND_TRUTH_NAME
  ours = truth.is_file() and json.loads(truth.read_text()).get("generator") == GENERATOR
  if not ours:
    raise FileExistsError(
      f"{out_dir} holds {', '.join(p.name for p in present)} but no {GROUND_TRUTH_NAME} "
      f"written by {GENERATOR}; refusing to write a synthetic MECG over it (use an empty "
      "folder)"
    )
  for folder in present:
    shutil.rmtree(folder)


def generate(out_dir, config: SyntheticConfig, seed: int = 0, progress: bool = True) -> dict:
  """Writes the raw layout of a synthetic MECG and returns its ground truth.

  Args:
    out_dir: folder to write into (created). What an earlier run of this generator
      wrote there is removed first, so no stale subject is left; a folder holding
      videos or ECG that this generator did not write is refused.
    config: sizes and content knobs, e.g. `synthetic.preset("tiny")`.
    seed: everything written is a function of (config, seed), the pseudonym salt of
      the dataset built from it too (`synthetic_salt`).
    progress: show a progress bar over trials.

  Returns:
    The ground truth also written to `out_dir/ground_truth.json`.
  """
  out_dir = Path(out_dir)
  _clear_earlier(out_dir)
  (out_dir / "ground_truth").mkdir(parents=True, exist_ok=True)
  subject_rngs = np.random.default_rng(seed).spawn(config.num_subjects)
  subjects, coded = [], []
  bar = tqdm(
    total=config.num_subjects * config.trials_per_subject,
    unit="trial",
    desc="synthesize",
    disable=not progress,
  )
  for number, rng in enumerate(subject_rngs, start=1):
    subject = f"subj{number:02d}"
    record, expressions = _write_subject(out_dir, config, subject, rng, bar)
    subjects.append(record)
    coded.extend(expressions)
  bar.close()
  coded = [dataclasses.replace(e, row=row) for row, e in enumerate(coded, start=2)]
  coding_write.write_coding_file(coded, out_dir / CODING_FILE_NAME)
  truth = {
    "generator": GENERATOR,
    "seed": seed,
    "config": dataclasses.asdict(config),
    "coding_file": CODING_FILE_NAME,
    "subjects": subjects,
  }
  (out_dir / GROUND_TRUTH_NAME).write_text(json.dumps(truth, indent=1))
  pseudonyms.write_salt(out_dir, synthetic_salt(seed))
  if progress:
    print(unplaced_summary(truth))
  return truth


def synthetic_salt(seed: int) -> str:
  """The pseudonym salt of a synthetic layout: fixed by its seed (a real layout draws
  one at random when it is first built, `pseudonyms.Pseudonyms.load_or_create`)."""
  return hashlib.sha256(f"cmcl_jax.data.synthetic seed {seed}".encode()).hexdigest()[:32]


def unplaced_summary(truth: dict) -> str:
  """One line: planted events by kind, and the drawn ones that did not fit."""
  trials = [t for s in truth["subjects"] for t in s["trials"]]
  kinds = ("micro", "macro", "twitch")
  planted = collections.Counter(e["kind"] for t in trials for e in t["expressions"] + t["twitches"])
  unplaced = {k: sum(t.get("unplaced", {}).get(k, 0) for t in trials) for k in kinds}
  line = "planted: " + ", ".join(f"{planted[k]} {k}" for k in kinds)
  if any(unplaced.values()):
    line += "; drawn but not planted for lack of room (min_gap_s): " + ", ".join(
      f"{unplaced[k]} {k}" for k in kinds if unplaced[k]
    )
  return line


def is_generated(root, config: SyntheticConfig, seed: int) -> bool:
  """True when `root` already holds the layout `generate(root, config, seed)` writes."""
  path = Path(root) / GROUND_TRUTH_NAME
  if not path.exists():
    return False
  truth = json.loads(path.read_text())
  wanted = json.loads(json.dumps(dataclasses.asdict(config)))
  return truth.get("seed") == seed and truth.get("config") == wanted


def load_ground_truth(root) -> dict:
  """Reads `ground_truth.json` of a generated layout."""
  return json.loads((Path(root) / GROUND_TRUTH_NAME).read_text())


def _write_subject(out_dir, config, subject, rng, bar):
  date = datetime.date(2023, 7, 1) + datetime.timedelta(days=int(rng.integers(0, 60)))
  stamp = date.strftime("%Y%m%d")
  plans = schedule.plan_subject_trials(config, subject, rng)
  num_frames = int(round(config.trial_seconds * config.fps))
  trial_starts = config.rest_seconds + np.arange(len(plans)) * (
    config.trial_seconds + config.rest_seconds
  )
  duration_s = float(trial_starts[-1] + config.trial_seconds + config.rest_seconds)

  responses = [
    (start + e.apex_s + e.hr_latency_s, e.hr_size_bpm)
    for start, plan in zip(trial_starts, plans)
    for e in plan.expressions
    if e.hr_response
  ]
  times, sizes = zip(*responses) if responses else ((), ())
  planted_heart = heart.plan_heart(config, duration_s, times, sizes, rng)
  ecg = simulate_ecg(
    planted_heart.beats_s,
    duration_s,
    config.ecg_sampling_rate,
    noise=EcgNoise().scaled(config.ecg_noise_scale),
    rng=rng,
  )
  marker = np.zeros(ecg.shape, np.int16)
  pulse = int(round(MARKER_PULSE_S * config.ecg_sampling_rate))
  for start, plan in zip(trial_starts, plans):
    first = int(round(start * config.ecg_sampling_rate))
    marker[first : first + pulse] = plan.marker
  ecg_path = out_dir / "ecg" / f"{subject}_{stamp}.{config.ecg_format}"
  ecg_io.write_recording(ecg_path, ecg_io.EcgRecording(ecg, marker, config.ecg_sampling_rate))
  np.savez(
    out_dir / "ground_truth" / f"{subject}_heart.npz",
    beats_s=planted_heart.beats_s,
    hr_times_s=planted_heart.times_s,
    hr_bpm=planted_heart.hr_bpm,
  )

  face = faces.make_face(config.frame_height, config.frame_width, rng)
  camera_start_clock_s = float(rng.uniform(9, 18) * 3600)
  annotated = datetime.datetime(2024, 5, 1, 9, 0) + datetime.timedelta(
    minutes=int(rng.integers(0, 60 * 24 * 60))
  )
  trials, expressions = [], []
  for start, plan in zip(trial_starts, plans):
    video_name = f"{plan.emotion}_{plan.clip_index}_{plan.marker}_{subject}_{stamp}.avi"
    video_rel = Path("videos") / subject / video_name
    (out_dir / video_rel).parent.mkdir(parents=True, exist_ok=True)
    video_io.write_video(
      out_dir / video_rel,
      faces.render_trial(face, plan, num_frames, config.fps, config.sensor_noise_gray, rng),
      config.fps,
    )
    clock0 = camera_start_clock_s + float(start)
    for e in plan.expressions:
      expressions.append(
        coding.Expression(
          row=0,
          subject=subject,
          video=video_name,
          marker=plan.marker,
          onset_s=e.onset_s,
          apex_s=e.apex_s,
          offset_s=e.offset_s,
          onset_clock_s=clock0 + e.onset_s,
          apex_clock_s=clock0 + e.apex_s,
          offset_clock_s=clock0 + e.offset_s,
          action_units=e.action_units,
          emotion=e.emotion,
          kind=e.kind,
          annotated_on=annotated,
        )
      )
    trials.append(
      {
        "video": video_rel.as_posix(),
        "marker": plan.marker,
        "emotion": plan.emotion,
        "start_in_recording_s": float(start),
        "num_frames": num_frames,
        "expressions": [_frames_of(dataclasses.asdict(e), config.fps) for e in plan.expressions],
        "distractors": [_frames_of(dataclasses.asdict(d), config.fps) for d in plan.distractors],
        "twitches": [_frames_of(dataclasses.asdict(e), config.fps) for e in plan.twitches],
        "unplaced": dict(plan.unplaced),
      }
    )
    bar.update()
  record = {
    "subject": subject,
    "date": stamp,
    "ecg": ecg_path.relative_to(out_dir).as_posix(),
    "camera_start_clock_s": camera_start_clock_s,
    "spontaneous_hr_s": planted_heart.spontaneous_s.tolist(),
    "trials": trials,
  }
  return record, expressions


def _frames_of(event: dict, fps: float) -> dict:
  """Adds `<name>_frame` next to every `<name>_s` time of an event."""
  event = {k: list(v) if isinstance(v, tuple) else v for k, v in event.items()}
  for key in [k for k in event if k.endswith("_s") and k != "hr_latency_s"]:
    event[key[:-2] + "_frame"] = coding.seconds_to_frame(event[key], fps)
  return event
