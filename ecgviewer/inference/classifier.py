"""The :class:`Classifier`: checkpoint -> per-record statement probabilities (PTB-XL classes).

A classification checkpoint (``task: "classification"`` in its JSON) lists its
classes with a description and a decision threshold each. The record is resampled to
the checkpoint's rate and cut into 10 s windows of its leads (8 leads at 100 Hz for the
default ``ptbxl100_crnn``, at 500 Hz for the older ones); the per-window probabilities
(sigmoid, or softmax for
``activation: "softmax"``) are averaged (calibrated first when the checkpoint has a
``calibration``), and a class is *above threshold* when its mean probability reaches
its threshold. What the record **states** is that set made coherent by
:func:`ecgviewer.core.statements.coherent_statements` (one primary rhythm, never NORM
with an abnormal diagnostic class, a subclass only under its superclass); the
classes withheld keep their probability and carry a note.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from ecgviewer.core.record import EcgRecord
from ecgviewer.core.statements import coherent_statements
from ecgviewer.inference.errors import PredictionError
from ecgviewer.inference.predictor import CheckpointRunner
from ecgviewer.inference.preprocess import Windows
from ecgviewer.resources import bundled_checkpoints, default_checkpoint

#: Classification checkpoints in ``resources/checkpoints`` when this module was imported
#: (:func:`ecgviewer.resources.bundled_checkpoints`); the first is the default.
BUNDLED_CLASSIFIERS: tuple[str, ...] = tuple(c.name for c in bundled_checkpoints("classification"))
#: The default classifier (``ptbxl100_crnn``: the highest macro AUC on the selection half of PTB-XL
#: fold 9, see docs/accuracy.md "Statement classifiers at benchmark scale"), from
#: :data:`ecgviewer.resources.DEFAULT_CHECKPOINTS`.
DEFAULT_CLASSIFIER: str = default_checkpoint("classification") or "ptbxl100_crnn"


@dataclass(frozen=True)
class ClassProbability:
    """One class of a :class:`ClassificationResult`."""

    name: str
    description: str
    probability: float
    threshold: float
    #: Stated in the report: above threshold and not withheld by the coherence rules
    #: (set by :class:`ClassificationResult`).
    stated: bool = False
    #: Why a class above its threshold is not stated ("" otherwise).
    note: str = ""

    @property
    def positive(self) -> bool:
        """True when the probability reaches the class's decision threshold."""
        return self.probability >= self.threshold


def coherent_classes(classes: tuple[ClassProbability, ...]) -> tuple[ClassProbability, ...]:
    """``classes`` with ``stated`` and ``note`` set by the coherence rules (``core.statements``)."""
    from dataclasses import replace

    decisions = coherent_statements(
        [c.name for c in classes], [c.probability for c in classes], [c.threshold for c in classes]
    )
    return tuple(replace(c, stated=d.stated, note=d.note) for c, d in zip(classes, decisions, strict=True))


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
    calibration
        How the probabilities were calibrated ("" for a plain sigmoid/softmax).

    The classes' ``stated`` and ``note`` are (re)computed on construction, so every
    result is coherent.
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
    calibration: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "classes", coherent_classes(tuple(self.classes)))

    @property
    def statements(self) -> tuple[str, ...]:
        """Names of the stated classes (above threshold and coherent), in checkpoint order."""
        return tuple(c.name for c in self.classes if c.stated)

    @property
    def above_threshold(self) -> tuple[str, ...]:
        """Names of every class at or above its threshold, before the coherence rules."""
        return tuple(c.name for c in self.classes if c.positive)

    @property
    def withheld(self) -> tuple[ClassProbability, ...]:
        """Classes above threshold that the coherence rules withheld (each with its note)."""
        return tuple(c for c in self.classes if c.positive and not c.stated)

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
            "above_threshold": list(self.above_threshold),
            "probabilities": self.calibration or "uncalibrated",
            "classes": [
                {
                    "name": c.name,
                    "description": c.description,
                    "probability": round(c.probability, 4),
                    "threshold": c.threshold,
                    "positive": c.positive,
                    "stated": c.stated,
                    **({"note": c.note} if c.note else {}),
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
            calibration=(
                f"temperature-scaled (T = {meta.temperature:.2f})"
                if meta.calibration and meta.activation == "sigmoid"
                else ""
            ),
        )
