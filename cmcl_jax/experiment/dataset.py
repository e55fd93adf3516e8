"""The prepared dataset an experiment runs on, and its leave-one-subject-out folds.

builder = open_builder(config.data)          # mecg/<tfds_config> under data_dir
for held_out in fold_subjects(dataset_subjects(builder), config.loso.folds): ...
"""

from __future__ import annotations

from collections.abc import Sequence

from etils import epath

from data_builders.mecg import mecg_dataset_builder


def open_builder(data_config):
  """The prepared `mecg/<tfds_config>` builder under `data_dir`, or a clear error.

  Raises:
    FileNotFoundError: the dataset is not built there, with the command that builds it.
  """
  builder = mecg_dataset_builder.Builder(
    config=data_config.tfds_config, data_dir=data_config.data_dir or None
  )
  if not epath.Path(builder.data_dir).exists():
    raise FileNotFoundError(
      f"no prepared dataset mecg/{data_config.tfds_config} in {builder.data_dir}; "
      "build it with: python -m experiments.build_mecg data_builders/mecg "
      f"--manual_dir=RAW --config={data_config.tfds_config} "
      f"--data_dir={data_config.data_dir or '~/tensorflow_datasets'}"
    )
  return builder


def dataset_subjects(builder) -> list[str]:
  """The subject splits of a built dataset, sorted."""
  return sorted(builder.info.splits.keys())


def fold_subjects(subjects: Sequence[str], wanted: str = "") -> list[str]:
  """The held-out subjects to run: all, or the comma-separated `wanted` ones.

  Raises:
    ValueError: naming the subjects `wanted` has that the dataset has not.
  """
  subjects = sorted(subjects)
  if not wanted:
    return subjects
  chosen = [s.strip() for s in wanted.split(",") if s.strip()]
  unknown = sorted(set(chosen) - set(subjects))
  if unknown:
    raise ValueError(f"loso.folds: unknown subjects {unknown}; the dataset has {subjects}")
  return chosen
