"""The one place that chooses a run's augmentation: each aug_model gets its kind and nothing else."""

import pytest
from omegaconf import OmegaConf
from torchvision.transforms import v2

from autodo.augment.affine import LearnedAffine
from autodo.augment.choice import build_augmentation
from autodo.augment.colour import BatchRandSub
from autodo.augment.policies import SubPolicyAugment

DATASET = OmegaConf.create({"randaugment": {"num_ops": 2, "magnitude": 9}, "fast_autoaugment": "fa_reduced_svhn",
                            "randsub": {"num_ops": 1, "magnitude": 5}})


def augmentation(name):
    return build_augmentation(OmegaConf.create({"name": name, "init_probability": 0.1, "init_magnitude": 0.3}),
                              DATASET)


@pytest.mark.parametrize("name, policy", [("NONE", None), ("RAND", v2.RandAugment), ("TRIVIAL", v2.TrivialAugmentWide),
                                          ("AUTO", SubPolicyAugment), ("SHA", None), ("SEP", None)])
def test_each_model_gets_its_policy_colour_ops_and_learned_part(name, policy):
    chosen = augmentation(name)
    assert (type(chosen.item_policy) if policy else chosen.item_policy) is policy
    learned = chosen.learned_model(num_samples=5)
    assert isinstance(chosen.colour, BatchRandSub) == isinstance(learned, LearnedAffine) == (name in ("SHA", "SEP"))
    if learned is not None:
        assert learned.probability_logits.shape == ((1 if name == "SHA" else 5), 7)
        assert learned.summary()["aug_rotate_p"] == pytest.approx(0.1)
        assert learned.summary()["aug_rotate_m"] == pytest.approx(0.3)
