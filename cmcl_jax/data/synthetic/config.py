"""Knobs of the synthetic MECG generator and its named presets.

Every knob has the unit in its name or its comment. `preset("tiny")` builds in seconds
for tests; `preset("demo")` (4 subjects × 4 trials × 30 s) in well under a minute on
2 CPU cores; `preset("study")` is the demo with 8 subjects (the seed study's);
`preset("stress")` is
large on purpose (for build and loader benchmarks).
"""

from __future__ import annotations

import dataclasses


SCHEDULE_MARGIN_S = 1.0
"""Seconds at each end of a trial video where no expression is planted."""


@dataclasses.dataclass(frozen=True)
class SyntheticConfig:
  """Size, content and physiology of a synthetic MECG.

  Sizes:
    num_subjects, trials_per_subject: the dataset grid (≤ 48 trials: one per clip
      marker 101…148).
    trial_seconds: length of every trial video, s.
    rest_seconds: ECG recorded between two trials (and before the first), s.
    fps: video frame rate, Hz (MECG: 150).
    frame_height, frame_width: video size, pixels.
    ecg_sampling_rate: Hz (MECG: 1000).
    ecg_format: "npz" or "csv" for the continuous per-subject recording.

  Expressions (counts are Poisson means per trial):
    micro_per_trial, macro_per_trial: planted expressions.
    micro_duration_s: (min, max) onset→offset of an ME (paper: ≤ 0.5 s).
    macro_duration_s: (min, max) onset→offset of a macro-expression.
    micro_amplitude_px, macro_amplitude_px: (min, max) peak displacement of the
      AU motion at the apex, pixels at the rendered frame size.
    min_gap_s: minimum gap between two planted expressions, s.

  Distractors (per minute): blinks, head shifts, lighting flicker; sensor noise is
  Gaussian with `sensor_noise_gray` standard deviation in gray levels.
    twitches_per_minute: ME-like facial movements without emotional arousal
      (habitual twitches, mimicry): drawn exactly like MEs (durations, rise,
      amplitudes, AUs of a random emotion) but never with an HR response and never
      in the coding file. The video alone cannot tell them from MEs; the heart
      can, for the MEs that respond. This is the confound the CCF exists for: real
      video-only spotting has low precision (the paper's Table 3). 0 turns it off.
      Twice the ME rate by default: at 6 a minute video-only precision was ~0.48
      (seeds 10–12), far above the paper's (≤ 0.27); at 12, 0.32 (development seed 3).
      Events that find no room `min_gap_s` from the others are counted in the ground
      truth ("unplaced"), so the planted rate is lower (~8 a minute in 30 s trials).

  Heart:
    baseline_hr_bpm: (min, max) subject resting HR.
    rsa_bpm: (min, max) respiratory sinus arrhythmia amplitude, bpm.
    hr_response_share: share of MEs with a planted HR acceleration.
    macro_hr_response_share: the same for macro-expressions.
    hr_response_bpm: (min, max) size of the acceleration.
    hr_response_latency_s: (min, max) delay from apex to the steepest HR rise.
    hr_rise_s: time constant of the rise, s; hr_recovery_s: of the decay back.
    spontaneous_hr_events_per_minute: accelerations locked to nothing, so that HR
      slope carries information about MEs but not all of it.
    ecg_noise_scale: multiplies every default ECG noise amplitude (0 = clean).
  """

  num_subjects: int = 6
  trials_per_subject: int = 4
  trial_seconds: float = 30.0
  rest_seconds: float = 4.0
  fps: float = 150.0
  frame_height: int = 128
  frame_width: int = 128
  ecg_sampling_rate: float = 1000.0
  ecg_format: str = "npz"

  micro_per_trial: float = 3.0
  macro_per_trial: float = 0.7
  micro_duration_s: tuple[float, float] = (0.2, 0.5)
  macro_duration_s: tuple[float, float] = (0.8, 2.5)
  micro_amplitude_px: tuple[float, float] = (1.3, 2.5)
  macro_amplitude_px: tuple[float, float] = (3.0, 5.0)
  min_gap_s: float = 2.0

  blinks_per_minute: float = 12.0
  head_shifts_per_minute: float = 4.0
  flicker_per_minute: float = 3.0
  twitches_per_minute: float = 12.0
  sensor_noise_gray: float = 2.0

  baseline_hr_bpm: tuple[float, float] = (62.0, 82.0)
  rsa_bpm: tuple[float, float] = (0.8, 2.0)
  hr_response_share: float = 0.7
  macro_hr_response_share: float = 0.3
  hr_response_bpm: tuple[float, float] = (10.0, 16.0)
  hr_response_latency_s: tuple[float, float] = (-0.2, 0.3)
  hr_rise_s: float = 0.3
  hr_recovery_s: float = 4.0
  spontaneous_hr_events_per_minute: float = 1.0
  ecg_noise_scale: float = 1.0

  def __post_init__(self):
    if not 1 <= self.trials_per_subject <= 48:
      raise ValueError(
        f"trials_per_subject={self.trials_per_subject}: expected 1…48 "
        "(one trial per clip marker 101…148)"
      )
    if self.num_subjects < 1:
      raise ValueError(f"num_subjects={self.num_subjects}: expected ≥ 1")
    if self.ecg_format not in ("npz", "csv"):
      raise ValueError(f"ecg_format={self.ecg_format!r}: expected 'npz' or 'csv'")
    if self.micro_duration_s[1] > 0.5:
      raise ValueError("micro_duration_s: an ME lasts at most 0.5 s (onset→offset)")
    if self.macro_duration_s[0] <= 0.5:
      raise ValueError("macro_duration_s: a macro-expression lasts more than 0.5 s")
    if min(self.frame_height, self.frame_width) < 64:
      raise ValueError("frame_height/frame_width: expected ≥ 64 pixels")
    self._check_values()

  def _check_values(self):
    """Raises ValueError naming the first field out of its range."""
    positive = ("trial_seconds", "fps", "ecg_sampling_rate", "hr_rise_s", "hr_recovery_s")
    at_least_zero = (
      "rest_seconds", "micro_per_trial", "macro_per_trial", "min_gap_s", "blinks_per_minute",
      "head_shifts_per_minute", "flicker_per_minute", "twitches_per_minute",
      "sensor_noise_gray", "spontaneous_hr_events_per_minute", "ecg_noise_scale",
    )  # fmt: skip
    shares = ("hr_response_share", "macro_hr_response_share")
    ranges = (
      "micro_duration_s", "macro_duration_s", "micro_amplitude_px", "macro_amplitude_px",
      "baseline_hr_bpm", "rsa_bpm", "hr_response_bpm",
    )  # fmt: skip
    for name in positive:
      value = getattr(self, name)
      if not value > 0:  # also refuses NaN
        raise ValueError(f"{name}={value!r}: expected > 0")
    for name in at_least_zero:
      value = getattr(self, name)
      if not value >= 0:
        raise ValueError(f"{name}={value!r}: expected ≥ 0")
    for name in shares:
      value = getattr(self, name)
      if not 0 <= value <= 1:
        raise ValueError(f"{name}={value!r}: expected a share in [0, 1]")
    for name in (*ranges, "hr_response_latency_s"):
      low, high = getattr(self, name)
      if not low <= high or (name != "hr_response_latency_s" and not low >= 0):
        raise ValueError(f"{name}={(low, high)!r}: expected (min, max) with 0 ≤ min ≤ max")
    longest = max(
      self.micro_duration_s[1] if self.micro_per_trial else 0.0,
      self.macro_duration_s[1] if self.macro_per_trial else 0.0,
    )
    if self.trial_seconds < longest + 2 * SCHEDULE_MARGIN_S:
      raise ValueError(
        f"trial_seconds={self.trial_seconds:g}: expected ≥ {longest + 2 * SCHEDULE_MARGIN_S:g} s, "
        f"the longest expression (micro/macro_duration_s) and {SCHEDULE_MARGIN_S:g} s at each "
        "end of the video, where no expression is planted"
      )


PRESETS = {
  "tiny": SyntheticConfig(
    num_subjects=3,
    trials_per_subject=2,
    trial_seconds=10.0,
    rest_seconds=3.0,
    frame_height=96,
    frame_width=96,
    micro_per_trial=2.5,
    min_gap_s=1.5,
    twitches_per_minute=12.0,
  ),
  "demo": SyntheticConfig(num_subjects=4),
  # The seed study's: the demo's data with twice the subjects, 24 over 3 seeds for
  # its bootstrap intervals (≈ 20–28 min a seed on 2 shared cores, docs/results.md).
  "study": SyntheticConfig(num_subjects=8),
  "stress": SyntheticConfig(
    num_subjects=20, trials_per_subject=12, trial_seconds=60.0, frame_height=160, frame_width=160
  ),
}


def parse_overrides(assignments) -> dict:
  """`["num_subjects=4", "rsa_bpm=1,2"]` → typed overrides of `SyntheticConfig` fields.

  Raises:
    ValueError: naming the assignment, for an unknown field or a badly typed value.
  """
  defaults = SyntheticConfig()
  names = [f.name for f in dataclasses.fields(SyntheticConfig)]
  overrides = {}
  for assignment in assignments:
    name, _, text = assignment.partition("=")
    if name not in names or not text:
      raise ValueError(f"{assignment!r}: expected name=value with name one of {names}")
    default = getattr(defaults, name)
    try:
      if isinstance(default, tuple):
        overrides[name] = tuple(float(v) for v in text.split(","))
      else:
        overrides[name] = type(default)(text)
    except ValueError:
      raise ValueError(f"{assignment!r}: {text!r} is not a {type(default).__name__}") from None
  return overrides


def preset(name: str, **overrides) -> SyntheticConfig:
  """Returns the named preset ("tiny", "demo", "stress") with fields overridden."""
  if name not in PRESETS:
    raise ValueError(f"unknown synthetic preset {name!r}; expected one of {sorted(PRESETS)}")
  return dataclasses.replace(PRESETS[name], **overrides)
