"""Record windows -> network outputs: interval prediction, statement and beat classification.

The deep-learning backend: preprocessing (:mod:`~ecgviewer.inference.preprocess`),
the :class:`Predictor` and :class:`Classifier` and the beat classifiers, and their
typed results. Analysing a record with them (with the classical measurement,
events, cancellation, documents, ``ecgviewer analyze``) is :mod:`ecgviewer.analysis`.

``import ecgviewer.inference`` does not import torch: the names below are loaded
on first access, and torch only when a :class:`Predictor` loads its checkpoint.

Example
-------
>>> from ecgviewer.core import read_record
>>> from ecgviewer.inference import Predictor
>>> result = Predictor("resnet1d").predict(read_record("00001_hr.hea"))  # doctest: +SKIP
>>> result["qrs_ms"].value, result.display_warning  # doctest: +SKIP
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "Predictor": "ecgviewer.inference.predictor",
    "Classifier": "ecgviewer.inference.classifier",
    "BeatClassifier": "ecgviewer.inference.beats",
    "run_beat_pass": "ecgviewer.inference.beats",
    "ClassificationResult": "ecgviewer.inference.classifier",
    "BUNDLED_CLASSIFIERS": "ecgviewer.inference.classifier",
    "DEFAULT_CLASSIFIER": "ecgviewer.inference.classifier",
    "select_device": "ecgviewer.inference.predictor",
    "resolve_checkpoint": "ecgviewer.inference.predictor",
    "BUNDLED_MODELS": "ecgviewer.inference.predictor",
    "PredictionResult": "ecgviewer.inference.result",
    "IntervalEstimate": "ecgviewer.inference.result",
    "PLACEHOLDER_WARNING": "ecgviewer.inference.result",
    "PredictionError": "ecgviewer.inference.errors",
    "PredictionCancelled": "ecgviewer.inference.errors",
    "prepare_windows": "ecgviewer.inference.preprocess",
    "window_starts": "ecgviewer.inference.preprocess",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)
