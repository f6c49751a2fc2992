"""DivideMix's pieces, each against the paper's equations computed another way (numpy, by hand), and its run end to
end on digits."""

import json
import math

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from conftest import only_run

from autodo.dividemix import (DivideMixSettings, Ensemble, clean_probability, co_guess, co_refine, cycled_batches,
                              mix, mix_share, mixmatch_loss, sharpen, unlabelled_weight)

COMMON = ["ir=10", "nr=0.2", "device=cpu"]


def _softmax(logits):
    e = np.exp(logits - logits.max(1, keepdims=True))
    return e / e.sum(1, keepdims=True)


def _sharpen(p, t):
    return p ** (1 / t) / (p ** (1 / t)).sum(1, keepdims=True)


def _gaussian(x, mean, sd):
    return np.exp(-0.5 * ((x - mean) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))


def test_the_clean_probability_is_the_low_loss_component_s_posterior():
    """Losses drawn from a known two-component mixture: the clean probability is the posterior of the low-mean
    component under the true mixture (in the min-max normalised losses, with the paper's variance floor), up to the
    fit's estimation error."""
    rng = np.random.default_rng(0)
    clean, noisy = rng.normal(0.3, 0.1, 1600), rng.normal(2.0, 0.3, 400)
    losses = np.concatenate([clean, noisy])
    span = losses.max() - losses.min()
    x = (losses - losses.min()) / span
    components = [(0.8, (0.3 - losses.min()) / span, math.sqrt((0.1 / span) ** 2 + 5e-4)),
                  (0.2, (2.0 - losses.min()) / span, math.sqrt((0.3 / span) ** 2 + 5e-4))]
    densities = [weight * _gaussian(x, mean, sd) for weight, mean, sd in components]
    expected = densities[0] / (densities[0] + densities[1])
    found = clean_probability(torch.from_numpy(losses).float(), seed=0).numpy()
    assert np.abs(found - expected).max() < 0.05
    assert (found[:1600] > 0.5).mean() > 0.99 and (found[1600:] < 0.5).mean() > 0.99


def test_the_clean_probability_knows_no_loss_scale_nor_component_order():
    """Min-max normalisation: an affine change of the losses changes nothing; and the low-loss component is chosen
    whichever the mixture fitted first (the noisy losses first in the data)."""
    rng = np.random.default_rng(1)
    losses = torch.from_numpy(np.concatenate([rng.normal(3.0, 0.4, 300), rng.normal(0.5, 0.2, 700)])).float()
    probability = clean_probability(losses, seed=3)
    torch.testing.assert_close(clean_probability(7 * losses + 2, seed=3), probability, atol=1e-4, rtol=0)
    assert probability[:300].max() < 0.5 < probability[300:].min()


def test_sharpening_by_hand():
    p = torch.tensor([[0.6, 0.4], [0.5, 0.5]])
    torch.testing.assert_close(sharpen(p, 0.5), torch.tensor([[0.36 / 0.52, 0.16 / 0.52], [0.5, 0.5]]))
    torch.testing.assert_close(sharpen(p, 1.0), p)
    assert sharpen(p, 0.01)[0, 0] > 0.999999


def test_co_guessing_averages_both_networks_on_both_views_then_sharpens():
    views = [torch.randn(5, 4, dtype=torch.float64) for _ in range(4)]
    expected = _sharpen(np.mean([_softmax(v.numpy()) for v in views], 0), 0.5)
    np.testing.assert_allclose(co_guess(views, 0.5).numpy(), expected, rtol=1e-10)


def test_co_refinement_mixes_the_given_label_and_the_prediction_by_the_clean_probability():
    views = [torch.randn(3, 4, dtype=torch.float64) for _ in range(2)]
    given = F.one_hot(torch.tensor([0, 2, 3]), 4).double()
    clean = torch.tensor([1.0, 0.0, 0.3], dtype=torch.float64)
    prediction = np.mean([_softmax(v.numpy()) for v in views], 0)
    mixed = clean.numpy()[:, None] * given.numpy() + (1 - clean.numpy()[:, None]) * prediction
    refined = co_refine(given, clean, views, 0.5).numpy()
    np.testing.assert_allclose(refined, _sharpen(mixed, 0.5), rtol=1e-10)
    np.testing.assert_allclose(refined[0], given[0].numpy(), atol=1e-12)  # a sure-clean label is kept
    np.testing.assert_allclose(refined[1], _sharpen(prediction, 0.5)[1], rtol=1e-10)  # a sure-noisy one is the guess


def test_mixing_pairs_each_row_with_the_one_the_order_names():
    inputs, targets = torch.arange(6.0).view(3, 2), torch.eye(3)
    mixed_inputs, mixed_targets = mix(inputs, targets, 0.75, torch.tensor([2, 0, 1]))
    torch.testing.assert_close(mixed_inputs[0], 0.75 * inputs[0] + 0.25 * inputs[2])
    torch.testing.assert_close(mixed_targets[1], torch.tensor([0.25, 0.75, 0.0]))


def test_the_mixing_share_is_at_least_a_half_and_follows_the_global_stream():
    torch.manual_seed(0)
    shares = [mix_share(4.0) for _ in range(200)]
    torch.manual_seed(0)
    assert [mix_share(4.0) for _ in range(200)] == shares
    assert min(shares) >= 0.5 and max(shares) < 1
    # max(X, 1 - X) for X ~ Beta(4, 4): mean 1/2 + E|X - 1/2| = 1/2 + 35/256 (integrated from the density)
    assert abs(np.mean(shares) - (0.5 + 35 / 256)) < 0.02


def test_the_loss_by_hand():
    """Cross-entropy of the labelled rows' targets, the unlabelled rows' squared error times its weight, and the
    uniform prior's KL penalty on the batch's mean prediction."""
    logits = torch.randn(6, 3, dtype=torch.float64)
    targets = torch.softmax(torch.randn(6, 3, dtype=torch.float64), 1)
    p, t = _softmax(logits.numpy()), targets.numpy()
    cross_entropy = -(t[:4] * np.log(p[:4])).sum(1).mean()
    squared = ((p[4:] - t[4:]) ** 2).mean()
    penalty = (np.full(3, 1 / 3) * np.log((1 / 3) / p.mean(0))).sum()
    assert mixmatch_loss(logits, targets, 4, 2.5).item() == pytest.approx(cross_entropy + 2.5 * squared + penalty)
    assert mixmatch_loss(logits[:4], targets[:4], 4, 2.5).item() == pytest.approx(
        cross_entropy + (np.full(3, 1 / 3) * np.log((1 / 3) / p[:4].mean(0))).sum())  # no unlabelled rows


def test_the_unlabelled_weight_ramps_up_from_the_first_division():
    settings = DivideMixSettings(warmup_epochs=4, threshold=0.5, temperature=0.5, alpha=4, lambda_u=25,
                                 rampup_epochs=2)
    assert [unlabelled_weight(settings, e) for e in (3.5, 4, 5, 6, 9)] == [0, 0, 12.5, 25, 25]
    assert unlabelled_weight(DivideMixSettings(4, 0.5, 0.5, 4, 25, 0), 4) == 25


def test_cycled_batches_are_shuffled_passes_one_after_the_other():
    positions = torch.tensor([3, 8, 9, 11, 20])
    batches = cycled_batches(positions, 4, steps=3, generator=torch.Generator().manual_seed(0))
    assert batches.shape == (3, 4)
    flat = batches.flatten().tolist()
    assert sorted(flat[:5]) == sorted(flat[5:10]) == positions.tolist()  # each pass holds every position once
    assert cycled_batches(positions[:0], 4, 3, torch.Generator()).shape == (3, 0)


def test_the_ensemble_is_the_mean_of_the_networks_softmax():
    nets = [torch.nn.Linear(3, 4) for _ in range(2)]
    x = torch.randn(5, 3)
    mean = (F.softmax(nets[0](x), 1) + F.softmax(nets[1](x), 1)) / 2
    torch.testing.assert_close(Ensemble(*nets)(x).exp(), mean)


def test_the_first_network_trains_as_the_baseline_in_its_first_warm_up_epoch(run_launch, tmp_path):
    """The first network starts as every method's classifier does and sees the same batches: after one warm-up epoch
    its weights are the Baseline's (the second network is drawn after it)."""
    for method in ("dividemix", "baseline"):
        run_launch(*COMMON, "dataset.epochs=1", f"method={method}", f"out_dir={method}")
    dividemix, baseline = (torch.load(only_run(tmp_path / method) / "checkpoint.pt", weights_only=False)
                           for method in ("dividemix", "baseline"))
    for name, tensor in baseline["model"].items():
        torch.testing.assert_close(dividemix["model"][name], tensor, rtol=0, atol=0)
    assert any(not torch.equal(dividemix["peer_model"][name], tensor) for name, tensor in baseline["model"].items())


def test_dividemix_end_to_end_divides_out_the_wrong_labels_and_does_not_learn_them(run_launch, tmp_path):
    """On digits: after the warm-up each division labels a set far cleaner than the train set, and where the Baseline
    memorises the wrong labels, the networks trained on the divisions do not."""
    run_launch(*COMMON, "dataset.epochs=8", "method=dividemix", "out_dir=dividemix")
    run_launch(*COMMON, "dataset.epochs=8", "method=baseline", "out_dir=baseline")
    dividemix, baseline = ([json.loads(line) for line in (only_run(tmp_path / out) / "metrics.jsonl").open()]
                           for out in ("dividemix", "baseline"))
    assert "division_labelled" not in dividemix[0]  # one warm-up epoch (0.1 of 8, at least one)
    for row in dividemix[1:]:
        assert 0.5 < row["division_labelled"] < 1 and row["division_precision"] > 0.9  # the train set's: 0.8
        assert row["division_clean_noise_auroc"] > 0.8
    assert dividemix[-1]["train_acc_wrong_labels"] < 5 < 20 < baseline[-1]["train_acc_wrong_labels"]
    assert json.loads((only_run(tmp_path / "dividemix") / "result.json").read_text())["epochs"] == 8


def test_an_inspected_dividemix_run_predicts_by_its_ensemble(run_launch, tmp_path):
    """aggregate.py --inspect rebuilds both networks from the checkpoint: their ensemble gives the run's own final
    test accuracy."""
    from autodo.inspection import final_test_features

    run_launch(*COMMON, "dataset.epochs=2", "method=dividemix")
    run_dir = only_run(tmp_path / "outputs")
    features, predictions, labels = final_test_features(run_dir, tmp_path / "local_data", torch.device("cpu"))
    result = json.loads((run_dir / "result.json").read_text())
    assert features.shape[0] == len(labels) == 360
    assert 100 * np.mean(predictions == labels) == pytest.approx(result["test_acc_final"], abs=1e-9)
