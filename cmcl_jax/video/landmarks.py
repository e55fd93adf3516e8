"""dlib's 68 facial landmarks on one frame: HOG face detector + shape predictor.

The video-only baselines (MDMD, SOFTNet) crop faces and choose their regions with
these landmarks; `cmcl_jax.video.landmark_rois` turns them into region boxes.

Models: the HOG frontal face detector is built into dlib (``dlib-bin`` wheel); the
68-point shape predictor ``shape_predictor_68_face_landmarks.dat`` (≈ 100 MB) ships
with the ``face-recognition-models`` package. Its own helper
``face_recognition_models.pose_predictor_model_location()`` imports ``pkg_resources``
(deprecated by setuptools and announced for removal; setuptools 65.5 here still has
it), so the file is located through the package's import spec instead, without
importing the package. Both models are loaded once per
process and model path, on first use (≈ 0.7 s); dlib is imported only then, so
``cmcl_jax.video`` imports without it.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import threading
from pathlib import Path

import numpy as np

from cmcl_jax.video.frames import check_frame, to_gray

MODEL_ENV = "CMCL_LANDMARK_MODEL"
"""Environment variable: path of a ``shape_predictor_68_face_landmarks.dat`` to use."""

MODEL_PACKAGE = "face_recognition_models"
MODEL_FILE = "models/shape_predictor_68_face_landmarks.dat"
INSTALL_HINT = "pip install face-recognition-models"

NUM_LANDMARKS = 68

# Automatic upsampling: dlib's HOG window is 80×80 px, so faces below ≈ 80 px are found
# only on a 2× upsampled image (down to ≈ 40 px), at 4× the cost (640×480: ≈ 20 ms at
# 0, ≈ 80 ms at 1; 2040×1088: ≈ 0.15 s at 0, ≈ 0.66 s at 1, on the 2-core Xeon dev box). The retry
# runs only on frames whose longer side is at most this many pixels: in the large
# frames of SAMM-LV (2040×1088) the face is far above 80 px, and a retry on every
# face-less frame would cost ~0.7 s.
AUTO_UPSAMPLE_MAX_SIDE_PX = 1024


class LandmarkModelError(OSError):
  """The 68-point landmark model file is missing or is not a dlib shape predictor."""


def landmark_model_path(model_path: str | os.PathLike | None = None) -> Path:
  """Where the 68-point shape predictor is looked for.

  Order: `model_path` if given, else the ``CMCL_LANDMARK_MODEL`` environment variable
  if set, else the file inside the installed ``face-recognition-models`` package.

  Raises:
    LandmarkModelError: the file is not there (the message names the path looked at
      and the command that installs it).
  """
  if model_path is not None:
    path, source = Path(model_path), "model_path"
  elif os.environ.get(MODEL_ENV):
    path, source = Path(os.environ[MODEL_ENV]), f"from ${MODEL_ENV}"
  else:
    spec = importlib.util.find_spec(MODEL_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
      raise LandmarkModelError(
        f"dlib 68-point landmark model: package {MODEL_PACKAGE} is not installed; "
        f"run `{INSTALL_HINT}` or set {MODEL_ENV} to a shape_predictor_68_face_landmarks.dat"
      )
    path = Path(next(iter(spec.submodule_search_locations))) / MODEL_FILE
    source = f"inside package {MODEL_PACKAGE}"
  if not path.is_file():
    raise LandmarkModelError(
      f"dlib 68-point landmark model not found at {path} ({source}); run `{INSTALL_HINT}`, "
      f"or point {MODEL_ENV} (or model_path=) at a shape_predictor_68_face_landmarks.dat"
    )
  return path


_DLIB_LOCK = threading.Lock()
"""Held around every dlib call (`detect_landmarks` may run on several threads)."""


@functools.lru_cache(maxsize=None)
def _models(path: str):
  """(HOG face detector, 68-point shape predictor) for the model file `path`, cached."""
  try:
    import dlib
  except ImportError as error:
    raise ImportError(
      f"cmcl_jax.video.landmarks needs dlib: run `pip install dlib-bin` ({error})"
    ) from error
  try:
    predictor = dlib.shape_predictor(path)
  except RuntimeError as error:
    raise LandmarkModelError(
      f"{path}: not a dlib shape predictor ({error}); expected "
      f"shape_predictor_68_face_landmarks.dat from `{INSTALL_HINT}`"
    ) from error
  return dlib.get_frontal_face_detector(), predictor


def _check_upsample(upsample: object) -> None:
  if upsample is not None and (
    not isinstance(upsample, (int, np.integer)) or isinstance(upsample, bool) or upsample < 0
  ):
    raise ValueError(f"upsample: expected None (automatic) or an int >= 0, got {upsample!r}")


def detect_landmarks(
  frame: np.ndarray,
  *,
  upsample: int | None = None,
  model_path: str | os.PathLike | None = None,
) -> np.ndarray | None:
  """The 68 iBUG landmarks of the largest frontal face in one frame.

  Detection runs dlib's HOG frontal face detector on the grayscale frame; when it
  finds several faces, the one with the largest box area is kept. dlib's shape
  predictor then places the 68 points inside that box.

  Upsampling (``upsample=None``, automatic): detect at the frame's own resolution
  (faces of ≈ 80 px and up); if nothing is found and the frame's longer side is at
  most `AUTO_UPSAMPLE_MAX_SIDE_PX` (1024), detect again on a 2× upsampled image (faces
  down to ≈ 40 px, 4× the cost). Measured: the 256×256 MECG face crops need no
  upsampling; shrunk to 48 px (face ≈ 40 px wide) in a 512×512 frame, 0 of 13 are
  found without and 13 of 13 with one (at 64 px, 10 of 13 without). An int runs
  exactly that many 2× upsamplings, without retry (use 1 for small faces in frames
  larger than 1024 px).

  iBUG-68 order, "left"/"right" as seen in the image (the subject's right side is
  image-left): 0–16 jaw (image-left to image-right), 17–21 image-left eyebrow,
  22–26 image-right eyebrow, 27–30 nose bridge (top to tip), 31–35 nostrils, 36–41
  image-left eye, 42–47 image-right eye (each clockwise from its image-left corner:
  36 outer, 39 inner; 42 inner, 45 outer), 48–59 outer lip, 60–67 inner lip (48/54 and 60/64 the mouth
  corners).

  Args:
    frame: uint8 (H, W) grayscale or (H, W, 3) BGR, as OpenCV reads it.
    upsample: None for the automatic policy above, or the number of 2× upsamplings.
    model_path: the 68-point ``.dat`` file; default `landmark_model_path()`.

  Returns:
    (68, 2) float32, (x, y) in full-frame pixels (column, row of the pixel centre;
    dlib's points are whole pixels). Points may lie slightly outside the frame where
    the face touches its edge (e.g. the chin of a tight crop). None when no face is
    found.

  Raises:
    ValueError: `frame` is not a uint8 (H, W) or (H, W, 3) array, or `upsample` is
      not None or an int >= 0.
    LandmarkModelError: the landmark model file is missing or unreadable.
  """
  try:
    check_frame(frame)
  except TypeError as error:
    raise ValueError(str(error)) from error
  _check_upsample(upsample)
  path = str(landmark_model_path(model_path))
  gray = np.ascontiguousarray(to_gray(frame))
  with _DLIB_LOCK:  # one dlib call at a time: the shared models crash under threads
    detector, predictor = _models(path)
    if upsample is None:
      faces = detector(gray, 0)
      if len(faces) == 0 and max(gray.shape) <= AUTO_UPSAMPLE_MAX_SIDE_PX:
        faces = detector(gray, 1)
    else:
      faces = detector(gray, int(upsample))
    if len(faces) == 0:
      return None
    face = max(faces, key=lambda rect: rect.area())
    shape = predictor(gray, face)
  if shape.num_parts != NUM_LANDMARKS:
    raise LandmarkModelError(
      f"the landmark model gives {shape.num_parts} points; expected the "
      f"{NUM_LANDMARKS}-point shape_predictor_68_face_landmarks.dat"
    )
  return np.array([(point.x, point.y) for point in shape.parts()], dtype=np.float32)
