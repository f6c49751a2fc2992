import pytest
import torch
from omegaconf import OmegaConf
from torchvision.transforms import v2

from autodo.augment.choice import build_augmentation
from autodo.augment.policies import FAST_AUTOAUGMENT_OPS, SubPolicyAugment, fast_autoaugment_tables

DATASET = OmegaConf.create({"randaugment": {"num_ops": 2, "magnitude": 9}, "fast_autoaugment": "fa_reduced_svhn",
                            "randsub": {"num_ops": 1, "magnitude": 5}})


def build_policy(name, dataset_cfg=DATASET):
    aug_cfg = OmegaConf.create({"name": name, "init_probability": 0.2, "init_magnitude": 0.5})
    return build_augmentation(aug_cfg, dataset_cfg).item_policy


@pytest.mark.parametrize("name, kind", [("RAND", v2.RandAugment), ("TRIVIAL", v2.TrivialAugmentWide)])
def test_policies_by_name_keep_uint8_images(name, kind):
    policy = build_policy(name, DATASET)
    assert type(policy) is kind
    torch.manual_seed(0)
    image = torch.randint(0, 256, (3, 16, 16), dtype=torch.uint8)
    outputs = [policy(image) for _ in range(20)]
    assert all(o.dtype == torch.uint8 and o.shape == image.shape for o in outputs)
    assert any(not torch.equal(o, image) for o in outputs)


def test_rand_uses_the_data_sets_n_and_m():
    policy = build_policy("RAND", DATASET)
    assert policy.num_ops == 2 and policy.magnitude == 9
    for name in ("NONE", "SHA", "SEP"):
        assert build_policy(name, DATASET) is None


def test_fast_autoaugment_tables_are_the_published_ones():
    from autodo.vocabulary import FAST_AUTOAUGMENT_TABLES

    tables = fast_autoaugment_tables()
    assert tuple(tables) == FAST_AUTOAUGMENT_TABLES  # the names the config accepts
    # the sizes the reference counts: 493 (CIFAR), 497 (SVHN), 498 (ImageNet) sub-policies of two ops
    assert [len(t) for t in tables.values()] == [493, 497, 498]
    for table in tables.values():
        for sub_policy in table:
            assert len(sub_policy) == 2
            assert all(op in FAST_AUTOAUGMENT_OPS and 0 <= p <= 1 and 0 <= level <= 1 for op, p, level in sub_policy)
    # the first CIFAR sub-policy, as published
    assert tables["fa_reduced_cifar10"][0][0][0] == "Contrast"
    assert abs(tables["fa_reduced_cifar10"][0][0][1] - 0.8320659688593578) < 1e-15


def test_auto_samples_the_data_sets_table():
    policy = build_policy("AUTO")
    assert policy.sub_policies is fast_autoaugment_tables()["fa_reduced_svhn"]


@pytest.mark.parametrize("name", sorted(FAST_AUTOAUGMENT_OPS))
@pytest.mark.parametrize("channels", [1, 3])
def test_every_fast_autoaugment_op_keeps_uint8_images(name, channels):
    torch.manual_seed(0)
    image = torch.randint(0, 256, (channels, 16, 16), dtype=torch.uint8)
    out = SubPolicyAugment([[(name, 1.0, 0.9)]])(image)
    assert out.dtype == torch.uint8 and out.shape == image.shape


def test_sub_policy_ops_fire_with_their_probability_and_level():
    image = torch.arange(256, dtype=torch.uint8).view(1, 16, 16)
    assert torch.equal(SubPolicyAugment([[("Invert", 0.0, 0.5)]])(image), image)  # never fires
    assert torch.equal(SubPolicyAugment([[("Invert", 1.0, 0.5)]])(image), 255 - image)
    # Posterize at level 0.5 maps onto 6 bits (range [4, 8]): the two low bits are cleared
    assert torch.equal(SubPolicyAugment([[("Posterize", 1.0, 0.5)]])(image), image & 0b11111100)
    # Solarize inverts the pixels at or above its threshold, and none above 255 (level 1 maps onto 256)
    solarized = torch.where(image >= 128, 255 - image, image)
    assert torch.equal(SubPolicyAugment([[("Solarize", 1.0, 0.5)]])(image), solarized)
    assert torch.equal(SubPolicyAugment([[("Solarize", 1.0, 0.999)]])(image), image)
    # Cutout at level 1 is a grey square of side 0.2 * 16 = 3 pixels
    torch.manual_seed(1)
    cut = SubPolicyAugment([[("Cutout", 1.0, 1.0)]])(torch.zeros(1, 16, 16, dtype=torch.uint8))
    assert (cut == 127).sum() in (6, 9)  # 3 x 3, or clipped to 2 x 3 at an edge
    # TranslateX at level 1 shifts by 0.45 * 16 = 7 pixels, to the left or right
    shifted = {tuple(SubPolicyAugment([[("TranslateX", 1.0, 1.0)]])(image)[0, 0, 7:9].tolist()) for _ in range(20)}
    assert shifted == {(0, 1), (14, 15)}
    # a fired op is chosen per image: probability 0.5 leaves about half the images as they were
    torch.manual_seed(2)
    policy = SubPolicyAugment([[("Invert", 0.5, 0.0)]])
    unchanged = sum(torch.equal(policy(image), image) for _ in range(400))
    assert 160 < unchanged < 240


def test_unknown_ops_are_refused():
    with pytest.raises(ValueError, match=r"unknown augmentation ops \['Flip'\]"):
        SubPolicyAugment([[("Flip", 0.5, 0.5)]])
