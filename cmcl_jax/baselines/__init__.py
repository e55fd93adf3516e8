"""Spotting methods the paper compares CMCL-Net with, as spotters of the harness."""
