"""Wave delineation networks: per-sample P / QRS / T segmentation of any set of leads.

Two architectures, both registered for checkpoints with ``task: "delineation"``:

* ``"unet1d"`` -- a 1-D ResNet encoder-decoder (U-Net): residual blocks at 1, 1/2,
  1/4, 1/8 and 1/16 of the input rate, transposed-convolution upsampling with skip
  connections back to full rate;
* ``"vit_seg1d"`` -- a ViT encoder over non-overlapping patches (8 samples, 32 ms
  at 250 Hz) with a convolutional full-rate stem whose features are added back
  before the per-sample head, so that boundaries keep single-sample precision.

**Why segmentation, not onset/offset heat-maps.** LUDB and QTDB annotate *waves*
(onset, peak, offset); a per-sample class (background, P, QRS, T) is exactly that
annotation, a missing wave (no P in atrial fibrillation) is simply a stretch without
that class instead of a heat-map peak that must be thresholded, and the boundaries
are the edges of the regions. The same choice is made by the LUDB U-Net literature
(Moskalenko et al. 2019; Jimenez-Perez et al. 2021).

**Any lead, any number of leads.** The input is ``(batch, n_leads, n_samples)`` with
any ``n_leads >= 1``: every lead runs through the *same* network (a lead is a lead),
and at the bottleneck a **cross-lead fusion** step adds to each lead a projection of
the mean of all leads' features (a permutation-invariant "DeepSets" pooling). With
one lead the mean is that lead itself, so a single-lead recording is an ordinary
input; training drops leads at random so the network does not depend on any.
``lead_mask`` (``(batch, n_leads)`` bool) marks padded leads that the mean ignores.

Input: mV of one window, minus the per-lead median, at ``fs_hz`` of the checkpoint
(250 Hz); ``n_samples`` a multiple of :attr:`stride` (the inference pads). Output:
logits ``(batch, n_leads, 4, n_samples)`` for :data:`WAVE_CLASSES`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.nn import functional as F

from ecgviewer.core.delineation import WAVE_CLASSES
from ecgviewer.models.registry import register_model


def _check(x: torch.Tensor, stride: int) -> None:
    if x.ndim != 3 or x.shape[1] < 1 or x.shape[2] % stride:
        raise ValueError(
            f"expected input (batch, leads >= 1, samples multiple of {stride}), got {tuple(x.shape)}"
        )


def _fold(x: torch.Tensor) -> torch.Tensor:
    """``(B, L, T)`` -> ``(B*L, 1, T)``."""
    b, n_leads, t = x.shape
    return x.reshape(b * n_leads, 1, t)


class LeadFusion(nn.Module):
    """Adds to each lead's features a projection of the (masked) mean over the record's leads."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.proj = nn.Conv1d(channels, channels, 1)
        self.gate = nn.Conv1d(2 * channels, channels, 1)

    def forward(self, h: torch.Tensor, n_leads: int, lead_mask: torch.Tensor | None) -> torch.Tensor:
        bl, c, t = h.shape
        hb = h.reshape(bl // n_leads, n_leads, c, t)
        if lead_mask is None:
            mean = hb.mean(dim=1)
        else:
            w = lead_mask.to(h.dtype)[:, :, None, None]
            mean = (hb * w).sum(1) / w.sum(1).clamp_min(1.0)
        shared = self.proj(mean)[:, None].expand(-1, n_leads, -1, -1).reshape(bl, c, t)
        return h + self.gate(torch.cat([h, shared], dim=1))


class ResBlock(nn.Module):
    """Two convolutions with batch norm and a (projected) shortcut; ``stride`` 2 halves the rate."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int = 1, dropout: float = 0.0) -> None:
        super().__init__()
        pad = kernel // 2
        self.conv1 = nn.Conv1d(c_in, c_out, kernel, stride=stride, padding=pad, bias=False)
        self.bn1 = nn.BatchNorm1d(c_out)
        self.conv2 = nn.Conv1d(c_out, c_out, kernel, padding=pad, bias=False)
        self.bn2 = nn.BatchNorm1d(c_out)
        self.drop = nn.Dropout(dropout)
        self.short = (
            nn.Identity()
            if c_in == c_out and stride == 1
            else nn.Sequential(nn.Conv1d(c_in, c_out, 1, stride=stride, bias=False), nn.BatchNorm1d(c_out))
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(self.drop(y)))
        return F.relu(y + self.short(x))


@dataclass(frozen=True)
class UNet1dConfig:
    """Hyper-parameters of :class:`UNet1d` (stored in the checkpoint JSON)."""

    channels: tuple[int, ...] = (8, 16, 24, 32, 48)
    kernel_size: int = 9
    dropout: float = 0.1
    n_classes: int = len(WAVE_CLASSES)
    fusion: bool = True

    def __post_init__(self) -> None:
        if len(self.channels) < 2 or min(self.channels) < 1:
            raise ValueError("channels needs at least two positive widths")
        if self.kernel_size % 2 == 0:
            raise ValueError("kernel_size must be odd")
        if self.n_classes != len(WAVE_CLASSES):
            raise ValueError(f"n_classes must be {len(WAVE_CLASSES)} ({', '.join(WAVE_CLASSES)})")


@register_model("unet1d", UNet1dConfig)
class UNet1d(nn.Module):
    """ResNet U-Net; ``(B, L, T)`` -> logits ``(B, L, 4, T)``, shared over leads, fused at the bottleneck."""

    def __init__(self, config: UNet1dConfig) -> None:
        super().__init__()
        self.config = config
        ch, k = config.channels, config.kernel_size
        self.stem = nn.Sequential(
            nn.Conv1d(1, ch[0], k, padding=k // 2, bias=False), nn.BatchNorm1d(ch[0]), nn.ReLU()
        )
        self.enc0 = ResBlock(ch[0], ch[0], k)
        self.down = nn.ModuleList(
            ResBlock(ch[i], ch[i + 1], k, stride=2, dropout=config.dropout) for i in range(len(ch) - 1)
        )
        self.fusion = LeadFusion(ch[-1]) if config.fusion else None
        self.up = nn.ModuleList(nn.ConvTranspose1d(ch[i + 1], ch[i], 2, stride=2) for i in range(len(ch) - 1))
        self.dec = nn.ModuleList(ResBlock(2 * ch[i], ch[i], k) for i in range(len(ch) - 1))
        self.head = nn.Conv1d(ch[0], config.n_classes, 1)

    @property
    def stride(self) -> int:
        """Input lengths must be multiples of this."""
        return 2 ** (len(self.config.channels) - 1)

    def forward(self, x: torch.Tensor, lead_mask: torch.Tensor | None = None) -> torch.Tensor:
        _check(x, self.stride)
        b, n_leads, t = x.shape
        h = self.enc0(self.stem(_fold(x)))
        skips = [h]
        for block in self.down:
            h = block(h)
            skips.append(h)
        if self.fusion is not None:
            h = self.fusion(h, n_leads, lead_mask)
        for i in reversed(range(len(self.up))):
            h = self.dec[i](torch.cat([self.up[i](h), skips[i]], dim=1))
        return self.head(h).reshape(b, n_leads, self.config.n_classes, t)


@dataclass(frozen=True)
class ViTSeg1dConfig:
    """Hyper-parameters of :class:`ViTSeg1d` (stored in the checkpoint JSON)."""

    patch_samples: int = 8
    max_patches: int = 640
    d_model: int = 64
    depth: int = 4
    n_heads: int = 4
    mlp_dim: int = 128
    stem_channels: int = 16
    kernel_size: int = 9
    dropout: float = 0.1
    n_classes: int = len(WAVE_CLASSES)
    fusion: bool = True

    def __post_init__(self) -> None:
        if self.d_model % self.n_heads:
            raise ValueError("d_model must be a multiple of n_heads")
        if self.patch_samples < 1 or self.max_patches < 1 or self.depth < 1:
            raise ValueError("patch_samples, max_patches and depth must be positive")
        if self.kernel_size % 2 == 0:
            raise ValueError("kernel_size must be odd")
        if self.n_classes != len(WAVE_CLASSES):
            raise ValueError(f"n_classes must be {len(WAVE_CLASSES)} ({', '.join(WAVE_CLASSES)})")


@register_model("vit_seg1d", ViTSeg1dConfig)
class ViTSeg1d(nn.Module):
    """Patch transformer per lead with cross-lead fusion half-way; ``(B, L, T)`` -> ``(B, L, 4, T)``."""

    def __init__(self, config: ViTSeg1dConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        k = c.kernel_size
        self.stem = nn.Sequential(
            nn.Conv1d(1, c.stem_channels, k, padding=k // 2, bias=False),
            nn.BatchNorm1d(c.stem_channels),
            nn.ReLU(),
            nn.Conv1d(c.stem_channels, c.stem_channels, k, padding=k // 2, bias=False),
            nn.BatchNorm1d(c.stem_channels),
            nn.ReLU(),
        )
        self.patch_embed = nn.Conv1d(c.stem_channels, c.d_model, c.patch_samples, stride=c.patch_samples)
        self.pos_embed = nn.Parameter(torch.zeros(1, c.max_patches, c.d_model))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)

        def layers(n: int) -> nn.TransformerEncoder:
            layer = nn.TransformerEncoderLayer(
                c.d_model,
                c.n_heads,
                c.mlp_dim,
                c.dropout,
                activation="gelu",
                batch_first=True,
                norm_first=True,
            )
            return nn.TransformerEncoder(layer, n, enable_nested_tensor=False)

        first = max(1, c.depth // 2)
        self.encoder1 = layers(first)
        self.encoder2 = layers(c.depth - first) if c.depth > first else None
        self.fusion = LeadFusion(c.d_model) if c.fusion else None
        self.norm = nn.LayerNorm(c.d_model)
        self.unpatch = nn.ConvTranspose1d(c.d_model, c.stem_channels, c.patch_samples, stride=c.patch_samples)
        self.refine = ResBlock(2 * c.stem_channels, c.stem_channels, k)
        self.head = nn.Conv1d(c.stem_channels, c.n_classes, 1)

    @property
    def stride(self) -> int:
        """Input lengths must be multiples of this."""
        return self.config.patch_samples

    def forward(self, x: torch.Tensor, lead_mask: torch.Tensor | None = None) -> torch.Tensor:
        _check(x, self.stride)
        b, n_leads, t = x.shape
        n_patches = t // self.config.patch_samples
        if n_patches > self.config.max_patches:
            raise ValueError(f"input of {t} samples exceeds {self.config.max_patches} patches")
        s = self.stem(_fold(x))
        tokens = self.patch_embed(s).transpose(1, 2) + self.pos_embed[:, :n_patches]
        tokens = self.encoder1(tokens)
        if self.fusion is not None:
            tokens = self.fusion(tokens.transpose(1, 2), n_leads, lead_mask).transpose(1, 2)
        if self.encoder2 is not None:
            tokens = self.encoder2(tokens)
        h = self.unpatch(self.norm(tokens).transpose(1, 2))
        h = self.refine(torch.cat([h, s], dim=1))
        return self.head(h).reshape(b, n_leads, self.config.n_classes, t)
