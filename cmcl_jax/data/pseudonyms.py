"""Stable opaque subject ids for built datasets; the mapping stays in the manual dir.

A subject's pseudonym is ``"s" + the first 8 hex digits of HMAC-SHA256(salt,
name)``. The salt is drawn once per raw layout and kept, with the name → id table,
in ``<manual_dir>/.mecg_pseudonyms.json`` (readable by its owner only); it is never
written into a dataset or a log. Rebuilding from the same manual dir gives the same
ids; without the file nobody can map an id back to a name.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import secrets
from collections.abc import Iterable
from pathlib import Path

MAPPING_FILE = ".mecg_pseudonyms.json"


class Pseudonyms:
  """Subject name → pseudonym, and scrubbing of names from free text.

  Attributes:
    ids: name → id of every subject seen so far.
    root: the raw root; `scrub` replaces its path by "<manual_dir>".
  """

  def __init__(self, salt: str, ids: dict[str, str], root: str | os.PathLike, enabled: bool = True):
    self._salt = salt
    self.ids = dict(ids)
    self.root = str(Path(root).resolve())
    self.enabled = enabled

  @classmethod
  def load_or_create(
    cls, manual_dir: str | os.PathLike, subjects: Iterable[str], enabled: bool = True
  ) -> "Pseudonyms":
    """Reads (or starts) the private mapping file and adds `subjects` to it.

    With `enabled=False` every subject keeps its name and no file is written.

    Raises:
      ValueError: naming the mapping file, when it is malformed or two subjects
        would share an id.
    """
    path = Path(manual_dir) / MAPPING_FILE
    if not enabled:
      return cls("", {s: s for s in subjects}, manual_dir, enabled=False)
    if path.exists():
      try:
        stored = json.loads(path.read_text())
        salt, ids = stored["salt"], dict(stored["subjects"])
      except (ValueError, KeyError, TypeError) as e:
        raise ValueError(
          f"{path}: expected JSON {{'salt': hex, 'subjects': {{name: id}}}} "
          f"({e}); delete it to draw a new salt (ids will change)"
        ) from None
    else:
      salt, ids = secrets.token_hex(16), {}
    pseudonyms = cls(salt, ids, manual_dir)
    added = [s for s in subjects if s not in ids]
    for subject in added:
      pseudonyms.ids[subject] = pseudonyms._derive(subject)
    taken = {}
    for name, pid in pseudonyms.ids.items():
      if pid in taken:
        raise ValueError(f"{path}: subjects {taken[pid]!r} and {name!r} share the id {pid}")
      taken[pid] = name
    if added or not path.exists():
      path.write_text(json.dumps({"salt": salt, "subjects": pseudonyms.ids}, indent=1))
      path.chmod(0o600)
    return pseudonyms

  def _derive(self, name: str) -> str:
    digest = hmac.new(bytes.fromhex(self._salt), name.encode(), hashlib.sha256).hexdigest()
    return "s" + digest[:8]

  def __getitem__(self, name: str) -> str:
    return self.ids[name]

  def scrub(self, text: str) -> str:
    """`text` with every subject name replaced by its id and the raw root hidden."""
    text = text.replace(self.root, "<manual_dir>")
    if not self.enabled or not self.ids:
      return text
    names = sorted(self.ids, key=len, reverse=True)
    # Names are matched as whole tokens (not inside a longer run of letters or
    # digits), so a numeric subject id cannot rewrite frame numbers or dates.
    pattern = re.compile(
      r"(?<![A-Za-z0-9])(" + "|".join(re.escape(n) for n in names) + r")(?![A-Za-z0-9])"
    )
    return pattern.sub(lambda m: self.ids[m.group(0)], text)


def dataset_ids(manual_dir: str | os.PathLike) -> dict[str, str]:
  """Subject name → pseudonym of the mapping file in `manual_dir` ({} without one: a
  dataset built with `pseudonymize=False` keeps the names)."""
  path = Path(manual_dir) / MAPPING_FILE
  return dict(json.loads(path.read_text())["subjects"]) if path.exists() else {}


def write_salt(manual_dir: str | os.PathLike, salt: str) -> None:
  """Starts the mapping file of `manual_dir` with the given salt and no subjects yet,
  replacing any: for layouts whose subject names need no protection (synthetic ones),
  so that their ids, and with them the order of the LOSO folds and of the training
  splits, are the same every time the layout is written.

  Raises:
    ValueError: `salt` is not a hex string.
  """
  bytes.fromhex(salt)
  path = Path(manual_dir) / MAPPING_FILE
  path.write_text(json.dumps({"salt": salt, "subjects": {}}, indent=1))
  path.chmod(0o600)
