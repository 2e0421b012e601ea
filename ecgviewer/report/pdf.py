"""The printable 12-lead report: ``QPainter`` on ``QPdfWriter``, at true scale.

Why ``QPdfWriter``: Qt (PySide6-Essentials) is already a dependency, its PDF
engine writes vector paths and embedded, subsetted fonts, and ``QPainter`` is
the drawing API the viewer already uses, so no PDF library is added. It may run
on any thread (``QPainter`` on a ``QPdfWriter`` or ``QImage``, never a widget),
so the viewer renders reports on a worker thread and the batch command in its
worker processes.

True scale: the painter's world transform maps millimetres of paper to device
units, so a segment 1 mm long in the drawing code is 1 mm on the page; printed
at 100 % ("actual size"), 25 mm/s and 10 mm/mV are real millimetres. The ECG
grid has 1 mm minor and 5 mm major lines whose positions are whole millimetres
from the grid's corner.

One page per 10 s (``ReportOptions.max_pages`` pages at most, from
``ReportOptions.start_s``), each with:

* a header: record and patient fields present in the file, acquisition
  date/time, sampling rate, filters in force, speed, gain and layout; the
  intervals block (HR, RR, PR, QRS, QT, QTc Bazett and Fridericia: the headline
  values of the wave delineation with their spread, or "absent" with the reason,
  beside the interval model's, the classical and, when the file carries them, the
  device's values) with the networks' names and versions and the
  untrained-checkpoint warning when it applies;
  beside it, when a statement classifier ran, the thresholded statements and
  every class's probability against its threshold (decision support only);
  the median beat (lead II) at 25 mm/s with the PR/QRS/QT spans (between the
  delineation's median boundaries, ticked on the trace, when there is one);
* the ECG in the chosen layout (:mod:`ecgviewer.layout.paper`: 3x4 or 6x2 with
  a lead II rhythm strip, or 12x1), calibration pulses and lead labels; on the
  rhythm strip (12x1: lead II) a tick across the trace at each beat's consensus P
  onset (blue), QRS onset and offset (magenta) and T offset (teal);
* a footer with the software version, the page number and "Not for diagnostic use".

With the reader's over-read (``over_read``: the document's ``over_read`` section,
:func:`ecgviewer.report.measurements.overread_section`; ``overread_result``: what the edits
did), the header says "Over-read by NAME on DATE (N edits)" (or why it was not applied), the
values the reader's edits went into carry an asterisk with the footnote "* edited by the
reader", the median beat's marks are the edited ones, and the statements block shows what the
reader confirmed apart from what the model proposed and the reader has not confirmed, and
the reader's interpretation.
"""

from __future__ import annotations

import datetime as dt
import math
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

import ecgviewer
from ecgviewer.core.io_utils import atomic_write_bytes
from ecgviewer.core.privacy import is_patient_field
from ecgviewer.layout import paper as ecg_layout
from ecgviewer.layout.choices import (
    DEFAULT_GAIN_MM_PER_MV,
    DEFAULT_LAYOUT,
    DEFAULT_PAPER,
    DEFAULT_SPEED_MM_PER_S,
    GAINS_MM_PER_MV,
    LAYOUT_NAMES,
    PAPER_NAMES,
    PAPER_SIZES_MM,
    SPEEDS_MM_PER_S,
)
from ecgviewer.layout.spans import (
    MARKED_POINTS,
    boundary_offsets_ms,
    delineation_spans,
    median_beat_spans,
    model_interval_ms,
    pick_lead,
)
from ecgviewer.report.formatting import format_value
from ecgviewer.report.measurements import (
    DECISION_SUPPORT_NOTE,
    NOT_RUN,
    OVERREAD_NOT_CONFIRMED,
    ROWS,
    VENDOR_EXTRA,
    ClassificationFailure,
    classical_values,
    classification_warning,
    delineation_absent_reason,
    headline_provenance,
    headline_values,
    model_values,
    model_version,
)

if TYPE_CHECKING:
    from PySide6.QtGui import QPainter

    from ecgviewer.core.beats import BeatAnalysis
    from ecgviewer.core.overread import EditedDelineation
    from ecgviewer.core.quality import QualityReport
    from ecgviewer.core.record import EcgRecord
    from ecgviewer.inference.classifier import ClassificationResult
    from ecgviewer.inference.delineation import DelineationResult
    from ecgviewer.inference.result import PredictionResult

#: Device resolution of the PDF (Qt's default); coordinates are written in these units.
PDF_DPI = 1200
MM_PER_INCH = 25.4
MARGIN_MM = 7.0
HEADER_MM = 40.0
FOOTER_MM = 6.0
#: Width of the median-beat panel in the header, mm.
MEDIAN_PANEL_MM = 62.0
#: Width of the interval measurements block, and of the statements block beside it, mm.
MEASUREMENTS_MM = 90.0
STATEMENTS_MM = 50.0
DISCLAIMER = "Not for diagnostic use — research software; every measurement must be checked by a clinician."

# Colours of the printed page.
GRID_MINOR = "#f3b6b6"
GRID_MAJOR = "#e06666"
TRACE = "#000000"
TEXT = "#000000"
MUTED = "#555555"
WARNING = "#b00020"
MODEL_SPAN = "#1f4fa3"
POSITIVE = "#1f4fa3"
#: The reader's over-read: the header line, the confirmed statements, the edited marker.
READER = "#00695c"
#: Marks a value the reader's edits went into (with the footnote :data:`EDITED_NOTE`).
EDITED_MARK = "*"
EDITED_NOTE = "* edited by the reader"
CLASSICAL_SPAN = "#2e7d32"
DELINEATION_SPAN = "#6a1b9a"
#: Colours of the delineation's boundary ticks, per wave.
WAVE_COLORS: dict[str, str] = {"P": "#1565c0", "QRS": "#c2185b", "T": "#00838f"}
#: Height (mm) and pen (mm) of a boundary tick across the trace.
TICK_MM = 2.6
TICK_PEN_MM = 0.28
#: Pen widths in mm of paper.
MINOR_PEN_MM = 0.07
MAJOR_PEN_MM = 0.2
TRACE_PEN_MM = 0.22


def _choices(values: tuple[float, ...]) -> str:
    return ", ".join(f"{v:g}" for v in values)


@dataclass(frozen=True)
class ReportOptions:
    """What the report looks like.

    Parameters
    ----------
    paper
        ``"A4"`` or ``"Letter"`` (always landscape; :data:`~ecgviewer.layout.choices.PAPER_NAMES`).
    layout
        ``"3x4"`` (with a lead II rhythm strip), ``"6x2"`` (likewise) or ``"12x1"``
        (:data:`~ecgviewer.layout.choices.LAYOUT_NAMES`).
    speed_mm_per_s, gain_mm_per_mv
        Paper speed (25 or 50) and gain (5, 10, 20): :data:`~ecgviewer.layout.choices.SPEEDS_MM_PER_S`
        and :data:`~ecgviewer.layout.choices.GAINS_MM_PER_MV`.
    start_s
        Record time at the left of the first page.
    max_pages
        Most pages (each shows the next 10 s); the record's length may give fewer.
    filters
        The display filters in force, as :meth:`FilterSettings.describe` says them
        (the record given to :func:`render_report` is already filtered).
    include_patient
        Print the patient fields found in the file (name, ID, birth date, age, sex ...);
        False leaves them out and says how many were left out.
    """

    paper: str = DEFAULT_PAPER
    layout: str = DEFAULT_LAYOUT
    speed_mm_per_s: float = DEFAULT_SPEED_MM_PER_S
    gain_mm_per_mv: float = DEFAULT_GAIN_MM_PER_MV
    start_s: float = 0.0
    max_pages: int = 1
    filters: str = "no filters"
    include_patient: bool = True

    def __post_init__(self) -> None:
        if self.paper not in PAPER_SIZES_MM:
            raise ValueError(f"paper must be one of {', '.join(PAPER_NAMES)}, not {self.paper!r}")
        if self.layout not in LAYOUT_NAMES:
            raise ValueError(f"layout must be one of {', '.join(LAYOUT_NAMES)}, not {self.layout!r}")
        if self.speed_mm_per_s not in SPEEDS_MM_PER_S:
            raise ValueError(
                f"speed must be one of {_choices(SPEEDS_MM_PER_S)} mm/s, not {self.speed_mm_per_s!r}"
            )
        if self.gain_mm_per_mv not in GAINS_MM_PER_MV:
            raise ValueError(
                f"gain must be one of {_choices(GAINS_MM_PER_MV)} mm/mV, not {self.gain_mm_per_mv!r}"
            )
        if self.max_pages < 1:
            raise ValueError("max_pages must be at least 1")

    @property
    def page_s(self) -> float:
        """Seconds of ECG per page."""
        return ecg_layout.PAGE_S


@dataclass(frozen=True)
class ReportInfo:
    """What :func:`render_report` drew (for callers and tests).

    ``grid_rect_mm`` is ``(left, top, width, height)`` of the ECG grid on the page
    (y down from the top edge); ``row_pitch_mm`` the distance between baselines.
    """

    n_pages: int
    page_size_mm: tuple[float, float]
    grid_rect_mm: tuple[float, float, float, float]
    row_pitch_mm: float
    layout: str
    page_starts_s: tuple[float, ...]
    n_bytes: int = 0
    elapsed_s: float = 0.0
    leads_drawn: tuple[str, ...] = field(default_factory=tuple)


# -- Qt set-up ---------------------------------------------------------------------------
def ensure_gui_application() -> Any:
    """The running ``QGuiApplication`` (fonts need one); an offscreen one is created if there is none."""
    from PySide6.QtGui import QGuiApplication

    app = QGuiApplication.instance()
    if app is None:
        app = QGuiApplication(["ecgviewer-report", "-platform", "offscreen"])
    return app


def page_starts(record: EcgRecord, options: ReportOptions) -> list[float]:
    """Record time at the left of each page."""
    start = min(max(0.0, options.start_s), max(0.0, record.duration_s - 1e-9))
    starts = [start]
    while len(starts) < options.max_pages and starts[-1] + options.page_s < record.duration_s - 1e-6:
        starts.append(starts[-1] + options.page_s)
    return starts


def page_layout(record: EcgRecord, options: ReportOptions, t0_s: float, grid_h_mm: float):
    """The :class:`~ecgviewer.layout.paper.PaperLayout` of one page, rows fitted to ``grid_h_mm``."""
    available = {
        n: (record.is_derivable(n), record.unit_of(n))
        for n in record.display_leads
        if record.unit_of(n) == "mV"
    }
    speed, gain = options.speed_mm_per_s, options.gain_mm_per_mv
    if options.layout == "3x4":
        n_rows, default = 4, ecg_layout.row_height_for_gain(gain)
    else:
        n_rows = 7 if options.layout == "6x2" else max(1, len(available))
        default = ecg_layout.row_height_for_gain(gain, ecg_layout.STACKED_MV_PER_ROW, 15.0)
    pitch = grid_h_mm / n_rows  # use the page: taller rows leave room for large QRS complexes
    pitch = 5.0 * math.floor(pitch / 5.0) if pitch >= 20.0 else math.floor(pitch * 2.0) / 2.0
    pitch = max(pitch, min(default, 10.0))
    if options.layout == "3x4":
        return ecg_layout.layout_3x4(available, record.duration_s, speed, gain, t0_s, row_height_mm=pitch)
    if options.layout == "6x2":
        return ecg_layout.layout_6x2(available, record.duration_s, speed, gain, t0_s, row_height_mm=pitch)
    leads = [(n, d, u, gain, 0.0) for n, (d, u) in available.items()]
    return ecg_layout.layout_stacked(
        leads, record.duration_s, speed, gain, t0_s=t0_s, page_s=options.page_s, row_height_mm=pitch
    )


# -- drawing helpers -----------------------------------------------------------------------
class _Canvas:
    """A painter whose world coordinates are mm of paper (origin top-left, y down)."""

    def __init__(self, painter: QPainter, dpi: float) -> None:
        from PySide6.QtGui import QTransform

        self.p = painter
        self.scale = dpi / MM_PER_INCH  # device units per mm
        self.transform = QTransform.fromScale(self.scale, self.scale)
        painter.setWorldTransform(self.transform)

    def pen(self, color: str, width_mm: float, dash: bool = False):
        from PySide6.QtCore import Qt
        from PySide6.QtGui import QColor, QPen

        pen = QPen(QColor(color))
        pen.setWidthF(width_mm)
        pen.setCapStyle(Qt.PenCapStyle.FlatCap)
        pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
        if dash:
            pen.setStyle(Qt.PenStyle.DashLine)
        return pen

    def font(self, size_pt: float, bold: bool = False, italic: bool = False):
        from PySide6.QtGui import QFont

        f = QFont("DejaVu Sans")
        f.setStyleHint(QFont.StyleHint.SansSerif)
        f.setPointSizeF(size_pt)
        f.setBold(bold)
        f.setItalic(italic)
        return f

    def text_width_mm(self, text: str, font) -> float:
        from PySide6.QtGui import QFontMetricsF

        return QFontMetricsF(font, self.p.device()).horizontalAdvance(text) / self.scale

    def text(
        self,
        x_mm: float,
        y_mm: float,
        text: str,
        font,
        color: str = TEXT,
        align: str = "left",
        max_width_mm: float | None = None,
    ) -> float:
        """Draw ``text`` with its baseline at ``y_mm``; returns its width in mm."""
        from PySide6.QtCore import QPointF, Qt
        from PySide6.QtGui import QColor, QFontMetricsF

        metrics = QFontMetricsF(font, self.p.device())
        if max_width_mm is not None:
            text = metrics.elidedText(text, Qt.TextElideMode.ElideRight, max_width_mm * self.scale)
        width = metrics.horizontalAdvance(text) / self.scale
        if align == "right":
            x_mm -= width
        elif align == "center":
            x_mm -= width / 2.0
        self.p.save()
        self.p.resetTransform()
        self.p.setFont(font)
        self.p.setPen(QColor(color))
        self.p.drawText(QPointF(x_mm * self.scale, y_mm * self.scale), text)
        self.p.restore()
        return width

    def grid(self, left: float, top: float, width: float, height: float) -> None:
        """1 mm minor and 5 mm major lines over ``width x height`` mm (whole multiples of 5 mm)."""
        from PySide6.QtCore import QLineF

        nx, ny = round(width), round(height)
        minor, major = [], []
        for i in range(nx + 1):
            (major if i % 5 == 0 else minor).append(QLineF(left + i, top, left + i, top + ny))
        for j in range(ny + 1):
            (major if j % 5 == 0 else minor).append(QLineF(left, top + j, left + nx, top + j))
        self.p.setPen(self.pen(GRID_MINOR, MINOR_PEN_MM))
        self.p.drawLines(minor)
        self.p.setPen(self.pen(GRID_MAJOR, MAJOR_PEN_MM))
        self.p.drawLines(major)

    def polyline(self, x: np.ndarray, y: np.ndarray, color: str = TRACE, width_mm: float = TRACE_PEN_MM):
        """One polyline per run of finite points."""
        import pyqtgraph as pg
        from PySide6.QtGui import QTransform

        self.p.setPen(self.pen(color, width_mm))
        finite = np.isfinite(x) & np.isfinite(y)
        if finite.all():
            runs = [(0, x.size)]
        else:
            edges = np.flatnonzero(np.diff(np.concatenate([[0], finite.astype(np.int8), [0]])))
            runs = list(zip(edges[::2], edges[1::2]))
        # Whole hundredths of a mm: the PDF engine then writes short integers (a third of the bytes).
        self.p.save()
        self.p.setWorldTransform(QTransform.fromScale(self.scale / 100.0, self.scale / 100.0))
        pen = self.p.pen()
        pen.setWidthF(width_mm * 100.0)
        self.p.setPen(pen)
        for a, b in runs:
            if b - a >= 2:
                poly = pg.functions.arrayToQPolygonF(np.round(x[a:b] * 100.0), np.round(y[a:b] * 100.0))
                self.p.drawPolyline(poly)
        self.p.restore()


def _record_title(record: EcgRecord) -> str:
    if record.source_path is not None:
        p = Path(record.source_path)
        return p.stem if p.suffix.lower() == ".hea" else p.name
    return record.metadata.get("record name", "ECG record")


def header_fields(record: EcgRecord, include_patient: bool = True) -> list[tuple[str, str]]:
    """``(label, value)`` lines of the header's record block: patient and record fields in the file.

    With ``include_patient=False`` the patient fields (:func:`ecgviewer.core.privacy.is_patient_field`)
    are left out and one line says how many.
    """

    out: list[tuple[str, str]] = []
    when = record.start_time.strftime("%Y-%m-%d %H:%M:%S") if record.start_time else None
    if when is None and "start time of day" in record.metadata:
        when = f"time of day {record.metadata['start time of day']}"
    out.append(("Acquired", when or "not in the file"))
    out.append(
        (
            "Signal",
            f"{record.format_name or 'unknown format'}, {record.fs_hz:g} Hz, "
            f"{record.duration_s:.1f} s, {record.n_leads} channels",
        )
    )
    skip = {"record name", "WFDB storage format", "lead names in file", "start time of day"}
    hidden = 0
    for key, value in record.metadata.items():
        if key in skip or not str(value).strip():
            continue
        if not include_patient and is_patient_field(key):
            hidden += 1
            continue
        out.append((key[:1].upper() + key[1:], " ".join(str(value).split())))
    if hidden:
        out.append(("Patient", f"{hidden} field(s) in the file not printed"))
    return out


# -- page parts ------------------------------------------------------------------------------
#: Why an over-read is not applied, in the report's header (the JSON has the full message).
OVERREAD_NOT_APPLIED: dict[str, str] = {
    "record changed": "the record changed since",
    "unreadable": "its file could not be read",
    "ignored": "ignored on request",
}


def overread_line(over_read: Mapping[str, Any] | None) -> tuple[str, bool] | None:
    """The header line of an over-read: ``("Over-read by NAME on DATE (N edits)", True)`` when applied,
    ``("Over-read by NAME not applied: why", False)`` when not; None without one."""
    if not over_read or not over_read.get("reader"):
        return None
    who = over_read["reader"]
    authors = [a for a in over_read.get("authors") or () if a != who]
    if authors:
        who += f" (with {', '.join(authors)})"
    when = over_read.get("modified") or over_read.get("last_edit")
    on = f" on {str(when)[:10]}" if when else ""
    if over_read.get("applied"):
        n = int(over_read.get("n_edits") or 0)
        return f"Over-read by {who}{on} ({n} edit{'s' if n != 1 else ''})", True
    status = over_read.get("status")
    why = OVERREAD_NOT_APPLIED.get(status) or over_read.get("message") or status or "?"
    return f"Over-read by {who}{on} NOT applied: {why}", False


def _draw_header_record(
    c: _Canvas,
    record: EcgRecord,
    options: ReportOptions,
    x: float,
    y: float,
    w: float,
    t0_s: float,
    over_read: Mapping[str, Any] | None = None,
) -> None:
    c.text(x, y + 4.0, f"12-lead ECG · {_record_title(record)}", c.font(11, bold=True), max_width_mm=w)
    small, bold = c.font(7.0), c.font(7.0, bold=True)
    line = 3.15
    yy = y + 8.6
    read = overread_line(over_read)
    n_read = 0
    if read is not None:
        font = c.font(7.0, bold=True)
        for text in _wrap(c, read[0], font, w)[:2]:
            c.text(x, yy, text, font, READER if read[1] else WARNING, max_width_mm=w)
            yy += line
            n_read += 1
    settings = (
        f"{options.speed_mm_per_s:g} mm/s · {options.gain_mm_per_mv:g} mm/mV · layout {options.layout} · "
        f"shown {t0_s:g}–{min(record.duration_s, t0_s + options.page_s):g} s"
    )
    rows = [
        *header_fields(record, options.include_patient),
        ("Filters", options.filters),
        ("Display", settings),
    ]
    max_rows = int((HEADER_MM - 9.5) / line) - n_read
    if len(rows) > max_rows:
        rows = [*rows[: max_rows - 1], ("…", f"{len(rows) - max_rows + 1} more fields in the file")]
    for label, value in rows:
        lw = c.text(x, yy, f"{label}:", bold)
        c.text(x + max(lw + 1.2, 17.0), yy, value, small, max_width_mm=w - 18.0)
        yy += line


def _draw_measurements(
    c: _Canvas,
    record: EcgRecord,
    prediction: PredictionResult | None,
    classical: BeatAnalysis | None,
    x: float,
    y: float,
    w: float,
    quality: QualityReport | None = None,
    withheld: Mapping[str, str] | None = None,
    delineation: DelineationResult | None = None,
    delineation_error: str | None = None,
    overread_result: EditedDelineation | None = None,
) -> None:
    """The intervals table: the headline (wave delineation, value ± spread) beside the interval
    model, the classical median beat and the device; then the notes that say where each comes from.
    A headline value the reader's edits went into is marked :data:`EDITED_MARK` (footnote)."""
    from PySide6.QtCore import QLineF

    withheld = withheld or {}
    held = withheld.get("delineation")
    if held:
        delineation = None
    absent = delineation_absent_reason(delineation, delineation_error, held)
    head = headline_values(delineation, absent)
    prov = headline_provenance(delineation, overread_result if delineation is not None else None)
    edited = {k for k, p in prov.items() if (p or {}).get("source") == "edited"}
    vm = record.vendor_measurements
    model, cl = model_values(prediction), classical_values(classical)
    vendor = dict(vm.values) if vm is not None else {}
    cols = ["", "Delineation", "Model", "Classical"] + (["Device"] if vm is not None else [])
    col_w = [19.0, 25.0, 15.0, 15.0, 15.0][: len(cols)]
    bold, small = c.font(7.0, bold=True), c.font(7.0)
    line = 2.95
    yy = y + 4.0
    c.text(x, yy, "Intervals", c.font(8.0, bold=True))
    xx = x
    for name, cw in zip(cols, col_w):
        if name:
            c.text(xx + cw, yy, name, bold, align="right")
        xx += cw
    c.p.setPen(c.pen(MUTED, 0.15))
    c.p.drawLine(QLineF(x, yy + 0.9, x + sum(col_w), yy + 0.9))
    yy += line + 0.45
    for key, label, unit in ROWS:
        value, _ = model.get(key, (None, None))
        h = head[key]
        mark = EDITED_MARK if key in edited else ""
        if h["value"] is not None:
            spread = f" ±{h['spread']:.0f}" if h["spread"] is not None else ""
            headline, color = f"{h['value']:.0f}{spread} {unit}{mark}", READER if mark else TEXT
        else:
            headline, color = ("absent" if delineation is not None else "—") + mark, WARNING
        cells = [label, format_value(value, unit), format_value(cl.get(key), unit)]
        if vm is not None:
            cells.append(format_value(vendor.get(key), unit) if key in vendor else "—")
        c.text(x, yy, label, bold)
        c.text(x + sum(col_w[:2]), yy, headline, c.font(7.0, bold=True), color, align="right")
        xx = x + sum(col_w[:2])
        for text, cw in zip(cells[1:], col_w[2:]):
            c.text(xx + cw, yy, text, small, MUTED, align="right")
            xx += cw
        yy += line
    notes: list[tuple[str, str]] = []
    if delineation is not None:
        d = delineation.delineation
        n_qrs = int(np.isfinite(d.points[:, :, 2]).any(axis=0).sum()) if d.points.size else 0
        notes.append(
            (
                f"Delineation {delineation.model_name} ({model_version(delineation)}): {len(d.leads)} leads, "
                f"{n_qrs}/{d.n_beats} beats; ± robust SD",
                MUTED,
            )
        )
        if edited:
            first = min(edited, key=[k for k, _, _ in ROWS].index)
            by = prov[first] or {}
            notes.append((f"{EDITED_NOTE} ({by.get('by', '')}, {str(by.get('at', ''))[:10]})", READER))
        for key in ("pr_ms", "qrs_ms", "qt_ms", "rr_ms"):
            if head[key]["value"] is None:
                label = dict((k, lab) for k, lab, _ in ROWS)[key]
                notes.append((f"{label} absent: {head[key]['reason']}", WARNING))
    elif absent and absent != NOT_RUN:
        notes.append((f"Delineation: {absent}", WARNING))
    else:
        notes.append(("Delineation: not run", MUTED))
    if quality is not None and not quality.measurable:
        notes.append((f"⚠ {quality.reason or 'no measurable ECG'} — values withheld", WARNING))
    elif quality is not None:
        bad = bool(quality.unusable_leads)
        notes.append((f"Signal quality: {quality.summary()}", WARNING if bad else MUTED))
    sources = []
    if "intervals" in withheld and (quality is None or quality.measurable):
        notes.append((f"Model: withheld — {withheld['intervals']}", WARNING))  # elided when long
    elif prediction is not None:
        version = model_version(prediction)
        sources.append(f"Model {prediction.model_name} ({version}, {prediction.checkpoint_status})")
    elif "intervals" not in withheld:
        sources.append("Model: not run")
    if classical is not None:
        sources.append(f"Classical: median beat, {classical.intervals.n_beats} beats")
    if sources:
        notes.append((" · ".join(sources), MUTED))
    if vm is not None:
        extra = [
            f"{lab} {vendor[k]:.0f}{'' if u == '°' else ' '}{u}" for k, lab, u in VENDOR_EXTRA if k in vendor
        ]
        notes.append((f"Device: {vm.source}" + (f" · {', '.join(extra)}" if extra else ""), MUTED))
    warning = prediction.display_warning if prediction is not None else None
    if warning:
        notes.insert(0, (f"⚠ {warning}", WARNING))
    note_line = 2.55
    fits = max(1, int((y + HEADER_MM - 0.6 - yy) / note_line))
    for text, color in notes[:fits]:
        c.text(x, yy + 0.3, text, c.font(6.0, bold=color == WARNING), color, max_width_mm=w)
        yy += note_line


def _wrap(c: _Canvas, text: str, font, width_mm: float) -> list[str]:
    """``text`` broken at spaces into lines no wider than ``width_mm``."""
    lines: list[str] = []
    for word in text.split():
        if lines and c.text_width_mm(f"{lines[-1]} {word}", font) <= width_mm:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _draw_reader_statements(
    c: _Canvas,
    over_read: Mapping[str, Any],
    classification: ClassificationResult | None,
    x: float,
    yy: float,
    w: float,
) -> float:
    """What the reader confirmed, apart from what the model proposed and the reader has not
    confirmed (and rejected), and the interpretation; returns the y of the last line drawn."""
    st = over_read.get("statements") or {}
    label_font, note_font = c.font(5.8, bold=True), c.font(6.0)
    stated_font = c.font(7.2, bold=True)

    def pct(code: str) -> str:
        if classification is None:
            return code
        try:
            return f"{code} {100 * classification[code].probability:.0f} %"
        except (KeyError, IndexError):
            return code

    first = True
    for title, codes, font, color, fmt in (
        ("Confirmed by the reader", st.get("confirmed") or [], stated_font, READER, str),
        (OVERREAD_NOT_CONFIRMED, st.get("proposed_unreviewed") or [], c.font(6.6), POSITIVE, pct),
        ("Rejected by the reader", st.get("rejected") or [], note_font, MUTED, pct),
    ):
        if not codes and (title == "Rejected by the reader" or classification is None):
            continue
        listed = ", ".join(fmt(k) for k in codes) or "none"
        one_line = f"{title}: {listed}"
        if font is note_font and c.text_width_mm(one_line, label_font) <= w:  # rejected: one line
            yy += 0.0 if first else 2.7
            first = False
            c.text(x, yy, one_line, label_font, color, max_width_mm=w)
            continue
        for i, text in enumerate(_wrap(c, f"{title}:", label_font, w)[:2]):
            yy += 0.0 if first and not i else 2.4 if i else 2.7
            first = False
            c.text(x, yy, text, label_font, color, max_width_mm=w)
        for text in _wrap(c, listed, font, w)[:2]:
            yy += 2.8
            c.text(x, yy, text, font, color, max_width_mm=w)
    interp = over_read.get("interpretation") or {}
    if interp.get("text"):
        yy += 2.7
        c.text(x, yy, "Interpretation (reader):", label_font, READER, max_width_mm=w)
        lines = _wrap(c, interp["text"], note_font, w)
        for i, text in enumerate(lines[:3]):
            yy += 2.5
            more = "…" if i == 2 and len(lines) > 3 else ""
            c.text(x, yy, text + more, note_font, TEXT, max_width_mm=w)
    return yy


def _draw_statements(
    c: _Canvas,
    classification: ClassificationResult | ClassificationFailure | None,
    x: float,
    y: float,
    w: float,
    h: float,
    over_read: Mapping[str, Any] | None = None,
) -> None:
    """The classifier's statements and per-class probabilities (bars with the threshold marked);
    with an applied over-read, first what the reader confirmed, what the model proposed that the
    reader has not confirmed, and the reader's interpretation (:func:`_draw_reader_statements`)."""
    from PySide6.QtCore import QLineF, QRectF
    from PySide6.QtGui import QBrush, QColor

    line, note_line = 2.9, 2.5
    yy = y + 4.0
    c.text(x, yy, "Statements", c.font(8.0, bold=True))
    c.p.setPen(c.pen(MUTED, 0.15))
    c.p.drawLine(QLineF(x, yy + 0.9, x + w, yy + 0.9))
    yy += 3.9
    note_font, warn_font = c.font(5.8, italic=True), c.font(5.8, bold=True)
    reader = over_read if over_read and over_read.get("applied") else None
    if reader is not None:
        ok = classification if not isinstance(classification, ClassificationFailure) else None
        yy = _draw_reader_statements(c, reader, ok, x, yy, w) + 3.1
        if classification is None:
            return
    if isinstance(classification, ClassificationFailure):
        what = "withheld" if classification.withheld else "failed"
        c.text(
            x, yy, f"— {classification.model_name}: {what}", c.font(7.0, bold=True), WARNING, max_width_mm=w
        )
        for text in _wrap(c, classification.message, c.font(6.0), w)[:4]:
            yy += note_line
            c.text(x, yy, text, c.font(6.0), WARNING, max_width_mm=w)
        return
    statements = (
        ", ".join(f"{n} {100 * classification[n].probability:.0f} %" for n in classification.statements)
        or "none above threshold"
    )
    stated_font = c.font(7.5, bold=True)
    wrapped = _wrap(c, statements, stated_font, w)
    for i, text in enumerate(wrapped[:2] if reader is None else ()):  # a third line is elided
        yy += 3.1 if i else 0.0
        rest = " ".join(wrapped[1:]) if i == 1 else text
        c.text(x, yy, rest, stated_font, POSITIVE, max_width_mm=w)
    if reader is not None:  # the model's statements are listed above, apart from the reader's
        yy -= 3.1
    notes = [(f"{classification.model_name}, version {model_version(classification)}", note_font, MUTED)]
    withheld = ", ".join(k.name for k in classification.withheld)
    if withheld:  # above threshold, not stated by the coherence rules (the reasons are in the JSON)
        first = _wrap(c, f"Not stated (coherence): {withheld}", note_font, w)[0]
        notes.append((first, note_font, MUTED))
    notes += [(t, note_font, MUTED) for t in _wrap(c, DECISION_SUPPORT_NOTE, note_font, w)]
    warning = classification_warning(classification)
    if warning:
        notes += [(t, warn_font, WARNING) for t in _wrap(c, f"⚠ {warning}", warn_font, w)]
    classes = list(classification.classes)
    fits = max(1, int((y + h - yy - len(notes) * note_line - 0.8) / line))
    n_cols = 1 if len(classes) <= fits else 2
    if len(classes) > fits * n_cols:  # room for the "+ N more classes" line too
        fits = max(1, int((y + h - yy - (len(notes) + 1) * note_line - 0.8) / line))
    shown = classes
    if reader is not None:  # the reader's part came first: the bars get what room is left, if any
        droppable = 1 + bool(withheld)  # the version and coherence lines (both in the JSON)
        room = y + h - yy - 0.8
        while droppable and (len(notes) + 1) * note_line > room:
            notes.pop(0)
            droppable -= 1
        fits = int((room - (len(notes) + 1) * note_line) / line)
        n_cols = 1
        if fits < 1:
            shown, fits = [], 1
    if len(shown) > fits * n_cols:  # keep the stated classes and the most probable ones
        keep = sorted(classes, key=lambda k: (not k.stated, -k.probability))[: fits * n_cols - 1]
        shown = [k for k in classes if k in keep]
    col_w = w / n_cols
    name_w, bar_w, pct_w = 11.0, 14.0, 9.5
    for i, k in enumerate(shown):
        col, row = divmod(i, fits)
        cx, cy = x + col * col_w, yy + (row + 1) * line
        color = POSITIVE if k.stated else TEXT
        value_font = c.font(6.3, bold=k.stated)
        pct = f"{100.0 * k.probability:.0f} %"
        if n_cols == 2:
            c.text(cx, cy, k.name, value_font, color, max_width_mm=col_w - 9.0)
            c.text(cx + col_w - 1.5, cy, pct, value_font, color, align="right")
            continue
        c.text(cx, cy, k.name, value_font, color, max_width_mm=name_w - 0.8)
        bx = cx + name_w
        c.p.setPen(c.pen(MUTED, 0.1))
        c.p.setBrush(QBrush())
        c.p.drawRect(QRectF(bx, cy - 1.9, bar_w, 1.9))
        c.p.setPen(c.pen(color, 0.01))
        c.p.setBrush(QBrush(QColor(color if k.stated else "#9e9e9e")))
        c.p.drawRect(QRectF(bx, cy - 1.9, bar_w * min(max(k.probability, 0.0), 1.0), 1.9))
        c.p.setBrush(QBrush())
        c.p.setPen(c.pen(WARNING, 0.2))
        tx = bx + bar_w * k.threshold
        c.p.drawLine(QLineF(tx, cy - 2.4, tx, cy + 0.5))
        c.text(bx + bar_w + pct_w, cy, pct, value_font, color, align="right")
        c.text(x + w, cy, f"≥ {100.0 * k.threshold:.0f} %", c.font(5.8), MUTED, align="right")
    yy += min(len(shown), fits) * line + 0.6
    if shown and len(shown) < len(classes):  # none shown (the reader's part took the room): said above
        yy += note_line
        c.text(x, yy, f"+ {len(classes) - len(shown)} more classes in the JSON report", note_font, MUTED)
    for text, font, color in notes:
        yy += note_line
        c.text(x, yy, text, font, color, max_width_mm=w)


def _draw_median_beat(
    c: _Canvas,
    classical: BeatAnalysis | None,
    prediction: PredictionResult | None,
    x: float,
    y: float,
    w: float,
    h: float,
    delineation: DelineationResult | None = None,
    overread_result: EditedDelineation | None = None,
) -> None:
    """The classical median beat (lead II) with the PR/QRS/QT spans: between the delineation's median
    boundaries (ticks on the trace) when there is a delineation, else the model's or classical ones.
    With an over-read the marks the reader set on the median beat are drawn where the reader put them."""
    from PySide6.QtCore import QLineF, QRectF

    gw, gh = 5.0 * math.floor(w / 5.0), 5.0 * math.floor((h - 4.0) / 5.0)
    gx, gy = x + (w - gw), y + 4.0
    c.grid(gx, gy, gw, gh)
    beat = classical.median_beat if classical is not None else None
    if beat is None or beat.signals.size == 0:
        c.text(gx + gw / 2, gy + gh / 2, "no median beat", c.font(7.0), MUTED, align="center")
        c.text(gx, y + 2.8, "Median beat", c.font(7.0, bold=True))
        return
    row = pick_lead(beat)
    sig = np.asarray(beat.signals[row], dtype=np.float64)
    t_ms = beat.time_ms()
    offsets: dict[str, float] = {}
    if delineation is not None:
        d = delineation.delineation
        offsets = boundary_offsets_ms(d.consensus, d.r_peaks, d.fs_hz)
        if overread_result is not None:
            from ecgviewer.core.delineation import POINTS

            for name in overread_result.median_edits:
                v = float(overread_result.median_points[POINTS.index(name)])
                if math.isfinite(v):
                    offsets[name] = v * 1000.0 / d.fs_hz
                else:
                    offsets.pop(name, None)
        values = {k: v["value"] for k, v in headline_values(delineation).items()}
        spans, source = delineation_spans(offsets, values), "delineation"
        marks = [(name, wave) for name, wave in MARKED_POINTS if name in offsets]
        marks = [(n, wv) for n, wv in marks if n != "p_on" or "PR" in spans]  # no P tick when PR is absent
    else:
        spans, source = median_beat_spans(beat, model_interval_ms(prediction))
        marks = []
    anchor = offsets.get("qrs_on") if source == "delineation" else None
    if anchor is not None:
        i_on = round(float(beat.r_index + anchor * beat.fs_hz / 1000.0))
    else:
        i_on = beat.fiducials.get("qrs_onset")
    ref = sig[int(np.clip(i_on, 0, sig.size - 1))] if i_on is not None else float(np.median(sig))
    speed = 25.0
    span_rows = 3.2 * len(spans)
    lo, hi = float(np.nanmin(sig - ref)), float(np.nanmax(sig - ref))
    gain = 10.0 if (hi - lo) * 10.0 <= gh - span_rows - 3.0 else 5.0
    x_r = gx + 12.0  # R peak 12 mm from the left: 450 ms at 25 mm/s is 11.25 mm
    base = gy + 2.0 + hi * gain
    c.p.save()
    c.p.setClipRect(QRectF(gx, gy, gw, gh))
    c.polyline(x_r + t_ms / 1000.0 * speed, base - (sig - ref) * gain, width_mm=0.25)
    color = {"model": MODEL_SPAN, "delineation": DELINEATION_SPAN}.get(source or "", CLASSICAL_SPAN)
    yy = base - lo * gain + 2.6
    small = c.font(6.0, bold=True)
    on_ms = (
        anchor
        if anchor is not None
        else (float((int(i_on) - beat.r_index) * 1000.0 / beat.fs_hz) if i_on is not None else None)
    )
    if on_ms is not None and spans:
        xo = x_r + on_ms / 1000.0 * speed
        c.p.setPen(c.pen(MUTED, 0.12, dash=True))
        c.p.drawLine(QLineF(xo, gy + 1.0, xo, min(gy + gh, yy + span_rows)))
    for name, wave in marks:  # the delineation's boundaries, where they sit on this trace
        ms = offsets[name]
        k = int(np.clip(round(float(beat.r_index + ms * beat.fs_hz / 1000.0)), 0, sig.size - 1))
        xt, yt = x_r + ms / 1000.0 * speed, base - (sig[k] - ref) * gain
        c.p.setPen(c.pen(WAVE_COLORS[wave], TICK_PEN_MM))
        c.p.drawLine(QLineF(xt, yt - TICK_MM / 2, xt, yt + TICK_MM / 2))
    for name in ("PR", "QRS", "QT"):
        if name not in spans:
            continue
        t0, t1, ms = spans[name]
        x0, x1 = x_r + t0 / 1000.0 * speed, x_r + t1 / 1000.0 * speed
        c.p.setPen(c.pen(color, 0.3))
        c.p.drawLine(QLineF(x0, yy - 1.0, x0, yy))
        c.p.drawLine(QLineF(x0, yy, x1, yy))
        c.p.drawLine(QLineF(x1, yy - 1.0, x1, yy))
        c.text(x1 + 0.8, yy + 0.9, f"{name} {ms:.0f} ms", small, color)
        yy += 3.2
    c.p.restore()
    label = f"Median beat {beat.leads[row]} (n={beat.n_beats}) · 25 mm/s, {gain:g} mm/mV"
    c.text(gx, y + 2.8, label, c.font(6.3, bold=True), max_width_mm=gw)
    src = {"model": "spans: model", "classical": "spans: classical", "delineation": "spans: delineation"}
    if source in src:
        c.text(gx + gw - 1.0, gy + gh - 1.0, src[source], c.font(5.8), color, align="right")


def _rhythm_segment(lay) -> Any:
    """The rhythm strip of a layout: the longest segment (lead II first, then the lowest row)."""
    if not lay.segments:
        return None
    longest = max(s.t_stop_s - s.t_start_s for s in lay.segments)
    strips = [s for s in lay.segments if s.t_stop_s - s.t_start_s >= longest - 1e-6 and s.unit == "mV"]
    if not strips:
        return None
    return min(strips, key=lambda s: (s.lead != "II", -s.row))


def _draw_boundary_ticks(
    c: _Canvas,
    record: EcgRecord,
    seg: Any,
    delineation: DelineationResult,
    x0: float,
    page_y: Any,
    speed: float,
) -> int:
    """Ticks across the trace of ``seg`` at each beat's consensus P onset, QRS onset and offset, T
    offset (the wave's colour); returns how many were drawn."""
    from PySide6.QtCore import QLineF

    from ecgviewer.core.delineation import POINTS

    d = delineation.delineation
    if d.n_beats == 0 or d.fs_hz != record.fs_hz:
        return 0
    consensus = d.consensus
    fs = record.fs_hz
    i0 = round(seg.t_start_s * fs)
    i1 = min(record.n_samples, round(seg.t_stop_s * fs) + 1)
    if i1 - i0 < 2:
        return 0
    v = np.asarray(record.lead(seg.lead, i0, i1), dtype=np.float64)
    n = 0
    lines: dict[str, list] = {}
    for name, wave in MARKED_POINTS:
        col = consensus[:, POINTS.index(name)]
        for smp in col[np.isfinite(col)]:
            k = round(float(smp))
            if not i0 <= k < i1 or not np.isfinite(v[k - i0]):
                continue
            xt = x0 + seg.x_start_mm + (k / fs - seg.t_start_s) * speed
            yt = page_y(seg.baseline_mm) - v[k - i0] * seg.scale_mm_per_unit
            lines.setdefault(wave, []).append(QLineF(xt, yt - TICK_MM / 2, xt, yt + TICK_MM / 2))
            n += 1
    for wave, group in lines.items():
        c.p.setPen(c.pen(WAVE_COLORS[wave], TICK_PEN_MM))
        c.p.drawLines(group)
    return n


def _draw_ecg(
    c: _Canvas,
    record: EcgRecord,
    lay,
    grid: tuple[float, float, float, float],
    delineation: DelineationResult | None = None,
) -> list[str]:
    from PySide6.QtCore import QLineF, QRectF

    left, top, gw, gh = grid
    c.grid(left, top, gw, gh)
    # Row 0's baseline 0.55 pitch below the grid's top edge (rounded to whole mm).
    y0 = top + round(0.55 * lay.row_height_mm)

    def page_y(layout_y: float) -> float:
        return y0 - layout_y

    speed = lay.speed_mm_per_s
    drawn = []
    c.p.save()
    c.p.setClipRect(QRectF(left, top, gw, gh))
    for seg in lay.segments:
        i0 = round(seg.t_start_s * record.fs_hz)
        i1 = min(record.n_samples, round(seg.t_stop_s * record.fs_hz) + 1)
        if i1 - i0 < 2:
            continue
        v = np.asarray(record.lead(seg.lead, i0, i1), dtype=np.float64)
        x = (
            left
            + seg.x_start_mm
            + (np.arange(i1 - i0) / record.fs_hz + i0 / record.fs_hz - seg.t_start_s) * speed
        )
        c.polyline(x, page_y(seg.baseline_mm) - v * seg.scale_mm_per_unit)
        drawn.append(seg.lead)
    strip = _rhythm_segment(lay) if delineation is not None else None
    if strip is not None:
        assert delineation is not None
        _draw_boundary_ticks(c, record, strip, delineation, left, page_y, speed)
    pen_rows = sorted({s.row for s in lay.segments})
    for row in pen_rows:
        px, py = ecg_layout.calibration_pulse_xy(lay.baseline_mm(row), speed, lay.gain_mm_per_mv)
        c.polyline(left + px, page_y(py))
    if lay.column_bounds_mm:
        cells = {(s.row, s.column) for s in lay.segments}
        c.p.setPen(c.pen(TRACE, TRACE_PEN_MM))
        n_grid_rows = max((s.row for s in lay.segments if s.column > 0), default=-1) + 1
        for col, xb in enumerate(lay.column_bounds_mm[1:-1], start=1):
            for row in range(n_grid_rows):
                if (row, col - 1) in cells or (row, col) in cells:
                    b = page_y(lay.baseline_mm(row))
                    c.p.drawLine(QLineF(left + xb, b - 3.0, left + xb, b + 3.0))
    c.p.restore()
    label_font = c.font(8.0, bold=True)
    for seg in lay.segments:
        italic = c.font(8.0, bold=True, italic=True) if seg.derived else label_font
        c.text(
            left + seg.x_start_mm + 1.0, page_y(seg.baseline_mm) - 0.42 * lay.row_height_mm, seg.lead, italic
        )
    return drawn


def _draw_footer(c: _Canvas, page_w: float, page_h: float, page: int, n_pages: int) -> None:
    y = page_h - MARGIN_MM - 1.0
    stamp = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    small = c.font(6.5)
    c.text(MARGIN_MM, y, f"ecgviewer {ecgviewer.__version__} · printed {stamp}", small, MUTED)
    c.text(page_w / 2, y, DISCLAIMER, c.font(6.5, bold=True), WARNING, align="center")
    c.text(page_w - MARGIN_MM, y, f"page {page} of {n_pages}", small, MUTED, align="right")


def paint_page(
    painter: QPainter,
    dpi: float,
    record: EcgRecord,
    prediction: PredictionResult | None,
    classical: BeatAnalysis | None,
    options: ReportOptions,
    t0_s: float,
    page: int,
    n_pages: int,
    classification: ClassificationResult | ClassificationFailure | None = None,
    quality: QualityReport | None = None,
    withheld: Mapping[str, str] | None = None,
    delineation: DelineationResult | None = None,
    delineation_error: str | None = None,
    over_read: Mapping[str, Any] | None = None,
    overread_result: EditedDelineation | None = None,
) -> tuple[tuple[float, float, float, float], Any, list[str]]:
    """Draw one page with ``painter`` (device resolution ``dpi``); returns grid rect, layout, leads."""
    if (withheld or {}).get("delineation"):
        delineation, overread_result = None, None
    if not (over_read or {}).get("applied"):
        overread_result = None
    applied = over_read if over_read and over_read.get("applied") else {}
    reader = bool((applied.get("statements") or {}).get("confirmed") or applied.get("interpretation"))
    c = _Canvas(painter, dpi)
    page_w, page_h = PAPER_SIZES_MM[options.paper]
    inner_w = page_w - 2 * MARGIN_MM
    top = MARGIN_MM
    # header: record | measurements (| statements) | median beat
    meas_w = MEASUREMENTS_MM
    stat_w = STATEMENTS_MM if classification is not None or reader else 0.0
    rec_w = inner_w - meas_w - stat_w - MEDIAN_PANEL_MM - 6.0
    _draw_header_record(c, record, options, MARGIN_MM, top, rec_w, t0_s, over_read)
    _draw_measurements(
        c,
        record,
        prediction,
        classical,
        MARGIN_MM + rec_w + 3.0,
        top,
        meas_w,
        quality,
        withheld,
        delineation,
        delineation_error,
        overread_result,
    )
    if stat_w:
        x_stat = MARGIN_MM + rec_w + 3.0 + meas_w
        _draw_statements(c, classification, x_stat, top, stat_w - 4.0, HEADER_MM, over_read)
    _draw_median_beat(
        c,
        classical,
        prediction,
        page_w - MARGIN_MM - MEDIAN_PANEL_MM,
        top,
        MEDIAN_PANEL_MM,
        HEADER_MM,
        delineation,
        overread_result,
    )
    # ECG grid: whole 5 mm squares, centred horizontally
    grid_top = top + HEADER_MM + 1.0
    avail_h = page_h - MARGIN_MM - FOOTER_MM - grid_top
    gw = 5.0 * math.floor(inner_w / 5.0)
    gh = 5.0 * math.floor(avail_h / 5.0)
    left = round(MARGIN_MM + (inner_w - gw) / 2.0)
    lay = page_layout(record, options, t0_s, gh)
    grid = (float(left), float(grid_top), gw, gh)
    drawn = _draw_ecg(c, record, lay, grid, delineation)
    _draw_footer(c, page_w, page_h, page, n_pages)
    return grid, lay, drawn


def render_report_bytes(
    record: EcgRecord,
    prediction: PredictionResult | None = None,
    classical: BeatAnalysis | None = None,
    options: ReportOptions | None = None,
    classification: ClassificationResult | ClassificationFailure | None = None,
    *,
    quality: QualityReport | None = None,
    withheld: Mapping[str, str] | None = None,
    delineation: DelineationResult | None = None,
    delineation_error: str | None = None,
    over_read: Mapping[str, Any] | None = None,
    overread_result: EditedDelineation | None = None,
) -> tuple[bytes, ReportInfo]:
    """The report as PDF bytes, and what was drawn.

    Parameters
    ----------
    record
        The record as displayed (display filters already applied; say which in ``options.filters``).
    prediction, classical
        Model result and classical analysis of the (unfiltered) record, None where not available.
    options
        Paper, layout, scale, pages.
    classification
        The statement classifier's result (or its failure) for the record; None prints no statements block.
    quality, withheld
        The signal-quality assessment (a quality line; "no measurable ECG" with the reason) and
        the results it withheld (:attr:`ecgviewer.analysis.RecordAnalysis.withheld`): their
        values print as "—" with the reason.
    delineation, delineation_error
        The wave delineation (the headline intervals, its boundaries ticked on the median beat and
        the rhythm strip) or why it failed; None: not run. With an applied over-read, the edited
        one (:attr:`ecgviewer.analysis.RecordAnalysis.effective_delineation`).
    over_read, overread_result
        The reader's over-read: the document's ``over_read`` section
        (:func:`ecgviewer.report.measurements.overread_section`) and what the edits did to the
        delineation (:class:`~ecgviewer.core.overread.EditedDelineation`); see
        :func:`ecgviewer.analysis.overread.report_arguments`. None: no over-read.
    """
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QMarginsF, QSizeF
    from PySide6.QtGui import QPageLayout, QPageSize, QPainter, QPdfWriter

    t_start = time.perf_counter()
    options = options or ReportOptions()
    ensure_gui_application()
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buf)
    writer.setResolution(PDF_DPI)
    w, h = PAPER_SIZES_MM[options.paper]
    size = QPageSize(
        QSizeF(h, w), QPageSize.Unit.Millimeter, options.paper, QPageSize.SizeMatchPolicy.ExactMatch
    )
    writer.setPageLayout(
        QPageLayout(
            size, QPageLayout.Orientation.Landscape, QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Millimeter
        )
    )
    title = _record_title(record)
    writer.setTitle(f"ECG report {title}")
    writer.setCreator(f"ecgviewer {ecgviewer.__version__}")
    starts = page_starts(record, options)
    painter = QPainter()
    if not painter.begin(writer):
        raise RuntimeError("cannot start painting the PDF")
    grid, pitch, leads = (0.0, 0.0, 0.0, 0.0), 0.0, []
    try:
        for k, t0 in enumerate(starts):
            if k:
                writer.newPage()
            grid, lay, leads = paint_page(
                painter,
                PDF_DPI,
                record,
                prediction,
                classical,
                options,
                t0,
                k + 1,
                len(starts),
                classification,
                quality,
                withheld,
                delineation,
                delineation_error,
                over_read,
                overread_result,
            )
            pitch = lay.row_height_mm
    finally:
        painter.end()
    buf.close()
    pdf = bytes(data.data())
    info = ReportInfo(
        n_pages=len(starts),
        page_size_mm=(w, h),
        grid_rect_mm=grid,
        row_pitch_mm=pitch,
        layout=options.layout,
        page_starts_s=tuple(starts),
        n_bytes=len(pdf),
        elapsed_s=time.perf_counter() - t_start,
        leads_drawn=tuple(leads),
    )
    return pdf, info


def render_report(
    path: str | Path,
    record: EcgRecord,
    prediction: PredictionResult | None = None,
    classical: BeatAnalysis | None = None,
    options: ReportOptions | None = None,
    classification: ClassificationResult | ClassificationFailure | None = None,
    *,
    quality: QualityReport | None = None,
    withheld: Mapping[str, str] | None = None,
    delineation: DelineationResult | None = None,
    delineation_error: str | None = None,
    over_read: Mapping[str, Any] | None = None,
    overread_result: EditedDelineation | None = None,
) -> ReportInfo:
    """Write the report PDF to ``path`` atomically (see :func:`render_report_bytes`)."""
    pdf, info = render_report_bytes(
        record,
        prediction,
        classical,
        options,
        classification,
        quality=quality,
        withheld=withheld,
        delineation=delineation,
        delineation_error=delineation_error,
        over_read=over_read,
        overread_result=overread_result,
    )
    atomic_write_bytes(path, pdf)
    return info
