"""The frozen feature network of the subsample task: the run's classifier trained on its biased train split with
no augmentation at all, then frozen; and the features it gives images.

It is trained once per data set, model, cell and seed and cached under ``<data_root>/<dataset>/run<seed>/``, like
the split: every subsample run of that data (each policy, budget, class pair and augmentation) shares it. Jobs that
need it at once wait for the one that trains it.
"""

import logging
import time

import torch

from autodo.model_cache import cache_identity, cache_path, load_or_train

log = logging.getLogger("autodo")
# what the network's weights depend on
NETWORK_KEYS = ("dataset", "model", "optim", "ir", "nr", "nr_type", "sr", "seed", "amp")


def frozen_encoder(cfg, config, data, device, data_root):
    """The frozen encoder of the run (``cfg`` its config, ``config`` the same as a plain dict; cached under
    ``data_root``, the run's), trained on
    ``data`` (autodo.data.pipeline.RunData without augmentation) when not cached; returns it with its training
    time (the time it took when it was trained, whoever trained it) and whether it was cached."""
    from autodo.models import build_classifier

    torch.manual_seed(cfg.seed)  # the initial weights: the same for every run of the seed, whatever ran before
    model = build_classifier(cfg.model, cfg.dataset.in_channels, cfg.dataset.num_classes).to(device)

    def train():
        train_time = _train(cfg, model, data, device)
        return {"train_time_s": train_time, "model": model.state_dict()}

    saved, cached = load_or_train(cache_path(config, NETWORK_KEYS, "features", data_root),
                                  cache_identity(config, NETWORK_KEYS), train)
    model.load_state_dict(saved["model"])
    model.eval().requires_grad_(False)
    return model.encoder, saved["train_time_s"], cached


def _train(cfg, model, data, device):
    """Train ``model`` as the Baseline is trained, with no augmentation; return the time it took."""
    from autodo.engine import evaluate
    from autodo.recipes import amp_on, train_plain

    started = time.perf_counter()
    train_plain(cfg, model, data.train_loader, data.eval_transform, device, "feature network")
    amp = amp_on(cfg, device)
    valid = evaluate(model, data.valid_loader, data.eval_transform, device, cfg.dataset.num_classes, amp)
    log.info("feature network trained (%d epochs, no augmentation): valid acc %.2f", cfg.dataset.epochs, valid["acc"])
    return time.perf_counter() - started


@torch.no_grad()
def features(encoder, images, transform, device, batch_size):
    """The encoder's features (float64, on the CPU) of the uint8 ``images``."""
    chunks = [encoder(transform(images[start:start + batch_size].to(device))).double().cpu()
              for start in range(0, len(images), batch_size)]
    return torch.cat(chunks) if chunks else torch.zeros(0, encoder.out_features, dtype=torch.float64)
