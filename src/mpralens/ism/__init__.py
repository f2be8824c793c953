"""Tiled in-silico mutagenesis: windows, plain and fast scoring, tracks and variant effects."""
