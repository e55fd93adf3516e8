"""Synthetic stand-ins of CAS(ME)², SAMM-LV and CAS(ME)³ Part A, in their released layouts.

`generate(out_dir, dataset, config, seed)` writes, under ``out_dir`` (the layouts of
`cmcl_jax.data.datasets.frame_folders`, the spreadsheets of `megc_sheets`):

=========  ==========================================================  ======  ===========
dataset    files                                                       fps     frames
=========  ==========================================================  ======  ===========
casme2     ``CAS(ME)^2code_final.xlsx``,                               30      colour, 4:3
           ``rawpic/s15/15_0101disgustingteeth/img001.jpg`` …                  (640×480)
samm_lv    ``SAMM_LongVideos_V3_Release.xlsx``,                        200     grey,
           ``SAMM_longvideos/006_1/006_1_0001.jpg`` …                          2040:1088
casme3     ``CAS(ME)3_part_A_v2.xlsx`` (released as ``.xls``),         30      colour, 16:9
           ``part_A/spNO.1/a/color/1.jpg`` …                                   (1280×720)
=========  ==========================================================  ======  ===========

plus ``ground_truth.json``: every planted expression (kind, 0-based onset/apex/offset
frames and seconds, AUs, emotion, amplitude in pixels), and the twitches and
distractors, per video. No ECG: these datasets have none (MECG is
`cmcl_jax.data.synthetic.generate`).

The content is the synthetic MECG's: faces with AU-like local motion
(`faces.render_trial`), micro- and macro-expressions, uncoded ME-like twitches,
blinks, head shifts, flicker and sensor noise, planned by `schedule` from a
`SyntheticConfig` (its ECG and heart-rate fields are unused; ``trials_per_subject``
is videos per subject, ``trial_seconds`` their length). ``fps`` must be the
dataset's and ``frame_width / frame_height`` its aspect (within 1 %): the sizes may
be smaller than released. `preset(dataset, "tiny")`: 2 subjects × 2 videos × 8 s at
128×96 (CAS(ME)²), 120×64 (SAMM-LV, ≈ 1/17 of 2040×1088), 128×72 (CAS(ME)³), written
in seconds; ``"demo"``: 4 × 3 × 30 s at 320×240, 240×128, 320×180 (20–80 s to write
on 2 cores); ``"stress"``: the released frame sizes (hours for SAMM-LV). The face keeps
a face's proportions in every frame shape (`faces.make_face`: in SAMM-LV's wide frames
background fills the sides). None of the quirks of the real
spreadsheets is planted.

Example::

    truth = generate("casme2_raw", "casme2", preset("casme2", "tiny"), seed=0)
    raw = cmcl_jax.data.datasets.layouts.discover("casme2_raw", "casme2")
"""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import cv2
import numpy as np
from tqdm.auto import tqdm

from cmcl_jax.data import coding
from cmcl_jax.data.datasets import frame_folders
from cmcl_jax.data.datasets.annotations import TITLES
from cmcl_jax.data.datasets.layouts import RELEASE_NAMES
from cmcl_jax.data.synthetic import faces, megc_sheets, schedule
from cmcl_jax.data.synthetic.config import SyntheticConfig

GENERATOR = "cmcl_jax.data.synthetic.megc_layouts"
GROUND_TRUTH_NAME = "ground_truth.json"
ASPECT_TOLERANCE = 0.01
"""Largest relative difference of frame_width / frame_height from the released aspect."""


@dataclasses.dataclass(frozen=True)
class Format:
  """What a dataset's release fixes.

  Attributes:
    fps: frame rate, frames/s.
    frame_size: released (height, width), pixels.
    colour: BGR frames (False: grey, as SAMM-LV's camera records).
    max_videos: most videos one subject can have (clips, inducement codes, files).
  """

  fps: float
  frame_size: tuple[int, int]
  colour: bool
  max_videos: int


FORMATS = {
  "casme2": Format(30.0, (480, 640), True, len(megc_sheets.CASME2_CLIPS)),
  "samm_lv": Format(200.0, (1088, 2040), False, 7),
  "casme3": Format(30.0, (720, 1280), True, 26),
}
# Emotions of `schedule` → each dataset's labels (SAMM-LV's file has no emotion).
EMOTIONS = {
  "casme2": {
    "angry": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "happy": "happiness",
    "sad": "sadness",
    "surprise": "surprise",
    "tense": "others",
  },
  "casme3": {
    "angry": "anger",
    "disgust": "disgust",
    "fear": "fear",
    "happy": "happy",
    "sad": "sad",
    "surprise": "surprise",
    "tense": "others",
  },
  "samm_lv": {},
}
_SIZES = {  # preset → (height, width) per dataset
  "tiny": {"casme2": (96, 128), "samm_lv": (64, 120), "casme3": (72, 128)},
  "demo": {"casme2": (240, 320), "samm_lv": (128, 240), "casme3": (180, 320)},
  "stress": {d: f.frame_size for d, f in FORMATS.items()},
}
_CONTENT = {
  "tiny": dict(
    num_subjects=2, trials_per_subject=2, trial_seconds=8.0, micro_per_trial=2.0,
    macro_per_trial=1.2, min_gap_s=1.0, twitches_per_minute=6.0,
  ),
  "demo": dict(num_subjects=4, trials_per_subject=3, trial_seconds=30.0),
  "stress": dict(num_subjects=12, trials_per_subject=6, trial_seconds=60.0),
}  # fmt: skip
PRESETS = tuple(_CONTENT)


def preset(dataset: str, name: str = "tiny", **overrides) -> SyntheticConfig:
  """The ``name`` preset ("tiny", "demo", "stress") of ``dataset``, fields overridden."""
  _check_dataset(dataset)
  if name not in _CONTENT:
    raise ValueError(f"unknown preset {name!r}; expected one of {', '.join(PRESETS)}")
  height, width = _SIZES[name][dataset]
  fields = dict(fps=FORMATS[dataset].fps, frame_height=height, frame_width=width)
  return SyntheticConfig(**{**fields, **_CONTENT[name], **overrides})


def generate(
  out_dir, dataset: str, config: SyntheticConfig, seed: int = 0, progress: bool = True
) -> dict:
  """Writes a synthetic ``dataset`` raw layout; returns its ground truth.

  Args:
    out_dir: folder to write into (created). A frames folder left there by an earlier
      run of this generator is replaced; any other is refused.
    dataset: "casme2", "samm_lv" or "casme3".
    config: sizes and content, e.g. `preset(dataset, "tiny")`.
    seed: everything written is a function of (dataset, config, seed).
    progress: show a progress bar over videos.

  Returns:
    The ground truth also written to ``out_dir/ground_truth.json``.

  Raises:
    ValueError: naming the field, for an fps that is not the dataset's, an aspect
      that is not its frames', videos too short for the longest expression, or more
      videos per subject than it has.
    FileExistsError: ``out_dir`` holds a frames folder this generator did not write.
  """
  _check_config(dataset, config)
  out_dir = Path(out_dir)
  frames_dir = out_dir / frame_folders.FRAMES_DIRS[dataset]
  _clear(out_dir, frames_dir)
  out_dir.mkdir(parents=True, exist_ok=True)
  bar = tqdm(
    total=config.num_subjects * config.trials_per_subject,
    unit="video",
    desc=f"synthesize {dataset}",
    disable=not progress,
  )
  num_frames = int(round(config.trial_seconds * config.fps))
  videos, rows = [], []
  for number, rng in enumerate(np.random.default_rng(seed).spawn(config.num_subjects)):
    subject_videos = _videos(dataset, number, config.trials_per_subject, num_frames, rng)
    plans = schedule.plan_subject_trials(config, subject_videos[0].subject, rng)
    face = faces.make_face(config.frame_height, config.frame_width, rng)
    for plan, video in zip(plans, subject_videos):
      frames = faces.render_trial(face, plan, num_frames, config.fps, config.sensor_noise_gray, rng)
      _write_frames(frames_dir / video.folder, video, frames, FORMATS[dataset].colour)
      record, planted = _planted(dataset, config.fps, plan, video)
      videos.append(
        {**record, "folder": f"{frames_dir.name}/{video.folder}", "num_frames": num_frames}
      )
      rows += planted
      bar.update()
  bar.close()
  annotation = out_dir / Path(RELEASE_NAMES[dataset]).with_suffix(".xlsx").name
  megc_sheets.write(dataset, annotation, rows)
  truth = {
    "generator": GENERATOR,
    "dataset": dataset,
    "seed": seed,
    "config": dataclasses.asdict(config),
    "annotation_file": annotation.name,
    "frames_dir": frames_dir.name,
    "videos": videos,
  }
  text = json.dumps(truth, indent=1)
  (out_dir / GROUND_TRUTH_NAME).write_text(text)
  return json.loads(text)  # As a reader of the file sees it: lists, not tuples.


def _check_dataset(dataset: str) -> None:
  if dataset not in FORMATS:
    raise ValueError(
      f"dataset={dataset!r}: expected one of {', '.join(FORMATS)} (MECG: synthetic.generate)"
    )


def _check_config(dataset: str, config: SyntheticConfig) -> None:
  _check_dataset(dataset)
  spec, title = FORMATS[dataset], TITLES[dataset]
  if config.fps != spec.fps:
    raise ValueError(
      f"fps={config.fps:g}: {title} is recorded at {spec.fps:g} fps and its spreadsheet "
      f"counts frames at that rate; expected fps={spec.fps:g}"
    )
  height, width = spec.frame_size
  aspect = config.frame_width / config.frame_height
  if abs(aspect / (width / height) - 1) > ASPECT_TOLERANCE:
    raise ValueError(
      f"frame_width={config.frame_width}, frame_height={config.frame_height} (aspect "
      f"{aspect:.3f}): {title} frames are {width}×{height} (aspect {width / height:.3f}); "
      "expected that aspect at any size"
    )
  if config.trials_per_subject > spec.max_videos:
    raise ValueError(
      f"trials_per_subject={config.trials_per_subject}: a {title} subject has at most "
      f"{spec.max_videos} videos"
    )


def _clear(out_dir: Path, frames_dir: Path) -> None:
  """Removes a frames folder of an earlier run, so no stale video is left in it."""
  if not frames_dir.exists():
    return
  truth = out_dir / GROUND_TRUTH_NAME
  ours = truth.is_file() and json.loads(truth.read_text()).get("generator") == GENERATOR
  if not ours:
    raise FileExistsError(
      f"{frames_dir}: exists and was not written by {GENERATOR} (no {GROUND_TRUTH_NAME} of "
      "it beside); expected a new or a previously generated folder"
    )
  shutil.rmtree(frames_dir)


@dataclasses.dataclass(frozen=True)
class _Video:
  """Where one synthetic video goes and how the spreadsheet names it.

  Attributes:
    subject: subject code.
    sheet_video: the video as the spreadsheet writes it (`megc_sheets.SheetRow.video`).
    video_id: the video as the annotation reader names it (`Expression.video`).
    folder: its frame folder, relative to the frames folder.
    frame_stem, digits: frame k is ``<frame_stem><k, zero-padded to digits>.jpg``.
  """

  subject: str
  sheet_video: int | str
  video_id: str
  folder: str
  frame_stem: str
  digits: int


def _videos(dataset: str, number: int, count: int, num_frames: int, rng) -> list[_Video]:
  """The ``count`` videos of subject ``number`` (0, 1, …), named as the release names them."""
  if dataset == "casme2":
    participant = 15 + number  # The released participants are numbered from 15.
    subject = f"s{participant}"
    chosen = np.sort(rng.choice(len(megc_sheets.CASME2_CLIPS), count, replace=False))
    videos = []
    for k in chosen:
      code, _, description = megc_sheets.CASME2_CLIPS[k]
      video_id = f"{subject}/{participant}_{code:04d}"
      videos.append(_Video(subject, code, video_id, f"{video_id}{description}", "img", 3))
    return videos
  if dataset == "samm_lv":
    subject = f"{6 + number:03d}"  # The released subjects are numbered from 006.
    chosen = np.sort(rng.choice(FORMATS[dataset].max_videos, count, replace=False)) + 1
    # As released: 006_1_0001.jpg, five digits in videos of 10,000 frames or more.
    digits = 4 if num_frames < 10_000 else 5
    return [
      _Video(subject, int(n), f"{subject}_{n}", f"{subject}_{n}", f"{subject}_{n}_", digits)
      for n in chosen
    ]
  subject = f"spNO.{number + 1}"
  letters = [chr(ord("a") + k) for k in range(count)]
  return [
    _Video(subject, v, f"{subject}/{v}", f"{subject}/{v}/{frame_folders.CASME3_FRAMES}", "", 1)
    for v in letters
  ]


def _write_frames(folder: Path, video: _Video, frames, colour: bool) -> None:
  """Writes frames 1, 2, … of a video as JPEG images (grey when not ``colour``)."""
  folder.mkdir(parents=True)
  for k, frame in enumerate(frames, start=1):
    path = folder / f"{video.frame_stem}{k:0{video.digits}d}.jpg"
    if not colour:
      frame = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    if not cv2.imwrite(str(path), frame):
      raise OSError(f"{path}: OpenCV could not write the frame")


def _planted(dataset: str, fps: float, plan, video: _Video):
  """The video's ground-truth record and its spreadsheet rows (frames 1-based there)."""
  emotions = EMOTIONS[dataset]
  rows, expressions = [], []
  for e in plan.expressions:
    onset, apex, offset = (
      coding.seconds_to_frame(t, fps) for t in (e.onset_s, e.apex_s, e.offset_s)
    )
    emotion = emotions.get(e.emotion)
    units = "+".join(u.removeprefix("AU") for u in e.action_units)
    rows.append(
      megc_sheets.SheetRow(
        video.subject,
        video.sheet_video,
        e.kind,
        onset + 1,
        apex + 1,
        offset + 1,
        units,
        emotion or "",
      )
    )
    expressions.append(
      {
        "kind": e.kind,
        "onset_frame": onset,
        "apex_frame": apex,
        "offset_frame": offset,
        "onset_s": e.onset_s,
        "apex_s": e.apex_s,
        "offset_s": e.offset_s,
        "action_units": units,
        "emotion": emotion,
        "amplitude_px": e.amplitude_px,
      }
    )
  record = {
    "subject": video.subject,
    "video": video.video_id,
    "expressions": expressions,
    "twitches": [_timed(dataclasses.asdict(e), fps) for e in plan.twitches],
    "distractors": [_timed(dataclasses.asdict(d), fps) for d in plan.distractors],
  }
  return record, rows


def _timed(event: dict, fps: float) -> dict:
  """An event's fields with ``<name>_frame`` (0-based) beside every ``<name>_s`` time."""
  times = {k: v for k, v in event.items() if k.endswith("_s") and k != "hr_latency_s"}
  frames = {f"{k[:-2]}_frame": coding.seconds_to_frame(v, fps) for k, v in times.items()}
  return {**{k: v for k, v in event.items() if not k.startswith("hr_")}, **frames}
