"""1-D residual network for PR/QRS/QT/RR regression (``"resnet1d"``).

After the ResNet of Alahakoon, Perera and Srimal, "Comprehensive ECG analysis with Deep
Learning" (itself after Hicks et al., "Explaining deep
neural networks for knowledge discovery in electrocardiogram analysis"): a wide
first convolution (kernel 8) with batch norm, average pooling, then eight residual
blocks of two kernel-3 convolutions with batch norm, and a linear head with four
outputs. Input: the 8 independent leads (I, II, V1-V6) x 5000 samples (10 s at
500 Hz), in the scaling stored in the checkpoint.

Differences from the paper's network, chosen for CPU latency and small files:

* **Downsampling early.** The stem convolution has stride 2 and is followed by
  average pooling (x2), and the first block of each of the four stages has stride 2,
  so the blocks run on 1250, 625, 313 and 157 time steps instead of thousands.
  A sample at 157 time steps still spans 64 ms of the 10 s input, and the receptive
  field of the last block covers several beats.
* **Constant, small widths.** Stages of 32, 48, 64, 64 channels (configurable,
  64 max by default) instead of alternating 64/32 feature maps.
* **Global average pooling** before the head instead of flattening the whole
  feature map into a giant dense layer: ~0.2 M parameters in all, ~60 M MACs
  per record, a few ms per record on a 2-core CPU, independent of input length.
* **Projection shortcuts** (1x1 convolution + batch norm) where a block changes
  width or stride; identity shortcuts otherwise.
* Optional **heteroscedastic head** (4 means + 4 log-variances), off by default.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ecgviewer.models.common import OutputHead, check_input
from ecgviewer.models.registry import register_model


@dataclass(frozen=True)
class ResNet1dConfig:
    """Hyper-parameters of :class:`ResNet1d` (stored in the checkpoint JSON)."""

    n_leads: int = 8
    n_samples: int = 5000
    stem_channels: int = 32
    stem_kernel: int = 8
    stage_channels: tuple[int, ...] = (32, 48, 64, 64)
    blocks_per_stage: int = 2
    kernel_size: int = 3
    dropout: float = 0.1
    heteroscedastic: bool = False
    #: 0: interval outputs; > 0: one logit per class (see ecgviewer.models.common).
    n_classes: int = 0

    def __post_init__(self) -> None:
        if self.n_leads < 1 or self.n_samples < 64:
            raise ValueError("n_leads must be >= 1 and n_samples >= 64")
        if not self.stage_channels or min(self.stage_channels) < 1 or self.blocks_per_stage < 1:
            raise ValueError("stage_channels and blocks_per_stage must be positive")
        if self.kernel_size % 2 == 0:
            raise ValueError("kernel_size must be odd")


class ResidualBlock(nn.Module):
    """conv(k)-BN-ReLU-conv(k)-BN plus shortcut, then ReLU."""

    def __init__(self, c_in: int, c_out: int, kernel_size: int, stride: int) -> None:
        super().__init__()
        pad = kernel_size // 2
        self.conv1 = nn.Conv1d(c_in, c_out, kernel_size, stride=stride, padding=pad, bias=False)
        self.bn1 = nn.BatchNorm1d(c_out)
        self.conv2 = nn.Conv1d(c_out, c_out, kernel_size, padding=pad, bias=False)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or c_in != c_out:
            self.shortcut = nn.Sequential(
                nn.Conv1d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm1d(c_out)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu(y + self.shortcut(x))


@register_model("resnet1d", ResNet1dConfig)
class ResNet1d(nn.Module):
    """The lean 1-D ResNet; input ``(batch, n_leads, n_samples)``, output ``(batch, 4 or 8)``."""

    def __init__(self, config: ResNet1dConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.stem = nn.Sequential(
            nn.Conv1d(
                c.n_leads, c.stem_channels, c.stem_kernel, stride=2, padding=c.stem_kernel // 2, bias=False
            ),
            nn.BatchNorm1d(c.stem_channels),
            nn.ReLU(inplace=True),
            nn.AvgPool1d(2),
        )
        blocks: list[nn.Module] = []
        c_in = c.stem_channels
        for c_out in c.stage_channels:
            for i in range(c.blocks_per_stage):
                blocks.append(ResidualBlock(c_in, c_out, c.kernel_size, stride=2 if i == 0 else 1))
                c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.pool = nn.AdaptiveAvgPool1d(1)
        self.head = OutputHead(c_in, c.heteroscedastic, c.dropout, c.n_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.config.n_leads, self.config.n_samples)
        x = self.blocks(self.stem(x))
        return self.head(self.pool(x).flatten(1))
