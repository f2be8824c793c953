"""Names of the attribution methods and what each model gives.

No heavy imports: the workflow checks the config with them.
"""

GRADIENT_METHODS = ("saliency", "gradxinput", "integrated_gradients", "smoothgrad", "deepshap")
METHODS = ("ism", *GRADIENT_METHODS, "kmer_weights")
# What the k-mer model gives: ISM, and its exact attribution (it has no gradient).
KMER_METHODS = ("ism", "kmer_weights")
# Methods whose map is multiplied by the input (the others keep all four bases).
TIMES_INPUT = ("gradxinput", "integrated_gradients", "deepshap")
# Architectures whose nonlinearities are all nn.ReLU modules, as DeepLIFT's rescale rule needs
# (tangermeme replaces module outputs; a functional torch.relu is invisible to it).
DEEPSHAP_ARCHS = ("paggi", "dragonn")
