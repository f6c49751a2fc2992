import pytest
import torch
from hydra import compose, initialize_config_dir

from autodo.models import Classifier, build_classifier
from autodo.models.wideresnet import WideResNet

CONF = str(__import__("pathlib").Path(__file__).resolve().parents[2] / "conf")


def model_cfg(name):
    with initialize_config_dir(config_dir=CONF, version_base="1.3"):
        return compose("config", overrides=[f"model={name}"]).model


@pytest.mark.parametrize(
    "name, channels, size, features",
    [("small_cnn", 1, 8, 64), ("small_cnn", 1, 28, 64), ("wrn16_4", 3, 32, 256), ("resnet18", 3, 64, 512)],
)
def test_presets_give_logits_and_a_linear_head(name, channels, size, features):
    model = build_classifier(model_cfg(name), channels, 7)
    assert isinstance(model, Classifier) and isinstance(model.head, torch.nn.Linear)
    assert model.head.in_features == features == model.encoder.out_features
    images = torch.randn(2, channels, size, size)
    assert model(images).shape == (2, 7)
    torch.testing.assert_close(model(images), model.head(model.encoder(images)))


def test_wrn28_10_has_the_papers_size():
    encoder = WideResNet(3, depth=28, widen_factor=10)
    assert encoder.out_features == 640
    assert 36.0e6 < sum(p.numel() for p in encoder.parameters()) < 36.6e6


def test_wrn_depth_must_be_6n_plus_4():
    with pytest.raises(ValueError, match="6n"):
        WideResNet(3, depth=20)


def test_resnet18_takes_grey_images():
    model = build_classifier(model_cfg("resnet18"), 1, 10)
    assert model(torch.randn(2, 1, 32, 32)).shape == (2, 10)


def test_weights_and_features_are_channels_last():
    model = build_classifier(model_cfg("small_cnn"), 1, 3)
    conv = next(m for m in model.modules() if isinstance(m, torch.nn.Conv2d))
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    hidden = model.encoder.body[:3](torch.randn(2, 1, 8, 8))  # a contiguous input: conv, batch norm, ReLU
    assert hidden.is_contiguous(memory_format=torch.channels_last) and not hidden.is_contiguous()
