r"""Spots micro-expressions in one trial you bring: a face video and its ECG.

  python -m experiments.spot_trial --video=trial.avi --ecg=trial_ecg.csv \
      --checkpoint=workdir/demo/loso/folds/<subject>/both --out=spotted/

`--checkpoint` is a run folder of `experiments.train`, or one variant of a LOSO fold
(`<loso workdir>/folds/<subject>/<variant>`): its `config.json`, `inputs.json` (window
spec, feature statistics) and newest fine-tuning checkpoint are used. The ECG file
(`.npz`, `.csv` or `.acq`, see docs/data.md, "ECG formats") starts at the video's frame 0,
or is a session recording cut at the trial's `--marker`; a video at another frame rate
than the run's training videos, or a session ECG without `--marker`, is refused.
The peak rule is the one the run was evaluated with (`spotting.json` of a LOSO
variant: its threshold as chosen in the fold), else the config's, unless overridden.

Writes under `--out`: `<video stem>_intervals.csv` and `.json` (one row per candidate:
onset/apex/offset frames and seconds, score, HRS at the apex, HRS / trial mean, kept
by the CCF) and `<video stem>_spotting.png`.
"""

import json
import math
import time
from pathlib import Path

import ml_collections
import pandas as pd
from absl import app
from absl import flags

from cmcl_jax.analysis import figures
from cmcl_jax.data import ecg_io, video_io
from cmcl_jax.experiment import loso, runtime, single_trial
from cmcl_jax.spotting import ccf as ccf_lib
from cmcl_jax.train import checkpoint
from experiments.configs import base
from experiments import cli

_VIDEO = flags.DEFINE_string("video", None, "Video file or folder of frames.")
_ECG = flags.DEFINE_string(
  "ecg", None, "ECG file of the trial (starts at frame 0), or a session recording (--marker)."
)
_MARKER = flags.DEFINE_integer(
  "marker", None, "The trial's code in a session ECG's marker channel, where it is cut."
)
_CHECKPOINT = flags.DEFINE_string("checkpoint", None, "Run folder of a trained model.")
_OUT = flags.DEFINE_string("out", "spotted", "Output folder.")
_ETA = flags.DEFINE_float("eta", ccf_lib.PAPER_ETA, "CCF factor η.")
_THRESHOLD = flags.DEFINE_float(
  "threshold", None, "Score threshold of the peak rule (default: the run's config)."
)
flags.mark_flags_as_required(["video", "ecg", "checkpoint"])


def spotting_settings(run_dir: Path, config) -> ml_collections.ConfigDict:
  """The peak rule a LOSO run was evaluated with (its threshold as chosen in the
  fold), else the config's, else the LOSO default (runs of `experiments.train`)."""
  used = run_dir / loso.SPOTTING_FILE
  if used.exists():
    spotting = json.loads(used.read_text())
  elif "loso" in config:
    spotting = config.loso.spotting.to_dict()
  else:
    spotting = base.get_config().loso.spotting.to_dict()
  spotting = ml_collections.ConfigDict(spotting)
  if _THRESHOLD.value is not None:
    spotting.threshold = _THRESHOLD.value
  return spotting


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"unexpected arguments: {argv[1:]}")
  started = time.perf_counter()
  runtime.quiet_checkpoint_logs()
  out = cli.output_folder("out", _OUT.value)
  if not (math.isfinite(_ETA.value) and _ETA.value > 0):
    raise app.UsageError(f"--eta={_ETA.value}: the CCF factor must be a number > 0")
  if _THRESHOLD.value is not None and not 0.0 <= _THRESHOLD.value <= 1.0:
    raise app.UsageError(
      f"--threshold={_THRESHOLD.value}: the score is a probability; expected 0…1"
    )
  cli.input_path("ecg", _ECG.value)
  try:  # the video's header, before the model is loaded
    video_io.video_info(cli.input_path("video", _VIDEO.value))
  except video_io.VideoError as error:
    raise app.UsageError(str(error)) from None
  try:
    run = single_trial.load_run(_CHECKPOINT.value)
  except (FileNotFoundError, checkpoint.CheckpointMismatchError) as error:
    raise app.UsageError(str(error)) from None
  print(
    f"model: {_CHECKPOINT.value} (fine-tuning step {run.step}, modality "
    f"{run.config.model.encoder.modality})",
    flush=True,
  )
  spotting = spotting_settings(Path(_CHECKPOINT.value), run.config)
  try:
    spotted = single_trial.spot_trial(
      _VIDEO.value, _ECG.value, run, spotting=spotting, eta=_ETA.value, marker=_MARKER.value
    )
  except (
    single_trial.SpotTrialError,
    FileNotFoundError,
    video_io.VideoError,
    ecg_io.EcgFileError,
  ) as error:
    raise app.UsageError(str(error)) from None
  out.mkdir(parents=True, exist_ok=True)
  stem = Path(_VIDEO.value).stem
  rows = spotted.intervals
  columns = [
    "onset_frame",
    "apex_frame",
    "offset_frame",
    "onset_s",
    "apex_s",
    "offset_s",
    "score",
    "hrs_bpm_per_s",
    "hrs_ratio",
    "kept_by_ccf",
  ]
  pd.DataFrame(rows, columns=columns).to_csv(out / f"{stem}_intervals.csv", index=False)
  (out / f"{stem}_intervals.json").write_text(
    json.dumps(
      {
        "video": str(Path(_VIDEO.value).resolve()),
        "ecg": str(Path(_ECG.value).resolve()),
        "checkpoint": str(Path(_CHECKPOINT.value).resolve()),
        "step": run.step,
        "fps": spotted.fps,
        "frame_count": spotted.frame_count,
        "spotting": spotting.to_dict(),
        "eta": spotted.eta,
        "mean_hrs_bpm_per_s": spotted.mean_hrs,
        "hrs_threshold": spotted.hrs_threshold,
        "face": spotted.record["face"],
        "problems": spotted.record["problems"],
        "intervals": rows,
      },
      indent=1,
    )
  )
  figure = figures.plot_spotting_trial(
    spotted.curve,
    spotted.threshold,
    spotted.candidates[spotted.kept],
    spotted.candidates[~spotted.kept],
    (),
    spotted.hrs,
    spotted.hrs_threshold,
    spotted.fps,
    title=f"{stem}: {int(spotted.kept.sum())} kept of "
    f"{len(spotted.candidates)} candidates (η = {spotted.eta:g})",
  )
  figure.savefig(out / f"{stem}_spotting.png", dpi=110)
  for problem in spotted.record["problems"]:
    print(f"warning: {problem['code']}: {problem['message']}")
  print(
    f"{len(rows)} candidates, {int(spotted.kept.sum())} kept by the CCF "
    f"(η = {spotted.eta:g}, HRS threshold {spotted.hrs_threshold:.2f} bpm/s); wrote "
    f"{out / (stem + '_intervals.csv')}, .json and {stem}_spotting.png in "
    f"{time.perf_counter() - started:.0f} s"
  )


if __name__ == "__main__":
  cli.run(main)
