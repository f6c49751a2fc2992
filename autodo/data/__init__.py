"""Data: real data sets, the biased train set built from them, and the loaders that feed training."""
