"""Leave-one-subject-out spotting experiment: the paper's ablation, fold by fold.

For each held-out subject (fold) and each modality variant ("video", "ecg", "both"):
train (triplet pre-training, then fine-tuning) on the other subjects, score every
window of the held-out subject's trials, turn the scores into candidate clips
(`proposals`), and count TP / FP / FN with the MEGC protocol. The "both" model's
candidates are also filtered by the CCF at the paper's η and at an η chosen on the
fold's *training* subjects only (their trials scored by the same model), and swept
over η. The score threshold is `spotting.threshold`, or, with
`spotting.choose_threshold`, the one of `spotting.threshold_grid` with the best F1 on
the fold's training subjects (scored by the same model). Each fold writes
`<workdir>/folds/<subject>/result.json` (and the held-out scores) when done, so an interrupted run resumes at the first unfinished fold, and
folds can run in separate processes (`folds=` a subset) before `report` combines them.
"""

from __future__ import annotations

import copy
import dataclasses
import json
import logging as python_logging
import time
from collections.abc import Sequence

import jax
import numpy as np
from absl import logging
from etils import epath

from cmcl_jax.data import trials as trials_lib
from cmcl_jax.spotting import proposals
from cmcl_jax.spotting import scoring
from cmcl_jax.spotting.sweep import TrialCandidates, choose_eta, evaluate_candidates, sweep_eta
from cmcl_jax.train import inputs
from cmcl_jax.train import loop

VARIANTS = ("video", "ecg", "both")
RESULT_FILE = "result.json"
SPOTTING_FILE = "spotting.json"
"""Per variant run folder: the peak rule it was evaluated with (threshold as used)."""
SCORES_FILE = "scores_{variant}.npz"
"""Held-out window scores of one variant of a fold: "<trial>|starts", "<trial>|scores"."""


class FoldInterrupted(RuntimeError):
  """Training of a fold stopped early (SIGTERM); rerun the same command to resume."""


def dataset_subjects(builder) -> list[str]:
  """The subject splits of a built `mecg` dataset, sorted."""
  return sorted(builder.info.splits.keys())


def fold_subjects(subjects: Sequence[str], wanted: str = "") -> list[str]:
  """The held-out subjects to run: all, or the comma-separated `wanted` ones."""
  subjects = sorted(subjects)
  if not wanted:
    return subjects
  chosen = [s.strip() for s in wanted.split(",") if s.strip()]
  unknown = sorted(set(chosen) - set(subjects))
  if unknown:
    raise ValueError(f"loso.folds: unknown subjects {unknown}; the dataset has {subjects}")
  return chosen


def variant_config(config, variant: str, train_split: str, held_out: str):
  """The training config of one variant of one fold."""
  if variant not in VARIANTS:
    raise ValueError(f"loso.variants: {variant!r} is not one of {VARIANTS}")
  result = copy.deepcopy(config)
  result.model.encoder.modality = variant
  result.data.train_split = train_split
  result.data.eval_split = held_out
  return result


def score_curve_of(trial: scoring.TrialScores, spotting) -> np.ndarray:
  """(frame_count,) per-frame ME score of a scored trial (`proposals.score_curve`)."""
  info = trial.info
  return proposals.score_curve(
    trial.window_starts,
    trial.scores,
    info.record["spec"]["window_frames"],
    info.frame_count,
    spotting.smoothing_frames,
  )


def candidates_of(
  scored: Sequence[scoring.TrialScores], spotting, threshold: float | None = None
) -> list[TrialCandidates]:
  """Candidate clips of scored trials, with what the CCF and the metric need.

  `threshold` replaces `spotting.threshold` when given.
  """
  out = []
  for trial in scored:
    info = trial.info
    clips = proposals.propose_with(score_curve_of(trial, spotting), spotting, threshold)
    truth = np.array(
      [(e.onset, e.offset) for e in info.expressions if e.kind == "micro"], np.int64
    ).reshape(-1, 2)
    out.append(
      TrialCandidates(
        info.trial, info.subject, clips, info.hrs_bpm_per_s, info.mean_hrs_bpm_per_s, truth
      )
    )
  return out


def choose_threshold(scored: Sequence[scoring.TrialScores], spotting) -> float:
  """The score threshold of `spotting.threshold_grid` with the best spotting F1 on
  `scored` (ties: the larger). Pass only the fold's training subjects."""
  f1 = {
    float(t): evaluate_candidates(candidates_of(scored, spotting, float(t)), None).total.f1
    for t in spotting.threshold_grid
  }
  return max(f1, key=lambda t: (f1[t], t))


def _counts(evaluation) -> dict:
  return {
    "total": evaluation.total.as_dict(),
    "per_subject": {s: c.as_dict() for s, c in evaluation.per_subject.items()},
    "per_trial": {t: {"tp": m.tp, "fp": m.fp, "fn": m.fn} for t, m in evaluation.per_trial.items()},
  }


def _flat(tree, prefix: str = "") -> dict:
  if not isinstance(tree, dict):
    return {prefix: tree}
  out = {}
  for key, value in tree.items():
    out.update(_flat(value, f"{prefix}.{key}" if prefix else key))
  return out


RESULT_INDEPENDENT_FIELDS = ("loso.folds", "data.data_dir")
"""Left out of `result_config`: which folds a run picks, and where the dataset lies
(a moved dataset gives the same folds; another dataset has other subject ids)."""


def result_config(config) -> dict:
  """The config a fold's result depends on, as stored in its `result.json` (flat
  "section.field" keys, without `RESULT_INDEPENDENT_FIELDS`)."""
  flat = _flat(json.loads(config.to_json_best_effort()))
  for field in RESULT_INDEPENDENT_FIELDS:
    flat.pop(field, None)
  return flat


def _read_finished(result_path: epath.Path, config) -> dict:
  """A finished fold's result, if it was run with this config; else a clear error."""
  result = json.loads(result_path.read_text())
  stored, wanted = result.get("config"), result_config(config)
  if stored == wanted:
    return result
  where = (
    f"{result_path.parent} holds a finished fold run with another config; use a "
    f"new --workdir, or delete that folder to run it again"
  )
  if stored is None:
    raise ValueError(f"{where} (its result.json, from an older cmcl_jax, has no config)")
  differ = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
  shown = ", ".join(f"{k}: {stored.get(k)!r} → {wanted.get(k)!r}" for k in differ[:5])
  raise ValueError(f"{where} ({len(differ)} fields differ: {shown})")


def run_fold(config, workdir: epath.PathLike, builder, held_out: str) -> dict:
  """Trains, spots and evaluates one fold, or reads its finished result back.

  Raises:
    ValueError: the fold is finished under `workdir`, but with another config.
  """
  fold_dir = epath.Path(workdir) / "folds" / held_out
  result_path = fold_dir / RESULT_FILE
  if result_path.exists():
    return _read_finished(result_path, config)
  subjects = dataset_subjects(builder)
  train_split = "+".join(s for s in subjects if s != held_out)
  features = inputs.input_features(builder, train_split, config.data.get("feature_norm", "dataset"))
  spotting, ccf = config.loso.spotting, config.loso.ccf
  result = {
    "subject": held_out,
    "train_split": train_split,
    "variants": {},
    "config": result_config(config),
  }
  for variant in config.loso.variants:
    started = time.perf_counter()
    variant_cfg = variant_config(config, variant, train_split, held_out)
    data = inputs.mecg_data(variant_cfg)
    # The held-out windows are scored below; the loop's own evaluation would read
    # them all a second time.
    data["finetune"] = dataclasses.replace(data["finetune"], evaluate=None)
    inputs.write_inputs(fold_dir / variant, builder, features)
    trained = loop.train_and_evaluate(variant_cfg, fold_dir / variant, data)
    if trained["finetune"].preempted:
      raise FoldInterrupted(
        f"fold {held_out}, variant {variant}: stopped early; rerun the same command to resume"
      )
    parts, params = trained["finetune"].parts, trained["finetune"].state.params

    def score(split):
      return scoring.score_split(
        parts, params, builder, split, features=features, batch_size=config.loso.score_batch_size
      )

    held_scores = score(held_out)
    choose = spotting.get("choose_threshold", False)
    train_scores = score(train_split) if choose or variant == "both" else None
    threshold = choose_threshold(train_scores, spotting) if choose else spotting.threshold
    result.setdefault("thresholds", {})[variant] = threshold
    (fold_dir / variant / SPOTTING_FILE).write_text(
      json.dumps(dict(spotting.to_dict(), threshold=threshold), indent=1)
    )
    held = candidates_of(held_scores, spotting, threshold)
    result["variants"][variant] = _counts(evaluate_candidates(held, None))
    if variant == "both":
      result["variants"]["both+ccf"] = _counts(evaluate_candidates(held, ccf.eta))
      chosen = choose_eta(candidates_of(train_scores, spotting, threshold), tuple(ccf.sweep))
      result["chosen_eta"] = chosen
      result["variants"]["both+ccf_chosen"] = _counts(evaluate_candidates(held, chosen))
      result["eta_sweep"] = {
        str(eta): e.total.as_dict() for eta, e in sweep_eta(held, tuple(ccf.sweep)).items()
      }
    with (fold_dir / SCORES_FILE.format(variant=variant)).open("wb") as f:
      np.savez(
        f,
        **{f"{t.info.trial}|starts": t.window_starts for t in held_scores},
        **{f"{t.info.trial}|scores": t.scores for t in held_scores},
      )
    logging.info(
      "fold %s, %s: %s in %.0f s",
      held_out,
      variant,
      result["variants"][variant]["total"],
      time.perf_counter() - started,
    )
  result_path.write_text(json.dumps(result, indent=1))
  return result


def fold_threshold(fold: dict, variant: str, spotting) -> float:
  """The score threshold a finished fold used for `variant`."""
  return fold.get("thresholds", {}).get(variant, spotting.threshold)


def stored_scores(
  workdir: epath.PathLike, builder, subject: str, variant: str
) -> list[scoring.TrialScores] | None:
  """The held-out window scores a finished fold kept for `variant` (None: none kept)."""
  path = epath.Path(workdir) / "folds" / subject / SCORES_FILE.format(variant=variant)
  if not path.exists():
    return None
  with path.open("rb") as f:
    stored = dict(np.load(f))
  return [
    scoring.TrialScores(info, stored[f"{info.trial}|starts"], stored[f"{info.trial}|scores"])
    for info in trials_lib.load_trials(builder, subject)
  ]


def finished_folds(workdir: epath.PathLike, subjects: Sequence[str]) -> dict[str, dict]:
  """The results of the folds of `subjects` that are finished under `workdir`
  (as stored, whatever config they were run with)."""
  paths = {s: epath.Path(workdir) / "folds" / s / RESULT_FILE for s in subjects}
  return {s: json.loads(p.read_text()) for s, p in paths.items() if p.exists()}


def use_compilation_cache(directory: epath.PathLike) -> None:
  """Persists compiled programs: every fold trains the same 3 programs, so folds
  after the first (and reruns) skip XLA compilation."""
  jax.config.update("jax_compilation_cache_dir", str(directory))
  jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.5)


def quiet_checkpoint_logs() -> None:
  """Drops orbax's per-checkpoint INFO lines (dozens per save) from the absl log, so
  that training progress stays readable; its warnings and errors still show."""
  logging.get_absl_handler().addFilter(
    lambda record: record.levelno >= python_logging.WARNING or "/orbax/" not in record.pathname
  )


def run_loso(config, workdir: epath.PathLike) -> dict[str, dict]:
  """Runs (or resumes) every configured fold; returns fold results by subject."""
  if config.loso.get("compilation_cache", True):
    use_compilation_cache(epath.Path(workdir) / "jax_cache")
  builder = inputs.open_builder(config.data)
  inputs.check_model_inputs(builder, config.model)
  subjects = fold_subjects(dataset_subjects(builder), config.loso.folds)
  results = {}
  for number, subject in enumerate(subjects, start=1):
    logging.info("LOSO fold %d/%d: held-out subject %s", number, len(subjects), subject)
    print(f"[loso] fold {number}/{len(subjects)}: held-out subject {subject}", flush=True)
    results[subject] = run_fold(config, workdir, builder, subject)
  return results
