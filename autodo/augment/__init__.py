"""Augmentation models: fixed per-image policies (RAND, TRIVIAL), the learned affine model (SHA, SEP) and the
colour ops (RandSub) that go with it."""
