"""The rotation-pretrained encoder of the active-learning task (autodo.tasks.active_learning.pretrain)."""

import torch
from conftest import run_dirs

from autodo.tasks.active_learning.pretrain import rotated


def test_each_image_is_turned_by_its_label_times_90_degrees():
    images = torch.arange(2 * 3 * 4 * 4, dtype=torch.uint8).reshape(2 * 3, 1, 4, 4)
    turned, turns = rotated(images, torch.Generator().manual_seed(0))
    assert set(turns.tolist()) <= {0, 1, 2, 3} and len(set(turns.tolist())) > 1
    for image, out, k in zip(images, turned, turns.tolist()):
        expected = image
        for _ in range(k):  # a quarter turn counter-clockwise: the last column becomes the first row
            expected = expected.transpose(-2, -1).flip(-2)
        assert torch.equal(out, expected)


def test_one_pretrained_encoder_serves_every_run_of_the_pool(run_launch, tmp_path):
    run_launch("-m", "task=active_learning", "dataset=digits", "dataset.epochs=6", "active_learning.init=rotation",
               "active_learning.acquisition=random,entropy", "active_learning.initial=40",
               "active_learning.budget=20", "active_learning.iterations=1", "active_learning.min_steps=0",
               "device=cpu")
    folders = run_dirs(tmp_path / "outputs")
    assert len(folders) == 2 and all("-rotation-" in folder.name for folder in folders)
    assert len(list((tmp_path / "local_data" / "digits" / "run0").glob("rotation-*.pt"))) == 1
    logs = "".join((folder / "launch.log").read_text() for folder in folders)
    assert logs.count("rotation-pretrained encoder trained") == 1 and logs.count("encoder cached") == 1
    # without labels, the encoder learned to tell the rotations apart (chance: 25%)
    last_epoch = [line for line in logs.splitlines() if "rotation pretraining: epoch 6/6" in line][0]
    assert float(last_epoch.rsplit(" ", 1)[1]) > 60
