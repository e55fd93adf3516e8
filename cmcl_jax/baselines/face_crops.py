"""Raw trial videos → the grey face crops the video-only baselines start from.

MDMD and SOFTNet both crop the face once per video, on its first frame with a face,
and use that box for every frame (no tracking): the box is the MEGC 2020 baseline's
(`landmark_rois.face_crop_box`: all 68 landmarks, raised to include the forehead),
each crop resized to `size` × `size`, with the 68 landmarks of the first crop found
again on the crop itself (SOFTNet's ROIs are placed on them). SOFTNet's authors crop
with dlib's HOG rectangle instead; the landmark box is within a few pixels of it on a
frontal face (`cmcl_jax.video.landmark_rois`). A baseline at 30 Hz reads only the
frames it analyses (`read_face_crops(…, step=5)` on a 150 fps video), and a split's
videos several at a time (`each_video`).

`TrialVideos(raw_dir)` finds each built trial's video in the raw layout the dataset
was built from: for `mecg` through `trial_videos` (dataset trial ids are
pseudonymised: `<subject id>/<marker>`), for `megc` (CAS(ME)², SAMM-LV, CAS(ME)³) the
frame folder its record names relative to the raw root.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import json
import os
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np
from absl import logging

from cmcl_jax.data import layout as layout_lib
from cmcl_jax.data import pseudonyms
from cmcl_jax.data import video_io
from cmcl_jax.video import detect_landmarks
from cmcl_jax.spotting.candidates import ScoredTrial
from cmcl_jax.video import landmark_rois

SEARCH_SECONDS = 2.0
"""How far into a video the first face is looked for."""
MAX_WORKERS = 8
"""At most this many videos are read side by side (`each_video`): each holds its crops
in memory."""

Item = TypeVar("Item")


class FaceCropError(ValueError):
  """A video gives no face crop (no face found, unreadable)."""


@dataclasses.dataclass(frozen=True)
class FaceCrops:
  """One video's face crops.

  Attributes:
    frames: (ceil(T / step), size, size) uint8 grey crops of frames 0, step, 2·step, …
      of the video's T.
    box: (x0, y0, x1, y1) the crop box in the video's pixels, x1 / y1 exclusive.
    landmarks: (68, 2) float32 landmarks of the first crop with a face, crop pixels.
    first_face: the frame the box and landmarks come from.
    fps: the video's frame rate, Hz.
    step: every how many video frames `frames` holds one.
  """

  frames: np.ndarray
  box: tuple[int, int, int, int]
  landmarks: np.ndarray
  first_face: int
  fps: float
  step: int = 1


def trial_videos(raw_dir: str | os.PathLike) -> dict[str, Path]:
  """Dataset trial id ("<subject id>/<marker>") → video of every trial of a raw layout.

  Subject names map to the ids of the dataset built from it through the layout's
  pseudonym file (names are kept where there is none: a build with
  `pseudonymize=False`).

  Raises:
    FileNotFoundError: `raw_dir` is empty or not a raw layout.
  """
  if not raw_dir:
    raise FileNotFoundError(
      "data.raw_dir is empty: spotters that read the videos (MDMD, SOFTNet) need the raw "
      "layout the dataset was built from; set --config.data.raw_dir"
    )
  raw = layout_lib.discover(raw_dir)
  ids = pseudonyms.dataset_ids(raw_dir)
  return {f"{ids.get(t.subject, t.subject)}/{t.marker}": t.video for t in raw.trials}


class TrialVideos:
  """Built trial (`trials.TrialInfo`) → its video in the raw layout `raw_dir`."""

  def __init__(self, raw_dir: str | os.PathLike):
    if not raw_dir:
      raise FileNotFoundError(
        "data.raw_dir is empty: spotters that read the videos (MDMD, SOFTNet) need the raw "
        "layout the dataset was built from; set --config.data.raw_dir"
      )
    self._root = Path(raw_dir)
    self._mecg = None  # trial id → video, read on first use

  def __call__(self, info) -> Path:
    source = info.record.get("source")
    if source is not None:  # a video-only build names the frame folder
      return self._root / source
    if self._mecg is None:
      self._mecg = trial_videos(self._root)
    return self._mecg[info.trial]


def read_face_crops(
  video: str | os.PathLike, size: int, fps: float | None = None, *, step: int = 1
) -> FaceCrops:
  """Every `step`-th frame of `video`, grey, cropped by the box of its first face, resized.

  The frames between are not decoded where `video_io.iter_frames` can skip them (MJPG,
  frame folders), so a baseline at 30 Hz on a 150 fps video reads a fifth of it; the
  crops it keeps are the same as those of `step=1`.

  Args:
    video: a video file or frame folder (`video_io`).
    size: side of the square crops, pixels.
    fps: the frame rate of a frame folder without `fps.txt` (CAS(ME)², SAMM-LV and
      CAS(ME)³ as released), frames/s.
    step: keep frames 0, step, 2·step, …; an int >= 1.

  Raises:
    FaceCropError: naming the video, when no face is found in its first
      `SEARCH_SECONDS` or no landmarks on the resized first crop.
  """
  info = video_io.video_info(video, fps=fps)
  search = max(1, int(round(SEARCH_SECONDS * info.fps)))
  box, first, first_crop = None, 0, None

  def crop(frame: np.ndarray) -> np.ndarray:
    x0, y0, x1, y1 = box
    return cv2.resize(frame[y0:y1, x0:x1], (size, size), interpolation=cv2.INTER_AREA)

  for first, frame in enumerate(video_io.iter_frames(video, grayscale=True, stop=search)):
    points = detect_landmarks(frame)
    if points is not None:
      box = landmark_rois.face_crop_box(points, frame.shape)
      first_crop = crop(frame)
      break
  if box is None:
    raise FaceCropError(f"{video}: no face found in the first {search} frames")
  frames = np.stack(
    [
      crop(frame)
      for frame in video_io.iter_frames(
        video, grayscale=True, step=step, expect_frames=info.frame_count
      )
    ]
  )
  landmarks = detect_landmarks(first_crop)
  if landmarks is None:
    raise FaceCropError(f"{video}: no landmarks on the {size}×{size} face crop of frame {first}")
  return FaceCrops(frames, tuple(int(v) for v in box), landmarks, first, info.fps, step)


def frame_step(video_fps: float, analysis_fps: float) -> int:
  """Every how many video frames a baseline looks at one, to run at `analysis_fps`.

  Raises:
    ValueError: `analysis_fps` not positive, above the video's, or not dividing it
      into whole frames (within 1 %).
  """
  if not 0 < analysis_fps <= video_fps:
    raise ValueError(f"fps={analysis_fps}: expected 0 < fps <= the video's {video_fps} Hz")
  step = int(round(video_fps / analysis_fps))
  if abs(video_fps / step - analysis_fps) > 0.01 * analysis_fps:
    raise ValueError(
      f"fps={analysis_fps}: the video's {video_fps} Hz is no whole multiple of it "
      f"(every {video_fps / analysis_fps:.2f} frames); choose one that divides it"
    )
  return step


def to_video_intervals(intervals: np.ndarray, step: int, frame_count: int) -> np.ndarray:
  """(N, 3) (onset, apex, offset) of every `step`-th frame → video frames: each
  analysed frame stands for the `step` frames from it on."""
  intervals = np.asarray(intervals, np.int64).reshape(-1, 3)
  video = intervals * step + np.array([0, 0, step - 1])
  return np.minimum(video, frame_count - 1)


def to_video_curve(curve: np.ndarray, step: int, frame_count: int) -> np.ndarray:
  """(T',) curve of every `step`-th frame → (frame_count,) float32, each value held
  over the frames it stands for."""
  curve = np.repeat(np.asarray(curve, np.float32), step)[:frame_count]
  return np.pad(curve, (0, frame_count - len(curve)), mode="edge")


def cached(cache_dir, video: Path, key: list, compute) -> np.ndarray:
  """`compute()` for one video, kept as `<cache_dir>/<video stem>_<hash>.npy` and read
  back on later calls; `key` lists everything the array depends on (the video
  included), so changed settings never read a stale file."""
  digest = hashlib.sha1(json.dumps([str(video), *key]).encode()).hexdigest()[:12]
  path = cache_dir / f"{video.stem}_{digest}.npy"
  if path.exists():
    return np.load(path)
  array = compute()
  cache_dir.mkdir(parents=True, exist_ok=True)
  partial = path.with_name(f"{path.stem}.{os.getpid()}.{threading.get_ident()}.partial.npy")
  np.save(partial, array)
  os.replace(partial, path)  # whole or absent for a reader in another thread or process
  return array


def each_video(
  compute: Callable[[Item], np.ndarray], items: Sequence[Item], workers: int | None = None
) -> list[np.ndarray | FaceCropError]:
  """`[compute(item) for item in items]`, several videos at a time.

  Decoding, OpenCV's resizing and optical flow release the GIL, so threads read the
  videos of a split side by side: `workers` of them, by default one per core this
  process may use (at most `MAX_WORKERS`). A `FaceCropError` is returned in the place
  of its item, for the caller to count the video as faceless; other errors propagate.
  """
  if workers is None:
    workers = min(len(os.sched_getaffinity(0)), MAX_WORKERS)
  if workers < 1:
    raise ValueError(f"workers={workers}: expected >= 1")

  def attempt(item):
    try:
      return compute(item)
    except FaceCropError as error:
      return error

  if workers == 1 or len(items) < 2:
    return [attempt(item) for item in items]
  with concurrent.futures.ThreadPoolExecutor(min(workers, len(items))) as pool:
    return list(pool.map(attempt, items))


def faceless(info, kind: str, error: FaceCropError) -> ScoredTrial:
  """The `ScoredTrial` of a trial whose video gives no face crop: a flat curve and no
  intervals (its expressions are missed, counted as false negatives), with a warning
  naming the video, instead of ending the run."""
  logging.warning("trial %s: %s; no %s interval is spotted in it", info.trial, error, kind)
  return ScoredTrial(
    info, {kind: np.zeros(info.frame_count, np.float32)}, {kind: np.zeros((0, 3), np.int64)}
  )


def scored_at_video_rate(info, kind: str, curve, intervals, step: int) -> ScoredTrial:
  """A trial's curve and intervals of every `step`-th frame as a `ScoredTrial` of
  its video frames (`to_video_curve`, `to_video_intervals`)."""
  return ScoredTrial(
    info,
    {kind: to_video_curve(curve, step, info.frame_count)},
    {kind: to_video_intervals(intervals, step, info.frame_count)},
  )
