"""The hyper step: RMSprop on hypergradients, non-finite ones skipped, and a step that helps validation."""

import io
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from omegaconf import OmegaConf

from autodo.hyper.optimizer import HyperOptimizer
from autodo.losses import LossModel
from autodo.models.classifier import Classifier

CONF = Path(__file__).resolve().parents[2] / "conf"


def hyper_cfg(name="HES"):
    return OmegaConf.create({"name": name, "min_lr_factor": 1e-3, "neumann_terms": 5,
                             "neumann_alpha": 0.5})


class Features(torch.nn.Module):
    out_features = 4

    def forward(self, x):
        return x


def test_non_finite_hypergradients_are_skipped():
    lam = torch.nn.Parameter(torch.zeros(3))
    hyper = HyperOptimizer(hyper_cfg(), {"weights": [lam]}, 0.05, total_steps=10, warmup_steps=0)
    assert hyper.step([torch.tensor([1.0, float("nan"), 0.0])]) is None
    assert torch.equal(lam.detach(), torch.zeros(3)) and hyper.scheduler.last_epoch == 0
    norm = hyper.step([torch.tensor([3.0, 4.0, 0.0])])
    assert norm == pytest.approx(5.0) and lam[0] < 0 and hyper.scheduler.last_epoch == 1


@pytest.mark.parametrize("method", ["HES", "UNROLL"])
def test_weights_move_toward_the_clean_samples(method):
    """Two train samples, one with its label flipped: the hypergradient must lower the weight of the wrong one
    and raise that of the right one (the validation set agrees with the right one)."""
    torch.manual_seed(0)
    model = Classifier(Features(), 2)
    features = torch.tensor([[1.0, 0.0, 0.5, 0.0], [0.0, 1.0, 0.0, 0.5]])
    given = torch.tensor([0, 0])  # the second sample's true class is 1
    loss_model = LossModel(given, 2, learn_weights=True, learn_soft_labels=False, symmetric=True)
    hyper = HyperOptimizer(hyper_cfg(method), {"weights": [loss_model.weight_logits]}, 0.05, total_steps=10,
                           warmup_steps=0)
    valid_features, valid_labels = features, torch.tensor([0, 1])
    grads = hyper.hypergradient(model.encoder, model.head, features, torch.arange(2), loss_model, valid_features,
                                valid_labels, 0.5)
    hyper.step(grads)
    weights = loss_model.weights()
    assert weights[0] > 1 > weights[1]
    assert math.isclose(hyper.optimizer.param_groups[0]["lr"], 0.05 * hyper.scheduler.lr_lambdas[0](1))


def test_each_lambda_table_steps_at_its_own_learning_rate():
    """hyper_opt.lr_factor: each table moves as it would under its own RMSprop at hyper_lr times its factor, with the
    same schedule and gradients (a factor that reached another table, or none, would fail)."""
    tables = {"augment": [torch.nn.Parameter(torch.zeros(2, 3))], "weights": [torch.nn.Parameter(torch.zeros(5))],
              "soft_labels": [torch.nn.Parameter(torch.zeros(5, 3))]}
    cfg = OmegaConf.merge(hyper_cfg(), {"lr_factor": {"augment": 1.0, "weights": 0.5, "soft_labels": 4.0}})
    hyper = HyperOptimizer(cfg, tables, 0.05, total_steps=10, warmup_steps=2)
    torch.manual_seed(0)
    steps = [[torch.randn_like(p) for p in hyper.hyperparameters] for _ in range(3)]
    for grads in steps:
        hyper.step(grads)
    for index, (name, factor) in enumerate(cfg.lr_factor.items()):
        alone = torch.nn.Parameter(torch.zeros_like(tables[name][0]))
        reference = torch.optim.RMSprop([alone], lr=0.05 * factor)
        schedule = torch.optim.lr_scheduler.LambdaLR(reference, hyper.scheduler.lr_lambdas[0])
        for grads in steps:
            alone.grad = grads[index]
            reference.step()
            schedule.step()
        assert torch.allclose(tables[name][0], alone, atol=1e-7), name


def test_a_checkpoint_with_every_table_in_one_group_resumes_exactly():
    """Checkpoints written before hyper_opt.lr_factor hold one RMSprop group over all tables, in the tables' order:
    loaded into the group per table they go on as the one group would have."""
    from autodo.schedule import WarmupCosine

    torch.manual_seed(0)
    start = [torch.randn(5), torch.randn(5, 3), torch.randn(2, 3)]  # weights, soft labels, augmentation
    steps = [[torch.randn_like(t) for t in start] for _ in range(6)]
    old = [torch.nn.Parameter(t.clone()) for t in start]
    optimizer = torch.optim.RMSprop(old, lr=0.05)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, WarmupCosine(10, 2, 1e-3))
    for grads in steps[:3]:
        for parameter, grad in zip(old, grads):
            parameter.grad = grad
        optimizer.step()
        scheduler.step()
    checkpoint = io.BytesIO()  # as on disk: a state dict's tensors are the optimizer's own
    torch.save({"optimizer": optimizer.state_dict(), "scheduler": scheduler.state_dict()}, checkpoint)
    checkpoint.seek(0)
    saved = torch.load(checkpoint, weights_only=True)
    new = [torch.nn.Parameter(p.detach().clone()) for p in old]
    hyper = HyperOptimizer(hyper_cfg(), {"weights": new[:1], "soft_labels": new[1:2], "augment": new[2:]}, 0.05,
                           total_steps=10, warmup_steps=2)
    hyper.load_state_dict(saved)
    for grads in steps[3:]:
        for parameter, grad in zip(old, grads):
            parameter.grad = grad
        optimizer.step()
        scheduler.step()
        hyper.step(grads)
    for before, after in zip(old, new):
        assert torch.equal(before, after)
    assert hyper.learning_rate() == pytest.approx(scheduler.get_last_lr()[0])


def test_validation_batches_cover_a_fresh_permutation_each_round():
    from autodo.hyper.optimizer import _shuffled_batches

    batches = _shuffled_batches(10, 3, torch.Generator().manual_seed(0))
    rounds = [torch.cat([next(batches) for _ in range(3)]) for _ in range(2)]
    for seen in rounds:
        assert len(seen) == 9 and len(set(seen.tolist())) == 9  # 3 batches of 3, the tenth index dropped
    assert not torch.equal(rounds[0], rounds[1])
    again = _shuffled_batches(10, 3, torch.Generator().manual_seed(0))
    assert torch.equal(next(again), rounds[0][:3])


@pytest.mark.parametrize("name, channels, size", [("small_cnn", 1, 28), ("wrn16_4", 3, 32), ("resnet18", 3, 32)])
def test_folded_batch_norms_give_the_same_hypergradient(name, channels, size):
    """The hyper pass runs a copy of the encoder with batch norms folded into convolutions: same features, same
    hypergradient (through the learned augmentation too), the model itself untouched."""
    from torch.fx.experimental.optimization import fuse

    from autodo.augment.affine import LearnedAffine
    from autodo.models.classifier import build_classifier

    torch.manual_seed(0)
    model = build_classifier(OmegaConf.load(CONF / "model" / f"{name}.yaml"), channels, 3)
    with torch.no_grad():  # batch-norm statistics that are not the identity
        model(3 * torch.randn(16, channels, size, size) + 1)
    model.eval()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    folded = fuse(model.encoder)
    assert sum(isinstance(m, torch.nn.BatchNorm2d) for m in folded.modules()) < sum(
        isinstance(m, torch.nn.BatchNorm2d) for m in model.encoder.modules())
    images, index = torch.randn(4, channels, size, size), torch.arange(4)
    loss_model = LossModel(torch.tensor([0, 1, 2, 0]), 3, learn_weights=True, learn_soft_labels=True,
                           symmetric=True)
    augment = LearnedAffine(4)
    valid_features, valid_labels = model.encoder(images).detach(), torch.tensor([0, 1, 2, 1])
    grads = {}
    for label, encoder in (("plain", model.encoder), ("folded", folded)):
        lambdas = {"weights": [loss_model.weight_logits], "soft_labels": [loss_model.label_logits],
                   "augment": list(augment.parameters())}
        hyper = HyperOptimizer(hyper_cfg(), lambdas, 0.05, total_steps=10, warmup_steps=0)
        torch.manual_seed(1)  # the same augmentation draw
        grads[label] = hyper.hypergradient(encoder, model.head, augment(images, index), index, loss_model,
                                           valid_features, valid_labels, 0.5)
    for plain, folded_grad in zip(grads["plain"], grads["folded"]):
        assert plain.abs().sum() > 0
        torch.testing.assert_close(folded_grad, plain, rtol=1e-4, atol=1e-6)
    for key, value in model.state_dict().items():
        assert torch.equal(value, before[key]), key


@pytest.mark.parametrize("terms", [0, 5])
def test_hes_is_the_implicit_hypergradient_with_the_configured_neumann_series(terms):
    """HyperOptimizer's HES, against an independent computation with explicit matrices: the Hessian of the train
    loss in the head's weight (autograd.functional.hessian), the mixed second derivative in (lambda, weight)
    (a Jacobian of the weight gradient), and the Neumann series as matrix powers:
        -(d2 L_T / dlambda dtheta)^T alpha sum_{j=0..J} (I - alpha H)^j dL_V/dtheta.
    Routing HES through the unrolled step, or losing the configured number of terms, fails it."""
    from torch.func import functional_call

    torch.manual_seed(0)
    alpha, classes, dim, n = 0.5, 3, 4, 6
    model = Classifier(Features(), classes).double()
    features, labels = torch.randn(n, dim, dtype=torch.float64), torch.randint(classes, (n,))
    valid_features, valid_labels = torch.randn(5, dim, dtype=torch.float64), torch.randint(classes, (5,))
    loss_model = LossModel(labels, classes, learn_weights=True, learn_soft_labels=False, symmetric=True).double()
    with torch.no_grad():
        loss_model.weight_logits.normal_()
    cfg = OmegaConf.create({"name": "HES", "min_lr_factor": 1e-3, "neumann_terms": terms, "neumann_alpha": alpha})
    hyper = HyperOptimizer(cfg, {"weights": [loss_model.weight_logits]}, 0.05, total_steps=10, warmup_steps=0)
    (got,) = hyper.hypergradient(model.encoder, model.head, features, torch.arange(n), loss_model, valid_features,
                                 valid_labels, task_lr=0.5)

    theta, bias = model.head.weight.detach(), model.head.bias.detach()

    def train_loss(weight, lam):
        logits = F.linear(features, weight.view(classes, dim), bias)
        return functional_call(loss_model, {"weight_logits": lam}, (logits, torch.arange(n)))

    lam = loss_model.weight_logits.detach()
    flat = theta.reshape(-1)
    hessian = torch.autograd.functional.hessian(lambda w: train_loss(w, lam), flat)
    mixed = torch.autograd.functional.jacobian(
        lambda lam_: torch.autograd.grad(train_loss(flat.requires_grad_(), lam_), flat, create_graph=True)[0], lam)
    valid_grad = torch.autograd.functional.jacobian(
        lambda w: F.cross_entropy(F.linear(valid_features, w.view(classes, dim), bias), valid_labels), flat)
    step = torch.eye(len(flat), dtype=torch.float64) - alpha * hessian
    series = alpha * sum(torch.linalg.matrix_power(step, j) for j in range(terms + 1)) @ valid_grad
    expected = -mixed.T @ series
    torch.testing.assert_close(got, expected, rtol=1e-9, atol=1e-12)


def test_a_table_with_a_factor_of_its_own_steps_at_both_factors():
    """MW-Net's network has a factor of its own (los_model.weight_net_lr_factor) beside hyper_opt.lr_factor's."""
    tables = {"augment": [torch.nn.Parameter(torch.zeros(2))], "weights": [torch.nn.Parameter(torch.zeros(3))]}
    cfg = OmegaConf.merge(hyper_cfg(), {"lr_factor": {"augment": 2.0, "weights": 0.5, "soft_labels": 1.0}})
    hyper = HyperOptimizer(cfg, tables, 0.05, total_steps=10, warmup_steps=0, table_factors={"weights": 0.02})
    assert [group["initial_lr"] for group in hyper.optimizer.param_groups] == pytest.approx([0.1, 0.0005])
