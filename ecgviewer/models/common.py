"""Pieces shared by every model: the common input contract and the output head.

Every architecture serves both tasks through its config's ``n_classes``: 0 (the
default) gives the interval head (4 normalised targets, or 8 with log-variances),
``n_classes > 0`` gives one logit per class (record statements or beat classes).
A backbone trained for one task can so start the training of the other
(``trainer classify --init``).
"""

from __future__ import annotations

import torch
from torch import nn

#: Outputs of every interval model, in order (see ``ecgviewer.models.checkpoint``).
N_TARGETS = 4


def n_outputs(heteroscedastic: bool, n_targets: int = N_TARGETS, n_classes: int = 0) -> int:
    """Width of the last layer: class logits, or means plus log-variances when heteroscedastic."""
    if n_classes:
        return n_classes
    return 2 * n_targets if heteroscedastic else n_targets


def check_head(n_classes: int, heteroscedastic: bool) -> None:
    """Raise ``ValueError`` for a negative class count or a heteroscedastic classifier."""
    if n_classes < 0:
        raise ValueError("n_classes must be >= 0 (0 = interval outputs)")
    if n_classes and heteroscedastic:
        raise ValueError("heteroscedastic applies to interval outputs only (n_classes must be 0)")


def check_input(x: torch.Tensor, n_leads: int, n_samples: int) -> None:
    """Raise ``ValueError`` unless ``x`` has shape ``(batch, n_leads, n_samples)``."""
    if x.ndim != 3 or x.shape[1] != n_leads or x.shape[2] != n_samples:
        raise ValueError(f"expected input (batch, {n_leads}, {n_samples}), got {tuple(x.shape)}")


class OutputHead(nn.Module):
    """Linear head: normalised target means (and log-variances), or class logits.

    The output is ``(batch, n_targets)``, or ``(batch, 2 * n_targets)`` with the
    means first and the log-variances (of the normalised targets) second, or
    ``(batch, n_classes)`` logits when ``n_classes > 0``.
    """

    def __init__(
        self, in_features: int, heteroscedastic: bool, dropout: float = 0.0, n_classes: int = 0
    ) -> None:
        super().__init__()
        check_head(n_classes, heteroscedastic)
        self.dropout = nn.Dropout(dropout)
        self.linear = nn.Linear(in_features, n_outputs(heteroscedastic, n_classes=n_classes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(self.dropout(x))
