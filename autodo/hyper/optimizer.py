"""The hyper pass: one pass over the train subset per epoch in which lambda (augmentation and loss model)
is updated by RMSprop on hypergradients, the network held fixed (eval mode, as in the reference).

Each hyper step takes one train batch and one clean validation batch. The encoder runs without parameter
gradients; only a learned augmentation needs the backward pass through it (to the input images). Because the
network is fixed for the whole pass, it runs with every batch norm that follows a convolution folded into
that convolution (torch.fx), which gives the same features and hypergradients (to rounding) for less work.
"""

import functools
import itertools

import torch
import torch.nn.functional as F
from torch.fx.experimental.optimization import fuse

from autodo.engine import features_of
from autodo.progress import Progress
from autodo.hyper.gradients import implicit_hypergradient, lookahead_hypergradient, unrolled_hypergradient
from autodo.schedule import WarmupCosine


class HyperOptimizer:
    """RMSprop on the lambda tables (``tables``: name -> parameters, the names of ``hyper_opt.lr_factor``), each
    at ``lr`` times its factor (and times its factor in ``table_factors``: MW-Net's network has one of its own), under
    the warm-up + cosine schedule of the hyper steps."""

    def __init__(self, hyper_cfg, tables, lr, total_steps, warmup_steps, table_factors=None):
        self.cfg = hyper_cfg
        factors, own = hyper_cfg.get("lr_factor", {}), table_factors or {}
        groups = [{"params": parameters, "lr": lr * factors.get(name, 1) * own.get(name, 1)}
                  for name, parameters in tables.items() if parameters]
        self.hyperparameters = [p for group in groups for p in group["params"]]
        self.optimizer = torch.optim.RMSprop(groups)
        self.schedule = WarmupCosine(total_steps, warmup_steps, hyper_cfg.min_lr_factor)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, self.schedule)
        self.lr = lr

    def learning_rate(self):
        """``dataset.hyper_lr`` under the schedule at this step (each table's is this times its factors)."""
        return self.lr * self.schedule(self.scheduler.last_epoch)

    def state_dict(self):
        return {"optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict()}

    def load_state_dict(self, state):
        optimizer, scheduler = state["optimizer"], state["scheduler"]
        groups = len(self.optimizer.param_groups)
        if len(optimizer["param_groups"]) == 1 < groups:  # written when all tables were one group, at factor 1
            optimizer, scheduler = _split_group(optimizer, scheduler, self.optimizer.param_groups)
        self.optimizer.load_state_dict(optimizer)
        self.scheduler.load_state_dict(scheduler)

    def hypergradient(self, encoder, head, train_images, index, loss_model, valid_features, valid_labels, task_lr):
        """dL_V/dlambda for one train batch (already augmented, with its graph to lambda_A)."""
        if train_images.requires_grad:
            train_features = encoder(train_images)
        else:
            with torch.no_grad():
                train_features = encoder(train_images)
        theta, bias = head.weight, head.bias
        train_loss = loss_model(F.linear(train_features, theta, bias), index)

        def valid_loss_at(weight):
            return F.cross_entropy(F.linear(valid_features, weight, bias), valid_labels)

        if self.cfg.name == "HES":
            (valid_grad,) = torch.autograd.grad(valid_loss_at(theta), theta)
            return implicit_hypergradient(train_loss, valid_grad, theta, self.hyperparameters,
                                          self.cfg.neumann_terms, self.cfg.neumann_alpha)
        return unrolled_hypergradient(train_loss, valid_loss_at, theta, self.hyperparameters, task_lr)

    def lookahead(self, model, train_images, index, loss_model, valid_images, valid_labels, task_lr):
        """dL_V/dlambda for one train batch by MW-Net's one-step look-ahead through the whole ``model``
        (``hyper_opt=LOOKAHEAD``); ``valid_images`` are transformed."""
        def train_loss_at(weights):
            return loss_model(torch.func.functional_call(model, weights, (train_images,)), index)

        def valid_loss_at(weights):
            return F.cross_entropy(torch.func.functional_call(model, weights, (valid_images,)), valid_labels)

        return lookahead_hypergradient(model, train_loss_at, valid_loss_at, self.hyperparameters, task_lr)

    def step(self, grads):
        """Apply ``grads``; returns their norm, or None (and no step) when any is not finite."""
        grads = [torch.zeros_like(p) if g is None else g for p, g in zip(self.hyperparameters, grads)]
        norm = torch.linalg.vector_norm(torch.stack([torch.linalg.vector_norm(g) for g in grads]))
        if not torch.isfinite(norm):
            return None
        for parameter, grad in zip(self.hyperparameters, grads):
            parameter.grad = grad
        self.optimizer.step()
        self.optimizer.zero_grad(set_to_none=True)
        self.scheduler.step()
        return norm.item()


def _split_group(optimizer, scheduler, groups):
    """The state of one RMSprop group over every table (as checkpoints before ``hyper_opt.lr_factor`` hold it, in the
    tables' order) as the state of ``groups``, one per table; each table was at factor 1."""
    (saved,) = optimizer["param_groups"]
    settings, positions, split = {k: v for k, v in saved.items() if k != "params"}, iter(saved["params"]), []
    for group in groups:
        split.append({**settings, "params": [next(positions) for _ in group["params"]]})
    copies = {key: scheduler[key] * len(groups) for key in ("base_lrs", "_last_lr", "lr_lambdas")}
    return {"state": optimizer["state"], "param_groups": split}, {**scheduler, **copies}


def steps_per_pass(loader, pass_fraction):
    """Hyper steps in a pass that visits ``pass_fraction`` of the train subset (at least one)."""
    return max(1, round(pass_fraction * len(loader)))


def hyper_epoch(hyper, model, data, aug_model, loss_model, device, task_lr):
    """One hyper pass over the first ``hyper_opt.pass_fraction`` of the shuffled ``data.hyper_train_loader``
    (a random share of the train subset, new each epoch), each step with a shuffled batch of the clean
    validation set; returns the mean hypergradient norm, the number of steps and of skipped steps.

    The network does not change during the pass and validation images get no random transform, so the
    validation features (LOOKAHEAD, whose step moves the encoder too: the transformed images) are computed once per
    pass and batches are drawn from them, shuffled without replacement as a shuffled loader with drop_last would
    draw images."""
    model.eval()
    loss_model.eval()  # a hyper step is no training step: MW-Net's weights of the epoch's steps are not recorded
    lookahead = hyper.cfg.name == "LOOKAHEAD"
    encoder = torch.nn.Identity() if lookahead else fuse(model.encoder).to(memory_format=torch.channels_last)
    valid_features, valid_labels = features_of(encoder, data.hyper_valid_loader, data.eval_transform, device)
    hypergradient = (functools.partial(hyper.lookahead, model) if lookahead
                     else functools.partial(hyper.hypergradient, encoder, model.head))
    batch_size = min(data.hyper_train_loader.batch_size, len(valid_labels))
    valid_batches = _shuffled_batches(len(valid_labels), batch_size, data.generators["hyper_valid"])
    norms, skipped = [], 0
    steps = steps_per_pass(data.hyper_train_loader, hyper.cfg.pass_fraction)
    progress = Progress("hyper pass: steps", steps, last=False)  # a long pass says how it goes; the epoch, its end
    for images, _, index in itertools.islice(data.hyper_train_loader, steps):
        rows = next(valid_batches).to(device)
        index = index.to(device)
        images = data.train_transform(images.to(device))
        if aug_model is not None:
            images = aug_model(images, index)
        grads = hypergradient(images, index, loss_model, valid_features[rows], valid_labels[rows], task_lr)
        norm = hyper.step(grads)
        if norm is None:
            skipped += 1
        else:
            norms.append(norm)
        progress.step()
    model.train()
    loss_model.train()
    return {"hypergrad_norm": sum(norms) / len(norms) if norms else float("nan"), "hyper_steps": steps,
            "hyper_skipped": skipped}


def _shuffled_batches(size, batch_size, generator):
    """Endless index batches of a fresh permutation each round, the last incomplete batch dropped."""
    while True:
        order = torch.randperm(size, generator=generator)
        for start in range(0, size - batch_size + 1, batch_size):
            yield order[start:start + batch_size]
