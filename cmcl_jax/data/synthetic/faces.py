"""Synthetic faces with AU-like local motion, blinks, head shifts, flicker and noise.

Each subject gets a drawn, textured face (skin texture matters: optical flow needs it).
An expression moves the face by a smooth displacement field built from Gaussian blobs
at facial landmarks (one set per action unit, e.g. AU12 pulls the lip corners up and
out), scaled by an onset→apex→offset profile; frames are produced by `cv2.remap`, one
at a time, so a trial is rendered in constant memory.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import cv2
import numpy as np

from cmcl_jax.data.synthetic.schedule import TrialPlan

# Landmarks in face-box units: x, y ∈ [−0.5, 0.5] from the face centre, y down.
_INNER_BROWS = ((-0.09, -0.21), (0.09, -0.21))
_OUTER_BROWS = ((-0.27, -0.2), (0.27, -0.2))
_LOWER_LIDS = ((-0.18, -0.05), (0.18, -0.05))
_CHEEKS = ((-0.21, 0.08), (0.21, 0.08))
_NOSE_SIDES = ((-0.07, 0.07), (0.07, 0.07))
_MOUTH_CORNERS = ((-0.13, 0.27), (0.13, 0.27))

# Action unit → [(landmark, direction (dx, dy), blob width in face widths)].
_AU_BLOBS = {
  "AU1": [(p, (0.0, -1.0), 0.07) for p in _INNER_BROWS],
  "AU2": [(p, (0.0, -1.0), 0.07) for p in _OUTER_BROWS],
  "AU4": [(p, (-0.5 * np.sign(p[0]), 1.0), 0.08) for p in _INNER_BROWS],
  "AU6": [(p, (0.0, -1.0), 0.09) for p in _CHEEKS],
  "AU7": [(p, (0.0, -1.0), 0.05) for p in _LOWER_LIDS],
  "AU9": [(p, (0.0, -1.0), 0.05) for p in _NOSE_SIDES],
  "AU10": [((0.0, 0.22), (0.0, -1.0), 0.07)],
  "AU12": [(p, (0.7 * np.sign(p[0]), -0.7), 0.06) for p in _MOUTH_CORNERS],
  "AU14": [(p, (-np.sign(p[0]), 0.0), 0.05) for p in _MOUTH_CORNERS],
  "AU15": [(p, (0.0, 1.0), 0.06) for p in _MOUTH_CORNERS],
  "AU17": [((0.0, 0.4), (0.0, -1.0), 0.08)],
}
ACTION_UNITS = tuple(_AU_BLOBS)

_NOISE_BANK = 31  # prime, so a stride of 7 visits every noise frame
_SWAY_PX = 1.0
_SWAY_HZ = 0.07


@dataclasses.dataclass(frozen=True)
class FaceModel:
  """One subject's face.

  Attributes:
    open_eyes: (H, W, 3) float32 BGR neutral face, gray levels 0–255.
    blink_delta: (H, W, 3) float32, closed-eyes face minus `open_eyes`.
    au_fields: action unit → (H, W, 2) float32 displacement field, peak 1 pixel.
    face_box: (x, y, w, h) of the drawn face ellipse, pixels.
  """

  open_eyes: np.ndarray
  blink_delta: np.ndarray
  au_fields: dict[str, np.ndarray]
  face_box: tuple[int, int, int, int]


def make_face(height: int, width: int, rng: np.random.Generator) -> FaceModel:
  """Draws a random subject's neutral face and its action-unit motion fields.

  The face spans 0.78 of the height and 0.6 of the width, the width taken at most
  4/3 of the height: in wider frames (SAMM-LV's 2040×1088) it keeps a face's
  proportions and background fills the sides.
  """
  face_w, face_h = 0.6 * min(width, height * 4 / 3), 0.78 * height
  centre = (width / 2 + rng.uniform(-0.03, 0.03) * width, 0.5 * height)
  skin = np.array([rng.uniform(120, 170), rng.uniform(140, 185), rng.uniform(175, 225)])

  def at(point):
    return (int(round(centre[0] + point[0] * face_w)), int(round(centre[1] + point[1] * face_h)))

  def size(fraction_w, fraction_h):
    return (max(1, int(round(fraction_w * face_w))), max(1, int(round(fraction_h * face_h))))

  image = np.empty((height, width, 3), np.float32)
  image[:] = np.linspace(70, 120, height, dtype=np.float32)[:, None, None]
  cv2.ellipse(image, at((0.0, 0.75)), size(0.9, 0.3), 0, 0, 360, (60, 50, 45), -1)
  cv2.ellipse(image, at((0.0, -0.12)), size(0.56, 0.5), 0, 180, 360, (35, 35, 45), -1)
  cv2.ellipse(image, at((0.0, 0.0)), size(0.5, 0.5), 0, 0, 360, skin.tolist(), -1)
  closed = image.copy()
  for eye in ((-0.18, -0.09), (0.18, -0.09)):
    cv2.ellipse(image, at(eye), size(0.09, 0.035), 0, 0, 360, (235, 235, 235), -1)
    cv2.circle(image, at(eye), size(0.035, 0)[0], (40, 30, 25), -1)
    cv2.ellipse(image, at(eye), size(0.095, 0.04), 0, 180, 360, (30, 30, 30), 2)
    cv2.ellipse(closed, at(eye), size(0.095, 0.01), 0, 0, 180, (30, 30, 30), 2)
  for painted in (image, closed):
    for inner, outer in zip(_INNER_BROWS, _OUTER_BROWS):
      cv2.line(painted, at(inner), at(outer), (35, 35, 45), max(2, int(0.035 * face_h)))
    cv2.line(painted, at((0.0, -0.05)), at((-0.03, 0.1)), (skin * 0.75).tolist(), 2)
    cv2.ellipse(painted, at((0.0, 0.1)), size(0.07, 0.025), 0, 0, 180, (skin * 0.7).tolist(), 2)
    cv2.ellipse(painted, at((0.0, 0.27)), size(0.13, 0.04), 0, 0, 360, (90, 80, 170), -1)
    cv2.line(painted, at(_MOUTH_CORNERS[0]), at(_MOUTH_CORNERS[1]), (40, 30, 70), 2)
  texture = cv2.GaussianBlur(rng.normal(0, 14, (height, width)).astype(np.float32), (0, 0), 1.2)
  for painted in (image, closed):
    painted += texture[..., None]
    cv2.GaussianBlur(painted, (3, 3), 0, dst=painted)

  ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
  fields = {}
  for unit, blobs in _AU_BLOBS.items():
    field = np.zeros((height, width, 2), np.float32)
    for point, direction, width_fraction in blobs:
      px, py = at(point)
      sigma = width_fraction * face_w
      weight = np.exp(-((xs - px) ** 2 + (ys - py) ** 2) / (2 * sigma**2))
      norm = np.hypot(*direction)
      field[..., 0] += weight * direction[0] / norm
      field[..., 1] += weight * direction[1] / norm
    fields[unit] = field / np.abs(field).max()
  box = (int(centre[0] - face_w / 2), int(centre[1] - face_h / 2), int(face_w), int(face_h))
  return FaceModel(image, closed - image, fields, box)


def expression_profile(
  times_s: np.ndarray, onset_s: float, apex_s: float, offset_s: float
) -> np.ndarray:
  """Intensity 0→1→0: raised-cosine rise onset→apex, raised-cosine fall apex→offset."""
  rise = np.clip((times_s - onset_s) / max(apex_s - onset_s, 1e-6), 0, 1)
  fall = np.clip((offset_s - times_s) / max(offset_s - apex_s, 1e-6), 0, 1)
  return np.where(
    times_s <= apex_s, 0.5 - 0.5 * np.cos(np.pi * rise), 0.5 - 0.5 * np.cos(np.pi * fall)
  ).astype(np.float32)


def _pulse(times_s, start_s, end_s):
  """A raised-cosine bump over [start, end]."""
  phase = np.clip((times_s - start_s) / (end_s - start_s), 0, 1)
  return (0.5 - 0.5 * np.cos(2 * np.pi * phase)).astype(np.float32)


def _step(times_s, start_s, end_s):
  """A raised-cosine step from 0 to 1 over [start, end]."""
  phase = np.clip((times_s - start_s) / (end_s - start_s), 0, 1)
  return (0.5 - 0.5 * np.cos(np.pi * phase)).astype(np.float32)


def render_trial(
  face: FaceModel,
  plan: TrialPlan,
  num_frames: int,
  fps: float,
  sensor_noise_gray: float,
  rng: np.random.Generator,
) -> Iterator[np.ndarray]:
  """Yields the trial's frames, (H, W, 3) uint8 BGR, one at a time.

  Frame i shows time i / fps: every planted expression's (and twitch's) AU motion at its profile's
  intensity, blinks, head translation (shifts that stay, plus slow sway), lighting
  flicker and Gaussian sensor noise.
  """
  height, width = face.open_eyes.shape[:2]
  times = np.arange(num_frames) / fps
  expression_weights = [
    (
      expression_profile(times, e.onset_s, e.apex_s, e.offset_s) * e.amplitude_px,
      sum(face.au_fields[u] for u in e.action_units) / len(e.action_units) ** 0.5,
    )
    for e in plan.expressions + plan.twitches
  ]
  blink = np.zeros(num_frames, np.float32)
  gain = np.ones(num_frames, np.float32)
  sway_phase = rng.uniform(0, 2 * np.pi, 2)
  head = _SWAY_PX * np.sin(2 * np.pi * _SWAY_HZ * times[:, None] + sway_phase)
  for d in plan.distractors:
    if d.kind == "blink":
      blink = np.maximum(blink, _pulse(times, d.start_s, d.end_s))
    elif d.kind == "flicker":
      gain += d.value[0] * _pulse(times, d.start_s, d.end_s)
    else:
      head += np.outer(_step(times, d.start_s, d.end_s), d.value)
  noise_bank = rng.normal(0, sensor_noise_gray, (_NOISE_BANK, height, width, 3)).astype(np.float32)
  noise_start = int(rng.integers(_NOISE_BANK))
  ys, xs = np.mgrid[0:height, 0:width].astype(np.float32)
  head = head.astype(np.float32)
  for index in range(num_frames):
    displacement = np.zeros((height, width, 2), np.float32)
    for intensity, field in expression_weights:
      if intensity[index] > 0:
        displacement += intensity[index] * field
    source = face.open_eyes + blink[index] * face.blink_delta if blink[index] else face.open_eyes
    frame = cv2.remap(
      source,
      xs - displacement[..., 0] - head[index, 0],
      ys - displacement[..., 1] - head[index, 1],
      cv2.INTER_LINEAR,
      borderMode=cv2.BORDER_REFLECT,
    )
    frame = frame * gain[index] + noise_bank[(noise_start + 7 * index) % _NOISE_BANK]
    yield np.clip(frame, 0, 255).astype(np.uint8)
