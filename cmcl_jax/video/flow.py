"""Dense optical flow on face crops (OpenCV DIS or Farneback).

Flow fields are float32 ``(..., H, W, 2)``: channel 0 is the horizontal (x, to the
right) and channel 1 the vertical (y, downward) displacement, in pixels of the
resized crop, from the first image to the second — pixels per frame for
consecutive frames. Images are converted to gray and resized to `size` first.

Default engine: DIS with OpenCV's FAST preset (coarse-to-fine patch search plus
variational refinement), ≈0.5 ms per 128×128 pair on one core; Farneback
(polynomial expansion) is ~8× slower and more accurate (BENCHMARKS.md, "Video").
"""

from __future__ import annotations

from collections.abc import Iterable

import cv2
import numpy as np

from cmcl_jax.video.frames import check_size, resize_gray, to_gray

METHODS = ("dis", "farneback")
DEFAULT_SIZE = (128, 128)

# OpenCV's documented example values: 3-level pyramid halving each level,
# 15 px averaging window, polynomial neighbourhood 5 px with sigma 1.2.
FARNEBACK_PARAMS = dict(
  pyr_scale=0.5, levels=3, winsize=15, iterations=3, poly_n=5, poly_sigma=1.2, flags=0
)


class FlowEstimator:
  """One reusable flow engine: ``estimator(prev, nxt) -> (H, W, 2) float32``.

  Holding the DIS object avoids re-creating it per pair. Not thread-safe: use
  one estimator per thread.

  Args:
    method: "dis" or "farneback".
    remove_global_motion: subtract each field's median flow (see
      `subtract_global_motion`), leaving motion relative to the head.
  """

  def __init__(self, method: str = "dis", *, remove_global_motion: bool = False):
    if method not in METHODS:
      raise ValueError(f"method: expected one of {METHODS}, got {method!r}")
    self.method = method
    self.remove_global_motion = remove_global_motion
    self._dis = (
      cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_FAST) if method == "dis" else None
    )

  def __call__(self, prev: np.ndarray, nxt: np.ndarray) -> np.ndarray:
    """Flow from `prev` to `nxt`, both uint8 (H, W) gray of the same size."""
    if prev.shape != nxt.shape:
      raise ValueError(f"images to compare differ in shape: {prev.shape} vs {nxt.shape}")
    if self._dis is not None:
      flow = self._dis.calc(prev, nxt, None)
    else:
      flow = cv2.calcOpticalFlowFarneback(prev, nxt, None, **FARNEBACK_PARAMS)
    return _subtract_median_inplace(flow) if self.remove_global_motion else flow


def prepare(
  frame: np.ndarray, size: tuple[int, int] = DEFAULT_SIZE, *, name: str = "frame"
) -> np.ndarray:
  """uint8 (h, w) or (h, w, 3) BGR crop → uint8 (H, W) gray at `size` = (H, W)."""
  return resize_gray(to_gray(frame, name=name), check_size(size))


def optical_flow(
  frames: Iterable[np.ndarray],
  *,
  method: str = "dis",
  size: tuple[int, int] = DEFAULT_SIZE,
  remove_global_motion: bool = False,
) -> np.ndarray:
  """Flow between consecutive face crops of a short clip.

  Args:
    frames: T >= 2 uint8 crops, (h, w) gray or (h, w, 3) BGR, any size.
    method: "dis" or "farneback".
    size: (H, W) the crops are resized to, pixels.
    remove_global_motion: subtract each field's median flow.

  Returns:
    (T-1, H, W, 2) float32, pixels per frame; entry t is the flow from frame t to
    frame t+1. For whole trials use `cmcl_jax.video.stream_flow` instead.
  """
  estimator = FlowEstimator(method, remove_global_motion=remove_global_motion)
  flows, prev = [], None
  for t, frame in enumerate(frames):
    image = prepare(frame, size, name=f"frame {t}")
    if prev is not None:
      flows.append(estimator(prev, image))
    prev = image
  if not flows:
    raise ValueError("frames: need at least 2 frames to compute flow")
  return np.stack(flows)


def flow_from_reference(
  frames: Iterable[np.ndarray],
  reference: np.ndarray,
  *,
  method: str = "dis",
  size: tuple[int, int] = DEFAULT_SIZE,
  remove_global_motion: bool = False,
) -> np.ndarray:
  """Flow from one reference crop (e.g. the onset frame) to every crop.

  Args:
    frames: T >= 1 uint8 crops, (h, w) gray or (h, w, 3) BGR.
    reference: uint8 crop the flow starts from, same conventions.
    method, size, remove_global_motion: as in `optical_flow`.

  Returns:
    (T, H, W, 2) float32, pixels (displacement from the reference, not per frame).
  """
  estimator = FlowEstimator(method, remove_global_motion=remove_global_motion)
  ref = prepare(reference, size, name="reference")
  flows = [estimator(ref, prepare(f, size, name=f"frame {t}")) for t, f in enumerate(frames)]
  if not flows:
    raise ValueError("frames: need at least 1 frame")
  return np.stack(flows)


def subtract_global_motion(flow: np.ndarray) -> np.ndarray:
  """Remove the global (head) translation of each flow field.

  The per-field median of each component is the translation most pixels share —
  the head, as long as the moving muscles cover less than half of the crop — and
  is robust to the local motion being measured. It is taken over every other
  pixel in each direction: DIS and Farneback fields are smooth at that scale,
  and it is 4× cheaper.

  Args:
    flow: (..., H, W, 2) float.

  Returns:
    float32 array of the same shape, minus each field's median flow vector.
  """
  flow = _check_flow(flow).astype(np.float32)  # a contiguous copy
  for field in flow.reshape(-1, *flow.shape[-3:]):
    _subtract_median_inplace(field)
  return flow


def flow_magnitude(flow: np.ndarray) -> np.ndarray:
  """Euclidean length of each flow vector: (..., H, W, 2) → (..., H, W) float32, pixels."""
  flow = _check_flow(flow)
  return np.sqrt(flow[..., 0] ** 2 + flow[..., 1] ** 2, dtype=np.float32)


def _subtract_median_inplace(field: np.ndarray) -> np.ndarray:
  """(H, W, 2) float32, modified in place. OpenCV's per-channel scalar subtraction
  is ~10× faster than NumPy broadcasting over a length-2 last axis."""
  dx, dy = np.median(field[::2, ::2].reshape(-1, 2), axis=0)
  return cv2.subtract(field, (float(dx), float(dy), 0.0, 0.0), dst=field)


def _check_flow(flow: np.ndarray) -> np.ndarray:
  flow = np.asarray(flow)
  if flow.ndim < 3 or flow.shape[-1] != 2 or not np.issubdtype(flow.dtype, np.floating):
    raise ValueError(
      f"flow: expected a float array of shape (..., H, W, 2), got {flow.dtype} {flow.shape}"
    )
  return flow
