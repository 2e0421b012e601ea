"""The delineation methods ``python -m trainer evaluate-delineation`` compares, behind one interface.

Each :class:`Method` runs on an :class:`~ecgviewer.core.record.EcgRecord` (optionally
only some of its leads) and returns a :class:`Run`: the record values (RR, HR, PR, QRS,
QT; ``nan`` where absent), the per-beat boundaries where the method has them, and the
seconds it took. The methods are the viewer's own code paths:

- :class:`NetworkMethod`: a ``delineation`` checkpoint through
  :class:`ecgviewer.inference.delineation.Delineator` (per lead, fused across leads);
- :class:`ClassicalMethod`: :func:`ecgviewer.core.beats.analyze_beats`, whose median-beat
  fiducials are put on every beat (one multi-lead set of boundaries, no P offset or T onset);
- :class:`NeuroKitMethod` and :class:`EcgdeliMethod`: the teachers of :mod:`trainer.teachers`;
- :class:`RegressionMethod`: an interval regression checkpoint through
  :class:`ecgviewer.inference.Predictor` (8 leads, 10 s windows; record values only).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ecgviewer.core.delineation import POINTS, Delineation
from ecgviewer.core.record import EcgRecord

#: Record values every method gives (nan where absent).
VALUE_KEYS = ("rr_ms", "hr_bpm", "pr_ms", "qrs_ms", "qt_ms")


def nan_values() -> dict[str, float]:
    return dict.fromkeys(VALUE_KEYS, math.nan)


def with_hr(values: dict[str, float]) -> dict[str, float]:
    """``values`` with ``hr_bpm`` = 60000 / ``rr_ms`` where only RR is given."""
    out = {**nan_values(), **{k: float(v) for k, v in values.items() if k in VALUE_KEYS}}
    if math.isnan(out["hr_bpm"]) and out["rr_ms"] > 0:
        out["hr_bpm"] = 60000.0 / out["rr_ms"]
    return out


def only_leads(record: EcgRecord, leads: Sequence[str]) -> EcgRecord:
    """A record holding only ``leads`` (recorded or derived), in mV, for methods without a lead option."""
    return EcgRecord(
        record.leads_array(tuple(leads)).astype(np.float64),
        record.fs_hz,
        tuple(leads),
        ("mV",) * len(leads),
        format_name=record.format_name,
    )


@dataclass
class Run:
    """One method on one record: its record values and, where it has them, its boundaries.

    ``delineation`` has one row of boundaries per lead (one ``"global"`` row for a
    multi-lead method); ``lead_points`` maps a lead name to its ``(n, 6)`` boundaries
    (samples, :data:`~ecgviewer.core.delineation.POINTS` order), ``"*"`` for every lead.
    """

    values: dict[str, float]
    delineation: Delineation | None = None
    lead_points: dict[str, np.ndarray] | None = None
    seconds: float = math.nan
    error: str | None = None


class Method:
    """A delineation method as this evaluation calls it."""

    name: str = ""
    kind: str = ""
    version: str = ""
    #: gives per-beat boundaries (not only record values)
    boundaries: bool = False

    def run(self, record: EcgRecord, leads: Sequence[str] | None = None) -> Run:
        raise NotImplementedError

    def describe(self) -> dict[str, Any]:
        return {"name": self.name, "kind": self.kind, "version": self.version, "boundaries": self.boundaries}


class NetworkMethod(Method):
    """A ``delineation`` checkpoint through the viewer's own :class:`Delineator`."""

    kind = "delineation network"
    boundaries = True

    def __init__(self, name: str, device: str = "cpu") -> None:
        from ecgviewer.inference.delineation import Delineator

        self.runner = Delineator(name, device=device).load()
        self.name = self.runner.model_name
        meta = self.runner.meta
        self.version = f"{meta.architecture} {meta.weights_sha256[:12]}"

    def run(self, record: EcgRecord, leads: Sequence[str] | None = None) -> Run:
        t0 = time.perf_counter()
        res = self.runner.delineate(record, leads=leads)
        seconds = time.perf_counter() - t0
        values = {k: math.nan if v.value is None else float(v.value) for k, v in res.intervals.items()}
        d = res.delineation
        points = {name: d.points[i] for i, name in enumerate(d.leads)}
        return Run(with_hr(values), d, points, seconds)


def _global_delineation(r: np.ndarray, offsets: np.ndarray, fs_hz: float, method: str) -> Delineation:
    """Boundaries at fixed offsets from every R peak (a median-beat delineation put on each beat)."""
    r = np.asarray(r, dtype=np.int64)
    pts = (r[:, None] + offsets[None, :]).astype(np.float64)
    return Delineation(fs_hz, ("global",), r, pts[None], np.full((1, r.size, 3), np.nan), method)


class ClassicalMethod(Method):
    """:func:`ecgviewer.core.beats.analyze_beats`: the median beat's fiducials, put on every beat."""

    name = "classical"
    kind = "classical delineator (median beat)"
    boundaries = True

    def __init__(self) -> None:
        import ecgviewer

        self.version = ecgviewer.__version__

    def run(self, record: EcgRecord, leads: Sequence[str] | None = None) -> Run:
        from ecgviewer.core.beats import analyze_beats

        rec = only_leads(record, leads) if leads else record
        t0 = time.perf_counter()
        ba = analyze_beats(rec)
        seconds = time.perf_counter() - t0
        iv = ba.intervals
        values = {k: math.nan if getattr(iv, k) is None else float(getattr(iv, k)) for k in VALUE_KEYS}
        mb = ba.median_beat
        if mb is None or not ba.beats.r_peaks.size:
            return Run(with_hr(values), seconds=seconds)
        offsets = np.full(len(POINTS), np.nan)
        for point, key in (("p_on", "p_onset"), ("qrs_on", "qrs_onset"), ("qrs_off", "qrs_offset"),
                           ("t_off", "t_offset")):  # fmt: skip
            if mb.fiducials.get(key) is not None:
                offsets[POINTS.index(point)] = mb.fiducials[key] - mb.r_index
        d = _global_delineation(ba.beats.r_peaks, offsets, rec.fs_hz, self.name)
        return Run(with_hr(values), d, {"*": d.points[0]}, seconds)


def lead_points_on_beats(
    per_lead: Sequence[tuple[str, np.ndarray, np.ndarray | None]],
    r_peaks: np.ndarray,
    fs_hz: float,
    method: str = "",
    match_ms: float = 100.0,
) -> Delineation:
    """Per-lead boundaries of a per-lead delineator, each lead's beats put on the common ``r_peaks``.

    A lead's beat goes to the nearest common beat within ``match_ms`` (the first one
    found keeps it), so the leads can be combined into a consensus per beat.
    """
    r_peaks = np.asarray(r_peaks, dtype=np.int64)
    leads = [(name, r, b) for name, r, b in per_lead if b is not None]
    pts = np.full((len(leads), r_peaks.size, len(POINTS)), np.nan)
    tol = match_ms * fs_hz / 1000.0
    for li, (_, r, b) in enumerate(leads):
        if not r_peaks.size:
            break
        for k, peak in enumerate(np.asarray(r)):
            j = int(np.argmin(np.abs(r_peaks - peak)))
            if abs(r_peaks[j] - peak) <= tol and np.isnan(pts[li, j]).all():
                pts[li, j] = b[k]
    names = tuple(name for name, _, _ in leads)
    return Delineation(fs_hz, names, r_peaks, pts, np.full((*pts.shape[:2], 3), np.nan), method)


class NeuroKitMethod(Method):
    """NeuroKit2 (DWT) per lead (:class:`trainer.teachers.NeuroKit2Teacher`)."""

    name = "neurokit2"
    kind = "peer delineator (per lead)"
    boundaries = True

    def __init__(self) -> None:
        from trainer.teachers import NeuroKit2Teacher

        self.teacher = NeuroKit2Teacher()
        self.version = self.teacher.version

    def run(self, record: EcgRecord, leads: Sequence[str] | None = None) -> Run:
        from ecgviewer.core.beats import detect_r_peaks

        rec = only_leads(record, leads) if leads else record
        t0 = time.perf_counter()
        per_lead = self.teacher.delineate(rec)
        values = self.teacher.record_values(per_lead, rec.fs_hz)
        seconds = time.perf_counter() - t0
        mv = [i for i, u in enumerate(rec.units) if u == "mV"]
        beats = detect_r_peaks(np.asarray(rec.signals[mv]), rec.fs_hz)
        d = lead_points_on_beats(per_lead, beats, rec.fs_hz, self.name)
        points = {name: b for name, _, b in per_lead if b is not None}
        return Run(with_hr(values), d, points, seconds)


class EcgdeliMethod(Method):
    """ECGdeli (optional, GPL-3.0): record values only (:class:`trainer.teachers.EcgdeliTeacher`)."""

    name = "ecgdeli"
    kind = "peer delineator (multi-lead)"

    def __init__(self) -> None:
        from trainer.teachers import EcgdeliTeacher

        self.teacher = EcgdeliTeacher()
        self.version = self.teacher.version

    def run(self, record: EcgRecord, leads: Sequence[str] | None = None) -> Run:
        rec = only_leads(record, leads) if leads else record
        t0 = time.perf_counter()
        values = self.teacher(rec)
        return Run(with_hr(values), seconds=time.perf_counter() - t0)


class RegressionMethod(Method):
    """An interval regression checkpoint (:class:`ecgviewer.inference.Predictor`; I, II, V1-V6, 10 s)."""

    kind = "interval regression"

    def __init__(self, name: str, device: str = "cpu") -> None:
        from ecgviewer.inference.predictor import Predictor

        self.predictor = Predictor(name, device=device).load()
        self.name = self.predictor.model_name
        meta = self.predictor.meta
        self.version = f"{meta.architecture} {meta.weights_sha256[:12]}"

    def run(self, record: EcgRecord, leads: Sequence[str] | None = None) -> Run:
        from ecgviewer.inference.errors import PredictionError

        if leads:
            return Run(nan_values(), error="n/a: needs the 8 leads I, II, V1-V6")
        t0 = time.perf_counter()
        try:
            res = self.predictor.predict(record)
        except PredictionError as exc:
            return Run(nan_values(), error=f"n/a: {exc}")
        values = {k: float(v.value) for k, v in res.intervals.items() if k in VALUE_KEYS}
        return Run(with_hr(values), seconds=time.perf_counter() - t0)


def safe_run(method: Method, record: EcgRecord, leads: Sequence[str] | None = None) -> Run:
    """``method.run``, with an exception turned into a run without values (``error`` says why), so
    one method failing on one record is counted as a miss instead of ending the evaluation."""
    try:
        return method.run(record, leads=leads)
    except Exception as exc:  # any failure of a method on a record is a result here
        return Run(nan_values(), error=f"failed: {exc.__class__.__name__}: {exc}")


def build_methods(
    checkpoints: Sequence[str] | None,
    interval_models: Sequence[str] | None,
    peers: Sequence[str],
    device: str,
) -> tuple[list[Method], list[str]]:
    """The methods to score (delineation checkpoints first) and notes on those skipped."""
    from ecgviewer.resources import bundled_checkpoints

    if checkpoints is None:
        checkpoints = [c.name for c in bundled_checkpoints("delineation")]
    if interval_models is None:
        interval_models = [c.name for c in bundled_checkpoints("intervals")]
    methods: list[Method] = [NetworkMethod(c, device) for c in checkpoints]
    notes = []
    factories: dict[str, Callable[[], Method]] = {
        "classical": ClassicalMethod,
        "neurokit2": NeuroKitMethod,
        "ecgdeli": EcgdeliMethod,
    }
    for name in peers:
        try:
            methods.append(factories[name]())
        except ImportError as exc:
            notes.append(f"{name} skipped: not installed ({exc.__class__.__name__}: {exc})")
    methods += [RegressionMethod(m, device) for m in interval_models]
    return methods, notes
