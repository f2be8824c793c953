"""Simulators that write synthetic data in the real input layouts, with their ground truth."""
