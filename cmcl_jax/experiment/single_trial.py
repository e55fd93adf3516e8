"""Spot micro-expressions in one trial a user brings: a video and its own ECG.

The trial goes through the same window extraction as the `mecg` build
(`window_examples.trial_examples`: face track, flow, ECG context, HRV features, HR and
HRS curves) with the window spec and feature standardisation the model was trained
with, then through the LOSO path: window scores → score curve → candidate clips
(`proposals`) → CCF (`ccf`). Nothing is written to a dataset.

  result = spot_trial(video, ecg, run_dir, spotting=config.loso.spotting, eta=2.0)
  result.intervals  # one row per candidate: frames, seconds, score, HRS, kept
"""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import jax
import ml_collections
import numpy as np
from etils import epath

from cmcl_jax.data import ecg_io
from cmcl_jax.data import trials as trials_lib
from cmcl_jax.data import video_io
from cmcl_jax.data import window_examples
from cmcl_jax.data import windows
from cmcl_jax.data.layout import Trial
from cmcl_jax.spotting import ccf as ccf_lib
from cmcl_jax.spotting import proposals
from cmcl_jax.experiment.scoring import MODEL_KEYS, probability_fn
from cmcl_jax.train import inputs
from cmcl_jax.train.checkpoint import Checkpointer
from cmcl_jax.train.state import ModelParts, build_model

TRIAL_SUBJECT = "user"


class SpotTrialError(ValueError):
  """The trial cannot be spotted (no face, ECG shorter than the video, …)."""


@dataclasses.dataclass(frozen=True)
class SpottedTrial:
  """Spotting of one trial.

  Attributes:
    fps: video frame rate, Hz.
    frame_count: frames of the video.
    window_starts: (K,) first frame of each window; window_scores: (K,) P(ME).
    curve: (frame_count,) smoothed per-frame ME score.
    threshold: the score threshold of the peak rule.
    candidates: (N, 3) int64 (onset, apex, offset) frames, by onset.
    kept: (N,) bool, True where the CCF keeps the candidate.
    candidate_hrs: (N,) HRS at each apex, bpm/s.
    hrs: (frame_count,) HRS at every frame, bpm/s; mean_hrs: the trial mean.
    eta: the CCF factor; hrs_threshold = eta × mean_hrs.
    record: the trial record of `window_examples.trial_examples` (face track,
      ECG problems, …).
  """

  fps: float
  frame_count: int
  window_starts: np.ndarray
  window_scores: np.ndarray
  curve: np.ndarray
  threshold: float
  candidates: np.ndarray
  kept: np.ndarray
  candidate_hrs: np.ndarray
  hrs: np.ndarray
  mean_hrs: float
  eta: float
  hrs_threshold: float
  record: dict

  @property
  def intervals(self) -> list[dict]:
    """One JSON-ready row per candidate (frames are inclusive, seconds from frame 0)."""
    rows = []
    for (onset, apex, offset), kept, hrs in zip(self.candidates, self.kept, self.candidate_hrs):
      rows.append(
        {
          "onset_frame": int(onset),
          "apex_frame": int(apex),
          "offset_frame": int(offset),
          "onset_s": round(onset / self.fps, 4),
          "apex_s": round(apex / self.fps, 4),
          "offset_s": round(offset / self.fps, 4),
          "score": round(float(self.curve[apex]), 4),
          "hrs_bpm_per_s": round(float(hrs), 4),
          "hrs_ratio": round(float(hrs) / self.mean_hrs, 4) if self.mean_hrs > 0 else None,
          "kept_by_ccf": bool(kept),
        }
      )
    return rows


@dataclasses.dataclass(frozen=True)
class TrainedRun:
  """A trained model and how it turns a trial into inputs.

  Attributes:
    config: the run's experiment config (`<run>/config.json`).
    parts, params: the model (`cmcl_jax.train.state`), from the newest fine-tuning
      checkpoint.
    spec: the dataset config's window geometry; features: input standardisation.
    step: the checkpoint's training step.
    fps: frame rate of the videos it was trained on, Hz (None: a run of an older
      cmcl_jax, which did not record it).
    partner: the run whose P(ME) this one's is averaged with (`PARTNER_FILE`: a
      LOSO fused spotter with `average_with`), or None.
  """

  config: ml_collections.ConfigDict
  parts: ModelParts
  params: object
  spec: windows.WindowSpec
  features: object
  step: int
  fps: float | None
  partner: TrainedRun | None = None


PARTNER_FILE = "average_with.json"
"""In a run folder: {"run": "<folder>"} (relative to it), the run whose P(ME) the
spotter averages with its own, window by window."""


def write_partner(run_dir: epath.PathLike, partner_dir: str) -> None:
  """Records in `run_dir` that its scores are averaged with `partner_dir`'s."""
  (epath.Path(run_dir) / PARTNER_FILE).write_text(json.dumps({"run": partner_dir}))


def partner_dir(run_dir: epath.PathLike) -> epath.Path | None:
  """The folder of the run `run_dir`'s scores are averaged with, or None."""
  path = epath.Path(run_dir) / PARTNER_FILE
  if not path.exists():
    return None
  folder = epath.Path(json.loads(path.read_text())["run"])
  return folder if folder.is_absolute() else (epath.Path(run_dir) / folder).resolve()


def load_run(run_dir: str | os.PathLike) -> TrainedRun:
  """Reads a run folder of `experiments.train` (or one variant of a LOSO fold), with
  the run it averages with (`PARTNER_FILE`) when it names one.

  Raises:
    FileNotFoundError: naming what is missing (config, inputs or checkpoint).
  """
  run_dir = epath.Path(run_dir)
  config_path = run_dir / "config.json"
  if not config_path.exists():
    raise FileNotFoundError(
      f"{config_path} not found: --checkpoint must be a run folder "
      "of experiments.train or <loso workdir>/folds/<subject>/<variant>"
    )
  config = ml_collections.ConfigDict(json.loads(config_path.read_text()))
  spec, features = inputs.read_inputs(run_dir)
  checkpointer = Checkpointer(run_dir / "finetune" / "checkpoints", keep=1)
  step = checkpointer.latest_step()
  if step is None:
    raise FileNotFoundError(f"{checkpointer.directory}: no fine-tuning checkpoint")
  parts, params = build_model(config.model, config.seed)
  params = checkpointer.restore_params(
    config.finetune, params, config.seed, jax.sharding.SingleDeviceSharding(jax.devices()[0])
  )
  checkpointer.close()
  partner = partner_dir(run_dir)
  return TrainedRun(
    config,
    parts,
    params,
    spec,
    features,
    step,
    inputs.read_fps(run_dir),
    load_run(partner) if partner is not None else None,
  )


def user_trial(
  video: str | os.PathLike, ecg: str | os.PathLike, marker: int | None = None
) -> Trial:
  """A `Trial` of one video and its ECG file.

  Args:
    video, ecg: the files.
    marker: None for an ECG that starts at the video's frame 0; else the trial's
      trigger code in the ECG's marker channel (a session recording), where it is cut.

  Raises:
    FileNotFoundError: a file is missing.
    SpotTrialError: `marker` is None but the ECG's marker channel marks trials (a
      session recording would be used from its first sample, off the video).
  """
  video, ecg = Path(video).resolve(), Path(ecg).resolve()
  for path, what in ((video, "video"), (ecg, "ECG")):
    if not path.exists():
      raise FileNotFoundError(f"{path}: {what} not found")
  if marker is None:
    onsets = ecg_io.read_recording(ecg).marker_onsets()
    if onsets:
      found = ", ".join(f"{code} at sample {starts[0]}" for code, starts in sorted(onsets.items()))
      raise SpotTrialError(
        f"{ecg}: its marker channel marks trials ({found}): it is a session recording, "
        "not one that starts at the video's frame 0; give the trial's marker "
        "(--marker=CODE) to cut it there"
      )
  return Trial(
    subject=TRIAL_SUBJECT,
    name=video.stem,
    video=video,
    marker=0 if marker is None else int(marker),
    emotion="unknown",
    date="",
    ecg=ecg,
    ecg_is_per_trial=marker is None,
    expressions=(),
  )


def score_windows(
  run: TrainedRun, examples: list[tuple[int, dict]], features, batch_size: int = 64
) -> np.ndarray:
  """(K,) float32 P(ME) of each example (fixed-size batches: one compilation)."""
  probability = probability_fn(run.parts)
  rows = [features.model_inputs(example) for _, example in examples]
  scores = []
  for first in range(0, len(rows), batch_size):
    chunk = rows[first : first + batch_size]
    padded = chunk + [chunk[-1]] * (batch_size - len(chunk))
    batch = {key: np.stack([row[key] for row in padded]) for key in MODEL_KEYS}
    scores.append(np.asarray(probability(run.params, batch))[: len(chunk)])
  return np.concatenate(scores).astype(np.float32)


def _trial_features(run: TrainedRun, task, result):
  """The run's input standardisation, its per-trial statistics those of this trial."""
  if run.features.trial_feature_stats is None:
    return run.features
  stats = {task.trial_id: trials_lib.record_feature_stats(result.record)}
  return dataclasses.replace(run.features, trial_feature_stats=stats)


def spot_trial(
  video: str | os.PathLike,
  ecg: str | os.PathLike,
  run: TrainedRun,
  *,
  spotting,
  eta: float = ccf_lib.PAPER_ETA,
  batch_size: int = 64,
  marker: int | None = None,
) -> SpottedTrial:
  """Scores, proposes and filters one trial (see the module docstring).

  Args:
    video: a video file or a folder of frames (`video_io`).
    ecg: the trial's ECG (`.npz`/`.csv`/`.acq`): sample 0 at the video's frame 0, or
      a session recording cut at `marker`.
    run: from `load_run`.
    spotting: peak-rule settings (`smoothing_frames`, `half_width_frames`,
      `min_distance_frames`, `threshold`), e.g. `config.loso.spotting`.
    eta: CCF factor.
    marker: the trial's code in a session ECG's marker channel (`user_trial`).

  Raises:
    SpotTrialError: naming the reason when the trial gives no window, its video's
      frame rate is not the one the model was trained on, or its threshold is no
      probability.
  """
  if not 0.0 <= spotting["threshold"] <= 1.0:
    raise SpotTrialError(
      f"threshold={spotting['threshold']}: the model's scores are probabilities; expected 0…1"
    )
  trial = user_trial(video, ecg, marker)
  info = video_io.video_info(trial.video)
  if run.fps is not None and abs(info.fps - run.fps) > 1e-3 * run.fps:
    raise SpotTrialError(
      f"{trial.video}: {info.fps:g} fps, but the model was trained on {run.fps:g} fps "
      f"windows ({run.spec.window_frames} frames = {run.spec.window_frames / run.fps:.3g} s); "
      f"give it a {run.fps:g} fps video"
    )
  task = window_examples.TrialTask(
    trial, f"{TRIAL_SUBJECT}/0", TRIAL_SUBJECT, info.frame_count, info.fps, run.spec
  )
  result = window_examples.trial_examples(task)
  if result.record["status"] != "used":
    raise SpotTrialError(
      f"{trial.video} with {trial.ecg}: {result.record['reason']}: {result.record['message']}"
    )
  runs = [run] if run.partner is None else [run, run.partner]
  scores = np.mean(
    [score_windows(r, result.examples, _trial_features(r, task, result), batch_size) for r in runs],
    axis=0,
  ).astype(np.float32)
  starts = np.array([example["start_frame"] for _, example in result.examples], np.int64)
  curve = proposals.score_curve(
    starts, scores, run.spec.window_frames, info.frame_count, spotting["smoothing_frames"]
  )
  candidates = proposals.propose_with(curve, spotting)
  hrs = result.curves["hrs_bpm_per_s"]
  mean_hrs = float(result.record["mean_hrs_bpm_per_s"])
  filtered = ccf_lib.ccf_filter(candidates, hrs, eta, mean_hrs)
  candidate_hrs = hrs[candidates[:, 1]].astype(np.float32)
  return SpottedTrial(
    fps=info.fps,
    frame_count=info.frame_count,
    window_starts=starts,
    window_scores=scores,
    curve=curve,
    threshold=float(spotting["threshold"]),
    candidates=candidates,
    kept=filtered.kept_mask,
    candidate_hrs=candidate_hrs,
    hrs=hrs,
    mean_hrs=mean_hrs,
    eta=float(eta),
    hrs_threshold=filtered.threshold,
    record=result.record,
  )
