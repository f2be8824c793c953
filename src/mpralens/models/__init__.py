"""Sequence models of activity: k-mer baseline, CNNs, prediction, metrics, comparison."""
