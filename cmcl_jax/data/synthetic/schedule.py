"""Plans what happens in each synthetic trial: expressions, distractors, HR responses.

Times are seconds from the trial video's frame 0. The plan is pure data drawn from a
seeded generator; rendering (faces.py) and physiology (heart.py) read it.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from cmcl_jax.data.synthetic.config import SCHEDULE_MARGIN_S, SyntheticConfig

# The 48 emotional clips, marker 101…148: (emotion, clip index within the emotion).
CLIP_EMOTIONS = ("angry", "disgust", "fear", "happy", "sad", "surprise", "tense")
CLIPS = tuple((CLIP_EMOTIONS[k % 7], k // 7 + 1, 101 + k) for k in range(48))

# Action units a face shows for each emotion (FACS prototypes, simplified).
EMOTION_ACTION_UNITS = {
  "angry": ("AU4", "AU7"),
  "disgust": ("AU9", "AU10"),
  "fear": ("AU1", "AU2", "AU4"),
  "happy": ("AU6", "AU12"),
  "sad": ("AU1", "AU15"),
  "surprise": ("AU1", "AU2"),
  "tense": ("AU4", "AU14"),
}


@dataclasses.dataclass(frozen=True)
class PlannedExpression:
  """One planted micro- or macro-expression.

  Attributes:
    kind: "micro", "macro", or "twitch" (an ME-like movement without arousal).
    onset_s, apex_s, offset_s: seconds from frame 0, onset < apex < offset.
    action_units: AUs moved, e.g. ("AU4", "AU7").
    emotion: lower-case label.
    amplitude_px: peak displacement at the apex, pixels.
    hr_response: whether an HR acceleration is locked to this apex.
    hr_latency_s: apex → steepest HR rise, s (meaningful when hr_response).
    hr_size_bpm: size of the HR acceleration, bpm (0 when no response).
  """

  kind: str
  onset_s: float
  apex_s: float
  offset_s: float
  action_units: tuple[str, ...]
  emotion: str
  amplitude_px: float
  hr_response: bool
  hr_latency_s: float
  hr_size_bpm: float


@dataclasses.dataclass(frozen=True)
class Distractor:
  """A movement that is not an expression but moves pixels.

  Attributes:
    kind: "blink" (eyelids), "head_shift" (global translation that stays),
      or "flicker" (global brightness change).
    start_s, end_s: seconds from frame 0.
    value: blink: unused (1.0); head_shift: (dx, dy) pixels; flicker: gain − 1.
  """

  kind: str
  start_s: float
  end_s: float
  value: tuple[float, ...]


@dataclasses.dataclass(frozen=True)
class TrialPlan:
  """Everything planted in one trial (one emotional clip watched by one subject).

  `twitches` are ME-like movements without emotional arousal: drawn like MEs (kind
  "twitch", AUs of any emotion), never with an HR response, never coded. `unplaced`
  counts, by kind ("micro", "macro", "twitch"), the drawn events that found no room
  `min_gap_s` away from the others and were not planted.
  """

  subject: str
  emotion: str
  clip_index: int
  marker: int
  expressions: tuple[PlannedExpression, ...]
  distractors: tuple[Distractor, ...]
  twitches: tuple[PlannedExpression, ...] = ()
  unplaced: tuple[tuple[str, int], ...] = ()


def plan_subject_trials(
  config: SyntheticConfig, subject: str, rng: np.random.Generator
) -> list[TrialPlan]:
  """Draws `config.trials_per_subject` distinct clips and plans each trial."""
  clip_ids = np.sort(rng.choice(len(CLIPS), config.trials_per_subject, replace=False))
  return [_plan_trial(config, subject, CLIPS[k], rng) for k in clip_ids]


def _plan_trial(config: SyntheticConfig, subject: str, clip, rng) -> TrialPlan:
  emotion, clip_index, marker = clip
  kinds = ["micro"] * rng.poisson(config.micro_per_trial) + ["macro"] * rng.poisson(
    config.macro_per_trial
  )
  rng.shuffle(kinds)
  expressions = []
  unplaced = {"micro": 0, "macro": 0, "twitch": 0}
  for kind in kinds:
    planned = _place_expression(config, kind, emotion, expressions, rng)
    if planned is not None:
      expressions.append(planned)
    else:
      unplaced[kind] += 1
  expressions.sort(key=lambda e: e.onset_s)
  twitches = []
  for _ in range(rng.poisson(config.twitches_per_minute * config.trial_seconds / 60.0)):
    look = CLIP_EMOTIONS[int(rng.integers(len(CLIP_EMOTIONS)))]
    planned = _place_expression(config, "micro", look, expressions + twitches, rng)
    if planned is not None:
      twitches.append(
        dataclasses.replace(planned, kind="twitch", hr_response=False, hr_size_bpm=0.0)
      )
    else:
      unplaced["twitch"] += 1
  twitches.sort(key=lambda e: e.onset_s)
  return TrialPlan(
    subject,
    emotion,
    clip_index,
    marker,
    tuple(expressions),
    _plan_distractors(config, expressions + twitches, rng),
    tuple(twitches),
    tuple(unplaced.items()),
  )


def _place_expression(config, kind, emotion, placed, rng, attempts=50):
  """Places one expression at least `min_gap_s` from those `placed`, or None if full."""
  low, high = config.micro_duration_s if kind == "micro" else config.macro_duration_s
  for _ in range(attempts):
    duration = rng.uniform(low, high)
    onset = rng.uniform(SCHEDULE_MARGIN_S, config.trial_seconds - SCHEDULE_MARGIN_S - duration)
    if all(
      onset > e.offset_s + config.min_gap_s or onset + duration < e.onset_s - config.min_gap_s
      for e in placed
    ):
      break
  else:
    return None
  # Onset→apex ≤ 250 ms keeps an ME micro by the paper's rule; a macro-expression
  # rises for well over that so that the rule classifies it as macro.
  if kind == "micro":
    rise = min(rng.uniform(0.35, 0.6) * duration, 0.25)
  else:
    rise = max(rng.uniform(0.3, 0.45) * duration, 0.3)
  amplitude_range = config.micro_amplitude_px if kind == "micro" else config.macro_amplitude_px
  share = config.hr_response_share if kind == "micro" else config.macro_hr_response_share
  responds = bool(rng.random() < share)
  action_units = EMOTION_ACTION_UNITS[emotion]
  if rng.random() < 0.3:  # Real coding files often list a subset of the prototype.
    action_units = action_units[: max(1, len(action_units) - 1)]
  return PlannedExpression(
    kind=kind,
    onset_s=round(onset, 3),
    apex_s=round(onset + rise, 3),
    offset_s=round(onset + duration, 3),
    action_units=action_units,
    emotion=emotion,
    amplitude_px=float(rng.uniform(*amplitude_range)),
    hr_response=responds,
    hr_latency_s=float(rng.uniform(*config.hr_response_latency_s)),
    hr_size_bpm=float(rng.uniform(*config.hr_response_bpm)) if responds else 0.0,
  )


def _plan_distractors(config, expressions, rng) -> tuple[Distractor, ...]:
  minutes = config.trial_seconds / 60.0
  distractors = []
  for _ in range(rng.poisson(config.blinks_per_minute * minutes)):
    start = rng.uniform(0.2, config.trial_seconds - 0.5)
    distractors.append(Distractor("blink", start, start + rng.uniform(0.1, 0.3), (1.0,)))
  for _ in range(rng.poisson(config.head_shifts_per_minute * minutes)):
    start = rng.uniform(0.2, config.trial_seconds - 0.8)
    shift = tuple(float(v) for v in rng.uniform(-3.0, 3.0, size=2))
    distractors.append(Distractor("head_shift", start, start + rng.uniform(0.2, 0.6), shift))
  for _ in range(rng.poisson(config.flicker_per_minute * minutes)):
    start = rng.uniform(0.2, config.trial_seconds - 0.5)
    gain = float(rng.choice([-1.0, 1.0]) * rng.uniform(0.04, 0.1))
    distractors.append(Distractor("flicker", start, start + rng.uniform(0.1, 0.3), (gain,)))
  # A distractor is allowed anywhere except on top of a planted apex, so that the
  # ground truth stays an unambiguous statement about the face.
  distractors = [
    d
    for d in distractors
    if all(not (d.start_s - 0.15 <= e.apex_s <= d.end_s + 0.15) for e in expressions)
  ]
  return tuple(sorted(distractors, key=lambda d: d.start_s))
