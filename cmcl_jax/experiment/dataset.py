"""The prepared dataset an experiment runs on, and its leave-one-subject-out folds.

builder = open_builder(config.data)          # <tfds_name>/<tfds_config> under data_dir
for held_out in fold_subjects(dataset_subjects(builder), config.loso.folds): ...

`config.data.tfds_name` is "mecg" (the default when a config has no such field) or
"megc" (CAS(ME)², SAMM-LV, CAS(ME)³: video only).
"""

from __future__ import annotations

from collections.abc import Sequence

from etils import epath

from data_builders.megc import megc_dataset_builder
from data_builders.mecg import mecg_dataset_builder

BUILDERS = {"mecg": mecg_dataset_builder.Builder, "megc": megc_dataset_builder.Builder}
"""`data.tfds_name` → its TFDS builder."""


def open_builder(data_config, tfds_config: str = ""):
  """The prepared `<tfds_name>/<tfds_config>` builder under `data_dir`, or a clear error.

  Args:
    data_config: the config's `data` section.
    tfds_config: a config of the same dataset to open instead of `data.tfds_config`
      (e.g. the macro-expression windows of a spotter).

  Raises:
    ValueError: an unknown `data.tfds_name` or dataset config.
    FileNotFoundError: the dataset is not built there, with the command that builds it.
  """
  name = data_config.get("tfds_name", "mecg")
  if name not in BUILDERS:
    raise ValueError(f"data.tfds_name={name!r}: expected one of {sorted(BUILDERS)}")
  tfds_config = tfds_config or data_config.tfds_config
  configs = [c.name for c in BUILDERS[name].BUILDER_CONFIGS]
  if tfds_config not in configs:
    raise ValueError(f"{name} has no config {tfds_config!r}; its configs are {configs}")
  builder = BUILDERS[name](config=tfds_config, data_dir=data_config.data_dir or None)
  if not epath.Path(builder.data_dir).exists():
    raise FileNotFoundError(
      f"no prepared dataset {name}/{tfds_config} in {builder.data_dir}; "
      f"build it with: python -m experiments.build_mecg data_builders/{name} "
      f"--manual_dir=RAW --config={tfds_config} "
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
