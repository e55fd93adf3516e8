"""The process-wide settings of `cmcl_jax.experiment.runtime`."""

import subprocess
import sys
import textwrap
from pathlib import Path

from cmcl_jax.experiment import runtime
from experiments.configs import loso_synthetic


def test_the_compilation_cache_folder_comes_from_the_config():
  config = loso_synthetic.get_config("runlocal")
  assert runtime.compilation_cache_folder(config, "w/loso") == str(Path("w/loso/jax_cache"))
  config.loso.compilation_cache_dir = "~/.cache/cmcl_jax"
  assert runtime.compilation_cache_folder(config, "w/loso") == "~/.cache/cmcl_jax"
  config.loso.compilation_cache = False
  assert runtime.compilation_cache_folder(config, "w/loso") is None


def test_a_second_cache_folder_in_one_process_gets_the_programs_compiled_after_it(tmp_path):
  # JAX opens its cache folder once per process; in a fresh process, so that no other
  # test's programs land in these folders.
  script = textwrap.dedent(
    f"""
    import jax, jax.numpy as jnp
    from cmcl_jax.experiment import runtime
    for name, power in (("first", 2), ("second", 3)):
      runtime.use_compilation_cache({str(tmp_path)!r} + "/" + name)
      jax.config.update("jax_persistent_cache_min_compile_time_secs", 0)
      jax.jit(lambda x: x**power + jnp.sin(x))(jnp.ones(3)).block_until_ready()
    """
  )
  subprocess.run([sys.executable, "-c", script], check=True, cwd=Path(__file__).parents[1])
  first, second = (sorted(p.name for p in (tmp_path / n).iterdir()) for n in ("first", "second"))
  assert any("jit__lambda" in name for name in first)
  assert any("jit__lambda" in name for name in second)
  assert set(first).isdisjoint(second)
