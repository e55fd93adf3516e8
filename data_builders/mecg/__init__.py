"""The `mecg` TFDS dataset: `tfds build data_builders/mecg --manual_dir=RAW`."""
