"""Synthetic MECG: the raw layout of docs/data.md, written from a seed with its ground truth."""

from cmcl_jax.data.synthetic.config import PRESETS, SyntheticConfig, parse_overrides, preset
from cmcl_jax.data.synthetic.generate import (
  generate,
  is_generated,
  load_ground_truth,
  unplaced_summary,
)

__all__ = [
  "PRESETS",
  "SyntheticConfig",
  "generate",
  "is_generated",
  "load_ground_truth",
  "parse_overrides",
  "preset",
  "unplaced_summary",
]
