"""Experiment configs for `python -m experiments.train --config=experiments/configs/<name>.py`."""
