"""Failures of an analysis as one user-facing line, and the cancellation of a run (Qt-free)."""

from __future__ import annotations

from ecgviewer.inference.errors import PredictionError
from ecgviewer.models.checkpoint import CheckpointError


class AnalysisCancelled(Exception):
    """:func:`~ecgviewer.analysis.pipeline.analyze_record` stopped because ``should_stop()`` said so."""


class SignalQualityWithheld(Exception):
    """A stage did not run because the signal quality does not allow it (the message says why:
    ``"lead V1 unusable (flat)"``, ``"no measurable ECG: all 12 leads flat"``). Not a failure."""


def error_message(exc: BaseException, *, classifier: bool = False) -> str:
    """One user-facing line for an exception raised by an analysis (or, ``classifier``, a classification).

    Examples
    --------
    >>> error_message(PredictionError("record too short"))
    'Cannot analyse this record: record too short'
    >>> error_message(MemoryError(), classifier=True)
    'Classification failed: out of memory'
    """
    verb, checkpoint, what = (
        ("classify", "classifier", "Classification") if classifier else ("analyse", "checkpoint", "Analysis")
    )
    if isinstance(exc, SignalQualityWithheld):
        return f"Withheld: {exc}"
    if isinstance(exc, PredictionError):
        return f"Cannot {verb} this record: {exc}"
    if isinstance(exc, (CheckpointError, FileNotFoundError, PermissionError)):
        return f"Cannot load the {checkpoint}: {exc}"
    if isinstance(exc, MemoryError):
        return f"{what} failed: out of memory"
    return f"{what} failed unexpectedly ({type(exc).__name__}: {exc})"


def is_user_error(exc: BaseException) -> bool:
    """True for failures that are the input's or the checkpoint's fault (logged without a traceback)."""
    return isinstance(exc, (PredictionError, CheckpointError, SignalQualityWithheld))


def reason(exc: BaseException) -> str:
    """The one-line reason stored in documents and ``errors.csv`` (type name added for unexpected errors)."""
    text = (
        str(exc)
        if isinstance(exc, (PredictionError, CheckpointError, SignalQualityWithheld))
        else f"{type(exc).__name__}: {exc}"
    )
    return " ".join(text.split())
