"""ResNet18-style 1-D network (``"resnet18_1d"``), the classifier backbone of "Are ECGs enough?".

In "Are ECGs enough? Deep learning classification of cardiac anomalies using only
electrocardiograms" (arXiv 2025) ResNet18 was a strong and stable feature extractor.

The 2-D ResNet18 (He et al. 2016) turned 1-D as in the PTB-XL benchmark
(Strodthoff et al. 2021, ``resnet1d``/``xresnet1d`` families): a kernel-15 stem
convolution with stride 2, batch norm, ReLU and max pooling, then four stages of
two basic residual blocks (two convolutions of kernel 7 with batch norm) at 64,
128, 256 and 512 channels, the first block of stages 2-4 striding by 2; then
*concat pooling* (global average and global max over time, concatenated) and a
linear head. ~8.7 M parameters with the defaults (the bundled ``ptbxl_resnet18``
uses narrower stages, see its JSON).

With ``n_classes > 0`` the head gives one logit per class (multi-label record
statements with sigmoid, or softmax beat classes); with ``n_classes = 0`` it
predicts the four intervals like the interval models, so a backbone
pretrained on intervals can start a classifier and vice versa.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ecgviewer.models.common import OutputHead, check_input
from ecgviewer.models.registry import register_model
from ecgviewer.models.resnet1d import ResidualBlock


@dataclass(frozen=True)
class ResNet18_1dConfig:
    """Hyper-parameters of :class:`ResNet18_1d` (stored in the checkpoint JSON)."""

    n_leads: int = 8
    n_samples: int = 5000
    stem_channels: int = 64
    stem_kernel: int = 15
    stage_channels: tuple[int, ...] = (64, 128, 256, 512)
    blocks_per_stage: int = 2
    kernel_size: int = 7
    dropout: float = 0.3
    heteroscedastic: bool = False
    #: 0: interval outputs; > 0: one logit per class (see ecgviewer.models.common).
    n_classes: int = 0

    def __post_init__(self) -> None:
        if self.n_leads < 1 or self.n_samples < 64:
            raise ValueError("n_leads must be >= 1 and n_samples >= 64")
        if not self.stage_channels or min(self.stage_channels) < 1 or self.blocks_per_stage < 1:
            raise ValueError("stage_channels and blocks_per_stage must be positive")
        if self.kernel_size % 2 == 0 or self.stem_kernel % 2 == 0:
            raise ValueError("kernel sizes must be odd")


@register_model("resnet18_1d", ResNet18_1dConfig)
class ResNet18_1d(nn.Module):
    """Input ``(batch, n_leads, n_samples)``; output ``(batch, n_classes)`` logits (or intervals)."""

    def __init__(self, config: ResNet18_1dConfig) -> None:
        super().__init__()
        self.config = c = config
        self.stem = nn.Sequential(
            nn.Conv1d(
                c.n_leads, c.stem_channels, c.stem_kernel, stride=2, padding=c.stem_kernel // 2, bias=False
            ),
            nn.BatchNorm1d(c.stem_channels),
            nn.ReLU(inplace=True),
            nn.MaxPool1d(3, stride=2, padding=1),
        )
        blocks: list[nn.Module] = []
        c_in = c.stem_channels
        for s, c_out in enumerate(c.stage_channels):
            for i in range(c.blocks_per_stage):
                stride = 2 if i == 0 and s > 0 else 1
                blocks.append(ResidualBlock(c_in, c_out, c.kernel_size, stride=stride))
                c_in = c_out
        self.blocks = nn.Sequential(*blocks)
        self.head = OutputHead(2 * c_in, c.heteroscedastic, c.dropout, c.n_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.config.n_leads, self.config.n_samples)
        x = self.blocks(self.stem(x))
        pooled = torch.cat([x.mean(dim=2), x.amax(dim=2)], dim=1)
        return self.head(pooled)
