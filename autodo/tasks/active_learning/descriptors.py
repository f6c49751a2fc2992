"""What the acquisition functions see of a point: the model's class probabilities, its features (the encoder's
output), and its gradient descriptor: the gradient of the cross-entropy at a (pseudo-)label with respect to the
last layer (weight and bias), ``(p - e_y) (h, 1)^T``, flattened: BADGE's gradient embedding, and the Fisher-kernel
descriptor of the active-learning seed.

A descriptor has ``classes x (features + 1)`` numbers. ``projection=m`` projects its class factor and its feature
factor to at most ``m`` dimensions each with seeded Gaussian matrices: the outer product of the projections is the
projection of the outer product by their Kronecker product, which keeps inner products in expectation. The memory
is linear in the pool: ``pool x min(classes, m) x min(features + 1, m) x 4`` bytes a copy (ImageNet's 1.02M pool
with ResNet-18's 512 features and m=32: 4.2 GB; exact, 2.1 TB).
"""

from dataclasses import dataclass

import torch


@dataclass
class Outputs:
    """The model's view of a set of points, on the CPU."""

    probabilities: torch.Tensor  # (n, classes)
    features: torch.Tensor  # (n, features)


@torch.no_grad()
def model_outputs(model, batches, transform, device):
    """The class probabilities and features of the uint8 image ``batches`` (an iterable)."""
    model.eval()
    probabilities, features = [], []
    for images in batches:
        hidden = model.encoder(transform(images.to(device)))
        probabilities.append(torch.softmax(model.head(hidden).float(), dim=1).cpu())
        features.append(hidden.float().cpu())
    return Outputs(torch.cat(probabilities), torch.cat(features))


def projections(num_classes, num_features, projection, seed):
    """The seeded Gaussian matrices of ``projection`` (None: no projection) for the class factor and the feature
    factor (with its bias entry)."""
    if projection is None:
        return None
    generator = torch.Generator().manual_seed(seed)
    return tuple(torch.randn(size, min(size, projection), generator=generator) / min(size, projection) ** 0.5
                 if size > projection else None for size in (num_classes, num_features + 1))


def gradient_descriptors(outputs, labels, projected=None):
    """The gradient descriptors ``(n, ...)`` of the points of ``outputs`` at ``labels`` (their pseudo-labels)."""
    residual = outputs.probabilities - torch.nn.functional.one_hot(labels, outputs.probabilities.shape[1])
    features = torch.cat([outputs.features, torch.ones(len(labels), 1)], dim=1)
    if projected is not None:
        class_matrix, feature_matrix = projected
        residual = residual if class_matrix is None else residual @ class_matrix
        features = features if feature_matrix is None else features @ feature_matrix
    return torch.einsum("nk,nd->nkd", residual, features).flatten(1)
