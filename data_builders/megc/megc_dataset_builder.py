"""`megc`: video-only windows of face optical flow from CAS(ME)², SAMM-LV or CAS(ME)³.

    python -m experiments.build_mecg data_builders/megc --manual_dir=RAW \
        --config=casme2 --data_dir=OUT      # or tfds build … where TensorFlow is installed

or in Python::

    builder = Builder(config="casme2", data_dir=OUT)
    builder.download_and_prepare(
        download_config=tfds.download.DownloadConfig(manual_dir=RAW))

RAW is a dataset's raw root as released (`cmcl_jax.data.datasets.layouts`: the
annotation spreadsheet and the frame folders). Configs: one per dataset and target
kind, ``casme2`` / ``samm_lv`` / ``casme3`` (micro-expressions: 0.5-s windows every
0.1 s) and ``<dataset>_macro`` (macro-expressions: 2-s windows every 0.25 s), the
geometry in seconds turned into frames at the dataset's fps
(`video_windows.VideoWindows`); ``tiny`` and ``tiny_macro`` are the same with small
flow clips, for tests, and take the dataset from the frames folder they find.
Labels (`video_windows`): label 1 is a window of the target kind, `kind` says what
else a window overlaps (micro, macro, partial or none).

Files are `array_record`; one split per subject (its code, with characters TFDS
does not allow in a split name replaced by "_": ``spNO.1`` → ``spNO_1``), so a
leave-one-subject-out fold is ``"+".join(other subjects)``; examples in key order
(video by video, window by window) with integer keys ``j × 10^7 + start frame`` for
the split's j-th video. Beside the shards: the per-video files and ``trials.json``
that `cmcl_jax.data.trials` reads, and the build report
(`video_build_report`: every video and expression, used or skipped and why).

Like the `mecg` build, two passes: the first (no decoding) keeps the videos long
enough for a window, so the splits are the subjects with at least one; the second
computes the windows (`video_windows.run_task`), `num_workers` processes at a time
(default: all cores, or the `MEGC_BUILD_WORKERS` environment variable). A video that
fails is skipped, counted and named in the build report, never aborting the others;
only a subject whose every video fails in the second pass ends the build, with a
message naming each video's reason (TFDS declares the splits before the examples).
"""

from __future__ import annotations

import collections
import concurrent.futures
import dataclasses
import functools
import importlib
import json
import multiprocessing
import os

import numpy as np
import tensorflow_datasets as tfds
from absl import logging
from etils import epath
from tqdm.auto import tqdm

from cmcl_jax.data import build_report
from cmcl_jax.data import build_trials
from cmcl_jax.data import trials as trials_lib
from cmcl_jax.data import window_examples
from cmcl_jax.data import windows
from cmcl_jax.data.datasets import layouts
from cmcl_jax.data.datasets import video_build_report
from cmcl_jax.data.datasets import video_windows
from cmcl_jax.data.datasets.annotations import TITLES
from data_builders.features import array_feature

WORKERS_ENV = "MEGC_BUILD_WORKERS"
LOOKAHEAD_PER_WORKER = 2


@dataclasses.dataclass
class MegcConfig(tfds.core.BuilderConfig):
  """A `megc` config: which dataset, and the windows' geometry and contents.

  Attributes:
    dataset: "casme2", "samm_lv" or "casme3"; "" takes it from the frames folder
      the manual dir holds (`layouts.find_dataset`).
    windows: target kind, geometry in seconds, flow clip (`video_windows.VideoWindows`).
  """

  dataset: str = ""
  windows: video_windows.VideoWindows = video_windows.VideoWindows()


_MICRO = video_windows.VideoWindows()
_MACRO = video_windows.VideoWindows(target="macro", window_s=2.0, stride_s=0.25)
_TINY = dict(flow_frames=4, roi_size=32, flow_size=16)


def _configs() -> list[MegcConfig]:
  configs = []
  for dataset in layouts.DATASETS:
    fps = round(importlib.import_module(f"cmcl_jax.data.datasets.{dataset}").FPS)
    configs += [
      MegcConfig(
        name=dataset,
        dataset=dataset,
        windows=_MICRO,
        description=(
          f"{TITLES[dataset]} micro-expressions: 0.5 s windows ({round(0.5 * fps)} frames at "
          f"{fps} fps) every 0.1 s; 8 flow fields at 32x32 (computed at 64x64)."
        ),
      ),
      MegcConfig(
        name=f"{dataset}_macro",
        dataset=dataset,
        windows=_MACRO,
        description=(
          f"{TITLES[dataset]} macro-expressions: 2 s windows ({2 * fps} frames at {fps} fps) "
          "every 0.25 s; 8 flow fields at 32x32 (computed at 64x64)."
        ),
      ),
    ]
  configs += [
    MegcConfig(
      name="tiny",
      windows=dataclasses.replace(_MICRO, **_TINY),
      description="Test size, any of the datasets: micro windows as the dataset's config; "
      "4 flow fields at 16x16 (from 32x32 crops).",
    ),
    MegcConfig(
      name="tiny_macro",
      windows=dataclasses.replace(_MACRO, **_TINY),
      description="Test size, any of the datasets: macro windows as the dataset's config; "
      "4 flow fields at 16x16 (from 32x32 crops).",
    ),
  ]
  return configs


class Builder(tfds.core.GeneratorBasedBuilder):
  """CAS(ME)² / SAMM-LV / CAS(ME)³ windows: face flow clip and a micro or macro label."""

  VERSION = tfds.core.Version("1.2.0")
  RELEASE_NOTES = {
    "1.0.0": "Initial release: per-subject splits, micro and macro configs.",
    "1.1.0": "Faster video decoding: the face track reads only its detector's "
    "frames and the crops are read at the smallest scale that does not enlarge "
    "them (within 1-2 grey levels of 1.0.0's frames).",
    "1.2.0": "flow is stored as raw bytes instead of a protobuf float list: the "
    "same values, read several times faster, 2 bytes a value on disk instead of 4.",
  }
  BUILDER_CONFIGS = _configs()
  MANUAL_DOWNLOAD_INSTRUCTIONS = """\
  CAS(ME)², SAMM Long Videos and CAS(ME)³ are released on signed request by their
  authors (CAS(ME)² and CAS(ME)³: the Institute of Psychology, Chinese Academy of
  Sciences; SAMM: Manchester Metropolitan University). Point --manual_dir at one
  dataset's raw root as released: the annotation spreadsheet at the top and
  rawpic/ (CAS(ME)²), SAMM_longvideos/ (SAMM-LV) or part_A/ (CAS(ME)³ Part A)
  beside it (docs/datasets.md). To try the builder without the data, write a
  synthetic stand-in:
      python -m experiments.synthesize --dataset=casme2 --out RAW --preset tiny
  """

  def __init__(self, *, num_workers: int | None = None, file_format=None, **kwargs):
    """Like any TFDS builder; `num_workers` processes compute videos in parallel."""
    super().__init__(file_format=file_format or "array_record", **kwargs)
    self._num_workers = num_workers or _workers_from_env() or (os.cpu_count() or 1)
    if self._num_workers < 1:
      raise ValueError(f"num_workers={num_workers}: expected a number of processes ≥ 1")
    self._executor = None
    self._build = None

  def _info(self) -> tfds.core.DatasetInfo:
    config = self.builder_config.windows
    flow = (config.flow_frames, config.flow_size, config.flow_size, 2)
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
          "label": tfds.features.ClassLabel(names=["other", config.target]),
          "kind": tfds.features.ClassLabel(names=list(windows.KINDS)),
          "apex_frame": tfds.features.Scalar(dtype=np.int32, doc="-1 if none"),
          "expression_row": tfds.features.Scalar(
            dtype=np.int32, doc="annotation spreadsheet row, -1 if none"
          ),
          "emotion": tfds.features.Text(doc="emotion of the window's expression, if given"),
          "subject": tfds.features.Text(doc="the split: the subject's code"),
          "trial": tfds.features.Text(doc="<split>/<video name>"),
          "video": tfds.features.Text(doc="the dataset's video id (MEGC `vid`)"),
          "start_frame": tfds.features.Scalar(dtype=np.int32),
          "end_frame": tfds.features.Scalar(dtype=np.int32, doc="exclusive"),
        }
      ),
      disable_shuffling=True,
      homepage="https://github.com/cmcl-jax/cmcl_jax",
    )

  def _download_and_prepare(self, dl_manager, download_config):
    try:
      super()._download_and_prepare(dl_manager, download_config)
    finally:
      if self._executor is not None:
        self._executor.shutdown(cancel_futures=True)
        self._executor = None
    self._write_report()

  def _split_generators(self, dl_manager):
    root = epath.Path(dl_manager.manual_dir)
    dataset = self.builder_config.dataset or layouts.find_dataset(root)
    raw = layouts.discover(root, dataset)
    config = self.builder_config.windows
    data_dir = os.fspath(self.data_dir)
    tasks = collections.defaultdict(list)
    subject_of = {}
    for trial in raw.trials:
      split = video_windows.split_name(trial.subject)
      if subject_of.setdefault(split, trial.subject) != trial.subject:
        raise ValueError(
          f"{raw.annotations.path}: subjects {subject_of[split]!r} and {trial.subject!r} "
          f"both give the split name {split!r}; rename one of them"
        )
      task = video_windows.VideoTask(
        trial,
        video_windows.trial_id(split, trial.video),
        split,
        trial.folder.relative_to(raw.root).as_posix(),
        config.spec(trial.fps),
        config.target,
        dataset,
      )
      skipped = video_windows.check_task(task)
      if skipped is not None:
        build_trials.write_trial(data_dir, skipped)
        continue
      tasks[split].append(task)
    records = trials_lib.read_records(data_dir)
    if not tasks:
      raise ValueError(
        f"{root}: no {TITLES[dataset]} video gives a window of "
        f"{config.window_s:g} s ({len(raw.trials)} usable videos after discovery, "
        f"layout problems {raw.summarize_problems()}): "
        + build_report.describe_skipped(list(records.values()))
      )
    for subject, rows in build_report.subjects_left_out(records, tasks).items():
      logging.warning(
        "megc: subject %s has no usable video and is left out (no split): %s",
        subject,
        build_report.describe_skipped(rows),
      )
    for split in sorted(tasks):
      tasks[split] = [
        dataclasses.replace(task, first_key=j * window_examples.KEY_STRIDE)
        for j, task in enumerate(sorted(tasks[split], key=lambda t: t.trial_id))
      ]
    order = sorted(tasks)
    self._build = {
      "raw": raw,
      "subjects": order,
      "order": [task.trial_id for split in order for task in tasks[split]],
    }
    if self._num_workers > 1:
      self._executor = concurrent.futures.ProcessPoolExecutor(
        self._num_workers, mp_context=multiprocessing.get_context("spawn")
      )
    return {split: self._generate_examples(split, tasks[split]) for split in order}

  def _generate_examples(self, split, tasks):
    """The examples of one subject split, its videos computed in order."""
    data_dir = os.fspath(self.data_dir)
    work = functools.partial(video_windows.run_task, data_dir=data_dir)
    count = 0
    bar = tqdm(total=len(tasks), unit="video", desc=f"megc {split}")
    for examples in _in_order(
      work, tasks, self._executor, LOOKAHEAD_PER_WORKER * self._num_workers
    ):
      bar.update()
      count += len(examples)
      yield from examples
    bar.close()
    if not count:
      rows = [r for r in trials_lib.read_records(data_dir).values() if r["subject"] == split]
      raise ValueError(
        f"split {split}: every video of this subject is long enough for a window but none "
        "gave one, so the dataset cannot have its split; fix its frames or move them out "
        f"of the raw layout. Its {len(rows)} videos: " + build_report.describe_skipped(rows)
      )

  def _write_report(self):
    """trials.json and the build report, from the records the videos wrote."""
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
    report = video_build_report.build_report(
      self._build["raw"],
      records,
      splits,
      header={
        "name": self.name,
        "config": self.builder_config.name,
        "version": str(self.version),
        "windows": dataclasses.asdict(self.builder_config.windows),
      },
    )
    build_report.write_report(data_dir, report)


def _in_order(work, tasks, executor, ahead: int):
  """`work(task)` of each task, in task order; with an executor, `ahead` run ahead."""
  if executor is None:
    yield from (work(task) for task in tasks)
    return
  pending = collections.deque()
  remaining = iter(tasks)

  def submit():
    task = next(remaining, None)
    if task is not None:
      pending.append(executor.submit(work, task))

  for _ in range(ahead):
    submit()
  while pending:
    result = pending.popleft().result()
    submit()
    yield result


def _workers_from_env() -> int:
  """`MEGC_BUILD_WORKERS` as a number of processes; 0 when unset or empty."""
  text = os.environ.get(WORKERS_ENV, "").strip()
  if not text:
    return 0
  if not text.isdigit() or int(text) < 1:
    raise ValueError(
      f"environment variable {WORKERS_ENV}={text!r}: expected a number of processes ≥ 1 "
      "(or unset it to use all cores)"
    )
  return int(text)
