"""ECG signal processing: synthetic ECG, R-peaks, heart rate, HR slope, HRV features."""

from cmcl_jax.ecg.simulate import EcgNoise, simulate_ecg

__all__ = ["EcgNoise", "simulate_ecg"]
