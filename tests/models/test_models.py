"""Model registry and architectures: shapes, configs, heteroscedastic head."""

from __future__ import annotations

import pytest
import torch

from ecgviewer.models import ModelConfigError, available_models, build_model, config_to_dict, make_config


def test_registry_lists_the_three_architectures() -> None:
    assert {"resnet1d", "vit1d", "fcn"} <= set(available_models())


@pytest.mark.parametrize("name", ["resnet1d", "vit1d", "fcn"])
@pytest.mark.parametrize("hetero", [False, True])
def test_output_shapes(name: str, hetero: bool) -> None:
    model = build_model(name, {"heteroscedastic": hetero}).eval()
    with torch.inference_mode():
        y = model(torch.randn(3, 8, 5000))
    assert y.shape == (3, 8 if hetero else 4)
    assert torch.isfinite(y).all()


@pytest.mark.parametrize("name", ["resnet1d", "vit1d", "fcn"])
def test_wrong_input_shape_is_rejected(name: str) -> None:
    model = build_model(name).eval()
    with pytest.raises(ValueError, match="expected input"):
        model(torch.randn(1, 12, 5000))


def test_vit_has_100_patches_of_50_samples() -> None:
    model = build_model("vit1d")
    assert model.config.n_patches == 100
    x = torch.arange(8 * 5000, dtype=torch.float32).reshape(1, 8, 5000)
    patches = model.patchify(x)
    assert patches.shape == (1, 100, 400)
    # patch 1 holds samples 50..99 of every lead
    assert torch.equal(patches[0, 1, :50], x[0, 0, 50:100])
    assert torch.equal(patches[0, 1, 50:100], x[0, 1, 50:100])


def test_resnet_is_lean() -> None:
    model = build_model("resnet1d")
    assert sum(p.numel() for p in model.parameters()) < 500_000
    assert max(model.config.stage_channels) <= 64


def test_config_round_trip_and_errors() -> None:
    cfg = make_config("resnet1d", {"stage_channels": [16, 32]})
    assert cfg.stage_channels == (16, 32)
    assert config_to_dict(cfg)["stage_channels"] == [16, 32]
    with pytest.raises(ModelConfigError, match="unknown architecture"):
        build_model("nope")
    with pytest.raises(ModelConfigError, match="unknown config keys"):
        build_model("vit1d", {"width": 3})
    with pytest.raises(ModelConfigError, match="invalid config"):
        build_model("vit1d", {"patch_samples": 33})


ALL = ["resnet1d", "vit1d", "fcn", "resnet18_1d", "crnn"]


@pytest.mark.parametrize("name", ALL)
def test_every_architecture_has_a_classifier_head(name: str) -> None:
    model = build_model(name, {"n_classes": 7}).eval()
    with torch.inference_mode():
        y = model(torch.randn(2, 8, 5000))
    assert y.shape == (2, 7) and torch.isfinite(y).all()
    # the backbone is the same as the interval model's: only the head differs
    interval = build_model(name)
    body = {k: v.shape for k, v in interval.state_dict().items() if not k.startswith("head.")}
    assert body == {k: v.shape for k, v in model.state_dict().items() if not k.startswith("head.")}


@pytest.mark.parametrize("name", ALL)
def test_classifier_head_rejects_bad_settings(name: str) -> None:
    with pytest.raises(ModelConfigError, match="n_classes"):
        build_model(name, {"n_classes": -1})
    with pytest.raises(ModelConfigError, match="heteroscedastic"):
        build_model(name, {"n_classes": 3, "heteroscedastic": True})


def test_classifier_architectures_are_registered_and_sized() -> None:
    assert {"resnet18_1d", "crnn"} <= set(available_models())
    resnet18 = build_model("resnet18_1d", {"n_classes": 5})
    # ResNet18 layout: stem + 4 stages x 2 basic blocks x 2 convolutions = 17 conv layers + shortcuts
    convs = [m for m in resnet18.modules() if isinstance(m, torch.nn.Conv1d) and m.kernel_size[0] > 1]
    assert len(convs) == 17
    crnn = build_model("crnn", {"n_classes": 5})
    assert isinstance(crnn.rnn, torch.nn.GRU) and crnn.rnn.bidirectional
    with pytest.raises(ModelConfigError, match="too short"):
        build_model("crnn", {"n_samples": 100})
