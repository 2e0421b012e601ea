"""DeepLabv3 for ECG images: semantic segmentation of PVC / fusion beats.

Hernández-Fernández et al., "Long-term ECG Analysis Through Image Conversion and Deep Learning"
(CinC 2023) segments ECG heat-map images
(:mod:`ecgviewer.core.beat_image`) with torchvision's ``deeplabv3_resnet50``. This module
builds the same networks in plain torch, with torchvision's module structure and
parameter names, so that a state dict saved from
``torchvision.models.segmentation.deeplabv3_resnet50(weights=None, weights_backbone=None,
num_classes=K, aux_loss=False)`` (or ``deeplabv3_mobilenet_v3_large``) loads here
unchanged and vice versa (``tests/inference/test_beat_segmentation.py`` checks this where
torchvision imports). torchvision itself is not used: its PyPI wheels for torch 2.13 link
the CUDA torch libraries and do not import with the CPU torch build this project installs.

Backbones
---------
``resnet50``
    The paper's: ResNet-50 (bottleneck v1.5) with the strides of layer3 and layer4
    replaced by dilation 2 and 4 (output stride 8), DeepLabHead (ASPP rates 12, 24, 36)
    on its 2048 channels. About 39.6 M parameters.
``mobilenet_v3_large``
    For CPUs: MobileNetV3-Large with its last stage dilated (output stride 16),
    DeepLabHead on its 960 channels. About 11 M parameters.

No pretrained weights are loaded (the paper started from ImageNet weights; nothing can be
downloaded here, and the viewer never downloads at run time). Every output is one logit
per class and pixel, ``(batch, n_classes, H, W)``, upsampled bilinearly to the input size
as torchvision does (torchvision returns ``{"out": logits}``; this module the tensor).

The architecture is registered as ``"deeplabv3"`` when this module is imported (it is
not one of the interval/classifier architectures the ``trainer pretrain`` command lists).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import torch
import torch.nn.functional as F
from torch import nn

from ecgviewer.models.registry import register_model

#: Backbones offered (torchvision's names).
BACKBONES: tuple[str, ...] = ("resnet50", "mobilenet_v3_large")
#: ASPP dilation rates of torchvision's DeepLabHead.
ASPP_RATES: tuple[int, int, int] = (12, 24, 36)


@dataclass(frozen=True)
class BeatSegmentationConfig:
    """Settings of :class:`DeepLabV3`.

    Parameters
    ----------
    backbone
        One of :data:`BACKBONES`.
    n_classes
        Output classes per pixel, background first (2: background / anomaly as in the paper;
        3: background / V / F).
    n_leads
        ECG leads rendered into the image (1: the beat lead; the checkpoint's ``input.leads``).
    n_samples
        Samples per image row (the checkpoint's ``input.window_samples``; the paper's 1000).
        The network itself accepts any image size; this number ties the checkpoint's input
        description to the model as every architecture of the registry does.
    """

    backbone: str = "mobilenet_v3_large"
    n_classes: int = 2
    n_leads: int = 1
    n_samples: int = 1000

    def __post_init__(self) -> None:
        if self.backbone not in BACKBONES:
            raise ValueError(f"backbone must be one of {BACKBONES}, got {self.backbone!r}")
        if self.n_classes < 2:
            raise ValueError("n_classes must be >= 2 (background and at least one anomaly class)")
        if self.n_leads != 1:
            raise ValueError("n_leads must be 1 (one lead is rendered into the image)")
        if self.n_samples <= 0:
            raise ValueError("n_samples (samples per image row) must be positive")


# -- ResNet-50 (torchvision.models.resnet, names kept) -------------------------------------------
class Bottleneck(nn.Module):
    """torchvision's ResNet bottleneck (stride on the 3x3 convolution)."""

    expansion = 4

    def __init__(
        self,
        inplanes: int,
        planes: int,
        stride: int = 1,
        downsample: nn.Module | None = None,
        dilation: int = 1,
    ) -> None:
        super().__init__()
        width = planes
        self.conv1 = nn.Conv2d(inplanes, width, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(width)
        self.conv2 = nn.Conv2d(
            width, width, 3, stride=stride, padding=dilation, dilation=dilation, bias=False
        )
        self.bn2 = nn.BatchNorm2d(width)
        self.conv3 = nn.Conv2d(width, planes * self.expansion, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * self.expansion)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        identity = x if self.downsample is None else self.downsample(x)
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + identity)


class ResNet50Features(nn.Module):
    """ResNet-50 up to layer4 with ``replace_stride_with_dilation=[False, True, True]``."""

    out_channels = 2048

    def __init__(self) -> None:
        super().__init__()
        self.inplanes = 64
        self.dilation = 1
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.relu = nn.ReLU(inplace=True)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        self.layer1 = self._make_layer(64, 3)
        self.layer2 = self._make_layer(128, 4, stride=2)
        self.layer3 = self._make_layer(256, 6, stride=2, dilate=True)
        self.layer4 = self._make_layer(512, 3, stride=2, dilate=True)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)

    def _make_layer(self, planes: int, blocks: int, stride: int = 1, dilate: bool = False) -> nn.Sequential:
        previous_dilation = self.dilation
        if dilate:
            self.dilation *= stride
            stride = 1
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(
                nn.Conv2d(self.inplanes, planes * Bottleneck.expansion, 1, stride=stride, bias=False),
                nn.BatchNorm2d(planes * Bottleneck.expansion),
            )
        layers = [Bottleneck(self.inplanes, planes, stride, downsample, previous_dilation)]
        self.inplanes = planes * Bottleneck.expansion
        layers += [Bottleneck(self.inplanes, planes, dilation=self.dilation) for _ in range(1, blocks)]
        return nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.relu(self.bn1(self.conv1(x))))
        return self.layer4(self.layer3(self.layer2(self.layer1(x))))


# -- MobileNetV3-Large (torchvision.models.mobilenetv3, names kept) ---------------------------------
def _make_divisible(v: float, divisor: int = 8) -> int:
    new_v = max(divisor, int(v + divisor / 2) // divisor * divisor)
    if new_v < 0.9 * v:
        new_v += divisor
    return new_v


class ConvNormActivation(nn.Sequential):
    """torchvision's ``Conv2dNormActivation``: conv (no bias), norm, optional activation."""

    def __init__(
        self,
        cin: int,
        cout: int,
        kernel_size: int = 3,
        stride: int = 1,
        groups: int = 1,
        norm_layer: Callable[[int], nn.Module] = nn.BatchNorm2d,
        activation_layer: Callable[..., nn.Module] | None = nn.ReLU,
        dilation: int = 1,
    ) -> None:
        padding = (kernel_size - 1) // 2 * dilation
        layers: list[nn.Module] = [
            nn.Conv2d(cin, cout, kernel_size, stride, padding, dilation=dilation, groups=groups, bias=False),
            norm_layer(cout),
        ]
        if activation_layer is not None:
            layers.append(activation_layer(inplace=True))
        super().__init__(*layers)


class SqueezeExcitation(nn.Module):
    """torchvision's squeeze-and-excitation block (ReLU, hard sigmoid)."""

    def __init__(self, channels: int, squeeze_channels: int) -> None:
        super().__init__()
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc1 = nn.Conv2d(channels, squeeze_channels, 1)
        self.fc2 = nn.Conv2d(squeeze_channels, channels, 1)
        self.activation = nn.ReLU()
        self.scale_activation = nn.Hardsigmoid()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        s = self.scale_activation(self.fc2(self.activation(self.fc1(self.avgpool(x)))))
        return s * x


class InvertedResidual(nn.Module):
    """MobileNetV3 block: 1x1 expansion, depthwise conv, optional SE, 1x1 projection."""

    def __init__(
        self,
        cin: int,
        kernel: int,
        expanded: int,
        cout: int,
        use_se: bool,
        act: str,
        stride: int,
        dilation: int,
    ) -> None:
        super().__init__()
        norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
        activation = nn.Hardswish if act == "HS" else nn.ReLU
        self.use_res_connect = stride == 1 and cin == cout
        layers: list[nn.Module] = []
        if expanded != cin:
            layers.append(ConvNormActivation(cin, expanded, 1, norm_layer=norm, activation_layer=activation))
        layers.append(
            ConvNormActivation(
                expanded,
                expanded,
                kernel,
                stride=1 if dilation > 1 else stride,
                groups=expanded,
                norm_layer=norm,
                activation_layer=activation,
                dilation=dilation,
            )
        )
        if use_se:
            layers.append(SqueezeExcitation(expanded, _make_divisible(expanded // 4, 8)))
        layers.append(ConvNormActivation(expanded, cout, 1, norm_layer=norm, activation_layer=None))
        self.block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.block(x)
        return x + y if self.use_res_connect else y


#: MobileNetV3-Large, ``dilated=True``: (in, kernel, expanded, out, SE, activation, stride, dilation).
_MNV3_LARGE = (
    (16, 3, 16, 16, False, "RE", 1, 1),
    (16, 3, 64, 24, False, "RE", 2, 1),
    (24, 3, 72, 24, False, "RE", 1, 1),
    (24, 5, 72, 40, True, "RE", 2, 1),
    (40, 5, 120, 40, True, "RE", 1, 1),
    (40, 5, 120, 40, True, "RE", 1, 1),
    (40, 3, 240, 80, False, "HS", 2, 1),
    (80, 3, 200, 80, False, "HS", 1, 1),
    (80, 3, 184, 80, False, "HS", 1, 1),
    (80, 3, 184, 80, False, "HS", 1, 1),
    (80, 3, 480, 112, True, "HS", 1, 1),
    (112, 3, 672, 112, True, "HS", 1, 1),
    (112, 5, 672, 160, True, "HS", 2, 2),
    (160, 5, 960, 160, True, "HS", 1, 2),
    (160, 5, 960, 160, True, "HS", 1, 2),
)


def mobilenet_v3_large_features() -> nn.Sequential:
    """``torchvision.models.mobilenet_v3_large(dilated=True).features`` (960 output channels)."""
    norm = partial(nn.BatchNorm2d, eps=0.001, momentum=0.01)
    layers: list[nn.Module] = [
        ConvNormActivation(3, 16, 3, stride=2, norm_layer=norm, activation_layer=nn.Hardswish)
    ]
    layers += [InvertedResidual(*cfg) for cfg in _MNV3_LARGE]
    layers.append(ConvNormActivation(160, 960, 1, norm_layer=norm, activation_layer=nn.Hardswish))
    features = nn.Sequential(*layers)
    for m in features.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out")
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d):
            nn.init.ones_(m.weight)
            nn.init.zeros_(m.bias)
    return features


# -- DeepLabv3 head (torchvision.models.segmentation.deeplabv3, names kept) -------------------------
class ASPPConv(nn.Sequential):
    def __init__(self, cin: int, cout: int, dilation: int) -> None:
        super().__init__(
            nn.Conv2d(cin, cout, 3, padding=dilation, dilation=dilation, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(),
        )


class ASPPPooling(nn.Sequential):
    def __init__(self, cin: int, cout: int) -> None:
        super().__init__(
            nn.AdaptiveAvgPool2d(1), nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        size = x.shape[-2:]
        for mod in self:
            x = mod(x)
        return F.interpolate(x, size=size, mode="bilinear", align_corners=False)


class ASPP(nn.Module):
    """Atrous spatial pyramid pooling: 1x1, three dilated 3x3 and image pooling, projected to 256."""

    def __init__(self, cin: int, rates: tuple[int, ...] = ASPP_RATES, cout: int = 256) -> None:
        super().__init__()
        modules: list[nn.Module] = [
            nn.Sequential(nn.Conv2d(cin, cout, 1, bias=False), nn.BatchNorm2d(cout), nn.ReLU())
        ]
        modules += [ASPPConv(cin, cout, r) for r in rates]
        modules.append(ASPPPooling(cin, cout))
        self.convs = nn.ModuleList(modules)
        self.project = nn.Sequential(
            nn.Conv2d(len(self.convs) * cout, cout, 1, bias=False),
            nn.BatchNorm2d(cout),
            nn.ReLU(),
            nn.Dropout(0.5),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.project(torch.cat([conv(x) for conv in self.convs], dim=1))


class DeepLabHead(nn.Sequential):
    def __init__(self, cin: int, n_classes: int) -> None:
        super().__init__(
            ASPP(cin),
            nn.Conv2d(256, 256, 3, padding=1, bias=False),
            nn.BatchNorm2d(256),
            nn.ReLU(),
            nn.Conv2d(256, n_classes, 1),
        )


@register_model("deeplabv3", BeatSegmentationConfig)
class DeepLabV3(nn.Module):
    """DeepLabv3 (as Hernández-Fernández et al.): image ``(batch, 3, H, W)`` in [0, 1] -> logits.

    The logits are ``(batch, n_classes, H, W)``. The image is normalised with the ImageNet mean
    and standard deviation inside the model, as torchvision's segmentation presets do before the network.
    """

    def __init__(self, config: BeatSegmentationConfig) -> None:
        super().__init__()
        self.config = config
        if config.backbone == "resnet50":
            self.backbone: nn.Module = ResNet50Features()
            channels = ResNet50Features.out_channels
        else:
            self.backbone = mobilenet_v3_large_features()
            channels = 960
        self.classifier = DeepLabHead(channels, config.n_classes)
        self.register_buffer(
            "pixel_mean", torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1), persistent=False
        )
        self.register_buffer(
            "pixel_std", torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1), persistent=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.ndim != 4 or x.shape[1] != 3:
            raise ValueError(f"expected an RGB image batch (batch, 3, H, W), got {tuple(x.shape)}")
        size = x.shape[-2:]
        x = (x - self.pixel_mean) / self.pixel_std
        y = self.classifier(self.backbone(x))
        return F.interpolate(y, size=size, mode="bilinear", align_corners=False)
