"""Per-frame cost of the video preprocessing: decode → face ROI → resize → optical flow.

    python -m benchmarks.video_preprocess            # ~1 min on 2 cores
    python -m benchmarks.video_preprocess --threads 2 --frames 600

Writes a synthetic face video (the generator's drawn face, slowly drifting, with
sensor noise; MJPG .avi, 640×480, 150 fps) to a temporary folder, then times

* each stage inside one streaming loop (median over runs of the per-frame mean):
  decode (`video_io.iter_frames`), Haar detection amortised over the frames it runs
  on (every fps/5-th; a local scan near the face), crop + gray + resize
  (`crop_face`), flow (`FlowEstimator`), median (head) motion removal,
  motion-curve reduction;
* end to end, the library's two passes: `track_face(iter_frames(...))` and
  `motion_curve(stream_flow(iter_frames(...), track))`, each decoding the video,
  and a pass 1 that decodes only the frames the detector runs on.

Prints Markdown tables for BENCHMARKS.md. Results depend on the machine: name it.
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
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
  detect_faces,
  flow_magnitude,
  motion_curve,
  stream_flow,
  subtract_global_motion,
  track_face,
  track_from_detections,
)

STAGES = (
  "decode",
  "detect (amortised)",
  "crop + gray + resize",
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


def time_stages(path: Path, fps: float, method: str, size: tuple[int, int], track) -> dict:
  """Mean ms per frame of each stage over one streaming pass."""
  totals = dict.fromkeys(STAGES, 0.0)
  estimator = FlowEstimator(method)
  step = max(1, round(fps / 10))
  frames = video_io.iter_frames(path)
  prev, count = None, 0
  clock = time.perf_counter
  while True:
    start = clock()
    frame = next(frames, None)
    if frame is None:
      break
    decoded = clock()
    if count % step == 0:
      detect_face(frame, near=track.box(count))
    detected = clock()
    crop = crop_face(frame, track.box(count), size)
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
    totals["crop + gray + resize"] += cropped - detected
    prev, count = crop, count + 1
  return {stage: 1e3 * total / count for stage, total in totals.items()}


def sampled_frames(path: Path, step: int, counter: dict):
  """Yield (index, frame) for every `step`-th frame, decoding only those.

  OpenCV's built-in MJPEG reader splits reading (`grab`, no decoding) from
  decoding (`retrieve`); FFmpeg's `grab` decodes. `video_io.iter_frames` has no
  stride yet, so this benchmark-only reader shows what one would save.
  """
  capture = cv2.VideoCapture(str(path), cv2.CAP_OPENCV_MJPEG)
  count = 0
  while capture.grab():
    if count % step == 0:
      ok, frame = capture.retrieve()
      if not ok:
        raise RuntimeError(f"{path}: frame {count} could not be decoded")
      counter["shape"] = frame.shape[:2]
      yield count, frame
    count += 1
  counter["count"] = count
  capture.release()


def time_end_to_end(path: Path, fps: float, method: str, size: tuple[int, int]) -> dict:
  """ms per frame of the library's passes, decoding included."""
  clock = time.perf_counter
  start = clock()
  track = track_face(video_io.iter_frames(path), fps=fps)
  tracked = clock()
  counter = {}
  detections = detect_faces(sampled_frames(path, max(1, round(fps / 5)), counter))
  count = counter["count"]
  track_from_detections(detections, frame_count=count, frame_shape=counter["shape"], fps=fps)
  sampled = clock()
  motion_curve(stream_flow(video_io.iter_frames(path), track, size=size, method=method))
  done = clock()
  return {
    "pass 1 `track_face(iter_frames)`, every frame decoded": 1e3 * (tracked - start) / count,
    "pass 1 alternative: decode sampled frames only": 1e3 * (sampled - tracked) / count,
    "pass 2 `motion_curve(stream_flow(iter_frames))`": 1e3 * (done - sampled) / count,
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
  args = parser.parse_args()
  cv2.setNumThreads(args.threads)
  size = (args.size, args.size)
  methods = ("dis", "farneback")

  with tempfile.TemporaryDirectory() as tmp:
    path = Path(tmp) / "face.avi"
    write_test_video(path, args.frames, args.height, args.width, args.fps)
    track = track_face(video_io.iter_frames(path), fps=args.fps)
    stage_runs, e2e_runs = {}, {}
    for m in methods:
      stage_runs[m] = [time_stages(path, args.fps, m, size, track) for _ in range(args.runs)]
      e2e_runs[m] = [time_end_to_end(path, args.fps, m, size) for _ in range(args.runs)]

  print(f"Machine: {describe_machine()}; cv2 threads: {args.threads}")
  print(
    f"Video: {args.frames} frames {args.width}x{args.height} MJPG at {args.fps:g} fps, "
    f"crop {args.size}x{args.size}; track: {track.summary()}; "
    f"median of {args.runs} runs, ms per frame\n"
  )
  trial_frames = TRIAL_S * args.fps
  print_table("stage (one streaming pass)", medians(stage_runs), {"total": STAGES}, trial_frames)
  e2e = medians(e2e_runs)
  full, sampled, flow = e2e["dis"]
  totals = {"total, two full passes": (full, flow), "total, sampled pass 1": (sampled, flow)}
  print_table("end to end", e2e, totals, trial_frames)


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
