"""The error raised for ECG input that cannot give a trustworthy answer."""


class EcgError(ValueError):
  """An ECG recording (or a request on it) that cannot be processed as asked.

  The message says what was found and where, in seconds from the first sample.
  """
