"""The reader's review of the classifier's statements, and the free-text interpretation.

:class:`StatementReview` sits in the Classification panel under the statements. It lists
every class of the classifier with a check box, ticked when the class is stated -- by the
classifier, or by the reader when edited (a reader's choice shows ``✎`` and, in the tooltip, who
and when). Ticking a class the classifier did not state confirms it, unticking a stated one
rejects it (:class:`~ecgviewer.core.overread.StatementEdit`). The interpretation box keeps the
reader's text (:class:`~ecgviewer.core.overread.Interpretation`, committed when the box loses
the focus or after a pause in typing).

Signals
-------
statementToggled(str, bool)
    A class ticked (True) or unticked.
interpretationEdited(str)
    The interpretation text to keep.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QPlainTextEdit, QVBoxLayout, QWidget

if TYPE_CHECKING:
    from collections.abc import Mapping

    from ecgviewer.core.overread import StatementState
    from ecgviewer.inference.classifier import ClassificationResult

#: Pause in typing (ms) after which the interpretation is kept.
TYPING_PAUSE_MS = 1500
EDITED_MARK = "✎"
#: The list scrolls beyond this height (a classifier may have 26 classes), px.
LIST_MAX_PX = 130


class StatementReview(QWidget):
    """Check boxes for the statements and the interpretation box (see the module)."""

    statementToggled = Signal(str, bool)
    interpretationEdited = Signal(str)

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("StatementReview")
        self.title = QLabel(
            "<b>Reader's review</b> — tick the statements you confirm, untick those you reject"
        )
        self.title.setWordWrap(True)
        self.title.setStyleSheet("QLabel { color: #333; font-size: 8pt; }")
        self.list = QListWidget()
        self.list.setObjectName("statement_checks")
        self.list.setMaximumHeight(LIST_MAX_PX)
        self.list.itemChanged.connect(self._on_item)
        self.text = QPlainTextEdit()
        self.text.setObjectName("interpretation")
        self.text.setPlaceholderText("Interpretation (free text, kept with the over-read)")
        self.text.setFixedHeight(70)
        self.text.installEventFilter(self)
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(TYPING_PAUSE_MS)
        self._timer.timeout.connect(self.commit_text)
        self.text.textChanged.connect(self._timer.start)
        self._kept = ""
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 4, 0, 4)
        layout.addWidget(self.title)
        layout.addWidget(self.list)
        layout.addWidget(QLabel("Interpretation"))
        layout.addWidget(self.text)
        self._filling = False
        self.set_states(None, {}, "")

    # -- content ---------------------------------------------------------------------------------
    def set_states(
        self, result: ClassificationResult | None, states: Mapping[str, StatementState], interpretation: str
    ) -> None:
        """Show the classes of ``result`` with their over-read states, and the interpretation."""
        self._filling = True
        self.list.clear()
        descriptions = {} if result is None else {c.name: c.description for c in result.classes}
        for code, st in states.items():
            edited = st.provenance.get("source") == "edited"
            text = f"{code}  {descriptions.get(code, '')}".rstrip() + (f"  {EDITED_MARK}" if edited else "")
            item = QListWidgetItem(text)
            item.setData(Qt.ItemDataRole.UserRole, code)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Checked if st.stated else Qt.CheckState.Unchecked)
            comp = "stated" if st.computed else "not stated"
            tip = f"Classifier: {comp}."
            if edited:
                p = st.provenance
                tip += (
                    f" Reader: {'confirmed' if st.stated else 'rejected'} by {p.get('by')} at {p.get('at')}."
                )
            item.setToolTip(tip)
            self.list.addItem(item)
        self.list.setVisible(bool(states))
        self.title.setVisible(bool(states))
        self._filling = False
        if not self.text.hasFocus() and interpretation != self.text.toPlainText():
            self.text.blockSignals(True)
            self.text.setPlainText(interpretation)
            self.text.blockSignals(False)
        self._kept = interpretation

    def checked(self) -> dict[str, bool]:
        """``{code: ticked}`` as shown."""
        out = {}
        for i in range(self.list.count()):
            item = self.list.item(i)
            out[item.data(Qt.ItemDataRole.UserRole)] = item.checkState() == Qt.CheckState.Checked
        return out

    def item_of(self, code: str) -> QListWidgetItem:
        for i in range(self.list.count()):
            if self.list.item(i).data(Qt.ItemDataRole.UserRole) == code:
                return self.list.item(i)
        raise KeyError(code)

    # -- user --------------------------------------------------------------------------------------
    def _on_item(self, item: QListWidgetItem) -> None:
        if not self._filling:
            code = item.data(Qt.ItemDataRole.UserRole)
            self.statementToggled.emit(code, item.checkState() == Qt.CheckState.Checked)

    def commit_text(self) -> None:
        """Keep the interpretation typed so far (when it changed)."""
        self._timer.stop()
        text = self.text.toPlainText().strip()
        if text != self._kept.strip():
            self._kept = text
            self.interpretationEdited.emit(text)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if watched is self.text and event.type() == QEvent.Type.FocusOut:
            self.commit_text()
        return False
