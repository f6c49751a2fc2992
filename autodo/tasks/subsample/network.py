"""``subsample.head=network``: the selection inside the training of the whole network. The run's classifier is
trained from scratch on its biased train split as the Baseline is trained, with no augmentation but the selected
points', augmented afresh each time they are drawn; resumable from its checkpoint like a training run."""

import torch

from autodo.augment.copies import EPOCHS, TEST, augmented_copies, copy_draws, stream_generator


class PartlyAugmented(torch.utils.data.Dataset):
    """A train set (autodo.data.datasets.LabelledSubset) whose ``selected`` points are augmented by ``augment`` (a
    function of a uint8 image batch) each time they are drawn, and the others never."""

    def __init__(self, dataset, selected, augment):
        self.dataset, self.selected, self.augment = dataset, selected, augment
        self.labels = dataset.labels

    def __len__(self):
        return len(self.dataset)

    def __getitems__(self, positions):
        images, labels, positions = self.dataset.__getitems__(positions)
        picked = self.selected[positions]
        if picked.any():
            images = images.clone()
            images[picked] = self.augment(images[picked])
        return images, labels, positions


def train_network(cfg, folder, data_root, chosen, hparams):
    """Train the run's classifier with the ``chosen`` train points (positions in the run's train split) augmented;
    return its test accuracies (``test_acc`` as ``subsample.evaluate`` says, of the final model) with the training
    run's summary (its per-epoch numbers are on the test images as they are). ``hparams``: the run's identity,
    flat, its hparams in the run's log."""
    from autodo.data.datasets import make_loader
    from autodo.metrics import summarize_run
    from autodo.trainer import build_run, resume, run_log, train

    settings = cfg.subsample
    parts = build_run(cfg, data_root)
    data = parts.data
    data.train_transform = data.eval_transform  # not the data set's standard train augmentation: only the selected
    data.train_loader.dataset.transform = data.valid_loader.dataset.transform  # points are augmented
    selected = torch.zeros(len(data.train_loader.dataset), dtype=torch.bool)
    selected[chosen] = True
    generator = data.generators["augment"] = stream_generator(cfg.seed, EPOCHS)  # saved in the checkpoint
    data.generators.pop("train_items", None)  # the replaced loader's (a resizing data set's random crop)

    def augment(images):
        draws = torch.rand(len(images), 1, 3, generator=generator, dtype=torch.float64)
        return augmented_copies(images, draws, settings.augmentation, cfg.dataset)

    # the loader's own process augments (num_workers=0, checked): worker processes would each copy the generator
    data.train_loader = make_loader(PartlyAugmented(data.train_loader.dataset, selected, augment),
                                    cfg.dataset.batch_size, shuffle=True, generator=data.generators["train"],
                                    num_workers=0, pin_memory=parts.device.type == "cuda")
    history = resume(folder, parts)
    with run_log(cfg, folder, parts, history, hparams) as live:
        history = train(cfg, folder, parts, history, live)
    clean = {"acc": history[-1]["test_acc"], "per_class_acc": history[-1]["test_per_class_acc"]}
    augmented = _augmented_test(cfg, parts)
    judged = augmented if settings.evaluate == "augmented" else clean
    return {**summarize_run(history, cfg.dataset.num_classes), "test_acc": judged["acc"],
            "test_acc_clean": clean["acc"], "test_acc_augmented": augmented["acc"],
            "valid_acc": history[-1]["valid_acc"], "test_per_class_acc": judged["per_class_acc"]}


def _augmented_test(cfg, parts):
    """The model's accuracy on the test images augmented once each (the copies the logistic head is judged on)."""
    from autodo.engine import evaluate

    data, batch = parts.data, cfg.eval_batch_size
    test_set = data.test_loader.dataset
    images, labels, _ = test_set.__getitems__(torch.arange(len(test_set)))
    images = augmented_copies(images, copy_draws(len(images), 1, cfg.seed, TEST), cfg.subsample.augmentation,
                              cfg.dataset)
    batches = [(images[i:i + batch], labels[i:i + batch], None) for i in range(0, len(images), batch)]
    return evaluate(parts.model, batches, data.eval_transform, parts.device, cfg.dataset.num_classes, parts.amp)
