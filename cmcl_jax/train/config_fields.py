"""An experiment config as flat "section.field" values, and how two of them differ.

What a stored run or result was made with is kept as these flat fields, so a rerun
with another config can be refused naming what changed (`train.loop.check_resumable`,
`experiment.loso`).
"""

from __future__ import annotations

import json

SHOWN_DIFFERENCES = 5


def flat_fields(tree, prefix: str = "") -> dict:
  """{"section.field": value} of a nested dict (a config's JSON)."""
  if not isinstance(tree, dict):
    return {prefix: tree}
  out = {}
  for key, value in tree.items():
    out.update(flat_fields(value, f"{prefix}.{key}" if prefix else key))
  return out


def config_fields(config) -> dict:
  """`flat_fields` of an `ml_collections.ConfigDict`, as its JSON holds it."""
  return flat_fields(json.loads(config.to_json_best_effort()))


def config_key(section) -> str:
  """Hashable text of a config section (a ConfigDict or a plain mapping): its JSON
  with sorted keys, equal for equal sections."""
  plain = section.to_dict() if hasattr(section, "to_dict") else dict(section)
  return json.dumps(plain, sort_keys=True, default=repr)


def differences(stored: dict, wanted: dict) -> str:
  """ "" when the flat fields agree, else "N fields differ: field: old → new, …"."""
  differ = sorted(k for k in set(stored) | set(wanted) if stored.get(k) != wanted.get(k))
  if not differ:
    return ""
  shown = ", ".join(
    f"{k}: {stored.get(k)!r} → {wanted.get(k)!r}" for k in differ[:SHOWN_DIFFERENCES]
  )
  return f"{len(differ)} fields differ: {shown}"
