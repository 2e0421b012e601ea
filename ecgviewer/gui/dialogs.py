"""Small dialogs: keyboard shortcuts (built from the actions table), About, choosing a checkpoint file."""

from __future__ import annotations

from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QHeaderView,
    QMessageBox,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from ecgviewer import __version__
from ecgviewer.gui.actions import shortcut_rows


class ShortcutsDialog(QDialog):
    """Table of every action with a keyboard shortcut (from :data:`~ecgviewer.gui.actions.ACTIONS`)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Keyboard shortcuts")
        rows = shortcut_rows()
        self.table = QTableWidget(len(rows), 3, self)
        self.table.setHorizontalHeaderLabels(["Menu", "Action", "Keys"])
        for r, values in enumerate(rows):
            for c, value in enumerate(values):
                self.table.setItem(r, c, QTableWidgetItem(value))
        self.table.verticalHeader().hide()
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.table.horizontalHeader().setStretchLastSection(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, parent=self)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table)
        layout.addWidget(buttons)
        self.resize(560, 520)


def show_about(parent: QWidget | None) -> None:
    """The About box."""
    QMessageBox.about(
        parent,
        "About ecgviewer",
        f"<b>ecgviewer {__version__}</b><br>Open-source desktop ECG viewer (BSD-3-Clause).<br>"
        "Not a medical device: for research and education.",
    )


def ask_checkpoint_path(parent: QWidget | None) -> str | None:
    """Ask for a checkpoint file (``.safetensors`` or ``.json``); None when cancelled."""
    path, _ = QFileDialog.getOpenFileName(
        parent, "Load checkpoint", "", "Checkpoints (*.safetensors *.json);;All files (*)"
    )
    return path or None
