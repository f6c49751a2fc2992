"""DivideMix (Li, Socher and Hoi, ICLR 2020): learning with noisy labels as semi-supervised learning, with two networks
that each divide the train set for the other. No clean image is learned from.

After a warm-up on the given labels (cross-entropy, both networks), each epoch:

1. Co-divide. Each network's cross-entropy of every train sample's given label (no augmentation), min-max
   normalised, is fitted by a two-component Gaussian mixture (scikit-learn); a sample's clean probability ``w`` is
   the posterior of the component with the smaller mean (``clean_probability``). The samples with ``w`` above the
   threshold are the labelled set of the *other* network, the rest its unlabelled set (their labels are dropped), so
   that a network is not taught its own mistakes.
2. Each network trains on its division (``train_on_division``), MixMatch with two refinements:
   - label co-refinement: a labelled sample's target is ``w y + (1 - w) p``, its given label ``y`` and the network's
     mean prediction ``p`` over two augmented views, sharpened by the temperature ``T`` (``co_refine``);
   - co-guessing: an unlabelled sample's target is both networks' mean prediction over two views, sharpened
     (``co_guess``);
   - MixMatch: the batch (both views of both parts) is mixed with a shuffled copy of itself,
     ``lam x_i + (1 - lam) x_j`` with ``lam ~ Beta(alpha, alpha)`` taken ``>= 1/2``, targets alike (``mix``);
   - the loss (``mixmatch_loss``): the mixed labelled part's cross-entropy, ``lambda_u`` (ramped up linearly from the
     first divided epoch) times the mixed unlabelled part's squared error, and a penalty that keeps the batch's mean
     prediction near the uniform prior.
3. The model is the two networks' ensemble, the mean of their softmax outputs (``Ensemble``).

The loops here take built objects and never build (autodo.trainer builds them).
"""

import copy
import logging
import math
import warnings
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from autodo.precision import autocast
from autodo.progress import Progress

log = logging.getLogger("autodo")

# the paper's mixture: ten EM iterations, tolerance 1e-2, a floor of 5e-4 under each variance
MIXTURE = {"n_components": 2, "max_iter": 10, "tol": 1e-2, "reg_covar": 5e-4}


@dataclass(frozen=True)
class DivideMixSettings:
    warmup_epochs: int  # epochs of cross-entropy on the given labels before the first division
    threshold: float  # a sample is labelled where its clean probability is above this
    temperature: float  # the sharpening temperature T
    alpha: float  # the mixing share's Beta(alpha, alpha)
    lambda_u: float  # the unlabelled part's weight, once ramped up
    rampup_epochs: float  # epochs over which that weight rises linearly from 0, from the first division on


@dataclass
class Network:
    """One of the two networks, with what trains it."""
    model: nn.Module
    optimizer: torch.optim.Optimizer
    scheduler: torch.optim.lr_scheduler.LRScheduler
    scaler: torch.amp.GradScaler


@dataclass
class CoDivision:
    """What DivideMix adds to a run: its settings, the second network, and a loader of the train set in order and
    without random transforms, which the division measures the losses on."""
    settings: DivideMixSettings
    peer: Network
    loader: torch.utils.data.DataLoader


class Ensemble(nn.Module):
    """The two networks' prediction: the log of the mean of their softmax outputs, as logits (its argmax is the
    mean's, and its cross-entropy the mean's negative log-likelihood), computed from the log-softmaxes so that it
    stays finite where both probabilities underflow. Its ``encoder`` (the features aggregate.py --inspect draws) is
    the first network's."""

    def __init__(self, *models):
        super().__init__()
        self.models = nn.ModuleList(models)

    @property
    def encoder(self):
        return self.models[0].encoder

    def forward(self, images):
        log_probabilities = torch.stack([F.log_softmax(model(images).float(), 1) for model in self.models])
        return torch.logsumexp(log_probabilities, 0) - math.log(len(self.models))


@torch.no_grad()
def per_sample_losses(model, loader, transform, device, amp):
    """Each sample's cross-entropy of its given label and the network's prediction, by the sample's index, over a
    ``loader`` of the train set without random transforms; in eval mode."""
    model.eval()
    size = len(loader.dataset)
    losses, predictions = torch.empty(size, device=device), torch.empty(size, dtype=torch.long, device=device)
    for images, labels, index in loader:
        images, labels, index = transform(images.to(device)), labels.to(device), index.to(device)
        with autocast(device, amp):
            logits = model(images).float()
        losses[index] = F.cross_entropy(logits, labels, reduction="none")
        predictions[index] = logits.argmax(1)
    return losses.cpu(), predictions.cpu()


def clean_probability(losses, seed):
    """Each sample's probability of a clean label: the posterior of the lower-mean component of the paper's Gaussian
    mixture (``MIXTURE``, initialised from ``seed``) fitted to the losses min-max normalised to [0, 1]."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.mixture import GaussianMixture

    x = losses.double()
    x = ((x - x.min()) / (x.max() - x.min()).clamp(min=torch.finfo(x.dtype).tiny)).numpy()[:, None]
    with warnings.catch_warnings():  # ten iterations are the paper's choice, converged or not
        warnings.simplefilter("ignore", ConvergenceWarning)
        mixture = GaussianMixture(**MIXTURE, random_state=seed).fit(x)
    return torch.from_numpy(mixture.predict_proba(x)[:, mixture.means_.argmin()]).float()


def sharpen(probabilities, temperature):
    """Each row's ``p^(1/T)``, normalised: ``T < 1`` moves the mass toward the most likely classes."""
    powered = probabilities ** (1 / temperature)
    return powered / powered.sum(1, keepdim=True)


def co_guess(view_logits, temperature):
    """The unlabelled samples' targets: the mean softmax of ``view_logits`` (each network on each view), sharpened."""
    return sharpen(torch.stack([F.softmax(logits, 1) for logits in view_logits]).mean(0), temperature)


def co_refine(given, clean, view_logits, temperature):
    """The labelled samples' targets: their one-hot ``given`` labels and the network's mean softmax over its
    ``view_logits``, mixed by each sample's ``clean`` probability, sharpened."""
    prediction = torch.stack([F.softmax(logits, 1) for logits in view_logits]).mean(0)
    clean = clean[:, None]
    return sharpen(clean * given + (1 - clean) * prediction, temperature)


def mix_share(alpha):
    """MixMatch's ``lam``: a draw of Beta(alpha, alpha) from the global random stream, taken ``>= 1/2`` so that each
    mixed sample stays nearer its own input."""
    share = torch.distributions.Beta(alpha, alpha).sample().item()
    return max(share, 1 - share)


def mix(inputs, targets, share, order):
    """Each input and target mixed with the one ``order`` puts in its place: ``share x + (1 - share) x[order]``."""
    return share * inputs + (1 - share) * inputs[order], share * targets + (1 - share) * targets[order]


def mixmatch_loss(logits, targets, labelled, unlabelled_weight):
    """The loss of the mixed batch, whose first ``labelled`` rows are the labelled part's: cross-entropy against its
    targets, ``unlabelled_weight`` times the mean squared error of the rest's softmax, and the uniform prior's
    ``sum_c pi_c log(pi_c / mean_c)`` over the whole batch's mean softmax."""
    probabilities = F.softmax(logits, 1)
    loss = -(F.log_softmax(logits[:labelled], 1) * targets[:labelled]).sum(1).mean()
    if len(logits) > labelled:
        loss = loss + unlabelled_weight * ((probabilities[labelled:] - targets[labelled:]) ** 2).mean()
    prior = torch.full_like(probabilities[0], 1 / probabilities.shape[1])
    return loss + (prior * torch.log(prior / probabilities.mean(0))).sum()


def unlabelled_weight(settings, progress_epochs):
    """``lambda_u`` ramped up linearly over ``rampup_epochs`` from the first division, at ``progress_epochs`` (epochs
    and the share of the current one done)."""
    if settings.rampup_epochs <= 0:
        return settings.lambda_u
    ramp = (progress_epochs - settings.warmup_epochs) / settings.rampup_epochs
    return settings.lambda_u * min(max(ramp, 0.0), 1.0)


def cycled_batches(positions, batch_size, steps, generator):
    """``steps`` batches of ``batch_size`` of ``positions``: shuffled passes over them one after the other, so that a
    small part is seen more than once an epoch (an empty part gives empty batches)."""
    if len(positions) == 0:
        return positions.new_empty(steps, 0)
    passes = -(-steps * batch_size // len(positions))
    order = torch.cat([positions[torch.randperm(len(positions), generator=generator)] for _ in range(passes)])
    return order[:steps * batch_size].view(steps, batch_size)


def _two_views(dataset, positions, transform, generator, device):
    """The images of ``positions`` of ``dataset`` (a LabelledSubset), loaded and transformed twice, and their given
    labels; a random per-image transform of the loader draws each time from a seed of ``generator``."""
    views = []
    for _ in range(2):
        if dataset.transform is not None:
            dataset.transform_seed = int(torch.randint(2**32, (), generator=generator))
        images, labels, _ = dataset.__getitems__(positions)
        views.append(transform(images.to(device, non_blocking=True)))
    return views, labels.to(device, non_blocking=True)


def train_on_division(network, peer, loader, clean, transform, settings, epoch, generator, device, amp, desc=""):
    """One epoch of ``network`` (a ``Network``) on the division its ``peer`` (a model) made: the train samples (of the
    plain epoch's ``loader``, by position) whose ``clean`` probability is above the threshold are labelled, the others
    unlabelled; as many steps as the plain epoch has (the schedule runs per step), each of a batch of the loader's size
    of both parts. Returns the mean loss and each step's loss (``step_losses``), or None where no sample is
    labelled."""
    labelled = torch.nonzero(clean > settings.threshold).squeeze(1)
    if len(labelled) == 0:
        log.warning("%s: the division left no labelled sample; the network skips the epoch", desc)
        return None
    unlabelled = torch.nonzero(clean <= settings.threshold).squeeze(1)
    steps = len(loader)
    labelled_batches = cycled_batches(labelled, loader.batch_size, steps, generator)
    unlabelled_batches = cycled_batches(unlabelled, loader.batch_size, steps, generator)
    model, dataset = network.model, copy.copy(loader.dataset)  # its own copy: the loader's seeds its passes
    model.train()
    peer.eval()
    step_losses = []
    progress = Progress(f"{desc}: steps", steps, last=False)
    for step in range(steps):
        positions = labelled_batches[step]
        x_views, given = _two_views(dataset, positions, transform, generator, device)
        with torch.no_grad(), autocast(device, amp):
            x_logits = [model(view).float() for view in x_views]
            refined = co_refine(F.one_hot(given, x_logits[0].shape[1]).float(), clean[positions].to(device),
                                x_logits, settings.temperature)
            views, targets = x_views, [refined, refined]
            if unlabelled_batches.shape[1]:
                u_views, _ = _two_views(dataset, unlabelled_batches[step], transform, generator, device)
                guess = co_guess([net(view).float() for net in (model, peer) for view in u_views],
                                 settings.temperature)
                views, targets = views + u_views, targets + [guess, guess]
        inputs, targets = torch.cat(views), torch.cat(targets)
        inputs, targets = mix(inputs, targets, mix_share(settings.alpha), torch.randperm(len(inputs), device=device))
        with autocast(device, amp):
            logits = model(inputs)
        loss = mixmatch_loss(logits.float(), targets, 2 * len(positions),
                             unlabelled_weight(settings, epoch + step / steps))
        network.optimizer.zero_grad(set_to_none=True)
        network.scaler.scale(loss).backward()
        network.scaler.step(network.optimizer)
        network.scaler.update()
        network.scheduler.step()
        step_losses.append(loss.detach())
        progress.step()
    step_losses = torch.stack(step_losses).float()
    return {"loss": step_losses.mean().item(), "step_losses": step_losses.tolist()}
