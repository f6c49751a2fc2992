"""The subsample task's model and scores: an L2-regularised multinomial logistic regression on frozen features,
its per-point training loss, and each point's leave-one-out (LOO) influence on the validation loss.

The model is fitted here (L-BFGS, float64) rather than by scikit-learn because the influence needs the Hessian of
exactly the objective that was minimised:
    R(W) = mean_i CE(W x_i, y_i) + l2/2 |W|^2,   x_i the standardised features with a constant 1 appended.
Leaving point i out (R then averages over the other n - 1 points) moves the minimiser by about
H^-1 (g_i + l2 W) / (n - 1), g_i being the point's loss gradient and H the Hessian of R (the implicit function theorem,
as in HES); at the minimum l2 W is minus the mean of the g_j. So the validation loss L_V changes by about
    influence_i = g_V^T H^-1 (g_i - mean_j g_j) / (n - 1),
with one solve for the whole train set. The score is its magnitude.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F


@dataclass
class Standardiser:
    """Features -> standardised features with a constant 1 appended (the bias), from reference statistics."""

    mean: torch.Tensor
    std: torch.Tensor

    @classmethod
    def of(cls, features):
        return cls(features.mean(0), features.std(0).clamp(min=1e-8))

    def __call__(self, features):
        ones = torch.ones(len(features), 1, dtype=features.dtype)
        return torch.cat([(features - self.mean) / self.std, ones], dim=1)


def objective(weight, inputs, labels, l2):
    return F.cross_entropy(inputs @ weight.T, labels) + 0.5 * l2 * weight.pow(2).sum()


def fit(inputs, labels, num_classes, l2, start=None):
    """The minimiser ``W`` (classes x features) of ``R`` on the standardised ``inputs`` (float64)."""
    weight = torch.zeros(num_classes, inputs.shape[1], dtype=torch.float64) if start is None else start.clone()
    weight.requires_grad_(True)
    optimizer = torch.optim.LBFGS([weight], lr=1, max_iter=1000, tolerance_grad=1e-10, tolerance_change=1e-14,
                                  history_size=20, line_search_fn="strong_wolfe")

    def closure():
        optimizer.zero_grad()
        loss = objective(weight, inputs, labels, l2)
        loss.backward()
        return loss

    with torch.enable_grad():
        optimizer.step(closure)
    return weight.detach()


def per_point_loss(weight, inputs, labels):
    return F.cross_entropy(inputs @ weight.T, labels, reduction="none")


def hessian(weight, inputs, l2, chunk=8192):
    """The exact Hessian of ``R`` in ``W.flatten()`` order (class-major):
    H = (1/n) sum_i (diag(p_i) - p_i p_i^T) kron x_i x_i^T + l2 I."""
    classes, dims = weight.shape
    total = torch.zeros(classes * dims, classes * dims, dtype=torch.float64)
    for start in range(0, len(inputs), chunk):
        x = inputs[start:start + chunk]
        p = torch.softmax(x @ weight.T, dim=1)
        for c in range(classes):  # the diagonal blocks' diag(p) part
            block = slice(c * dims, (c + 1) * dims)
            total[block, block] += (x * p[:, c:c + 1]).T @ x
        outer = (p[:, :, None] * x[:, None, :]).reshape(len(x), -1)  # p_i kron x_i
        total -= outer.T @ outer
    return total / len(inputs) + l2 * torch.eye(classes * dims, dtype=torch.float64)


def influence(weight, inputs, labels, valid_inputs, valid_labels, l2, points):
    """``g_V^T H^-1 (g_i - mean_j g_j) / (n - 1)`` for the train points ``points`` (positions in ``inputs``): about
    how much the mean validation loss would rise if the point were left out of the fit (negative: it would fall)."""
    weight = weight.clone().requires_grad_(True)
    with torch.enable_grad():
        (valid_grad,) = torch.autograd.grad(F.cross_entropy(valid_inputs @ weight.T, valid_labels), weight)
    factor = torch.linalg.cholesky(hessian(weight.detach(), inputs, l2))
    solved = torch.cholesky_solve(valid_grad.reshape(-1, 1), factor).reshape(weight.shape)  # H^-1 g_V
    weight = weight.detach()
    mean_gradient = -l2 * weight  # the mean g_j at the minimum
    x, y = inputs[points], labels[points]
    residual = torch.softmax(x @ weight.T, dim=1) - F.one_hot(y, weight.shape[0]).double()  # g_i = r_i kron x_i
    return ((residual * (x @ solved.T)).sum(1) - (mean_gradient * solved).sum()) / (len(inputs) - 1)
