"""`python -m experiments.train` end to end on a tiny `mecg` build, and config checks."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import tensorflow_datasets as tfds

from cmcl_jax.experiment import dataset
from cmcl_jax.train import check_config, inputs
from data_builders.mecg import mecg_dataset_builder
from experiments.configs import base, loso_synthetic, mecg, smoke, synthetic

ROOT = Path(__file__).resolve().parents[1]
TIMEOUT_S = 600


@pytest.fixture(scope="module")
def data_dir(tiny_raw, tmp_path_factory):
  """A prepared mecg/tiny dataset of the tiny synthetic layout."""
  root, _ = tiny_raw
  out = tmp_path_factory.mktemp("tfds")
  builder = mecg_dataset_builder.Builder(config="tiny", data_dir=str(out), num_workers=1)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(manual_dir=str(root)))
  return out


def _train(*flags):
  env = dict(os.environ, JAX_PLATFORMS="cpu")
  return subprocess.run(
    [sys.executable, "-m", "experiments.train", "--config=experiments/configs/smoke.py", *flags],
    cwd=ROOT,
    env=env,
    capture_output=True,
    text=True,
    timeout=TIMEOUT_S,
  )


@pytest.mark.slow
def test_smoke_launch_trains_both_stages(data_dir, tmp_path):
  workdir = tmp_path / "run"
  result = _train(f"--config.data.data_dir={data_dir}", f"--workdir={workdir}")
  assert result.returncode == 0, result.stderr[-5000:]
  for stage in ("pretrain", "finetune"):
    assert (workdir / stage / "checkpoints" / "6").is_dir()
    assert list((workdir / stage / "tensorboard").glob("events.out.tfevents.*"))
  records = [
    json.loads(line) for line in (workdir / "finetune" / "metrics.jsonl").read_text().splitlines()
  ]
  assert {"loss", "accuracy", "steps_per_s", "samples_per_s", "eta_s"} <= records[0].keys()
  assert 0.0 <= records[-1]["eval_f1"] <= 1.0
  assert "steps/s" in result.stderr and "ETA" in result.stderr
  assert json.loads((workdir / "config.json").read_text())["data"]["tfds_config"] == "tiny"


def test_bad_override_fails_at_start(data_dir, tmp_path):
  result = _train(
    f"--config.data.data_dir={data_dir}",
    f"--workdir={tmp_path}",
    "--config.pretrain.mining=hardest",
  )
  assert result.returncode != 0
  assert "pretrain.mining='hardest'" in result.stderr
  assert not (tmp_path / "pretrain").exists()


def test_every_preset_passes_the_checks():
  for config in (
    smoke.get_config(),
    synthetic.get_config(),
    synthetic.get_config("runlocal"),
    mecg.get_config("runlocal"),
    base.get_config(),
    loso_synthetic.get_config(),
    loso_synthetic.get_config("runlocal"),
  ):
    check_config(config)


@pytest.mark.parametrize(
  "field, value, message",
  [
    ("finetune.loss", "hinge", "finetune.loss='hinge'"),
    ("finetune.init_from", "imagenet", "finetune.init_from='imagenet'"),
    ("pretrain.steps", 0, "pretrain.steps=0"),
  ],
)
def test_check_config_names_the_field(field, value, message):
  config = smoke.get_config()
  section, name = field.split(".")
  config[section][name] = value
  with pytest.raises(ValueError, match=message.replace("(", r"\(")):
    check_config(config)


def test_missing_dataset_and_mismatched_model_are_explained(data_dir, tmp_path):
  config = smoke.get_config()
  config.data.data_dir = str(tmp_path)
  with pytest.raises(FileNotFoundError, match="build it with"):
    dataset.open_builder(config.data)
  config.data.data_dir = str(data_dir)
  builder = dataset.open_builder(config.data)
  config.model.encoder.ecg_num_features = 4
  with pytest.raises(ValueError, match="ecg_num_features=4"):
    inputs.check_model_inputs(builder, config.model)
  train, held_out = inputs.fold_splits(builder, config.data)
  assert held_out not in train.split("+") and len(train.split("+")) == 2
