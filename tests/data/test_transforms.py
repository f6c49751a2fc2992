import pytest
import torch
from omegaconf import OmegaConf

from autodo.data.transforms import BatchTransform, build_item_transforms, build_train_transform


def test_normalisation_matches_a_direct_computation():
    images = torch.randint(0, 256, (4, 3, 5, 5), dtype=torch.uint8)
    mean, std = [0.1, 0.2, 0.3], [0.5, 0.25, 0.2]
    out = BatchTransform(mean, std)(images)
    expected = (images.float() / 255 - torch.tensor(mean).view(1, 3, 1, 1)) / torch.tensor(std).view(1, 3, 1, 1)
    torch.testing.assert_close(out, expected)


def augment(**keys):
    return OmegaConf.create({"crop_padding": 0, "hflip": False, "erasing": False, **keys})


def test_no_augmentation_is_the_evaluation_transform():
    images = torch.randint(0, 256, (4, 1, 8, 8), dtype=torch.uint8)
    train = build_train_transform(augment(), (8, 8), [0.5], [0.5])
    torch.testing.assert_close(train(images), BatchTransform([0.5], [0.5])(images))


def test_crop_flip_erasing_keep_the_shape_and_vary_per_sample():
    torch.manual_seed(0)
    images = torch.randint(1, 256, (64, 3, 8, 8), dtype=torch.uint8).float().div(255)
    images = images[:1].expand(64, -1, -1, -1).contiguous()  # 64 copies of one image
    train = build_train_transform(augment(crop_padding=2, hflip=True, erasing=True), (8, 8), [0.0] * 3, [1.0] * 3)
    out = train(images)
    assert out.shape == images.shape
    distinct = {tuple(x.flatten().tolist()) for x in out}
    assert len(distinct) > 10  # per-sample parameters, not one draw for the batch
    assert (out == 0).any()  # padding or erasing left zeros


@pytest.mark.parametrize("resize", [None, 12])
def test_item_transforms_only_for_sources_of_varying_size(resize):
    cfg = OmegaConf.create({"resize": resize, "crop": 10})
    train, evaluation = build_item_transforms(cfg)
    if resize is None:
        assert train is None and evaluation is None
    else:
        image = torch.randint(0, 256, (3, 20, 30), dtype=torch.uint8)
        assert train(image).shape == (3, 10, 10) and evaluation(image).shape == (3, 10, 10)
