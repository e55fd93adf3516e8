"""SOFTNet's training step: one block-diagonal convolution against three stream convolutions.

    python -m benchmarks.softnet_step [--rounds=7 --steps=100]   # ≈ 30 s on 2 cores

The library's `SOFTNet` runs its three 1-channel 5 × 5 convolutions as one convolution
of the stacked (u, v, ε) input with a block-diagonal kernel and pools by reshaping.
`ThreeStreamSOFTNet` computes the same function as the Keras layers are written:
one `nnx.Conv` per stream and `nnx.max_pool` (XLA's `reduce_window`). Both train
with the library's jit step (`softnet_train.make_train_step`, plain SGD, batch 12)
in interleaved rounds, so load from other processes falls on both alike; the table
gives the median ms per step over rounds. Before timing, the script checks that both
give the same loss and gradients.
"""

import os
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax
from absl import app, flags
from flax import nnx

from benchmarks import machine
from cmcl_jax.baselines import softnet, softnet_train

_ROUNDS = flags.DEFINE_integer("rounds", 7, "Interleaved timing rounds.")
_STEPS = flags.DEFINE_integer("steps", 100, "Steps per form per round.")


class ThreeStreamSOFTNet(softnet.SOFTNet):
  """`SOFTNet` as the Keras layers are written: a convolution and a pooling per stream."""

  def _forward(self, features):
    pool = lambda x, side: nnx.max_pool(x, (side, side), (side, side), "VALID")
    pooled = [
      pool(jax.nn.relu(conv(features[..., i : i + 1])), softnet.STREAM_POOL)
      for i, conv in enumerate(self.streams)
    ]
    merged = pool(jnp.concatenate(pooled, axis=-1), softnet.MERGED_POOL)
    return self.output(jax.nn.relu(self.hidden(merged.reshape(len(features), -1))))


FORMS = {
  "one block-diagonal convolution, reshape pooling (library)": softnet.SOFTNet,
  "three stream convolutions, reduce_window pooling (Keras layers)": ThreeStreamSOFTNet,
}


def main(argv):
  del argv
  rng = np.random.default_rng(0)
  batch = {
    "features": jnp.asarray(rng.random((softnet_train.BATCH_SIZE, 42, 42, 3), np.float32)),
    "label": jnp.asarray(rng.integers(0, 2, softnet_train.BATCH_SIZE).astype(np.float32)),
  }
  tx = optax.sgd(softnet_train.LEARNING_RATE)
  runners, gradients = {}, []
  for name, form in FORMS.items():
    graphdef, params = nnx.split(form(rngs=nnx.Rngs(0)))
    gradients.append(jax.grad(lambda p: softnet_train.mse_loss(graphdef, p, batch)[0])(params))
    step = softnet_train.make_train_step(graphdef, tx)
    state = [softnet_train.TrainState(jnp.zeros((), jnp.int32), params, tx.init(params))]

    def run(n, step=step, state=state):
      for _ in range(n):
        state[0], metrics = step(state[0], batch)
      jax.block_until_ready(metrics)

    run(2)  # compile + one warm-up step
    runners[name] = run
  for ours, reference in zip(*map(jax.tree.leaves, gradients)):
    np.testing.assert_allclose(ours, reference, rtol=1e-4, atol=1e-6)
  times = {name: [] for name in runners}
  for _ in range(_ROUNDS.value):
    for name, run in runners.items():
      start = time.perf_counter()
      run(_STEPS.value)
      times[name].append(1000 * (time.perf_counter() - start) / _STEPS.value)
  load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
  print(f"machine: {machine.describe()}; jax {jax.__version__}; load average {load}")
  print("\n| SOFTNet training step (batch 12) | ms / step (median) | × Keras layers |")
  print("|---|---:|---:|")
  reference = statistics.median(times[list(FORMS)[-1]])
  for name, values in times.items():
    median = statistics.median(values)
    print(f"| {name} | {median:.2f} | {median / reference:.2f} |")


if __name__ == "__main__":
  app.run(main)
