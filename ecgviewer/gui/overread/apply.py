"""What the viewer shows after an over-read: the analysis and the beat pass with the edits applied.

Pure functions (no Qt) over the core apply functions of :mod:`ecgviewer.core.overread`:

* :func:`edited_analysis` -- a short record's :class:`~ecgviewer.analysis.RecordAnalysis` with the
  over-read (:func:`~ecgviewer.analysis.overread.apply_overread`: its ``effective_delineation``,
  the statements' states and the over-read itself go to the views and every export);
* :func:`edited_beat_pass` -- a long record's beat pass with beats relabelled, added, deleted,
  artefact-labelled beats and the beats inside artefact spans left out, its events found again
  (:func:`~ecgviewer.core.beat_pass.find_events`; a pause across an artefact span is no pause)
  and its QT/PR/QRS trend rebuilt from the beats that are left.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from ecgviewer.analysis.overread import apply_overread
from ecgviewer.core.beat_pass import BeatPassResult
from ecgviewer.core.overread import (
    ArtefactSpan,
    BeatAdded,
    BeatDeleted,
    BeatLabelEdit,
    BoundaryEdit,
    EditedBeats,
    EditedDelineation,
    apply_to_beats,
    apply_to_delineation,
)
from ecgviewer.core.sidecar import APPLIED

if TYPE_CHECKING:
    from collections.abc import Iterable

    from ecgviewer.analysis import RecordAnalysis
    from ecgviewer.core.overread import Edit, OverRead

#: Edits that change a delineation (the others are statements and the interpretation).
DELINEATION_EDITS = (BoundaryEdit, BeatAdded, BeatDeleted, BeatLabelEdit, ArtefactSpan)
#: Edits that change a beat list.
BEAT_EDITS = (BeatAdded, BeatDeleted, BeatLabelEdit, ArtefactSpan)
#: The label an unclassified beat of a short record is exported with (MIT-BIH "unclassifiable").
UNCLASSIFIED = "Q"


def edited_analysis(
    analysis: RecordAnalysis, overread: OverRead | None, status: str = APPLIED, message: str = ""
) -> tuple[RecordAnalysis, EditedDelineation | None]:
    """``analysis`` with the over-read (:func:`~ecgviewer.analysis.overread.apply_overread`), and the
    delineation the viewer shows and edits: with the edits when they apply, else as computed
    (None: no delineation).

    The analysis's own ``delineation`` stays as computed; its ``effective_delineation`` (what
    the views, the document and the PDF use) carries the edits. A ``status`` other than
    ``"applied"`` (a changed record's old over-read) keeps ``overread`` for display only.
    """
    out = apply_overread(analysis, overread, status=status, message=message)
    ed = out.overread_result
    if ed is None and analysis.delineation is not None:
        d = analysis.delineation
        ed = apply_to_delineation(d.delineation, (), d.withheld)  # the computed marks, to edit
    return out, ed


def short_beats(analysis: RecordAnalysis | None) -> tuple[np.ndarray, np.ndarray, float] | None:
    """The computed beats of a short record: the delineation's R peaks (else the classical beats),
    every one :data:`UNCLASSIFIED` (a short record's beats have no class), and the rate."""
    if analysis is None:
        return None
    if analysis.delineation is not None:
        d = analysis.delineation.delineation
        r, fs = d.r_peaks, d.fs_hz
    elif analysis.classical is not None:
        r, fs = analysis.classical.beats.r_peaks, analysis.record.fs_hz
    else:
        return None
    r = np.asarray(r, dtype=np.int64)
    return r, np.full(r.size, UNCLASSIFIED, dtype="<U1"), float(fs)


def edited_beat_pass(result: BeatPassResult, edits: Iterable[Edit]) -> tuple[BeatPassResult, EditedBeats]:
    """A long record's beat pass after the beat edits, and the edited beat list (see the module)."""
    edits = tuple(e for e in edits if isinstance(e, BEAT_EDITS))
    eb = apply_to_beats(result.r_peaks, result.labels, edits, result.fs_hz, result.method)
    if not edits:
        return result, eb
    r, labels = eb.beats_only()
    index = {int(s): i for i, s in enumerate(result.r_peaks)}
    src = np.array([index.get(int(s), -1) for s in r], dtype=np.int64)
    known = src >= 0
    probs = None  # the classifier's probabilities no longer describe relabelled or added beats
    relabelled = any(isinstance(e, (BeatLabelEdit, BeatAdded)) for e in edits)
    if result.probabilities is not None and known.all() and not relabelled:
        probs = result.probabilities[src]
    trend = None
    if result.intervals is not None:
        t = result.intervals

        def per_beat(a: np.ndarray) -> np.ndarray:
            out = np.full(r.size, np.nan, dtype=np.float32)
            out[known] = np.asarray(a)[src[known]]
            return out

        delineated = np.zeros(r.size, dtype=bool)
        delineated[known] = np.asarray(t.delineated)[src[known]]
        trend = type(t).from_beats(
            result.fs_hz, r, labels, per_beat(t.qt_ms), per_beat(t.pr_ms), per_beat(t.qrs_ms),
            n_samples=result.n_samples, delineated=delineated, leads=t.leads, model=t.model,
            sampling=t.sampling, elapsed_s=t.elapsed_s,
        )  # fmt: skip
    method = f"{result.method}, over-read ({len(edits)} beat edit{'s' if len(edits) != 1 else ''})"
    edited = BeatPassResult(
        result.fs_hz, r, labels, probs, method,
        result.n_samples, result.lead, intervals=trend, intervals_note=result.intervals_note,
    )  # fmt: skip
    if eb.spans:
        kept = tuple(e for e in edited.events if not _across(e, eb.spans))
        edited = dataclasses.replace(edited, events=kept)
    return edited, eb


def _across(event, spans) -> bool:
    """A pause or rate event whose beats straddle an artefact span (the beats inside are unknown)."""
    if event.kind not in ("pause", "max_rate", "min_rate"):
        return False
    return any(event.start < b and event.stop > a for a, b in spans)
