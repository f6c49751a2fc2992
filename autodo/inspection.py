"""``aggregate.py --inspect``: a finished run's final model (of an active-learning run, the model of an iteration),
rebuilt by its task (autodo.registry: the face's ``inspection_model``) and loaded from its folder, and what its test
features show (autodo.figures.confusion_and_tsne)."""

from pathlib import Path

import torch
from omegaconf import OmegaConf

from autodo.figures import confusion_and_tsne
from autodo.run_folder import RunFolder
from autodo.registry import face, read_run, task_of


@torch.no_grad()
def final_test_features(run_dir, data_root=None, device="cpu", iteration=None):
    """The test features, predictions and labels of a run's final model (an active-learning run's model of
    ``iteration``, default its last)."""
    folder = RunFolder(run_dir)
    config = read_run(folder)["config"]
    cfg = OmegaConf.create(config)
    cfg.device = str(device)
    model, data, device = face(task_of(config)).inspection_model(cfg, folder, data_root or cfg.data_root, iteration)
    model.eval()
    features, predictions, labels = [], [], []
    for images, batch_labels, _ in data.test_loader:
        images = data.eval_transform(images.to(device))
        features.append(model.encoder(images).float().cpu())
        predictions.append(model(images).argmax(1).cpu())  # DivideMix's ensemble predicts by both networks
        labels.append(batch_labels)
    return torch.cat(features).numpy(), torch.cat(predictions).numpy(), torch.cat(labels).numpy()


def inspect_run(run_dir, data_root, folder, device="cpu", iteration=None):
    """Write the confusion matrix and the t-SNE of one finished run (an active-learning run: of its model of
    ``iteration``, default its last) into ``folder``; return their paths."""
    features, predictions, labels = final_test_features(run_dir, data_root, device, iteration)
    name = Path(run_dir).name + ("" if iteration is None else f"_iteration{iteration}")
    return confusion_and_tsne(features, predictions, labels, name, folder)
