"""Starting an entry point: absl flags whose config errors end in a usage message.

`ml_collections.config_flags` raises from inside absl's flag parsing when a
`--config` file is missing or a `--config.<field>` override names no field, which
would end in a traceback; `run(main)` turns those into "error: …" and exit status 2.
`output_folder` and `input_path` check path flags before an entry point's long work.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from absl import app
from absl import flags

USAGE_STATUS = 2


def _message(error: BaseException) -> str:
  text = str(error.args[0]) if error.args else str(error)
  if len(text) > 1 and text[0] in "'\"" and text[-1] == text[0]:  # a KeyError's repr
    text = text[1:-1]
  for escaped, plain in (("\\n", " "), ("\\'", "'"), ('\\"', '"')):
    text = text.replace(escaped, plain)
  return " ".join(text.split())


def _check_config_files() -> None:
  """Raises the load error of a `--config` file, which `config_flags` keeps until
  the config is first read (its stand-in object reports it)."""
  for name in flags.FLAGS:
    value = flags.FLAGS[name].value
    if hasattr(value, "_ReportError"):
      value._ReportError()


def parse_flags(argv: list[str]) -> list[str]:
  """absl's parsing of `argv`; a config file or override that cannot be used exits
  with its reason and `USAGE_STATUS`."""
  try:
    remaining = flags.FLAGS(argv)
    _check_config_files()
    return remaining
  except flags.Error as error:
    print(f"error: {error}\nPass --help for usage.", file=sys.stderr)
  except (AttributeError, KeyError, TypeError, ValueError, OSError) as error:
    print(f"error: {_message(error)}\nPass --help for usage.", file=sys.stderr)
  sys.exit(USAGE_STATUS)


def run(main) -> None:
  """`absl.app.run(main)` with `parse_flags`."""
  app.run(main, flags_parser=parse_flags)


def output_folder(flag: str, value: str | os.PathLike) -> Path:
  """The folder `--<flag>` names, checked before any long work: it need not exist yet,
  but must not be a file, lie under a file or sit in a folder that cannot be written.
  Remote paths (`gs://…`) are returned unchecked.

  Raises:
    app.UsageError: naming the flag, the path and what is wrong.
  """
  if "://" in str(value):
    return Path(value)
  path = Path(value).expanduser()
  if path.exists() and not path.is_dir():
    raise app.UsageError(f"--{flag}={value}: a file, expected a folder (it is written into)")
  existing = path
  while not existing.exists():
    existing = existing.parent
  if not existing.is_dir():
    raise app.UsageError(
      f"--{flag}={value}: {existing} is a file, so no folder can be made below it; "
      "expected a folder path"
    )
  if not os.access(existing, os.W_OK | os.X_OK):
    raise app.UsageError(
      f"--{flag}={value}: {existing} is not writable; expected a folder you can write"
    )
  return path


def input_path(flag: str, value: str | os.PathLike, *, folder: bool = False) -> Path:
  """The existing file or folder `--<flag>` names (with `folder`: a folder).

  Raises:
    app.UsageError: naming the flag and the path, when it is missing (or a file).
  """
  path = Path(value).expanduser()
  if not path.exists():
    raise app.UsageError(f"--{flag}={value}: no such {'folder' if folder else 'file'}")
  if folder and not path.is_dir():
    raise app.UsageError(f"--{flag}={value}: a file, expected a folder")
  return path
