import torch

from autodo.data.datasets import LabelledSubset, make_loader
from autodo.data.sources import TensorImages
from autodo.data.transforms import BatchTransform
from autodo.engine import evaluate, train_one_epoch
from autodo.losses import LossModel


def toy_loader(n=40, batch=8, shuffle=False):
    torch.manual_seed(0)
    images = torch.randint(0, 256, (n, 1, 4, 4), dtype=torch.uint8)
    labels = torch.arange(n) % 3
    subset = LabelledSubset(TensorImages(images, labels), torch.arange(n), labels)
    return make_loader(subset, batch, shuffle=shuffle, num_workers=0, generator=torch.Generator().manual_seed(0))


def model():
    torch.manual_seed(1)
    return torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(16, 3))


def test_evaluate_matches_a_direct_computation():
    net, loader, transform = model(), toy_loader(), BatchTransform([0.5], [0.25])
    stats = evaluate(net, loader, transform, torch.device("cpu"), 3, amp=False)
    images, labels = loader.dataset.source.images, loader.dataset.labels
    logits = net(transform(images))
    predictions = logits.argmax(1)
    assert abs(stats["loss"] - torch.nn.functional.cross_entropy(logits, labels).item()) < 1e-5
    assert abs(stats["acc"] - 100 * (predictions == labels).float().mean().item()) < 1e-4
    for c in range(3):
        expected = 100 * (predictions[labels == c] == c).float().mean().item()
        assert abs(stats["per_class_acc"][c] - expected) < 1e-4


def test_train_one_epoch_steps_optimiser_and_scheduler_once_per_batch():
    net, loader = model(), toy_loader(shuffle=True)
    optimizer = torch.optim.SGD(net.parameters(), lr=0.1)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    before = [p.clone() for p in net.parameters()]
    loss_model = LossModel(loader.dataset.labels, 3, learn_weights=True, learn_soft_labels=False, symmetric=False)
    stats = train_one_epoch(net, loader, BatchTransform([0.5], [0.25]), None, loss_model, optimizer, scheduler,
                            torch.amp.GradScaler("cpu", enabled=False), torch.device("cpu"), amp=False)
    assert scheduler.last_epoch == len(loader) == 5
    assert all(not torch.equal(a, b) for a, b in zip(before, net.parameters()))
    assert stats["loss"] > 0 and 0 <= stats["acc"] <= 100
    assert loss_model.weight_logits.grad is None  # lambda gets no gradient from the network's step


def test_accuracy_on_the_wrong_labels_is_the_share_of_them_the_network_predicts():
    """With lr 0 the network does not change during the epoch: its predictions, computed directly, decide which
    wrong labels it 'memorised'."""
    net, loader, transform = model(), toy_loader(shuffle=True), BatchTransform([0.5], [0.25])
    optimizer = torch.optim.SGD(net.parameters(), lr=0.0)
    scheduler = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0)
    wrong = torch.arange(40) % 4 == 0  # ten samples whose labels are wrong
    loss_model = LossModel(loader.dataset.labels, 3, learn_weights=False, learn_soft_labels=False, symmetric=False)
    stats = train_one_epoch(net, loader, transform, None, loss_model, optimizer, scheduler,
                            torch.amp.GradScaler("cpu", enabled=False), torch.device("cpu"), amp=False, wrong=wrong)
    predictions = net(transform(loader.dataset.source.images)).argmax(1)
    hits = predictions[wrong] == loader.dataset.labels[wrong]
    assert stats["acc_wrong_labels"] == 100 * hits.sum().item() / 10
    assert 0 < hits.sum() < 10  # the check is not trivial
