"""The biased train set: clean stratified validation split, subsampling, class imbalance, label noise.

``build_biased_split`` is a pure function of (labels, sizes, sr, ir, nr, seed, and asymmetric noise's flip map).
Each step draws from its own random stream keyed by the seed, so the validation split is the same for every
ir/nr/sr of a seed and every method run with that seed trains on the same data. The result is cached under
``<data_root>/<dataset>/run<seed>/``; two processes that build it at once write the same bytes.
"""

import hashlib
import json
import logging
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from sklearn.model_selection import StratifiedShuffleSplit

from autodo.errors import UserError
from autodo.io import atomic_torch_save, unreadable, verified_torch_load

log = logging.getLogger("autodo")
# One random stream per step, so that changing one knob (say ir) leaves the draws of the others unchanged.
_SUBSAMPLE, _IMBALANCE, _NOISE_WHERE, _NOISE_LABEL, _CLEAN_SPLIT = range(5)


@dataclass
class BiasedSplit:
    """Indices into the source's train part, and the (noisy) labels the train samples carry.

    ``relabelled`` marks the train samples whose label was redrawn (uniformly, so some keep their true label) or
    flipped (asymmetric noise: each is wrong).
    ``tuning_indices`` are the clean images a run may learn from (hyper steps, ``train_on_valid``, ``head_refit``,
    DADA's search): the validation images themselves, unless ``with_clean_split`` held a selection part out of them;
    then ``valid_indices`` is that selection part, which only picks the best epoch and row.
    """

    valid_indices: torch.Tensor
    train_indices: torch.Tensor
    train_labels: torch.Tensor
    relabelled: torch.Tensor
    tuning_indices: torch.Tensor = None

    @property
    def tuning(self):
        return self.valid_indices if self.tuning_indices is None else self.tuning_indices

    def tensors(self):
        """What the split cache holds: the split of (dataset, ir, nr, sr, seed), before any per-run change."""
        return {
            "valid_indices": self.valid_indices,
            "train_indices": self.train_indices,
            "train_labels": self.train_labels,
            "relabelled": self.relabelled,
        }


def _stream(seed, step):
    return np.random.default_rng([seed, step])


def build_biased_split(labels, num_classes, valid_size, ir, nr, sr, seed, flips=None):
    """Build the biased train set of the reference recipe from the clean ``labels`` of the train part.

    1. A stratified validation split of ``valid_size`` samples, with clean labels.
    2. ``sr``: a random fraction of the remaining samples is kept.
    3. ``ir``: classes ``0 .. C/2-1`` are kept whole; the other classes are pooled and a random subset of
       ``int(L / ir)`` samples is kept, L being the number of first-half samples.
    4. ``nr``: uniform noise (``flips`` None): ``round(nr * |train|)`` train samples get a label drawn uniformly from
       all C classes. Asymmetric noise (``flips``, [from, to] class pairs): ``round(nr * n_c)`` of the ``n_c`` train
       samples of each class ``from`` are flipped to ``to`` (the field's class-dependent noise, at exact counts).
    """
    labels = np.asarray(labels)
    if isinstance(valid_size, int) and not num_classes <= valid_size <= len(labels) - num_classes:
        raise UserError(f"dataset.valid_size={valid_size} is not allowed here: the train part holds {len(labels)} "
                        f"images, and the validation split and the rest each need one of each of {num_classes} classes")
    splitter = StratifiedShuffleSplit(n_splits=1, test_size=valid_size, random_state=seed)
    train, valid = next(splitter.split(np.zeros(len(labels)), labels))
    train, valid = np.sort(train), np.sort(valid)

    if sr < 1:
        keep = _stream(seed, _SUBSAMPLE).choice(len(train), size=int(len(train) * sr), replace=False)
        train = np.sort(train[keep])

    if ir > 1:
        majority = train[labels[train] < num_classes // 2]
        minority_pool = train[labels[train] >= num_classes // 2]
        size = min(int(len(majority) / ir), len(minority_pool))
        minority = _stream(seed, _IMBALANCE).choice(minority_pool, size=size, replace=False)
        train = np.sort(np.concatenate([majority, minority]))

    if not len(train):
        raise UserError(f"sr={sr:g} and ir={ir:g} leave no train image of the {len(labels) - len(valid)}: raise sr")
    missing = sorted(set(range(num_classes)) - set(labels[train].tolist()))
    if missing:  # a class with no train image cannot be learned, whatever the method: say so
        log.warning("sr=%g and ir=%g leave %d train images, none of classes %s", sr, ir, len(train),
                    ", ".join(map(str, missing)))
    train_labels, relabelled = (_uniform_noise(labels[train], num_classes, nr, seed) if flips is None
                                else _asymmetric_noise(labels[train], flips, nr, seed))
    return BiasedSplit(
        valid_indices=torch.from_numpy(valid).long(),
        train_indices=torch.from_numpy(train).long(),
        train_labels=torch.from_numpy(train_labels).long(),
        relabelled=torch.from_numpy(relabelled),
    )


def _uniform_noise(clean, num_classes, nr, seed):
    """The noisy labels of the train samples of ``clean`` labels, and which were redrawn."""
    noisy, relabelled = clean.copy(), np.zeros(len(clean), dtype=bool)
    count = round(nr * len(clean))
    where = _stream(seed, _NOISE_WHERE).choice(len(clean), size=count, replace=False)
    noisy[where] = _stream(seed, _NOISE_LABEL).integers(num_classes, size=count)
    relabelled[where] = True
    return noisy, relabelled


def _asymmetric_noise(clean, flips, nr, seed):
    """The labels of the train samples of ``clean`` labels with ``round(nr * n_c)`` of each class ``c`` of the
    [from, to] pairs ``flips`` flipped (chosen by one stream, class by class in the map's order), and which were."""
    noisy, relabelled = clean.copy(), np.zeros(len(clean), dtype=bool)
    stream = _stream(seed, _NOISE_WHERE)
    for source, target in flips:
        members = np.flatnonzero(clean == source)
        where = stream.choice(members, size=round(nr * len(members)), replace=False)
        noisy[where], relabelled[where] = target, True
    return noisy, relabelled


def without_split(split, clean_labels):
    """The ``oversplit`` ablation: every sample of the train part is trained on (no validation split, no
    imbalance), the relabelled ones with their noisy labels, and the validation set is that same whole set."""
    everything = torch.arange(len(clean_labels))
    labels = torch.as_tensor(clean_labels).clone()
    labels[split.train_indices] = split.train_labels
    relabelled = torch.zeros(len(everything), dtype=torch.bool)
    relabelled[split.train_indices] = split.relabelled
    return BiasedSplit(valid_indices=everything, train_indices=everything, train_labels=labels,
                       relabelled=relabelled)


def interleaved_order(labels, generator):
    """Positions 0..len(labels)-1 in a random order in which every stretch is stratified: each class's positions,
    shuffled, are spread evenly over the order (the k-th of a class of n at about k/n of the way), so that any
    prefix or window holds each class in proportion, to within one image."""
    labels = np.asarray(labels)
    counts = np.bincount(labels)
    rank = np.empty(len(labels))
    for label in np.flatnonzero(counts):
        where = np.flatnonzero(labels == label)
        rank[generator.permutation(where)] = (np.arange(len(where)) + 0.5) / len(where)
    return np.lexsort((generator.random(len(labels)), rank))  # ties (classes of one size) in a random order


def with_clean_split(split, clean_labels, selection, tuning, seed):
    """The clean validation images in two parts, by a random stream of the seed's own (the same for every row and
    cell of the seed): a stratified selection part of ``selection`` images, held out, which becomes the run's
    validation set (it only picks the best epoch and row), and the tuning part, the next ``tuning`` images (None:
    all the others) of the same stratified order, which is all the run may learn from. The tuning parts of one seed
    are nested: the first 250 are inside the first 1,000."""
    order = split.valid_indices[interleaved_order(np.asarray(clean_labels)[split.valid_indices],
                                                  _stream(seed, _CLEAN_SPLIT))]
    end = None if tuning is None else selection + tuning
    return replace(split, valid_indices=order[:selection].sort().values,
                   tuning_indices=order[selection:end].sort().values)


def with_valid_in_train(split, clean_labels):
    """The ``train_on_valid`` baseline: the clean images the run may learn from (the tuning part) join the train
    subset (after it, with their clean labels); the validation set stays as it is, for selection only."""
    tuning = split.tuning
    return replace(
        split,
        train_indices=torch.cat([split.train_indices, tuning]),
        train_labels=torch.cat([split.train_labels, torch.as_tensor(clean_labels)[tuning]]),
        relabelled=torch.cat([split.relabelled, torch.zeros(len(tuning), dtype=torch.bool)]),
    )


def with_labels_cleaned(split, positions, predicted, action):
    """The confident-learning baseline (autodo.tasks.train.cleaning): the train samples at ``positions`` (in the train
    subset) dropped (``remove``) or given the ``predicted`` labels (``relabel``); ``relabelled`` still marks the
    noise."""
    if action == "relabel":
        labels = split.train_labels.clone()
        labels[positions] = predicted
        return replace(split, train_labels=labels)
    keep = torch.ones(len(split.train_indices), dtype=torch.bool)
    keep[positions] = False
    return replace(split, train_indices=split.train_indices[keep], train_labels=split.train_labels[keep],
                   relabelled=split.relabelled[keep])


def noise_flips(nr_type, dataset_cfg):
    """The flip map (a list of [from, to] pairs) of asymmetric noise, None for uniform noise."""
    return None if nr_type == "uniform" else [list(pair) for pair in dataset_cfg.flips]


def split_cache_path(data_root, dataset, seed, ir, nr, sr, flips=None):
    """The split cache's file; an asymmetric split's name holds a digest of its flip map (another map, another
    file)."""
    noise = "" if flips is None else "_flips" + hashlib.sha256(json.dumps(flips).encode()).hexdigest()[:8]
    return Path(data_root) / dataset / f"run{seed}" / f"split_ir{ir:g}_sr{sr:g}_nr{nr:g}{noise}.pt"


def load_or_build_split(labels, dataset_cfg, data_root, ir, nr, sr, seed, nr_type="uniform"):
    """The cached split of (dataset, ir, nr, sr, seed, the noise), built and written atomically when missing."""
    flips = noise_flips(nr_type, dataset_cfg)
    path = split_cache_path(data_root, dataset_cfg.name, seed, ir, nr, sr, flips)
    key = {"dataset": dataset_cfg.name, "seed": seed, "ir": float(ir), "nr": float(nr), "sr": float(sr),
           "num_samples": len(labels), "valid_size": dataset_cfg.valid_size}
    if flips is not None:
        key["flips"] = flips
    if path.exists():
        return _read_split(path, key)
    split = build_biased_split(labels, dataset_cfg.num_classes, dataset_cfg.valid_size, ir, nr, sr, seed, flips)
    atomic_torch_save(path, {"key": key, **split.tensors()})
    return split


def _read_split(path, key):
    try:
        saved = verified_torch_load(path)
        split = BiasedSplit(**{name: saved[name] for name in ("valid_indices", "train_indices", "train_labels",
                                                              "relabelled")})
        consistent = len(split.train_indices) == len(split.train_labels) == len(split.relabelled)
    except Exception as error:  # noqa: BLE001 - whatever broke, the file is unusable
        raise UserError(f"corrupt split cache {path} ({unreadable(error)}): delete it to rebuild") from None
    if not consistent:
        raise UserError(f"corrupt split cache {path} (lengths differ): delete it to rebuild")
    if saved["key"] != key:
        raise UserError(f"split cache {path} was built for {saved['key']}, not {key}: delete it to rebuild")
    return split


def split_record(split, clean_labels, num_classes):
    """What a run writes about its data: per-class counts and which train labels were redrawn or are wrong."""
    clean_labels = torch.as_tensor(clean_labels)
    clean = clean_labels[split.train_indices]
    wrong = split.train_labels != clean
    tuning = {} if split.tuning_indices is None else {
        "tuning_size": len(split.tuning_indices),
        "tuning_class_counts": torch.bincount(clean_labels[split.tuning_indices], minlength=num_classes).tolist()}
    return {
        "train_size": len(split.train_indices),
        "valid_size": len(split.valid_indices),
        "train_class_counts": torch.bincount(split.train_labels, minlength=num_classes).tolist(),
        "train_clean_class_counts": torch.bincount(clean, minlength=num_classes).tolist(),
        "valid_class_counts": torch.bincount(clean_labels[split.valid_indices], minlength=num_classes).tolist(),
        **tuning,
        "relabelled_count": int(split.relabelled.sum()),
        "wrong_label_count": int(wrong.sum()),
        "relabelled": {
            "index": split.train_indices[split.relabelled].tolist(),
            "clean_label": clean[split.relabelled].tolist(),
            "noisy_label": split.train_labels[split.relabelled].tolist(),
        },
    }
