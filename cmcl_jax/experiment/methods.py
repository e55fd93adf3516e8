"""Spotting methods by name: a `config.spotters` entry → a `Spotter`.

Each entry names its method (`method`) and a row title (`title`); its other fields
are the method's own. `method` is a name of `METHODS` or "package.module:factory" for
a method of your own; a factory is called as `factory(name, settings, config)`.
"""

from __future__ import annotations

import importlib

from cmcl_jax.experiment.spotter import Spotter

METHODS = {
  "cmcl_net": "cmcl_jax.experiment.cmcl_net:CmclNetSpotter",
  "motion": "cmcl_jax.baselines.motion:MotionSpotter",
  "mdmd": "cmcl_jax.baselines.mdmd_spotter:MdmdSpotter",
  "softnet": "cmcl_jax.baselines.softnet_spotter:SoftnetSpotter",
}
"""Built-in methods: name → "module:factory"."""


def make_spotter(name: str, config) -> Spotter:
  """The spotter of entry `config.spotters[name]`.

  Raises:
    ValueError: no such entry, or its `method` names nothing importable.
  """
  if name not in config.spotters:
    raise ValueError(
      f"loso.spotters: {name!r} has no entry in config.spotters "
      f"(entries: {sorted(config.spotters.keys())})"
    )
  settings = config.spotters[name]
  target = METHODS.get(settings.method, settings.method)
  module_name, _, attribute = target.partition(":")
  if not attribute:
    raise ValueError(
      f"spotters.{name}.method={settings.method!r}: expected one of {sorted(METHODS)} "
      "or 'package.module:factory'"
    )
  try:
    factory = getattr(importlib.import_module(module_name), attribute)
  except (ImportError, AttributeError) as error:
    raise ValueError(f"spotters.{name}.method={settings.method!r}: {error}") from None
  return factory(name, settings, config)
