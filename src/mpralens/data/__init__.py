"""Counts to activity: design, libraries, counts, log2 ratios, weights, splits and QC."""
