"""The :class:`Classifier`: checkpoint -> per-record statement probabilities (PTB-XL classes).

A classification checkpoint (``task: "classification"`` in its JSON) lists its
classes with a description and a decision threshold each. The record is cut into
the same windows as for the interval models (10 s, 8 leads at 500 Hz for the
bundled ones); the per-window probabilities (sigmoid, or softmax for
``activation: "softmax"``) are averaged, and a class is *stated* when its mean
probability reaches its threshold.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ecgviewer.core.record import EcgRecord
from ecgviewer.inference.errors import PredictionError
from ecgviewer.inference.predictor import CheckpointRunner
from ecgviewer.inference.preprocess import Windows
from ecgviewer.resources import bundled_checkpoints, default_checkpoint

#: Classification checkpoints in ``resources/checkpoints`` when this module was imported
#: (:func:`ecgviewer.resources.bundled_checkpoints`); the first is the default.
BUNDLED_CLASSIFIERS: tuple[str, ...] = tuple(c.name for c in bundled_checkpoints("classification"))
#: The default classifier (the CRNN: the higher validation macro AUC, see docs/accuracy.md
#: "Diagnostic classification"), from :data:`ecgviewer.resources.DEFAULT_CHECKPOINTS`.
DEFAULT_CLASSIFIER: str = default_checkpoint("classification") or "ptbxl_crnn"


@dataclass(frozen=True)
class ClassProbability:
    """One class of a :class:`ClassificationResult`."""

    name: str
    description: str
    probability: float
    threshold: float

    @property
    def positive(self) -> bool:
        """True when the probability reaches the class's decision threshold."""
        return self.probability >= self.threshold


@dataclass(frozen=True)
class ClassificationResult:
    """Class probabilities of one record, with provenance.

    Attributes
    ----------
    classes
        Every class of the checkpoint, in its order.
    model_name, checkpoint_status, checkpoint_sha256, trained
        Which checkpoint produced it (``trained`` False for placeholders).
    device, elapsed_s
        Where it ran and how long it took.
    window_starts_s
        Start of each window that was averaged.
    warnings
        Preprocessing notes (resampling, non-finite samples).
    """

    classes: tuple[ClassProbability, ...]
    model_name: str
    checkpoint_status: str
    checkpoint_sha256: str
    trained: bool
    device: str
    elapsed_s: float
    window_starts_s: tuple[float, ...] = ()
    warnings: tuple[str, ...] = ()

    @property
    def statements(self) -> tuple[str, ...]:
        """Names of the classes at or above their threshold, in checkpoint order."""
        return tuple(c.name for c in self.classes if c.positive)

    def __getitem__(self, name: str) -> ClassProbability:
        for c in self.classes:
            if c.name == name:
                return c
        raise KeyError(name)

    @property
    def n_windows(self) -> int:
        """Number of windows averaged."""
        return len(self.window_starts_s)

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready form (used by the reports)."""
        return {
            "model": self.model_name,
            "checkpoint_status": self.checkpoint_status,
            "checkpoint_sha256": self.checkpoint_sha256,
            "trained": self.trained,
            "device": self.device,
            "elapsed_s": round(self.elapsed_s, 4),
            "n_windows": self.n_windows,
            "statements": list(self.statements),
            "classes": [
                {
                    "name": c.name,
                    "description": c.description,
                    "probability": round(c.probability, 4),
                    "threshold": c.threshold,
                    "positive": c.positive,
                }
                for c in self.classes
            ],
            "warnings": list(self.warnings),
        }


class Classifier(CheckpointRunner):
    """Classify ECG records with one classification checkpoint.

    Parameters
    ----------
    model
        Bundled name (see :data:`BUNDLED_CLASSIFIERS`) or checkpoint path.
    device, batch_size, stride_s
        As for :class:`~ecgviewer.inference.predictor.Predictor`.
    """

    task = "classification"
    default_model = DEFAULT_CLASSIFIER

    def classify(
        self,
        record: EcgRecord,
        progress: Callable[[int, int], None] | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> ClassificationResult:
        """Class probabilities of one record (mean over its windows).

        Raises
        ------
        PredictionError
            Missing leads, a record shorter than one window, non-finite output, or cancellation.
        """
        return self._run_record(record, progress, should_stop)

    def classify_windows(self, items: list[Windows]) -> list[ClassificationResult | PredictionError]:
        """Classify several records at once from windows made with :meth:`input_spec`."""
        return self._run_items(items)

    def probabilities(self, logits: np.ndarray) -> np.ndarray:
        """Per-window probabilities ``(n_windows, n_classes)`` from network outputs.

        A sigmoid checkpoint with a ``calibration`` gives ``sigmoid((logit - offset) / T)``
        (see :mod:`ecgviewer.models.checkpoint`).
        """
        meta = self.meta
        if meta.activation == "softmax":
            z = logits - logits.max(axis=1, keepdims=True)
            e = np.exp(z)
            return e / e.sum(axis=1, keepdims=True)
        if meta.calibration:
            offset = np.asarray(meta.logit_offset, dtype=np.float64)
            logits = (np.asarray(logits, dtype=np.float64) - offset) / meta.temperature
        return 1.0 / (1.0 + np.exp(-np.clip(logits, -60, 60)))

    def _result(self, out: np.ndarray, windows: Windows, elapsed_s: float) -> ClassificationResult:
        meta = self._loaded.meta
        if not np.all(np.isfinite(out)):
            raise PredictionError("the model produced non-finite values")
        mean = self.probabilities(out).mean(axis=0)
        classes = tuple(
            ClassProbability(c.name, c.description, float(p), c.threshold)
            for c, p in zip(meta.classes, mean, strict=True)
        )
        return ClassificationResult(
            classes=classes,
            model_name=self.model_name,
            checkpoint_status=meta.status,
            checkpoint_sha256=meta.weights_sha256,
            trained=meta.trained,
            device=str(self._device),
            elapsed_s=elapsed_s,
            window_starts_s=windows.starts_s,
            warnings=windows.warnings,
        )
