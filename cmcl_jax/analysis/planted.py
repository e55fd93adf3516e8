"""What a LOSO run fires on, and what its fine-tuning batches hold, on a synthetic MECG.

A synthetic raw layout lists everything it planted (`ground_truth.json`): MEs with and
without a heart-rate response, twitches (ME-like movements that are not coded and never
move the heart), blinks, head shifts, lighting flicker and macro-expressions. Matching
every candidate clip of a variant against those events says *what* it fires on — true
positives on responding or silent MEs, false positives on twitches, blinks, … or on
nothing — and matching every window of a training split says what its fine-tuning
batches are made of (`batch_mix`). Those are the two facts behind the ablation's
numbers: a fused model can only learn to reject twitches if its batches show it more
twitches than MEs without a heart response.

Sources (`SOURCES`) of a frame interval: the planted event it overlaps most; facial
events first, flicker only when no facial event overlaps, "nothing" when none does.
"""

from __future__ import annotations

import collections
import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from cmcl_jax.data import sampling
from cmcl_jax.data import pseudonyms
from cmcl_jax.data import synthetic
from cmcl_jax.spotting import metrics
from cmcl_jax.spotting.ccf import ccf_filter
from cmcl_jax.spotting.sweep import TrialCandidates

FACIAL_SOURCES = ("me_responding", "me_silent", "macro", "twitch", "blink", "head_shift")
SOURCES = (*FACIAL_SOURCES, "flicker", "nothing")
"""me_responding / me_silent: an ME with / without a planted HR acceleration."""
ME_SOURCES = ("me_responding", "me_silent")


@dataclasses.dataclass(frozen=True)
class PlantedEvent:
  """One planted event of a trial: its `SOURCES` kind and inclusive frames."""

  kind: str
  start: int
  end: int


def _trial_events(trial: dict) -> tuple[PlantedEvent, ...]:
  events = []
  for e in trial["expressions"]:
    kind = (
      ("me_responding" if e["hr_response"] else "me_silent") if e["kind"] == "micro" else "macro"
    )
    events.append(PlantedEvent(kind, e["onset_frame"], e["offset_frame"]))
  events += [PlantedEvent("twitch", e["onset_frame"], e["offset_frame"]) for e in trial["twitches"]]
  events += [
    PlantedEvent(d["kind"], d["start_frame"], d["end_frame"]) for d in trial["distractors"]
  ]
  unknown = {e.kind for e in events} - set(SOURCES)
  if unknown:
    raise ValueError(f"{trial['video']}: planted kinds {sorted(unknown)} are not among {SOURCES}")
  return tuple(events)


def planted_events(raw_root) -> dict[str, tuple[PlantedEvent, ...]]:
  """Dataset trial id ("<subject id>/<marker>") → the events planted in that trial.

  Args:
    raw_root: a layout written by `cmcl_jax.data.synthetic.generate`; subject names are
      mapped to the ids of a dataset built from it through its pseudonym file (names
      are kept when there is none: a build with `pseudonymize=False`).

  Raises:
    FileNotFoundError: `raw_root` has no `ground_truth.json` (not a synthetic layout).
  """
  raw_root = Path(raw_root)
  truth = synthetic.load_ground_truth(raw_root)
  ids = pseudonyms.dataset_ids(raw_root)
  return {
    f"{ids.get(s['subject'], s['subject'])}/{t['marker']}": _trial_events(t)
    for s in truth["subjects"]
    for t in s["trials"]
  }


def interval_sources(intervals: np.ndarray, events: Sequence[PlantedEvent]) -> list[str]:
  """The `SOURCES` kind of each inclusive (start, end) frame interval, (N, 2)."""
  intervals = np.asarray(intervals, np.int64).reshape(-1, 2)
  if not events:
    return ["nothing"] * len(intervals)
  overlap = metrics.interval_overlap(intervals, [(e.start, e.end) for e in events])
  facial = np.array([e.kind in FACIAL_SOURCES for e in events])
  sources = []
  for row in overlap:
    ranked = np.where(facial, row, 0) if (row * facial).any() else row
    sources.append(events[int(np.argmax(ranked))].kind if ranked.any() else "nothing")
  return sources


@dataclasses.dataclass(frozen=True)
class SourceCounts:
  """Candidates of one variant by outcome and source, and the MEs there were.

  Attributes:
    tp: ME source → true positives on MEs of that kind (each ME found once at most).
    fp: `SOURCES` kind → false positives on it.
    planted: ME source → coded MEs of that kind.
  """

  tp: Mapping[str, int]
  fp: Mapping[str, int]
  planted: Mapping[str, int]

  def row(self) -> dict:
    """Flat {tp_<ME source>, n_<ME source>, recall_<ME source>, fp_<source>}."""
    out = {}
    for source in ME_SOURCES:
      found, there = self.tp.get(source, 0), self.planted.get(source, 0)
      out.update(
        {
          f"tp_{source}": found,
          f"n_{source}": there,
          f"recall_{source}": found / there if there else 0.0,
        }
      )
    out.update({f"fp_{s}": self.fp.get(s, 0) for s in SOURCES})
    return out


def summed_rows(rows: Sequence[Mapping], key: str) -> list[dict]:
  """`SourceCounts.row()` rows with the same `key` (e.g. one per seed) summed, and
  recall recomputed from the sums; first-seen order of keys."""
  totals: dict[str, collections.Counter] = {}
  for row in rows:
    totals.setdefault(row[key], collections.Counter()).update(
      {c: v for c, v in row.items() if c != key and not c.startswith("recall_")}
    )
  out = []
  for name, total in totals.items():
    counts = SourceCounts(
      {s: total[f"tp_{s}"] for s in ME_SOURCES},
      {s: total[f"fp_{s}"] for s in SOURCES},
      {s: total[f"n_{s}"] for s in ME_SOURCES},
    )
    out.append({key: name, **counts.row()})
  return out


def candidate_sources(
  trials: Sequence[TrialCandidates],
  events: Mapping[str, Sequence[PlantedEvent]],
  eta: float | None = None,
  iou: float = 0.5,
) -> SourceCounts:
  """Where the candidates of `trials` lie, matched with the MEGC protocol.

  Args:
    trials: unfiltered candidates with ground truth (`loso.candidates_of`).
    events: `planted_events` of the layout the dataset was built from.
    eta: count only the candidates the CCF keeps at this η (None: all).
    iou: least IoU of a true positive.

  Raises:
    KeyError: a trial with no planted events (a dataset built from another layout).
  """
  tp, fp, planted = collections.Counter(), collections.Counter(), collections.Counter()
  for trial in trials:
    if trial.trial_id not in events:
      raise KeyError(
        f"trial {trial.trial_id!r} has no planted events: was the dataset "
        "built from this synthetic layout?"
      )
    trial_events = events[trial.trial_id]
    candidates = (
      trial.candidates
      if eta is None
      else ccf_filter(trial.candidates, trial.hrs, eta, trial.mean_hrs).kept
    )
    clips = candidates[:, [0, 2]] if len(candidates) else np.zeros((0, 2), np.int64)
    truth_sources = interval_sources(trial.ground_truth, trial_events)
    planted.update(truth_sources)
    match = metrics.match_intervals(
      [tuple(c) for c in clips], [tuple(g) for g in trial.ground_truth], iou
    )
    matched = {p: g for p, g, _ in match.pairs}
    for index, source in enumerate(interval_sources(clips, trial_events)):
      if index in matched:
        tp[truth_sources[matched[index]]] += 1
      else:
        fp[source] += 1
  return SourceCounts(dict(tp), dict(fp), dict(planted))


def window_sources(
  index: sampling.SplitIndex, events: Mapping[str, Sequence[PlantedEvent]]
) -> np.ndarray:
  """(N,) `SOURCES` kind of every window of a split (ME windows by their ME)."""
  out = []
  for info in index.trials:
    starts = info.window_starts
    spans = np.stack([starts, starts + info.record["spec"]["window_frames"] - 1], axis=1)
    out += interval_sources(spans, events[info.trial])
  return np.array(out)


def batch_mix(
  index: sampling.SplitIndex,
  events: Mapping[str, Sequence[PlantedEvent]],
  policy: sampling.SamplingPolicy,
) -> dict[str, float]:
  """`SOURCES` kind → expected share of a fine-tuning batch's windows, weighing the
  pools the fine-tuning sampler draws from (`SamplingPolicy.pools`), plus
  "part_of_me": negatives on an ME (partial windows, when `policy.negative_kinds` has
  them); the `ME_SOURCES` shares are ME windows only."""
  sources = window_sources(index, events)
  negative = np.isin(sources, ME_SOURCES) & (index.label == 0)
  sources = np.where(negative, "part_of_me", sources)
  mix = collections.Counter()
  for weight, pool in policy.pools(index):
    if weight and len(pool):
      for source, count in collections.Counter(sources[pool]).items():
        mix[source] += weight * count / len(pool)
  return {s: float(mix.get(s, 0.0)) for s in (*SOURCES, "part_of_me")}
