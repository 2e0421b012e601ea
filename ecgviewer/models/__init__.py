"""The networks (torch): registry, architectures and checkpoint files.

Interval regressors (``resnet1d``, ``vit1d``, ``fcn``), record-statement classifiers
(``resnet18_1d``, ``crnn``; every architecture takes a class head), the beat classifier
(``beatnet``) and the DeepLabv3 image segmentation of PVC / fusion beats
(:mod:`ecgviewer.models.beat_segmentation`).

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
