"""SOFTNet in NNX against an independent NumPy forward pass of the authors' Keras layers."""

from pathlib import Path

import h5py
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from cmcl_jax.baselines import softnet
from cmcl_jax.baselines import softnet_train

WEIGHTS = Path(__file__).resolve().parents[1].parent / "shared/fixtures/softnet_weights"
FILES = (
  "CASME_sq_micro_s2.hdf5",
  "CASME_sq_micro_s3.hdf5",
  "CASME_sq_macro_s1.hdf5",
  "SAMMLV_micro_s1.hdf5",
)


def weights_file(name):
  path = WEIGHTS / name
  if not path.is_file():
    pytest.skip(f"published SOFTNet weights not found at {path} (shared fixtures absent)")
  return path


def keras_arrays(path):
  """layer → (kernel, bias) float64, read straight from the file."""
  with h5py.File(path, "r") as f:
    return {
      layer: tuple(np.asarray(f[f"{layer}/{layer}/{n}:0"], np.float64) for n in ("kernel", "bias"))
      for layer in ("conv2d", "conv2d_1", "conv2d_2", "dense", "dense_1")
    }


def conv_same_relu(image, kernel, bias):
  """Keras Conv2D(padding='same', activation='relu'): (B, H, W, 1) → (B, H, W, F)."""
  size = kernel.shape[0]
  pad = size // 2
  padded = np.pad(image, ((0, 0), (pad, pad), (pad, pad), (0, 0)))
  height, width = image.shape[1:3]
  out = np.zeros((*image.shape[:3], kernel.shape[-1])) + bias
  for dy in range(size):
    for dx in range(size):
      out += padded[:, dy : dy + height, dx : dx + width, :] @ kernel[dy, dx]
  return np.maximum(out, 0)


def max_pool(x, side):
  """Keras MaxPooling2D(side, strides=side, padding='valid') on NHWC."""
  b, h, w, c = x.shape
  x = x[:, : h // side * side, : w // side * side]
  return x.reshape(b, h // side, side, w // side, side, c).max(axis=(2, 4))


def keras_forward(arrays, u, v, strain, *, channels_first_flatten=False):
  pooled = [
    max_pool(conv_same_relu(x, *arrays[layer]), 3)
    for layer, x in zip(("conv2d", "conv2d_1", "conv2d_2"), (u, v, strain))
  ]
  merged = max_pool(np.concatenate(pooled, axis=-1), 2)  # (B, 7, 7, 16)
  if channels_first_flatten:
    merged = merged.transpose(0, 3, 1, 2)
  flat = merged.reshape(len(merged), -1)
  hidden = np.maximum(flat @ arrays["dense"][0] + arrays["dense"][1], 0)
  return hidden @ arrays["dense_1"][0] + arrays["dense_1"][1]


def random_inputs(seed, batch=8):
  """Three (B, 42, 42, 1) float32 images in [0, 1], as min-max normalised features."""
  rng = np.random.default_rng(seed)
  return [rng.random((batch, 42, 42, 1), dtype=np.float32) for _ in range(3)]


@pytest.mark.parametrize("name", FILES)
def test_loaded_model_matches_a_numpy_forward_pass_of_the_keras_layers(name):
  path = weights_file(name)
  model = softnet.load_keras_weights(path)
  arrays = keras_arrays(path)
  u, v, strain = random_inputs(seed=len(name))
  ours = np.asarray(model(jnp.asarray(u), jnp.asarray(v), jnp.asarray(strain)))
  reference = keras_forward(arrays, u, v, strain)
  assert ours.shape == (8, 1) and ours.dtype == np.float32
  np.testing.assert_allclose(ours, reference, atol=1e-5, rtol=1e-5)
  # The check can fail: Keras flattens channels last; a channels-first flatten of the
  # same weights gives other scores.
  wrong = keras_forward(arrays, u, v, strain, channels_first_flatten=True)
  assert np.abs(wrong - reference).max() > 1e-2
  # `score` on stacked (u, v, ε) channels and batched `predict` agree with the call.
  stacked = np.concatenate([u, v, strain], axis=-1)
  np.testing.assert_allclose(np.asarray(model.score(jnp.asarray(stacked))), ours[:, 0], atol=1e-6)
  scores = softnet_train.predict(nnx.state(model), stacked, batch_size=3)
  np.testing.assert_allclose(scores, ours[:, 0], atol=1e-5)


def test_streams_are_assigned_in_keras_creation_order():
  model = softnet.load_keras_weights(weights_file(FILES[0]))
  assert [conv.kernel.shape for conv in model.streams] == [(5, 5, 1, f) for f in (3, 5, 8)]
  assert model.hidden.kernel.shape == (784, 400) and model.output.kernel.shape == (400, 1)


def test_fresh_model_shapes_and_input_errors():
  model = softnet.SOFTNet(rngs=nnx.Rngs(0))
  u, v, strain = random_inputs(seed=0, batch=2)
  assert model(u, v, strain).shape == (2, 1)
  with pytest.raises(ValueError, match=r"SOFTNet input v: expected \(B, 42, 42, 1\)"):
    model(u, v[:, :40], strain)


def three_stream_scores(model, features):
  """The layers as Keras runs them: one 1-channel convolution per stream, window pooling."""
  pool = lambda x, side: nnx.max_pool(x, (side, side), (side, side), "VALID")
  pooled = [
    pool(jax.nn.relu(conv(features[..., i : i + 1])), 3) for i, conv in enumerate(model.streams)
  ]
  flat = pool(jnp.concatenate(pooled, axis=-1), 2).reshape(len(features), -1)
  return model.output(jax.nn.relu(model.hidden(flat)))[:, 0]


def test_one_block_convolution_has_the_gradients_of_three_stream_convolutions():
  graphdef, params = nnx.split(softnet.SOFTNet(rngs=nnx.Rngs(1)))
  features = jnp.asarray(np.concatenate(random_inputs(seed=5, batch=4), axis=-1))
  targets = jnp.asarray([0.0, 1.0, 1.0, 0.0])

  def loss(params, forward):
    return jnp.mean((forward(nnx.merge(graphdef, params), features) - targets) ** 2)

  ours = jax.grad(loss)(params, lambda model, x: model.score(x))
  reference = jax.grad(loss)(params, three_stream_scores)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6), ours, reference)
  assert float(jnp.abs(ours["streams"][2]["kernel"][...]).max()) > 0


def write_weights(path, arrays, *, skip=None, reshape=None):
  """A weights file of `arrays`, without dataset `skip` or with `reshape` changed."""
  with h5py.File(path, "w") as f:
    for layer, (kernel, bias) in arrays.items():
      for name, value in (("kernel", kernel), ("bias", bias)):
        key = f"{layer}/{layer}/{name}:0"
        if key == skip:
          continue
        f[key] = value[..., :-1] if key == reshape else value.astype(np.float32)


def test_missing_misshapen_and_unreadable_files_name_file_and_dataset(tmp_path):
  arrays = keras_arrays(weights_file(FILES[0]))
  missing, misshapen = tmp_path / "missing.hdf5", tmp_path / "misshapen.hdf5"
  write_weights(missing, arrays, skip="dense/dense/bias:0")
  write_weights(misshapen, arrays, reshape="conv2d_1/conv2d_1/kernel:0")
  with pytest.raises(ValueError, match=r"missing.hdf5: missing dataset 'dense/dense/bias:0'"):
    softnet.load_keras_weights(missing)
  with pytest.raises(
    ValueError,
    match=r"misshapen.hdf5: dataset 'conv2d_1/conv2d_1/kernel:0' has shape \(5, 5, 1, 4\), "
    r"expected \(5, 5, 1, 5\)",
  ):
    softnet.load_keras_weights(misshapen)
  garbage = tmp_path / "garbage.hdf5"
  garbage.write_bytes(b"not hdf5")
  with pytest.raises(ValueError, match="garbage.hdf5: not a readable HDF5 file"):
    softnet.load_keras_weights(garbage)
  with pytest.raises(FileNotFoundError, match="nowhere.hdf5: no such SOFTNet weights file"):
    softnet.load_keras_weights(tmp_path / "nowhere.hdf5")
