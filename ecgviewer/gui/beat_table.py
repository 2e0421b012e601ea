"""The per-beat table: time, RR, PR, QRS, QT and QTc of every beat, from the wave delineation.

:class:`BeatTable` lists the beats of a
:class:`~ecgviewer.core.delineation.Delineation` with
:meth:`~ecgviewer.core.delineation.Delineation.beat_intervals` (the consensus
boundaries over the leads): a cell is blank where the beat has no such wave (no P
wave before the QRS, no T-wave end). Selecting a row (mouse or arrow keys) emits
:attr:`BeatTable.beatActivated` with the beat's index and its R-peak time, which the
window uses to go to the beat (:class:`~ecgviewer.gui.waves_ui.WavesUi`).

Signals
-------
beatActivated(int, float)
    Beat index and its R-peak time (s from the start of the record).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHeaderView,
    QLabel,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ecgviewer.core.delineation import POINTS

if TYPE_CHECKING:
    from ecgviewer.core.delineation import Delineation

#: Columns: header, key of :meth:`BeatTable.row_values`.
COLUMNS: tuple[tuple[str, str], ...] = (
    ("#", "beat"),
    ("Time (s)", "time_s"),
    ("RR", "rr_ms"),
    ("PR", "pr_ms"),
    ("QRS", "qrs_ms"),
    ("QT", "qt_ms"),
    ("QTc", "qtc_ms"),
)
#: The column after :data:`COLUMNS`: the label the reader gave the beat (blank: as computed).
LABEL_COLUMN = len(COLUMNS)
EDITED_BG = "#ffe0c2"


def beat_rows(d: Delineation) -> dict[str, np.ndarray]:
    """Per beat: ``beat`` (1-based), ``time_s`` (R peak), ``rr_ms``, ``pr_ms``, ``qrs_ms``, ``qt_ms`` and
    ``qtc_ms`` (Bazett, with the RR before the beat); ``nan`` where absent."""
    iv = d.beat_intervals()
    rr = iv["rr_ms"]
    with np.errstate(invalid="ignore", divide="ignore"):
        qtc = iv["qt_ms"] / np.sqrt(rr / 1000.0)
    return {
        "beat": np.arange(1, d.n_beats + 1, dtype=float),
        "time_s": d.r_peaks / d.fs_hz,
        "rr_ms": rr,
        "pr_ms": iv["pr_ms"],
        "qrs_ms": iv["qrs_ms"],
        "qt_ms": iv["qt_ms"],
        "qtc_ms": qtc,
    }


def _lead_counts(d: Delineation) -> np.ndarray:
    """``(n_beats, 3)``: leads having the P onset, the QRS onset and the T offset of each beat."""
    idx = [POINTS.index(p) for p in ("p_on", "qrs_on", "t_off")]
    return np.isfinite(d.points[:, :, idx]).sum(axis=0)


class BeatTable(QWidget):
    """Table of the beats of a delineation (see the module notes)."""

    beatActivated = Signal(int, float)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("BeatTable")
        self._rows: dict[str, np.ndarray] = {}
        self.info_label = QLabel("Beats: not delineated")
        self.info_label.setWordWrap(True)
        self.info_label.setStyleSheet("QLabel { color: #444; }")
        self.table = QTableWidget(0, len(COLUMNS) + 1)
        self.table.setHorizontalHeaderLabels([*(h for h, _ in COLUMNS), "Label"])
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setAlternatingRowColors(True)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        for c in (0, 1):  # beat number and time: as wide as their text
            header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
        header.setMinimumSectionSize(30)
        self.table.verticalHeader().setDefaultSectionSize(self.table.fontMetrics().height() + 6)
        header.setDefaultAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        tips = {
            "rr_ms": "R-R interval to the previous beat (ms)",
            "pr_ms": "QRS onset − P onset (ms), consensus of the leads; blank: no P wave before this QRS",
            "qrs_ms": "QRS offset − QRS onset (ms), consensus of the leads",
            "qt_ms": "T offset − QRS onset (ms), consensus of the leads; blank: no T-wave end found",
            "qtc_ms": "QT corrected with Bazett's formula and the RR before the beat (ms)",
        }
        for c, (_h, key) in enumerate(COLUMNS):
            if key in tips:
                self.table.horizontalHeaderItem(c).setToolTip(tips[key])
        self.table.horizontalHeaderItem(LABEL_COLUMN).setToolTip(
            "The reader's label (over-read): N, S, V, F, Q or | (artefact); blank: not relabelled"
        )
        header.setSectionResizeMode(LABEL_COLUMN, QHeaderView.ResizeMode.ResizeToContents)
        self.table.cellClicked.connect(lambda row, _col: self._activate(row))
        self.table.currentCellChanged.connect(
            lambda row, _c, old, _oc: self._activate(row) if row != old else None
        )
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addWidget(self.info_label)
        layout.addWidget(self.table, 1)

    # -- content ----------------------------------------------------------------------------
    def set_delineation(self, d: Delineation | None, note: str = "") -> None:
        """List the beats of ``d`` (None: empty, ``note`` saying why)."""
        self.table.blockSignals(True)
        self.table.clearContents()
        self._rows = {} if d is None else beat_rows(d)
        n = 0 if d is None else d.n_beats
        self.table.setRowCount(n)
        if d is not None:
            counts = _lead_counts(d)
            n_leads = len(d.leads)
            for r in range(n):
                tip = (
                    f"Beat {r + 1}: P onset in {counts[r, 0]}, QRS onset in {counts[r, 1]}, "
                    f"T offset in {counts[r, 2]} of {n_leads} lead(s)"
                )
                for c, (_h, key) in enumerate(COLUMNS):
                    v = float(self._rows[key][r])
                    text = "" if not np.isfinite(v) else f"{v:.3f}" if key == "time_s" else f"{v:.0f}"
                    item = QTableWidgetItem(text)
                    item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                    item.setToolTip(tip)
                    self.table.setItem(r, c, item)
            self.info_label.setText(
                f"{n} beats, {n_leads} lead(s), {d.method or 'delineation'}; times in ms. "
                "Click a beat to go to it."
            )
        else:
            self.info_label.setText(note or "Beats: not delineated")
        self.table.blockSignals(False)

    def set_labels(self, labels: list[str] | None, edited: list[bool] | None = None) -> None:
        """The reader's label of every row (None or ``""``: none), rows of edited beats highlighted."""
        self.table.blockSignals(True)
        for r in range(self.table.rowCount()):
            text = "" if labels is None or r >= len(labels) else labels[r]
            item = QTableWidgetItem(text)
            item.setTextAlignment(Qt.AlignmentFlag.AlignCenter)
            if edited is not None and r < len(edited) and edited[r]:
                item.setBackground(QColor(EDITED_BG))
                item.setToolTip("Relabelled or added by the reader")
            self.table.setItem(r, LABEL_COLUMN, item)
        self.table.blockSignals(False)

    def blank_rr(self, rows, why: str) -> None:
        """No RR (nor QTc) for ``rows``: the interval before them crosses a stretch left out (``why``)."""
        for r in rows:
            for key in ("rr_ms", "qtc_ms"):
                c = [k for _h, k in COLUMNS].index(key)
                self._rows[key][r] = np.nan
                item = self.table.item(r, c)
                if item is not None:
                    item.setText("")
                    item.setToolTip(why)

    def label(self, row: int) -> str:
        """The reader's label shown in ``row`` (``""``: none)."""
        item = self.table.item(row, LABEL_COLUMN)
        return "" if item is None else item.text()

    def row_count(self) -> int:
        return self.table.rowCount()

    def row_values(self, row: int) -> dict[str, float]:
        """The values of a row by the keys of :data:`COLUMNS` (``nan``: blank)."""
        return {key: float(self._rows[key][row]) for _h, key in COLUMNS}

    def row_texts(self, row: int) -> dict[str, str]:
        """The texts of a row by the keys of :data:`COLUMNS`."""
        return {key: self.table.item(row, c).text() for c, (_h, key) in enumerate(COLUMNS)}

    def select_row(self, row: int) -> None:
        """Select ``row`` as a click would (emits :attr:`beatActivated`)."""
        if self.table.currentRow() != row:
            self.table.setCurrentCell(row, 0)  # currentCellChanged activates it
        else:
            self._activate(row)

    def _activate(self, row: int) -> None:
        if 0 <= row < self.table.rowCount() and self._rows:
            self.beatActivated.emit(row, float(self._rows["time_s"][row]))
