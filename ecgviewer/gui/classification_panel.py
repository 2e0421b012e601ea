"""Dock panel with the statement classifier's output: per-class probabilities and the statements.

:class:`ClassificationPanel` shows the statements (above threshold and coherent,
:mod:`ecgviewer.core.statements`, e.g. ``NORM, SR``) in large type at the top, the classes
a coherence rule withheld (italic rows, the rule in the tooltip), then one row per class:
name, description, probability bar with the threshold marked, and the threshold.
Under the table: which checkpoint ran (name, version, trained or placeholder,
device, windows) and a note that these are decision-support outputs of a model
trained on few records (the counts and metrics come from the checkpoint's
``training``/``metrics``, see :func:`~ecgviewer.report.measurements.training_summary`). It carries the
classifier selector (bundled ones, "Off", "Load classifier checkpoint…").

The panel holds no analysis logic and does no I/O: it emits the user's choice
and is fed results by :class:`~ecgviewer.gui.analysis_ui.AnalysisUi` (from the
:class:`~ecgviewer.gui.analysis.AnalysisController`, which computes the
classification in the same worker job as the intervals).

Signals
-------
classifierChanged(object)
    Bundled name, checkpoint path (str) or None (off) chosen by the user.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont, QPainter, QPen
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QFrame,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QScrollArea,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ecgviewer.gui.actions import CLASSIFIER_CHOICES
from ecgviewer.gui.dialogs import ask_checkpoint_path
from ecgviewer.gui.measurements_panel import ERROR_STYLE, WARNING_STYLE
from ecgviewer.report.measurements import (
    DECISION_SUPPORT_NOTE,
    classification_notes,
    classification_warning,
    model_version,
    training_summary,
)

if TYPE_CHECKING:
    from ecgviewer.inference.classifier import ClassificationResult
    from ecgviewer.models.checkpoint import CheckpointMeta

COLUMNS: tuple[str, ...] = ("Class", "Description", "Probability", "Threshold")
PROBABILITY_COLUMN = 2
LOAD_CLASSIFIER = "Load classifier checkpoint…"
OFF_TEXT = "Off"
_LOAD_SENTINEL = "\x00load"
_OFF = "\x00off"
POSITIVE_BG = "#e3ecfa"
POSITIVE_FG = "#1f4fa3"
BAR_FILL = "#9e9e9e"
THRESHOLD_COLOR = "#b00020"


class ProbabilityBar(QWidget):
    """A horizontal bar of one probability with its decision threshold marked (and the value as text)."""

    def __init__(self, probability: float, threshold: float, positive: bool, parent=None) -> None:
        super().__init__(parent)
        self.probability = float(probability)
        self.threshold = float(threshold)
        self.positive = positive
        self.setMinimumWidth(70)
        self.setToolTip(f"{100 * self.probability:.1f} % (stated at ≥ {100 * self.threshold:.0f} %)")

    def text(self) -> str:
        """The value as shown, e.g. ``"73 %"``."""
        return f"{100 * self.probability:.0f} %"

    def sizeHint(self) -> QSize:
        return QSize(110, 18)

    def paintEvent(self, event) -> None:
        p = QPainter(self)
        p.setRenderHint(QPainter.RenderHint.Antialiasing, False)
        r = QRectF(self.rect()).adjusted(2, 4, -2, -4)
        text_w = 46.0
        bar = QRectF(r.left(), r.top(), max(10.0, r.width() - text_w), r.height())
        p.setPen(QPen(QColor("#9e9e9e"), 1))
        p.setBrush(QBrush(QColor("white")))
        p.drawRect(bar)
        fill = QColor(POSITIVE_FG if self.positive else BAR_FILL)
        p.fillRect(
            QRectF(bar.left(), bar.top(), bar.width() * min(max(self.probability, 0.0), 1.0), bar.height()),
            fill,
        )
        x = bar.left() + bar.width() * self.threshold
        p.setPen(QPen(QColor(THRESHOLD_COLOR), 2))
        xi = round(x)
        p.drawLine(xi, int(bar.top()) - 3, xi, int(bar.bottom()) + 3)
        font = QFont(self.font())
        font.setBold(self.positive)
        p.setFont(font)
        p.setPen(QColor(POSITIVE_FG if self.positive else "#222222"))
        p.drawText(
            QRectF(bar.right() + 2, self.rect().top(), text_w - 2, self.rect().height()),
            int(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter),
            self.text(),
        )
        p.end()


class ClassificationPanel(QWidget):
    """The classifier's statements and class probabilities, and the classifier selector."""

    classifierChanged = Signal(object)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("ClassificationPanel")
        #: ``file_dialog(self)`` for "Load classifier checkpoint…": a path or None (replace in tests).
        self.file_dialog: Callable[[QWidget | None], str | None] = ask_checkpoint_path
        self._classifier: str | None = None
        self._installed: tuple[str, ...] = ()
        self._checkpoint_dir = ""
        self._result: ClassificationResult | None = None
        self._busy = False

        self.classifier_combo = QComboBox()
        # a long checkpoint label must not widen the dock (and shrink the ECG paper): it elides instead
        self.classifier_combo.setSizeAdjustPolicy(
            QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon
        )
        self.classifier_combo.setMinimumContentsLength(18)
        self.classifier_combo.setToolTip(
            "Statement classifier: a bundled checkpoint, one from a file, or off"
        )
        self._fill_combo()
        self.classifier_combo.currentIndexChanged.connect(self._on_index)
        top = QHBoxLayout()
        top.addWidget(QLabel("Classifier"))
        top.addWidget(self.classifier_combo, 1)

        self.statements_label = QLabel()
        self.statements_label.setObjectName("statements")
        self.statements_label.setWordWrap(True)
        self.statements_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.statements_label.setStyleSheet(
            f"QLabel {{ font-size: 12pt; font-weight: bold; color: {POSITIVE_FG}; padding: 2px 0; }}"
        )
        self.coherence_label = QLabel()  # classes withheld by the coherence rules; calibration
        self.coherence_label.setWordWrap(True)
        self.coherence_label.setTextFormat(Qt.TextFormat.PlainText)
        self.coherence_label.setStyleSheet("QLabel { color: #555; font-size: 8pt; }")
        self.warning_label = QLabel()
        self.warning_label.setWordWrap(True)
        self.warning_label.setStyleSheet(WARNING_STYLE)
        self.warning_label.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.warning_label.hide()
        self.status_label = QLabel()
        self.status_label.setWordWrap(True)
        self.status_label.setStyleSheet("QLabel { color: #444; }")
        self.error_label = QLabel()
        self.error_label.setWordWrap(True)
        self.error_label.setStyleSheet(ERROR_STYLE)
        self.error_label.hide()

        self.table = QTableWidget(0, len(COLUMNS))
        self.table.setHorizontalHeaderLabels(list(COLUMNS))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.NoSelection)
        self.table.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.table.setShowGrid(False)
        self.table.setStyleSheet("QTableWidget { background: white; }")
        self.table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(1, QHeaderView.ResizeMode.Stretch)
        header.setSectionResizeMode(PROBABILITY_COLUMN, QHeaderView.ResizeMode.Fixed)
        header.resizeSection(PROBABILITY_COLUMN, 150)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.ResizeToContents)
        # The description is in each row's tooltip: in a docked panel a column for it is too narrow to read.
        self.table.setColumnHidden(1, True)
        self.table.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self._bold, self._italic = QFont(self.table.font()), QFont(self.table.font())
        self._bold.setBold(True)
        self._italic.setItalic(True)

        self.info_label = QLabel()
        self.info_label.setWordWrap(True)
        self.info_label.setStyleSheet("QLabel { color: #444; font-size: 8pt; }")
        self.info_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.note_label = QLabel()
        self.note_label.setWordWrap(True)
        self.note_label.setStyleSheet("QLabel { color: #666; font-size: 8pt; }")

        content = QWidget()
        body = QVBoxLayout(content)
        body.setContentsMargins(0, 0, 0, 0)
        body.addWidget(self.statements_label)
        body.addWidget(self.coherence_label)
        body.addWidget(self.warning_label)
        body.addWidget(self.status_label)
        body.addWidget(self.error_label)
        body.addWidget(self.table)
        body.addWidget(self.info_label)
        body.addWidget(self.note_label)
        body.addStretch(1)
        self.scroll = QScrollArea()  # a short dock scrolls instead of squeezing rows together
        self.scroll.setWidget(content)
        self.scroll.setWidgetResizable(True)
        self.scroll.setFrameShape(QFrame.Shape.NoFrame)
        self.scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(6, 6, 6, 6)
        layout.addLayout(top)
        layout.addWidget(self.scroll, 1)
        self._render()

    def sizeHint(self) -> QSize:
        """Tall enough for the statements, a table of 5 to 10 classes and the notes."""
        return QSize(360, 330)

    # -- classifier choice -------------------------------------------------------------
    @property
    def classifier(self) -> str | None:
        """The selected classifier (bundled name, checkpoint path) or None (off)."""
        return self._classifier

    def set_installed(self, names: Iterable[str], checkpoint_dir: str | Path = "") -> None:
        """Which bundled classifiers are installed (the others are listed, disabled), and where they go."""
        self._installed = tuple(names)
        self._checkpoint_dir = str(checkpoint_dir)
        self._fill_combo()
        self.set_classifier(self._classifier)

    def set_classifier(self, classifier: str | Path | None) -> None:
        """Select ``classifier`` (None: off; a path is added to the list) without emitting."""
        value = None if classifier is None else str(classifier)
        index = self.classifier_combo.findData(_OFF if value is None else value)
        if index < 0:
            index = self.classifier_combo.count() - 1  # before "Load classifier checkpoint…"
            self.classifier_combo.insertItem(index, Path(str(value)).name, value)
            self.classifier_combo.setItemData(index, value, Qt.ItemDataRole.ToolTipRole)
        self._classifier = value
        self.classifier_combo.blockSignals(True)
        self.classifier_combo.setCurrentIndex(index)
        self.classifier_combo.blockSignals(False)
        self._render()

    def _fill_combo(self) -> None:
        combo = self.classifier_combo
        extra = [
            (combo.itemText(i), combo.itemData(i))
            for i in range(combo.count())
            if combo.itemData(i) not in (None, _OFF, _LOAD_SENTINEL)
            and combo.itemData(i) not in {n for _, n in CLASSIFIER_CHOICES}
        ]
        combo.blockSignals(True)
        combo.clear()
        model = combo.model()
        for label, name in CLASSIFIER_CHOICES:
            installed = name in self._installed
            combo.addItem(f"{label} ({name})" + ("" if installed else " — not installed"), name)
            if not installed:
                model.item(combo.count() - 1).setEnabled(False)
        combo.addItem(OFF_TEXT, _OFF)
        for text, data in extra:
            combo.addItem(text, data)
            combo.setItemData(combo.count() - 1, data, Qt.ItemDataRole.ToolTipRole)
        combo.insertSeparator(combo.count())
        combo.addItem(LOAD_CLASSIFIER, _LOAD_SENTINEL)
        combo.blockSignals(False)

    def _on_index(self, index: int) -> None:
        data = self.classifier_combo.itemData(index)
        if data == _LOAD_SENTINEL:
            path = self.file_dialog(self)
            if not path:
                self.set_classifier(self._classifier)  # back to the previous choice
                return
            self.set_classifier(path)
            self.classifierChanged.emit(str(path))
            return
        value = None if data in (_OFF, None) else str(data)
        if value != self._classifier:
            self._classifier = value
            self.clear()
            self.classifierChanged.emit(value)

    # -- state from the controller -----------------------------------------------------------
    def set_busy(self, busy: bool) -> None:
        """An analysis runs (the classification comes after the intervals)."""
        self._busy = busy
        if busy:
            self.error_label.hide()
        self._render()

    def set_progress(self, done: int, total: int) -> None:
        """Windows of the running classification done of total."""
        if self._result is None and self._classifier is not None:
            self.status_label.setText(f"Classifying… {done} / {total} window(s)")

    def set_result(self, result: ClassificationResult | None, meta: CheckpointMeta | None = None) -> None:
        """Show a classification (None: clear); ``meta`` (its checkpoint's metadata) feeds the note."""
        self._result = result
        if result is not None:
            self.error_label.hide()
        self._fill_table(result)
        note = ""
        if result is not None:
            about = training_summary(meta, result.model_name) if meta is not None else ""
            note = (
                f"<b>{DECISION_SUPPORT_NOTE.capitalize()}.</b> {about} "
                "Every statement must be checked by a clinician."
            )
        self.note_label.setText(note)
        self._render()

    def set_error(self, message: str | None) -> None:
        """Show why the classifier gave no result (the interval results are unaffected)."""
        if message:
            self._result = None
            self._fill_table(None)
            self.note_label.setText("")
        self.error_label.setText(message or "")
        self.error_label.setVisible(bool(message))
        self._render()

    def clear(self) -> None:
        """Drop the result and the error (the classifier choice stays)."""
        self._result = None
        self._fill_table(None)
        self.note_label.setText("")
        self.error_label.hide()
        self.error_label.setText("")
        self._render()

    # -- read-back (tests) ---------------------------------------------------------------------
    @property
    def result(self) -> ClassificationResult | None:
        """The classification shown."""
        return self._result

    def statements_text(self) -> str:
        """The statements line as shown (empty when there is no result)."""
        return self.statements_label.text() if self.statements_label.isVisibleTo(self) else ""

    def row_texts(self, name: str) -> dict[str, str]:
        """Texts of the row of class ``name``: ``{"class", "description", "probability", "threshold"}``."""
        for r in range(self.table.rowCount()):
            if self.table.item(r, 0).text() == name:
                bar = self.table.cellWidget(r, PROBABILITY_COLUMN)
                return {
                    "class": name,
                    "description": self.table.item(r, 1).text(),
                    "probability": bar.text(),
                    "threshold": self.table.item(r, 3).text(),
                }
        raise KeyError(name)

    def is_emphasised(self, name: str) -> bool:
        """True when the row of class ``name`` is shown as a statement (bold, highlighted)."""
        for r in range(self.table.rowCount()):
            item = self.table.item(r, 0)
            if item.text() == name:
                return item.font().bold()
        raise KeyError(name)

    # -- rendering ---------------------------------------------------------------------------------
    def _fill_table(self, result: ClassificationResult | None) -> None:
        classes = list(result.classes) if result is not None else []
        self.table.setRowCount(len(classes))
        for r, k in enumerate(classes):
            texts = (k.name, k.description, "", f"≥ {100 * k.threshold:.0f} %")
            for c, text in enumerate(texts):
                item = QTableWidgetItem(text)
                right = c == 3
                item.setTextAlignment(
                    (Qt.AlignmentFlag.AlignRight if right else Qt.AlignmentFlag.AlignLeft)
                    | Qt.AlignmentFlag.AlignVCenter
                )
                if k.stated:
                    item.setBackground(QBrush(QColor(POSITIVE_BG)))
                    item.setForeground(QBrush(QColor(POSITIVE_FG)))
                    if c == 0:
                        item.setFont(self._bold)
                elif k.note:  # above threshold, withheld by a coherence rule
                    item.setFont(self._italic)
                tip = f"{k.name}: {k.description}" if k.description else k.name
                item.setToolTip(f"{tip}\nabove threshold, not stated: {k.note}" if k.note else tip)
                self.table.setItem(r, c, item)
            bar = ProbabilityBar(k.probability, k.threshold, k.stated)
            if k.stated:
                bar.setStyleSheet(f"background: {POSITIVE_BG};")
                bar.setAutoFillBackground(True)
            self.table.setCellWidget(r, PROBABILITY_COLUMN, bar)
        self.table.resizeRowsToContents()
        height = self.table.horizontalHeader().sizeHint().height() + sum(
            self.table.rowHeight(r) for r in range(len(classes))
        )
        self.table.setFixedHeight(height + 2 * self.table.frameWidth())
        self.table.setVisible(bool(classes))

    def _render(self) -> None:
        result = self._result
        self.statements_label.setVisible(result is not None)
        if result is not None:
            stated = ", ".join(f"{n} ({100 * result[n].probability:.0f} %)" for n in result.statements)
            self.statements_label.setText(f"Statements: {stated or 'none above threshold'}")
        self.coherence_label.setText(classification_notes(result))
        self.coherence_label.setVisible(bool(self.coherence_label.text()))
        warning = classification_warning(result)
        self.warning_label.setText(f"⚠ {warning}" if warning else "")
        self.warning_label.setVisible(bool(warning))
        if result is not None:
            self.info_label.setText(
                f"Classifier <b>{result.model_name}</b> · version {model_version(result)} · "
                f"checkpoint: {result.checkpoint_status} · device {result.device} · "
                f"{result.n_windows} window(s), {result.elapsed_s:.2f} s"
            )
        else:
            self.info_label.setText("")
        self.info_label.setVisible(result is not None)
        self.note_label.setVisible(result is not None and bool(self.note_label.text()))
        self.status_label.setText(self._status_text())
        self.status_label.setVisible(bool(self.status_label.text()))

    def _status_text(self) -> str:
        if self._result is not None:
            return ""
        if self._classifier is None:
            if not self._installed:
                where = f" in {self._checkpoint_dir}" if self._checkpoint_dir else ""
                names = ", ".join(n for _, n in CLASSIFIER_CHOICES)
                return (
                    f"No classifier is installed: the bundled PTB-XL classifiers ({names}) are not{where}. "
                    "Load a classification checkpoint with Tools > Load classifier checkpoint…"
                )
            return "Classifier off: choose one above or in Tools > Classifier."
        if self.error_label.isVisibleTo(self):
            return ""
        if self._busy:
            return "Waiting for the interval analysis…"
        return "No classification yet: analyse the record (Tools > Analyze intervals)."
