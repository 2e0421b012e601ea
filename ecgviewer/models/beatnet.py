"""BeatNet (``"beatnet"``): a small 1-D CNN that classifies one beat from a window centred on it.

Input ``(batch, n_leads + n_rr_features, n_samples)``: the first ``n_leads`` rows are
the beat-centred ECG window (mV, median-centred; the bundled model: one lead, 2.56 s
at 250 Hz, so the previous and the next beat are in view and prematurity and the
compensatory pause show); the last ``n_rr_features`` rows are constant, one RR
feature each (see :func:`ecgviewer.inference.beats.rr_features`), or with
``rr_packed`` one row holding the features in its first samples, so the one-tensor
input contract of every model holds. With two lead rows the second is the record's
template beat (the median beat of the surrounding minute) and ``joint_scale`` scales
both by the beat window's largest value; with four, rows 3 and 4 are the same for the
record's second lead (zeros when it has one), scaled by their own beat window.

The network divides each window by its largest absolute value (at least
``min_scale_mv``), so it sees shapes and the centre beat's size relative to its
neighbours rather than the lead's gain; then ``len(channels)`` stages of
convolution, batch norm, ReLU and 2x max pooling; the flattened feature map (it keeps
*where* in the window a feature is, i.e. which beat) joined with the RR features goes
through one hidden layer to the output head: one logit per beat class (softmax),
or the interval head with ``n_classes = 0`` like every architecture
(:mod:`ecgviewer.models.common`). About 0.1 M parameters and 1.5 M multiply-adds
per beat with the defaults: the ~100 000 beats of a 24 h Holter take about 10 s on one CPU core.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ecgviewer.models.common import OutputHead, check_input
from ecgviewer.models.registry import register_model


@dataclass(frozen=True)
class BeatNetConfig:
    """Hyper-parameters of :class:`BeatNet` (stored in the checkpoint JSON)."""

    n_leads: int = 1
    n_samples: int = 640
    n_rr_features: int = 3
    channels: tuple[int, ...] = (8, 16, 32, 32, 64)
    kernel_size: int = 5
    hidden: int = 64
    dropout: float = 0.2
    min_scale_mv: float = 0.05
    heteroscedastic: bool = False
    #: One logit per beat class (0: interval outputs, see ecgviewer.models.common).
    n_classes: int = 4
    #: The RR features sit in the first samples of one row (``rr_layout: "packed"``), not one
    #: constant row each.
    rr_packed: bool = False
    #: Divide each pair of lead rows (a beat window and its template) by the pair's first row's
    #: largest value (the template is then at the beat's scale), not each row by its own.
    joint_scale: bool = False

    def __post_init__(self) -> None:
        if self.n_leads < 1 or self.n_rr_features < 0:
            raise ValueError("n_leads must be >= 1 and n_rr_features >= 0")
        if not self.channels or min(self.channels) < 1:
            raise ValueError("channels must be positive")
        if self.n_samples >> len(self.channels) < 1:
            raise ValueError(f"n_samples {self.n_samples} too short for {len(self.channels)} pooling stages")
        if self.kernel_size % 2 == 0 or self.hidden < 1 or self.min_scale_mv <= 0:
            raise ValueError("kernel_size must be odd, hidden and min_scale_mv positive")


@register_model("beatnet", BeatNetConfig)
class BeatNet(nn.Module):
    """Input ``(batch, n_leads + n_rr_features, n_samples)``; output ``(batch, n_classes)`` logits."""

    def __init__(self, config: BeatNetConfig) -> None:
        super().__init__()
        self.config = c = config
        layers: list[nn.Module] = []
        c_in = c.n_leads
        for c_out in c.channels:
            layers += [
                nn.Conv1d(c_in, c_out, c.kernel_size, padding=c.kernel_size // 2, bias=False),
                nn.BatchNorm1d(c_out),
                nn.ReLU(inplace=True),
                nn.MaxPool1d(2),
            ]
            c_in = c_out
        self.features = nn.Sequential(*layers)
        n_flat = c_in * (c.n_samples >> len(c.channels))
        self.mlp = nn.Sequential(
            nn.Dropout(c.dropout),
            nn.Linear(n_flat + c.n_rr_features, c.hidden),
            nn.ReLU(inplace=True),
        )
        self.head = OutputHead(c.hidden, c.heteroscedastic, c.dropout, c.n_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv1d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        c = self.config
        n_extra = (1 if c.n_rr_features else 0) if c.rr_packed else c.n_rr_features
        check_input(x, c.n_leads + n_extra, c.n_samples)
        wave = x[:, : c.n_leads]
        scale = wave.abs().amax(dim=2, keepdim=True)
        if c.joint_scale:
            # each (beat window, template) pair by its beat window's largest value
            scale = scale[:, 0::2].repeat_interleave(2, dim=1)[:, : c.n_leads]
        z = self.features(wave / scale.clamp(min=c.min_scale_mv)).flatten(1)
        if c.n_rr_features:
            if c.rr_packed:
                rr = x[:, c.n_leads, : c.n_rr_features]
            else:
                rr = x[:, c.n_leads :].mean(dim=2)
            z = torch.cat([z, rr], dim=1)
        return self.head(self.mlp(z))


@dataclass(frozen=True)
class BeatNetEnsembleConfig(BeatNetConfig):
    """:class:`BeatNetConfig` of every member, and how many members."""

    members: int = 2

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.members < 2 or self.n_classes < 2:
            raise ValueError("an ensemble needs 2 or more members with a class output")

    def member(self) -> BeatNetConfig:
        """The config of one member."""
        fields = {k: v for k, v in vars(self).items() if k != "members"}
        return BeatNetConfig(**fields)


@register_model("beatnet_ensemble", BeatNetEnsembleConfig)
class BeatNetEnsemble(nn.Module):
    """``members`` BeatNets trained apart (different seeds), one input; the output is the log of the
    members' mean softmax (a softmax of it gives the averaged probabilities). Made from trained
    checkpoints by ``python -m trainer ensemble-beats``."""

    def __init__(self, config: BeatNetEnsembleConfig) -> None:
        super().__init__()
        self.config = config
        self.members = nn.ModuleList(BeatNet(config.member()) for _ in range(config.members))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        probs = torch.stack([torch.softmax(m(x).float(), dim=1) for m in self.members]).mean(dim=0)
        return torch.log(probs.clamp(min=1e-12))
