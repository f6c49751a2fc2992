"""A classifier is an encoder (images -> features) and a linear head (features -> logits).

The head's weight is kept as its own module because the hypergradient differentiates through it alone.
"""

import hydra.utils
from torch import nn


class Classifier(nn.Module):
    def __init__(self, encoder, num_classes):
        super().__init__()
        self.encoder = encoder
        self.head = nn.Linear(encoder.out_features, num_classes)

    def forward(self, images):
        return self.head(self.encoder(images))


def build_classifier(model_cfg, in_channels, num_classes):
    """Instantiate ``model_cfg.encoder`` (a Hydra ``_target_`` config) and put a linear head on it."""
    encoder = hydra.utils.instantiate(model_cfg.encoder, in_channels=in_channels)
    return Classifier(encoder, num_classes)
