"""Pieces shared by the interval models: the common input contract and output head."""

from __future__ import annotations

import torch
from torch import nn

#: Outputs of every interval model, in order (see ``ecgviewer.models.checkpoint``).
N_TARGETS = 4


def n_outputs(heteroscedastic: bool, n_targets: int = N_TARGETS) -> int:
    """Width of the last layer: means, plus log-variances when heteroscedastic."""
    return 2 * n_targets if heteroscedastic else n_targets


def check_input(x: torch.Tensor, n_leads: int, n_samples: int) -> None:
    """Raise ``ValueError`` unless ``x`` has shape ``(batch, n_leads, n_samples)``."""
    if x.ndim != 3 or x.shape[1] != n_leads or x.shape[2] != n_samples:
        raise ValueError(f"expected input (batch, {n_leads}, {n_samples}), got {tuple(x.shape)}")


class OutputHead(nn.Module):
    """Linear head giving normalised target means (and log-variances when heteroscedastic).

    The output is ``(batch, n_targets)``, or ``(batch, 2 * n_targets)`` with the
    means first and the log-variances (of the normalised targets) second.
    """

    def __init__(self, in_features: int, heteroscedastic: bool, dropout: float = 0.0) -> None:
        super().__init__()
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(in_features, n_outputs(heteroscedastic))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.dropout(x))
