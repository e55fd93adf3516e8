"""Per-frame cost of the video preprocessing: decode → face ROI → resize → optical flow.

    python -m benchmarks.video_preprocess            # ~40 s on 2 cores
    python -m benchmarks.video_preprocess --runs 3 --methods dis   # ~10 s
    python -m benchmarks.video_preprocess --threads 2 --frames 600

Writes a synthetic face video (the generator's drawn face, slowly drifting, with
sensor noise; MJPG .avi, 640×480, 150 fps) to a temporary folder, then times

* decoding alone: OpenCV's FFmpeg decoder (`cv2.VideoCapture.read`, colour and
  converted to gray: how `video_io` decoded MJPG before it read packets) beside
  `video_io.iter_frames` (JPEG packets decoded by libjpeg: colour, grayscale, and
  every fps/5-th frame only);
* each stage inside one streaming loop over grayscale frames decoded as small as
  the face box allows (r = `track.reduction(crop)`: 2 for a 395 px box and 128 px
  crops) (median over runs of the per-frame mean): decode
  (`iter_frames(grayscale=True, reduce=r)`), Haar detection amortised over the
  frames it runs on (every fps/10-th; a local scan near the face, full size), crop +
  resize (`crop_face`), flow (`FlowEstimator`), median (head) motion removal,
  motion-curve reduction;
* end to end, the library's two passes as the dataset builder runs them: pass 1
  `track_face(iter_frames(step=k), frame_count=T)` decoding only the frames the
  detector runs on (and, for comparison, `track_face` over every decoded frame),
  pass 2 `motion_curve(stream_flow(iter_frames(grayscale=True, reduce=r),
  track.reduced(r)))` (and the same at full size, and over full-size colour frames).

Prints Markdown tables for BENCHMARKS.md. Results depend on the machine: name it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections import deque
from pathlib import Path

import cv2
import numpy as np

from cmcl_jax.data import video_io
from cmcl_jax.data.synthetic import faces
from benchmarks import machine
from cmcl_jax.video import (
  FlowEstimator,
  crop_face,
  detect_face,
  detect_step,
  flow_magnitude,
  motion_curve,
  stream_flow,
  subtract_global_motion,
  track_face,
)

STAGES = (
  "decode",
  "detect (amortised)",
  "crop + resize",
  "flow",
  "remove head motion",
  "curve",
)
TRIAL_S = 60  # one MECG trial, seconds


def write_test_video(path: Path, frames: int, height: int, width: int, fps: float) -> None:
  """A drawn face drifting 20 px/s right and 10 px/s down, with Gaussian noise σ=2."""
  rng = np.random.default_rng(0)
  face = faces.make_face(height, width, rng).open_eyes
  noise = rng.normal(0, 2.0, (16, height, width, 3)).astype(np.float32)

  def generate():
    for t in range(frames):
      shift = np.float32([[1, 0, 20 * t / fps], [0, 1, 10 * t / fps]])
      moved = cv2.warpAffine(face, shift, (width, height), borderMode=cv2.BORDER_REFLECT)
      yield np.clip(moved + noise[t % 16], 0, 255).astype(np.uint8)

  video_io.write_video(path, generate(), fps)


def time_decoding(path: Path, fps: float) -> dict:
  """ms per frame of the video to decode it, by reader."""
  step = detect_step(fps)

  def ffmpeg(gray: bool):
    capture = cv2.VideoCapture(str(path), cv2.CAP_FFMPEG)
    while True:
      ok, frame = capture.read()
      if not ok:
        break
      if gray:
        cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY)
    capture.release()

  readers = {
    "FFmpeg decode, BGR (`VideoCapture.read`; before)": lambda: ffmpeg(False),
    "FFmpeg decode, BGR → gray (before)": lambda: ffmpeg(True),
    "`iter_frames`: JPEG packets, libjpeg BGR": lambda: deque(video_io.iter_frames(path), 0),
    "`iter_frames(grayscale=True)`: libjpeg luma": lambda: deque(
      video_io.iter_frames(path, grayscale=True), 0
    ),
    "`iter_frames(grayscale=True, reduce=2)`: libjpeg scaled IDCT": lambda: deque(
      video_io.iter_frames(path, grayscale=True, reduce=2), 0
    ),
    f"`iter_frames(grayscale=True, step={step})`, per video frame": lambda: deque(
      video_io.iter_frames(path, grayscale=True, step=step), 0
    ),
  }
  count = video_io.video_info(path).frame_count
  times = {}
  for name, read in readers.items():
    start = time.perf_counter()
    read()
    times[name] = 1e3 * (time.perf_counter() - start) / count
  return times


def time_stages(path: Path, fps: float, method: str, size: tuple[int, int], track) -> dict:
  """Mean ms per frame of each stage over one streaming pass of grayscale frames."""
  totals = dict.fromkeys(STAGES, 0.0)
  estimator = FlowEstimator(method)
  step = max(1, round(fps / 10))
  reduce = track.reduction(size, video_io.REDUCTIONS)
  frames = video_io.iter_frames(path, grayscale=True, reduce=reduce)
  boxes = track.reduced(reduce)
  full_frames = video_io.iter_frames(path, grayscale=True, step=step)
  prev, count = None, 0
  clock = time.perf_counter
  while True:
    start = clock()
    frame = next(frames, None)
    if frame is None:
      break
    decoded = clock()
    if count % step == 0:  # the detector runs on the full-size frame
      full = next(full_frames)
      decoded = clock()
      detect_face(full, near=track.box(count))
    detected = clock()
    crop = crop_face(frame, boxes.box(count), size)
    cropped = clock()
    if prev is not None:
      flow = estimator(prev, crop)
      flowed = clock()
      flow = subtract_global_motion(flow)
      removed = clock()
      float(flow_magnitude(flow).mean())
      totals["flow"] += flowed - cropped
      totals["remove head motion"] += removed - flowed
      totals["curve"] += clock() - removed
    totals["decode"] += decoded - start
    totals["detect (amortised)"] += detected - decoded
    totals["crop + resize"] += cropped - detected
    prev, count = crop, count + 1
  return {stage: 1e3 * total / count for stage, total in totals.items()}


PASS_1 = "pass 1 `track_face(iter_frames(step=k), frame_count=T)`"
PASS_1_ALL = "pass 1 alternative: `track_face(iter_frames(grayscale=True))`, every frame decoded"
PASS_2 = "pass 2 `motion_curve(stream_flow(iter_frames(grayscale=True, reduce=r)))`"
PASS_2_FULL = "pass 2 alternative: full-size gray frames (`reduce=1`)"
PASS_2_BGR = "pass 2 alternative: full-size colour frames (`iter_frames()`)"


def time_end_to_end(path: Path, fps: float, method: str, size: tuple[int, int]) -> dict:
  """ms per frame of the library's passes, decoding included."""
  count = video_io.video_info(path).frame_count
  clock = time.perf_counter
  start = clock()
  sampled = video_io.iter_frames(path, grayscale=True, step=detect_step(fps))
  track = track_face(sampled, fps=fps, frame_count=count)
  tracked = clock()
  track_face(video_io.iter_frames(path, grayscale=True), fps=fps)
  tracked_all = clock()
  reduce = track.reduction(size, video_io.REDUCTIONS)
  frames = video_io.iter_frames(path, grayscale=True, reduce=reduce)
  motion_curve(stream_flow(frames, track.reduced(reduce), size=size, method=method))
  flowed = clock()
  frames = video_io.iter_frames(path, grayscale=True)
  motion_curve(stream_flow(frames, track, size=size, method=method))
  flowed_full = clock()
  motion_curve(stream_flow(video_io.iter_frames(path), track, size=size, method=method))
  done = clock()
  return {
    PASS_1: 1e3 * (tracked - start) / count,
    PASS_1_ALL: 1e3 * (tracked_all - tracked) / count,
    PASS_2: 1e3 * (flowed - tracked_all) / count,
    PASS_2_FULL: 1e3 * (flowed_full - flowed) / count,
    PASS_2_BGR: 1e3 * (done - flowed_full) / count,
  }


def describe_machine() -> str:
  return f"{machine.describe()}, OpenCV {cv2.__version__}"


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
  parser.add_argument("--frames", type=int, default=300, help="frames in the test video")
  parser.add_argument("--height", type=int, default=480)
  parser.add_argument("--width", type=int, default=640)
  parser.add_argument("--fps", type=float, default=150.0)
  parser.add_argument("--size", type=int, default=128, help="side of the flow crop, pixels")
  parser.add_argument("--runs", type=int, default=5, help="repetitions; the median is reported")
  parser.add_argument("--threads", type=int, default=1, help="cv2.setNumThreads")
  parser.add_argument(
    "--methods", default="dis,farneback", help="comma-separated flow methods to time"
  )
  args = parser.parse_args()
  cv2.setNumThreads(args.threads)
  size = (args.size, args.size)
  methods = tuple(args.methods.split(","))

  with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "face.avi"
    write_test_video(path, args.frames, args.height, args.width, args.fps)
    track = track_face(video_io.iter_frames(path, grayscale=True), fps=args.fps)
    decode_runs = {"ms/frame": [time_decoding(path, args.fps) for _ in range(args.runs)]}
    stage_runs, e2e_runs = {}, {}
    for m in methods:
      stage_runs[m] = [time_stages(path, args.fps, m, size, track) for _ in range(args.runs)]
      e2e_runs[m] = [time_end_to_end(path, args.fps, m, size) for _ in range(args.runs)]

  print(f"Machine: {describe_machine()}; cv2 threads: {args.threads}")
  print(
    f"Video: {args.frames} frames {args.width}x{args.height} MJPG at {args.fps:g} fps, "
    f"crop {args.size}x{args.size}, decoded at 1/{track.reduction(size)} size; "
    f"track: {track.summary()}; "
    f"median of {args.runs} runs, ms per frame\n"
  )
  trial_frames = TRIAL_S * args.fps
  print_table("decode", medians(decode_runs), {}, trial_frames)
  print_table("stage (one streaming pass)", medians(stage_runs), {"total": STAGES}, trial_frames)
  totals = {
    "total, the builder's path (pass 1 sampled, pass 2 reduced gray)": (PASS_1, PASS_2),
    "total, pass 1 sampled, pass 2 full-size gray": (PASS_1, PASS_2_FULL),
    "total, both passes decoding every frame at full size": (PASS_1_ALL, PASS_2_FULL),
  }
  print_table("end to end", medians(e2e_runs), totals, trial_frames)


def medians(runs: dict[str, list[dict[str, float]]]) -> dict[str, dict[str, float]]:
  """method → row → median over the runs."""
  return {
    m: {row: statistics.median(run[row] for run in method_runs) for row in method_runs[0]}
    for m, method_runs in runs.items()
  }


def print_table(title: str, values: dict, totals: dict, trial_frames: float) -> None:
  """Markdown table: one column per method, the rows, then each named sum of rows."""
  methods = tuple(values)
  print(f"| {title}, ms/frame | " + " | ".join(methods) + " |")
  print("|---|" + "---:|" * len(methods))
  for row in values[methods[0]]:
    print(f"| {row} | " + " | ".join(f"{values[m][row]:.3f}" for m in methods) + " |")
  for name, rows in totals.items():
    sums = [sum(values[m][row] for row in rows) for m in methods]
    print(f"| **{name}** | " + " | ".join(f"**{total:.2f}**" for total in sums) + " |")
    seconds = " | ".join(f"{total * trial_frames / 1e3:.1f}" for total in sums)
    print(f"| {name}: {TRIAL_S} s trial, s | {seconds} |")
  print()


if __name__ == "__main__":
  main()
