"""The measurements table: the delineation's headline values beside the other sources.

:class:`MeasurementTable` has one row per interval (HR, RR, PR, QRS, QT, QTc
Bazett, QTc Fridericia) and the columns

* **Waves** -- the headline: the wave delineation network's value
  (:class:`~ecgviewer.inference.delineation.DelineationResult`, per lead the median
  over beats, then the median over leads), its spread (**±**, a robust SD over every
  lead and beat) and the network's confidence (**Conf.**); an absent value shows
  ``—`` and the reason (tooltip, and the notes under the table);
* **Classical** -- the median-beat measurement;
* **Model** -- the interval regression model (its own spread in the tooltip);
* **Device** -- what the acquiring cart stored in the file (hidden when nothing).

A value that differs from the headline by more than :data:`HEADLINE_THRESHOLDS`
is highlighted, with the difference in its tooltip. Without a headline value the
model is compared with the classical value instead
(:data:`~ecgviewer.report.measurements.DISAGREEMENT_THRESHOLDS`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QSizePolicy, QTableWidget, QTableWidgetItem

from ecgviewer.core.qtc import qtc_bazett_ms, qtc_fridericia_ms
from ecgviewer.report.formatting import MISSING, format_value
from ecgviewer.report.measurements import (
    DISAGREEMENT_THRESHOLDS,
    ROWS,
    VENDOR_ROW_KEYS,
    classical_values,
    model_values,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ecgviewer.core.beats import BeatAnalysis
    from ecgviewer.inference.delineation import DelineationResult
    from ecgviewer.inference.result import PredictionResult

COLUMNS: tuple[str, ...] = ("Interval", "Waves", "±", "Conf.", "Classical", "Model", "Device")
#: Row keys of :meth:`MeasurementTable.row_texts`, one per column.
CELL_NAMES: tuple[str, ...] = ("label", "waves", "spread", "confidence", "classical", "model", "device")
WAVES_COLUMN, CLASSICAL_COLUMN, MODEL_COLUMN = 1, 4, 5
#: Column of the measurements stored in the file by the acquiring device (hidden when there are none).
DEVICE_COLUMN = 6
#: |value - headline| above which a value is flagged (units of the row).
HEADLINE_THRESHOLDS: dict[str, float] = {
    "hr_bpm": 2.0,
    "rr_ms": 30.0,
    "pr_ms": 10.0,
    "qrs_ms": 10.0,
    "qt_ms": 20.0,
    "qtc_bazett_ms": 20.0,
    "qtc_fridericia_ms": 20.0,
}
HIGHLIGHT_BG = "#ffe9b3"
#: Background of a headline value the reader's over-read changed.
EDITED_BG = "#e4dcff"
#: Appended to the row label of a value the reader changed.
EDITED_MARK = " ✎"
DISAGREE_FG = "#b00020"
#: A headline confidence below this is shown in amber.
LOW_CONFIDENCE = 0.6
_SOURCE_NAMES = {CLASSICAL_COLUMN: "classical", MODEL_COLUMN: "model", DEVICE_COLUMN: "device"}
#: Row labels shortened to keep the dock narrow (the full name is the label's tooltip).
SHORT_LABELS: dict[str, str] = {"qtc_bazett_ms": "QTcB", "qtc_fridericia_ms": "QTcF"}


@dataclass(frozen=True)
class WaveValue:
    """A headline value of the delineation, or why there is none."""

    value: float | None
    spread: float | None = None
    confidence: float | None = None
    reason: str | None = None
    n_beats: int = 0
    n_leads: int = 0


def delineation_values(result: DelineationResult | None) -> dict[str, WaveValue]:
    """Headline value per row key (QTc from the delineation's QT and RR)."""
    if result is None:
        return {}
    iv = result.intervals
    out = {
        k: WaveValue(e.value, e.spread, e.confidence, e.reason, e.n_beats, e.n_leads) for k, e in iv.items()
    }
    qt, rr = out.get("qt_ms"), out.get("rr_ms")
    for key, fn in (("qtc_bazett_ms", qtc_bazett_ms), ("qtc_fridericia_ms", qtc_fridericia_ms)):
        if qt is not None and rr is not None and qt.value is not None and rr.value:
            out[key] = WaveValue(fn(qt.value, rr.value), None, qt.confidence, None, qt.n_beats, qt.n_leads)
        else:
            why = (qt.reason if qt is not None and qt.value is None else None) or (
                rr.reason if rr is not None else None
            )
            out[key] = WaveValue(None, reason=why or "no QT or RR")
    return out


def model_spread_text(result: PredictionResult | None, key: str, half_iqr: float | None) -> str:
    """``±σ`` from a heteroscedastic model, else ``±IQR/2`` over the windows, else nothing."""
    sigma = None if result is None or key not in result.intervals else result[key].sigma
    if sigma is not None:
        return f"±{sigma:.0f} σ"
    return "" if half_iqr is None else f"±{half_iqr:.0f}"


class MeasurementTable(QTableWidget):
    """The comparison table (see the module notes); fed with :meth:`set_sources`."""

    def __init__(self, parent=None) -> None:
        super().__init__(len(ROWS), len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(list(COLUMNS))
        self.verticalHeader().hide()
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.setShowGrid(False)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setStyleSheet("QTableWidget { background: white; }")
        header = self.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.Stretch)
        for c in range(1, len(COLUMNS)):
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.horizontalHeaderItem(0).setTextAlignment(
            Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
        )
        tips = {
            WAVES_COLUMN: "The headline: the wave delineation network (per lead the median over beats, "
            "then the median over leads)",
            2: "Spread of the delineation's value: robust SD (1.4826 × MAD) over every lead and beat",
            3: "The delineation network's mean confidence in the waves the value rests on",
            CLASSICAL_COLUMN: "Classical median-beat measurement",
            MODEL_COLUMN: "Interval regression model (its spread in the tooltip)",
        }
        for c, tip in tips.items():
            self.horizontalHeaderItem(c).setToolTip(tip)
        self._bold = QFont(self.font())
        self._bold.setBold(True)
        for r, (key, label, _unit) in enumerate(ROWS):
            for c in range(len(COLUMNS)):
                item = QTableWidgetItem(SHORT_LABELS.get(key, label) if c == 0 else "")
                align = Qt.AlignmentFlag.AlignLeft if c == 0 else Qt.AlignmentFlag.AlignRight
                item.setTextAlignment(align | Qt.AlignmentFlag.AlignVCenter)
                if c == WAVES_COLUMN:
                    item.setFont(self._bold)
                self.setItem(r, c, item)
        self.resizeRowsToContents()
        height = self.horizontalHeader().sizeHint().height() + sum(
            self.rowHeight(r) for r in range(len(ROWS))
        )
        self.setFixedHeight(height + 2 * self.frameWidth())
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setColumnHidden(DEVICE_COLUMN, True)
        self._disagreements: dict[str, list[tuple[str, float]]] = {}
        self._absent: dict[str, str] = {}
        self._provenance: dict[str, Mapping] = {}

    # -- read-back --------------------------------------------------------------------------
    def row_texts(self, key: str) -> dict[str, str]:
        """Texts of one row by :data:`CELL_NAMES`, plus ``model_spread`` (the model's ±)."""
        r = [k for k, _, _ in ROWS].index(key)
        out = {n: self.item(r, c).text() for c, n in enumerate(CELL_NAMES)}
        out["model_spread"] = self.item(r, MODEL_COLUMN).data(Qt.ItemDataRole.UserRole) or ""
        return out

    def is_highlighted(self, key: str) -> bool:
        """True when a value of the row of ``key`` disagrees (see the module notes)."""
        return key in self._disagreements

    def disagreements(self, key: str) -> list[tuple[str, float]]:
        """``(source, difference)`` of the flagged values of a row (source: classical, model, device)."""
        return list(self._disagreements.get(key, ()))

    def absent_reasons(self) -> dict[str, str]:
        """Row key -> why the headline has no value (rows of a delineation that ran)."""
        return dict(self._absent)

    # -- filling ----------------------------------------------------------------------------
    def set_sources(
        self,
        waves: DelineationResult | None,
        prediction: PredictionResult | None,
        classical: BeatAnalysis | None,
        vendor: Mapping[str, float] | None,
    ) -> None:
        """Show the values of every source (None: that source has no result)."""
        heads = delineation_values(waves)
        model = model_values(prediction)
        cl = classical_values(classical)
        dev = dict(vendor or {})
        self._disagreements, self._absent = {}, {}
        for r, (key, label, unit) in enumerate(ROWS):
            head = heads.get(key)
            h = None if head is None else head.value
            value, half_iqr = model.get(key, (None, None))
            others = {
                CLASSICAL_COLUMN: cl.get(key),
                MODEL_COLUMN: value,
                DEVICE_COLUMN: dev.get(key) if key in VENDOR_ROW_KEYS else None,
            }
            flags = self._flags(key, h, others)
            self._fill_head(r, key, unit, head)
            for c, v in others.items():
                item = self.item(r, c)
                if c == DEVICE_COLUMN:
                    item.setText(format_value(v) if key in VENDOR_ROW_KEYS and dev else "")  # unit: Waves
                else:
                    item.setText(format_value(v, unit))
                self._style_flag(item, flags.get(c), unit, key, h is None)
            spread = model_spread_text(prediction, key, half_iqr)
            model_item = self.item(r, MODEL_COLUMN)
            model_item.setData(Qt.ItemDataRole.UserRole, spread)
            if spread and MODEL_COLUMN not in flags:
                n = prediction[key].n_windows if prediction is not None and key in prediction.intervals else 0
                model_item.setToolTip(f"Model spread {spread} {unit}" + (f" over {n} window(s)" if n else ""))
            if flags:
                self._disagreements[key] = [(_SOURCE_NAMES[c], d) for c, d in flags.items()]
            label_item = self.item(r, 0)
            label_item.setBackground(QBrush(QColor(HIGHLIGHT_BG)) if flags else QBrush())
            tip = [label] if key in SHORT_LABELS else []
            if flags:
                tip.append(
                    "; ".join(f"{_SOURCE_NAMES[c]} {d:+.0f} {unit}" for c, d in flags.items())
                    + (" from the headline" if h is not None else " (model − classical)")
                )
            label_item.setToolTip("\n".join(tip))
        self._mark_edited()

    def set_provenance(self, provenance: Mapping[str, Mapping] | None) -> None:
        """Mark the headline values the reader's over-read changed (``{key: provenance}`` of
        :class:`~ecgviewer.core.overread.EditedDelineation`; None: none)."""
        self._provenance = dict(provenance or {})
        self._mark_edited()

    def edited_by(self, key: str) -> Mapping | None:
        """The provenance of an edited headline value (QTc: of its QT or RR), None when computed."""
        keys = ("qt_ms", "rr_ms") if key.startswith("qtc") else (key,)
        for k in keys:
            p = self._provenance.get(k)
            if p is not None and p.get("source") == "edited":
                return p
        return None

    def _mark_edited(self) -> None:
        for r, (key, _label, _unit) in enumerate(ROWS):
            item = self.item(r, WAVES_COLUMN)
            p = self.edited_by(key)
            item.setBackground(QBrush(QColor(EDITED_BG)) if p else QBrush())
            label = self.item(r, 0)
            label.setText(label.text().removesuffix(EDITED_MARK) + (EDITED_MARK if p else ""))
            tip = item.toolTip().split("\n✎")[0]
            if p:
                tip += f"\n✎ edited by {p.get('by')} ({p.get('at')}): {p.get('method', '')}".rstrip(": ")
            item.setToolTip(tip)

    def _flags(self, key: str, h: float | None, others: dict[int, float | None]) -> dict[int, float]:
        """Column -> difference of the values that disagree with the headline (else model vs classical)."""
        out: dict[int, float] = {}
        if h is not None:
            limit = HEADLINE_THRESHOLDS.get(key, float("inf"))
            for c, v in others.items():
                if v is not None and abs(v - h) > limit:
                    out[c] = v - h
            return out
        m, cl = others[MODEL_COLUMN], others[CLASSICAL_COLUMN]
        if m is not None and cl is not None and abs(m - cl) > DISAGREEMENT_THRESHOLDS.get(key, float("inf")):
            out[MODEL_COLUMN] = m - cl
        return out

    def _fill_head(self, r: int, key: str, unit: str, head: WaveValue | None) -> None:
        value_item, spread_item, conf_item = (self.item(r, c) for c in (WAVES_COLUMN, 2, 3))
        if head is None:
            for item in (value_item, spread_item, conf_item):
                item.setText(MISSING if item is value_item else "")
                item.setToolTip("")
            return
        value_item.setText(format_value(head.value, unit))
        spread_item.setText("" if head.spread is None else f"±{head.spread:.0f}")
        conf_item.setText("" if head.confidence is None else f"{100 * head.confidence:.0f}%")
        low = head.confidence is not None and head.confidence < LOW_CONFIDENCE
        conf_item.setForeground(QBrush(QColor("#b26a00" if low else "#444444")))
        if head.value is None:
            why = head.reason or "not measured"
            self._absent[key] = why
            value_item.setToolTip(f"No value: {why}")
        else:
            counts = f"{head.n_beats} beat(s), {head.n_leads} lead(s)" if head.n_beats else ""
            value_item.setToolTip(f"Wave delineation network{': ' + counts if counts else ''}")
        spread_item.setToolTip(
            "" if head.spread is None else f"Robust SD {head.spread:.1f} {unit} over every lead and beat"
        )
        conf_item.setToolTip(
            ""
            if head.confidence is None
            else f"Mean network confidence {head.confidence:.2f}" + (" (low)" if low else "")
        )

    def _style_flag(
        self, item: QTableWidgetItem, delta: float | None, unit: str, key: str, vs_model: bool
    ) -> None:
        bad = delta is not None
        item.setBackground(QBrush(QColor(HIGHLIGHT_BG)) if bad else QBrush())
        item.setForeground(QBrush(QColor(DISAGREE_FG if bad else "#000000")))
        if not bad:
            item.setToolTip("")
            return
        if vs_model:
            limit = DISAGREEMENT_THRESHOLDS[key]
            item.setToolTip(
                f"Model and classical differ by {abs(delta):.0f} {unit} (threshold {limit:.0f} {unit})"
            )
        else:
            limit = HEADLINE_THRESHOLDS[key]
            item.setToolTip(
                f"Differs from the delineation's headline by {delta:+.0f} {unit} "
                f"(threshold {limit:.0f} {unit})"
            )
