"""`tfds build` without TensorFlow: builds the `mecg` dataset (or any TFDS folder).

    python -m experiments.build_mecg data_builders/mecg --manual_dir=RAW \
        --config=tiny --data_dir=~/tensorflow_datasets        # ~20 s for tiny

Same arguments as `tfds build` (run `--help`). The `tfds` command of
tensorflow-datasets 4.9.10 imports TensorFlow at start-up (its `convert_format`
command annotates with `tf.train.Example`), so without TensorFlow it fails before
parsing; this entry point runs the very same `build` command. With TensorFlow
installed, `tfds build data_builders/mecg ...` is equivalent. Set
`MECG_BUILD_WORKERS` to choose the number of trial-processing processes.

Before the build, `--data_dir` must be a folder that can be written and `--manual_dir`
(when given) an existing folder. A build that stops on its input (no usable trial, an
unreadable layout, an unknown `--config`) prints "error: …" and exits with status 1,
without a traceback.
"""

import sys

from absl import app
from tensorflow_datasets.scripts.cli import build
from tensorflow_datasets.scripts.cli import cli_utils

from experiments import cli


def main(args: build.Args) -> None:
  cli.output_folder("data_dir", args.paths.data_dir)
  manual_dir = args.paths.manual_dir
  if manual_dir is not None and "://" not in str(manual_dir):
    cli.input_path("manual_dir", manual_dir, folder=True)
  try:
    args.execute()
  except ValueError as error:  # the builder's and TFDS's input errors name what is wrong
    print(f"error: {error}", file=sys.stderr)
    sys.exit(1)


if __name__ == "__main__":
  app.run(
    main,
    flags_parser=cli_utils.make_flags_parser(
      build.Args, description="Build a TFDS dataset (the `tfds build` command)"
    ),
  )
