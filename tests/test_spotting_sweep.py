"""η sweep and in-fold η choice on hand-made candidates."""

import numpy as np

from cmcl_jax import spotting
from cmcl_jax.spotting import sweep


def _trial(trial_id, subject, apex_hrs):
  """Two candidates: a true ME at frames 100–140 and a false one at 300–340."""
  hrs = np.ones(500, np.float32)
  hrs[120], hrs[320] = apex_hrs
  return sweep.TrialCandidates(
    trial_id,
    subject,
    np.array([[100, 120, 140], [300, 320, 340]]),
    hrs,
    1.0,
    np.array([[100, 140]]),
  )


def test_unfiltered_and_filtered_counts():
  trials = [_trial("a/1", "a", (2.5, 1.5)), _trial("b/1", "b", (1.8, 2.2))]
  assert sweep.evaluate_candidates(trials, None).total == spotting.Counts(2, 2, 0)
  # η = 2: a keeps its true ME, b keeps its false one.
  assert sweep.evaluate_candidates(trials, 2.0).total == spotting.Counts(1, 1, 1)
  # η = 1.7: everything except a's false candidate (1.5) passes.
  assert sweep.evaluate_candidates(trials, 1.7).total == spotting.Counts(2, 1, 0)


def test_sweep_and_choice_use_only_the_given_trials():
  training = [_trial("a/1", "a", (2.5, 1.5)), _trial("a/2", "a", (2.4, 2.1))]
  result = sweep.sweep_eta(training, (1.3, 2.0, 2.2))
  assert result[2.2].total == spotting.Counts(2, 0, 0)
  assert result[1.3].total == spotting.Counts(2, 2, 0)
  assert sweep.choose_eta(training, (1.3, 2.0, 2.2)) == 2.2
  # Equal F1 at 2.2 and 2.3: the smaller η wins.
  assert sweep.choose_eta(training, (2.3, 2.2, 1.3)) == 2.2


def test_no_filter_competes_and_wins_ties():
  # The filter helps here (2.2 drops a/1's false candidate): it stays on.
  helped = [_trial("a/1", "a", (2.5, 1.5)), _trial("a/2", "a", (2.4, 2.1))]
  assert sweep.choose_eta(helped, (1.3, 2.2), allow_off=True) == 2.2
  # Here every η removes true MEs (heart rises only at the false candidates): off.
  hurt = [_trial("a/1", "a", (1.1, 2.5)), _trial("a/2", "a", (1.2, 2.4))]
  assert sweep.choose_eta(hurt, (1.3, 2.2), allow_off=True) is None
  assert sweep.choose_eta(hurt, (1.3, 2.2)) == 1.3
  # Unfiltered F1 equal to the best η's: no filter.
  tie = [_trial("a/1", "a", (2.5, 2.5))]
  assert sweep.choose_eta(tie, (1.3,), allow_off=True) is None
