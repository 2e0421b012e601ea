"""The QT/QTc trend of a long record for ``ecgviewer analyze`` and ``ecgviewer beats`` (Qt-free).

:func:`long_qt_trend` runs the viewer's beat pass over the whole record
(:func:`ecgviewer.inference.beats.run_beat_pass`: detection, the bundled beat classifier when
it loads -- the trend counts normal beats only -- and the delineation network on every
beat) and returns its :class:`~ecgviewer.core.interval_trend.IntervalTrend`, or why there is
none. The document of a long record carries it as ``qt_trend`` (see ``docs/measurements.md``).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ecgviewer.analysis.errors import AnalysisCancelled, reason

if TYPE_CHECKING:
    from ecgviewer.analysis.models import ModelSet
    from ecgviewer.core.beat_pass import BeatPassResult
    from ecgviewer.core.long_record import LongRecord

log = logging.getLogger(__name__)


def beat_classifier_or_none(device: str = "cpu") -> tuple[Any, str]:
    """The bundled beat classifier, or None and why it could not be loaded."""
    try:
        from ecgviewer.inference.beats import BeatClassifier

        clf = BeatClassifier(device=device)
        clf.load()
        return clf, ""
    except Exception as exc:  # no torch, no checkpoint: the beats are still detected
        return (
            None,
            f"beat classifier unavailable ({type(exc).__name__}: {exc}); beats detected, not classified",
        )


def delineator_or_none(device: str = "cpu") -> tuple[Any, str]:
    """The bundled delineation network (batches of 16 windows), or None and why it could not be loaded."""
    try:
        from ecgviewer.inference.delineation import Delineator

        net = Delineator(device=device, batch_size=16)
        net.load()
        return net, ""
    except Exception as exc:
        return None, f"delineation network unavailable ({type(exc).__name__}: {exc}); no QT trend"


def long_qt_trend(
    rec: LongRecord,
    delineator: str,
    device: str,
    models: ModelSet,
    *,
    batch_size: int = 32,
    should_stop: Callable[[], bool] | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[BeatPassResult | None, str | None]:
    """``(beat pass with its QT trend, None)``, or ``(beat pass or None, reason)`` when there is no trend.

    Raises
    ------
    AnalysisCancelled
        ``should_stop()`` turned True.
    """
    from ecgviewer.inference.beats import run_beat_pass

    try:
        net = models.delineator(delineator, device, batch_size=batch_size)
        net.load()
    except Exception as exc:
        log.info("no QT trend: %s", exc)
        return None, reason(exc)
    if not hasattr(net, "probabilities"):  # a network in another process cannot run chunk by chunk here
        return None, "the delineation network is not in this process"
    classifier, note = beat_classifier_or_none(device)
    result = run_beat_pass(rec, classifier, delineator=net, progress=progress, cancelled=should_stop)
    if result is None:
        raise AnalysisCancelled("analysis cancelled")
    if result.intervals is None:
        return result, result.intervals_note or "no beat delineated"
    if note:
        log.info("%s", note)
    return result, None


def qt_trend_document(result: BeatPassResult | None, error: str | None) -> dict[str, Any] | None:
    """The ``qt_trend`` object of a long record's document (``error`` only when there is no trend)."""
    if result is not None and result.intervals is not None:
        return {**result.intervals.to_dict(), "beat_method": result.method, "n_beats": result.n_beats}
    return {"error": error or "not computed"}


def qt_trend_for_document(rec: LongRecord, delineator: str, device: str = "cpu") -> dict[str, Any]:
    """The ``qt_trend`` object of a long record (the batch's write step: one CPU thread, nothing raised)."""
    from ecgviewer.analysis.models import ModelSet

    try:
        result, error = long_qt_trend(rec, delineator, device, ModelSet())
    except Exception as exc:  # a batch writes the record's other results all the same
        result, error = None, reason(exc)
    return qt_trend_document(result, error)  # type: ignore[return-value]
