"""Bad configs, command lines and reruns fail at once with the field named, never with a
traceback or after the long work: value ranges, unknown fields, missing config files,
a run folder of another config, a trial the trained model cannot take."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from cmcl_jax.data import video_io, windows
from cmcl_jax.experiment import loso, single_trial
from cmcl_jax.train import check_config
from cmcl_jax.train.loop import check_resumable
from experiments.configs import loso_synthetic, smoke

ROOT = Path(__file__).resolve().parents[1]


def _run(module, *flags):
  return subprocess.run(
    [sys.executable, "-m", module, *flags], capture_output=True, text=True, cwd=ROOT
  )


@pytest.mark.parametrize(
  "flags, message",
  [
    (
      ["--config=experiments/configs/smoke.py", "--config.pretrain.stepz=3"],
      'Did you mean "steps"',
    ),
    (["--config=experiments/configs/nope.py"], "No such file or directory"),
    (["--config=experiments/configs/smoke.py", "--config.pretrain.lr=abc"], "could not convert"),
  ],
)
def test_command_line_config_errors_are_usage_errors(flags, message, tmp_path):
  result = _run("experiments.train", *flags, f"--workdir={tmp_path}")
  assert result.returncode == 2
  assert message in result.stderr and "Traceback" not in result.stderr


@pytest.mark.parametrize(
  "field, value, message",
  [
    ("pretrain.lr", -1e-3, "pretrain.lr=-0.001: must be > 0"),
    ("finetune.warmup_steps", 100, "finetune.warmup_steps=100: must be in [0, steps]"),
    ("finetune.clip_norm", 0.0, "finetune.clip_norm=0.0: must be > 0"),
    ("finetune.class_weights", (1.0, 0.0), "expected two weights > 0"),
    ("pretrain.margin", 0.0, "pretrain.margin=0.0: must be > 0"),
    ("data.finetune_batch_size", 0, "data.finetune_batch_size=0: must be ≥ 1"),
  ],
)
def test_config_values_are_checked(field, value, message):
  config = smoke.get_config()
  section, name = field.split(".")
  config[section][name] = value
  with pytest.raises(ValueError, match=message.replace("[", r"\[").replace("]", r"\]")):
    check_config(config)


def test_a_run_folder_of_another_config_is_refused(tmp_path):
  config = smoke.get_config()
  (tmp_path / "config.json").write_text(config.to_json_best_effort())
  check_resumable(config, tmp_path)
  moved = smoke.get_config()
  moved.data.data_dir = "/elsewhere"  # where the data lie is not part of the run
  check_resumable(moved, tmp_path)
  other = smoke.get_config()
  other.data.fold = 1
  with pytest.raises(ValueError, match="1 fields differ: data.fold: 0 → 1"):
    check_resumable(other, tmp_path)


@pytest.mark.parametrize(
  "edit, message",
  [
    (lambda c: c.loso.ccf.update(eta=0.0), "loso.ccf.eta=0.0: must be > 0"),
    (lambda c: c.loso.update(score_batch_size=0), "loso.score_batch_size=0"),
    (lambda c: c.loso.spotting.update(threshold=5.0), "CMCL-Net scores are probabilities"),
    (
      lambda c: c.loso.spotting.update(min_distance_frames=0),
      "spotter video: spotting.min_distance_frames=0",
    ),
  ],
)
def test_loso_config_errors_come_before_any_work(edit, message, tiny_built, tmp_path):
  _, _, _, data_dir = tiny_built
  config = loso_synthetic.get_config("runlocal")
  config.data.data_dir = str(data_dir)
  edit(config)
  with pytest.raises(ValueError, match=message.replace("(", r"\(")):
    loso.run_loso(config, tmp_path)
  assert not (tmp_path / "folds").exists()


def _run_at(fps):
  return single_trial.TrainedRun(None, None, None, windows.WindowSpec(), None, 0, fps)


def test_spot_trial_refuses_what_the_model_cannot_take(tiny_built, tmp_path):
  raw, truth, _, _ = tiny_built
  session = raw / truth["subjects"][0]["ecg"]
  video = raw / truth["subjects"][0]["trials"][0]["video"]
  spotting = loso_synthetic.get_config().loso.spotting.to_dict()
  with pytest.raises(single_trial.SpotTrialError, match="threshold=5: the model's scores"):
    single_trial.spot_trial(video, session, _run_at(150.0), spotting=dict(spotting, threshold=5))
  with pytest.raises(single_trial.SpotTrialError, match="session recording.*--marker"):
    single_trial.spot_trial(video, session, _run_at(150.0), spotting=spotting)
  slow = tmp_path / "slow.avi"
  video_io.write_video(slow, [np.zeros((64, 64, 3), np.uint8)] * 30, fps=30.0)
  trial_ecg = tmp_path / "trial.npz"
  np.savez(trial_ecg, ecg=np.zeros(2000, np.float32), sampling_rate=1000.0)
  with pytest.raises(single_trial.SpotTrialError, match="30 fps, but the model was trained on 150"):
    single_trial.spot_trial(slow, trial_ecg, _run_at(150.0), spotting=spotting)


def test_spot_trial_command_refuses_an_output_file_up_front(tmp_path):
  out = tmp_path / "out.txt"
  out.write_text("")
  result = _run(
    "experiments.spot_trial", "--video=v.avi", "--ecg=e.csv", "--checkpoint=nowhere", f"--out={out}"
  )
  assert result.returncode != 0 and "a file, expected a folder" in result.stderr
