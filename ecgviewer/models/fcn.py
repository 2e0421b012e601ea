"""Fully connected baseline (``"fcn"``), for comparison only.

The baseline of Alahakoon, Perera and Srimal ("Comprehensive ECG analysis with Deep
Learning") is a plain multi-layer perceptron on the flattened ECG. Flattening
8 x 5000 samples into a dense layer would need ~10 M weights per 256 hidden units, so
this version first averages non-overlapping blocks of ``input_pool`` samples (10 ->
50 Hz, 8 x 500 = 4000 features), then applies ``hidden`` ReLU layers and the common
4-output head. It is not bundled as a checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ecgviewer.models.common import OutputHead, check_input
from ecgviewer.models.registry import register_model


@dataclass(frozen=True)
class FcnConfig:
    """Hyper-parameters of :class:`Fcn`."""

    n_leads: int = 8
    n_samples: int = 5000
    input_pool: int = 10
    hidden: tuple[int, ...] = (256, 128)
    dropout: float = 0.2
    heteroscedastic: bool = False
    #: 0: interval outputs; > 0: one logit per class (see ecgviewer.models.common).
    n_classes: int = 0

    def __post_init__(self) -> None:
        if self.input_pool < 1 or self.n_samples % self.input_pool:
            raise ValueError("n_samples must be a multiple of input_pool")


@register_model("fcn", FcnConfig)
class Fcn(nn.Module):
    """MLP on the (block-averaged) flattened leads."""

    def __init__(self, config: FcnConfig) -> None:
        super().__init__()
        self.config = config
        layers: list[nn.Module] = [nn.AvgPool1d(config.input_pool), nn.Flatten()]
        width = config.n_leads * config.n_samples // config.input_pool
        for h in config.hidden:
            layers += [nn.Linear(width, h), nn.ReLU(inplace=True), nn.Dropout(config.dropout)]
            width = h
        self.body = nn.Sequential(*layers)
        self.head = OutputHead(width, config.heteroscedastic, n_classes=config.n_classes)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.config.n_leads, self.config.n_samples)
        return self.head(self.body(x))
