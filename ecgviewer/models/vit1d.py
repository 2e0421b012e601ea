"""1-D vision transformer for PR/QRS/QT/RR regression (``"vit1d"``).

After the ViT of Alahakoon, Perera and Srimal, "Comprehensive ECG analysis with Deep
Learning" (itself after Dosovitskiy et al., "An image is
worth 16x16 words"): the 8-lead x 5000-sample input (10 s at 500 Hz) is cut into
100 patches of 50 samples (100 ms); each patch (all 8 leads, 400 values) is
linearly embedded, a learned class token is prepended, a learned position
embedding added, and a pre-norm transformer encoder runs over the 101 tokens.
The head reads the final layer-normed class token and gives 4 outputs (or 4 means
+ 4 log-variances with the heteroscedastic flag).

The paper does not give widths or depth; the defaults (d_model 64, 4 layers, 4
heads, MLP 128) keep the model at ~0.25 M parameters so that it trains on small
data and runs in a few ms per record on a CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from ecgviewer.models.common import OutputHead, check_input
from ecgviewer.models.registry import register_model


@dataclass(frozen=True)
class ViT1dConfig:
    """Hyper-parameters of :class:`ViT1d` (stored in the checkpoint JSON)."""

    n_leads: int = 8
    n_samples: int = 5000
    patch_samples: int = 50
    d_model: int = 64
    depth: int = 4
    n_heads: int = 4
    mlp_dim: int = 128
    dropout: float = 0.1
    heteroscedastic: bool = False
    #: 0: interval outputs; > 0: one logit per class (see ecgviewer.models.common).
    n_classes: int = 0

    def __post_init__(self) -> None:
        if self.patch_samples < 1 or self.n_samples % self.patch_samples:
            raise ValueError("n_samples must be a multiple of patch_samples")
        if self.d_model % self.n_heads:
            raise ValueError("d_model must be a multiple of n_heads")

    @property
    def n_patches(self) -> int:
        """Number of tokens besides the class token (100 by default)."""
        return self.n_samples // self.patch_samples


@register_model("vit1d", ViT1dConfig)
class ViT1d(nn.Module):
    """Patch-embedding transformer; input ``(batch, n_leads, n_samples)``, output ``(batch, 4 or 8)``."""

    def __init__(self, config: ViT1dConfig) -> None:
        super().__init__()
        self.config = config
        c = config
        self.patch_embed = nn.Linear(c.n_leads * c.patch_samples, c.d_model)
        self.cls_token = nn.Parameter(torch.zeros(1, 1, c.d_model))
        self.pos_embed = nn.Parameter(torch.zeros(1, c.n_patches + 1, c.d_model))
        nn.init.trunc_normal_(self.pos_embed, std=0.02)
        nn.init.trunc_normal_(self.cls_token, std=0.02)
        layer = nn.TransformerEncoderLayer(
            c.d_model, c.n_heads, c.mlp_dim, c.dropout, activation="gelu", batch_first=True, norm_first=True
        )
        self.encoder = nn.TransformerEncoder(layer, c.depth, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(c.d_model)
        self.head = OutputHead(c.d_model, c.heteroscedastic, n_classes=c.n_classes)

    def patchify(self, x: torch.Tensor) -> torch.Tensor:
        """``(B, leads, samples)`` -> ``(B, n_patches, leads * patch_samples)``."""
        b, n_leads, _ = x.shape
        p = self.config.patch_samples
        return x.reshape(b, n_leads, -1, p).permute(0, 2, 1, 3).reshape(b, -1, n_leads * p)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(x, self.config.n_leads, self.config.n_samples)
        tokens = self.patch_embed(self.patchify(x))
        cls = self.cls_token.expand(tokens.shape[0], -1, -1)
        tokens = torch.cat([cls, tokens], dim=1) + self.pos_embed
        tokens = self.encoder(tokens)
        return self.head(self.norm(tokens[:, 0]))
