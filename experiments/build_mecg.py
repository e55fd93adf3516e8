"""`tfds build` without TensorFlow: builds the `mecg` dataset (or any TFDS folder).

    python -m experiments.build_mecg data_builders/mecg --manual_dir=RAW \
        --config=tiny --data_dir=~/tensorflow_datasets        # ~20 s for tiny

Same arguments as `tfds build` (run `--help`). The `tfds` command of
tensorflow-datasets 4.9.10 imports TensorFlow at start-up (its `convert_format`
command annotates with `tf.train.Example`), so without TensorFlow it fails before
parsing; this entry point runs the very same `build` command. With TensorFlow
installed, `tfds build data_builders/mecg ...` is equivalent. Set
`MECG_BUILD_WORKERS` to choose the number of trial-processing processes.
"""

from absl import app
from tensorflow_datasets.scripts.cli import build
from tensorflow_datasets.scripts.cli import cli_utils


def main(args: build.Args) -> None:
  args.execute()


if __name__ == "__main__":
  app.run(
    main,
    flags_parser=cli_utils.make_flags_parser(
      build.Args, description="Build a TFDS dataset (the `tfds build` command)"
    ),
  )
