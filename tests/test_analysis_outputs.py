"""Result tables and figures are written and hold what they were given."""

import csv
import json

import numpy as np

from cmcl_jax.analysis import figures
from cmcl_jax.analysis import seeds
from cmcl_jax.analysis import tables
from cmcl_jax.spotting import Counts


def test_table_formats_agree(tmp_path):
  variants = {"video only": Counts(5, 10, 7), "video + ECG + CCF": Counts(6, 4, 6)}
  rows = tables.counts_rows(variants, "variant")
  md, csv_path, json_path = tables.write_table(
    rows, tmp_path, "table3", ["variant", *tables.COLUMNS]
  )
  assert "| video only | 5 | 10 | 7 | 0.3333 | 0.4167 | 0.3704 |" in md.read_text()
  with csv_path.open() as file:
    assert next(csv.DictReader(file))["f1"].startswith("0.370")
  assert json.loads(json_path.read_text())[1]["tp"] == 6
  assert tables.sum_counts([Counts(1, 2, 3), Counts(1, 1, 1)]) == Counts(2, 3, 4)


def test_figures_render(tmp_path):
  sweep = {
    eta: Counts(10 - int(eta * 2), 20 - int(eta * 6), 5 + int(eta * 2))
    for eta in (1.3, 1.5, 2.0, 2.3)
  }
  figures.plot_eta_sweep(sweep, 2.0, [1.5, 2.0]).savefig(tmp_path / "eta.png")
  per_variant = {
    "video": {"s1": Counts(1, 3, 0), "s2": Counts(2, 2, 1)},
    "video + ECG": {"s1": Counts(1, 1, 0)},
  }
  figures.plot_per_subject_precision(per_variant).savefig(tmp_path / "subjects.png")
  curve = np.sin(np.linspace(0, 6, 900)) ** 2
  figures.plot_spotting_trial(
    curve,
    0.5,
    [[100, 120, 140]],
    [[400, 420, 440]],
    [[110, 150]],
    np.abs(np.cos(np.linspace(0, 9, 900))),
    1.2,
    150.0,
    "trial",
  ).savefig(tmp_path / "trial.png")
  assert all(
    (tmp_path / n).stat().st_size > 5_000 for n in ("eta.png", "subjects.png", "trial.png")
  )


def _table(counts):
  names = ("video only", "ECG only", "video + ECG", "video + ECG + CCF (η = 2.0)")
  return [{"variant": n, **c.as_dict()} for n, c in zip(names, counts)]


def test_seed_study_spread_and_claims(tmp_path):
  per_seed = {
    1: _table([Counts(10, 30, 10), Counts(4, 40, 16), Counts(12, 20, 8), Counts(10, 8, 10)]),
    2: _table([Counts(12, 20, 8), Counts(5, 40, 15), Counts(11, 25, 9), Counts(9, 9, 11)]),
    3: _table([Counts(8, 30, 12), Counts(3, 40, 17), Counts(13, 20, 7), Counts(11, 5, 9)]),
  }
  rows = seeds.seed_rows(per_seed)
  video = rows[0]
  f1s = [per_seed[s][0]["f1"] for s in (1, 2, 3)]
  assert video["f1_mean"] == np.mean(f1s)
  assert np.isclose(video["f1_sd"], np.std(f1s, ddof=1))
  assert video["f1_min"] == min(f1s) and video["f1_seed2"] == f1s[1]
  assert video["tp_fp_fn"] == "30 / 80 / 30"
  names = {
    "video": "video only",
    "ecg": "ECG only",
    "both": "video + ECG",
    "both+ccf": "video + ECG + CCF (η = 2.0)",
  }
  checks = {c["claim"]: c for c in seeds.claims(per_seed, names)}
  assert checks["video + ECG beats video only (F1)"]["holds_on"] == "2/3 seeds"
  assert checks["video + ECG beats ECG only (F1)"]["holds_on"] == "3/3 seeds"
  ccf = checks["CCF raises precision (video + ECG + CCF vs video + ECG)"]
  assert ccf["holds_on"] == "3/3 seeds" and ccf["difference_min"] > 0
  assert not any("retrained" in claim for claim in checks)  # not run: left out
  retrained = {
    s: [*t, {"variant": "video, retrained", **Counts(12, 22, 8).as_dict()}]
    for s, t in per_seed.items()
  }
  checks = {
    c["claim"]: c for c in seeds.claims(retrained, dict(names, video_retrained="video, retrained"))
  }
  equal_budget = checks["video + ECG beats video with its classifier retrained as long (F1)"]
  assert equal_budget["holds_on"] == "2/3 seeds"  # F1 0.444 against 0.462, 0.393, 0.491
  seeds.plot_seed_study(per_seed).savefig(tmp_path / "seeds.png")
  assert (tmp_path / "seeds.png").stat().st_size > 0


def test_bootstrap_interval_over_subjects():
  # Two seeds × 4 subjects; "a" finds one more ME than "b" in every subject.
  def subjects(tp_a, tp_b):
    return {
      "a": {f"s{i}": {"tp": tp_a, "fp": 2, "fn": 10 - tp_a} for i in range(4)},
      "b": {f"s{i}": {"tp": tp_b, "fp": 2, "fn": 10 - tp_b} for i in range(4)},
    }

  same_everywhere = {1: subjects(6, 5), 2: subjects(6, 5)}
  low, high = seeds.bootstrap_interval(same_everywhere, "a", "b", "f1")
  assert low == high > 0  # identical subjects: every redraw gives the same difference
  # One subject where b wins by far: the interval widens and reaches below 0.
  mixed = {1: subjects(6, 5), 2: subjects(6, 5)}
  mixed[1]["a"]["s0"] = {"tp": 0, "fp": 10, "fn": 10}
  mixed[1]["b"]["s0"] = {"tp": 10, "fp": 0, "fn": 0}
  low, high = seeds.bootstrap_interval(mixed, "a", "b", "f1")
  assert low < 0 < high
  table = {
    s: [
      {
        "variant": n,
        **Counts(
          *map(sum, zip(*[(c["tp"], c["fp"], c["fn"]) for c in rows[n].values()]))
        ).as_dict(),
      }
      for n in ("a", "b")
    ]
    for s, rows in mixed.items()
  }
  records = seeds.claims(table, {"both": "a", "video": "b"}, mixed)
  assert [r["claim"] for r in records] == ["video + ECG beats video only (F1)"]
  assert records[0]["ci95_low"] == low and records[0]["subjects"] == 8
