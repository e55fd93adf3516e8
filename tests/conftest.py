"""Shared fixtures: a tiny synthetic raw MECG layout, built once per test session."""

from pathlib import Path

import pytest

from cmcl_jax.data import synthetic

REAL_FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "mecg_real"


@pytest.fixture(scope="session")
def tiny_raw(tmp_path_factory):
  """(root, ground truth) of `preset("tiny")`, seed 0: 3 subjects × 2 trials × 10 s."""
  root = tmp_path_factory.mktemp("tiny_raw")
  truth = synthetic.generate(root, synthetic.preset("tiny"), seed=0, progress=False)
  return root, truth
