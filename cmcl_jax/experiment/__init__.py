"""The spotting harness: methods as `Spotter` plug-ins, LOSO over folds × spotters.

`run_loso(config, workdir)` runs every spotter of `config.loso.spotters` on every
held-out subject (`loso`), resuming per fold and spotter; `make_spotter` builds one
from its `config.spotters` entry (`methods`); `CmclNetSpotter` is the paper's method
on one modality; `single_trial.spot_trial` spots a trial a user brings with a trained
run. docs/harness.md shows how to add a method.
"""

from cmcl_jax.experiment.cmcl_net import CmclNetSpotter
from cmcl_jax.experiment.loso import FoldInterrupted, finished_folds, run_fold, run_loso
from cmcl_jax.experiment.methods import METHODS, make_spotter
from cmcl_jax.experiment.spotter import Fold, Spotter

__all__ = [
  "METHODS",
  "CmclNetSpotter",
  "Fold",
  "FoldInterrupted",
  "Spotter",
  "finished_folds",
  "make_spotter",
  "run_fold",
  "run_loso",
]
