"""Interval-prediction networks (torch): registry, architectures and checkpoint files.

Importing this package imports torch; :mod:`ecgviewer.inference` imports it lazily.
"""

from ecgviewer.models.registry import (
    ModelConfigError,
    available_models,
    build_model,
    config_to_dict,
    make_config,
    register_model,
)

__all__ = [
    "ModelConfigError",
    "available_models",
    "build_model",
    "config_to_dict",
    "make_config",
    "register_model",
]
