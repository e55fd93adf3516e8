"""Feature declarations the dataset builders share."""

import numpy as np
import tensorflow_datasets as tfds


def array_feature(shape: tuple[int, ...], dtype: np.dtype, doc: str) -> tfds.features.Tensor:
  """A fixed-shape array stored as its raw bytes (`Encoding.BYTES`).

  TFDS's default stores a protobuf float list, which its NumPy reader rebuilds value by
  value (≈ 1 ms for a window's 16,384 flow values against 0.13 ms for the whole window
  as bytes, BENCHMARKS.md); bytes also keep float16 at 2 bytes a value.
  """
  return tfds.features.Tensor(
    shape=shape, dtype=dtype, encoding=tfds.features.Encoding.BYTES, doc=doc
  )
