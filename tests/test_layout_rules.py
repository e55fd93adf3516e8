"""The structure the harness promises: post-processing free of models and training,
global side effects only in entry points, small modules, configs built on one base."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LIBRARY = ROOT / "cmcl_jax"


def _imports(path: Path) -> set[str]:
  names = set()
  for node in ast.walk(ast.parse(path.read_text())):
    if isinstance(node, ast.Import):
      names.update(alias.name for alias in node.names)
    elif isinstance(node, ast.ImportFrom) and node.module:
      names.add(node.module)
  return names


def _calls(path: Path) -> set[str]:
  return {
    node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
    for node in ast.walk(ast.parse(path.read_text()))
    if isinstance(node, ast.Call)
  }


@pytest.mark.parametrize("path", sorted((LIBRARY / "spotting").glob("*.py")), ids=lambda p: p.name)
def test_spotting_is_post_processing_only(path):
  forbidden = ("cmcl_jax.train", "cmcl_jax.models", "cmcl_jax.experiment", "jax", "flax")
  bad = sorted(i for i in _imports(path) if i.startswith(forbidden))
  assert not bad, f"{path.name} imports {bad}"


def test_the_library_leaves_global_settings_to_entry_points():
  runtime = {"use_compilation_cache", "quiet_checkpoint_logs", "mark_as_parsed", "addFilter"}
  for path in LIBRARY.rglob("*.py"):
    if path.name == "runtime.py":
      continue
    called = runtime & _calls(path)
    assert not called, f"{path.relative_to(ROOT)} calls {sorted(called)}"


def test_training_inputs_do_not_import_the_dataset_builder():
  assert not any(i.startswith("data_builders") for i in _imports(LIBRARY / "train" / "inputs.py"))


def test_no_library_module_is_over_500_lines():
  long = {
    str(p.relative_to(ROOT)): n
    for p in LIBRARY.rglob("*.py")
    if (n := len(p.read_text().splitlines())) > 500
  }
  assert not long


@pytest.mark.parametrize("name", ["synthetic", "loso_synthetic", "smoke", "mecg"])
def test_configs_override_the_base(name):
  path = ROOT / "experiments" / "configs" / f"{name}.py"
  assert "experiments.configs" in _imports(path)
  assert "base.get_config" in path.read_text()
