"""Biophysical models of cis-regulation as neural networks (Tareen & Kinney 2019).

A model spec (from config) declares binding sites and either thermodynamic states or kinetic
transitions; the package builds the three-layer network (energies -> state probabilities ->
activity), couples it to a measurement process and fits both by maximum likelihood.
"""
