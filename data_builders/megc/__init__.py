"""The `megc` TFDS dataset: `tfds build data_builders/megc --manual_dir=RAW --config=casme2`."""
