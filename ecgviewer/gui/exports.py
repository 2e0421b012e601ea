"""File > Save view as PNG/SVG, Export report (PDF), measurements (CSV/JSON) and record (WFDB).

:func:`install_exports` is called once by the main window. Every export asks
for a path (``ExportsUi.ask_path``, replaceable in tests), gathers what it needs
on the GUI thread (the record, the controller's published
:class:`~ecgviewer.analysis.RecordAnalysis`, the settings; for the view
images the rendering of the widget, which Qt allows only there) and writes the
file on a worker thread (:class:`~ecgviewer.gui.workers.Worker`),
atomically (:mod:`ecgviewer.core.io_utils`). The PDF report is drawn on the
worker too: ``QPainter`` on a ``QPdfWriter`` needs no widget.

Signals
-------
exported(str, object)
    ``(kind, path)`` after a file was written (kinds: ``png``, ``svg``, ``pdf``,
    ``csv``, ``json``, ``wfdb``).
exportFailed(str)
    A user-facing message.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QObject, QRect, QSize, Signal
from PySide6.QtGui import QImage, QPainter
from PySide6.QtWidgets import QFileDialog, QMessageBox, QWidget

from ecgviewer.analysis import RecordAnalysis
from ecgviewer.core.io_utils import atomic_write_bytes
from ecgviewer.gui.workers import Worker
from ecgviewer.report.measurements import csv_text

if TYPE_CHECKING:
    from ecgviewer.gui.main_window import MainWindow

#: kind -> (dialog title, name filter, default suffix)
DIALOGS: dict[str, tuple[str, str, str]] = {
    "png": ("Save view as PNG", "PNG image (*.png)", ".png"),
    "svg": ("Save view as SVG", "SVG image (*.svg)", ".svg"),
    "pdf": ("Export report", "PDF report (*.pdf)", ".pdf"),
    "csv": ("Export measurements as CSV", "CSV (*.csv)", ".csv"),
    "json": ("Export measurements as JSON", "JSON (*.json)", ".json"),
    "wfdb": ("Export record as WFDB", "WFDB header (*.hea)", ".hea"),
}
#: Actions that need an open record.
RECORD_ACTIONS: tuple[str, ...] = ("save_svg", "export_report", "export_csv", "export_json", "export_wfdb")


def ask_save_path(parent: QWidget | None, title: str, directory: str, name_filter: str) -> str | None:
    """The save dialog; None when cancelled."""
    path, _ = QFileDialog.getSaveFileName(parent, title, directory, name_filter)
    return path or None


# -- worker functions (no widgets) --------------------------------------------------------
def write_png(image: QImage, path: str) -> Path:
    """Encode ``image`` as PNG and write it atomically."""
    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buf, "PNG"):
        raise OSError("the image could not be encoded as PNG")
    buf.close()
    return atomic_write_bytes(path, bytes(data.data()))


def write_bytes(data: bytes, path: str) -> Path:
    """Write ready bytes atomically."""
    return atomic_write_bytes(path, data)


def write_report(
    path: str,
    record,
    prediction,
    classical,
    options: dict[str, Any],
    classification=None,
    quality=None,
    withheld=None,
    extra: dict[str, Any] | None = None,
) -> Path:
    """Draw and write the PDF report (worker thread); ``extra``: the delineation (with the reader's
    edits) and the over-read, as :func:`ecgviewer.analysis.overread.report_arguments` gives them."""
    from ecgviewer.report.pdf import ReportOptions, render_report

    render_report(
        path,
        record,
        prediction,
        classical,
        ReportOptions(**options),
        classification,
        quality=quality,
        withheld=withheld,
        **(extra or {}),
    )
    return Path(path)


def write_measurements(path: str, doc: dict[str, Any], kind: str) -> Path:
    """Write one measurement document as JSON or as a one-row CSV (worker thread).

    ``doc`` is :meth:`ecgviewer.analysis.RecordAnalysis.document`, as ``ecgviewer analyze`` writes it.
    """
    text = json.dumps(doc, indent=2) + "\n" if kind == "json" else csv_text([doc])
    return atomic_write_bytes(path, text.encode("utf-8"))


def write_wfdb(record, path: str) -> Path:
    """Write the record as WFDB (worker thread); returns the header path."""
    from ecgviewer.core.writers import write_record

    return write_record(record, path, "wfdb")[-1]


def render_svg(widget: QWidget, title: str = "ECG view") -> bytes:
    """The widget drawn into an SVG document (GUI thread: widgets render only there)."""
    from PySide6.QtSvg import QSvgGenerator

    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    gen = QSvgGenerator()
    gen.setOutputDevice(buf)
    size = widget.size()
    gen.setSize(QSize(size.width(), size.height()))
    gen.setViewBox(QRect(0, 0, size.width(), size.height()))
    gen.setTitle(title)
    gen.setDescription("ecgviewer")
    painter = QPainter()
    if not painter.begin(gen):
        raise OSError("cannot start the SVG drawing")
    try:
        widget.render(painter)
    finally:
        painter.end()
    buf.close()
    return bytes(data.data())


class ExportsUi(QObject):
    """The export actions of one main window."""

    exported = Signal(str, object)
    exportFailed = Signal(str)

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.window = window
        #: ``ask_path(parent, title, directory, name_filter) -> path | None`` (replace in tests).
        self.ask_path: Callable[[QWidget | None, str, str, str], str | None] = ask_save_path
        self._jobs: dict[int, tuple[str, str]] = {}
        window.recordShown.connect(lambda _record: self._enable(True))
        self._enable(False)
        self._sync_checks()

    # -- state -------------------------------------------------------------------------
    def _enable(self, on: bool) -> None:
        for name in RECORD_ACTIONS:
            self.window.actions_by_name[name].setEnabled(on)

    def set_report_paper(self, paper: str) -> None:
        """File > Report paper (the actions' slot)."""
        self._set_setting("report_paper", paper)

    def set_report_layout(self, layout: str) -> None:
        """File > Report layout (the actions' slot)."""
        self._set_setting("report_layout", layout)

    def _set_setting(self, key: str, value: str) -> None:
        setattr(self.window.settings, key, value)
        self._sync_checks()

    def _sync_checks(self) -> None:
        s, a = self.window.settings, self.window.actions_by_name
        for paper in ("A4", "Letter"):
            a[f"report_paper_{paper.lower()}"].setChecked(s.report_paper == paper)
        for name in ("3x4", "6x2", "12x1"):
            a[f"report_layout_{name}"].setChecked(s.report_layout == name)

    def report_options(self) -> dict[str, Any]:
        """Options of a report of the current view: settings, speed, gain, filters, page shown."""
        w = self.window
        start = w.view.page_start_s if w.view.paged else 0.0
        return {
            "paper": w.settings.report_paper,
            "layout": w.settings.report_layout,
            "speed_mm_per_s": w.speed_mm_per_s,
            "gain_mm_per_mv": w.gain_mm_per_mv,
            "start_s": start,
            "filters": w.filters_text(),
        }

    def _analysis(self) -> RecordAnalysis:
        """The published analysis of the open record (an empty one when there is none yet)."""
        record = self.window.record
        analysis = self.window.analysis.controller.analysis
        return analysis if analysis is not None and analysis.record is record else RecordAnalysis(record)

    def _default_name(self, suffix: str) -> str:
        w = self.window
        folder = Path(w.settings.last_directory or ".")
        rec = w.record
        stem = "ecg"
        if rec is not None and rec.source_path is not None:
            p = Path(rec.source_path)
            stem = p.stem if p.suffix else p.name
        if suffix == ".hea":
            stem += "_export"
        return str(folder / f"{stem}{suffix}")

    # -- exports ----------------------------------------------------------------------------
    def export(self, kind: str, path: str | Path | None = None) -> bool:
        """Export ``kind`` (see :data:`DIALOGS`) to ``path`` (default: ask); False when nothing started."""
        title, name_filter, suffix = DIALOGS[kind]
        w = self.window
        if kind != "png" and w.record is None:
            self._failed("Open a record first")
            return False
        if path is None:
            path = self.ask_path(w, title, self._default_name(suffix), name_filter)
            if not path:
                return False
        path = str(path)
        if not Path(path).suffix:
            path += suffix
        try:
            fn, args = self._job(kind, path)
        except Exception as exc:  # e.g. rendering the SVG failed
            self._failed(f"Cannot export {kind.upper()}: {exc}")
            return False
        worker = Worker(fn, *args)
        self._jobs[worker.request_id] = (kind, path)
        # Slots of this QObject: delivered on the GUI thread (queued), connected before the start.
        worker.signals.finished.connect(self._on_finished)
        worker.signals.errored.connect(self._on_errored)
        worker.start()
        w.statusBar().showMessage(f"Writing {Path(path).name}…")
        return True

    @property
    def busy(self) -> bool:
        """True while an export is being written."""
        return bool(self._jobs)

    def _job(self, kind: str, path: str) -> tuple[Callable[..., Any], tuple]:
        w = self.window
        if kind == "png":
            return write_png, (w.view.grab().toImage(), path)
        if kind == "svg":
            return write_bytes, (render_svg(w.view, f"ECG view of {Path(path).stem}"), path)
        if kind == "wfdb":
            return write_wfdb, (w.record, path)
        a = self._analysis()
        if kind == "pdf":
            from ecgviewer.analysis.overread import report_arguments

            options = self.report_options()
            r = report_arguments(a)  # the delineation with the reader's edits, the over-read section
            return write_report, (
                path,
                w.display_record,
                a.prediction,
                a.classical,
                options,
                a.classification,
                a.quality,
                dict(a.withheld),
                r,
            )
        return write_measurements, (path, a.document(filters=w.filters_text()), kind)

    def _on_finished(self, request_id: int, out: object) -> None:
        kind, _path = self._jobs.pop(request_id, ("", ""))
        self.window.statusBar().showMessage(f"Saved {Path(str(out)).name}", 6000)
        self.exported.emit(kind, Path(str(out)))

    def _on_errored(self, request_id: int, exc: object) -> None:
        _kind, path = self._jobs.pop(request_id, ("", ""))
        self._failed(f"Cannot write {path}: {exc}")

    def _failed(self, message: str) -> None:
        self.window.statusBar().showMessage(message, 8000)
        if self.window.error_dialogs:
            QMessageBox.warning(self.window, "Export", message)
        self.exportFailed.emit(message)


def install_exports(window: MainWindow) -> ExportsUi:
    """Connect the File menu's export actions of ``window``."""
    return ExportsUi(window)
