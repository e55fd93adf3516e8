"""Shared fixtures: a tiny synthetic raw MECG layout, built once per test session."""

from pathlib import Path

import pytest
import tensorflow_datasets as tfds

from cmcl_jax.data import synthetic
from data_builders.mecg import mecg_dataset_builder

REAL_FIXTURES = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "mecg_real"


@pytest.fixture(scope="session")
def tiny_raw(tmp_path_factory):
  """(root, ground truth) of `preset("tiny")`, seed 0: 3 subjects × 2 trials × 10 s."""
  root = tmp_path_factory.mktemp("tiny_raw")
  truth = synthetic.generate(root, synthetic.preset("tiny"), seed=0, progress=False)
  return root, truth


@pytest.fixture(scope="session")
def tiny_built(tiny_raw, tmp_path_factory):
  """(raw root, ground truth, builder, data_dir) of `tiny_raw` built as `mecg/tiny`."""
  raw, truth = tiny_raw
  data_dir = tmp_path_factory.mktemp("tfds")
  builder = mecg_dataset_builder.Builder(config="tiny", data_dir=str(data_dir), num_workers=1)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(raw)))
  return raw, truth, builder, data_dir
