"""One registry of model architectures (interval or classifier head), each built from a config dataclass.

An architecture registers a name, its config dataclass and a constructor::

    @register_model("resnet1d", ResNet1dConfig)
    class ResNet1d(nn.Module): ...

:func:`build_model` turns ``(name, config_dict)`` (as stored in a checkpoint's JSON)
back into a module; unknown names or config keys raise :class:`ModelConfigError`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


class ModelConfigError(ValueError):
    """An unknown architecture name or an invalid config for a known one."""


@dataclass(frozen=True)
class ModelSpec:
    """A registered architecture: its name, config type and constructor."""

    name: str
    config_cls: type
    factory: Callable[[Any], Any]


_REGISTRY: dict[str, ModelSpec] = {}


def register_model(name: str, config_cls: type) -> Callable[[Callable], Callable]:
    """Class decorator that registers a model constructor taking one config object."""

    def deco(factory: Callable) -> Callable:
        if name in _REGISTRY:
            raise ValueError(f"model {name!r} registered twice")
        _REGISTRY[name] = ModelSpec(name, config_cls, factory)
        return factory

    return deco


def _ensure_builtin() -> None:
    # Importing the modules registers them (they import torch).
    from ecgviewer.models import beatnet, crnn, delineation, fcn, resnet1d, resnet18_1d, vit1d  # noqa: F401


def available_models() -> tuple[str, ...]:
    """Names of the registered architectures."""
    _ensure_builtin()
    return tuple(sorted(_REGISTRY))


def get_spec(name: str) -> ModelSpec:
    """The registered :class:`ModelSpec` for ``name``; raises :class:`ModelConfigError`."""
    _ensure_builtin()
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ModelConfigError(
            f"unknown architecture {name!r} (known: {', '.join(sorted(_REGISTRY))})"
        ) from None


def make_config(name: str, config: Mapping[str, Any] | None = None) -> Any:
    """Build the config dataclass of ``name`` from a dict (defaults for missing keys)."""
    spec = get_spec(name)
    config = dict(config or {})
    fields = {f.name: f for f in dataclasses.fields(spec.config_cls)}
    unknown = sorted(set(config) - set(fields))
    if unknown:
        raise ModelConfigError(f"{name}: unknown config keys {unknown}")
    for key, value in config.items():  # JSON gives lists where the dataclass wants tuples
        if isinstance(value, list):
            config[key] = tuple(value)
    try:
        return spec.config_cls(**config)
    except (TypeError, ValueError) as exc:
        raise ModelConfigError(f"{name}: invalid config: {exc}") from exc


def build_model(name: str, config: Mapping[str, Any] | None = None) -> Any:
    """Construct the ``torch.nn.Module`` registered as ``name`` from a config dict.

    Parameters
    ----------
    name
        Architecture name (``"resnet1d"``, ``"vit1d"``, ``"fcn"``).
    config
        Keys of the architecture's config dataclass; missing keys take defaults.

    Returns
    -------
    torch.nn.Module
        A freshly initialised model (call ``.eval()`` before inference).
    """
    config_obj = make_config(name, config)
    try:
        return get_spec(name).factory(config_obj)
    except ValueError as exc:  # settings that only the whole model can check (e.g. its head)
        raise ModelConfigError(f"{name}: invalid config: {exc}") from exc


def config_to_dict(config: Any) -> dict[str, Any]:
    """A JSON-ready dict of a config dataclass (tuples become lists)."""
    return {k: list(v) if isinstance(v, tuple) else v for k, v in dataclasses.asdict(config).items()}
