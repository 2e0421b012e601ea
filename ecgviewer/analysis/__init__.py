"""The analysis application layer: analyse records with the models, Qt-free.

One pipeline (:func:`analyze_record`: classical beats, interval model,
statement classifier) and one result (:class:`RecordAnalysis`, whose
:meth:`~RecordAnalysis.document` is what every export writes), used by the
viewer's controller, ``ecgviewer analyze`` (:mod:`ecgviewer.analysis.cli`) and
the batch engine (:mod:`ecgviewer.analysis.batch`); the networks come from one
lazily loading cache (:class:`ModelSet`).

Importing this package imports neither torch, scipy nor Qt.

Example
-------
>>> from ecgviewer.analysis import AnalysisOptions, ModelSet, analyze_record
>>> models = ModelSet()
>>> analysis = analyze_record(record, AnalysisOptions(device="cpu"), models=models)  # doctest: +SKIP
>>> analysis.document()["measurements"]["qt_ms"]["model"]  # doctest: +SKIP
"""

from __future__ import annotations

from ecgviewer.analysis.errors import AnalysisCancelled, error_message, is_user_error
from ecgviewer.analysis.models import ModelSet
from ecgviewer.analysis.pipeline import (
    DEFAULT_MODEL,
    STAGES,
    AnalysisEvent,
    AnalysisOptions,
    RecordAnalysis,
    StageFailed,
    StageFinished,
    StageProgress,
    StageStarted,
    analysis_document,
    analyze_record,
    checkpoint_name,
    classical_analysis,
    record_analysis,
)

__all__ = [
    "DEFAULT_MODEL",
    "STAGES",
    "AnalysisCancelled",
    "AnalysisEvent",
    "AnalysisOptions",
    "ModelSet",
    "RecordAnalysis",
    "StageFailed",
    "StageFinished",
    "StageProgress",
    "StageStarted",
    "analysis_document",
    "analyze_record",
    "checkpoint_name",
    "classical_analysis",
    "error_message",
    "is_user_error",
    "record_analysis",
]
