"""torchvision's ResNet-18 (ImageNet stem) as an encoder: everything up to the pooled 512-d feature."""

import torchvision
from torch import nn


class ResNet18(nn.Module):
    def __init__(self, in_channels=3):
        super().__init__()
        net = torchvision.models.resnet18(weights=None)
        if in_channels != 3:
            net.conv1 = nn.Conv2d(in_channels, 64, kernel_size=7, stride=2, padding=3, bias=False)
        net.fc = nn.Identity()
        self.body = net
        self.out_features = 512

    def forward(self, images):
        return self.body(images)
