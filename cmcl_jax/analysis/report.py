"""Combines LOSO fold results into the paper's tables and figures.

Writes under `<out>/`:
  table3.{md,csv,json}        the ablation: video only, ECG only, video + ECG,
                              video + ECG + CCF (paper's η and η chosen in each fold):
                              the rows of the CMCL-Net spotters
  table2.{md,csv,json}        every spotter's rows, the other methods first (the
                              paper's Table 2 analogue; with more than CMCL-Net only)
  eta_sweep.{md,csv,json,png} CCF precision / recall / F1 against η
  per_subject_precision.png   precision per held-out subject, four variants
  spotting_<trial>.png        one held-out trial: scores, kept / rejected candidates
  ecg_statistics.md           HR and HRS at ME apexes vs matched non-ME moments
  planted.{md,json}           synthetic layouts only (`write_planted_report`): what each
                              variant fires on, what the fine-tuning batches hold

On a video-only dataset (`megc`: CAS(ME)², SAMM-LV, CAS(ME)³; no ECG, so no CCF,
η sweep or ECG statistics) it writes instead (`write_video_report`):
  megc.{md,csv,json}          the MEGC protocol per method: a micro, a macro and the
                              pooled overall row (`cmcl_jax.spotting.megc`); the
                              spotters of one title (a micro and a macro entry) are
                              one method
  submission_<spotter>.csv    each method's held-out intervals of every fold in the
                              MEGC submission layout (vid, pred_onset, pred_offset, type)
  per_subject_precision.png   precision per held-out subject, each spotter
  spotting_<trial>.png        one held-out video: each type's scores, candidates, truth
"""

from __future__ import annotations

import json

import numpy as np
from etils import epath

from cmcl_jax.analysis import ecg_statistics
from cmcl_jax.analysis import figures
from cmcl_jax.analysis import planted
from cmcl_jax.analysis import tables
from cmcl_jax.data import sampling
from cmcl_jax.data import trials as trials_lib
from cmcl_jax.experiment import loso
from cmcl_jax.experiment import methods
from cmcl_jax.experiment import video_inputs
from cmcl_jax.spotting import ccf as ccf_lib
from cmcl_jax.spotting import megc
from cmcl_jax.spotting.candidates import MICRO, candidates_of
from cmcl_jax.spotting.metrics import Counts
from cmcl_jax.train import inputs


CMCL_NET = "cmcl_net"
"""The `method` of CMCL-Net's spotters, whose rows make Table 3."""


def variant_names(config) -> dict[str, str]:
  """Row key → row name of every row a run of `config` gives, in table order: each
  spotter of `loso.spotters` by its title, then, for those of `loso.ccf.spotters`,
  "<title> + CCF (η = <eta>)" and "<title> + CCF (η chosen in fold)"."""
  names = {name: config.spotters[name].title for name in config.loso.spotters}
  for name in config.loso.ccf.spotters:
    title = config.spotters[name].title
    names[name + loso.CCF_SUFFIX] = f"{title} + CCF (η = {config.loso.ccf.eta})"
    names[name + loso.CHOSEN_SUFFIX] = f"{title} + CCF (η chosen in fold)"
  return names


def _method_of(config, key: str) -> str:
  spotter = key.removesuffix(loso.CHOSEN_SUFFIX).removesuffix(loso.CCF_SUFFIX)
  return config.spotters[spotter].method


def table_names(config) -> tuple[dict[str, str], dict[str, str]]:
  """(Table 3 rows: those of CMCL-Net spotters; Table 2 rows: the other methods'
  rows, then CMCL-Net's), each row key → name, from `variant_names`."""
  names = variant_names(config)
  ours = {k: v for k, v in names.items() if _method_of(config, k) == CMCL_NET}
  others = {k: v for k, v in names.items() if k not in ours}
  return ours, {**others, **ours}


def per_subject_variants(config) -> list[str]:
  """Row keys drawn per subject: every spotter, and each CCF spotter at the paper's η."""
  return [*config.loso.spotters, *(n + loso.CCF_SUFFIX for n in config.loso.ccf.spotters)]


def _counts(entry: dict) -> Counts:
  return Counts(entry["tp"], entry["fp"], entry["fn"])


def ablation_rows(folds: dict[str, dict], names: dict[str, str]) -> list[dict]:
  """Table 3 rows: each row's TP / FP / FN summed over folds, then P / R / F1."""
  rows = []
  for key, name in names.items():
    present = [f["variants"][key]["total"] for f in folds.values() if key in f["variants"]]
    if present:
      total = tables.sum_counts([_counts(c) for c in present])
      rows.append({"variant": name, **total.as_dict()})
  return rows


def eta_sweep(folds: dict[str, dict], spotter: str) -> dict[float, Counts]:
  """η → Counts of `spotter`'s CCF-filtered candidates, summed over the folds."""
  sweep: dict[float, Counts] = {}
  for fold in folds.values():
    for eta, counts in fold["eta_sweep"].get(spotter, {}).items():
      sweep[float(eta)] = sweep.get(float(eta), Counts()) + _counts(counts)
  return dict(sorted(sweep.items()))


def ecg_apex_statistics(builder, subjects, seed: int = 0):
  """Paired HR / HRS comparison of ME apexes and matched control moments."""
  rng = np.random.default_rng(seed)
  me_rows, control_rows = [], []
  for info in trials_lib.load_trials(builder, "+".join(subjects)):
    micro = [e for e in info.expressions if e.kind == "micro"]
    if not micro:
      continue
    busy = [(e.onset / info.fps, e.offset / info.fps) for e in info.expressions]
    controls = ecg_statistics.matched_control_times(
      info.frame_count / info.fps, busy, len(micro), rng
    )
    for expression, control_s in zip(micro, controls):
      frames = (expression.apex, int(round(control_s * info.fps)))
      values = [
        (info.hr_bpm[f], info.hrs_bpm_per_s[f], info.hrs_bpm_per_s[f] / info.mean_hrs_bpm_per_s)
        for f in frames
      ]
      me_rows.append(values[0])
      control_rows.append(values[1])
  return ecg_statistics.paired_comparison(
    np.array(me_rows).reshape(-1, 3),
    np.array(control_rows).reshape(-1, 3),
    ["HR (bpm)", "HRS (bpm/s)", "HRS / trial mean"],
  )


def _spotting_figure(config, builder, folds, out: epath.Path, workdir: epath.Path):
  """Draws the held-out trial with the most MEs of the first fold that has one, as
  the first CCF spotter saw it (None without one)."""
  if not config.loso.ccf.spotters:
    return None
  spotter, spotting = config.loso.ccf.spotters[0], config.loso.spotting
  for subject in sorted(folds):
    scored = [
      t
      for t in loso.stored_scores(workdir, builder, subject, spotter) or ()
      if any(e.kind == MICRO for e in t.info.expressions)
    ]
    if not scored:
      continue
    trial_scores = max(scored, key=lambda t: sum(e.kind == MICRO for e in t.info.expressions))
    info = trial_scores.info
    threshold = loso.fold_threshold(folds[subject], spotter)
    (trial,) = candidates_of([trial_scores], spotting, threshold)
    filtered = ccf_lib.ccf_filter(trial.candidates, trial.hrs, config.loso.ccf.eta, trial.mean_hrs)
    figure = figures.plot_spotting_trial(
      trial_scores.curves[MICRO],
      threshold,
      filtered.kept,
      filtered.rejected,
      trial.ground_truth,
      trial.hrs,
      filtered.threshold,
      info.fps,
      title=f"held-out trial {info.trial}",
    )
    name = out / f"spotting_{trials_lib.trial_stem(info.trial)}.png"
    figure.savefig(name, dpi=110)
    figures.plt.close(figure)
    return name
  return None


def write_planted_report(
  config, workdir: epath.PathLike, builder, folds: dict[str, dict], raw_root, out: epath.PathLike
) -> dict:
  """`planted.{md,json}` of a run on a synthetic layout (`cmcl_jax.analysis.planted`):
  what each variant's candidates lie on, summed over folds, and the expected mix of
  the fine-tuning batches of each fold's training split."""
  workdir, out = epath.Path(workdir), epath.Path(out)
  events = planted.planted_events(raw_root)
  eta, names = config.loso.ccf.eta, variant_names(config)
  candidates = {  # spotter → unfiltered candidates of every fold, read once
    name: loso.candidates(workdir, builder, folds, name, config.loso.spotting)
    for name in config.loso.spotters
  }
  sources = []
  for key in per_subject_variants(config):
    spotter, filtered = key.removesuffix(loso.CCF_SUFFIX), key.endswith(loso.CCF_SUFFIX)
    if candidates[spotter]:
      counts = planted.candidate_sources(candidates[spotter], events, eta if filtered else None)
      sources.append({"variant": names[key], **counts.row()})
  policy = inputs.sampling_policy(config.data)
  mix = [
    {
      "training split of fold": subject,
      **planted.batch_mix(sampling.SplitIndex.load(builder, fold["train_split"]), events, policy),
    }
    for subject, fold in sorted(folds.items())
  ]
  text = [
    "What each variant's candidates lie on (summed over folds): true positives "
    "on MEs with / without a planted heart-rate response, false positives by the "
    "planted event they overlap most; recall per ME kind.",
    "",
    tables.markdown(sources, list(sources[0])) if sources else "(no stored scores)",
    "",
    "Expected share of each planted kind in a fine-tuning batch (positives: ME "
    "windows; negatives by the negative policy; part_of_me: negatives holding part "
    "of an ME), per fold's training split.",
    "",
    tables.markdown(mix, list(mix[0])) if mix else "(no folds)",
  ]
  out.mkdir(parents=True, exist_ok=True)
  (out / "planted.md").write_text("\n".join(text) + "\n")
  result = {"sources": sources, "batch_mix": mix}
  (out / "planted.json").write_text(json.dumps(result, indent=1))
  return result


MEGC_COLUMNS = ("method", "type", *tables.COLUMNS)


def spotter_kind(config, name: str) -> str:
  """The expression kind spotter entry `name` spots ("micro" unless it says)."""
  return config.spotters[name].get("kind", MICRO)


def megc_methods(config) -> dict[str, list[str]]:
  """Method title → its spotters of `loso.spotters` (in order): spotters of one title
  are one method of the MEGC table, e.g. a micro and a macro entry.

  Raises:
    ValueError: two spotters of one title spot the same kind.
  """
  grouped: dict[str, list[str]] = {}
  for name in config.loso.spotters:
    title = config.spotters[name].title
    for other in grouped.get(title, ()):
      if spotter_kind(config, other) == spotter_kind(config, name):
        raise ValueError(
          f"spotters {other!r} and {name!r}: both titled {title!r} and spotting "
          f"{spotter_kind(config, name)}-expressions; a method has one spotter per kind"
        )
    grouped.setdefault(title, []).append(name)
  return grouped


def megc_rows(config, folds: dict[str, dict]) -> list[dict]:
  """The MEGC table: per method a row per kind it spots (TP / FP / FN summed over
  folds) and, when it spots both, the "overall" row of the pooled counts."""
  rows = []
  for title, names in megc_methods(config).items():
    by_kind = {}
    for name in names:
      present = [f["variants"][name]["total"] for f in folds.values() if name in f["variants"]]
      if present:
        by_kind[spotter_kind(config, name)] = tables.sum_counts([_counts(c) for c in present])
    for kind in megc.KINDS:
      if kind in by_kind:
        rows.append({"method": title, "type": kind, **by_kind[kind].as_dict()})
    if set(by_kind) == set(megc.KINDS):
      overall = megc.pooled([by_kind[k] for k in megc.KINDS])
      rows.append({"method": title, "type": megc.OVERALL, **overall.as_dict()})
  return rows


def _held_out(config, workdir, builder, folds, name: str):
  """`spotter`'s stored held-out scores of every fold (subject order) and candidates."""
  spotting, kind = methods.make_spotter(name, config).spotting, spotter_kind(config, name)
  scored = [
    t
    for subject in sorted(folds)
    for t in loso.stored_scores(workdir, builder, subject, name) or ()
  ]
  return scored, loso.candidates(workdir, builder, folds, name, spotting, kind)


def write_submissions(config, workdir, builder, folds: dict[str, dict], out) -> list[str]:
  """`submission_<first spotter>.csv` of each method: its held-out intervals of every
  fold, `vid` the dataset's video id (`megc.write_submission`)."""
  infos = trials_lib.load_trials(builder, "+".join(sorted(folds))) if folds else []
  videos = {info.trial: info.record.get("video", info.trial) for info in infos}
  paths = []
  for names in megc_methods(config).values():
    predictions = {video: [] for video in videos.values()}
    for name in names:
      kind = spotter_kind(config, name)
      for trial in _held_out(config, workdir, builder, folds, name)[1]:
        predictions[videos[trial.trial_id]] += [
          (int(c[0]), int(c[2]), kind) for c in trial.candidates
        ]
    path = megc.write_submission(epath.Path(out) / f"submission_{names[0]}.csv", predictions)
    paths.append(str(path))
  return paths


def _kinds_figure(config, workdir, builder, folds, out: epath.Path):
  """Draws the held-out video with the most expressions as the first method saw it
  (None without stored scores)."""
  names = next(iter(megc_methods(config).values()), [])
  by_trial = {}  # trial id → (info, kind → (curve, candidates, threshold or None))
  for name in names:
    kind = spotter_kind(config, name)
    for scored, found in zip(*_held_out(config, workdir, builder, folds, name)):
      own_rule = kind in scored.intervals  # MDMD, SOFTNet: no threshold on the curve
      threshold = None if own_rule else loso.fold_threshold(folds[scored.info.subject], name)
      drawn = (scored.curves[kind], found.candidates, threshold)
      by_trial.setdefault(scored.info.trial, (scored.info, {}))[1][kind] = drawn
  if not by_trial:
    return None
  info, kinds = max(by_trial.values(), key=lambda entry: len(entry[0].expressions))
  truth = {
    kind: np.array([(e.onset, e.offset) for e in info.expressions if e.kind == kind])
    for kind in kinds
  }
  figure = figures.plot_kinds_trial(
    {kind: drawn[0] for kind, drawn in kinds.items()},
    {kind: drawn[2] for kind, drawn in kinds.items()},
    {kind: drawn[1] for kind, drawn in kinds.items()},
    truth,
    info.fps,
    title=f"held-out video {info.record.get('video', info.trial)}: "
    f"{config.spotters[names[0]].title}",
  )
  path = out / f"spotting_{trials_lib.trial_stem(info.trial)}.png"
  figure.savefig(path, dpi=110)
  figures.plt.close(figure)
  return path


def write_video_report(config, workdir: epath.PathLike, builder, folds: dict[str, dict], out):
  """The outputs of a run on a video-only dataset (module docstring); their summary."""
  workdir, out = epath.Path(workdir), epath.Path(out)
  out.mkdir(parents=True, exist_ok=True)
  rows = megc_rows(config, folds)
  if rows:
    tables.write_table(rows, out, "megc", MEGC_COLUMNS)
  per_variant = {
    f"{config.spotters[name].title} ({spotter_kind(config, name)})": {
      subject: _counts(fold["variants"][name]["total"])
      for subject, fold in folds.items()
      if name in fold["variants"]
    }
    for name in config.loso.spotters
  }
  figure = figures.plot_per_subject_precision(per_variant)
  figure.savefig(out / "per_subject_precision.png", dpi=110)
  figures.plt.close(figure)
  return {
    "megc": rows,
    "table3": [],
    "table2": [],
    "per_subject": {
      name: {subject: f["variants"][key]["total"] for subject, f in folds.items()}
      for key, name in variant_names(config).items()
      if all(key in f["variants"] for f in folds.values())
    },
    "submissions": write_submissions(config, workdir, builder, folds, out),
    "spotting_figure": str(_kinds_figure(config, workdir, builder, folds, out)),
  }


def write_report(
  config,
  workdir: epath.PathLike,
  builder,
  folds: dict[str, dict],
  out: epath.PathLike | None = None,
) -> dict:
  """Writes every table and figure of the module docstring; returns their summary."""
  workdir = epath.Path(workdir)
  out = epath.Path(out or workdir / "results")
  if not video_inputs.has_ecg(builder):
    return write_video_report(config, workdir, builder, folds, out)
  out.mkdir(parents=True, exist_ok=True)
  eta, names = config.loso.ccf.eta, variant_names(config)
  table3_names, table2_names = table_names(config)
  rows = ablation_rows(folds, table3_names)
  tables.write_table(rows, out, "table3", ["variant", *tables.COLUMNS])
  table2 = ablation_rows(folds, table2_names) if table2_names != table3_names else []
  if table2:
    tables.write_table(table2, out, "table2", ["variant", *tables.COLUMNS])
  sweep_rows = []
  if config.loso.ccf.spotters:  # the sweep of the first CCF spotter
    spotter = config.loso.ccf.spotters[0]
    sweep = eta_sweep(folds, spotter)
    sweep_rows = [{"eta": e, **c.as_dict()} for e, c in sweep.items()]
  if sweep_rows:
    tables.write_table(sweep_rows, out, "eta_sweep", ["eta", *tables.COLUMNS])
    chosen = [f["chosen_eta"][spotter] for f in folds.values() if spotter in f["chosen_eta"]]
    figure = figures.plot_eta_sweep(sweep, eta, chosen)
    figure.savefig(out / "eta_sweep.png", dpi=110)
    figures.plt.close(figure)
  per_variant = {
    names[key]: {
      subject: _counts(fold["variants"][key]["total"])
      for subject, fold in folds.items()
      if key in fold["variants"]
    }
    for key in per_subject_variants(config)
  }
  figure = figures.plot_per_subject_precision(per_variant)
  figure.savefig(out / "per_subject_precision.png", dpi=110)
  figures.plt.close(figure)
  spotting_png = _spotting_figure(config, builder, folds, out, workdir)
  statistics = ecg_apex_statistics(builder, sorted(folds), config.seed)
  (out / "ecg_statistics.md").write_text(
    "HR and HRS at ME apexes vs one matched non-ME moment per ME (same trial, ≥ 2 s "
    "from any expression); paired tests.\n\n" + ecg_statistics.markdown_table(statistics) + "\n"
  )
  return {
    "table3": rows,
    "table2": table2,
    "per_subject": {
      name: {subject: f["variants"][key]["total"] for subject, f in folds.items()}
      for key, name in names.items()
      if all(key in f["variants"] for f in folds.values())
    },
    "eta_sweep": sweep_rows,
    "spotting_figure": str(spotting_png),
    "chosen_etas": {s: f["chosen_eta"] for s, f in folds.items()},
  }
