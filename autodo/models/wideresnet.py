"""Wide residual networks (Zagoruyko and Komodakis, 2016) for 32x32 images: WRN-28-10 as in the paper,
WRN-16-4 and the like for smaller budgets."""

from torch import nn


class _PreActBlock(nn.Module):
    def __init__(self, in_channels, out_channels, stride, dropout):
        super().__init__()
        self.bn1 = nn.BatchNorm2d(in_channels)
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride=stride, padding=1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, padding=1, bias=False)
        self.dropout = nn.Dropout(dropout)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut = None
        if stride != 1 or in_channels != out_channels:
            self.shortcut = nn.Conv2d(in_channels, out_channels, 1, stride=stride, bias=False)

    def forward(self, x):
        out = self.relu(self.bn1(x))
        # the projection shortcut takes the pre-activated input, as in the original WRN
        shortcut = x if self.shortcut is None else self.shortcut(out)
        out = self.conv1(out)
        out = self.conv2(self.dropout(self.relu(self.bn2(out))))
        return out + shortcut


class WideResNet(nn.Module):
    """WRN-``depth``-``widen_factor``: three stages of (depth - 4) / 6 pre-activation blocks of widths
    16k, 32k, 64k, then BN-ReLU and global average pooling to a 64k-d feature."""

    def __init__(self, in_channels, depth=28, widen_factor=10, dropout=0.0):
        super().__init__()
        if (depth - 4) % 6:
            raise ValueError(f"WideResNet depth must be 6n + 4, got {depth}")
        blocks_per_stage = (depth - 4) // 6
        widths = [16, 16 * widen_factor, 32 * widen_factor, 64 * widen_factor]
        layers = [nn.Conv2d(in_channels, widths[0], 3, padding=1, bias=False)]
        for stage in range(3):
            for block in range(blocks_per_stage):
                stride = 2 if stage > 0 and block == 0 else 1
                in_width = widths[stage] if block == 0 else widths[stage + 1]
                layers.append(_PreActBlock(in_width, widths[stage + 1], stride, dropout))
        layers += [nn.BatchNorm2d(widths[3]), nn.ReLU(inplace=True), nn.AdaptiveAvgPool2d(1), nn.Flatten()]
        self.body = nn.Sequential(*layers)
        self.out_features = widths[3]
        for module in self.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, images):
        return self.body(images)
