"""The learning-rate schedule: linear warm-up from lr/10, then cosine decay to lr * min_factor, per step."""

import math


class WarmupCosine:
    """Multiplier of the base learning rate at optimiser step ``step`` (for ``LambdaLR``).

    The cosine runs over all ``total_steps``; during the first ``warmup_steps`` the multiplier rises linearly
    from 0.1 to the cosine's value at the end of the warm-up, as in the reference.
    """

    def __init__(self, total_steps, warmup_steps, min_factor):
        self.total_steps = total_steps
        self.warmup_steps = warmup_steps
        self.min_factor = min_factor

    def cosine(self, step):
        progress = min(step / max(self.total_steps, 1), 1.0)
        return self.min_factor + (1 - self.min_factor) * 0.5 * (1 + math.cos(math.pi * progress))

    def __call__(self, step):
        if step < self.warmup_steps:
            return 0.1 + (self.cosine(self.warmup_steps) - 0.1) * step / self.warmup_steps
        return self.cosine(step)


def epochs_of(share, epochs):
    """The whole number of epochs nearest to ``share`` of ``epochs`` (halves round up)."""
    return math.floor(share * epochs + 0.5)


def hyper_schedule(dataset_cfg):
    """(first epoch with a hyper pass, warm-up epochs of the hyper learning rate), both given in the config as a
    share of the epochs, as the reference's 50 and 5 of 200: ``dataset.epochs=N`` alone keeps the proportions.
    There is always at least one hyper pass."""
    epochs = dataset_cfg.epochs
    return min(epochs_of(dataset_cfg.hyper_start, epochs), epochs - 1), epochs_of(dataset_cfg.hyper_warmup, epochs)


def co_divide_schedule(share, epochs):
    """DivideMix's warm-up epochs, given as a share of the epochs: at least one, and a divided epoch after them
    where the run has two epochs or more."""
    return max(1, min(epochs_of(share, epochs), epochs - 1))
