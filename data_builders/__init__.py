"""TFDS dataset builders of cmcl_jax (one package folder per dataset)."""
