"""Starting an entry point: absl flags whose config errors end in a usage message.

`ml_collections.config_flags` raises from inside absl's flag parsing when a
`--config` file is missing or a `--config.<field>` override names no field, which
would end in a traceback; `run(main)` turns those into "error: …" and exit status 2.
"""

from __future__ import annotations

import sys

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
