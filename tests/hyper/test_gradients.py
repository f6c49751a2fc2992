"""The hypergradients against independent computations: linalg.solve, and finite differences of the
validation loss at the exactly solved inner problem."""

import pytest
import torch
import torch.nn.functional as F

from autodo.hyper.gradients import (implicit_hypergradient, lookahead_hypergradient, neumann_inverse_hvp,
                                    unrolled_hypergradient)


def positive_definite(n, seed=0):
    g = torch.Generator().manual_seed(seed)
    a = torch.randn(n, n, generator=g, dtype=torch.float64)
    return a @ a.T / n + 0.5 * torch.eye(n, dtype=torch.float64)


def test_neumann_series_converges_to_the_solve():
    h = positive_definite(6)
    v = torch.randn(6, dtype=torch.float64)
    alpha = 1.0 / torch.linalg.eigvalsh(h).max().item()
    approx = neumann_inverse_hvp(lambda x: h @ x, v, terms=400, alpha=alpha)
    torch.testing.assert_close(approx, torch.linalg.solve(h, v), rtol=1e-8, atol=1e-8)


def test_truncated_series_is_the_matrix_polynomial():
    h, v = positive_definite(4, seed=1), torch.randn(4, dtype=torch.float64)
    eye = torch.eye(4, dtype=torch.float64)
    expected = 0.1 * sum(torch.linalg.matrix_power(eye - 0.1 * h, j) for j in range(6)) @ v
    torch.testing.assert_close(neumann_inverse_hvp(lambda x: h @ x, v, terms=5, alpha=0.1), expected)


# A tiny convex problem: a logistic-regression head theta (C x D) on fixed features, per-sample loss weights
# lambda (the hyperparameters), L2 regularisation for strong convexity.
N, D, C, REG = 12, 3, 3, 0.1
gen = torch.Generator().manual_seed(0)
X_TRAIN = torch.randn(N, D, generator=gen, dtype=torch.float64)
Y_TRAIN = torch.randint(0, C, (N,), generator=gen)
X_VALID = torch.randn(8, D, generator=gen, dtype=torch.float64)
Y_VALID = torch.randint(0, C, (8,), generator=gen)


def train_loss(theta, lam):
    weights = F.softplus(lam)
    per_sample = F.cross_entropy(X_TRAIN @ theta.T, Y_TRAIN, reduction="none")
    return (weights * per_sample).mean() + 0.5 * REG * (theta ** 2).sum()


def valid_loss(theta):
    return F.cross_entropy(X_VALID @ theta.T, Y_VALID)


def solve_inner(lam):
    """theta*(lam) by Newton's method to machine precision."""
    theta = torch.zeros(C * D, dtype=torch.float64)
    for _ in range(50):
        loss = lambda t: train_loss(t.view(C, D), lam)  # noqa: E731
        grad = torch.autograd.functional.jacobian(loss, theta)
        hess = torch.autograd.functional.hessian(loss, theta)
        theta = theta - torch.linalg.solve(hess, grad)
    return theta.view(C, D)


def test_implicit_hypergradient_matches_finite_differences():
    lam = torch.randn(N, generator=torch.Generator().manual_seed(3), dtype=torch.float64)
    theta = solve_inner(lam).requires_grad_()
    lam_var = lam.clone().requires_grad_()
    (valid_grad,) = torch.autograd.grad(valid_loss(theta), theta)
    (hypergrad,) = implicit_hypergradient(train_loss(theta, lam_var), valid_grad, theta, [lam_var],
                                          terms=300, alpha=1.0)
    eps = 1e-5
    for i in range(N):
        step = torch.zeros(N, dtype=torch.float64)
        step[i] = eps
        numeric = (valid_loss(solve_inner(lam + step)) - valid_loss(solve_inner(lam - step))) / (2 * eps)
        assert hypergrad[i].item() == pytest.approx(numeric.item(), rel=1e-4, abs=1e-8)


def test_unrolled_hypergradient_matches_finite_differences_of_one_step():
    lam = torch.randn(N, generator=torch.Generator().manual_seed(4), dtype=torch.float64)
    theta = torch.randn(C, D, generator=torch.Generator().manual_seed(5), dtype=torch.float64)
    lr = 0.5

    def after_one_step(lam_value):
        t = theta.clone().requires_grad_()
        (g,) = torch.autograd.grad(train_loss(t, lam_value), t)
        return valid_loss(theta - lr * g)

    lam_var = lam.clone().requires_grad_()
    theta_var = theta.clone().requires_grad_()
    (hypergrad,) = unrolled_hypergradient(train_loss(theta_var, lam_var), valid_loss, theta_var, [lam_var], lr)
    eps = 1e-6
    for i in range(N):
        step = torch.zeros(N, dtype=torch.float64)
        step[i] = eps
        numeric = (after_one_step(lam + step) - after_one_step(lam - step)) / (2 * eps)
        assert hypergrad[i].item() == pytest.approx(numeric.item(), rel=1e-5, abs=1e-10)


def test_mw_net_s_meta_gradient_matches_finite_differences_of_the_paper_s_look_ahead():
    """MW-Net (Shu et al. 2019): theta'(phi) = theta - lr / n sum_i V(l_i; phi) dl_i/dtheta, with V's input the loss
    as a number, and the meta-gradient dL_V(theta'(phi))/dphi. The look-ahead is written here from the closed-form
    gradient of a linear softmax classifier, (softmax(theta x) - onehot(y)) x^T, not by autograd."""
    from torch.nn.utils import parameters_to_vector, vector_to_parameters

    from autodo.losses import LossModel, WeightNet

    g = torch.Generator().manual_seed(7)
    n, c, d, lr = 12, 3, 4, 0.5
    features, labels = torch.randn(n, d, generator=g, dtype=torch.float64), torch.randint(c, (n,), generator=g)
    valid_x, valid_y = torch.randn(8, d, generator=g, dtype=torch.float64), torch.randint(c, (8,), generator=g)
    theta = torch.randn(c, d, generator=g, dtype=torch.float64)
    torch.manual_seed(0)
    net = WeightNet(5).double()
    model = LossModel(labels, c, False, False, False, weight_net=net).double()

    def valid_loss(weight):
        return F.cross_entropy(valid_x @ weight.T, valid_y)

    theta_var = theta.clone().requires_grad_()
    meta = unrolled_hypergradient(model(features @ theta_var.T, torch.arange(n)), valid_loss, theta_var,
                                  list(net.parameters()), lr)
    meta = torch.cat([grad.flatten() for grad in meta])

    probs = F.softmax(features @ theta.T, 1)
    per_sample_grads = (probs - F.one_hot(labels, c))[:, :, None] * features[:, None, :]  # dl_i/dtheta
    losses = F.cross_entropy(features @ theta.T, labels, reduction="none")
    start = parameters_to_vector(net.parameters()).detach()

    def after_look_ahead(phi):
        with torch.no_grad():
            vector_to_parameters(phi, net.parameters())
            weights = net(losses)
            vector_to_parameters(start, net.parameters())
        return valid_loss(theta - lr * (weights[:, None, None] * per_sample_grads).mean(0))

    assert_central_differences(meta, after_look_ahead, start)


def test_the_whole_network_look_ahead_matches_finite_differences_of_one_sgd_step_of_every_weight():
    """LOOKAHEAD: the look-ahead step moves both layers of a small network (a hidden tanh layer and a head), taken here
    by autograd without a graph and the validation loss after it differenced; the per-sample weights V(l_i; phi) of
    MW-Net's network are the hyperparameters."""
    from torch.nn.utils import parameters_to_vector, vector_to_parameters

    from autodo.losses import LossModel, WeightNet

    g = torch.Generator().manual_seed(8)
    n, c, d, lr = 10, 3, 4, 0.3
    x, y = torch.randn(n, d, generator=g, dtype=torch.float64), torch.randint(c, (n,), generator=g)
    valid_x, valid_y = torch.randn(6, d, generator=g, dtype=torch.float64), torch.randint(c, (6,), generator=g)
    torch.manual_seed(1)
    network = torch.nn.Sequential(torch.nn.Linear(d, 5), torch.nn.Tanh(), torch.nn.Linear(5, c)).double()
    net = WeightNet(4).double()
    model = LossModel(y, c, False, False, False, weight_net=net).double()
    index = torch.arange(n)

    def loss_of(data, labels=None):
        def at(weights):
            logits = torch.func.functional_call(network, weights, (data,))
            return model(logits, index) if labels is None else F.cross_entropy(logits, labels)
        return at

    meta = lookahead_hypergradient(network, loss_of(x), loss_of(valid_x, valid_y), list(net.parameters()), lr)
    meta = torch.cat([grad.flatten() for grad in meta])
    start = parameters_to_vector(net.parameters()).detach()

    def after_look_ahead(phi):
        vector_to_parameters(phi, net.parameters())
        weights = dict(network.named_parameters())
        grads = torch.autograd.grad(loss_of(x)(weights), list(weights.values()))
        stepped = {name: w.detach() - lr * grad for (name, w), grad in zip(weights.items(), grads)}
        vector_to_parameters(start, net.parameters())
        return loss_of(valid_x, valid_y)(stepped).detach()

    assert_central_differences(meta, after_look_ahead, start)


def assert_central_differences(gradient, function, start, eps=1e-6):
    """Each entry of ``gradient`` equals the central difference of ``function`` at ``start`` along its axis."""
    for i in range(len(start)):
        step = torch.zeros_like(start)
        step[i] = eps
        numeric = (function(start + step) - function(start - step)) / (2 * eps)
        assert gradient[i].item() == pytest.approx(numeric.item(), rel=1e-5, abs=1e-10)
