"""DADA's differentiable policy search (Li et al., "DADA: Differentiable Automatic Data Augmentation", ECCV 2020).

The search space is Fast AutoAugment's: a sub-policy is two different ops of the 15 in
``autodo.augment.policies``, each with a probability and a level in [0, 1]; there are 105 sub-policies. The policy
is a categorical over sub-policies (logits ``alpha``), each op's firing a Bernoulli (logits ``beta``, a row per
sub-policy) and each op's level ``level``. One search step, per train batch:

1. draw the batch's sub-policy and whether each of its two ops fires, from Gumbel and logistic noise (the relaxed
   draws that RELAX needs);
2. augment the batch with it; the levels get the straight-through gradient (an applied op adds ``m - m.detach()``
   to its output, as DADA and Faster AutoAugment do);
3. one unrolled SGD step of the search network on the augmented batch, and the change ``f`` it makes to the loss
   on a clean validation batch (DARTS' second-order bilevel step);
4. the policy's gradients: the levels' by backpropagation through ``f``; the discrete choices' by RELAX (Grathwohl
   et al., 2018) with a learned surrogate, itself trained to lower the estimator's variance;
5. the network's own SGD step, with the gradient of step 3.

The table keeps the most probable sub-policies with their learned probabilities and levels, in the format of the
published Fast AutoAugment tables, and is applied per image like AUTO's.
"""

import itertools
import math

import torch
import torch.nn.functional as F
from torch import nn

from autodo.augment.policies import FAST_AUTOAUGMENT_OPS
from autodo.progress import Progress


SUB_POLICIES = list(itertools.combinations(FAST_AUTOAUGMENT_OPS, 2))
POLICY_LR = 0.005  # Adam, for the policy's logits and levels (DADA's)
SURROGATE_LR = 0.001  # Adam, for RELAX's surrogate
START_LEVEL = 0.5  # every op starts at probability 1/2 and level 1/2, and the categorical uniform (DADA's)


# ============ relaxed draws (RELAX's z and its conditional z~) ============

def gumbel_draw(logits, u):
    """Gumbel-perturbed log-probabilities: their argmax is a draw of the categorical ``softmax(logits)``."""
    return F.log_softmax(logits, -1) - torch.log(-torch.log(u))


def gumbel_conditional(logits, k, v):
    """A draw of the Gumbel-perturbed log-probabilities given that their argmax is ``k`` (one per row), a
    differentiable function of ``logits`` for the uniform noise ``v``."""
    log_p = F.log_softmax(logits, -1)
    top = -torch.log(-torch.log(v.gather(-1, k[..., None])))  # the winner's own perturbed value
    others = -torch.log(-torch.log(v) / log_p.exp() - torch.log(v.gather(-1, k[..., None])))
    return torch.where(F.one_hot(k, logits.shape[-1]).bool(), top, others)


def logistic_draw(logits, u):
    """Logistic-perturbed logits: their sign is a draw of the Bernoulli ``sigmoid(logits)``."""
    return logits + torch.log(u) - torch.log1p(-u)


def logistic_conditional(logits, bits, v):
    """A draw of the logistic-perturbed logits given their sign ``bits``, differentiable in ``logits``."""
    p = torch.sigmoid(logits)
    u = torch.where(bits.bool(), 1 - p + v * p, v * (1 - p)).clamp(1e-6, 1 - 1e-6)
    return logits + torch.log(u) - torch.log1p(-u)


class Surrogate(nn.Module):
    """RELAX's control variate ``c(z)``: a small network of the relaxed draw (softmax and sigmoid at a learned
    temperature)."""

    def __init__(self, size, hidden=32):
        super().__init__()
        self.log_temperature = nn.Parameter(torch.tensor(math.log(0.5)))
        self.net = nn.Sequential(nn.Linear(size, hidden), nn.Tanh(), nn.Linear(hidden, 1))

    def forward(self, z_categorical, z_bernoulli):
        temperature = self.log_temperature.exp()
        relaxed = torch.cat([torch.softmax(z_categorical / temperature, -1),
                             torch.sigmoid(z_bernoulli / temperature).flatten(-2)], -1)
        return self.net(relaxed).squeeze(-1)


def relax(f, log_prob, c_z, c_z_tilde, params):
    """RELAX's estimate of ``d E[f(b)] / d params`` from draws (a vector each, averaged):
    ``(f - c(z~)) d log p(b) + d c(z) - d c(z~)``. ``f`` is the black box's value at each draw (no gradient);
    the estimate keeps its graph to the surrogate, whose parameters are trained to lower its variance."""
    score = torch.autograd.grad(log_prob, params, grad_outputs=f - c_z_tilde, create_graph=True)
    pathwise = torch.autograd.grad((c_z - c_z_tilde).sum(), params, create_graph=True)
    return [(s + p) / len(f) for s, p in zip(score, pathwise)]


def straight_through(output, level):
    """``output`` in value; its gradient passed to ``level`` as if each pixel moved one for one with it (and on to
    the levels of the ops before, whose terms ``output`` carries)."""
    return output + (level - level.detach())


# ============ the policy ============

class DifferentiablePolicy(nn.Module):
    """The searched parameters: sub-policy logits, each op's firing logit and level."""

    def __init__(self, sub_policies=SUB_POLICIES):
        super().__init__()
        self.sub_policies = sub_policies
        self.alpha = nn.Parameter(torch.zeros(len(sub_policies)))
        self.beta = nn.Parameter(torch.zeros(len(sub_policies), 2))
        self.level = nn.Parameter(torch.full((len(sub_policies), 2), START_LEVEL))

    def draw(self, generator):
        """One draw for a batch: the sub-policy ``k``, the ops' firing bits, RELAX's ``log p(b)`` and the
        relaxed draws ``z`` and ``z~`` (categorical, Bernoulli)."""
        uniform = lambda shape: torch.rand(shape, generator=generator).to(self.alpha.device).clamp(1e-6, 1 - 1e-6)
        z_categorical = gumbel_draw(self.alpha, uniform(self.alpha.shape))
        k = z_categorical.argmax()
        z_bernoulli = logistic_draw(self.beta, uniform(self.beta.shape))
        bits = (z_bernoulli[k] > 0).float()
        # z~: the categorical given k, row k's Bernoullis given their bits, the other rows as drawn (independent
        # of b: they are not part of the draw)
        z_categorical_tilde = gumbel_conditional(self.alpha, k, uniform(self.alpha.shape))
        row_tilde = logistic_conditional(self.beta[k], bits, uniform((2,)))
        z_bernoulli_tilde = torch.cat([z_bernoulli[:k], row_tilde[None], z_bernoulli[k + 1:]])
        log_prob = (F.log_softmax(self.alpha, -1)[k]
                    - F.binary_cross_entropy_with_logits(self.beta[k], bits, reduction="sum"))
        return k, bits, log_prob, (z_categorical, z_bernoulli), (z_categorical_tilde, z_bernoulli_tilde)

    def op_probabilities(self):
        """Each op's chance of being applied to an image: sum over sub-policies of pick chance times firing."""
        pick, fire = torch.softmax(self.alpha.detach(), -1), torch.sigmoid(self.beta.detach())
        chance = dict.fromkeys(sorted({op for sub_policy in self.sub_policies for op in sub_policy}), 0.0)
        for (first, second), p, (f1, f2) in zip(self.sub_policies, pick.tolist(), fire.tolist()):
            chance[first] += p * f1
            chance[second] += p * f2
        return chance

    def table(self, keep):
        """The ``keep`` most probable sub-policies as ``[[op, probability, level], [op, probability, level]]``,
        with their weights (the categorical's probabilities)."""
        pick = torch.softmax(self.alpha.detach(), -1)
        fire, level = torch.sigmoid(self.beta.detach()), self.level.detach().clamp(0, 1)
        order = torch.argsort(pick, descending=True, stable=True)[:keep].tolist()
        table = [[[op, round(fire[k, j].item(), 4), round(level[k, j].item(), 4)]
                  for j, op in enumerate(self.sub_policies[k])] for k in order]
        return table, [round(pick[k].item(), 6) for k in order]


def apply_sub_policy(images, sub_policy, bits, levels, generator):
    """The uint8 ``images`` (a batch) through the ops of ``sub_policy`` that fire (``bits``), each at its level,
    one value for the whole batch (mirrored ops flip its sign with probability 1/2, as when applying a table)."""
    applied = []
    for name, fires, level in zip(sub_policy, bits.tolist(), levels.detach().clamp(0, 1).tolist()):
        if not fires:
            continue
        op, low, high, mirrored = FAST_AUTOAUGMENT_OPS[name]
        value = low + level * (high - low)
        if mirrored and torch.rand((), generator=generator).item() < 0.5:
            value = -value
        images = op(images, value)
        applied.append(name)
    return images, applied


# ============ the search ============

def _unrolled_change(model, images, labels, valid_images, valid_labels, lr):
    """DARTS' second-order step: the train loss's gradient (kept differentiable), and how much one plain SGD step
    of ``lr`` along it (no momentum or weight decay, as DARTS approximates) changes the loss on the validation
    batch. The change, not the stepped loss itself, is RELAX's
    ``f``: the loss before the step does not depend on the draw, so subtracting it changes no expectation, and it
    takes out the drift of the validation loss over the search and the noise of the validation batch."""
    from torch.func import functional_call

    params = dict(model.named_parameters())
    train_loss = F.cross_entropy(functional_call(model, params, images), labels)
    grads = torch.autograd.grad(train_loss, list(params.values()), create_graph=True)
    stepped = {name: p - lr * g for (name, p), g in zip(params.items(), grads)}
    with torch.no_grad():
        before = F.cross_entropy(functional_call(model, params, valid_images), valid_labels)
    return F.cross_entropy(functional_call(model, stepped, valid_images), valid_labels) - before, grads


def search(model, train, valid, transform, epochs, batch_size, lr, weight_decay, seed, device, policy_lr=POLICY_LR,
           sub_policies=SUB_POLICIES):
    """Search a policy over ``sub_policies`` with ``model`` (the search network, trained along) on ``train`` and
    ``valid`` (each ``(uint8 images, labels)``); ``transform`` maps a uint8 batch to the network's normalised
    input. The network learns by SGD with Nesterov momentum and a cosine learning rate from ``lr``. Returns the
    policy."""
    generator = torch.Generator().manual_seed(seed)
    policy = DifferentiablePolicy(sub_policies).to(device)
    surrogate = Surrogate(3 * len(sub_policies)).to(device)
    policy_optimizer = torch.optim.Adam(policy.parameters(), lr=policy_lr, betas=(0.5, 0.999))
    surrogate_optimizer = torch.optim.Adam(surrogate.parameters(), lr=SURROGATE_LR)
    steps_per_epoch = math.ceil(len(train[1]) / batch_size)
    optimizer = torch.optim.SGD(model.parameters(), lr=lr, momentum=0.9, nesterov=True, weight_decay=weight_decay)
    scheduler = torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, epochs * steps_per_epoch)
    valid_order = torch.zeros(0, dtype=torch.long)
    model.train()
    progress = Progress("DADA search: epoch", epochs, every_s=0)
    for epoch in range(epochs):
        order, losses = torch.randperm(len(train[1]), generator=generator), []
        for start in range(0, len(order) - 1, batch_size):  # a last batch of one image left out (batch norm)
            if len(valid_order) < batch_size:  # validation batches: a fresh shuffle each time the set runs out
                valid_order = torch.cat([valid_order, torch.randperm(len(valid[1]), generator=generator)])
            batch, valid_batch, valid_order = order[start:start + batch_size], valid_order[:batch_size], \
                valid_order[batch_size:]
            losses.append(_search_step(model, policy, surrogate, optimizer, policy_optimizer, surrogate_optimizer,
                                       (train[0][batch].to(device), train[1][batch].to(device)),
                                       (transform(valid[0][valid_batch].to(device)),
                                        valid[1][valid_batch].to(device)), transform, generator))
            scheduler.step()
        chance = policy.op_probabilities()
        top = sorted(chance, key=chance.get, reverse=True)[:3]
        progress.step(f"validation loss change of the unrolled step {sum(losses) / len(losses):.5f}; ops most "
                      "applied " + ", ".join(f"{op} {chance[op]:.3f}" for op in top))
    return policy


def _search_step(model, policy, surrogate, optimizer, policy_optimizer, surrogate_optimizer, train, valid,
                 transform, generator):
    """One search step (the module's docstring); returns ``f``."""
    images, labels = train
    k, bits, log_prob, z, z_tilde = policy.draw(generator)
    sub_policy = policy.sub_policies[k]
    augmented, applied = apply_sub_policy(images, sub_policy, bits, policy.level[k], generator)
    augmented = transform(augmented)
    for j, name in enumerate(sub_policy):
        if name in applied:
            augmented = straight_through(augmented, policy.level[k, j])
    lr = optimizer.param_groups[0]["lr"]
    change, grads = _unrolled_change(model, augmented, labels, *valid, lr)

    level_grad, *_ = torch.autograd.grad(change, [policy.level], allow_unused=True)
    f = change.detach()[None]
    logits = [policy.alpha, policy.beta]
    estimate = relax(f, log_prob[None], surrogate(*z)[None], surrogate(*z_tilde)[None], logits)
    variance = sum(g.pow(2).sum() for g in estimate)
    surrogate_optimizer.zero_grad()
    surrogate_grads = torch.autograd.grad(variance, list(surrogate.parameters()))
    for param, grad in zip(surrogate.parameters(), surrogate_grads):
        param.grad = grad
    surrogate_optimizer.step()

    policy_optimizer.zero_grad()
    policy.alpha.grad, policy.beta.grad = (g.detach() for g in estimate)
    policy.level.grad = level_grad if level_grad is not None else torch.zeros_like(policy.level)
    policy_optimizer.step()
    with torch.no_grad():
        policy.level.clamp_(0, 1)

    optimizer.zero_grad()
    for param, grad in zip(model.parameters(), grads):
        param.grad = grad.detach()
    optimizer.step()
    return f.item()
