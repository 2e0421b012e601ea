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
