"""Stage inputs from a prepared `mecg` TFDS dataset through `cmcl_jax.data.loaders`.

The config's `data` section names the dataset (`tfds_config`, `data_dir`) and the
leave-one-subject-out fold: `fold` k holds out the k-th subject split (sorted ids) for
evaluation and trains on "+".join(the others); `train_split` / `eval_split`, when
set, replace those expressions. Feature standardisation uses the training split's
statistics. Every loader is sharded per JAX process (rows of the global batch).

`write_inputs` stores, beside a run's checkpoints, what turns a raw trial into that
run's model inputs (window spec, feature standardisation), so that a checkpoint can
spot trials without the dataset (`experiments.spot_trial`).
"""

import dataclasses
import functools
import json

import numpy as np
from etils import epath

from cmcl_jax.data import loaders, sampling, trials, windows
from cmcl_jax.train.loop import StageData


def fold_splits(builder, data_config) -> tuple[str, str]:
  """(train split expression, eval split) of the configured LOSO fold."""
  subjects = sorted(builder.info.splits.keys())
  if data_config.train_split and data_config.eval_split:
    return data_config.train_split, data_config.eval_split
  if not 0 <= data_config.fold < len(subjects):
    raise ValueError(
      f"data.fold={data_config.fold}: the dataset has {len(subjects)} "
      f"subject splits {subjects}; choose 0…{len(subjects) - 1}"
    )
  held_out = subjects[data_config.fold]
  train = data_config.train_split or "+".join(s for s in subjects if s != held_out)
  return train, data_config.eval_split or held_out


def check_model_inputs(builder, model_config) -> None:
  """Fails when the dataset's window shapes do not fit the model config."""
  features = builder.info.features
  encoder = model_config.encoder
  flow = tuple(features["flow"].shape)
  expected = {
    "flow": (flow[:3], tuple(encoder.flow_shape), "model.encoder.flow_shape"),
    "ecg": (tuple(features["ecg"].shape)[0], encoder.ecg_length, "model.encoder.ecg_length"),
    "ecg_features": (
      tuple(features["ecg_features"].shape)[0],
      encoder.ecg_num_features,
      "model.encoder.ecg_num_features",
    ),
  }
  for key, (got, want, field) in expected.items():
    if got != want:
      raise ValueError(
        f"mecg/{builder.builder_config.name} windows have {key} of size {got} but "
        f"{field}={want}; set --config.{field}={got} or use a matching dataset config"
      )


INPUTS_FILE = "inputs.json"


def split_fps(builder, split: str) -> float:
  """The frame rate of the videos of a split expression, Hz.

  Raises:
    ValueError: its trials have several frame rates (windows of different lengths
      in seconds would be mixed).
  """
  rates = sorted({info.fps for info in trials.load_trials(builder, split)})
  if len(rates) != 1:
    raise ValueError(f"split {split!r}: its trials have frame rates {rates} Hz; expected one")
  return rates[0]


def read_fps(workdir: epath.PathLike) -> float | None:
  """The training videos' frame rate a run recorded in its `inputs.json` (None: a
  run of an older cmcl_jax)."""
  return json.loads((epath.Path(workdir) / INPUTS_FILE).read_text()).get("fps")


def write_inputs(workdir: epath.PathLike, builder, features: loaders.Features, fps: float) -> None:
  """Writes `<workdir>/inputs.json`: the dataset config, its `WindowSpec`, the training
  videos' frame rate `fps` (Hz, `split_fps`), and `features` (ECG standardisation and
  the training split's feature statistics)."""
  stats = features.feature_stats
  spec = dataclasses.asdict(builder.builder_config.spec)
  payload = {
    "tfds_config": builder.builder_config.name,
    "version": str(builder.version),
    "spec": spec,
    "fps": fps,
    "standardize_ecg": features.standardize_ecg,
    "feature_norm": "trial" if features.trial_feature_stats is not None else "dataset",
    "feature_stats": None if stats is None else [np.asarray(s).tolist() for s in stats],
  }
  workdir = epath.Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  (workdir / INPUTS_FILE).write_text(json.dumps(payload, indent=1))


def read_inputs(workdir: epath.PathLike) -> tuple[windows.WindowSpec, loaders.Features]:
  """(window spec, features) a run was trained with, from `<workdir>/inputs.json`.

  With per-trial feature standardisation the returned `trial_feature_stats` is
  empty: fill it with the statistics of the trial to score.
  """
  path = epath.Path(workdir) / INPUTS_FILE
  if not path.exists():
    raise FileNotFoundError(
      f"{path} not found: expected a run folder written by "
      "experiments.train or experiments.loso (one per variant)"
    )
  payload = json.loads(path.read_text())
  spec = dict(payload["spec"])
  spec["ecg_band_hz"] = tuple(spec["ecg_band_hz"])
  stats = payload["feature_stats"]
  features = loaders.Features(
    standardize_ecg=payload["standardize_ecg"],
    feature_stats=None if stats is None else tuple(np.asarray(s, np.float32) for s in stats),
    trial_feature_stats={} if payload.get("feature_norm") == "trial" else None,
  )
  return windows.WindowSpec(**spec), features


FEATURE_NORMS = ("dataset", "trial")


def input_features(builder, train_split: str, feature_norm: str) -> loaders.Features:
  """The model-input mapping of a run trained on `train_split`.

  feature_norm: "dataset" standardises the ECG features with the training split's
  statistics; "trial" within each window's own trial (every split's trials).
  """
  if feature_norm not in FEATURE_NORMS:
    raise ValueError(f"data.feature_norm={feature_norm!r}: choose one of {FEATURE_NORMS}")
  if feature_norm == "trial":
    every_split = "+".join(sorted(builder.info.splits.keys()))
    return loaders.Features(trial_feature_stats=trials.trial_feature_stats(builder, every_split))
  return loaders.Features(feature_stats=trials.feature_stats(builder, train_split))


def _iterator(loader_fn):
  return iter(loader_fn())


def sampling_policy(data) -> sampling.SamplingPolicy:
  """The training loaders' `SamplingPolicy` from the config section `data.sampling`.

  Raises:
    ValueError: naming the field that is unknown, missing or out of range.
  """
  fields = {f.name for f in dataclasses.fields(sampling.SamplingPolicy)}
  given = set(data.sampling.keys())
  if given != fields:
    raise ValueError(
      f"data.sampling: unknown fields {sorted(given - fields)}, missing {sorted(fields - given)}; "
      f"expected exactly {sorted(fields)}"
    )
  try:
    return sampling.SamplingPolicy(**data.sampling.to_dict())
  except ValueError as error:
    raise ValueError(f"data.sampling.{error}") from None


def mecg_data(config, builder) -> dict[str, StageData]:
  """`StageData` for "pretrain" and "finetune" from the config's `data` section.

  Args:
    config: an experiment config.
    builder: the prepared `mecg` dataset it names
      (`cmcl_jax.experiment.dataset.open_builder(config.data)`).
  """
  data = config.data
  check_model_inputs(builder, config.model)
  train_split, eval_split = fold_splits(builder, data)
  features = input_features(builder, train_split, data.feature_norm)
  common = dict(
    seed=config.seed,
    features=features,
    worker_count=data.worker_count,
    policy=sampling_policy(data),
  )
  pretrain = functools.partial(
    loaders.pretrain_loader, builder, train_split, batch_size=data.pretrain_batch_size, **common
  )
  finetune = functools.partial(
    loaders.finetune_loader, builder, train_split, batch_size=data.finetune_batch_size, **common
  )
  evaluate = functools.partial(
    loaders.eval_loader,
    builder,
    eval_split,
    batch_size=data.eval_batch_size,
    features=features,
    worker_count=data.worker_count,
  )
  return {
    "pretrain": StageData(train=functools.partial(_iterator, pretrain)),
    "finetune": StageData(
      train=functools.partial(_iterator, finetune), evaluate=functools.partial(_iterator, evaluate)
    ),
  }
