"""Text files whose encoding the user's spreadsheet program chose: read them anyway.

Excel saves "CSV" in the code page of its Windows locale, so the same coding file or
ECG export arrives as UTF-8, GB18030 (a Chinese locale) or Windows-1252 (a Western
one). `read_csv_text` finds which, and says so, or refuses with the reason.
"""

from __future__ import annotations

import os
from pathlib import Path

# Tried after UTF-8, in this order.
LEGACY_ENCODINGS = ("gb18030", "cp1252")
ENCODING_NAMES = {"utf-8": "UTF-8", "gb18030": "GB18030", "cp1252": "Windows-1252"}


class CsvEncodingError(ValueError):
  """A CSV file's text encoding cannot be determined."""


def read_csv_text(path: str | os.PathLike) -> tuple[str, str]:
  """The text of a CSV file and the encoding it was read in: "utf-8", "gb18030" or "cp1252".

  UTF-8 (with or without a byte-order mark) is tried first. Failing that, each of
  `LEGACY_ENCODINGS` that decodes the bytes is a candidate. When both do, GB18030 stays
  a candidate only if its reading keeps within GB2312, the common simplified-Chinese
  characters (a Western file read as GB18030 turns "ë_" into a rare character such as
  "隷"), and charset-normalizer, where installed, keeps the less garbled reading.

  Raises:
    CsvEncodingError: naming the file, the first byte that is not UTF-8 and the
      encodings tried, when none decodes the file or two readings are equally
      plausible (save it as UTF-8 then).
  """
  path = Path(path)
  data = path.read_bytes()
  try:
    return data.decode("utf-8-sig"), "utf-8"
  except UnicodeDecodeError as error:
    utf8_error = error
  readings = {}
  for encoding in LEGACY_ENCODINGS:
    try:
      readings[encoding] = data.decode(encoding)
    except UnicodeDecodeError:
      continue
  if len(readings) > 1 and not _within_gb2312(readings["gb18030"]):
    del readings["gb18030"]
  if len(readings) > 1:
    readings = _least_garbled(data, readings)
  if len(readings) == 1:
    ((encoding, text),) = readings.items()
    return text, encoding
  line = data.count(b"\n", 0, utf8_error.start) + 1
  not_utf8 = (
    f"line {line} holds byte {data[utf8_error.start : utf8_error.start + 1]!r}, which is not UTF-8"
  )
  advice = "save the file as UTF-8 (Excel: 'CSV UTF-8')"
  if not readings:
    legacy = " nor ".join(ENCODING_NAMES[e] for e in LEGACY_ENCODINGS)
    raise CsvEncodingError(
      f"{path}: cannot decode the text: {not_utf8}, and it is neither {legacy} "
      f"(tried UTF-8, then {', '.join(LEGACY_ENCODINGS)}); {advice}"
    )
  shown = " and ".join(f"{ENCODING_NAMES[e]} ({_sample(t)!r})" for e, t in readings.items())
  raise CsvEncodingError(
    f"{path}: cannot tell the text encoding: {not_utf8}, and it reads equally well as "
    f"{shown}; {advice}"
  )


def _within_gb2312(text: str) -> bool:
  try:
    text.encode("gb2312")
  except UnicodeEncodeError:
    return False
  return True


def _least_garbled(data: bytes, readings: dict[str, str]) -> dict[str, str]:
  """The readings charset-normalizer finds least chaotic (all of them, when it ties)."""
  try:
    import charset_normalizer
  except ImportError:  # Not a declared dependency: then the ambiguity is refused.
    return readings
  matches = charset_normalizer.from_bytes(data, cp_isolation=list(readings), threshold=1.0)
  scores = {m.encoding: (m.chaos, -m.coherence) for m in matches}
  if not scores:
    return readings
  best = min(scores.values())
  return {e: t for e, t in readings.items() if scores.get(e) == best} or readings


def _sample(text: str, width: int = 40) -> str:
  """The text around its first non-ASCII character."""
  first = next((i for i, c in enumerate(text) if ord(c) > 127), 0)
  return text[max(first - width // 2, 0) : first + width // 2].replace("\n", " ")
