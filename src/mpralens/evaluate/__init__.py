"""Grading base-resolution maps against annotations and the simulator's truth."""
