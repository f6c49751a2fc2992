import pytest
import torch
from omegaconf import OmegaConf
from torchvision.transforms import v2

from autodo.augment.policies import build_policy

DATASET = OmegaConf.create({"randaugment": {"num_ops": 2, "magnitude": 9}})


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
