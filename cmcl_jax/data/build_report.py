"""The `mecg` build report: every trial and every expression, used or skipped and why.

A subject none of whose trials is usable has no split; the report lists it under
`subjects_left_out` with each of its trials' reasons (`describe_skipped` gives the
same list as text, for the build's messages).

Written as `build_report.json` (machine-readable) and `build_report.md` (for people)
in the dataset dir. Inputs are the raw layout, the trial records the build wrote
(`cmcl_jax.data.trials`) and the pseudonyms; every free-text message is scrubbed of
subject names and of the raw root's path.
"""

from __future__ import annotations

import collections
import json
import os
import re
from collections.abc import Callable

from etils import epath

from cmcl_jax.data import coding
from cmcl_jax.data import coding_checks
from cmcl_jax.data import layout as layout_lib
from cmcl_jax.data import windows

REPORT_JSON = "build_report.json"
REPORT_MD = "build_report.md"
_ROW = re.compile(r"\brow (\d+)\b")


def build_report(
  raw: layout_lib.RawLayout,
  records: dict[str, dict],
  splits: dict[str, list[str]],
  scrub: Callable[[str], str],
  header: dict,
) -> dict:
  """The report as a JSON-ready dict.

  Args:
    raw: the discovered raw layout.
    records: trial id → trial record (used or skipped), from `trials.read_records`.
    splits: split → used trial ids, in dataset order.
    scrub: pseudonymises free text.
    header: dataset name, config, version and window spec, copied to the top.
  """
  trials = sorted(records.values(), key=lambda r: r["trial"])
  used = [r for r in trials if r["status"] == "used"]
  skipped = [r for r in trials if r["status"] == "skipped"]

  expressions = []
  seen_rows = set()
  for record in trials:
    for e in record["expressions"]:
      seen_rows.add(e["row"])
      entry = {
        "row": e["row"],
        "trial": record["trial"],
        "kind": e["kind"],
        "onset": e["onset"],
        "apex": e["apex"],
        "offset": e["offset"],
      }
      if record["status"] == "skipped":
        entry.update(status="skipped", reason=record["reason"])
      elif e["kind"] == "micro" and e["me_windows"] == 0:
        entry.update(
          status="no_me_window",
          reason="no whole window meets the micro rule "
          "(e.g. the ME ends within the last window_frames of the trial)",
          me_windows=0,
        )
      else:
        entry.update(status="used", me_windows=e["me_windows"], windows=e["windows"])
      expressions.append(entry)
  problems = [
    {
      "code": p.code,
      "where": scrub(p.where),
      "message": scrub(p.message),
      "subject": scrub(p.subject) if p.subject else None,
    }
    for p in raw.problems
  ]
  row_problem = {}
  for p in raw.problems:
    match = _ROW.search(p.where)
    if match:
      row_problem.setdefault(int(match.group(1)), p.code)
  for e in coding.read_coding_file(raw.coding_file):
    if e.row not in seen_rows:
      expressions.append(
        {
          "row": e.row,
          "trial": None,
          "kind": e.kind,
          "status": "skipped",
          "reason": row_problem.get(e.row, "not_in_any_trial"),
        }
      )
  expressions.sort(key=lambda x: x["row"])

  left_out = subjects_left_out(records, splits)
  totals = build_totals(trials, used, skipped, splits, left_out, expressions)
  findings = [
    {
      "row": f.row,
      "code": f.code,
      "message": scrub(f.message),
      "related_rows": list(f.related_rows),
    }
    for f in raw.findings
  ]
  return {
    **header,
    "coding_file": raw.coding_file.name,
    "totals": totals,
    **split_summary(records, splits, skipped, left_out),
    "trials": [
      {k: v for k, v in r.items() if k not in ("expressions", "feature_sum", "feature_sumsq")}
      for r in trials
    ],
    "expressions": expressions,
    "layout_problems": problems,
    "coding_findings": {
      "counts": coding_checks.summarize_findings(raw.findings),
      "items": findings,
    },
  }


def build_totals(
  trials: list[dict],
  used: list[dict],
  skipped: list[dict],
  splits,
  left_out: dict,
  expressions: list[dict],
) -> dict:
  """The report's `totals`: subjects, trials, windows (by kind), face fallbacks and
  expressions (by "kind:status") counted from the trial records and expression rows.
  A record without `ecg_padded_windows` (a video-only dataset) counts 0."""
  kinds = collections.Counter()
  for r in used:
    kinds.update(r["kinds"])
  expression_status = collections.Counter(f"{e['kind']}:{e['status']}" for e in expressions)
  return {
    "subjects_found": len(splits) + len(left_out),
    "subjects_used": len(splits),
    "subjects_left_out": len(left_out),
    "trials_found": len(trials),
    "trials_used": len(used),
    "trials_skipped": len(skipped),
    "windows": sum(r["num_windows"] for r in used),
    "me_windows": sum(r["me_windows"] for r in used),
    "window_kinds": {k: kinds.get(k, 0) for k in windows.KINDS},
    "ecg_padded_windows": sum(r.get("ecg_padded_windows", 0) for r in used),
    "face_fallback_trials": sum(r["face"]["method"] == "fallback" for r in used),
    "expressions": len(expressions),
    "expressions_by_status": dict(sorted(expression_status.items())),
  }


def split_summary(records: dict[str, dict], splits, skipped: list[dict], left_out: dict) -> dict:
  """The report's "skipped_by_reason", "splits" (trials, windows, ME windows per split)
  and "subjects_left_out" (each left-out subject's trials with their reasons)."""
  return {
    "skipped_by_reason": dict(collections.Counter(r["reason"] for r in skipped)),
    "splits": {
      name: {
        "trials": len(ids),
        "windows": sum(records[t]["num_windows"] for t in ids),
        "me_windows": sum(records[t]["me_windows"] for t in ids),
      }
      for name, ids in splits.items()
    },
    "subjects_left_out": [
      {
        "subject": subject,
        "trials": [{k: r[k] for k in ("trial", "video", "reason", "message")} for r in rows],
      }
      for subject, rows in left_out.items()
    ],
  }


def subjects_left_out(records: dict[str, dict], splits) -> dict[str, list[dict]]:
  """Subject id → its trial records (by trial id), for every subject of `records`
  that is not one of `splits` (none of its trials was usable)."""
  left_out = collections.defaultdict(list)
  for _, record in sorted(records.items()):
    if record["subject"] not in splits:
      left_out[record["subject"]].append(record)
  return dict(sorted(left_out.items()))


def describe_skipped(records: list[dict], limit: int = 20) -> str:
  """Each skipped record as `<trial> (<video>): <reason>: <message>`, joined by "; ";
  after `limit` records, how many more there are."""
  skipped = [r for r in records if r["status"] == "skipped"]
  text = "; ".join(
    f"{r['trial']} ({r['video']}): {r['reason']}: {r['message']}" for r in skipped[:limit]
  )
  if len(skipped) > limit:
    text += f"; … and {len(skipped) - limit} more"
  return text


def write_report(data_dir: str | os.PathLike, report: dict) -> None:
  """Writes `build_report.json` and `build_report.md` into `data_dir`."""
  data_dir = epath.Path(data_dir)
  (data_dir / REPORT_JSON).write_text(json.dumps(report, indent=1))
  (data_dir / REPORT_MD).write_text(markdown(report))


def markdown(report: dict) -> str:
  """The readable summary of a report."""
  t = report["totals"]
  lines = [
    f"# Build report: {report['name']}/{report['config']} {report['version']}",
    "",
    f"Coding file `{report['coding_file']}`; {t['subjects_found']} subjects found, "
    f"{t['subjects_used']} used, {t['subjects_left_out']} left out; "
    f"{t['trials_found']} trials found, "
    f"{t['trials_used']} used, {t['trials_skipped']} skipped; {t['windows']} windows, "
    f"{t['me_windows']} ME windows; {t['expressions']} expressions.",
    "",
    "| window kind | windows |",
    "|---|---|",
  ]
  lines += [f"| {k} | {n} |" for k, n in t["window_kinds"].items()]
  lines += [
    "",
    f"Windows with ECG context padded by zeros: {t['ecg_padded_windows']}; "
    f"trials on the fallback face box: {t['face_fallback_trials']}.",
    "",
    "## Splits (one per subject)",
    "",
    "| split | trials | windows | ME windows |",
    "|---|---|---|---|",
  ]
  lines += [
    f"| {name} | {s['trials']} | {s['windows']} | {s['me_windows']} |"
    for name, s in report["splits"].items()
  ]
  lines += ["", "## Subjects left out (no usable trial, so no split)", ""]
  lines += [
    f"- `{s['subject']}`: "
    + "; ".join(f"`{r['trial']}` **{r['reason']}**: {r['message']}" for r in s["trials"])
    for s in report["subjects_left_out"]
  ] or ["None."]
  lines += ["", "## Trials skipped", ""]
  skipped = [r for r in report["trials"] if r["status"] == "skipped"]
  lines += [
    f"- `{r['trial']}` ({r['video']}): **{r['reason']}**: {r['message']}" for r in skipped
  ] or ["None."]
  lines += ["", "## Expressions", "", "| kind:status | count |", "|---|---|"]
  lines += [f"| {k} | {n} |" for k, n in t["expressions_by_status"].items()]
  unused = [e for e in report["expressions"] if e["status"] != "used"]
  if unused:
    lines += ["", "Not used:", ""]
    lines += [
      f"- row {e['row']} ({e['kind']}, trial `{e['trial']}`): **{e['status']}** — {e['reason']}"
      for e in unused
    ]
  lines += ["", "## Raw layout problems", ""]
  lines += [
    f"- **{p['code']}** `{p['where']}`: {p['message']}" for p in report["layout_problems"]
  ] or ["None."]
  for r in report["trials"]:
    for p in r.get("problems", []):
      lines.append(f"- **{p['code']}** (trial `{r['trial']}`): {p['message']}")
  counts = report["coding_findings"]["counts"]
  lines += ["", "## Coding-file findings (kept, suspect)", ""]
  lines += [f"- {code}: {n}" for code, n in counts.items()] or ["None."]
  return "\n".join(lines) + "\n"
