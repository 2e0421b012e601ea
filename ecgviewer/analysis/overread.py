"""A physician's over-read applied to an analysis (Qt-free): what every output reports.

The analysis (:class:`~ecgviewer.analysis.pipeline.RecordAnalysis`) keeps what the
software computed; :func:`apply_overread` returns a copy that also holds the reader's
over-read (:class:`~ecgviewer.core.overread.OverRead`, from the record's sidecar,
:mod:`ecgviewer.core.sidecar`) and what it changes:

- :attr:`RecordAnalysis.overread_result`: the delineation with the boundary and beat edits
  applied (:func:`ecgviewer.core.overread.apply_to_delineation`), whose record intervals
  are the headline values of the document, the PDF and ``analyze`` (each with its
  provenance: computed by which method, or edited by whom and when);
- :attr:`RecordAnalysis.statement_states`: the classifier's statements confirmed or
  rejected by the reader (:func:`ecgviewer.core.overread.apply_to_statements`);
- :attr:`RecordAnalysis.overread_beats`: the beat list after the beat edits, when the
  analysis has a classified beat list (long records' beat pass);
- :attr:`RecordAnalysis.overread_status` / ``overread_message``: whether it was applied
  (``"applied"``), not found (``"none"``), not applied because the record changed since
  (``"record changed"``), unreadable, or ignored on request (``"ignored"``).

The computed results (``analysis.delineation`` ...) are never changed: an over-read that
is removed, or not applied, leaves exactly the computed analysis.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecgviewer.core.sidecar import APPLIED, NONE, RECORD_CHANGED, UNREADABLE, load_sidecar

if TYPE_CHECKING:
    from ecgviewer.analysis.pipeline import RecordAnalysis
    from ecgviewer.core.overread import OverRead
    from ecgviewer.core.sidecar import RecordIdentity

#: :attr:`RecordAnalysis.overread_status` when the sidecars were ignored on request
#: (``analyze --ignore-overread``).
IGNORED = "ignored"
#: Every status an analysis can carry (:mod:`ecgviewer.core.sidecar`'s and :data:`IGNORED`).
STATUSES: tuple[str, ...] = (APPLIED, NONE, RECORD_CHANGED, UNREADABLE, IGNORED)


def apply_overread(
    analysis: RecordAnalysis,
    overread: OverRead | None,
    *,
    status: str = APPLIED,
    message: str = "",
    beats: Any = None,
) -> RecordAnalysis:
    """``analysis`` with ``overread`` applied (``status`` ``"applied"``) or only recorded (other statuses).

    Parameters
    ----------
    analysis
        The computed analysis (an earlier over-read on it is replaced, not stacked).
    overread
        The reader's over-read; None: no over-read (the analysis as computed).
    status
        One of :data:`STATUSES`. Only ``"applied"`` changes values; ``"record changed"`` keeps
        ``overread`` for display (the document says it was not applied, and why).
    message
        One line for the reader (e.g. :attr:`LoadedOverRead.message`); default from ``status``.
    beats
        A classified beat list (:class:`~ecgviewer.core.beat_pass.BeatPassResult`: ``r_peaks``,
        ``labels``, ``fs_hz``, ``method``) to apply the beat edits to; ``overread_beats`` is
        then its :class:`~ecgviewer.core.overread.EditedBeats`.

    Returns
    -------
    RecordAnalysis
        A copy with ``overread``, ``overread_status``, ``overread_message``,
        ``overread_result``, ``statement_states`` and ``overread_beats`` set.
    """
    if status not in STATUSES:
        raise ValueError(f"unknown over-read status {status!r} (known: {', '.join(STATUSES)})")
    if overread is None and status == APPLIED:
        status = NONE
    message = message or default_message(status, overread)
    result = states = edited_beats = None
    if status == APPLIED and overread is not None:
        # scipy (through the beat pass's classes): on first use, so the analysis layer imports without it
        from ecgviewer.core.overread import apply_to_beats, apply_to_delineation, apply_to_statements

        dl = analysis.delineation
        if dl is not None:
            result = apply_to_delineation(dl.delineation, overread.edits, withheld=dl.withheld)
        c = analysis.classification_result
        stated = {k.name: bool(k.stated) for k in c.classes} if c is not None else {}
        states = apply_to_statements(stated, overread.edits, c.model_name if c is not None else "")
        if beats is not None and getattr(beats, "r_peaks", None) is not None:
            edited_beats = apply_to_beats(
                beats.r_peaks, beats.labels, overread.edits, beats.fs_hz, getattr(beats, "method", "")
            )
    return dataclasses.replace(
        analysis,
        overread=overread,
        overread_status=status,
        overread_message=message,
        overread_result=result,
        statement_states=states,
        overread_beats=edited_beats,
    )


def default_message(status: str, overread: OverRead | None) -> str:
    """One line for a status when the caller gives none."""
    who = f" by {overread.reader}" if overread is not None else ""
    return {
        APPLIED: f"over-read{who} applied" if overread is not None else "",
        NONE: "",
        RECORD_CHANGED: f"the record changed since the over-read{who}: not applied",
        UNREADABLE: "the over-read file could not be read: not applied",
        IGNORED: "over-read files ignored on request (computed values only)",
    }[status]


def load_overread_for(
    analysis: RecordAnalysis,
    record_path: str | Path,
    *,
    user_dir: str | Path | None = None,
    identity: RecordIdentity | None = None,
) -> tuple[OverRead | None, str, str]:
    """The over-read of ``analysis.record`` (opened from ``record_path``): ``(overread, status, message)``.

    :func:`ecgviewer.core.sidecar.load_sidecar` (beside the record, then the user folder
    ``user_dir``); never raises for a bad file. ``status`` is ``"applied"`` (apply it),
    ``"none"``, ``"record changed"`` (``overread`` is the old one: shown, not applied) or
    ``"unreadable"``. Pass the result to :func:`apply_overread`.

    When no sidecar can exist (:func:`sidecar_possible`: none beside the record, no over-read file
    in the user folder) the status is ``"none"`` without hashing the record (a 24 h Holter is not
    read through once more for nothing).
    """
    if not sidecar_possible(record_path, user_dir):
        return None, NONE, ""
    loaded = load_sidecar(analysis.record, record_path, identity=identity, user_dir=user_dir)
    return loaded.overread, loaded.status, loaded.message


def sidecar_possible(record_path: str | Path, user_dir: str | Path | None = None) -> bool:
    """False when the record at ``record_path`` can have no over-read: no sidecar beside it and no
    over-read file at all in the user folder (``user_dir``, default
    :func:`~ecgviewer.core.sidecar.default_user_dir`). True does not mean there is one."""
    from ecgviewer.core.sidecar import beside_path, default_user_dir

    if beside_path(record_path).exists():
        return True
    folder = Path(user_dir) if user_dir is not None else default_user_dir()
    try:
        return any(p.is_file() for p in folder.glob("*.json"))
    except OSError:
        return False


def with_sidecar(
    analysis: RecordAnalysis,
    record_path: str | Path,
    *,
    ignore: bool = False,
    user_dir: str | Path | None = None,
    beats: Any = None,
) -> RecordAnalysis:
    """``analysis`` with the over-read of its sidecar applied (:func:`load_overread_for`, then
    :func:`apply_overread`); ``ignore``: none looked up, status ``"ignored"``."""
    if ignore:
        return apply_overread(analysis, None, status=IGNORED, beats=beats)
    overread, status, message = load_overread_for(analysis, record_path, user_dir=user_dir)
    return apply_overread(analysis, overread, status=status, message=message, beats=beats)


# -- batch: which sidecar went into a record's outputs ----------------------------------------
def _file_stamp(path: Path) -> list[int] | None:
    try:
        st = path.stat()
    except OSError:
        return None
    return [int(st.st_size), int(st.st_mtime_ns)]


def sidecar_stamp(
    record_path: str | Path, content_hash: str | None, user_dir: str | Path | None = None
) -> dict[str, Any]:
    """What the batch keeps to tell later whether a record's over-read changed: the record's content
    hash and the size and modification time of both places a sidecar can be
    (:func:`ecgviewer.core.sidecar.beside_path`, :func:`~ecgviewer.core.sidecar.user_path`), None where
    there is none. :func:`sidecar_changed` compares it with the files now (no hashing).
    ``content_hash`` None: the record was not hashed because no sidecar could exist
    (:func:`sidecar_possible`)."""
    from ecgviewer.core.sidecar import beside_path, user_path

    return {
        "content_sha256": content_hash,
        "beside": _file_stamp(beside_path(record_path)),
        "user": _file_stamp(user_path(content_hash, user_dir)) if content_hash else None,
    }


def sidecar_changed(stamp: Any, record_path: str | Path, user_dir: str | Path | None = None) -> bool:
    """True when a sidecar of the record appeared, changed or disappeared since ``stamp``
    (:func:`sidecar_stamp`; anything else, e.g. an old state without one, counts as changed).
    The record itself is taken as unchanged (the batch compares its size and time first)."""
    if not isinstance(stamp, dict) or "content_sha256" not in stamp:
        return True
    content_hash = stamp["content_sha256"]
    if content_hash is None:  # none could exist then: changed when one could now
        return sidecar_possible(record_path, user_dir)
    if not isinstance(content_hash, str):
        return True
    return sidecar_stamp(record_path, content_hash, user_dir) != stamp


def report_arguments(analysis: RecordAnalysis) -> dict[str, Any]:
    """The keyword arguments of :func:`ecgviewer.report.pdf.render_report` (and
    ``render_report_bytes``) that carry the delineation and the over-read of ``analysis``:
    ``delineation`` (with the reader's edits when they apply), ``delineation_error``,
    ``over_read`` (the document's section) and ``overread_result``."""
    from ecgviewer.report.measurements import overread_section

    return {
        "delineation": analysis.effective_delineation,
        "delineation_error": analysis.delineation_error,
        "over_read": overread_section(
            analysis.overread,
            analysis.overread_status,
            analysis.overread_message,
            analysis.overread_result,
            analysis.statement_states,
            analysis.overread_beats,
        ),
        "overread_result": analysis.overread_result,
    }
