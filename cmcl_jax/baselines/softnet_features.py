"""SOFTNet's per-frame input: flow (u, v) and optical strain ε of eyebrow and mouth ROIs.

After Liong et al. 2021 (genbing99/SoftNet-SpotME, ``extraction_preprocess.py`` and
the ``normalize`` of ``training.py``). For each frame i of a video of T face crops,
with k the expression half-length of the dataset (`softnet_labels.K_FRAMES`):

1. Dense flow (u, v) from crop i to crop i + k, pixels, on gray crops resized to
   `CROP_PX` × `CROP_PX` (SOFTNet resizes dlib's HOG face box to 128 × 128).
2. Optical strain ε = sqrt(u_x² + v_y² + ½ (u_y + v_x)²) (`optical_strain`).
3. Head motion removed with the 11 × 11 nose patch around landmark 28: u ← |u − ū|,
   v ← |v − v̄| (absolute values, as the authors do), ε ← ε − ε̄.
4. Both eyes zeroed in u, v and ε (`landmark_rois.eye_mask`: blinks are not
   expressions).
5. Two ROIs, each resized (bilinear) to 42 wide × 21 high and stacked: the eyebrow
   band (rows from the higher eyebrow box's top to the lower one's bottom, columns
   from the left eyebrow box's x0 to the right one's x1) over the mouth box
   (`cmcl_jax.video.landmark_rois`). Regions are placed once per video, from one
   set of landmarks, as the authors do.

That gives (T − k, 42, 42, 3) float32 in flow pixels (channels u, v, ε); the last k
frames have no partner. `normalize` then scales each image's channels to [0, 1] —
the model's input; the training augmentation (`softnet_train`) works on the
unnormalised features, as the authors' does.

Flow methods (`FLOW_METHODS`), ms per 128 × 128 pair (median, one OpenCV thread, a
face crop against itself stretched 1 % and shifted (0.8, 0.5) px; the dev machine's
2 cores shared with other jobs, load ≈ 4, 2026-12-01):

=========== ====== ===========================================================
method      ms     engine
=========== ====== ===========================================================
"dis"       0.23   OpenCV DIS, FAST preset (`cmcl_jax.video.FlowEstimator`)
"farneback" 2.8    OpenCV Farneback (`cmcl_jax.video.FlowEstimator`)
"tvl1"      287    OpenCV contrib ``cv2.optflow.DualTVL1OpticalFlow``, defaults:
                   the authors' engine; needs ``opencv-contrib-python-headless``
=========== ====== ===========================================================

scikit-image's ``optical_flow_tvl1`` took 148 ms. TV-L1 would take 7 h for a 10-min
trial at 150 fps, so the default is DIS, a stand-in: its median error on a known
affine warp was 0.066 px against TV-L1's 0.029 px.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Callable, Iterable, Iterator

import cv2
import numpy as np

from cmcl_jax.video import landmark_rois
from cmcl_jax.video.flow import FlowEstimator, prepare

FLOW_METHODS = ("dis", "farneback", "tvl1")
DEFAULT_FLOW_METHOD = "dis"
CROP_PX = 128
"""Side of the square gray crop the flow is computed on, pixels (SOFTNet: 128)."""
ROI_WIDTH, ROI_HEIGHT = 42, 21
"""Each of the two ROIs is resized to this, pixels; stacked they make 42 × 42."""
CHANNELS = ("u", "v", "strain")

Flow = Callable[[np.ndarray, np.ndarray], np.ndarray]
"""``flow(prev, nxt) -> (H, W, 2) float32`` pixels, prev and nxt uint8 (H, W) gray."""


def flow_engine(method: str = DEFAULT_FLOW_METHOD) -> Flow:
  """A reusable flow function for `method` (one of `FLOW_METHODS`; not thread-safe).

  Raises:
    ValueError: an unknown method, or "tvl1" with an OpenCV build without the contrib
      ``optflow`` module (install ``opencv-contrib-python-headless`` in place of
      ``opencv-python-headless``).
  """
  if method not in FLOW_METHODS:
    raise ValueError(f"flow method: expected one of {FLOW_METHODS}, got {method!r}")
  if method != "tvl1":
    return FlowEstimator(method)
  if not hasattr(cv2, "optflow"):
    raise ValueError(
      f"flow method 'tvl1': OpenCV {cv2.__version__} has no contrib module cv2.optflow; "
      "install opencv-contrib-python-headless of the same version in place of "
      "opencv-python-headless, or use 'dis'"
    )
  tvl1 = cv2.optflow.DualTVL1OpticalFlow_create()
  return lambda prev, nxt: tvl1.calc(prev, nxt, None)


def optical_strain(flow: np.ndarray) -> np.ndarray:
  """Optical strain magnitude of a flow field, as SOFTNet computes it.

  ε = sqrt(ε_xx² + ε_yy² + ε_xy² + ε_yx²) with ε_xx = ∂u/∂x, ε_yy = ∂v/∂y and
  ε_xy = ε_yx = ½ (∂u/∂y + ∂v/∂x), i.e. sqrt(u_x² + v_y² + ½ (u_y + v_x)²);
  derivatives are one-pixel forward differences, and the last row and column copy
  their neighbours (the authors' forward fill).

  Args:
    flow: (H, W, 2) float (u, v), pixels; H, W >= 2.

  Returns:
    (H, W) float32, pixels per pixel (dimensionless): 0 for any translation,
    sqrt(a² + b²) for u = a·x, v = b·y.
  """
  flow = np.asarray(flow, np.float64)
  if flow.ndim != 3 or flow.shape[2] != 2 or min(flow.shape[:2]) < 2:
    raise ValueError(f"flow: expected (H, W, 2) with H, W >= 2, got {flow.shape}")
  u, v = flow[..., 0], flow[..., 1]
  u_x, v_x = np.diff(u, axis=1)[:-1], np.diff(v, axis=1)[:-1]
  u_y, v_y = np.diff(u, axis=0)[:, :-1], np.diff(v, axis=0)[:, :-1]
  strain = np.sqrt(u_x**2 + v_y**2 + 0.5 * (u_y + v_x) ** 2)
  return np.pad(strain, ((0, 1), (0, 1)), mode="edge").astype(np.float32)


@dataclasses.dataclass(frozen=True)
class Regions:
  """Where one video's features are taken (boxes ``(x0, y0, x1, y1)``, x1, y1 exclusive).

  Attributes:
    eyebrows: the band over both eyebrows and eyes.
    mouth: the mouth box.
    nose: the head-motion patch.
    eyes: (H, W) bool, the zeroed eye polygons.
  """

  eyebrows: landmark_rois.Box
  mouth: landmark_rois.Box
  nose: landmark_rois.Box
  eyes: np.ndarray


def softnet_regions(
  landmarks: np.ndarray, frame_shape: tuple[int, int], *, face_px: float | None = None
) -> Regions:
  """SOFTNet's regions of a video from one frame's landmarks.

  Args:
    landmarks: (68, 2) (x, y) pixels of the frame of shape `frame_shape`, iBUG order.
    frame_shape: (H, W) of the frames (flow fields) the regions index.
    face_px: face size the margins are fractions of (`landmark_rois.region_box`);
      `CROP_PX` on a crop that is dlib's HOG box gives SOFTNet's 12 / 15 px margins;
      default the jaw width.

  Raises:
    ValueError: bad landmarks, or the eyebrow band, mouth or nose box is empty
      (the face lies outside the frame).
  """
  boxes = landmark_rois.region_boxes(landmarks, frame_shape, face_px=face_px)
  left, right = boxes[landmark_rois.LEFT_EYEBROW], boxes[landmark_rois.RIGHT_EYEBROW]
  regions = Regions(
    eyebrows=(left[0], min(left[1], right[1]), right[2], max(left[3], right[3])),
    mouth=boxes[landmark_rois.MOUTH],
    nose=boxes[landmark_rois.NOSE],
    eyes=landmark_rois.eye_mask(landmarks, frame_shape, face_px=face_px),
  )
  for name in ("eyebrows", "mouth", "nose"):
    x0, y0, x1, y1 = getattr(regions, name)
    if x1 <= x0 or y1 <= y0:
      raise ValueError(
        f"landmarks: the SOFTNet {name} region {(x0, y0, x1, y1)} is empty in a frame of "
        f"shape {tuple(frame_shape)}; expected the face inside the frame"
      )
  return regions


def _patch(image: np.ndarray, box: landmark_rois.Box) -> np.ndarray:
  x0, y0, x1, y1 = box
  return image[y0:y1, x0:x1]


def remove_head_motion(fields: np.ndarray, nose: landmark_rois.Box) -> np.ndarray:
  """(H, W, 3) float (u, v, ε) → |u − ū|, |v − v̄|, ε − ε̄, means over the `nose` box.

  Returns float32 (H, W, 3); a global translation of the head leaves u = v = 0.
  """
  means = _patch(fields, nose).reshape(-1, 3).mean(axis=0)
  out = (fields - means).astype(np.float32)
  out[..., :2] = np.abs(out[..., :2])
  return out


def roi_image(fields: np.ndarray, regions: Regions) -> np.ndarray:
  """(H, W, 3) head-motion-free (u, v, ε) → (42, 42, 3) float32 network image.

  Zeroes the eyes, then stacks the eyebrow band (rows 0–20) over the mouth (rows
  21–41), each resized bilinearly to 42 × 21.
  """
  masked = np.where(regions.eyes[..., None], np.float32(0), fields).astype(np.float32)
  size = (ROI_WIDTH, ROI_HEIGHT)  # cv2's (width, height)
  return np.concatenate(
    [
      cv2.resize(_patch(masked, regions.eyebrows), size, interpolation=cv2.INTER_LINEAR),
      cv2.resize(_patch(masked, regions.mouth), size, interpolation=cv2.INTER_LINEAR),
    ],
    axis=0,
  )


def flow_features(flow: np.ndarray, regions: Regions) -> np.ndarray:
  """Steps 2–5 on one (H, W, 2) flow field: → (42, 42, 3) float32 (u, v, ε)."""
  fields = np.concatenate([flow, optical_strain(flow)[..., None]], axis=-1)
  return roi_image(remove_head_motion(fields, regions.nose), regions)


def iter_frame_features(
  frames: Iterable[np.ndarray],
  landmarks: np.ndarray,
  *,
  k: int,
  method: str = DEFAULT_FLOW_METHOD,
  face_px: float | None = None,
) -> Iterator[np.ndarray]:
  """SOFTNet features of a video, one frame at a time (holds only k + 1 crops).

  Args:
    frames: T uint8 face crops, (h, w) gray or (h, w, 3) BGR, all of one size.
    landmarks: (68, 2) (x, y) pixels of those crops (e.g. `detect_landmarks` on the
      first crop with a face); rescaled to the `CROP_PX` crop.
    k: frames between the two crops of a flow pair, >= 1 (`softnet_labels.K_FRAMES`).
    method: one of `FLOW_METHODS`.
    face_px: face size in pixels of the original crops, scaled with their width to
      the `CROP_PX` crop (see `softnet_regions`); default the jaw width.

  Yields:
    For i = 0 … T − k − 1: (42, 42, 3) float32 (u, v, ε) of the pair (i, i + k),
    unnormalised (flow pixels of the 128-px crop).
  """
  if not isinstance(k, (int, np.integer)) or k < 1:
    raise ValueError(f"k: expected an int >= 1 (frames between flow pairs), got {k!r}")
  flow = flow_engine(method)
  window, regions, crop_shape = collections.deque(maxlen=k + 1), None, None
  for t, frame in enumerate(frames):
    if regions is None:
      crop_shape = np.shape(frame)[:2]
      scale = np.array([CROP_PX / crop_shape[1], CROP_PX / crop_shape[0]])
      points = landmark_rois.check_landmarks(landmarks) * scale
      px = None if face_px is None else face_px * scale[0]
      regions = softnet_regions(points, (CROP_PX, CROP_PX), face_px=px)
    elif np.shape(frame)[:2] != crop_shape:
      raise ValueError(
        f"frame {t}: shape {np.shape(frame)[:2]} differs from frame 0's {crop_shape}; "
        "expected crops of one size"
      )
    window.append(prepare(frame, (CROP_PX, CROP_PX), name=f"frame {t}"))
    if len(window) == k + 1:
      yield flow_features(flow(window[0], window[-1]), regions)


def frame_features(
  frames: Iterable[np.ndarray],
  landmarks: np.ndarray,
  *,
  k: int,
  method: str = DEFAULT_FLOW_METHOD,
  face_px: float | None = None,
) -> np.ndarray:
  """`iter_frame_features` stacked: (T − k, 42, 42, 3) float32 (u, v, ε), unnormalised.

  Raises:
    ValueError: fewer than k + 1 frames, or the errors of `iter_frame_features`.
  """
  features = list(iter_frame_features(frames, landmarks, k=k, method=method, face_px=face_px))
  if not features:
    raise ValueError(f"frames: need at least k + 1 = {k + 1} crops for one flow pair")
  return np.stack(features)


def normalize(features: np.ndarray) -> np.ndarray:
  """Min-max scale each image's channels to [0, 1] (the model's input).

  As OpenCV's ``NORM_MINMAX`` that the authors apply per image and channel: a
  constant channel becomes 0.

  Args:
    features: (..., 42, 42, 3) float (u, v, ε).

  Returns:
    float32 of the same shape, each (image, channel) spanning [0, 1].
  """
  x = np.asarray(features, np.float32)
  if x.ndim < 3 or x.shape[-1] != len(CHANNELS):
    raise ValueError(f"features: expected (..., H, W, 3) (u, v, ε), got {x.shape}")
  low = x.min(axis=(-3, -2), keepdims=True)
  span = x.max(axis=(-3, -2), keepdims=True) - low
  return np.where(span > 0, (x - low) / np.where(span > 0, span, 1), 0).astype(np.float32)
