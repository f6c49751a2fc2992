"""Hypergradients dL_V/dlambda through the classifier head's weight theta (the encoder is held fixed), or through
every weight of the network (LOOKAHEAD).

``implicit_hypergradient`` (HES, AutoDO): the implicit function theorem at a stationary theta,
    dL_V/dlambda = -(d2 L_T / dlambda dtheta) H^-1 dL_V/dtheta,   H = d2 L_T / dtheta2,
with H^-1 applied by a truncated Neumann series of exact Hessian-vector products.

``unrolled_hypergradient`` (UNROLL, DABO-style online bilevel): the gradient of L_V after one SGD step on
theta, back-propagated through that step only (truncated).

``lookahead_hypergradient`` (LOOKAHEAD, MW-Net's meta-gradient): the same one-step look-ahead, with the step taken
on every weight of the network, so that a train sample's effect on L_V is seen through the features too.
"""

import torch


def neumann_inverse_hvp(hvp, vector, terms, alpha):
    """Approximate ``H^-1 vector`` by ``alpha * sum_{j=0..terms} (I - alpha H)^j vector``.

    ``hvp(v)`` returns ``H v``. The series converges when ``0 < alpha * eigenvalue < 2`` for every eigenvalue.
    """
    term, total = vector, vector
    for _ in range(terms):
        term = term - alpha * hvp(term)
        total = total + term
    return alpha * total


def implicit_hypergradient(train_loss, valid_grad, theta, hyperparameters, terms, alpha):
    """``-(d2 L_T / dlambda dtheta) H^-1 valid_grad``, one tensor per hyperparameter.

    ``train_loss`` must be built from ``theta`` and ``hyperparameters``; ``valid_grad`` is dL_V/dtheta.
    """
    (train_grad,) = torch.autograd.grad(train_loss, theta, create_graph=True)

    def hvp(vector):
        return torch.autograd.grad(train_grad, theta, grad_outputs=vector, retain_graph=True)[0]

    inverse_hvp = neumann_inverse_hvp(hvp, valid_grad, terms, alpha).detach()
    return torch.autograd.grad(train_grad, hyperparameters, grad_outputs=-inverse_hvp, allow_unused=True)


def unrolled_hypergradient(train_loss, valid_loss_at, theta, hyperparameters, lr):
    """dL_V(theta - lr * dL_T/dtheta)/dlambda; ``valid_loss_at(theta')`` builds L_V at the stepped weights."""
    (train_grad,) = torch.autograd.grad(train_loss, theta, create_graph=True)
    valid_loss = valid_loss_at(theta - lr * train_grad)
    return torch.autograd.grad(valid_loss, hyperparameters, allow_unused=True)


def lookahead_hypergradient(model, train_loss_at, valid_loss_at, hyperparameters, lr):
    """dL_V(w - lr * dL_T/dw)/dlambda over every parameter ``w`` of ``model``; ``train_loss_at(weights)`` and
    ``valid_loss_at(weights)`` build the losses of the model called with the weights given (by name)."""
    weights = dict(model.named_parameters())
    train_grads = torch.autograd.grad(train_loss_at(weights), list(weights.values()), create_graph=True)
    stepped = {name: weight - lr * grad for (name, weight), grad in zip(weights.items(), train_grads)}
    return torch.autograd.grad(valid_loss_at(stepped), hyperparameters, allow_unused=True)
