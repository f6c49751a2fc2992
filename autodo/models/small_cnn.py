"""A small CNN for 8x8 and 28x28 grey images: fast enough to train on two CPU cores."""

from torch import nn


def _conv_bn_relu(in_channels, out_channels):
    return [
        nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(inplace=True),
    ]


class SmallCNN(nn.Module):
    """Conv-BN-ReLU blocks of ``widths`` channels, 2x2 max-pooling after each of ``pool_after``, then global
    average pooling to a ``widths[-1]``-d feature."""

    def __init__(self, in_channels, widths=(16, 32, 64, 64), pool_after=(0, 1, 2)):
        super().__init__()
        layers, channels = [], in_channels
        for i, width in enumerate(widths):
            layers += _conv_bn_relu(channels, width)
            if i in pool_after:
                layers.append(nn.MaxPool2d(2))
            channels = width
        layers += [nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.body = nn.Sequential(*layers)
        self.out_features = channels

    def forward(self, images):
        return self.body(images)
