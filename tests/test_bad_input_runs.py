"""Bad input to runs and command lines fails at once and clearly, never after the long
work or deep in a library: checkpoints of another model, output paths that cannot be
written, missing or unreadable inputs, out-of-range values.

Checkpoints are real orbax checkpoints (`Checkpointer`); command lines run as
subprocesses, as a user starts them.
"""

import dataclasses
import json
import subprocess
import sys
from pathlib import Path

import grain
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from absl import app
from flax import nnx

from cmcl_jax.data import video_io, windows
from cmcl_jax.models import CMCLNet
from cmcl_jax.train import optim
from cmcl_jax.train.checkpoint import Checkpointer, CheckpointMismatchError
from cmcl_jax.train.state import TrainState, create_train_state
from data_builders.mecg import mecg_dataset_builder
from experiments import cli
from experiments.configs import smoke

ROOT = Path(__file__).resolve().parents[1]


def _run(module, *flags, env=None):
  return subprocess.run(
    [sys.executable, "-m", module, *flags],
    capture_output=True,
    text=True,
    cwd=ROOT,
    timeout=120,
    env=env,
  )


def _state(params) -> TrainState:
  return TrainState(
    step=jnp.asarray(3, jnp.int32),
    params=params,
    opt_state={"mu": jax.tree.map(jnp.zeros_like, params)},
    rng=jnp.zeros((2,), jnp.uint32),
  )


def _saved(directory, params) -> Checkpointer:
  checkpointer = Checkpointer(directory, keep=1)
  checkpointer.save(_state(params), iter(grain.MapDataset.range(4).to_iter_dataset()))
  checkpointer.wait()
  return checkpointer


# Checkpoints of another model.


def test_a_checkpoint_of_other_shapes_names_it_and_the_parameters(tmp_path):
  saved = {"encoder": {"w": jnp.ones((2, 2)), "b": jnp.ones(2)}}
  _saved(tmp_path / "ckpt", saved).close()
  other = {"encoder": {"w": jnp.ones((3, 2)), "b": jnp.ones(2)}}
  with pytest.raises(CheckpointMismatchError) as error:
    Checkpointer(tmp_path / "ckpt", keep=1).restore(_state(other))
  message = str(error.value)
  assert message.startswith(f"{tmp_path / 'ckpt' / '3' / 'state'}: ")
  assert "2 arrays differ (1 model parameters, 1 optimizer or other state)" in message
  assert "params.encoder.w: checkpoint (2, 2), expected (3, 2)" in message
  assert "params.encoder.b" not in message and "Requested shape" not in message


def test_a_checkpoint_of_another_modality_groups_the_missing_stream(tmp_path):
  video = {"video": {"conv": jnp.ones((3, 4)), "bias": jnp.ones(4), "norm": jnp.ones(4)}}
  ecg = {"ecg": {"conv": jnp.ones((5, 4)), "bias": jnp.ones(4)}}
  _saved(tmp_path / "ckpt", {"encoder": video}).close()
  with pytest.raises(CheckpointMismatchError) as error:
    Checkpointer(tmp_path / "ckpt", keep=1).restore(_state({"encoder": ecg}))
  message = str(error.value)
  assert "10 arrays differ (5 model parameters, 5 optimizer or other state)" in message
  assert "params.encoder.ecg (2 arrays): not in the checkpoint" in message
  assert "params.encoder.video (3 arrays): only in the checkpoint" in message
  assert message.index("params.") < message.index("opt_state.")  # the model first


def test_a_dtype_change_is_cast_not_refused(tmp_path):
  _saved(tmp_path / "ckpt", {"w": jnp.full((2, 2), 1.5)}).close()
  restored = Checkpointer(tmp_path / "ckpt", keep=1).restore(
    _state({"w": jnp.zeros((2, 2), jnp.bfloat16)})
  )
  assert restored.params["w"].dtype == jnp.bfloat16
  np.testing.assert_array_equal(np.asarray(restored.params["w"], np.float32), 1.5)


def test_restoring_an_empty_directory_names_it(tmp_path):
  with pytest.raises(FileNotFoundError, match=f"{tmp_path / 'none'}: no complete checkpoint"):
    Checkpointer(tmp_path / "none", keep=1).restore(_state({"w": jnp.ones(2)}))


def _model_config(modality):
  config = smoke.get_config()
  config.model.encoder.modality = modality
  return config


def _abstract_params(model_config):
  """The model's `nnx.Param` state as zeros, without compiling its initialisation."""
  abstract = nnx.eval_shape(
    lambda: CMCLNet.from_config(model_config, rngs=nnx.Rngs(params=0, dropout=1))
  )
  params = nnx.state(abstract, nnx.Param)
  return jax.tree.map(lambda x: jnp.zeros(x.shape, x.dtype), params)


def test_spot_trial_names_a_checkpoint_of_another_modality(tmp_path):
  """A run folder whose config says "video" but whose checkpoint holds an ECG model."""
  run = tmp_path / "run"
  config = _model_config("video")
  run.mkdir()
  (run / "config.json").write_text(config.to_json_best_effort())
  (run / "inputs.json").write_text(
    json.dumps(
      {
        "spec": dataclasses.asdict(windows.WindowSpec()),
        "feature_stats": None,
        "standardize_ecg": True,
        "fps": 150.0,
      }
    )
  )
  params = _abstract_params(_model_config("ecg").model)
  state = create_train_state(params, optim.make_optimizer(config.finetune, params), 0)
  checkpointer = Checkpointer(run / "finetune" / "checkpoints", keep=1)
  checkpointer.save(state, iter(grain.MapDataset.range(4).to_iter_dataset()))
  checkpointer.wait()
  checkpointer.close()
  video = tmp_path / "trial.avi"
  video_io.write_video(video, [np.zeros((64, 64, 3), np.uint8)] * 80, fps=150.0)
  ecg = tmp_path / "trial.npz"
  np.savez(ecg, ecg=np.zeros(2000, np.float32), sampling_rate=1000.0)

  result = _run(
    "experiments.spot_trial",
    f"--video={video}",
    f"--ecg={ecg}",
    f"--checkpoint={run}",
    f"--out={tmp_path / 'out'}",
  )
  assert result.returncode != 0
  assert f"{run}/finetune/checkpoints/0/state: this checkpoint holds another model" in (
    result.stderr
  )
  assert "params.encoder.video_backbone" in result.stderr
  assert "only in the checkpoint" in result.stderr and "not in the checkpoint" in result.stderr
  assert "Traceback" not in result.stderr and "Event loop is closed" not in result.stderr
  assert not (tmp_path / "out").exists()


# Output paths and other command-line input, checked before the long work.


@pytest.mark.parametrize(
  "module, flag, extra, below",
  [
    # spot_trial's --out: test_config_and_run_errors.py
    ("experiments.visual_inspection", "out", ["--root=nowhere"], False),
    ("experiments.synthesize", "out", ["--preset=tiny"], True),
    ("experiments.train", "workdir", ["--config=experiments/configs/smoke.py"], False),
    ("experiments.build_mecg", "data_dir", ["data_builders/mecg", "--config=tiny"], False),
  ],
)
def test_an_output_path_that_cannot_be_a_folder_is_refused_first(
  module, flag, extra, below, tmp_path
):
  blocker = tmp_path / "taken.txt"
  blocker.write_text("")
  out = blocker / "sub" if below else blocker
  result = _run(module, f"--{flag}={out}", *extra)
  assert result.returncode != 0
  expected = (
    "is a file, so no folder can be made below it" if below else "a file, expected a folder"
  )
  assert f"--{flag}={out}: " in result.stderr and expected in result.stderr
  assert "Traceback" not in result.stderr
  assert blocker.read_text() == ""


def test_output_folder_accepts_new_and_existing_folders_only(tmp_path):
  assert cli.output_folder("out", tmp_path / "a" / "b") == tmp_path / "a" / "b"
  assert cli.output_folder("out", tmp_path) == tmp_path
  assert not (tmp_path / "a").exists()  # checked, not made
  (tmp_path / "f").write_text("")
  for value, expected in [
    (tmp_path / "f", "a file, expected a folder"),
    (tmp_path / "f" / "x" / "y", f"{tmp_path / 'f'} is a file, so no folder can be made"),
  ]:
    with pytest.raises(app.UsageError, match=f"--out={value}: .*{expected}"):
      cli.output_folder("out", value)


def _session_layout(tmp_path):
  """A folder that is not a synthetic layout: one unrelated file."""
  folder = tmp_path / "mine"
  folder.mkdir()
  (folder / "notes.txt").write_text("keep me")
  return folder


@pytest.mark.parametrize(
  "case",
  [
    "inspect_raw_missing_root",
    "inspect_raw_rate",
    "synthesize_foreign_folder",
    "spot_trial_unreadable_video",
    "spot_trial_threshold",
    "build_mecg_manual_dir",
  ],
)
def test_bad_command_line_input_is_a_clear_error(case, tmp_path):
  not_a_video = tmp_path / "trial.avi"
  not_a_video.write_text("not a video")
  ecg = tmp_path / "trial.npz"
  np.savez(ecg, ecg=np.zeros(2000, np.float32), sampling_rate=1000.0)
  module, flags, expected = {
    "inspect_raw_missing_root": (
      "experiments.inspect_raw",
      [f"--root={tmp_path / 'nope'}"],
      f"{tmp_path / 'nope'}: raw MECG root is not a folder",
    ),
    "inspect_raw_rate": (
      "experiments.inspect_raw",
      [f"--root={tmp_path}", "--expected_ecg_rate=0"],
      "--expected_ecg_rate=0.0: expected a sampling rate in Hz > 0",
    ),
    "synthesize_foreign_folder": (
      "experiments.synthesize",
      [f"--out={_session_layout(tmp_path)}", "--preset=tiny"],
      "holds files but no ground_truth.json",
    ),
    "spot_trial_unreadable_video": (
      "experiments.spot_trial",
      [f"--video={not_a_video}", f"--ecg={ecg}", "--checkpoint=nowhere"],
      f"{not_a_video}: OpenCV cannot open this video",
    ),
    "spot_trial_threshold": (
      "experiments.spot_trial",
      [f"--video={not_a_video}", f"--ecg={ecg}", "--checkpoint=nowhere", "--threshold=5"],
      "--threshold=5.0: the score is a probability; expected 0…1",
    ),
    "build_mecg_manual_dir": (
      "experiments.build_mecg",
      ["data_builders/mecg", f"--manual_dir={tmp_path / 'raw'}", f"--data_dir={tmp_path}"],
      f"--manual_dir={tmp_path / 'raw'}: no such folder",
    ),
  }[case]
  result = _run(module, *flags)
  assert result.returncode != 0
  assert expected in result.stderr and "Traceback" not in result.stderr
  if case == "synthesize_foreign_folder":
    assert sorted(p.name for p in (tmp_path / "mine").iterdir()) == ["notes.txt"]


@pytest.mark.parametrize("value", ["abc", "0", "-2"])
def test_build_workers_from_the_environment_are_checked(value, monkeypatch, tmp_path):
  monkeypatch.setenv(mecg_dataset_builder.WORKERS_ENV, value)
  with pytest.raises(ValueError, match=f"{mecg_dataset_builder.WORKERS_ENV}='{value}'"):
    mecg_dataset_builder.Builder(config="tiny", data_dir=str(tmp_path))


def test_a_negative_number_of_build_workers_is_refused(tmp_path):
  with pytest.raises(ValueError, match="num_workers=-1: expected a number of processes ≥ 1"):
    mecg_dataset_builder.Builder(config="tiny", data_dir=str(tmp_path), num_workers=-1)


def test_a_failed_build_prints_its_reason_without_a_traceback(tmp_path):
  raw = tmp_path / "raw"
  raw.mkdir()
  (raw / "coding_file.csv").write_text("Subject,Filename\n")
  result = _run(
    "experiments.build_mecg",
    "data_builders/mecg",
    f"--manual_dir={raw}",
    "--config=tiny",
    f"--data_dir={tmp_path / 'out'}",
  )
  assert result.returncode == 1 and "Traceback" not in result.stderr
  assert f"error: {raw / 'coding_file.csv'}: row 1 (header): missing required" in result.stderr
