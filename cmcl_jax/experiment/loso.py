"""Leave-one-subject-out over folds × spotters: train, score, propose, filter, count.

For each held-out subject (fold) and each spotter of `config.loso.spotters`
(`config.spotters` entries, `methods.make_spotter`): fit on the other subjects, score
the held-out subject's trials, turn the score curves into candidate clips by the
spotter's peak rule, and count TP / FP / FN with the MEGC protocol. The score
threshold is `spotting.threshold`, or, with `spotting.choose_threshold`, the one of
`spotting.threshold_grid` with the best F1 on the fold's training subjects. The
candidates of the spotters in `loso.ccf.spotters` also go through the CCF at the
paper's η, at the η of best F1 on the fold's training subjects, and over the η sweep.

Under `<workdir>/folds/<subject>/`:
  <spotter>/            the spotter's own folder (checkpoints, logs, `spotting.json`:
                        the peak rule it was evaluated with, threshold as used)
  <spotter>/spotted.json its counts, threshold, chosen η and η sweep, and the config
                        they depend on (`spotter_config`)
  scores_<spotter>.npz  held-out score curves: "<trial>|<kind>" → (frames,) float32,
                        and the spotter's own intervals, "<trial>|<kind>|intervals"
  result.json           every spotter's counts, once all are done (`fold_result`)
and `<workdir>/cache/<spotter>/`: the spotter's fold-independent files (`Fold.cache_dir`).
A finished spotter is read back, not rerun, when it was run with the same config, and
refused otherwise; so an interrupted run resumes at the first unfinished spotter of
the first unfinished fold, and folds can run in separate processes (`loso.folds`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Sequence

import numpy as np
from absl import logging
from etils import epath

from cmcl_jax.data import trials as trials_lib
from cmcl_jax.experiment import dataset
from cmcl_jax.experiment import methods
from cmcl_jax.experiment import video_inputs
from cmcl_jax.experiment.spotter import Fold, Spotter
from cmcl_jax.spotting import proposals
from cmcl_jax.train import config_fields
from cmcl_jax.spotting.candidates import MICRO, ScoredTrial, candidates_of, choose_threshold
from cmcl_jax.spotting.sweep import choose_eta, evaluate_candidates, sweep_eta

RESULT_FILE = "result.json"
LOCK_FILE = ".lock"
SPOTTED_FILE = "spotted.json"
SPOTTING_FILE = "spotting.json"
SCORES_FILE = "scores_{spotter}.npz"
INTERVALS = "intervals"
CACHE_DIR = "cache"
CCF_SUFFIX, CHOSEN_SUFFIX = "+ccf", "+ccf_chosen"


class FoldInterrupted(RuntimeError):
  """Training of a fold stopped early (SIGTERM); rerun the same command to resume."""


RESULT_INDEPENDENT_FIELDS = (
  "loso.folds",
  "data.data_dir",
  "data.raw_dir",
  "loso.spotters",
  "loso.ccf.spotters",
  "loso.compilation_cache",
  "loso.compilation_cache_dir",
)
"""Fields no spotter's fold result depends on: which folds and spotters a run picks,
where the dataset lies (a moved dataset gives the same folds; another dataset has
other subject ids) and where compiled programs are kept."""


def _result_dependent(flat: dict) -> dict:
  """`flat` without `RESULT_INDEPENDENT_FIELDS`."""
  return {k: v for k, v in flat.items() if k not in RESULT_INDEPENDENT_FIELDS}


def spotter_config(config, name: str) -> dict:
  """The config a spotter's fold result depends on, as stored in its `spotted.json`:
  flat "section.field" keys, without `RESULT_INDEPENDENT_FIELDS` and the entries of
  spotters it neither starts from nor averages with, with "ccf": whether its candidates go through
  the CCF."""
  flat = config_fields.config_fields(config)
  # A spotter that starts from others' fold runs depends on their entries too.
  entry = config.spotters[name]
  depends_on = {name, *entry.get("start_from", {}).values(), entry.get("average_with", "")}
  others = [f"spotters.{s}." for s in config.spotters.keys() if s not in depends_on]
  kept = {
    k: v for k, v in _result_dependent(flat).items() if not any(k.startswith(o) for o in others)
  }
  kept["ccf"] = name in config.loso.ccf.spotters
  return kept


def _read_finished(path: epath.Path, wanted: dict) -> dict:
  """A finished spotter's result, if it was run with this config; else a clear error."""
  result = json.loads(path.read_text())
  stored = result.get("config")
  if stored is not None:  # runs of an older cmcl_jax stored some independent fields
    stored = _result_dependent(stored)
  if stored == wanted:
    return result
  where = (
    f"{path.parent} holds a finished run with another config; use a new --workdir, or "
    "delete that folder to run it again"
  )
  if stored is None:
    raise ValueError(f"{where} (its {path.name}, from an older cmcl_jax, has no config)")
  raise ValueError(f"{where} ({config_fields.differences(stored, wanted)})")


def _counts(evaluation) -> dict:
  return {
    "total": evaluation.total.as_dict(),
    "per_subject": {s: c.as_dict() for s, c in evaluation.per_subject.items()},
    "per_trial": {t: {"tp": m.tp, "fp": m.fp, "fn": m.fn} for t, m in evaluation.per_trial.items()},
  }


def kind_of(spotter: Spotter) -> str:
  """The expression kind a spotter spots: its `kind`, "micro" when it has none."""
  return getattr(spotter, "kind", MICRO)


def _spot(spotter: Spotter, fold: Fold, config, with_ccf: bool) -> tuple[dict, list[ScoredTrial]]:
  """Fits and evaluates one spotter on one fold: (its result, held-out scores)."""
  if not spotter.fit(fold):
    raise FoldInterrupted(
      f"fold {fold.held_out}, spotter {spotter.name}: stopped early; rerun the same "
      "command to resume"
    )
  spotting, ccf, kind = spotter.spotting, config.loso.ccf, kind_of(spotter)
  held_scores = spotter.score(fold, fold.held_out)
  choose = spotting.choose_threshold
  train_scores = spotter.score(fold, fold.train_split) if choose or with_ccf else None
  threshold = choose_threshold(train_scores, spotting, kind) if choose else spotting.threshold
  (fold.workdir / SPOTTING_FILE).write_text(
    json.dumps(dict(spotting.to_dict(), threshold=threshold), indent=1)
  )
  held = candidates_of(held_scores, spotting, threshold, kind)
  result = {
    "threshold": threshold,
    "variants": {spotter.name: _counts(evaluate_candidates(held, None))},
  }
  if kind != MICRO:  # results of micro spotters stay as they were before kinds
    result["kind"] = kind
  if with_ccf:
    chosen = choose_eta(
      candidates_of(train_scores, spotting, threshold), tuple(ccf.sweep), allow_off=ccf.choose_off
    )
    result["variants"][spotter.name + CCF_SUFFIX] = _counts(evaluate_candidates(held, ccf.eta))
    result["variants"][spotter.name + CHOSEN_SUFFIX] = _counts(evaluate_candidates(held, chosen))
    result["chosen_eta"] = chosen
    result["eta_sweep"] = {
      str(eta): e.total.as_dict() for eta, e in sweep_eta(held, tuple(ccf.sweep)).items()
    }
  return result, held_scores


def _save_scores(path: epath.Path, scored: Sequence[ScoredTrial]) -> None:
  arrays = {}
  for t in scored:
    arrays.update({f"{t.info.trial}|{kind}": curve for kind, curve in t.curves.items()})
    arrays.update({f"{t.info.trial}|{kind}|{INTERVALS}": i for kind, i in t.intervals.items()})
  with path.open("wb") as f:
    np.savez(f, **arrays)


def run_spotter(config, workdir: epath.PathLike, builder, held_out: str, name: str) -> dict:
  """Runs one spotter on one fold, or reads its finished result back
  (`SPOTTED_FILE`, see the module docstring).

  Raises:
    ValueError: the spotter is finished under `workdir`, but with another config.
    FoldInterrupted: its training stopped early.
  """
  fold_dir = epath.Path(workdir) / "folds" / held_out
  path = fold_dir / name / SPOTTED_FILE
  wanted = spotter_config(config, name)
  if path.exists():
    return _read_finished(path, wanted)
  spotter = methods.make_spotter(name, config)
  subjects = dataset.dataset_subjects(builder)
  train_split = "+".join(s for s in subjects if s != held_out)
  fold = Fold(
    held_out, train_split, builder, fold_dir / name, epath.Path(workdir) / CACHE_DIR / name
  )
  fold.workdir.mkdir(parents=True, exist_ok=True)
  started = time.perf_counter()
  result, held_scores = _spot(spotter, fold, config, name in config.loso.ccf.spotters)
  _save_scores(fold_dir / SCORES_FILE.format(spotter=name), held_scores)
  result = {
    "spotter": name,
    "subject": held_out,
    "train_split": train_split,
    **result,
    "config": wanted,
  }
  path.write_text(json.dumps(result, indent=1))
  logging.info(
    "fold %s, %s: %s in %.0f s",
    held_out,
    name,
    result["variants"][name]["total"],
    time.perf_counter() - started,
  )
  return result


def fold_result(spotted: Sequence[dict]) -> dict:
  """One fold's spotter results combined: "variants" (every row's counts),
  "thresholds", "chosen_eta" and "eta_sweep" by spotter."""
  first = spotted[0]
  result = {
    "subject": first["subject"],
    "train_split": first["train_split"],
    "variants": {},
    "thresholds": {},
    "chosen_eta": {},
    "eta_sweep": {},
  }
  for entry in spotted:
    result["variants"].update(entry["variants"])
    result["thresholds"][entry["spotter"]] = entry["threshold"]
    if "chosen_eta" in entry:
      result["chosen_eta"][entry["spotter"]] = entry["chosen_eta"]
      result["eta_sweep"][entry["spotter"]] = entry["eta_sweep"]
  return result


class FoldBusy(RuntimeError):
  """Another process is running the same fold in the same workdir."""


@contextlib.contextmanager
def _fold_lock(fold_dir: epath.Path):
  """Holds an exclusive lock on `fold_dir` (two processes on one fold would write
  each other's checkpoints); released when the process ends, however it ends."""
  fold_dir.mkdir(parents=True, exist_ok=True)
  with open(fold_dir / LOCK_FILE, "a+") as lock:
    try:
      fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      lock.seek(0)
      raise FoldBusy(
        f"{fold_dir}: another process ({lock.read().strip() or 'pid unknown'}) is running "
        "this fold; wait for it, or give this run another --workdir or other loso.folds"
      ) from None
    lock.seek(0)
    lock.truncate()
    lock.write(f"pid {os.getpid()}")
    lock.flush()
    try:
      yield
    finally:
      fcntl.flock(lock, fcntl.LOCK_UN)


def run_fold(config, workdir: epath.PathLike, builder, held_out: str) -> dict:
  """Runs (or reads back) every configured spotter on one fold; writes and returns
  the `fold_result`.

  Raises:
    FoldBusy: another process holds the fold.
  """
  with _fold_lock(epath.Path(workdir) / "folds" / held_out):
    spotted = [run_spotter(config, workdir, builder, held_out, n) for n in config.loso.spotters]
  result = fold_result(spotted)
  (epath.Path(workdir) / "folds" / held_out / RESULT_FILE).write_text(json.dumps(result, indent=1))
  return result


def stored_scores(
  workdir: epath.PathLike, builder, subject: str, spotter: str
) -> list[ScoredTrial] | None:
  """The held-out score curves a finished fold kept for `spotter` (None: none kept)."""
  path = epath.Path(workdir) / "folds" / subject / SCORES_FILE.format(spotter=spotter)
  if not path.exists():
    return None
  with path.open("rb") as f:
    stored = dict(np.load(f))
  kinds = sorted({key.split("|")[1] for key in stored})
  return [
    ScoredTrial(
      info,
      {kind: stored[f"{info.trial}|{kind}"] for kind in kinds},
      {
        kind: stored[f"{info.trial}|{kind}|{INTERVALS}"]
        for kind in kinds
        if f"{info.trial}|{kind}|{INTERVALS}" in stored
      },
    )
    for info in trials_lib.load_trials(builder, subject)
  ]


def finished_folds(config, workdir: epath.PathLike, subjects: Sequence[str]) -> dict[str, dict]:
  """The `fold_result`s of the folds of `subjects` whose every configured spotter is
  finished under `workdir` with this config."""
  folds = {}
  for subject in subjects:
    paths = [
      epath.Path(workdir) / "folds" / subject / name / SPOTTED_FILE for name in config.loso.spotters
    ]
    if all(p.exists() for p in paths):
      folds[subject] = fold_result(
        [_read_finished(p, spotter_config(config, n)) for p, n in zip(paths, config.loso.spotters)]
      )
  return folds


def fold_threshold(fold: dict, spotter: str) -> float:
  """The score threshold a finished fold used for `spotter`."""
  return fold["thresholds"][spotter]


def candidates(
  workdir: epath.PathLike, builder, folds: dict[str, dict], spotter: str, spotting, kind=MICRO
):
  """Unfiltered held-out candidates of `spotter` (of expression `kind`) over `folds`
  (stored scores, each fold's own threshold), fold by fold in subject order."""
  return [
    trial
    for subject, fold in sorted(folds.items())
    for trial in candidates_of(
      stored_scores(workdir, builder, subject, spotter) or (),
      spotting,
      fold_threshold(fold, spotter),
      kind,
    )
  ]


def check_ccf(ccf) -> None:
  """Raises ValueError naming the `loso.ccf` field out of range."""
  if ccf.eta <= 0:
    raise ValueError(f"loso.ccf.eta={ccf.eta}: must be > 0")
  if not ccf.sweep or min(ccf.sweep) <= 0:
    raise ValueError(f"loso.ccf.sweep={tuple(ccf.sweep)}: expected factors > 0")


def run_loso(config, workdir: epath.PathLike) -> dict[str, dict]:
  """Runs (or resumes) every configured fold; returns fold results by subject.

  Raises:
    ValueError: a bad config field or a finished run with another config.
  """
  builder = dataset.open_builder(config.data)
  for name in config.loso.ccf.spotters:
    if name not in config.loso.spotters:
      raise ValueError(
        f"loso.ccf.spotters: {name!r} is not in loso.spotters {config.loso.spotters}"
      )
  check_ccf(config.loso.ccf)
  if config.loso.score_batch_size < 1:
    raise ValueError(f"loso.score_batch_size={config.loso.score_batch_size}: must be ≥ 1")
  for name in config.loso.spotters:  # a bad entry fails here, before any training
    proposals.check_settings(
      methods.make_spotter(name, config).spotting, f"spotter {name}: spotting"
    )
  if config.loso.ccf.spotters and not video_inputs.has_ecg(builder):
    raise ValueError(
      f"loso.ccf.spotters={tuple(config.loso.ccf.spotters)}: {builder.name}/"
      f"{builder.builder_config.name} has no ECG (video only), and the CCF filters by the "
      "heart rate; set loso.ccf.spotters=()"
    )
  subjects = dataset.fold_subjects(dataset.dataset_subjects(builder), config.loso.folds)
  results = {}
  for number, subject in enumerate(subjects, start=1):
    logging.info("LOSO fold %d/%d: held-out subject %s", number, len(subjects), subject)
    print(f"[loso] fold {number}/{len(subjects)}: held-out subject {subject}", flush=True)
    results[subject] = run_fold(config, workdir, builder, subject)
  return results
