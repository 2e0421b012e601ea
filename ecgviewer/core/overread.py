"""A physician's over-read of the automatic measurements: edits, and what they change (numpy only).

The automatic analysis (beats, wave boundaries, intervals, statements) is never
changed in place. A reader's corrections are a list of **edits** (:class:`OverRead`),
and pure functions apply the list to what was computed:

- :func:`apply_to_delineation` -- moved, deleted or added P onset / QRS onset / QRS
  offset / T offset marks (on one beat, in one lead or on all, or on the median beat),
  added or deleted beats, beats inside artefact spans left out; the record intervals
  recomputed with :func:`ecgviewer.core.delineation.record_intervals`;
- :func:`apply_to_beats` -- the beat list of a record (relabelled, added, deleted beats,
  beats inside artefact spans left out) and its counts per class;
- :func:`apply_to_statements` -- classifier statements confirmed or rejected;
- :attr:`OverRead.interpretation` -- the reader's free-text interpretation.

Every value they return comes with its **provenance**: ``{"source": "computed",
"method": ...}`` or ``{"source": "edited", "by": ..., "at": ...}`` (see
:func:`computed` and :func:`edited`).

Rules (``docs/overread.md`` says the same for readers):

* **Beats are addressed by their R-peak sample**, never by index (indices shift when a beat
  is added or deleted). An edit finds its beat as the nearest beat within
  :data:`BEAT_MATCH_MS`; one that finds none is *unapplied* and listed with the reason,
  never dropped silently.
* **Samples** are at the record's sampling rate (the rate of the :class:`Delineation`,
  which is the record's). A median-beat mark is an offset in samples from the median
  beat's R peak (negative before it), the R-aligned coordinate of
  :class:`ecgviewer.core.beats.MedianBeat` (``sample - r_index``).
* **Edits apply in list order**; a later edit of the same mark wins. Undo is removing an
  edit from the list (:meth:`OverRead.without`).
* A beat-level mark edit with ``lead=None`` sets (or deletes) that point in **every lead**
  of the beat, so the beat's consensus is the edited sample; with a lead name, only there.
* **Median-beat edits set the record value.** The median beat's marks are
  :func:`median_beat_points` (per point, the median over beats of the consensus boundary
  relative to the R peak). When a mark an interval rests on (PR: P onset, QRS onset; QRS:
  QRS onset and offset; QT: QRS onset, T offset) is edited on the median beat, that record
  interval is the difference of the median beat's marks, edited or as computed; otherwise it
  is :func:`record_intervals` of the edited beats. Median-beat edits are consensus edits
  (``lead`` must be None). Deleting a median-beat mark ("no P wave") makes the intervals
  resting on it absent, with the reason.
* The **artefact** label :data:`ARTEFACT` (``"|"``, the MIT-BIH "isolated QRS-like
  artefact" symbol) marks a detection that is not a beat: it stays in the beat list (so it can
  be shown and exported) but is counted apart and left out of the delineation and of every
  measurement. An :class:`ArtefactSpan` leaves out every beat whose R peak lies in it, and the
  R-R interval across it (:func:`rr_ms_outside`): the beats inside are unknown.
"""

from __future__ import annotations

import bisect
import datetime as dt
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import ClassVar, Literal

import numpy as np

from ecgviewer import __version__
from ecgviewer.core.beat_classes import BEAT_CLASSES, CLASS_DESCRIPTIONS
from ecgviewer.core.delineation import (
    CONVENTION,
    MIN_BEAT_SHARE,
    POINT_NAMES,
    POINTS,
    Delineation,
    Interval,
    record_intervals,
)

#: Label of a detection the reader calls an artefact (not a beat); also its WFDB symbol.
ARTEFACT = "|"
#: Every beat label an over-read may give: the AAMI classes and :data:`ARTEFACT`.
LABELS: tuple[str, ...] = (*BEAT_CLASSES, ARTEFACT)
LABEL_DESCRIPTIONS: Mapping[str, str] = MappingProxyType(
    {**CLASS_DESCRIPTIONS, ARTEFACT: "artefact (not a beat; left out of every measurement)"}
)
#: The beat address of a median-beat mark.
MEDIAN: Literal["median"] = "median"
#: An edit finds its beat as the nearest R peak at most this far from its sample (ms).
BEAT_MATCH_MS = 50.0
#: What an over-read records as the software that wrote it.
SOFTWARE = f"ecgviewer {__version__}"
#: The boundary points each record interval rests on.
INTERVAL_POINTS: Mapping[str, tuple[str, str]] = MappingProxyType(
    {"pr_ms": ("p_on", "qrs_on"), "qrs_ms": ("qrs_on", "qrs_off"), "qt_ms": ("qrs_on", "t_off")}
)


def utc_now() -> dt.datetime:
    """The current time, timezone-aware UTC, to the second."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def _utc(t: dt.datetime) -> dt.datetime:
    if not isinstance(t, dt.datetime):
        raise TypeError(f"edit time must be a datetime, not {type(t).__name__}")
    if t.tzinfo is None:
        raise ValueError("edit time must be timezone-aware (UTC)")
    return t.astimezone(dt.timezone.utc)


# -- edits ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class Edit:
    """Base of every edit: who made it (``by``, required keyword) and when (``at``, UTC; default now).

    ``kind`` names the edit in the sidecar file (:meth:`to_dict`).
    """

    kind: ClassVar[str] = ""
    by: str = field(kw_only=True)
    at: dt.datetime = field(default_factory=utc_now, kw_only=True)

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", _utc(self.at))
        if not isinstance(self.by, str) or not self.by.strip():
            raise ValueError("an edit must name its author (by=...)")

    def to_dict(self) -> dict[str, object]:
        """JSON-ready: ``{"kind": ..., <fields>..., "by": ..., "at": ISO 8601}``."""
        out: dict[str, object] = {"kind": self.kind}
        for f in sorted(fields(self), key=lambda f: f.name in ("by", "at")):
            v = getattr(self, f.name)
            out[f.name] = v.isoformat() if isinstance(v, dt.datetime) else v
        return out


def _int_sample(v, what: str) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer, float, np.floating)):
        raise TypeError(f"{what} must be a sample number, not {v!r}")
    if not math.isfinite(float(v)):
        raise ValueError(f"{what} must be finite, not {v!r}")
    return round(float(v))


def _check_label(label: str) -> str:
    if label not in LABELS:
        raise ValueError(f"unknown beat label {label!r} (known: {', '.join(LABELS)})")
    return label


@dataclass(frozen=True)
class BoundaryEdit(Edit):
    """A wave boundary moved, deleted (``sample=None``) or added.

    Attributes
    ----------
    beat
        The beat's R-peak sample, or :data:`MEDIAN` for the median beat.
    point
        One of :data:`ecgviewer.core.delineation.POINTS`.
    sample
        The new position: a record sample, or for the median beat an offset in samples from its
        R peak; None deletes the mark (e.g. "no P wave").
    lead
        The lead it applies to; None = the beat's consensus (every lead). Must be None for the
        median beat.
    """

    kind: ClassVar[str] = "boundary"
    beat: int | Literal["median"]
    point: str
    sample: int | None
    lead: str | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.beat != MEDIAN:
            object.__setattr__(self, "beat", _int_sample(self.beat, "beat"))
        if self.point not in POINTS:
            raise ValueError(f"unknown boundary point {self.point!r} (known: {', '.join(POINTS)})")
        if self.sample is not None:
            object.__setattr__(self, "sample", _int_sample(self.sample, "sample"))
        if self.beat == MEDIAN and self.lead is not None:
            raise ValueError("median-beat marks are consensus marks: lead must be None")

    @property
    def deletes(self) -> bool:
        """True when the edit removes the mark."""
        return self.sample is None


@dataclass(frozen=True)
class BeatLabelEdit(Edit):
    """A beat relabelled (one of :data:`LABELS`; :data:`ARTEFACT` = not a beat)."""

    kind: ClassVar[str] = "beat_label"
    beat: int
    label: str

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "beat", _int_sample(self.beat, "beat"))
        _check_label(self.label)


@dataclass(frozen=True)
class BeatAdded(Edit):
    """A beat the detector missed, at its R-peak sample, with its label."""

    kind: ClassVar[str] = "beat_added"
    sample: int
    label: str = "N"

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "sample", _int_sample(self.sample, "sample"))
        _check_label(self.label)


@dataclass(frozen=True)
class BeatDeleted(Edit):
    """A false detection removed (the beat at or nearest to ``sample``)."""

    kind: ClassVar[str] = "beat_deleted"
    sample: int

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "sample", _int_sample(self.sample, "sample"))


@dataclass(frozen=True)
class ArtefactSpan(Edit):
    """A stretch ``[start_s, end_s)`` (seconds from the record start) of artefact or noise:
    every beat whose R peak lies in it is left out of every measurement."""

    kind: ClassVar[str] = "artefact"
    start_s: float
    end_s: float

    def __post_init__(self) -> None:
        super().__post_init__()
        a, b = float(self.start_s), float(self.end_s)
        if not (math.isfinite(a) and math.isfinite(b)) or a < 0 or b <= a:
            raise ValueError(f"artefact span must satisfy 0 <= start < end, got {a!r}..{b!r}")
        object.__setattr__(self, "start_s", a)
        object.__setattr__(self, "end_s", b)

    def sample_range(self, fs_hz: float) -> tuple[int, int]:
        """``[start, stop)`` in samples at ``fs_hz``."""
        return round(self.start_s * fs_hz), round(self.end_s * fs_hz)


@dataclass(frozen=True)
class StatementEdit(Edit):
    """A classifier statement confirmed (``True``: stated) or rejected (``False``: not stated)."""

    kind: ClassVar[str] = "statement"
    code: str
    confirmed: bool

    def __post_init__(self) -> None:
        super().__post_init__()
        if not isinstance(self.code, str) or not self.code:
            raise ValueError("statement code must be a non-empty string")
        if not isinstance(self.confirmed, (bool, np.bool_)):
            raise TypeError(f"confirmed must be a bool, not {self.confirmed!r}")
        object.__setattr__(self, "confirmed", bool(self.confirmed))


@dataclass(frozen=True)
class Interpretation(Edit):
    """The reader's free-text interpretation (the last one in the list is the current text)."""

    kind: ClassVar[str] = "interpretation"
    text: str

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "text", str(self.text))


#: Edit classes by their :attr:`Edit.kind`.
EDIT_KINDS: Mapping[str, type[Edit]] = MappingProxyType(
    {
        c.kind: c
        for c in (
            BoundaryEdit,
            BeatLabelEdit,
            BeatAdded,
            BeatDeleted,
            ArtefactSpan,
            StatementEdit,
            Interpretation,
        )
    }
)


def edit_from_dict(d: Mapping[str, object]) -> Edit:
    """The edit :meth:`Edit.to_dict` wrote. Raises ``ValueError``/``TypeError``/``KeyError`` on a bad one."""
    if not isinstance(d, Mapping):
        raise TypeError(f"an edit must be a JSON object, not {type(d).__name__}")
    kind = d.get("kind")
    cls = EDIT_KINDS.get(kind)  # type: ignore[arg-type]
    if cls is None:
        raise ValueError(f"unknown edit kind {kind!r}")
    names = {f.name for f in fields(cls)}
    unknown = set(d) - names - {"kind"}
    if unknown:
        raise ValueError(f"unknown fields {sorted(unknown)} in a {kind!r} edit")
    kw = {k: v for k, v in d.items() if k != "kind"}
    if "at" not in kw:
        raise KeyError(f"a {kind!r} edit without its time ('at')")
    kw["at"] = dt.datetime.fromisoformat(str(kw["at"]))
    return cls(**kw)


# -- the over-read ------------------------------------------------------------------------
@dataclass(frozen=True)
class OverRead:
    """A reader's over-read of one record: the ordered edits and what they were made against.

    Attributes
    ----------
    reader
        Who over-reads (the setting's name, default :func:`ecgviewer.core.sidecar.default_reader`).
    edits
        In the order they were made; later edits of the same mark win.
    models
        The models whose results were over-read, ``{task: "name version"}`` (e.g.
        ``{"delineation": "unet_delineation 2024-05-01"}``).
    software
        The ecgviewer that made the edits (:data:`SOFTWARE`).
    created, modified
        When the over-read was first and last saved (UTC; None before its first save).
    """

    reader: str
    edits: tuple[Edit, ...] = ()
    models: Mapping[str, str] = field(default_factory=dict)
    software: str = SOFTWARE
    created: dt.datetime | None = None
    modified: dt.datetime | None = None

    def __post_init__(self) -> None:
        edits = tuple(self.edits)
        for e in edits:
            if not isinstance(e, Edit):
                raise TypeError(f"not an edit: {e!r}")
        object.__setattr__(self, "edits", edits)
        object.__setattr__(self, "models", MappingProxyType({str(k): str(v) for k, v in self.models.items()}))
        for name in ("created", "modified"):
            t = getattr(self, name)
            if t is not None:
                object.__setattr__(self, name, _utc(t))

    def add(self, *edits: Edit) -> OverRead:
        """A copy with ``edits`` appended."""
        return replace(self, edits=self.edits + tuple(edits))

    def without(self, edit: Edit) -> OverRead:
        """A copy without the last occurrence of ``edit`` (undo); unchanged when it is not there."""
        for i in range(len(self.edits) - 1, -1, -1):
            if self.edits[i] == edit:
                return replace(self, edits=self.edits[:i] + self.edits[i + 1 :])
        return self

    def of_kind(self, cls: type[Edit]) -> tuple[Edit, ...]:
        """The edits of one class, in order."""
        return tuple(e for e in self.edits if isinstance(e, cls))

    @property
    def artefact_spans(self) -> tuple[ArtefactSpan, ...]:
        """Every :class:`ArtefactSpan`, in order."""
        return self.of_kind(ArtefactSpan)  # type: ignore[return-value]

    @property
    def interpretation(self) -> str:
        """The current free-text interpretation (the last :class:`Interpretation`), ``""`` if none."""
        last = interpretation_edit(self.edits)
        return last.text if last is not None else ""

    @property
    def authors(self) -> tuple[str, ...]:
        """Everyone who made an edit, in order of first edit."""
        return tuple(dict.fromkeys(e.by for e in self.edits))

    def to_dict(self) -> dict[str, object]:
        """JSON-ready (the ``reader``...``edits`` part of the sidecar, ``docs/overread.md``)."""
        return {
            "reader": self.reader,
            "created": self.created.isoformat() if self.created else None,
            "modified": self.modified.isoformat() if self.modified else None,
            "software": self.software,
            "models": dict(self.models),
            "edits": [e.to_dict() for e in self.edits],
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, object]) -> OverRead:
        """The over-read :meth:`to_dict` wrote; ``ValueError``/``TypeError``/``KeyError`` on a bad one."""

        def t(v) -> dt.datetime | None:
            return None if v is None else dt.datetime.fromisoformat(str(v))

        edits = d.get("edits", [])
        if not isinstance(edits, list):
            raise TypeError("'edits' must be a list")
        models = d.get("models") or {}
        if not isinstance(models, Mapping):
            raise TypeError("'models' must be an object")
        return cls(
            reader=str(d["reader"]),
            edits=tuple(edit_from_dict(e) for e in edits),
            models=models,
            software=str(d.get("software") or ""),
            created=t(d.get("created")),
            modified=t(d.get("modified")),
        )


def interpretation_edit(edits: Iterable[Edit]) -> Interpretation | None:
    """The last :class:`Interpretation` of ``edits`` (the current text), None if none."""
    last = None
    for e in edits:
        if isinstance(e, Interpretation):
            last = e
    return last


# -- provenance ---------------------------------------------------------------------------
def computed(method: str, **extra: object) -> dict[str, object]:
    """Provenance of a computed value: ``{"source": "computed", "method": method, ...}``."""
    return {"source": "computed", "method": method, **extra}


def edited(edits: Sequence[Edit], **extra: object) -> dict[str, object]:
    """Provenance of a value the reader changed: ``{"source": "edited", "by": "alice, bob",
    "at": latest ISO time, "edits": n, ...}`` (``by`` lists the authors in order)."""
    if not edits:
        raise ValueError("edited() needs at least one edit")
    by = ", ".join(dict.fromkeys(e.by for e in edits))
    at = max(e.at for e in edits).isoformat()
    return {"source": "edited", "by": by, "at": at, "edits": len(edits), **extra}


# -- beat bookkeeping shared by the two apply functions ----------------------------------------
class _Beats:
    """Beats keyed by R-peak sample, with nearest lookup; ``payload`` travels with each beat."""

    def __init__(self, samples: Sequence[int], labels: Sequence[str | None], fs_hz: float) -> None:
        self.order: list[int] = []
        self.label: dict[int, str | None] = {}
        self.origin: dict[int, int | None] = {}  # index in the input, None for added beats
        self.edits: dict[int, list[Edit]] = {}
        for i, (s, lab) in enumerate(zip(samples, labels, strict=True)):
            s = int(s)
            if s in self.label:  # a duplicate sample: keep the first
                continue
            self.label[s] = lab
            self.origin[s] = i
            self.edits[s] = []
        self.order = sorted(self.label)
        self.tol = max(1, round(BEAT_MATCH_MS * fs_hz / 1000.0))
        self.on_delete: Callable[[int], None] | None = None  # forget what else is kept per beat

    def find(self, sample: int) -> int | None:
        k = bisect.bisect_left(self.order, sample)
        best = None
        for j in (k - 1, k):
            if 0 <= j < len(self.order):
                d = abs(self.order[j] - sample)
                if d <= self.tol and (best is None or d < abs(best - sample)):
                    best = self.order[j]
        return best

    def add(self, sample: int, label: str | None, edit: Edit) -> None:
        bisect.insort(self.order, sample)
        self.label[sample] = label
        self.origin[sample] = None
        self.edits[sample] = [edit]

    def delete(self, sample: int) -> None:
        self.order.pop(bisect.bisect_left(self.order, sample))
        del self.label[sample], self.origin[sample], self.edits[sample]
        if self.on_delete is not None:
            self.on_delete(sample)


def _in_spans(samples: np.ndarray, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    out = np.zeros(samples.shape, dtype=bool)
    for a, b in spans:
        out |= (samples >= a) & (samples < b)
    return out


def _beat_list_edits(beats: _Beats, edits: Sequence[Edit], unapplied: list, on_boundary=None) -> None:
    """Apply beat added/deleted/relabelled edits (and pass boundary edits to ``on_boundary``) in order."""
    for e in edits:
        if isinstance(e, BeatAdded):
            near = beats.find(e.sample)
            if near is not None:
                unapplied.append((e, f"a beat already exists at sample {near}"))
                continue
            beats.add(e.sample, e.label, e)
        elif isinstance(e, BeatDeleted):
            near = beats.find(e.sample)
            if near is None:
                unapplied.append((e, f"no beat within {BEAT_MATCH_MS:g} ms of sample {e.sample}"))
                continue
            beats.delete(near)
        elif isinstance(e, BeatLabelEdit):
            near = beats.find(e.beat)
            if near is None:
                unapplied.append((e, f"no beat within {BEAT_MATCH_MS:g} ms of sample {e.beat}"))
                continue
            beats.label[near] = e.label
            beats.edits[near].append(e)
        elif isinstance(e, BoundaryEdit) and on_boundary is not None:
            on_boundary(e)


# -- beats -------------------------------------------------------------------------------------
@dataclass(frozen=True)
class EditedBeats:
    """The beat list after an over-read (:func:`apply_to_beats`).

    Attributes
    ----------
    fs_hz
        Sampling rate of the samples.
    samples
        R-peak samples, sorted (int64), artefact-labelled detections included.
    labels
        One of :data:`LABELS` per beat.
    beat_edits
        Per beat, the edits that made it what it is (empty tuple: as computed).
    excluded
        R peaks left out because they lie in an :class:`ArtefactSpan` (sorted).
    spans
        The artefact spans, ``[start, stop)`` in samples.
    unapplied
        ``(edit, reason)`` for every edit that found no beat.
    method
        How the unedited labels were made (the beat pass's ``method``).
    """

    fs_hz: float
    samples: np.ndarray
    labels: np.ndarray
    beat_edits: tuple[tuple[Edit, ...], ...]
    excluded: np.ndarray
    unapplied: tuple[tuple[Edit, str], ...] = ()
    method: str = ""
    spans: tuple[tuple[int, int], ...] = ()

    @property
    def n_beats(self) -> int:
        """Beats and artefact-labelled detections in the list."""
        return int(self.samples.size)

    def counts(self) -> dict[str, int]:
        """Number of beats per label, every one of :data:`LABELS` (artefacts under ``"|"``)."""
        return {c: int(np.count_nonzero(self.labels == c)) for c in LABELS}

    def beats_only(self) -> tuple[np.ndarray, np.ndarray]:
        """``(samples, labels)`` without artefact-labelled detections: the beats to measure (e.g. for
        :class:`ecgviewer.core.beat_pass.BeatPassResult`)."""
        keep = self.labels != ARTEFACT
        return self.samples[keep], self.labels[keep]

    def rr_ms(self) -> np.ndarray:
        """R-R intervals (ms) between consecutive beats of :meth:`beats_only`, ``nan`` across an
        artefact span (:func:`rr_ms_outside`)."""
        return rr_ms_outside(self.beats_only()[0], self.fs_hz, self.spans)

    def index_of(self, sample: int) -> int | None:
        """Index of the beat nearest ``sample`` within :data:`BEAT_MATCH_MS`, None if none."""
        if self.samples.size == 0:
            return None
        k = int(np.searchsorted(self.samples, sample))
        cands = [j for j in (k - 1, k) if 0 <= j < self.samples.size]
        j = min(cands, key=lambda j: abs(int(self.samples[j]) - sample))
        return j if abs(int(self.samples[j]) - sample) <= round(BEAT_MATCH_MS * self.fs_hz / 1000.0) else None

    def provenance(self, i: int) -> dict[str, object]:
        """Provenance of beat ``i``'s presence and label."""
        es = self.beat_edits[i]
        if not es:
            return computed(self.method or "beat detection")
        change = "added" if isinstance(es[0], BeatAdded) else "relabelled"
        return edited(es, change=change)


def apply_to_beats(
    samples: Sequence[int] | np.ndarray,
    labels: Sequence[str] | np.ndarray,
    edits: Iterable[Edit],
    fs_hz: float,
    method: str = "",
) -> EditedBeats:
    """The beat list after the beat edits (:class:`BeatAdded`, :class:`BeatDeleted`,
    :class:`BeatLabelEdit`) and :class:`ArtefactSpan` of ``edits``; other edits are ignored.

    ``samples``/``labels`` are the computed R peaks and classes (one of :data:`LABELS` each);
    ``method`` names how they were made (for :meth:`EditedBeats.provenance`).
    """
    s = np.asarray(samples, dtype=np.int64).ravel()
    lab = [str(x) for x in np.asarray(labels).ravel()]
    if s.size != len(lab):
        raise ValueError(f"{s.size} beats but {len(lab)} labels")
    for x in set(lab):
        _check_label(x)
    edits = tuple(edits)
    beats = _Beats(s.tolist(), lab, fs_hz)
    unapplied: list[tuple[Edit, str]] = []
    _beat_list_edits(beats, edits, unapplied)
    out = np.array(beats.order, dtype=np.int64)
    spans = [e.sample_range(fs_hz) for e in edits if isinstance(e, ArtefactSpan)]
    drop = _in_spans(out, spans)
    keep = out[~drop]
    return EditedBeats(
        float(fs_hz),
        keep,
        np.array([beats.label[int(x)] for x in keep], dtype="<U1"),
        tuple(tuple(beats.edits[int(x)]) for x in keep),
        out[drop],
        tuple(unapplied),
        method,
        tuple(spans),
    )


# -- delineation ------------------------------------------------------------------------------
def rr_ms_outside(r_peaks: np.ndarray, fs_hz: float, spans: Sequence[tuple[int, int]]) -> np.ndarray:
    """R-R intervals (ms, ``n - 1``) with ``nan`` for those overlapping an artefact span ``[a, b)``
    (samples): the beats inside a span are unknown, so the interval across it is no RR interval."""
    r = np.asarray(r_peaks, dtype=np.int64)
    rr = np.diff(r) * (1000.0 / fs_hz)
    if r.size < 2:
        return rr.astype(float)
    across = np.zeros(rr.size, dtype=bool)
    for a, b in spans:
        across |= (r[:-1] < b) & (r[1:] > a)
    return np.where(across, np.nan, rr)


def _rr_hr(d: Delineation, spans: Sequence[tuple[int, int]]) -> dict[str, Interval]:
    """RR and HR of ``d`` from the intervals not crossing an artefact span (as record_intervals)."""
    rr_all = rr_ms_outside(d.r_peaks, d.fs_hz, spans)
    rr_all = rr_all[np.isfinite(rr_all)]
    if rr_all.size == 0:
        why = "no two consecutive beats outside the artefact spans"
        return {"rr_ms": Interval("rr_ms", None, reason=why), "hr_bpm": Interval("hr_bpm", None, reason=why)}

    def sd(v: np.ndarray) -> float | None:
        return float(1.4826 * np.median(np.abs(v - np.median(v)))) if v.size >= 2 else None

    rr = float(np.median(rr_all))
    n, nl = d.n_beats, len(d.leads)
    return {
        "rr_ms": Interval("rr_ms", rr, sd(rr_all), None, n, nl),
        "hr_bpm": Interval("hr_bpm", 60000.0 / rr, sd(60000.0 / rr_all), None, n, nl),
    }


def median_beat_points(d: Delineation) -> np.ndarray:
    """The median beat's marks: ``(len(POINTS),)`` offsets in samples from the R peak (``nan`` absent).

    Per point, the median over beats of the consensus boundary minus the beat's R peak, over the
    beats that have it; absent when fewer than :data:`MIN_BEAT_SHARE` of the beats with a QRS
    have it (the rule of :func:`record_intervals`). The offsets are those of the R-aligned
    :class:`ecgviewer.core.beats.MedianBeat` (``r_index + offset`` is its sample).
    """
    out = np.full(len(POINTS), np.nan)
    if d.n_beats == 0 or not d.leads:
        return out
    c = d.consensus
    rel = c - d.r_peaks[:, None].astype(float)
    measurable = np.isfinite(c[:, POINTS.index("qrs_on")]) | np.isfinite(c[:, POINTS.index("qrs_off")])
    n = int(measurable.sum())
    if n == 0:
        return out
    for k in range(len(POINTS)):
        v = rel[measurable, k]
        v = v[np.isfinite(v)]
        if v.size and v.size / n >= MIN_BEAT_SHARE:
            out[k] = float(np.median(v))
    return out


@dataclass(frozen=True)
class EditedDelineation:
    """A delineation after an over-read (:func:`apply_to_delineation`).

    Attributes
    ----------
    delineation
        Beats and boundaries after the edits (deleted, artefact-labelled and artefact-span beats
        gone; added beats in, with the marks the reader gave them).
    intervals
        ``rr_ms``, ``hr_bpm``, ``pr_ms``, ``qrs_ms``, ``qt_ms`` as :class:`Interval`.
    provenance
        For each key of ``intervals``: :func:`computed` or :func:`edited`.
    median_points
        :func:`median_beat_points` of the edited beats with the median-beat edits applied.
    median_edits
        Point name -> the median-beat edit that set it.
    point_edits
        ``(beat sample, lead or None, point)`` -> the beat-level edit that set the mark last
        (``lead`` None: a consensus edit, applying to every lead).
    beat_edits
        ``BeatAdded``/``BeatDeleted``/``BeatLabelEdit``/``ArtefactSpan`` edits that changed the beat set.
    unapplied
        ``(edit, reason)`` for edits that found no beat or lead.
    """

    delineation: Delineation
    intervals: Mapping[str, Interval]
    provenance: Mapping[str, Mapping[str, object]]
    median_points: np.ndarray
    median_edits: Mapping[str, BoundaryEdit]
    point_edits: Mapping[tuple[int, str | None, str], BoundaryEdit]
    beat_edits: tuple[Edit, ...] = ()
    unapplied: tuple[tuple[Edit, str], ...] = ()

    def point_provenance(self, beat: int | Literal["median"], point: str, lead: str | None = None):
        """Provenance of one mark: of beat ``beat`` (its R-peak sample, as in :attr:`delineation`,
        or :data:`MEDIAN`) in ``lead`` (None: the consensus mark)."""
        method = self.delineation.method or "delineation"
        if beat == MEDIAN:
            e = self.median_edits.get(point)
            return edited([e]) if e is not None else computed(f"{method}: median over beats")
        beat = int(beat)
        if lead is not None:
            e = self.point_edits.get((beat, lead, point)) or self.point_edits.get((beat, None, point))
            return edited([e]) if e is not None else computed(method)
        es = [e for (b, _lead, p), e in self.point_edits.items() if b == beat and p == point]
        return edited(sorted(es, key=lambda e: e.at)) if es else computed(method)

    def as_dict(self) -> dict[str, object]:
        """Record intervals with their provenance: ``{key: {**Interval.as_dict(), "provenance": ...}}``."""
        return {k: {**v.as_dict(), "provenance": dict(self.provenance[k])} for k, v in self.intervals.items()}


def apply_to_delineation(
    d: Delineation, edits: Iterable[Edit], withheld: Sequence[str] = ()
) -> EditedDelineation:
    """Apply the boundary and beat edits of ``edits`` to ``d`` and recompute the record intervals.

    Order of work: the edits in list order (beats added/deleted/relabelled, beat and median-beat
    marks set); then beats labelled :data:`ARTEFACT` or inside an :class:`ArtefactSpan` are left
    out; the intervals are :func:`record_intervals` of what is left (``withheld`` passed on), except
    that an interval resting on a median-beat edit is the difference of the median beat's marks
    (module docstring). Statement and interpretation edits are ignored here.
    """
    edits = tuple(edits)
    fs = d.fs_hz
    n_leads = len(d.leads)
    beats = _Beats(d.r_peaks.tolist(), [None] * d.n_beats, fs)
    rows: dict[int, np.ndarray] = {}  # points of added beats and of edited beats (copies)

    def row(s: int) -> np.ndarray:
        if s not in rows:
            i = beats.origin[s]
            rows[s] = d.points[:, i, :].copy() if i is not None else np.full((n_leads, len(POINTS)), np.nan)
        return rows[s]

    unapplied: list[tuple[Edit, str]] = []
    point_edits: dict[tuple[int, str | None, str], BoundaryEdit] = {}
    median_edits: dict[str, BoundaryEdit] = {}
    median_set: dict[str, float] = {}

    def on_boundary(e: BoundaryEdit) -> None:
        k = POINTS.index(e.point)
        value = np.nan if e.sample is None else float(e.sample)
        if e.beat == MEDIAN:
            median_edits[e.point] = e
            median_set[e.point] = value
            return
        near = beats.find(e.beat)
        if near is None:
            unapplied.append((e, f"no beat within {BEAT_MATCH_MS:g} ms of sample {e.beat}"))
            return
        if e.lead is None:
            row(near)[:, k] = value
            for key in [key for key in point_edits if key[0] == near and key[2] == e.point]:
                del point_edits[key]
            point_edits[(near, None, e.point)] = e
        else:
            if e.lead not in d.leads:
                unapplied.append((e, f"lead {e.lead} is not delineated"))
                return
            row(near)[d.leads.index(e.lead), k] = value
            point_edits[(near, e.lead, e.point)] = e

    def on_delete(s: int) -> None:  # a beat re-added at the same sample starts without marks
        rows.pop(s, None)
        for key in [key for key in point_edits if key[0] == s]:
            del point_edits[key]

    beats.on_delete = on_delete
    _beat_list_edits(beats, edits, unapplied, on_boundary)

    # the beats left, in time order
    order = np.array(beats.order, dtype=np.int64)
    spans = [(e, e.sample_range(fs)) for e in edits if isinstance(e, ArtefactSpan)]
    in_span = _in_spans(order, [r for _, r in spans])
    is_art = np.array([beats.label[int(s)] == ARTEFACT for s in order], dtype=bool)
    keep = order[~(in_span | is_art)]
    pts = np.full((n_leads, keep.size, len(POINTS)), np.nan)
    conf = np.full((n_leads, keep.size, 3), np.nan)
    for j, s in enumerate(keep.tolist()):
        i = beats.origin[s]
        pts[:, j, :] = row(s) if s in rows or i is None else d.points[:, i, :]
        if i is not None:
            conf[:, j, :] = d.confidence[:, i, :]
    out = Delineation(fs, d.leads, keep, pts, conf, d.method, d.notes)
    point_edits = {k: v for k, v in point_edits.items() if k[0] in set(keep.tolist())}

    # edits that changed the beat set
    kept = set(keep.tolist())
    original = set(d.r_peaks.tolist())
    set_edits: list[Edit] = []
    failed = {id(u) for u, _ in unapplied}
    for e in edits:
        if id(e) in failed:
            continue
        added = isinstance(e, BeatAdded) and e.sample in kept and e.sample not in original
        not_a_beat = isinstance(e, BeatLabelEdit) and e.label == ARTEFACT
        if added or not_a_beat or isinstance(e, BeatDeleted):
            set_edits.append(e)
    for e, (a, b) in spans:
        if np.any((d.r_peaks >= a) & (d.r_peaks < b)) or np.any((order >= a) & (order < b)):
            set_edits.append(e)

    intervals = dict(record_intervals(out, withheld))
    if spans and out.leads:
        intervals.update(_rr_hr(out, [r for _, r in spans]))
    med = median_beat_points(out)
    for p, v in median_set.items():
        med[POINTS.index(p)] = v
    method = d.method or "delineation"
    provenance: dict[str, Mapping[str, object]] = {}
    for key in ("rr_ms", "hr_bpm"):
        provenance[key] = (
            edited(set_edits, method=f"R peaks after the reader's beat edits; {CONVENTION}")
            if set_edits
            else computed("R peaks", convention=CONVENTION)
        )
    ms = 1000.0 / fs
    for key, (a, b) in INTERVAL_POINTS.items():
        m_edits = [median_edits[p] for p in (a, b) if p in median_edits]
        if m_edits:
            va, vb = med[POINTS.index(a)], med[POINTS.index(b)]
            if math.isfinite(va) and math.isfinite(vb):
                intervals[key] = Interval(key, float((vb - va) * ms), None, None, out.n_beats, n_leads)
            else:
                gone = [p for p in (a, b) if not math.isfinite(med[POINTS.index(p)])]
                deleted = [p for p in gone if p in median_edits]
                if deleted:
                    why = ", ".join(POINT_NAMES[p] for p in deleted)
                    extra = " (no P wave)" if "p_on" in deleted else ""
                    reason = f"{why} deleted on the median beat by the reader{extra}"
                else:
                    reason = f"{', '.join(POINT_NAMES[p] for p in gone)} not found on the median beat"
                intervals[key] = Interval(key, None, n_beats=out.n_beats, n_leads=n_leads, reason=reason)
            provenance[key] = edited(
                m_edits, method="difference of the median beat's marks, edited by the reader"
            )
            continue
        b_edits = [e for (_b, _l, p), e in point_edits.items() if p in (a, b)]
        b_edits = list(dict.fromkeys(b_edits))  # one edit may set several keys: count once
        iv = intervals[key]
        if not iv.present:
            dele = {
                p: len({b_ for (b_, _l, q), e in point_edits.items() if q == p and e.deletes}) for p in (a, b)
            }
            parts = [f"{POINT_NAMES[p]} deleted by the reader in {n} beats" for p, n in dele.items() if n]
            if parts:
                intervals[key] = replace(iv, reason="; ".join([*parts, iv.reason or ""]).rstrip("; "))
        every = sorted([*b_edits, *set_edits], key=lambda e: e.at)
        provenance[key] = (
            edited(every, method=f"{method} with the reader's edits; {CONVENTION}")
            if every
            else computed(method, convention=CONVENTION)
        )
    return EditedDelineation(
        out,
        MappingProxyType(intervals),
        MappingProxyType(provenance),
        med,
        MappingProxyType(median_edits),
        MappingProxyType(point_edits),
        tuple(set_edits),
        tuple(unapplied),
    )


# -- statements --------------------------------------------------------------------------------
@dataclass(frozen=True)
class StatementState:
    """One statement after an over-read.

    ``computed`` is what the classifier stated (None: not one of its outputs, added by the reader);
    ``stated`` what the report states now.
    """

    code: str
    stated: bool
    computed: bool | None
    provenance: Mapping[str, object]


def apply_to_statements(
    stated: Mapping[str, bool] | Iterable[str], edits: Iterable[Edit], method: str = ""
) -> dict[str, StatementState]:
    """Classifier statements (``{code: stated}`` or the stated codes) after the reader's
    :class:`StatementEdit` s; a code the classifier does not have is added when confirmed.

    Returns ``{code: StatementState}``, the classifier's codes first in their order.
    """
    base = dict(stated) if isinstance(stated, Mapping) else dict.fromkeys(stated, True)
    last: dict[str, StatementEdit] = {}
    for e in edits:
        if isinstance(e, StatementEdit):
            last[e.code] = e
    out: dict[str, StatementState] = {}
    for code in [*base, *(c for c in last if c not in base)]:
        comp = bool(base[code]) if code in base else None
        e = last.get(code)
        if e is None:
            out[code] = StatementState(code, bool(comp), comp, computed(method or "classifier"))
        else:
            out[code] = StatementState(code, e.confirmed, comp, edited([e]))
    return out
