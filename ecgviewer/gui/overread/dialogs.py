"""Small dialogs of the over-read: export path, reader name, relabel a class, the changed-record warning."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QInputDialog,
    QMessageBox,
    QWidget,
)


def ask_export_path(parent: QWidget, default: str) -> str | None:
    """Where to write the beat annotations (``<record>.<annotator>``, e.g. ``100.ecgv``)."""
    path, _ = QFileDialog.getSaveFileName(
        parent, "Export beat annotations (WFDB)", default, "WFDB annotations (*.ecgv);;All files (*)"
    )
    return path or None


def ask_reader_name(parent: QWidget, current: str) -> str | None:
    """The reader's name (kept with every edit)."""
    name, ok = QInputDialog.getText(
        parent, "Reader name", "Name kept with every over-read edit:", text=current
    )
    return name.strip() if ok and name.strip() else None


def _label_combo() -> QComboBox:
    from ecgviewer.core.overread import ARTEFACT, LABEL_DESCRIPTIONS, LABELS

    box = QComboBox()
    for label in LABELS:
        text = "artefact" if label == ARTEFACT else label
        box.addItem(f"{text} — {LABEL_DESCRIPTIONS[label]}", label)
    return box


def ask_relabel_class(parent: QWidget) -> tuple[str, str] | None:
    """``(old, new)``: relabel every beat of class ``old`` in the chosen range as ``new``."""
    from ecgviewer.core.overread import LABELS

    dialog = QDialog(parent)
    dialog.setWindowTitle("Relabel a class in the range")
    old, new = _label_combo(), _label_combo()
    old.setCurrentIndex(LABELS.index("V"))
    new.setCurrentIndex(LABELS.index("N"))
    form = QFormLayout(dialog)
    form.addRow("Beats labelled", old)
    form.addRow("become", new)
    buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
    buttons.accepted.connect(dialog.accept)
    buttons.rejected.connect(dialog.reject)
    form.addRow(buttons)
    if dialog.exec() != QDialog.DialogCode.Accepted:
        return None
    return str(old.currentData()), str(new.currentData())


def show_changed_warning(parent: QWidget, text: str, start_new: Callable[[], None]) -> QMessageBox:
    """A non-modal warning: the sidecar holds an over-read of other content (or cannot be read)."""
    box = QMessageBox(QMessageBox.Icon.Warning, "Over-read not applied", text, parent=parent)
    box.setInformativeText(
        "The old over-read is kept in its file. Start a new over-read to replace it at your next edit, "
        "or keep it (your edits are then not saved)."
    )
    new = box.addButton("Start a new over-read", QMessageBox.ButtonRole.AcceptRole)
    box.addButton("Keep the old file", QMessageBox.ButtonRole.RejectRole)
    box.setWindowModality(Qt.WindowModality.NonModal)
    box.setObjectName("overread_warning")
    box.buttonClicked.connect(lambda b: start_new() if b is new else None)
    box.show()
    return box
