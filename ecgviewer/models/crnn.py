"""Convolutional-recurrent network (``"crnn"``), the best-balanced classifier of "Are ECGs enough?".

In "Are ECGs enough? Deep learning classification of cardiac anomalies using only
electrocardiograms" (arXiv 2025) the CRNN gave the best balance between ease of
training and performance.

Four convolution blocks (kernel 7 convolution, batch norm, ReLU, max pooling by
``pool``) turn the 8 x 5000 input into a sequence of ``5000 / pool**4`` feature
vectors (~20 per second with the defaults); a bidirectional GRU runs over that
sequence, and the GRU outputs are pooled over time by average and max
(concatenated) before the linear head. The convolutions see the waveform of a
beat, the GRU the order of beats (rhythm).

Like every architecture here, ``n_classes > 0`` gives class logits and
``n_classes = 0`` the four interval outputs.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ecgviewer.models.common import OutputHead, check_input
from ecgviewer.models.registry import register_model


@dataclass(frozen=True)
class CrnnConfig:
    """Hyper-parameters of :class:`Crnn` (stored in the checkpoint JSON)."""

    n_leads: int = 8
    n_samples: int = 5000
    conv_channels: tuple[int, ...] = (32, 64, 96, 128)
    kernel_size: int = 7
    pool: int = 3
    rnn_hidden: int = 96
    rnn_layers: int = 1
    dropout: float = 0.3
    heteroscedastic: bool = False
    #: 0: interval outputs; > 0: one logit per class (see ecgviewer.models.common).
    n_classes: int = 0

    def __post_init__(self) -> None:
        if self.n_leads < 1 or not self.conv_channels or min(self.conv_channels) < 1:
            raise ValueError("n_leads and conv_channels must be positive")
        if self.kernel_size % 2 == 0 or self.pool < 1 or self.rnn_hidden < 1 or self.rnn_layers < 1:
            raise ValueError("kernel_size must be odd; pool, rnn_hidden and rnn_layers positive")
        if self.n_samples // self.pool ** len(self.conv_channels) < 2:
            raise ValueError("n_samples too short for the pooling (fewer than 2 steps reach the GRU)")


@register_model("crnn", CrnnConfig)
class Crnn(nn.Module):
    """Input ``(batch, n_leads, n_samples)``; output ``(batch, n_classes)`` logits (or intervals)."""

    def __init__(self, config: CrnnConfig) -> None:
        super().__init__()
        self.config = c = config
        layers: list[nn.Module] = []
        c_in = c.n_leads
        for c_out in c.conv_channels:
            layers += [
                nn.Conv1d(c_in, c_out, c.kernel_size, padding=c.kernel_size // 2, bias=False),
                nn.BatchNorm1d(c_out),
                nn.ReLU(inplace=True),
                nn.MaxPool1d(c.pool),
            ]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        self.rnn = nn.GRU(
            c_in,
            c.rnn_hidden,
            num_layers=c.rnn_layers,
            batch_first=True,
            bidirectional=True,
            dropout=c.dropout if c.rnn_layers > 1 else 0.0,
        )
        self.head = OutputHead(4 * c.rnn_hidden, c.heteroscedastic, c.dropout, c.n_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.config.n_leads, self.config.n_samples)
        seq = self.features(x).transpose(1, 2)  # (batch, steps, channels)
        out, _ = self.rnn(seq)
        pooled = torch.cat([out.mean(dim=1), out.amax(dim=1)], dim=1)
        return self.head(pooled)
