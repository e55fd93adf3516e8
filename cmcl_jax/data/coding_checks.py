"""Check readable coding-file rows for suspicious entries, reported as `Finding`s.

`cmcl_jax.data.coding.read_coding_file` refuses what it cannot read; what it reads
may still be wrong in ways a build should know about and keep: re-annotations of
the same expression, overlapping expressions, offsets never marked, camera stamps
and times that disagree, unknown emotion labels, a ``dif`` the times do not give.
`validate_expressions` finds them (naming rows and fields, never raising on data);
`summarize_findings` counts them per code.

Example::

    findings = validate_expressions(coding.read_coding_file("coding_file.xlsx"))
    summarize_findings(findings)   # published file: {'near_duplicate': 99, 'overlap': 144, ...}
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Sequence
from itertools import combinations

from cmcl_jax.data.coding import MECG_FPS, Expression, seconds_to_ms

DUPLICATE_TOLERANCE_S = 0.1
"""Near-duplicate rule: onsets and apexes both within this many seconds."""
DUPLICATE_MIN_IOU = 0.7
"""Near-duplicate rule: or interval IoU ≥ this with the same set of AUs."""
FRAME_TOLERANCE = 2
"""Largest disagreement (frames) tolerated between two sources of one duration."""

KNOWN_EMOTIONS = frozenset(
  {"angry", "contempt", "disgust", "fear", "happy", "sad", "surprise", "tense"}
)
"""Emotion labels taken without a finding: the seven the published coding file uses
(``tense`` replaces the paper's ``contempt``) plus ``contempt``. The paper's noun
forms (``anger``, ``happiness``, …) are flagged on purpose, so that a file mixing
``anger`` and ``angry`` does not silently split one class in two."""


NEAR_DUPLICATE = "near_duplicate"
OVERLAP = "overlap"
OFFSET_NOT_MARKED = "offset_not_marked"
STAMP_DURATION_MISMATCH = "stamp_duration_mismatch"
UNKNOWN_EMOTION = "unknown_emotion"
DIF_MISMATCH = "dif_mismatch"
FINDING_CODES = (
  NEAR_DUPLICATE,
  OVERLAP,
  OFFSET_NOT_MARKED,
  STAMP_DURATION_MISMATCH,
  UNKNOWN_EMOTION,
  DIF_MISMATCH,
)


@dataclasses.dataclass(frozen=True)
class Finding:
  """A readable but suspicious coding-file entry.

  Attributes:
    row: spreadsheet row the finding is about.
    code: one of `FINDING_CODES`.
    message: what is wrong, in the file's terms (rows, columns, seconds, frames).
    related_rows: other rows involved (the other half of a duplicate or overlap).
  """

  row: int
  code: str
  message: str
  related_rows: tuple[int, ...] = ()


def _interval_ms(e: Expression) -> tuple[int, int]:
  """[onset, offset] of an expression in whole milliseconds."""
  return seconds_to_ms(e.onset_s), seconds_to_ms(e.offset_s)


def _iou(a: Expression, b: Expression) -> float:
  """IoU of the [onset, offset] intervals, on whole milliseconds."""
  (a_on, a_off), (b_on, b_off) = _interval_ms(a), _interval_ms(b)
  inter = min(a_off, b_off) - max(a_on, b_on)
  union = max(a_off, b_off) - min(a_on, b_on)
  if inter < 0:
    return 0.0
  return 1.0 if union == 0 else inter / union


def _intersect(a: Expression, b: Expression) -> bool:
  (a_on, a_off), (b_on, b_off) = _interval_ms(a), _interval_ms(b)
  return max(a_on, b_on) < min(a_off, b_off)


def _later_first(a: Expression, b: Expression) -> tuple[Expression, Expression]:
  """(re-annotation, original): the later annotation date, else the later row."""
  if a.annotated_on and b.annotated_on and a.annotated_on != b.annotated_on:
    return (a, b) if a.annotated_on > b.annotated_on else (b, a)
  return (a, b) if a.row > b.row else (b, a)


def _when(e: Expression) -> str:
  return e.annotated_on.strftime("%Y-%m-%d %H:%M") if e.annotated_on else "undated"


def _pair_findings(
  expressions: Sequence[Expression], tolerance_ms: int, min_iou: float
) -> list[Finding]:
  by_video: dict[str, list[Expression]] = {}
  for e in expressions:
    by_video.setdefault(e.video, []).append(e)
  findings = []
  for video, group in by_video.items():
    for a, b in combinations(group, 2):
      d_onset = abs(seconds_to_ms(a.onset_s) - seconds_to_ms(b.onset_s))
      d_apex = abs(seconds_to_ms(a.apex_s) - seconds_to_ms(b.apex_s))
      iou = _iou(a, b)
      close = d_onset <= tolerance_ms and d_apex <= tolerance_ms
      if close or (iou >= min_iou and a.action_units == b.action_units):
        new, old = _later_first(a, b)
        findings.append(
          Finding(
            new.row,
            NEAR_DUPLICATE,
            f"row {new.row} ({_when(new)}) re-annotates the expression of row "
            f"{old.row} ({_when(old)}) in {video}: onsets differ by "
            f"{d_onset / 1000:.3f} s, apexes by {d_apex / 1000:.3f} s, "
            f"IoU {iou:.2f}, AUs {','.join(new.action_units)} vs "
            f"{','.join(old.action_units)}",
            (old.row,),
          )
        )
      elif _intersect(a, b):
        first, second = sorted((a, b), key=lambda e: e.row)
        findings.append(
          Finding(
            second.row,
            OVERLAP,
            f"row {second.row} [{second.onset_s}, {second.offset_s}] s overlaps "
            f"row {first.row} [{first.onset_s}, {first.offset_s}] s in {video} "
            f"(IoU {iou:.2f}, not a near-duplicate)",
            (first.row,),
          )
        )
  return findings


def _stamp_finding(e: Expression, fps: float, tolerance: int) -> Finding | None:
  problems = []
  for name, start_clock, end_clock, start_s, end_s in (
    ("onset→apex", e.onset_clock_s, e.apex_clock_s, e.onset_s, e.apex_s),
    ("onset→offset", e.onset_clock_s, e.offset_clock_s, e.onset_s, e.offset_s),
  ):
    if start_clock is None or end_clock is None:
      continue
    by_clock = (end_clock - start_clock) * fps
    by_time = (end_s - start_s) * fps
    if abs(by_clock - by_time) > tolerance:
      problems.append(
        f"{name} is {by_clock:.1f} frames by the stamps but {by_time:.1f} by the times"
      )
  if not problems:
    return None
  return Finding(
    e.row,
    STAMP_DURATION_MISMATCH,
    f"row {e.row}: {'; '.join(problems)} (at {fps:g} fps, tolerance {tolerance} frames)",
  )


def _dif_finding(e: Expression, fps: float, tolerance: int) -> Finding | None:
  onset, apex, _ = e.frames(fps)
  if e.dif is None or abs(e.dif - (apex - onset)) <= tolerance:
    return None
  message = (
    f"row {e.row}: dif is {e.dif} but ApexTime−OnsetTime is "
    f"{apex - onset} frames at {fps:g} fps (tolerance {tolerance})"
  )
  if e.onset_counter is None and e.onset_clock_s is not None and e.apex_clock_s is not None:
    ms_field_diff = (seconds_to_ms(e.apex_clock_s) - seconds_to_ms(e.onset_clock_s)) % 1000
    if e.dif == ms_field_diff + 1:
      message += (
        "; it equals the stamps' millisecond-field difference + 1, the "
        "frame-counter formula applied to stamps without a counter"
      )
  return Finding(e.row, DIF_MISMATCH, message)


def validate_expressions(
  expressions: Sequence[Expression],
  fps: float = MECG_FPS,
  *,
  duplicate_tolerance_s: float = DUPLICATE_TOLERANCE_S,
  duplicate_min_iou: float = DUPLICATE_MIN_IOU,
  frame_tolerance: int = FRAME_TOLERANCE,
) -> list[Finding]:
  """Check readable expressions for suspicious entries; never raises on data.

  Rules (times compared on whole milliseconds):

  - ``near_duplicate``: two rows of the same video whose onsets and apexes both
    differ by ≤ ``duplicate_tolerance_s`` (0.1 s), or whose [onset, offset]
    intervals have IoU ≥ ``duplicate_min_iou`` (0.7) with the same AU set. The
    finding is on the re-annotation (later ``Date``, else later row);
    ``related_rows`` holds the other row.
  - ``overlap``: two rows of the same video whose [onset, offset] intervals share
    more than an end point and are not near-duplicates; on the later row.
  - ``offset_not_marked``: OffsetTime equals ApexTime.
  - ``stamp_duration_mismatch``: onset→apex or onset→offset from the camera stamps
    (wall clock) and from the times differ by > ``frame_tolerance`` frames
    (2) at ``fps``; rows without both stamps are not checked.
  - ``unknown_emotion``: label not in `KNOWN_EMOTIONS`.
  - ``dif_mismatch``: ``dif`` differs from apex − onset frames (from the times, at
    ``fps``) by > ``frame_tolerance`` frames. The published file's ``dif`` is the
    stamps' counter difference + 1, within tolerance where the stamps carry a
    frame counter; where they do not, the authors' formula produced a millisecond
    difference, and the message says so.

  Args:
    expressions: as returned by `coding.read_coding_file`.
    fps: video frame rate, frames/s.

  Returns:
    Findings sorted by row, then code.
  """
  findings = _pair_findings(expressions, seconds_to_ms(duplicate_tolerance_s), duplicate_min_iou)
  for e in expressions:
    if seconds_to_ms(e.offset_s) == seconds_to_ms(e.apex_s):
      findings.append(
        Finding(
          e.row,
          OFFSET_NOT_MARKED,
          f"row {e.row}: OffsetTime equals ApexTime "
          f"({e.apex_s} s); the offset was probably not "
          "marked",
        )
      )
    if e.emotion not in KNOWN_EMOTIONS:
      findings.append(
        Finding(
          e.row,
          UNKNOWN_EMOTION,
          f"row {e.row}: emotion {e.emotion!r} is not one of {', '.join(sorted(KNOWN_EMOTIONS))}",
        )
      )
    findings.extend(
      f
      for f in (_stamp_finding(e, fps, frame_tolerance), _dif_finding(e, fps, frame_tolerance))
      if f
    )
  return sorted(findings, key=lambda f: (f.row, FINDING_CODES.index(f.code), f.related_rows))


def summarize_findings(findings: Iterable[Finding]) -> dict[str, int]:
  """Number of findings per code, every code of `FINDING_CODES` listed (0 too)."""
  counts = dict.fromkeys(FINDING_CODES, 0)
  for finding in findings:
    counts[finding.code] += 1
  return counts
