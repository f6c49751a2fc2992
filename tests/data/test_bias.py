"""The biased train set: the reference recipe, purity, caching, and two builders at once."""

import subprocess
import sys

import numpy as np
import pytest
import torch
from omegaconf import OmegaConf

from autodo.data.bias import (BiasedSplit, build_biased_split, load_or_build_split, split_cache_path, split_record,
                              with_labels_cleaned)
from autodo.errors import UserError

# 10 classes of 100 samples each
LABELS = np.repeat(np.arange(10), 100)


def split(ir=1, nr=0.0, sr=1.0, seed=0, valid_size=200):
    return build_biased_split(LABELS, 10, valid_size, ir, nr, sr, seed)


def test_validation_split_is_clean_stratified_and_disjoint():
    s = split(ir=10, nr=0.3)
    assert len(s.valid_indices) == 200
    assert np.bincount(LABELS[s.valid_indices], minlength=10).tolist() == [20] * 10
    assert not set(s.valid_indices.tolist()) & set(s.train_indices.tolist())


def test_imbalance_keeps_first_half_and_cuts_the_rest_to_L_over_ir():
    s = split(ir=10)
    counts = np.bincount(LABELS[s.train_indices], minlength=10)
    assert counts[:5].tolist() == [80] * 5  # kept whole
    assert counts[5:].sum() == int(400 / 10)  # pooled, cut to int(L / ir) in total
    assert torch.equal(s.train_labels, torch.from_numpy(LABELS[s.train_indices]))  # no noise asked


def test_noise_redraws_round_nr_times_n_labels_uniformly():
    s = split(ir=10, nr=0.25)
    n = len(s.train_indices)
    assert int(s.relabelled.sum()) == round(0.25 * n)
    clean = torch.from_numpy(LABELS[s.train_indices])
    assert torch.equal(s.train_labels[~s.relabelled], clean[~s.relabelled])
    # the redrawn labels spread over all classes, minority ones included
    assert set(s.train_labels[s.relabelled].tolist()) == set(range(10))


FLIPS = [[6, 0], [2, 4], [7, 5], [9, 7]]  # Fashion-MNIST's: shirt -> T-shirt, pullover -> coat, ...


@pytest.mark.parametrize("ir, nr", [(1, 0.2), (10, 0.4)])
def test_asymmetric_noise_flips_round_nr_of_each_mapped_class_to_its_look_alike(ir, nr):
    s = build_biased_split(LABELS, 10, 200, ir, nr, 1.0, 0, flips=FLIPS)
    clean = LABELS[s.train_indices]
    noisy, relabelled = s.train_labels.numpy(), s.relabelled.numpy()
    for source, target in FLIPS:
        members = clean == source
        assert (relabelled & members).sum() == round(nr * members.sum())  # exact counts, after the imbalance step
        assert (noisy[relabelled & members] == target).all()
    unmapped = ~np.isin(clean, [source for source, _ in FLIPS])
    assert not relabelled[unmapped].any() and (noisy[~relabelled] == clean[~relabelled]).all()
    assert (noisy[relabelled] != clean[relabelled]).all()  # every flip is a wrong label
    # the split and the imbalance are the uniform noise's: only the labels differ
    uniform = build_biased_split(LABELS, 10, 200, ir, nr, 1.0, 0)
    assert torch.equal(uniform.train_indices, s.train_indices) and torch.equal(uniform.valid_indices, s.valid_indices)


def test_a_swap_flips_each_class_once_from_its_clean_labels():
    s = build_biased_split(LABELS, 10, 200, 1, 0.5, 1.0, 0, flips=[[3, 5], [5, 3]])
    clean, noisy = LABELS[s.train_indices], s.train_labels.numpy()
    assert ((clean == 3) & (noisy == 5)).sum() == ((clean == 5) & (noisy == 3)).sum() == 40  # half of 80 each
    assert s.relabelled.sum() == 80


def test_an_asymmetric_split_has_a_cache_of_its_own_per_map(tmp_path):
    dataset = OmegaConf.create({**DATASET, "flips": FLIPS})
    uniform = load_or_build_split(LABELS, dataset, tmp_path, 1, 0.2, 1.0, 0)
    asymmetric = load_or_build_split(LABELS, dataset, tmp_path, 1, 0.2, 1.0, 0, "asymmetric")
    assert not torch.equal(uniform.train_labels, asymmetric.train_labels)
    other = load_or_build_split(LABELS, OmegaConf.create({**DATASET, "flips": [[1, 2]]}), tmp_path, 1, 0.2, 1.0, 0,
                                "asymmetric")
    assert (other.train_labels[other.relabelled] == 2).all()
    assert len(list((tmp_path / "toy" / "run0").glob("split_*.pt"))) == 3
    again = load_or_build_split(LABELS, dataset, tmp_path, 1, 0.2, 1.0, 0, "asymmetric")
    assert torch.equal(again.train_labels, asymmetric.train_labels)


def test_subsampling_happens_before_the_imbalance():
    s = split(sr=0.5, ir=2)
    majority = (LABELS[s.train_indices] < 5).sum()
    assert majority + int(majority / 2) == len(s.train_indices)
    assert len(s.train_indices) < 600


def test_pure_function_of_its_arguments():
    a, b = split(ir=10, nr=0.1, seed=3), split(ir=10, nr=0.1, seed=3)
    for name, tensor in a.tensors().items():
        assert torch.equal(tensor, b.tensors()[name])
    assert not torch.equal(split(ir=10, nr=0.1, seed=4).train_indices, a.train_indices)


def test_validation_split_depends_on_the_seed_only():
    base = split(seed=5).valid_indices
    assert torch.equal(split(ir=10, nr=0.2, sr=0.5, seed=5).valid_indices, base)


def test_record_counts_and_wrong_labels():
    s = split(ir=10, nr=0.5)
    record = split_record(s, torch.from_numpy(LABELS), 10)
    assert sum(record["train_class_counts"]) == record["train_size"] == len(s.train_indices)
    assert record["train_clean_class_counts"][:5] == [80] * 5
    assert record["relabelled_count"] == len(record["relabelled"]["index"])
    wrong = sum(c != n for c, n in zip(record["relabelled"]["clean_label"], record["relabelled"]["noisy_label"]))
    assert record["wrong_label_count"] == wrong > 0


DATASET = OmegaConf.create({"name": "toy", "num_classes": 10, "valid_size": 200})


def test_cache_is_written_once_and_reused(tmp_path):
    first = load_or_build_split(LABELS, DATASET, tmp_path, 10, 0.1, 1.0, 2)
    path = split_cache_path(tmp_path, "toy", 2, 10, 0.1, 1.0)
    assert path.parent.name == "run2" and path.exists()
    stamp = path.stat().st_mtime_ns
    second = load_or_build_split(LABELS, DATASET, tmp_path, 10, 0.1, 1.0, 2)
    assert path.stat().st_mtime_ns == stamp
    assert torch.equal(first.train_labels, second.train_labels)
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, f"{path.name}.sha256"]  # no temporary files left


def test_corrupt_cache_is_a_one_line_error(tmp_path):
    path = split_cache_path(tmp_path, "toy", 0, 1, 0.0, 1.0)
    path.parent.mkdir(parents=True)
    path.write_bytes(b"garbage")
    with pytest.raises(UserError) as info:
        load_or_build_split(LABELS, DATASET, tmp_path, 1, 0.0, 1.0, 0)
    assert str(path) in str(info.value) and "\n" not in str(info.value)


def test_cache_of_another_data_set_is_refused(tmp_path):
    load_or_build_split(LABELS, DATASET, tmp_path, 1, 0.0, 1.0, 0)
    with pytest.raises(UserError, match="was built for"):
        load_or_build_split(LABELS[:500], DATASET, tmp_path, 1, 0.0, 1.0, 0)


BUILD = """
import sys, numpy as np
from omegaconf import OmegaConf
from autodo.data.bias import load_or_build_split
labels = np.repeat(np.arange(10), 3000)
cfg = OmegaConf.create({"name": "toy", "num_classes": 10, "valid_size": 5000})
load_or_build_split(labels, cfg, sys.argv[1], 10, 0.1, 1.0, 7)
"""


def test_two_processes_building_at_once_write_the_same_file(tmp_path):
    path = split_cache_path(tmp_path, "toy", 7, 10, 0.1, 1.0)
    contents = []
    for _ in range(2):  # twice, to compare the bytes of a race against those of a second race
        procs = [subprocess.Popen([sys.executable, "-c", BUILD, str(tmp_path)]) for _ in range(2)]
        assert [p.wait(timeout=120) for p in procs] == [0, 0]
        contents.append(path.read_bytes())
        assert sorted(p.name for p in path.parent.iterdir()) == [path.name, f"{path.name}.sha256"]
        path.unlink()
    assert contents[0] == contents[1]
    expected = build_biased_split(np.repeat(np.arange(10), 3000), 10, 5000, 10, 0.1, 1.0, 7)
    path.write_bytes(contents[0])
    loaded = load_or_build_split(np.repeat(np.arange(10), 3000), OmegaConf.create(
        {"name": "toy", "num_classes": 10, "valid_size": 5000}), tmp_path, 10, 0.1, 1.0, 7)
    assert torch.equal(loaded.train_labels, expected.train_labels)


def test_without_split_trains_on_everything_with_the_noisy_labels_kept():
    from autodo.data.bias import without_split

    s = split(ir=10, nr=0.3)
    whole = without_split(s, torch.from_numpy(LABELS))
    assert torch.equal(whole.train_indices, torch.arange(1000)) and torch.equal(whole.valid_indices, whole.train_indices)
    assert torch.equal(whole.train_labels[s.train_indices], s.train_labels)
    untouched = torch.ones(1000, dtype=torch.bool)
    untouched[s.train_indices] = False
    assert torch.equal(whole.train_labels[untouched], torch.from_numpy(LABELS)[untouched])
    assert int(whole.relabelled.sum()) == int(s.relabelled.sum())


def test_with_valid_in_train_adds_the_clean_validation_samples():
    from autodo.data.bias import with_valid_in_train

    s = split(ir=10, nr=0.3)
    both = with_valid_in_train(s, torch.from_numpy(LABELS))
    assert torch.equal(both.train_indices, torch.cat([s.train_indices, s.valid_indices]))
    assert torch.equal(both.train_labels[:len(s.train_labels)], s.train_labels)  # noisy labels kept
    assert torch.equal(both.train_labels[len(s.train_labels):], torch.from_numpy(LABELS)[s.valid_indices])
    assert torch.equal(both.valid_indices, s.valid_indices)
    assert int(both.relabelled.sum()) == int(s.relabelled.sum()) and len(both.relabelled) == len(both.train_indices)


def test_labels_found_wrong_are_dropped_or_set_to_the_prediction():
    split = BiasedSplit(valid_indices=torch.tensor([0, 1]), train_indices=torch.tensor([5, 6, 7, 8]),
                        train_labels=torch.tensor([1, 2, 3, 4]), relabelled=torch.tensor([False, True, False, True]))
    removed = with_labels_cleaned(split, torch.tensor([1, 3]), torch.tensor([9, 9]), "remove")
    assert removed.train_indices.tolist() == [5, 7] and removed.train_labels.tolist() == [1, 3]
    assert removed.relabelled.tolist() == [False, False] and removed.valid_indices.tolist() == [0, 1]
    relabelled = with_labels_cleaned(split, torch.tensor([1, 3]), torch.tensor([0, 7]), "relabel")
    assert relabelled.train_indices.tolist() == [5, 6, 7, 8] and relabelled.train_labels.tolist() == [1, 0, 3, 7]
    assert relabelled.relabelled.tolist() == [False, True, False, True]
    assert split.train_labels.tolist() == [1, 2, 3, 4]  # the split itself is left as it was
