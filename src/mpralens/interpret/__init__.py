"""Attribution maps of trained sequence models: gradients, DeepSHAP, exact k-mer weights."""
