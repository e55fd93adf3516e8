"""The harness with spotters of one's own: docs/harness.md's example runs as written,
and the LOSO result files follow the Spotter protocol."""

import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from cmcl_jax.experiment import loso
from cmcl_jax.spotting import ScoredTrial

DOC = Path(__file__).resolve().parents[1] / "docs" / "harness.md"


def _doc_block(first_line: str) -> str:
  blocks = re.findall(r"```python\n(.*?)```", DOC.read_text(), flags=re.S)
  (block,) = [b for b in blocks if b.startswith(first_line)]
  return block


@pytest.fixture
def my_lab(tmp_path, monkeypatch):
  """The package `my_lab` of docs/harness.md, importable."""
  package = tmp_path / "my_lab"
  package.mkdir()
  (package / "__init__.py").write_text("")
  (package / "heart_spotter.py").write_text(_doc_block("# my_lab/heart_spotter.py"))
  (package / "config.py").write_text(_doc_block("# my_lab/config.py"))
  monkeypatch.syspath_prepend(str(tmp_path))
  yield
  for name in [m for m in sys.modules if m.startswith("my_lab")]:
    del sys.modules[name]


def test_the_documented_spotter_runs_in_the_harness(my_lab, tiny_built, tmp_path):
  from my_lab import config as my_config

  _, truth, builder, data_dir = tiny_built
  config = my_config.get_config("runlocal")
  assert config.loso.spotters[-1] == "heart"
  config.data.data_dir = str(data_dir)
  config.loso.spotters, config.loso.ccf.spotters = ("heart",), ("heart",)
  folds = loso.run_loso(config, tmp_path / "loso")
  subjects = sorted(builder.info.splits.keys())
  assert sorted(folds) == subjects
  micro = sum(
    e["kind"] == "micro" for s in truth["subjects"] for t in s["trials"] for e in t["expressions"]
  )
  for key in ("heart", "heart+ccf", "heart+ccf_chosen"):
    counts = [f["variants"][key]["total"] for f in folds.values()]
    assert sum(c["tp"] + c["fn"] for c in counts) == micro, key
  stored = loso.stored_scores(tmp_path / "loso", builder, subjects[0], "heart")
  for trial in stored:
    hrs = trial.info.hrs_bpm_per_s
    np.testing.assert_allclose(trial.curves["micro"], hrs / max(hrs.max(), 1e-6), rtol=1e-6)
  spotted = json.loads(
    (tmp_path / "loso" / "folds" / subjects[0] / "heart" / "spotted.json").read_text()
  )
  assert spotted["config"]["spotters.heart.method"] == "my_lab.heart_spotter:HeartSpotter"
  assert spotted["config"]["ccf"] is True
  assert not any(k.startswith("spotters.video.") for k in spotted["config"])


def test_a_curve_of_the_wrong_length_is_refused(tiny_built):
  from cmcl_jax.data import trials

  _, _, builder, _ = tiny_built
  info = trials.load_trials(builder, sorted(builder.info.splits.keys())[0])[0]
  with pytest.raises(ValueError, match=f"trial {info.trial}: the 'micro' score curve has shape"):
    ScoredTrial(info, {"micro": np.zeros(info.frame_count - 1, np.float32)})


def test_ccf_spotters_must_run(tiny_built, tmp_path):
  from experiments.configs import loso_synthetic

  _, _, _, data_dir = tiny_built
  config = loso_synthetic.get_config("runlocal")
  config.data.data_dir = str(data_dir)
  config.loso.spotters = ("video",)
  with pytest.raises(ValueError, match="loso.ccf.spotters: 'both' is not in loso.spotters"):
    loso.run_loso(config, tmp_path)


def test_two_processes_never_run_one_fold(tiny_built, tmp_path):
  import fcntl

  from experiments.configs import loso_synthetic

  _, _, builder, data_dir = tiny_built
  config = loso_synthetic.get_config("runlocal")
  config.data.data_dir = str(data_dir)
  config.loso.spotters, config.loso.ccf.spotters = ("motion",), ()
  subject = sorted(builder.info.splits.keys())[0]
  fold_dir = tmp_path / "folds" / subject
  fold_dir.mkdir(parents=True)
  with open(fold_dir / loso.LOCK_FILE, "w") as held:
    held.write("pid 12345")
    held.flush()
    fcntl.flock(held, fcntl.LOCK_EX)
    with pytest.raises(loso.FoldBusy, match="another process \\(pid 12345\\) is running"):
      loso.run_loso(config, tmp_path)
  assert set(loso.run_loso(config, tmp_path)) == set(builder.info.splits.keys())
