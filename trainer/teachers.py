"""Delineation "teachers": programs that label an unlabelled ECG with record-level intervals.

A teacher turns an :class:`~ecgviewer.core.record.EcgRecord` (mV, any leads and
rate) into ``{"rr_ms", "pr_ms", "qrs_ms", "qt_ms"}``, ``nan`` where it cannot
measure an interval. Synthetic and unlabelled training data are labelled with
one (:mod:`trainer.data.synthetic`); :mod:`trainer.teacher_accuracy` scores
them against the LUDB experts.

Teachers (:data:`TEACHERS`):

``classical``
    ecgviewer's own delineator, :func:`ecgviewer.core.beats.analyze_beats`
    (median beat over the record's leads).
``neurokit2``
    NeuroKit2 (MIT): per lead ``ecg_clean`` -> ``ecg_peaks`` -> ``ecg_delineate(method="dwt")``;
    a lead with 3 R peaks or fewer is left out (NeuroKit2 cannot delineate it).
``ecgdeli``
    ECGdeli (KIT-IBT) through the ``ecgdeli`` Python port; GPL-3.0, so it is
    never a dependency: ``pip install ecgdeli`` to use it.

The per-lead teachers (``neurokit2``, ``ecgdeli``) reduce their per-beat
boundaries exactly as the LUDB experts' are reduced (``ludb/INTERVALS.md``, via
:func:`trainer.data.ludb.lead_intervals`): per lead and beat PR = QRS onset -
P onset (at most 400 ms), QRS = QRS offset - onset, QT = T offset - QRS onset
(at most 800 ms); the median over a lead's beats, then the median over the
leads; RR = median R-R interval in lead II (or the lead with most beats).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

import numpy as np

import ecgviewer
from ecgviewer.core.record import EcgRecord
from ecgviewer.models.checkpoint import TARGET_NAMES
from trainer.data.ludb import Wave, lead_intervals

#: Names accepted by :func:`get_teacher`.
TEACHERS: tuple[str, ...] = ("classical", "neurokit2", "ecgdeli")
#: The teacher with the lowest error against the LUDB experts (:mod:`trainer.teacher_accuracy`,
#: all 140 records, 12 leads, MAE PR / QRS / QT): classical 5.0 / 7.4 / 13.2 ms, ecgdeli 1.0.0
#: 10.8 / 25.6 / 21.8 ms, neurokit2 0.2.13 42.3 / 63.5 / 36.6 ms. The classical thresholds were
#: tuned on these same records, so its figures are training-set numbers.
DEFAULT_TEACHER = "classical"
#: Extra to install for each optional teacher.
_INSTALL = {
    "neurokit2": "pip install 'ecgviewer[train]' (or pip install neurokit2)",
    "ecgdeli": "pip install ecgdeli",
}


@runtime_checkable
class Teacher(Protocol):
    """Labels a record with record-level intervals (ms; ``nan`` where not measurable)."""

    name: str
    version: str

    def __call__(self, record: EcgRecord) -> dict[str, float]: ...


def _nan_labels() -> dict[str, float]:
    return {key: math.nan for key in TARGET_NAMES}


def _ecg_leads(record: EcgRecord) -> list[int]:
    """Rows of ``record`` that are voltages (mV) -- a plethysmogram or marker channel is skipped."""
    return [i for i, unit in enumerate(record.units) if unit == "mV"]


# -- classical -----------------------------------------------------------------
class ClassicalTeacher:
    """:func:`ecgviewer.core.beats.analyze_beats` on the record's leads."""

    name = "classical"

    def __init__(self) -> None:
        self.version = ecgviewer.__version__

    def __call__(self, record: EcgRecord) -> dict[str, float]:
        from ecgviewer.core.beats import analyze_beats

        iv = analyze_beats(record).intervals
        return {
            key: math.nan if getattr(iv, key) is None else float(getattr(iv, key)) for key in TARGET_NAMES
        }


# -- per-lead teachers -----------------------------------------------------------
def _beat_waves(
    p_on: np.ndarray, qrs_on: np.ndarray, r_peak: np.ndarray, qrs_off: np.ndarray, t_off: np.ndarray
) -> list[Wave]:
    """One lead's beats as the ``p, N, t`` wave sequence :func:`lead_intervals` reads.

    Arrays are per beat, sample positions as floats with ``nan`` where the
    delineator found nothing.
    """

    def pos(v: float) -> int | None:
        return None if not np.isfinite(v) else int(v)

    waves: list[Wave] = []
    for p, on, r, off, t in zip(p_on, qrs_on, r_peak, qrs_off, t_off):
        peak = pos(r)
        if peak is None:
            continue
        waves.append(Wave("p", peak, pos(p), None))
        waves.append(Wave("N", peak, pos(on), pos(off)))
        waves.append(Wave("t", peak, None, pos(t)))
    return waves


def record_level(per_lead: Iterable[tuple[str, list[Wave], np.ndarray]], fs_hz: float) -> dict[str, float]:
    """Record-level intervals from per-lead beats, defined as in ``ludb/INTERVALS.md``.

    Parameters
    ----------
    per_lead
        ``(lead name, waves, R peak samples)`` for each delineated lead.
    fs_hz
        Sampling rate of the sample positions.

    Returns
    -------
    dict
        ``rr_ms, pr_ms, qrs_ms, qt_ms``; ``nan`` where no lead had a value.
    """
    per_lead = list(per_lead)
    values = {key: [] for key in ("pr_ms", "qrs_ms", "qt_ms")}
    for _, waves, _ in per_lead:
        for key, v in lead_intervals(waves, fs_hz).items():
            if not math.isnan(v):
                values[key].append(v)
    out = {key: float(np.median(v)) if v else math.nan for key, v in values.items()}
    peaks = {name.upper(): np.asarray(r) for name, _, r in per_lead}
    out["rr_ms"] = math.nan
    if peaks:
        lead = "II" if len(peaks.get("II", ())) >= 2 else max(peaks, key=lambda k: len(peaks[k]))
        r = np.sort(peaks[lead])
        if len(r) >= 2:
            out["rr_ms"] = float(np.median(np.diff(r))) * 1000.0 / fs_hz
    return {key: out[key] for key in TARGET_NAMES}


class NeuroKit2Teacher:
    """NeuroKit2 discrete-wavelet delineation per lead, reduced like the LUDB experts' boundaries."""

    name = "neurokit2"

    def __init__(self) -> None:
        import neurokit2 as nk

        self._nk = nk
        self.version = str(nk.__version__)

    #: NeuroKit2's columns for the boundary points of :data:`ecgviewer.core.delineation.POINTS`.
    COLUMNS = (
        "ECG_P_Onsets",
        "ECG_P_Offsets",
        "ECG_R_Onsets",
        "ECG_R_Offsets",
        "ECG_T_Onsets",
        "ECG_T_Offsets",
    )

    def lead_boundaries(self, x: np.ndarray, fs: float) -> tuple[np.ndarray, np.ndarray | None]:
        """R peaks ``(n,)`` of one lead and its ``(n, 6)`` boundaries (P on/off, QRS on/off, T on/off).

        Sample positions, ``nan`` where NeuroKit2 found nothing; the boundaries are
        None for a lead NeuroKit2 cannot delineate: 3 R peaks or fewer, or a
        ``ValueError`` from its delineation (e.g. "The data length is too small to be
        segmented" on a short, fast record).
        """
        nk = self._nk
        clean = nk.ecg_clean(x, sampling_rate=fs)
        _, info = nk.ecg_peaks(clean, sampling_rate=fs)
        r = np.asarray(info["ECG_R_Peaks"], dtype=np.int64)
        if len(r) <= 3:  # signal_period (used by the delineation) needs more than 3 peaks
            return r, None
        try:
            _, d = nk.ecg_delineate(clean, r, sampling_rate=fs, method="dwt")
        except ValueError:
            return r, None

        def col(key: str) -> np.ndarray:
            v = np.asarray(d.get(key, []), dtype=np.float64)
            return v if len(v) == len(r) else np.full(len(r), np.nan)

        return r, np.stack([col(key) for key in self.COLUMNS], axis=1)

    def _lead(self, x: np.ndarray, fs: float) -> tuple[list[Wave], np.ndarray]:
        r, b = self.lead_boundaries(x, fs)
        if b is None:
            return [], r
        return _beat_waves(b[:, 0], b[:, 2], r.astype(np.float64), b[:, 3], b[:, 5]), r

    def delineate(self, record: EcgRecord) -> list[tuple[str, np.ndarray, np.ndarray | None]]:
        """``(lead, R peaks, boundaries)`` of every usable lead (:meth:`lead_boundaries`)."""
        out = []
        with warnings.catch_warnings():
            # NeuroKit2 reports "too few peaks" and similar per-lead conditions as
            # NeuroKitWarning and lets numpy warn on empty slices of missing waves;
            # both mean "not measurable here" and end up as nan. Errors still raise.
            warnings.filterwarnings("ignore", category=self._nk.misc.NeuroKitWarning)
            warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"(neurokit2|numpy)\b")
            for i in _ecg_leads(record):
                x = np.asarray(record.signals[i], dtype=np.float64)
                if not np.all(np.isfinite(x)) or np.ptp(x) == 0:
                    continue
                r, b = self.lead_boundaries(x, record.fs_hz)
                out.append((record.lead_names[i], r, b))
        return out

    def __call__(self, record: EcgRecord) -> dict[str, float]:
        return self.record_values(self.delineate(record), record.fs_hz)

    @staticmethod
    def record_values(
        per_lead: list[tuple[str, np.ndarray, np.ndarray | None]], fs_hz: float
    ) -> dict[str, float]:
        """Record intervals (:func:`record_level`) of :meth:`delineate`'s output."""
        rows = []
        for name, r, b in per_lead:
            waves = [] if b is None else _beat_waves(b[:, 0], b[:, 2], r.astype(np.float64), b[:, 3], b[:, 5])
            rows.append((name, waves, r))
        return record_level(rows, fs_hz)


class EcgdeliTeacher:
    """ECGdeli (``ecgdeli`` port, GPL-3.0): its filter chain and multi-lead annotation."""

    name = "ecgdeli"

    def __init__(self) -> None:
        import ecgdeli

        self._ed = ecgdeli
        self.version = str(ecgdeli.__version__)

    def __call__(self, record: EcgRecord) -> dict[str, float]:
        ed = self._ed
        rows = [i for i in _ecg_leads(record) if np.all(np.isfinite(record.signals[i]))]
        if not rows:
            return _nan_labels()
        x = np.asarray(record.signals[rows], dtype=np.float64).T  # samples x leads
        ann = ed.annotate(ed.filter_ecg(x, record.fs_hz), record.fs_hz)
        per_lead = []
        for i, fpt in zip(rows, ann.leads):
            s = fpt.samples  # nan where a fiducial is missing
            waves = _beat_waves(
                s[:, ed.Wave.P_ON], s[:, ed.Wave.QRS_ON], s[:, ed.Wave.R_PEAK], s[:, ed.Wave.QRS_OFF],
                s[:, ed.Wave.T_OFF],
            )  # fmt: skip
            r = s[:, ed.Wave.R_PEAK]
            per_lead.append((record.lead_names[i], waves, r[np.isfinite(r)]))
        return record_level(per_lead, record.fs_hz)


_FACTORIES: dict[str, Callable[[], Teacher]] = {
    "classical": ClassicalTeacher,
    "neurokit2": NeuroKit2Teacher,
    "ecgdeli": EcgdeliTeacher,
}


def get_teacher(name: str) -> Teacher:
    """The teacher called ``name`` (one of :data:`TEACHERS`).

    Raises
    ------
    ValueError
        For an unknown name (the message lists the known ones).
    ImportError
        When an optional teacher's package is not installed (the message says what to install).
    """
    if name not in _FACTORIES:
        raise ValueError(f"unknown teacher {name!r}; known teachers: {', '.join(TEACHERS)}")
    try:
        return _FACTORIES[name]()
    except ImportError as exc:
        raise ImportError(
            f"teacher {name!r} needs a package that is not installed ({exc}); "
            f"install it with: {_INSTALL[name]}"
        ) from exc
