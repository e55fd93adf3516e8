"""A process builds a model's steps once: equal model parts share them across folds."""

import jax
import numpy as np

from cmcl_jax.experiment import scoring
from cmcl_jax.train import loop, sharding, state as state_lib
from experiments.configs import smoke


def _parts(seed=0, **model_overrides):
  config = smoke.get_config()
  config.model.encoder.update(model_overrides)
  return config, *state_lib.build_model(config.model, seed)


def test_model_parts_are_equal_when_they_split_the_same_model():
  _, parts, _ = _parts()
  _, again, _ = _parts()
  _, other_seed, _ = _parts(seed=1)  # other dropout streams
  _, other_model, _ = _parts(dropout=0.2)
  assert parts is not again and parts == again and hash(parts) == hash(again)
  assert parts != other_seed
  assert parts != other_model
  assert {parts: "steps"}[again] == "steps"


def test_stage_steps_are_built_once_per_stage_config_and_model():
  config, parts, params = _parts()
  _, again, params_again = _parts()
  replicated = sharding.replicated(sharding.make_mesh())
  first = loop.stage_steps("finetune", config.finetune, parts, params, replicated)
  assert loop.stage_steps("finetune", config.finetune, again, params_again, replicated) is first
  other_rate = config.finetune.copy_and_resolve_references()
  other_rate.lr *= 2
  assert loop.stage_steps("finetune", other_rate, parts, params, replicated) is not first
  assert loop.stage_steps("pretrain", config.pretrain, parts, params, replicated) is not first
  _, other_seed, params_other = _parts(seed=1)
  assert (
    loop.stage_steps("finetune", config.finetune, other_seed, params_other, replicated) is not first
  )


def test_scoring_reuses_the_compiled_forward_of_an_equal_model():
  _, parts, _ = _parts()
  _, again, _ = _parts()
  _, other, _ = _parts(seed=1)
  assert scoring.probability_fn(again) is scoring.probability_fn(parts)
  assert scoring.probability_fn(other) is not scoring.probability_fn(parts)


def test_a_rebuilt_model_is_the_same_with_buffers_of_its_own():
  _, parts, params = _parts()
  _, again, params_again = _parts()
  assert again == parts
  first, second = jax.tree.leaves(params), jax.tree.leaves(params_again)
  for a, b in zip(first, second):
    np.testing.assert_array_equal(a, b)
  first[0].delete()  # what a donating train step does to its state's buffers
  assert np.isfinite(np.asarray(second[0])).all()
  _, _, params_wider = _parts(dim=24)
  assert [x.shape for x in jax.tree.leaves(params_wider)] != [x.shape for x in second]
