"""Planted-event analysis: sources of intervals and candidates, fine-tuning batch mix."""

import collections

import numpy as np
import pytest

from cmcl_jax.analysis import planted
from cmcl_jax.data import sampling
from experiments.configs import base
from cmcl_jax.spotting.sweep import TrialCandidates

EVENTS = (
  planted.PlantedEvent("me_responding", 100, 150),
  planted.PlantedEvent("twitch", 400, 440),
  planted.PlantedEvent("flicker", 395, 700),
  planted.PlantedEvent("me_silent", 900, 950),
)


def test_interval_sources_prefer_facial_events_over_flicker():
  got = planted.interval_sources(
    np.array([[90, 140], [380, 450], [600, 650], [2000, 2010]]), EVENTS
  )
  assert got == ["me_responding", "twitch", "flicker", "nothing"]
  assert planted.interval_sources(np.array([[0, 5]]), ()) == ["nothing"]


def test_candidate_sources_count_matches_and_misses():
  hrs = np.ones(3000, np.float32)
  hrs[120:130] = 5.0  # only the first candidate's apex passes the CCF at η = 2
  trial = TrialCandidates(
    "s1/101",
    "s1",
    candidates=np.array([[100, 125, 150], [400, 420, 440], [1500, 1510, 1520]]),
    hrs=hrs,
    mean_hrs=1.0,
    ground_truth=np.array([[100, 150], [900, 950]]),
  )
  counts = planted.candidate_sources([trial], {"s1/101": EVENTS})
  assert counts.tp == {"me_responding": 1}
  assert counts.fp == {"twitch": 1, "nothing": 1}
  assert counts.planted == {"me_responding": 1, "me_silent": 1}
  row = counts.row()
  assert row["recall_me_responding"] == 1.0 and row["recall_me_silent"] == 0.0
  twice = planted.summed_rows([{"seed": "all", **row}, {"seed": "all", **row}], "seed")
  assert twice == [
    {"seed": "all", **{k: v if k.startswith("recall_") else 2 * v for k, v in row.items()}}
  ]
  filtered = planted.candidate_sources([trial], {"s1/101": EVENTS}, eta=2.0)
  assert filtered.tp == {"me_responding": 1} and filtered.fp == {}
  with pytest.raises(KeyError, match="s1/101"):
    planted.candidate_sources([trial], {})


def test_planted_events_map_to_dataset_trials_and_me_windows(tiny_built):
  raw, truth, builder, _ = tiny_built
  events = planted.planted_events(raw)
  planted_count = sum(
    len(t["expressions"]) + len(t["twitches"]) + len(t["distractors"])
    for s in truth["subjects"]
    for t in s["trials"]
  )
  assert sum(len(e) for e in events.values()) == planted_count
  split = "+".join(sorted(builder.info.splits.keys()))
  index = sampling.SplitIndex.load(builder, split)
  assert {i.trial for i in index.trials} <= set(events)
  sources = planted.window_sources(index, events)
  assert set(sources[index.positives()]) <= set(planted.ME_SOURCES)
  for info in index.trials:  # every coded ME is a planted ME of its trial
    for expression in (e for e in info.expressions if e.kind == "micro"):
      (source,) = planted.interval_sources(
        np.array([[expression.onset, expression.offset]]), events[info.trial]
      )
      assert source in planted.ME_SOURCES


def test_batch_mix_follows_the_policy(tiny_built):
  raw, _, builder, _ = tiny_built
  events = planted.planted_events(raw)
  index = sampling.SplitIndex.load(builder, "+".join(sorted(builder.info.splits.keys())))
  neutral = base.get_config().data.sampling.to_dict()
  uniform = planted.batch_mix(
    index, events, sampling.SamplingPolicy(**{**neutral, "positive_fraction": 0.25})
  )
  assert sum(uniform.values()) == pytest.approx(1.0)
  assert sum(uniform[s] for s in planted.ME_SOURCES) == pytest.approx(0.25)
  sources = planted.window_sources(index, events)
  negatives = collections.Counter(sources[index.negatives(("none", "macro"))])
  assert uniform["nothing"] == pytest.approx(
    0.75 * negatives["nothing"] / len(index.negatives(("none", "macro")))
  )
  assert uniform["part_of_me"] == 0.0  # partial windows are no negatives by default
  with_partial = planted.batch_mix(
    index,
    events,
    sampling.SamplingPolicy(
      **{**neutral, "positive_fraction": 0.25, "negative_kinds": ("none", "macro", "partial")}
    ),
  )
  assert sum(with_partial[s] for s in planted.ME_SOURCES) == pytest.approx(0.25)
  assert with_partial["part_of_me"] > 0 and sum(with_partial.values()) == pytest.approx(1.0)
  moving = planted.batch_mix(
    index,
    events,
    sampling.SamplingPolicy(**{**neutral, "positive_fraction": 0.25, "moving_fraction": 1.0}),
  )
  assert sum(moving.values()) == pytest.approx(1.0)
  assert moving["nothing"] < uniform["nothing"]
