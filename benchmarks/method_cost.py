"""Cost of each spotting method of Table 2 per frame of video, and per fold of training.

    python -m benchmarks.method_cost               # ~3 min on 2 cores
    python -m benchmarks.method_cost --runs 5 --seconds 20

Writes one synthetic trial of the demo's size (150 fps, 128 × 128, `--seconds` long)
and times, medians of `--runs`:
* preprocessing, ms per video frame: CMCL-Net's window extraction as the `mecg` build
  runs it (`window_examples.trial_examples`: face track, flow, ECG, features); the
  baselines' face crops (`face_crops.read_face_crops`, decode + dlib on the first
  frame + crop) of every frame and of the 30 Hz frames they read; MDMD's score at
  30 Hz (`mdmd_features.mdmd_scores`, Farneback), and crops + score of one video per
  core read one at a time and side by side (`face_crops.each_video`); SOFTNet's
  features at 30 Hz (`softnet_features.frame_features`, DIS);
* inference, ms per video frame: CMCL-Net's window scoring with the demo's model
  (`loso_synthetic.py`; untrained weights cost the same); SOFTNet's `predict`;
* training: SOFTNet's seconds per 1000 training examples for its 10 epochs, from a
  timed run of 300 steps (CMCL-Net's training steps: `benchmarks.train_speed`; both
  per fold of the demo: its log's "fold …, <spotter>: … in N s" lines).

Prints a Markdown table for BENCHMARKS.md; name the machine (printed).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
from absl import flags

from benchmarks import machine
from cmcl_jax.baselines import face_crops, mdmd, mdmd_features, softnet_features, softnet_train
from cmcl_jax.data import layout, loaders, synthetic, window_examples
from cmcl_jax.experiment import scoring
from cmcl_jax.train import state as train_state
from data_builders.mecg import mecg_dataset_builder
from experiments.configs import loso_synthetic

ANALYSIS_FPS = 30.0


def main() -> None:
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument("--runs", type=int, default=3, help="repetitions; the median is reported")
  parser.add_argument("--seconds", type=float, default=10.0, help="trial length, s")
  args = parser.parse_args()
  flags.FLAGS.mark_as_parsed()

  with tempfile.TemporaryDirectory() as tmp:
    raw = Path(tmp) / "raw"
    preset = synthetic.preset(
      "demo", num_subjects=1, trials_per_subject=1, trial_seconds=args.seconds
    )
    synthetic.generate(raw, preset, seed=0, progress=False)
    (trial,) = layout.discover(raw).trials
    video = trial.video
    crops = face_crops.read_face_crops(video, 128)
    frames = len(crops.frames)
    step = face_crops.frame_step(crops.fps, ANALYSIS_FPS)
    analysed = crops.frames[::step]
    spec = mecg_dataset_builder.Builder.BUILDER_CONFIGS[0].spec
    task = window_examples.TrialTask(trial, "s/0", "s", frames, crops.fps, spec)
    rows = {}

    rows["CMCL-Net — window extraction (build)"] = machine.median_seconds(
      lambda: window_examples.trial_examples(task), args.runs
    )
    rows["MDMD, SOFTNet — face crops of every frame (decode, dlib, crop)"] = machine.median_seconds(
      lambda: face_crops.read_face_crops(video, 128), args.runs
    )
    rows["MDMD, SOFTNet — face crops at 30 Hz (what they read)"] = machine.median_seconds(
      lambda: face_crops.read_face_crops(video, 128, step=step), args.runs
    )
    k = mdmd.k_frames(ANALYSIS_FPS, "micro")
    rows["MDMD — score at 30 Hz (Farneback)"] = machine.median_seconds(
      lambda: mdmd_features.mdmd_scores(analysed, k, flow="farneback"), args.runs
    )

    def mdmd_video(_):
      crops = face_crops.read_face_crops(video, 128, step=step)
      return mdmd_features.mdmd_scores(crops.frames, k, flow="farneback")

    cores = len(os.sched_getaffinity(0))
    for workers in sorted({1, cores}):
      # `cores` copies of the trial, as a spotter reads a split's videos (`each_video`)
      rows[f"MDMD — crops + score, {cores} videos on {workers} thread(s), per video"] = (
        machine.median_seconds(
          lambda: face_crops.each_video(mdmd_video, range(cores), workers), args.runs
        )
        / cores
      )
    k_softnet = 5  # SOFTNet's k of 0.2–0.5 s MEs at 30 Hz
    features = softnet_features.frame_features(analysed, crops.landmarks, k=k_softnet)
    rows["SOFTNet — features at 30 Hz (DIS)"] = machine.median_seconds(
      lambda: softnet_features.frame_features(analysed, crops.landmarks, k=k_softnet), args.runs
    )
    inputs = softnet_features.normalize(features)
    params = softnet_train.fit(inputs, np.zeros(len(inputs), np.float32), steps=2)
    rows["SOFTNet — inference"] = machine.median_seconds(
      lambda: softnet_train.predict(params, inputs), args.runs
    )

    config = loso_synthetic.get_config()
    result = window_examples.trial_examples(task)
    parts, model_params = train_state.build_model(config.model, config.seed)
    probability = scoring.probability_fn(parts)
    features_map = loaders.Features()
    batch = [features_map.model_inputs(e) for _, e in result.examples[:64]]
    batch += [batch[-1]] * (64 - len(batch))
    stacked = {key: np.stack([b[key] for b in batch]) for key in scoring.MODEL_KEYS}
    probability(model_params, stacked)  # compile
    windows_per_trial = len(result.examples)
    per_batch = machine.median_seconds(
      lambda: np.asarray(probability(model_params, stacked)), max(args.runs, 5)
    )
    rows["CMCL-Net — inference (demo model, batch 64)"] = per_batch * windows_per_trial / 64

    steps = 300
    train_inputs = np.repeat(inputs, int(np.ceil(1000 / len(inputs))), axis=0)[:1000]
    start = time.perf_counter()
    softnet_train.fit(train_inputs, np.zeros(1000, np.float32), steps=steps)
    softnet_step_s = (time.perf_counter() - start) / steps

  print(f"Machine: {machine.describe()}; one {args.seconds:g} s synthetic trial, "
        f"{frames} frames at 150 fps, 128 × 128; medians of {args.runs} runs\n")  # fmt: skip
  print("| stage | ms per video frame |")
  print("|---|---|")
  for name, seconds in rows.items():
    print(f"| {name} | {1000 * seconds / frames:.2f} |")
  epoch_steps = softnet_train.steps_for_epochs(1000, epochs=softnet_train.EPOCHS)
  print(
    f"\nSOFTNet training: {1000 * softnet_step_s:.1f} ms a step of "
    f"{softnet_train.BATCH_SIZE}: {epoch_steps * softnet_step_s:.1f} s per 1000 training "
    f"examples for its {softnet_train.EPOCHS} epochs; CMCL-Net scores {windows_per_trial} "
    "windows in this trial."
  )


if __name__ == "__main__":
  main()
