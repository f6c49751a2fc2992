import json

import pytest
import torch

from autodo.augment import dada, table_file
from autodo.augment.policies import FAST_AUTOAUGMENT_OPS
from autodo.data.transforms import BatchTransform
from autodo.errors import UserError
from autodo.models.classifier import Classifier
from autodo.models.small_cnn import SmallCNN

DRAWS = 200_000


def _assert_close(estimate, exact, spread):
    """``estimate`` (a mean of DRAWS draws) within 5 standard errors of ``exact``."""
    assert torch.all((estimate - exact).abs() < 5 * spread / DRAWS ** 0.5), (estimate, exact)


def test_relax_is_unbiased_on_a_bernoulli():
    """E[(b - t)^2] with b ~ Bernoulli(sigmoid(theta)) has the derivative sigmoid'(theta) ((1 - t)^2 - t^2); a
    deliberately poor surrogate changes the variance, never the mean."""
    torch.manual_seed(0)
    theta, t = torch.tensor([0.3], requires_grad=True), 0.45
    z = dada.logistic_draw(theta, torch.rand(DRAWS, 1))
    bits = (z > 0).float()
    z_tilde = dada.logistic_conditional(theta, bits, torch.rand(DRAWS, 1))
    log_prob = -torch.nn.functional.binary_cross_entropy_with_logits(theta.expand(DRAWS, 1), bits,
                                                                      reduction="none")[:, 0]
    surrogate = lambda z: 2.0 * torch.sigmoid(z / 0.5)[:, 0] - 0.3
    f = (bits[:, 0] - t) ** 2
    (estimate,) = dada.relax(f, log_prob, surrogate(z), surrogate(z_tilde), [theta])
    p = torch.sigmoid(theta.detach())
    _assert_close(estimate.detach(), p * (1 - p) * ((1 - t) ** 2 - t ** 2), spread=1.0)


def test_relax_is_unbiased_on_a_categorical():
    """E[v_k] with k ~ softmax(alpha): d/d alpha_j = pi_j (v_j - E[v])."""
    torch.manual_seed(0)
    alpha, values = torch.tensor([0.5, -0.2, 0.0, 1.0, -1.0], requires_grad=True), torch.arange(5.0)
    z = dada.gumbel_draw(alpha, torch.rand(DRAWS, 5))
    k = z.argmax(-1)
    z_tilde = dada.gumbel_conditional(alpha.expand(DRAWS, 5), k, torch.rand(DRAWS, 5))
    weights = torch.tensor([1.0, -2.0, 0.5, 0.3, 1.5])
    surrogate = lambda z: (torch.softmax(z / 0.7, -1) * weights).sum(-1)
    (estimate,) = dada.relax(values[k], torch.log_softmax(alpha, -1)[k], surrogate(z), surrogate(z_tilde), [alpha])
    pi = torch.softmax(alpha.detach(), -1)
    _assert_close(estimate.detach(), pi * (values - (pi * values).sum()), spread=1.2)


def test_a_conditional_draw_is_distributed_as_the_draw_given_its_outcome():
    torch.manual_seed(0)
    alpha = torch.tensor([0.5, -0.2, 1.0])
    z = dada.gumbel_draw(alpha, torch.rand(DRAWS, 3))
    k = z.argmax(-1)
    z_tilde = dada.gumbel_conditional(alpha.expand(DRAWS, 3), k, torch.rand(DRAWS, 3))
    assert torch.equal(z_tilde.argmax(-1), k)
    for choice in range(3):
        assert torch.allclose(z[k == choice].mean(0), z_tilde[k == choice].mean(0), atol=0.03)
    beta = torch.tensor([-0.7, 0.4])
    z = dada.logistic_draw(beta, torch.rand(DRAWS, 2))
    z_tilde = dada.logistic_conditional(beta, (z > 0).float(), torch.rand(DRAWS, 2))
    assert torch.equal(z_tilde > 0, z > 0)
    assert torch.allclose(z[z > 0].mean(), z_tilde[z > 0].mean(), atol=0.03)


def test_the_straight_through_level_gradient_has_the_sign_of_a_brightening_op():
    """Each pixel of the op's output moves one for one with the level in the gradient; Brightness brightens with
    its level, so the gradient of the mean pixel and the finite difference of the true op agree in sign."""
    images = torch.randint(30, 200, (4, 1, 8, 8), dtype=torch.uint8)
    level = torch.tensor(0.5, requires_grad=True)
    op, low, high, _ = FAST_AUTOAUGMENT_OPS["Brightness"]
    output = lambda m: op(images, low + m * (high - low)).float() / 255
    dada.straight_through(output(level.item()), level).mean().backward()
    assert level.grad == 1.0
    assert (output(0.6).mean() - output(0.4).mean()) > 0


def test_both_ops_levels_get_the_straight_through_gradient():
    """Two ops that fire, one after the other (as a search step chains them): each level gets the gradient of
    every pixel, not only the last op's."""
    levels = torch.tensor([0.3, 0.6], requires_grad=True)
    output = torch.rand(2, 1, 4, 4)  # the augmented batch, which has no gradient of its own
    for j in range(2):
        output = dada.straight_through(output, levels[j])
    output.sum().backward()
    assert torch.equal(levels.grad, torch.full((2,), 32.0))


TOY_SUB_POLICIES = [("Invert", "Posterize"), ("Rotate", "ShearX"), ("Brightness", "Contrast")]


def _toy_search(epochs=40):
    """Two classes, a bright left or right half; the validation images are the train images inverted, so only
    Invert makes the train batches look like them."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.randint(2, (128,), generator=generator)
    images = torch.randint(0, 60, (128, 1, 8, 8), generator=generator, dtype=torch.uint8)
    images[labels == 0, :, :, :4] += 150
    images[labels == 1, :, :, 4:] += 150
    torch.manual_seed(0)
    model = Classifier(SmallCNN(1, widths=(8, 8), pool_after=(0,)), 2)
    return dada.search(model, (images, labels), (255 - images[:64], labels[:64]), BatchTransform([0.5], [0.25]),
                       epochs=epochs, batch_size=64, lr=0.5, weight_decay=0.0, seed=0, device=torch.device("cpu"),
                       policy_lr=0.05, sub_policies=TOY_SUB_POLICIES)


def _most_applied(policy):
    chance = policy.op_probabilities()
    return max(chance, key=chance.get)


def test_the_toy_search_finds_the_helpful_op():
    assert _most_applied(_toy_search()) == "Invert"


def test_the_toy_search_fails_with_the_policy_gradient_flipped(monkeypatch):
    """The test above is one the search can fail: with RELAX's estimate negated, Invert is not chosen."""
    relax = dada.relax
    monkeypatch.setattr(dada, "relax", lambda *args: [-g for g in relax(*args)])
    assert _most_applied(_toy_search()) != "Invert"


def test_a_table_keeps_the_most_probable_sub_policies_in_the_published_format():
    policy = dada.DifferentiablePolicy()
    with torch.no_grad():
        policy.alpha[7] = 3.0
        policy.alpha[2] = 2.0
        policy.beta[7] = torch.tensor([0.0, 2.0])
        policy.level[7] = torch.tensor([0.25, 1.5])  # a level past 1 is clamped, as the search does
    table, weights = policy.table(2)
    assert [[op for op, _, _ in sub] for sub in table] == [list(dada.SUB_POLICIES[7]), list(dada.SUB_POLICIES[2])]
    assert table[0][0][1:] == [0.5, 0.25] and table[0][1][1:] == [round(torch.sigmoid(torch.tensor(2.0)).item(), 4),
                                                                    1.0]
    assert weights[0] > weights[1] > 1 / len(dada.SUB_POLICIES)
    assert len(dada.SUB_POLICIES) == 105


def _write(tmp_path, content):
    path = tmp_path / "table.json"
    path.write_text(content if isinstance(content, str) else json.dumps(content))
    return str(path)


GOOD = [[["Invert", 0.5, 0.0], ["Rotate", 0.2, 0.7]], [["Equalize", 1.0, 0.5]]]


def test_a_table_file_is_read_and_its_signature_is_its_table(tmp_path):
    path = _write(tmp_path, {"source": "mine", "policies": {"found": GOOD}})
    assert table_file.read_table(path) == GOOD
    other = tmp_path / "elsewhere.json"
    other.write_text(json.dumps({"policies": {"renamed": GOOD}}, indent=2))
    assert table_file.table_signature(str(other)) == table_file.table_signature(path)
    integers = tmp_path / "integers.json"
    integers.write_text(json.dumps({"policies": {"x": [[["Invert", 0.5, 0], ["Rotate", 0.2, 0.7]], [["Equalize", 1,
                                                                                                     0.5]]]}}))
    assert table_file.table_signature(integers) == table_file.table_signature(path)  # 1 and 1.0 are one table
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps({"policies": {"found": [GOOD[0]]}}))
    assert table_file.table_signature(changed) != table_file.table_signature(path)


@pytest.mark.parametrize("content, message", [
    ("not json", "is not a policy file"),
    ({"tables": {}}, "is not a policy file"),
    ({"policies": {"a": GOOD, "b": GOOD}}, "holds a, b; one table by name is allowed"),
    ({"policies": {}}, "holds no table; one table by name is allowed"),
    ({"policies": {"a": [[[["Invert"], 0.5, 0.5]]]}}, "op ['Invert'] is not allowed"),
    ({"policies": {"a": []}}, "is not a non-empty list of sub-policies"),
    ({"policies": {"a": [[["Flip", 0.5, 0.5]]]}}, "op 'Flip' is not allowed: one of ShearX"),
    ({"policies": {"a": [[["Invert", 1.5, 0.5]]]}}, "probability and level must be numbers in [0, 1]"),
    ({"policies": {"a": [[["Invert", 0.5]]]}}, "is not [op, probability, level]"),
])
def test_a_bad_table_file_is_one_line_naming_what_is_wrong(tmp_path, content, message):
    path = _write(tmp_path, content)
    with pytest.raises(UserError) as error:
        table_file.read_table(path)
    assert message in str(error.value) and "\n" not in str(error.value) and path in str(error.value)


def test_a_missing_table_file_is_one_line(tmp_path):
    with pytest.raises(UserError, match="cannot read it"):
        table_file.read_table(str(tmp_path / "none.json"))


# ============ the DADA row end to end ============

SMALL_SEARCH = ("method=dada", "aug_model.search_epochs=1", "aug_model.search_size=200")


def _result(run_dir):
    return json.loads((run_dir / "result.json").read_text())


def test_the_dada_row_searches_caches_trains_and_is_named_by_where_its_table_came_from(run_launch, tmp_path):
    from autodo.results import load_runs
    from autodo.tasks.train.report import summary_table
    from conftest import run_dirs

    run_launch(*SMALL_SEARCH, "dataset.epochs=1")
    (searched,) = run_dirs(tmp_path / "outputs")
    first = _result(searched)
    assert first["search_cached"] is False and 0 < first["search_time_s"] < first["wall_time_s"]
    record = json.loads((searched / "policy.json").read_text())
    table = table_file.read_table(searched / "policy.json")  # the run folder's table is a table file itself
    assert len(table) == 25 == len(record["weights"]) and record["weights"] == sorted(record["weights"], reverse=True)

    # a seed-mate (another run of the seed) reads the cached table: the same table, the search's cost counted
    run_launch(*SMALL_SEARCH, "dataset.epochs=2")
    (mate,) = set(run_dirs(tmp_path / "outputs")) - {searched}
    second = _result(mate)
    assert second["search_cached"] is True and second["search_time_s"] == first["search_time_s"]
    assert second["wall_time_s"] > second["search_time_s"]
    assert json.loads((mate / "policy.json").read_text())["policies"] == record["policies"]

    # the same table brought in a file: another row, whose identity is the table, not the search's settings
    copy = tmp_path / "found.json"
    copy.write_text((searched / "policy.json").read_text())
    run_launch("method=dada", f"aug_model.policy={copy}", "dataset.epochs=1")
    run_launch("method=dada", f"aug_model.policy={copy}", "dataset.epochs=1", "aug_model.search_size=5")
    (brought,) = set(run_dirs(tmp_path / "outputs")) - {searched, mate}
    assert "search_time_s" not in _result(brought)
    assert _result(brought)["config"]["aug_model"]["table_sha256"] == table_file.table_signature(copy)
    rows = summary_table(load_runs([tmp_path / "outputs"])[0]).index.get_level_values("method")
    assert sorted(rows) == ["DADA (searched here)", "DADA (searched here)", "DADA (table: found.json)"]

    # aggregate.py --inspect rebuilds the run with the table it applied: no search again, no file to find
    from autodo.inspection import final_test_features

    for cache in (tmp_path / "local_data" / "digits" / "run0").glob("dada-*"):
        cache.unlink()
    copy.unlink()
    for run_dir in (searched, brought):
        _, predictions, labels = final_test_features(run_dir, tmp_path / "local_data")
        assert 100 * (predictions == labels).mean() == pytest.approx(_result(run_dir)["test_acc_final"], abs=1e-6)
    assert not list((tmp_path / "local_data" / "digits" / "run0").glob("dada-*"))


def test_a_bad_table_file_is_refused_with_one_line_and_nothing_written(run_launch, tmp_path):
    from conftest import assert_refused

    proc = run_launch("method=dada", "aug_model.policy=missing.json", check=False)
    assert_refused(proc, "aug_model.policy=missing.json: cannot read it", tmp_path / "outputs")
    (tmp_path / "bad.json").write_text(json.dumps({"policies": {"mine": [[["Flip", 0.5, 0.5]]]}}))
    proc = run_launch("-m", "method=dada", "aug_model.policy=bad.json", "seed=0,1", check=False)
    assert_refused(proc, "op 'Flip' is not allowed", tmp_path / "outputs")


def test_a_search_leaves_the_run_s_random_stream_as_it_found_it(tmp_path):
    """A run that searched and one that found the table cached draw the same augmentations and initial weights."""
    from hydra import compose, initialize_config_dir

    from conftest import REPO

    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=["method=dada", "aug_model.search_epochs=1", "aug_model.search_size=64"])
    from autodo.tasks.train.dada_table import _search_run

    torch.manual_seed(1)
    before = torch.get_rng_state()
    _search_run(cfg, tmp_path, torch.device("cpu"))
    assert torch.equal(torch.get_rng_state(), before)


def test_the_row_names_say_where_the_table_came_from():
    from autodo.tasks.train.methods import method_name

    assert method_name("DADA", "NONE", "NONE", policy="search") == "DADA (searched here)"
    assert method_name("DADA", "NONE", "NONE", policy="/tables/dada.json") == "DADA (table: dada.json)"
    assert method_name("AUTO", "NONE", "NONE") == "FAA"


@pytest.mark.parametrize("overrides, message", [
    (("dataset=imagenet",), "aug_model.policy=search is not allowed with dataset=imagenet"),
    (("aug_model.keep=106",), "aug_model.keep=106 is not allowed"),
    (("aug_model.search_size=0",), "aug_model.search_size=0 is not allowed"),
])
def test_bad_search_settings_are_refused(run_launch, tmp_path, overrides, message):
    from conftest import assert_refused

    assert_refused(run_launch("method=dada", *overrides, check=False), message, tmp_path / "outputs")
