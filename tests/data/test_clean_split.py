"""The clean-data split: a held-out selection part and nested tuning parts of the validation set, each stratified,
the same for every row and cell of a seed; what runs learn from with it, and how they are identified."""

import numpy as np
import pytest
import torch

from autodo.data.bias import build_biased_split, interleaved_order, with_clean_split, with_valid_in_train

LABELS = np.repeat(np.arange(10), 300)  # 10 classes of 300


def split(ir=1, nr=0.0, seed=0):
    return build_biased_split(LABELS, 10, 1000, ir, nr, 1.0, seed)  # 100 validation images per class


def test_every_stretch_of_the_interleaved_order_is_stratified():
    labels = np.repeat(np.arange(4), [50, 50, 100, 200])  # classes of unequal size: in proportion, within one
    order = interleaved_order(labels, np.random.default_rng(0))
    assert sorted(order.tolist()) == list(range(len(labels)))
    shares = np.bincount(labels) / len(labels)
    for end in range(1, len(labels) + 1):
        counts = np.bincount(labels[order[:end]], minlength=4)
        assert np.all(np.abs(counts - shares * end) <= 1), (end, counts)


def test_the_selection_part_is_held_out_and_the_tuning_parts_are_nested():
    s = split(ir=10, nr=0.2)
    parts = {tuning: with_clean_split(s, LABELS, 200, tuning, seed=0) for tuning in (50, 250, 800, None)}
    selection = parts[50].valid_indices
    assert np.bincount(LABELS[selection], minlength=10).tolist() == [20] * 10  # stratified
    assert set(selection.tolist()) <= set(s.valid_indices.tolist())
    previous = set()
    for tuning, part in parts.items():
        assert torch.equal(part.valid_indices, selection)  # the same selection part at every budget
        tuned = set(part.tuning_indices.tolist())
        assert not tuned & set(selection.tolist()) and tuned <= set(s.valid_indices.tolist())
        assert len(tuned) == (800 if tuning is None else tuning)
        assert previous <= tuned  # nested: a larger budget only adds images
        previous = tuned
        counts = np.bincount(LABELS[part.tuning_indices], minlength=10)
        assert counts.max() - counts.min() <= 1  # balanced
        assert torch.equal(part.train_indices, s.train_indices) and torch.equal(part.train_labels, s.train_labels)
    assert len(parts[None].tuning_indices) + len(selection) == len(s.valid_indices)


def test_the_split_is_the_seeds_own_whatever_the_cell():
    biased = with_clean_split(split(ir=10, nr=0.2, seed=3), LABELS, 200, 100, seed=3)
    clean = with_clean_split(split(seed=3), LABELS, 200, 100, seed=3)
    other_seed = with_clean_split(split(seed=4), LABELS, 200, 100, seed=4)
    assert torch.equal(biased.valid_indices, clean.valid_indices)
    assert torch.equal(biased.tuning_indices, clean.tuning_indices)
    assert not torch.equal(biased.valid_indices, other_seed.valid_indices)


def test_train_on_valid_adds_the_tuning_part_only():
    s = with_clean_split(split(ir=10, nr=0.2), LABELS, 200, 250, seed=0)
    both = with_valid_in_train(s, torch.from_numpy(LABELS))
    assert torch.equal(both.train_indices, torch.cat([s.train_indices, s.tuning_indices]))
    assert torch.equal(both.train_labels[len(s.train_labels):], torch.from_numpy(LABELS)[s.tuning_indices])
    assert torch.equal(both.valid_indices, s.valid_indices)  # the selection part stays out


def test_the_loaders_select_on_the_held_out_part_and_learn_from_the_tuning_part(tmp_path):
    from autodo.augment.choice import Augmentation
    from autodo.data.pipeline import build_run_data
    from tests.test_config import composed

    cfg = composed("method=autodo_valid", "ir=10", "nr=0.2", "clean_split.selection=100",
                   "clean_split.tuning=60", f"data_root={tmp_path}")
    data = build_run_data(cfg, str(tmp_path), torch.device("cpu"), Augmentation("NONE"))
    valid, tuning = data.valid_loader.dataset.indices, data.tuning_loader.dataset.indices
    assert len(valid) == 100 and len(tuning) == 60 and not set(valid.tolist()) & set(tuning.tolist())
    assert data.hyper_valid_loader is data.tuning_loader
    assert torch.equal(data.train_loader.dataset.indices[-60:], tuning)  # train_on_valid: the tuning part
    assert data.record["valid_size"] == 100 and data.record["tuning_size"] == 60
    plain = build_run_data(composed("method=autodo_valid", "ir=10", "nr=0.2", f"data_root={tmp_path}"),
                           str(tmp_path), torch.device("cpu"), Augmentation("NONE"))
    assert plain.tuning_loader is plain.valid_loader and "tuning_size" not in plain.record
    assert set(valid.tolist()) | set(tuning.tolist()) <= set(plain.valid_loader.dataset.indices.tolist())


def _config(*overrides):
    from omegaconf import OmegaConf

    from tests.test_config import composed

    return OmegaConf.to_container(composed(*overrides), resolve=True)


def test_identity_reads_of_the_split_what_the_run_reads():
    from autodo.registry import run_name, signature

    old = _config("method=autodo")
    del old["clean_split"]  # a run written before the split existed
    assert signature(_config("method=autodo")) == signature(old)
    assert run_name(_config("method=autodo")) == run_name(old)
    # the Baseline learns from no clean image: its tuning size is not read, and is not in its identity
    baselines = {signature(_config("clean_split.selection=100", f"clean_split.tuning={t}")) for t in (10, 50)}
    assert len(baselines) == 1 and signature(_config("clean_split.selection=100")) in baselines
    assert signature(_config("clean_split.selection=100")) != signature(_config())
    tuned = {signature(_config("method=autodo", "clean_split.selection=100", f"clean_split.tuning={t}"))
             for t in (10, 50)}
    assert len(tuned) == 2
    # "every image not held out" is the count it stands for
    assert signature(_config("method=autodo", "clean_split.selection=100")) == \
        signature(_config("method=autodo", "clean_split.selection=100", "clean_split.tuning=200"))
    assert run_name(_config("method=autodo", "clean_split.selection=100")).split("-")[3:6] == \
        ["autodo", "sel100", "tune200"]
    assert "-baseline-sel100-seed0-" in run_name(_config("clean_split.selection=100", "clean_split.tuning=10"))


@pytest.mark.parametrize("overrides, fragment", [
    (("clean_split.selection=-1",), "clean_split.selection must be an integer >= 0"),
    (("clean_split.selection=1.5",), "clean_split.selection must be an integer >= 0"),
    (("clean_split.selection=abc",), "clean_split.selection must be an integer >= 0"),
    (("clean_split.tuning=0",), "clean_split.tuning must be null"),
    (("clean_split.tuning=2.5",), "clean_split.tuning must be null"),
    (("clean_split.selection=100", "clean_split.tuning=201"), "selection + tuning (at least 1) must be <= valid_size"),
    (("clean_split.selection=300",), "selection + tuning (at least 1) must be <= valid_size"),
    (("clean_split.selection=5",), "the held-out part must hold every class, at least 10 images"),
    (("clean_split.selection=100", "oversplit=true"), "not allowed with oversplit=true"),
    (("clean_split.tuning=100",), "not allowed with clean_split.selection=0"),
    (("task=subsample", "clean_split.selection=100"), "is a setting of task=train"),
])
def test_bad_split_sizes_are_one_line_errors(overrides, fragment):
    from autodo.config import check_overrides, validate_config
    from autodo.errors import UserError
    from tests.test_config import CONF, composed

    with pytest.raises(UserError) as info:
        check_overrides(list(overrides), CONF)
        validate_config(composed(*overrides))
    assert fragment in str(info.value) and "\n" not in str(info.value)
