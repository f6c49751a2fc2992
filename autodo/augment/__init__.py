"""Augmentation models: fixed per-image policies (RAND, TRIVIAL) and the learned affine model (SHA, SEP)."""
