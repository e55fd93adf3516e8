"""The `megc` build report: every video and every expression, used or skipped and why.

The same report as the `mecg` build's (`cmcl_jax.data.build_report`: the same keys,
written by its `write_report` as `build_report.json` and `build_report.md`), from a
discovered `layouts.DatasetLayout` instead of an MECG layout: the videos discovery
skipped (gaps in the frame numbering, mixed sizes, …) are layout problems, the
annotated expressions that reached no video are listed with the problem of their
rows, and the spreadsheet's quirks are the "coding" findings. "ME windows" are the
windows of label 1: of the config's target kind (micro or macro).
"""

from __future__ import annotations

import re

from cmcl_jax.data import build_report as mecg_report
from cmcl_jax.data.datasets import frame_folders
from cmcl_jax.data.datasets.layouts import DatasetLayout

_ROWS = re.compile(r"\brows? ([\d, ]+)")


def _skip_reasons(raw: DatasetLayout) -> tuple[dict[int, str], dict[str, str]]:
  """The codes of the first problem naming each spreadsheet row, and of the first
  problem naming each video's frame folder (by `frame_folders.video_key`)."""
  rows = {}
  for p in raw.problems:
    match = _ROWS.search(p.where)
    if match:
      for row in match.group(1).replace(" ", "").split(","):
        if row:
          rows.setdefault(int(row), p.code)
  folders, _ = frame_folders.scan(raw.dataset, raw.frames_dir, raw.root)
  videos = {}
  for key, folder in folders.items():
    where = frame_folders.relative(folder.path, raw.root)
    codes = [p.code for p in raw.problems if p.where == where or p.where.startswith(where + "/")]
    if codes:
      videos[key] = codes[0]
  return rows, videos


def build_report(
  raw: DatasetLayout, records: dict[str, dict], splits: dict[str, list[str]], header: dict
) -> dict:
  """The report as a JSON-ready dict (the keys of `cmcl_jax.data.build_report`).

  Args:
    raw: the discovered raw layout.
    records: trial id → trial record (used or skipped), from `trials.read_records`.
    splits: split → used trial ids, in dataset order.
    header: dataset name, config, version and window geometry, copied to the top.
  """
  trials = sorted(records.values(), key=lambda r: r["trial"])
  used = [r for r in trials if r["status"] == "used"]
  skipped = [r for r in trials if r["status"] == "skipped"]
  expressions, seen = [], set()
  for record in trials:
    for e in record["expressions"]:
      seen.add(e["row"])
      entry = {k: e[k] for k in ("row", "kind", "onset", "apex", "offset")}
      entry["trial"] = record["trial"]
      if record["status"] == "skipped":
        entry.update(status="skipped", reason=record["reason"])
      elif e["kind"] == record["target"] and e["me_windows"] == 0:
        entry.update(
          status="no_me_window",
          reason=f"no whole window meets the {record['target']} rule (e.g. the expression "
          "ends within the last window of the video)",
          me_windows=0,
        )
      else:
        entry.update(status="used", me_windows=e["me_windows"], windows=e["windows"])
      expressions.append(entry)
  row_problem, video_problem = _skip_reasons(raw)
  for e in raw.annotations.expressions:
    if e.row not in seen:
      reason = row_problem.get(e.row) or video_problem.get(
        frame_folders.video_key(raw.dataset, e.video), "not_in_any_trial"
      )
      expressions.append(
        {"row": e.row, "trial": None, "kind": e.kind, "status": "skipped", "reason": reason}
      )
  expressions.sort(key=lambda x: x["row"])
  left_out = mecg_report.subjects_left_out(records, splits)
  totals = mecg_report.build_totals(trials, used, skipped, splits, left_out, expressions)
  return {
    **header,
    "dataset": raw.dataset,
    "coding_file": raw.annotations.path.name,
    "totals": totals,
    **mecg_report.split_summary(records, splits, skipped, left_out),
    "trials": [{k: v for k, v in r.items() if k != "expressions"} for r in trials],
    "expressions": expressions,
    "layout_problems": [
      {"code": p.code, "where": p.where, "message": p.message, "subject": p.subject}
      for p in raw.problems
    ],
    "coding_findings": {
      "counts": raw.annotations.summarize_findings(),
      "items": [
        {
          "sheet": f.sheet,
          "row": f.row,
          "field": f.field,
          "code": f.code,
          "message": f.message,
          "row_skipped": f.row_skipped,
        }
        for f in raw.findings
      ],
    },
  }
