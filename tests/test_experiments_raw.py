"""The raw-data entry points run as a user runs them: synthesize, inspect, figures."""

import subprocess
import sys

import pytest

from cmcl_jax.analysis import visual_inspection
from cmcl_jax.data import summary
from cmcl_jax.data import synthetic


def _run(*args):
  return subprocess.run([sys.executable, "-m", *args], capture_output=True, text=True, timeout=300)


@pytest.mark.slow
def test_synthesize_inspect_and_draw_from_the_command_line(tmp_path):
  out = tmp_path / "raw"
  result = _run(
    "experiments.synthesize",
    f"--out={out}",
    "--preset=tiny",
    "--seed=5",
    "--set=num_subjects=2",
    "--set=trials_per_subject=1",
    "--set=trial_seconds=6",
  )
  assert result.returncode == 0, result.stderr
  assert "wrote 2 subjects, 2 trials" in result.stdout
  result = _run("experiments.inspect_raw", f"--root={out}")
  assert result.returncode == 0, result.stderr
  assert "| subj01 | 1 | 0.1 |" in result.stdout and "0 problems" in result.stdout
  result = _run("experiments.visual_inspection", f"--root={out}", f"--out={tmp_path}")
  assert result.returncode == 0, result.stderr
  result = _run("experiments.synthesize", f"--out={out}", "--set=num_subjectz=3")
  assert result.returncode != 0 and "num_subjectz" in result.stderr


def test_overrides_are_typed_and_checked():
  assert synthetic.parse_overrides(["fps=100", "rsa_bpm=1,2", "num_subjects=4"]) == {
    "fps": 100.0,
    "rsa_bpm": (1.0, 2.0),
    "num_subjects": 4,
  }
  with pytest.raises(ValueError, match="num_subjectz"):
    synthetic.parse_overrides(["num_subjectz=3"])
  with pytest.raises(ValueError, match="not a int"):
    synthetic.parse_overrides(["num_subjects=many"])


def test_summary_counts_everything(tiny_raw):
  root, truth = tiny_raw
  _, rows, problems = summary.summarize_layout(root, progress=False)
  planted = [e for s in truth["subjects"] for t in s["trials"] for e in t["expressions"]]
  assert sum(r["MEs"] for r in rows) == sum(e["kind"] == "micro" for e in planted)
  assert sum(r["macro"] for r in rows) == sum(e["kind"] == "macro" for e in planted)
  assert [r["trials"] for r in rows] == [2, 2, 2] and problems == []
  assert summary.markdown_table(rows).splitlines()[-1].startswith("| all (3) | 6 | 1.0 |")


def test_visual_inspection_figures(tiny_raw, tmp_path):
  root, _ = tiny_raw
  paths = visual_inspection.draw_trial(root, None, tmp_path, faces=True)
  assert [p.name.split("_")[0] for p in paths] == ["visual", "onset"]
  assert all(p.stat().st_size > 10_000 for p in paths)
  with pytest.raises(ValueError, match="no such trial"):
    visual_inspection.draw_trial(root, "nobody/999", tmp_path)
