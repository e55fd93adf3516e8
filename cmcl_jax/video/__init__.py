"""Video features for CMCL-Net: face ROI per trial, optical flow, motion curves.

Data flow: frames (uint8, from ``cmcl_jax.data.video_io``) → `track_face` (one box per
frame, following slow head drift) → `stream_flow` (face crops → optical flow, head
motion removed) → `motion_curve` or the model's flow windows.
"""

from cmcl_jax.video.face import Box, detect_face
from cmcl_jax.video.flow import (
  DEFAULT_SIZE,
  METHODS,
  FlowEstimator,
  flow_from_reference,
  flow_magnitude,
  optical_flow,
  prepare,
  subtract_global_motion,
)
from cmcl_jax.video.landmarks import LandmarkModelError, detect_landmarks
from cmcl_jax.video.roi import (
  FaceTrack,
  centred_box,
  crop_face,
  detect_faces,
  detect_step,
  track_face,
  track_from_detections,
)
from cmcl_jax.video.stream import REGIONS, motion_curve, stream_flow

__all__ = [
  "Box",
  "DEFAULT_SIZE",
  "FaceTrack",
  "FlowEstimator",
  "LandmarkModelError",
  "METHODS",
  "REGIONS",
  "centred_box",
  "crop_face",
  "detect_face",
  "detect_faces",
  "detect_step",
  "detect_landmarks",
  "flow_from_reference",
  "flow_magnitude",
  "motion_curve",
  "optical_flow",
  "prepare",
  "stream_flow",
  "subtract_global_motion",
  "track_face",
  "track_from_detections",
]
