"""Result tables and figures are written and hold what they were given."""

import csv
import json

import numpy as np

from cmcl_jax.analysis import figures
from cmcl_jax.analysis import tables
from cmcl_jax.spotting import Counts


def test_table_formats_agree(tmp_path):
  variants = {"video only": Counts(5, 10, 7), "video + ECG + CCF": Counts(6, 4, 6)}
  rows = tables.counts_rows(variants, "variant")
  md, csv_path, json_path = tables.write_table(rows, tmp_path, "table3",
                                               ["variant", *tables.COLUMNS])
  assert "| video only | 5 | 10 | 7 | 0.3333 | 0.4167 | 0.3704 |" in md.read_text()
  with csv_path.open() as file:
    assert next(csv.DictReader(file))["f1"].startswith("0.370")
  assert json.loads(json_path.read_text())[1]["tp"] == 6
  assert tables.sum_counts([Counts(1, 2, 3), Counts(1, 1, 1)]) == Counts(2, 3, 4)


def test_figures_render(tmp_path):
  sweep = {eta: Counts(10 - int(eta * 2), 20 - int(eta * 6), 5 + int(eta * 2))
           for eta in (1.3, 1.5, 2.0, 2.3)}
  figures.plot_eta_sweep(sweep, 2.0, [1.5, 2.0]).savefig(tmp_path / "eta.png")
  per_variant = {"video": {"s1": Counts(1, 3, 0), "s2": Counts(2, 2, 1)},
                 "video + ECG": {"s1": Counts(1, 1, 0)}}
  figures.plot_per_subject_precision(per_variant).savefig(tmp_path / "subjects.png")
  curve = np.sin(np.linspace(0, 6, 900)) ** 2
  figures.plot_spotting_trial(curve, 0.5, [[100, 120, 140]], [[400, 420, 440]],
                              [[110, 150]], np.abs(np.cos(np.linspace(0, 9, 900))), 1.2,
                              150.0, "trial").savefig(tmp_path / "trial.png")
  assert all((tmp_path / n).stat().st_size > 5_000 for n in ("eta.png", "subjects.png",
                                                             "trial.png"))
