import torch
from hydra import compose, initialize_config_dir

from autodo.augment.choice import build_augmentation
from autodo.data.pipeline import build_run_data
from conftest import REPO


def run_data(tmp_path, *overrides):
    with initialize_config_dir(config_dir=str(REPO / "conf"), version_base="1.3"):
        cfg = compose("config", overrides=list(overrides))
    return build_run_data(cfg, tmp_path, torch.device("cpu"), build_augmentation(cfg.aug_model, cfg.dataset))


def test_loaders_of_a_plain_run(tmp_path):
    data = run_data(tmp_path, "ir=10", "nr=0.1")
    assert data.hyper_train_loader is None and list(data.generators) == ["train"]
    train = data.train_loader.dataset
    assert len(train) == data.record["train_size"] and len(data.valid_loader.dataset) == 300
    assert train.transform is None
    assert (train.labels != data.clean_train_labels).sum() == data.record["wrong_label_count"]


def test_hyper_loaders_use_the_validation_set_or_with_overfit_the_test_set(tmp_path):
    data = run_data(tmp_path, "los_model=WGHT", "hyper_opt=HES")
    assert data.hyper_valid_loader is data.valid_loader
    assert data.hyper_train_loader.batch_size == 128 and data.hyper_train_loader.drop_last
    assert set(data.generators) == {"train", "hyper_train", "hyper_valid"}
    data = run_data(tmp_path, "los_model=WGHT", "hyper_opt=HES", "overfit=true")
    assert data.hyper_valid_loader is data.test_loader


def test_policy_runs_in_the_train_loader_only(tmp_path):
    data = run_data(tmp_path, "aug_model=RAND")
    assert data.train_loader.dataset.transform is not None
    assert data.valid_loader.dataset.transform is None and data.test_loader.dataset.transform is None


def test_a_policys_train_images_do_not_depend_on_the_number_of_loader_workers(tmp_path):
    """RandAugment's images in a run's first two train passes, with the hyper loader's too: the same with 0 and 2
    workers, each loader drawing from a stream of its own that a checkpoint saves."""
    images = {}
    for workers in (0, 2):
        data = run_data(tmp_path, "aug_model=RAND", "los_model=WGHT", "hyper_opt=HES", f"num_workers={workers}")
        assert {"train_items", "hyper_train_items"} <= set(data.generators)
        images[workers] = [torch.cat([batch[0] for batch in loader])
                           for loader in (data.train_loader, data.train_loader, data.hyper_train_loader)]
    for main, workers in zip(images[0], images[2]):
        assert torch.equal(main, workers)
