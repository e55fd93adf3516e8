"""`mecg`: windows of face optical flow + aligned ECG from a raw MECG layout.

    tfds build data_builders/mecg --manual_dir=RAW --config=tiny --data_dir=OUT

or in Python::

    builder = Builder(config="tiny", data_dir=OUT)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=RAW))

Files are `array_record` (the builder's default; no TensorFlow needed to build or
read). One split per (pseudonymised) subject, so a leave-one-subject-out training
fold is ``"+".join(other subjects)``. Examples are stored in key order (trial by
trial, window by window; shuffling is the loaders' job), with integer keys
``j × 10^7 + start frame`` for the split's j-th trial (by trial id): TFDS under Beam
sorts unshuffled examples by key arithmetically, so keys must be integers; the
example's `trial` and `start_frame` name it.

The build makes two passes. The first runs the reading checks of every trial
(`build_trials.check_trials`: video header and length, the ECG read and cut at the
trial's marker, a heart rate found; no video decoding), so the splits are the subjects
with at least one trial that passes: a subject left with none is reported in the
build report with each trial's reason and has no split, and the build goes on. The
second pass does the long work per trial (`build_trials.run_trial`: face track, flow,
windows). A trial that fails in either pass is skipped, counted and named with its
reason in the build report and never aborts the others. Only a subject whose every
trial passed the first pass and then failed in the second (e.g. every video has a
frame that does not decode) ends the build, with a message naming the subject and each
trial's reason, since TFDS declares the splits before the examples are written.

Work is per subject (first pass) and per trial (second pass): a process pool of
`num_workers` processes (default: all cores, or the `MECG_BUILD_WORKERS` environment
variable); the second pass runs on Apache Beam when a `beam_runner`/`beam_options` is
set in the `DownloadConfig` (`tfds build --beam_pipeline_options=...`). Window
extraction and labels live in `cmcl_jax.data.windows` / `window_examples`; see
README.md beside this file for the label policy, the files written next to the shards
and the build report.
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import itertools
import json
import multiprocessing
import os

import numpy as np
import tensorflow_datasets as tfds
from absl import logging
from etils import epath
from tensorflow_datasets.core.utils.lazy_imports_utils import apache_beam as beam
from tqdm.auto import tqdm

from cmcl_jax.data import build_report
from cmcl_jax.data import build_trials
from cmcl_jax.data import layout as layout_lib
from cmcl_jax.data import pseudonyms as pseudonyms_lib
from cmcl_jax.data import trials as trials_lib
from cmcl_jax.data import video_io
from cmcl_jax.data import window_examples
from cmcl_jax.data import windows
from cmcl_jax.ecg import WINDOW_FEATURE_NAMES
from data_builders.features import array_feature

WORKERS_ENV = "MECG_BUILD_WORKERS"
LOOKAHEAD_PER_WORKER = 2


@dataclasses.dataclass
class MecgConfig(tfds.core.BuilderConfig):
  """A `mecg` config: window geometry and contents, and pseudonymisation.

  Attributes:
    spec: `cmcl_jax.data.windows.WindowSpec` (window, stride, flow clip, ECG context).
    pseudonymize: replace subject names by opaque ids (mapping kept only in
      `<manual_dir>/.mecg_pseudonyms.json`).
  """

  spec: windows.WindowSpec = windows.WindowSpec()
  pseudonymize: bool = True


class Builder(tfds.core.GeneratorBasedBuilder):
  """MECG windows: face flow clip, ECG segment, HRV features, HR/HRS, ME label."""

  VERSION = tfds.core.Version("1.4.0")
  RELEASE_NOTES = {
    "1.0.0": "Initial release: per-subject splits, array_record.",
    "1.1.0": "Per-trial files hold window_motion (hard-negative sampling); the "
    "synthetic MECG plants twitches.",
    "1.2.0": "ecg_features gain hr_rise_bpm (7 features): the largest rise of the "
    "HR (mean over a second after a time minus the second before) within "
    "0.5 s of the window centre.",
    "1.3.0": "Faster video decoding: the face track decodes only the frames its "
    "detector runs on, the crops are read at the smallest libjpeg scale that "
    "does not enlarge them, and MJPG gray frames are the JPEG's luma (within "
    "1-2 grey levels of the earlier colour-then-gray decode).",
    "1.4.0": "Array features (flow, ecg, ecg_features, hr_bpm, hrs_bpm_per_s) are "
    "stored as raw bytes instead of protobuf float lists: the same values, read "
    "several times faster, and float16 flow takes 2 bytes a value on disk instead of 4.",
  }
  BUILDER_CONFIGS = [
    MecgConfig(
      name="default",
      description=(
        "0.5 s windows (75 frames at 150 fps) every 15 frames; 8 onset-referenced "
        "flow fields at 32x32 (computed at 64x64); 2 s of ECG at 250 Hz; HR/HRS at "
        "25 Hz."
      ),
    ),
    MecgConfig(
      name="tiny",
      description=(
        "Test size: 75-frame windows every 15 frames; 4 flow fields at 16x16 (from "
        "32x32 crops); 2 s of ECG at 32 Hz (64 samples); HR/HRS at 8 Hz."
      ),
      spec=windows.WindowSpec(
        flow_frames=4, roi_size=32, flow_size=16, ecg_rate_hz=32.0, hr_rate_hz=8.0
      ),
    ),
  ]
  MANUAL_DOWNLOAD_INSTRUCTIONS = """\
  MECG is released only on signed request by its authors (Ma et al., CMCL-Net).
  Point --manual_dir at the raw layout: the coding file (coding_file.xlsx/.csv), the
  trial videos (<emotion>_<index>_<marker>_<subject>_<yyyymmdd>.avi or frame folders)
  and the ECG recordings with a marker channel, anywhere below it. To try the
  builder without the data, write a synthetic layout:
      python -m experiments.synthesize --out RAW --preset tiny
  """

  def __init__(self, *, num_workers: int | None = None, file_format=None, **kwargs):
    """Like any TFDS builder; `num_workers` processes generate trials in parallel."""
    super().__init__(file_format=file_format or "array_record", **kwargs)
    self._num_workers = num_workers or _workers_from_env() or (os.cpu_count() or 1)
    if self._num_workers < 1:
      raise ValueError(f"num_workers={num_workers}: expected a number of processes ≥ 1")
    self._use_beam = False
    self._runner = None
    self._build = None

  def _info(self) -> tfds.core.DatasetInfo:
    spec = self.builder_config.spec
    flow = (spec.flow_frames, spec.flow_size, spec.flow_size, 2)
    return self.dataset_info_from_configs(
      features=tfds.features.FeaturesDict(
        {
          "flow": array_feature(
            flow,
            np.float16,
            (
              "(T, S, S, 2) flow (dx, dy) from the window's first face crop to T "
              "evenly spaced later crops, pixels of the roi crop"
            ),
          ),
          "ecg": array_feature(
            (spec.ecg_length,),
            np.float32,
            "(L,) band-passed ECG centred on the window, mV",
          ),
          "ecg_features": array_feature(
            (len(WINDOW_FEATURE_NAMES),),
            np.float32,
            "window_features in the order " + ", ".join(WINDOW_FEATURE_NAMES),
          ),
          "hr_bpm": array_feature(
            (spec.hr_length,),
            np.float32,
            "heart rate over the ECG context, bpm",
          ),
          "hrs_bpm_per_s": array_feature(
            (spec.hr_length,),
            np.float32,
            "heart-rate slope |dHR/dt| over the ECG context, bpm/s",
          ),
          "label": tfds.features.ClassLabel(names=["non_me", "me"]),
          "kind": tfds.features.ClassLabel(names=list(windows.KINDS)),
          "apex_frame": tfds.features.Scalar(dtype=np.int32, doc="-1 if none"),
          "expression_row": tfds.features.Scalar(dtype=np.int32, doc="coding-file row, -1 if none"),
          "emotion": tfds.features.Text(doc="emotion of the window's expression"),
          "clip_emotion": tfds.features.Text(doc="emotion of the clip watched"),
          "subject": tfds.features.Text(doc="pseudonymised subject id"),
          "trial": tfds.features.Text(doc="<subject id>/<marker>"),
          "start_frame": tfds.features.Scalar(dtype=np.int32),
          "end_frame": tfds.features.Scalar(dtype=np.int32, doc="exclusive"),
          "ecg_padded": tfds.features.Scalar(dtype=np.bool_, doc="ECG context partly unrecorded"),
        }
      ),
      disable_shuffling=True,
      homepage="https://github.com/cmcl-jax/cmcl_jax",
    )

  def _download_and_prepare(self, dl_manager, download_config):
    self._use_beam = bool(download_config.beam_runner or download_config.beam_options)
    try:
      super()._download_and_prepare(dl_manager, download_config)
    finally:
      if self._runner is not None:
        self._runner.close()
        self._runner = None
    self._write_report()

  def _split_generators(self, dl_manager):
    spec = self.builder_config.spec
    raw = layout_lib.discover(dl_manager.manual_dir)
    names = pseudonyms_lib.Pseudonyms.load_or_create(
      dl_manager.manual_dir, raw.subjects, enabled=self.builder_config.pseudonymize
    )
    data_dir = os.fspath(self.data_dir)
    candidates = collections.defaultdict(list)
    taken = set()
    for trial in raw.trials:
      subject = names[trial.subject]
      trial_id = f"{subject}/{trial.marker}"
      if trial_id in taken:  # the same clip recorded on two dates
        trial_id = f"{trial_id}_{trial.date}"
      taken.add(trial_id)
      try:
        info = video_io.video_info(trial.video)
      except video_io.VideoError as e:
        result = window_examples.skipped(
          trial, trial_id, subject, "video_unreadable", str(e), names.scrub
        )
        build_trials.write_trial(data_dir, result)
        continue
      candidates[subject].append(
        window_examples.TrialTask(trial, trial_id, subject, info.frame_count, info.fps, spec)
      )
    rate, off_rate = build_trials.off_rate_tasks([t for ts in candidates.values() for t in ts])
    for task in off_rate:
      build_trials.write_trial(data_dir, build_trials.skipped_off_rate(task, rate, names.scrub))
      candidates[task.subject_id].remove(task)
      if not candidates[task.subject_id]:
        del candidates[task.subject_id]
    self._runner = _TrialRunner(self._num_workers, data_dir, names.scrub)
    tasks = self._runner.check(candidates)
    records = trials_lib.read_records(data_dir)
    if not tasks:
      raise ValueError(
        f"{dl_manager.manual_dir}: no trial passed the reading checks (a readable video "
        f"long enough for a window, an ECG recording that reads, holds the trial's marker "
        f"and gives a heart rate), so there is no split to build. The "
        f"{len(records)} trials: " + build_report.describe_skipped(list(records.values()))
      )
    left_out = build_report.subjects_left_out(records, tasks)
    for subject, subject_records in left_out.items():
      logging.warning(
        "mecg: subject %s has no usable trial and is left out of the dataset (no split): %s",
        subject,
        build_report.describe_skipped(subject_records),
      )
    for subject, split_tasks in tasks.items():  # the order keys (and Beam) keep
      split_tasks.sort(key=lambda task: task.trial_id)
      tasks[subject] = [
        dataclasses.replace(task, first_key=j * window_examples.KEY_STRIDE)
        for j, task in enumerate(split_tasks)
      ]
    ordered = [task for subject in tasks for task in tasks[subject]]
    self._build = {
      "raw": raw,
      "names": names,
      "subjects": list(tasks),
      "order": [task.trial_id for task in ordered],
    }
    if self._use_beam:  # the pool only ran the first pass
      self._runner.close()
      self._runner = None
      return {s: self._generate_examples(s, split_tasks) for s, split_tasks in tasks.items()}
    self._runner.start(ordered)
    first = 0
    generators = {}
    for subject, split_tasks in tasks.items():
      generators[subject] = self._generate_examples(subject, range(first, first + len(split_tasks)))
      first += len(split_tasks)
    return generators

  def _generate_examples(self, split, tasks):
    """Examples of one subject split: a generator, or a Beam PTransform under Beam."""
    data_dir = os.fspath(self.data_dir)
    scrub = self._build["names"].scrub
    if self._use_beam:

      @beam.ptransform_fn
      def windows_of_split(pipeline):
        examples = (
          pipeline
          | f"Trials_{split}" >> beam.Create(list(tasks))
          | f"Windows_{split}"
          >> beam.FlatMap(build_trials.run_trial, data_dir=data_dir, scrub=scrub)
        )
        _ = (
          examples
          | f"Count_{split}" >> beam.combiners.Count.Globally()
          | f"Check_{split}" >> beam.Map(_require_windows, split=split, data_dir=data_dir)
        )
        return examples

      return windows_of_split()
    return self._generate_local(split, tasks)

  def _generate_local(self, split, task_indices):
    count = 0
    for index in task_indices:
      examples = self._runner.result(index)
      count += len(examples)
      yield from examples
    _require_windows(count, split, os.fspath(self.data_dir))

  def _write_report(self):
    """trials.json and the build report, from the trial records all workers wrote."""
    records = trials_lib.read_records(self.data_dir)
    splits = {
      s: [
        t
        for t in self._build["order"]
        if records[t]["subject"] == s and records[t]["status"] == "used"
      ]
      for s in self._build["subjects"]
    }
    data_dir = epath.Path(self.data_dir)
    (data_dir / trials_lib.TRIALS_INDEX).write_text(json.dumps({"splits": splits}, indent=1))
    report = build_report.build_report(
      self._build["raw"],
      records,
      splits,
      self._build["names"].scrub,
      header={
        "name": self.name,
        "config": self.builder_config.name,
        "version": str(self.version),
        "spec": dataclasses.asdict(self.builder_config.spec),
      },
    )
    build_report.write_report(data_dir, report)


def _workers_from_env() -> int:
  """`MECG_BUILD_WORKERS` as a number of processes; 0 when unset or empty."""
  text = os.environ.get(WORKERS_ENV, "").strip()
  if not text:
    return 0
  try:
    workers = int(text)
  except ValueError:
    workers = 0
  if workers < 1:
    raise ValueError(
      f"environment variable {WORKERS_ENV}={text!r}: expected a number of processes ≥ 1 "
      "(or unset it to use all cores)"
    )
  return workers


def _require_windows(count: int, split: str, data_dir: str) -> None:
  """Raises, naming every trial of `split` and its reason, when it gave no window.

  Its trials all passed the first pass, so TFDS has declared the split and cannot
  write it empty. The records the build wrote are in its temporary folder, which TFDS
  removes when the build fails, so the message carries them.
  """
  if count:
    return
  records = [r for r in trials_lib.read_records(data_dir).values() if r["subject"] == split]
  raise ValueError(
    f"split {split}: every trial of this subject passed the reading checks but none "
    "gave a window, so the dataset cannot have its split; fix its files or move them "
    f"out of the raw layout. Its {len(records)} trials: " + build_report.describe_skipped(records)
  )


class _TrialRunner:
  """Runs the build's two passes, `num_workers` processes at a time.

  `check` runs `build_trials.check_trials` once per subject. `start` then queues
  `build_trials.run_trial` for every task in order; results are asked for in task
  order (split after split) and a bounded number of later tasks run ahead, also
  across split boundaries, so the pool never idles between two subjects.
  """

  def __init__(self, num_workers, data_dir, scrub):
    self._args = (data_dir, scrub)
    self._executor = None
    if num_workers > 1:
      self._executor = concurrent.futures.ProcessPoolExecutor(
        num_workers, mp_context=multiprocessing.get_context("spawn")
      )
    self._lookahead = LOOKAHEAD_PER_WORKER * num_workers
    self._tasks = []
    self._pending = collections.deque()
    self._next = 0
    self._bar = None

  def check(self, candidates):
    """Subject → its tasks that pass the first pass (subjects with none left out)."""
    groups = list(candidates.values())
    bar = tqdm(total=len(groups), unit="subject", desc="mecg reading checks")
    if self._executor is None:
      results = (build_trials.check_trials(group, *self._args) for group in groups)
    else:
      data_dir, scrub = self._args
      results = self._executor.map(
        build_trials.check_trials, groups, itertools.repeat(data_dir), itertools.repeat(scrub)
      )
    passed = {}
    for group, ok in zip(groups, results):
      bar.update()
      kept = [task for task, good in zip(group, ok) if good]
      if kept:
        passed[group[0].subject_id] = kept
    bar.close()
    return passed

  def start(self, tasks):
    """Queues the second pass over `tasks` (the order results are asked for)."""
    self._tasks = tasks
    self._bar = tqdm(total=len(tasks), unit="trial", desc="mecg trials")

  def _submit(self):
    while (
      self._executor and self._next < len(self._tasks) and (len(self._pending) < self._lookahead)
    ):
      future = self._executor.submit(build_trials.run_trial, self._tasks[self._next], *self._args)
      self._pending.append((self._next, future))
      self._next += 1

  def result(self, index):
    """Examples of task `index`; earlier tasks not asked for are dropped.

    TFDS asks in order; it skips the rest of a split only when
    `max_examples_per_split` truncates it.
    """
    task = self._tasks[index]
    if self._executor is None:
      examples = build_trials.run_trial(task, *self._args)
    else:
      if not self._pending or self._pending[-1][0] < index:
        while self._pending:
          self._pending.popleft()[1].cancel()
        self._next = max(self._next, index)
      self._submit()
      while self._pending[0][0] < index:
        self._pending.popleft()[1].cancel()
      examples = self._pending.popleft()[1].result()
      self._submit()
    self._bar.set_postfix_str(task.trial_id)
    self._bar.update()
    return examples

  def close(self):
    if self._bar is not None:
      self._bar.close()
    if self._executor is not None:
      self._executor.shutdown(cancel_futures=True)
