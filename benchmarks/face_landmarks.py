"""Cost and hit rate of dlib HOG + 68 landmarks next to the project's Haar face detector.

    python -m benchmarks.face_landmarks             # ~1.5 min on 2 cores
    python -m benchmarks.face_landmarks --runs 3 --jitter-copies 4

Frames: the 26 real MECG face crops (13 MEs × onset, apex; 256×256, from
``../shared/fixtures/mecg_real/me_faces``) as they are, and each pasted into a larger
frame on a textured grey background:

* 640×480 with the face at 256 px (CAS(ME)²-sized frame, face ≈ half its height);
* 640×480 with the face at 48 px (a small face: needs dlib's upsampling);
* 2040×1088 with the face at 544 px (MECG / SAMM-LV-sized frame, face ≈ half its
  height).

On each set it times, per frame (median over ``--runs`` of the mean over the set):
``detect_landmarks`` with its automatic upsampling policy (detection + landmarks),
the same with ``upsample=0``, and the Haar cascade that `cmcl_jax.video.roi.track_face`
runs: its full scan ``detect_face(frame)`` and its local scan near the last box
(``near=``, the box of the full scan; what tracking runs on most sampled frames); and
counts the frames where each finds a face. Box jitter under sensor noise (Gaussian, σ = 2 grey levels, as in
``video_preprocess.py``): ``--jitter-copies`` noisy copies of each 640×480/256 px
frame; the standard deviation of the box centre and side over the copies, median over
the 26 faces, for the Haar box and for the landmark boxes (the MDMD crop
`face_crop_box`, and the centroid of the 68 points).

Prints Markdown tables for BENCHMARKS.md. Results depend on the machine: name it.
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from cmcl_jax.video import detect_face, detect_landmarks
from cmcl_jax.video.landmark_rois import face_crop_box
from benchmarks.machine import cpu_name

FACES = Path(__file__).resolve().parents[1].parent / "shared/fixtures/mecg_real/me_faces"
NOISE_SIGMA = 2.0

# (name, frame (H, W), face side in pixels); None: the crop itself.
FRAME_SETS = (
  ("256×256 crop", None, None),
  ("640×480, face 256 px", (480, 640), 256),
  ("640×480, face 48 px", (480, 640), 48),
  ("2040×1088, face 544 px", (1088, 2040), 544),
)


def load_crops() -> list[np.ndarray]:
  """The 26 uint8 (256, 256, 3) BGR crops, onset then apex."""
  paths = sorted(FACES.glob("*/onset.png")) + sorted(FACES.glob("*/apex.png"))
  if not paths:
    raise SystemExit(f"no */onset.png or */apex.png under {FACES}: shared fixtures missing")
  return [cv2.imread(str(p), cv2.IMREAD_COLOR) for p in paths]


def paste(crop: np.ndarray, shape: tuple[int, int], side: int, rng) -> np.ndarray:
  """`crop` resized to `side` px, centred at 40 % of the width, on a textured background."""
  height, width = shape
  noise = rng.normal(128, 40, (height // 8, width // 8, 1)).astype(np.float32)
  background = cv2.resize(noise, (width, height), interpolation=cv2.INTER_CUBIC)
  frame = np.repeat(np.clip(background, 0, 255).astype(np.uint8)[..., None], 3, axis=2)
  x, y = int(0.4 * width) - side // 2, (height - side) // 2
  interpolation = cv2.INTER_AREA if side < crop.shape[0] else cv2.INTER_CUBIC
  frame[y : y + side, x : x + side] = cv2.resize(crop, (side, side), interpolation=interpolation)
  return frame


def detectors(frames: list[np.ndarray]) -> dict:
  """name → function(frame index) → result or None."""
  # `track_face` scans near the last box; here the box of a full scan on the same frame.
  # Left out where the full scan finds no face at all.
  near = [detect_face(frame) for frame in frames]
  calls = {
    "dlib HOG + 68 landmarks, auto upsampling": lambda i: detect_landmarks(frames[i]),
    "dlib HOG + 68 landmarks, upsample=0": lambda i: detect_landmarks(frames[i], upsample=0),
    "Haar full scan `detect_face(frame)`": lambda i: detect_face(frames[i]),
  }
  if any(near):
    calls["Haar local scan `detect_face(frame, near=box)`"] = lambda i: (
      detect_face(frames[i], near=near[i]) if near[i] else None
    )
  return calls


def time_set(frames: list[np.ndarray], runs: int) -> dict[str, tuple[float, int]]:
  """Detector → (median over runs of the mean ms per frame, frames with a face).

  The detectors take turns within each run, so a change in the load of shared cores
  hits all of them alike.
  """
  calls = detectors(frames)
  per_run, found = {name: [] for name in calls}, {}
  for _ in range(runs):
    for name, detect in calls.items():
      start = time.perf_counter()
      found[name] = sum(detect(i) is not None for i in range(len(frames)))
      per_run[name].append(1e3 * (time.perf_counter() - start) / len(frames))
  return {name: (statistics.median(per_run[name]), found[name]) for name in calls}


def noisy(frame: np.ndarray, rng) -> np.ndarray:
  return np.clip(frame + rng.normal(0, NOISE_SIGMA, frame.shape), 0, 255).astype(np.uint8)


def jitter(frames: list[np.ndarray], copies: int, rng) -> dict[str, tuple[float, float]]:
  """Box kind → (centre std, side std), px, median over faces, over noisy copies."""
  stats = {"Haar box": [], "landmarks: `face_crop_box`": [], "landmarks: centroid": []}
  for frame in frames:
    boxes = {name: [] for name in stats}
    for _ in range(copies):
      copy = noisy(frame, rng)
      haar, points = detect_face(copy), detect_landmarks(copy)
      if haar is not None:
        x, y, w, h = haar
        boxes["Haar box"].append((x + w / 2, y + h / 2, w))
      if points is not None:
        x0, y0, x1, y1 = face_crop_box(points, copy.shape)
        boxes["landmarks: `face_crop_box`"].append(((x0 + x1) / 2, (y0 + y1) / 2, x1 - x0))
        cx, cy = points.mean(axis=0)
        boxes["landmarks: centroid"].append((cx, cy, np.nan))
    for name, values in boxes.items():
      if len(values) >= 2:
        values = np.array(values, np.float64)
        centre = float(np.hypot(values[:, 0].std(), values[:, 1].std()))
        stats[name].append((centre, float(values[:, 2].std())))
  return {
    name: tuple(float(np.median([v[i] for v in values])) for i in range(2))
    for name, values in stats.items()
    if values
  }


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--runs", type=int, default=5, help="repetitions; the median is reported")
  parser.add_argument("--jitter-copies", type=int, default=8, help="noisy copies per face")
  parser.add_argument("--threads", type=int, default=1, help="cv2.setNumThreads")
  args = parser.parse_args()
  cv2.setNumThreads(args.threads)
  import dlib

  rng = np.random.default_rng(0)
  crops = load_crops()
  sets = {
    name: crops if shape is None else [paste(c, shape, side, rng) for c in crops]
    for name, shape, side in FRAME_SETS
  }
  detect_landmarks(crops[0])  # load the models (≈ 0.7 s) outside the timings

  with open("/proc/loadavg") as f:
    load = f.read().split()[0]
  print(
    f"Machine: {cpu_name()}, {platform.machine()}, Python {platform.python_version()}, "
    f"dlib {dlib.__version__}, OpenCV {cv2.__version__}; cv2 threads {args.threads}; "
    f"load average at start {load}; median of {args.runs} runs\n"
  )
  print("| frames (26 MECG faces) | detector | faces found | ms/frame |")
  print("|---|---|---:|---:|")
  for set_name, frames in sets.items():
    for name, (ms, found) in time_set(frames, args.runs).items():
      print(f"| {set_name} | {name} | {found}/{len(frames)} | {ms:.1f} |")
  print()
  frames = sets[FRAME_SETS[1][0]]
  print(
    f"| box under sensor noise (σ={NOISE_SIGMA:g}, {args.jitter_copies} copies; 640×480, "
    "face 256 px) | centre std, px | side std, px |"
  )
  print("|---|---:|---:|")
  for name, (centre, side) in jitter(frames, args.jitter_copies, rng).items():
    print(f"| {name} | {centre:.2f} | " + ("–" if np.isnan(side) else f"{side:.2f}") + " |")


if __name__ == "__main__":
  main()
