"""The gradient descriptors of the active-learning task (autodo.tasks.active_learning.descriptors) against autograd."""

import torch
import torch.nn.functional as F

from autodo.tasks.active_learning.descriptors import Outputs, gradient_descriptors, projections


def head_and_outputs(n=12, features=5, classes=4, seed=0):
    generator = torch.Generator().manual_seed(seed)
    head = torch.nn.Linear(features, classes)
    hidden = torch.randn(n, features, generator=generator)
    with torch.no_grad():
        probabilities = torch.softmax(head(hidden), dim=1)
    labels = torch.randint(classes, (n,), generator=generator)
    return head, hidden, Outputs(probabilities, hidden), labels


def test_descriptors_are_autograds_per_sample_last_layer_gradients():
    head, hidden, outputs, labels = head_and_outputs()
    params = dict(head.named_parameters())

    def loss(params, h, y):
        return F.cross_entropy(torch.func.functional_call(head, params, (h[None],)), y[None])

    grads = torch.func.vmap(torch.func.grad(loss), in_dims=(None, 0, 0))(params, hidden, labels)
    expected = torch.cat([grads["weight"], grads["bias"][:, :, None]], dim=2).flatten(1)  # (n, classes, features+1)
    assert torch.allclose(gradient_descriptors(outputs, labels), expected, atol=1e-6)


def test_a_projected_descriptor_is_the_exact_one_times_the_kronecker_product_of_the_projections():
    _, _, outputs, labels = head_and_outputs(features=9, classes=6)
    class_matrix, feature_matrix = projections(6, 9, 4, seed=3)
    assert class_matrix.shape == (6, 4) and feature_matrix.shape == (10, 4)
    exact = gradient_descriptors(outputs, labels)
    projected = gradient_descriptors(outputs, labels, (class_matrix, feature_matrix))
    assert torch.allclose(projected, exact @ torch.kron(class_matrix, feature_matrix), atol=1e-5)
    # a factor already within the projection is kept as it is
    assert projections(6, 9, 10, seed=3) == (None, None)


def test_projection_keeps_squared_lengths_in_expectation():
    _, _, outputs, labels = head_and_outputs(n=1, features=30, classes=20)
    exact = gradient_descriptors(outputs, labels)[0].square().sum()
    projected = torch.stack([gradient_descriptors(outputs, labels, projections(20, 30, 8, seed))[0].square().sum()
                             for seed in range(2000)])
    assert abs(projected.mean() / exact - 1) < 0.1  # a projection's scale off by sqrt(2) would be 2 (or 0.5)
