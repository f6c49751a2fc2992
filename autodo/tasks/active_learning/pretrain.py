"""The seed's self-supervised initial model: the run's encoder pretrained on the unlabeled pool to tell which of four
rotations (0, 90, 180, 270 degrees) an image was turned by (Gidaris et al. 2018), with the data set's epochs,
learning rate and schedule. It is trained once per data set, model, cell and seed and cached beside the split
(autodo.model_cache): every active-learning run of that pool starts its models from it."""

import logging
import time

import torch
import torch.nn.functional as F

from autodo.augment.copies import stream_generator
from autodo.model_cache import cache_identity, cache_path, load_or_train
from autodo.progress import Progress

log = logging.getLogger("autodo")
# what its weights depend on (no autocast)
ENCODER_KEYS = ("dataset", "model", "optim", "ir", "nr", "nr_type", "sr", "seed")
ROTATIONS = 4
PRETRAINING = 104  # its random stream (autodo.augment.copies)


def pretrained_encoder(cfg, config, data, device, data_root):
    """The encoder weights (a state dict) pretrained by rotation prediction on the pool of ``data``
    (autodo.data.pipeline.RunData), from the cache under ``data_root`` or trained now."""
    from autodo.models import build_classifier

    def train():
        generator = stream_generator(cfg.seed, PRETRAINING)
        torch.manual_seed(int(torch.randint(2**62, (1,), generator=generator)))
        model = build_classifier(cfg.model, cfg.dataset.in_channels, ROTATIONS).to(device)
        started = time.perf_counter()
        _train(cfg, model, data, device, generator)
        return {"train_time_s": time.perf_counter() - started, "encoder": model.encoder.state_dict()}

    saved, cached = load_or_train(cache_path(config, ENCODER_KEYS, "rotation", data_root),
                                  cache_identity(config, ENCODER_KEYS), train)
    log.info("rotation-pretrained encoder %s", "cached" if cached else f"trained in {saved['train_time_s']:.0f} s")
    return saved["encoder"]


def rotated(images, generator):
    """Each image turned by a random multiple of 90 degrees, and that multiple (the label)."""
    turns = torch.randint(ROTATIONS, (len(images),), generator=generator)
    return torch.stack([torch.rot90(image, int(k), dims=(-2, -1)) for image, k in zip(images, turns)]), turns


def _train(cfg, model, data, device, generator):
    from autodo.recipes import build_optimizer

    loader = data.train_loader  # the pool's images; its labels are not read
    optimizer, scheduler = build_optimizer(cfg, model, steps_per_epoch=len(loader))
    model.train()
    progress = Progress("rotation pretraining: epoch", cfg.dataset.epochs, every_s=0)
    for _ in range(cfg.dataset.epochs):
        correct = seen = 0
        for images, _, _ in loader:
            images, turns = rotated(images, generator)
            logits = model(data.eval_transform(images.to(device)))
            loss = F.cross_entropy(logits, turns.to(device))
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            scheduler.step()
            correct += (logits.argmax(1).cpu() == turns).sum().item()
            seen += len(turns)
        progress.step(f"accuracy {100.0 * correct / seen:.2f}")
