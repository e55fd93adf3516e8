"""Analyses and figures of ECG and expressions."""
