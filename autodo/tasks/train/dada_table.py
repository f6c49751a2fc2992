"""A DADA run's table (``aug_model=DADA``): brought in a file, or searched (autodo.augment.dada.search) on the run's
own biased train split and the clean images it may learn from, cached beside the split and shared by every run of the
data, cell and seed that applies it."""

import logging
import time

import torch

from autodo.augment.dada import search
from autodo.augment.table_file import PolicyTable, read_table, table_signature
from autodo.errors import UserError

log = logging.getLogger("autodo")
POLICY = "policy.json"  # the run folder's file of the table applied (a table file itself)

# what a searched table depends on: the data, its split, the search's settings and the settings of the data set it
# reads; not the run's model (the search has its own small network) nor its training schedule, so that every run
# of the seed that applies a searched table shares it
SEARCH_SETTINGS = {"dataset": ("name", "in_channels", "num_classes", "valid_size", "mean", "std", "augment",
                               "batch_size", "lr", "flips"),
                   "optim": ("weight_decay",), "aug_model": ("name", "policy", "search_size", "search_epochs", "keep"),
                   "ir": None, "nr": None, "nr_type": None, "sr": None, "seed": None, "clean_split": None}



def run_table(cfg, data_root, device):
    """The table of the run ``cfg`` (``aug_model=DADA``): from its file (the table the run was planned with), or
    searched on the run's biased train split and clean validation split (cached under
    ``<data_root>/<dataset>/run<seed>/``: seed-mates wait for the one that searches, then read it)."""
    from omegaconf import OmegaConf

    from autodo.model_cache import cache_identity, cache_path, load_or_train

    started = time.perf_counter()
    if cfg.aug_model.policy != "search":
        table = PolicyTable(read_table(cfg.aug_model.policy), source=cfg.aug_model.policy)
        if table_signature(cfg.aug_model.policy) != cfg.aug_model.table_sha256:
            raise UserError(f"aug_model.policy={cfg.aug_model.policy} has changed since this run was planned: "
                            "launch again (the changed table is another run)")
    else:
        config = OmegaConf.to_container(cfg, resolve=True)
        config = {key: config[key] if inner is None else {name: config[key][name] for name in inner}
                  for key, inner in SEARCH_SETTINGS.items()}
        saved, cached = load_or_train(cache_path(config, SEARCH_SETTINGS, "dada", data_root),
                                      cache_identity(config, SEARCH_SETTINGS),
                                      lambda: _search_run(cfg, data_root, device))
        table = PolicyTable(saved["table"], "search", saved["weights"], saved["search_time_s"], cached)
    table.obtained_in_s = time.perf_counter() - started
    where = table.source if table.source != "search" else (
        f"searched here ({'cached' if table.cached else 'searched now'}, search {table.search_time_s:.0f}s)")
    log.info("DADA table %s; its first sub-policies:", where)
    for sub_policy in table.table[:5]:
        log.info("  %s", "  ".join(f"{op} p={p:.2f} level={m:.2f}" for op, p, m in sub_policy))
    return table


def _search_run(cfg, data_root, device):
    """Search the run's table (``search``'s settings from the run's config); returns what the cache keeps."""
    from autodo.data.bias import load_or_build_split, with_clean_split
    from autodo.data.sources import load_source
    from autodo.data.transforms import build_train_transform
    from autodo.models.classifier import Classifier
    from autodo.models.small_cnn import SmallCNN

    started = time.perf_counter()
    dataset = cfg.dataset
    source, _ = load_source(dataset, data_root)
    split = load_or_build_split(source.labels, dataset, data_root, cfg.ir, cfg.nr, cfg.sr, cfg.seed, cfg.nr_type)
    if cfg.clean_split.selection:  # the search learns from the tuning part only
        split = with_clean_split(split, source.labels, cfg.clean_split.selection, cfg.clean_split.tuning, cfg.seed)
    chosen = torch.randperm(len(split.train_indices), generator=torch.Generator().manual_seed(cfg.seed))
    chosen = chosen[:cfg.aug_model.search_size]
    train = (source.images[split.train_indices[chosen]], split.train_labels[chosen])
    valid = (source.images[split.tuning], source.labels[split.tuning])
    transform = build_train_transform(dataset.augment, tuple(source.images.shape[-2:]), dataset.mean,
                                      dataset.std).to(device)
    log.info("DADA search: %d train images (of %d), %d validation images, %d epochs", len(chosen),
             len(split.train_indices), len(valid[1]), cfg.aug_model.search_epochs)
    # the run's own random streams (CPU, and the device's, which kornia's samplers draw from there) are the same
    # whether it searched or found the table cached
    with torch.random.fork_rng(devices=[device] if device.type == "cuda" else []):
        torch.manual_seed(cfg.seed)
        model = Classifier(SmallCNN(dataset.in_channels), dataset.num_classes).to(device)
        policy = search(model, train, valid, transform, cfg.aug_model.search_epochs, dataset.batch_size, dataset.lr,
                        cfg.optim.weight_decay, cfg.seed, device)
    table, weights = policy.table(cfg.aug_model.keep)
    return {"table": table, "weights": weights, "search_time_s": time.perf_counter() - started}
