"""The main window: menus and toolbar from the actions table, the ECG view, docks, status bar."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox

from ecgviewer.core.filters import FilterSettings
from ecgviewer.gui import actions as action_table
from ecgviewer.gui.analysis_ui import install_analysis
from ecgviewer.gui.caliper import Caliper
from ecgviewer.gui.dialogs import ShortcutsDialog, show_about
from ecgviewer.gui.ecg_view import EcgView
from ecgviewer.gui.exports import install_exports
from ecgviewer.gui.info_panel import InfoPanel
from ecgviewer.gui.jobs import FiltersHz, filter_job, filtered_record, needs_background
from ecgviewer.gui.longterm import LONG_TERM_MIN_S, PAGE_SIZES_S, LongOpened, install_longterm, open_job
from ecgviewer.gui.menus import build_menus_and_toolbar, checked_filters, open_file_filter, sync_action_states
from ecgviewer.gui.settings import ViewerSettings
from ecgviewer.gui.workers import WorkerChannel

if TYPE_CHECKING:
    from ecgviewer.core.record import EcgRecord


def format_location(loc) -> str:
    """Crosshair readout, e.g. ``"II   t 1.234 s   0.52 mV"`` (empty outside the leads)."""
    if loc is None:
        return ""
    return f"{loc.lead}   t {loc.t_s:.3f} s   {loc.value:+.2f} {loc.unit}"


class MainWindow(QMainWindow):
    """ecgviewer's main window.

    Parameters
    ----------
    settings
        Persistent settings (default: the user's, see :mod:`ecgviewer.gui.settings`).
    error_dialogs
        Show read errors in a message box (False for ``--screenshot``).

    Signals
    -------
    recordShown(EcgRecord)
        After the first paint of a newly opened record.
    loadFailed(str)
        A file could not be opened (the message names file and reason).
    displayChanged()
        The drawing was rebuilt (layout, speed, gain, filters or page changed).
    """

    recordShown = Signal(object)
    loadFailed = Signal(str)
    displayChanged = Signal()

    def __init__(self, settings: ViewerSettings | None = None, *, error_dialogs: bool = True) -> None:
        super().__init__()
        self.settings = settings if settings is not None else ViewerSettings()
        self.error_dialogs = error_dialogs
        self.setWindowTitle("ecgviewer")
        self.setAcceptDrops(True)
        self._record: EcgRecord | None = None
        self._display: EcgRecord | None = None
        self._layout = self.settings.layout
        self._speed = self.settings.speed_mm_per_s
        self._gain = self.settings.gain_mm_per_mv
        self._filters: FiltersHz = self.settings.filters_hz
        self._pending_shown: EcgRecord | None = None

        self.view = EcgView(self)
        self.setCentralWidget(self.view)
        self.view.viewport().installEventFilter(self)
        self.caliper = Caliper(self.view)
        self.info_panel = InfoPanel(self)
        self.info_dock = QDockWidget("Record info", self)
        self.info_dock.setObjectName("info_dock")
        self.info_dock.setWidget(self.info_panel)
        self.addDockWidget(Qt.DockWidgetArea.LeftDockWidgetArea, self.info_dock)
        self.resizeDocks([self.info_dock], [290], Qt.Orientation.Horizontal)

        self._loader = WorkerChannel(self)
        self._loader.finished.connect(self._on_loaded)
        self._loader.errored.connect(self._on_load_error)
        self._filterer = WorkerChannel(self)
        self._filterer.finished.connect(self._on_filtered)
        self._filterer.errored.connect(self._on_filter_error)
        self._loading_path: Path | None = None
        #: Records at least this long (s) open in the long-term view (overview, pages, beat pass).
        self.long_term_min_s = LONG_TERM_MIN_S

        self.actions_by_name = action_table.create_actions(self, self.view)
        self.recent_menu, self.toolbar = build_menus_and_toolbar(self)
        self._build_status_bar()
        self._connect_actions()
        sync_action_states(self)
        self.info_dock.setVisible(self.settings.info_panel_visible)
        self.analysis = install_analysis(self)
        self.exports = install_exports(self)
        self.longterm = install_longterm(self)
        self.view.setFocus()

    # -- public API -----------------------------------------------------------------
    @property
    def record(self) -> EcgRecord | None:
        """The record as read (never modified)."""
        return self._record

    @property
    def display_record(self) -> EcgRecord | None:
        """What is drawn: the record after the display filters."""
        return self._display

    @property
    def layout_name(self) -> str:
        """``"3x4"`` or ``"12x1"``."""
        return self._layout

    @property
    def speed_mm_per_s(self) -> float:
        """Paper speed."""
        return self._speed

    @property
    def gain_mm_per_mv(self) -> float:
        """Gain."""
        return self._gain

    @property
    def filters_hz(self) -> FiltersHz:
        """``(highpass_hz, notch_hz, lowpass_hz)`` in force; None = off."""
        return self._filters

    @property
    def is_loading(self) -> bool:
        """True while a file is being read."""
        return self._loader.is_busy

    def action(self, name: str) -> QAction:
        """The ``QAction`` of an :data:`~ecgviewer.gui.actions.ACTIONS` entry."""
        return self.actions_by_name[name]

    def open_file(self, path: str | Path) -> None:
        """Read ``path`` off the GUI thread and show it (:attr:`recordShown` or :attr:`loadFailed` follows).

        A file opened while another is still being read replaces it; the
        older result is dropped. Records of :attr:`long_term_min_s` or more open
        in the long-term view (:mod:`ecgviewer.gui.longterm`) without being read whole.
        """
        path = Path(path)
        self._loading_path = path
        self.statusBar().showMessage(f"Opening {path.name}…")
        self._loader.submit(open_job, path, self._filters, self.long_term_min_s, PAGE_SIZES_S[0])

    def show_record(self, record: EcgRecord) -> None:
        """Show an in-memory record (as if it had been opened); display filters are applied."""
        self._on_loaded((record, (None, None, None), record))

    def add_side_panel(self, widget, title: str) -> QDockWidget:
        """Dock ``widget`` in the right-hand panel area (reserved for measurement panels)."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower().replace(' ', '_')}")
        dock.setWidget(widget)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        return dock

    def set_layout(self, name: str) -> None:
        """Switch to ``"3x4"`` or ``"12x1"``."""
        if name not in ("3x4", "12x1"):
            raise ValueError(f"unknown layout {name!r}")
        self._layout = self.settings.layout = name
        self._redraw(reset_view=True)

    def set_speed(self, speed_mm_per_s: float) -> None:
        """Paper speed, 25 or 50 mm/s."""
        self._speed = self.settings.speed_mm_per_s = float(speed_mm_per_s)
        self._redraw(reset_view=True)

    def set_gain(self, gain_mm_per_mv: float) -> None:
        """Gain, 5, 10 or 20 mm/mV."""
        self._gain = self.settings.gain_mm_per_mv = float(gain_mm_per_mv)
        self._redraw(reset_view=True)

    def set_filters(
        self, highpass_hz: float | None = None, notch_hz: float | None = None, lowpass_hz: float | None = None
    ) -> None:
        """Set the display filters (None = off); long records are filtered off the GUI thread."""
        self._filters = (highpass_hz, notch_hz, lowpass_hz)
        self.settings.filters_hz = self._filters
        sync_action_states(self)
        self._update_mode_label()
        rec = self._record
        if self.longterm.active:
            self.longterm.set_filters()
            return
        if rec is None:
            return
        if needs_background(rec):
            self.statusBar().showMessage("Filtering…")
            self._filterer.submit(filter_job, rec, self._filters)
        else:
            self._filterer.cancel()
            self._on_filtered((rec, self._filters, filtered_record(rec, self._filters)))

    def page(self, direction: int) -> None:
        """Show the next (+1) or previous (-1) 10 s: a new page in 3x4, a pan in 12x1 (long-term: a page)."""
        if self.longterm.active:
            self.longterm.step(direction)
        elif self._layout == "3x4":
            before = self.view.page_start_s
            self.view.set_page(before + 10.0 * direction)
            if self.view.page_start_s != before:
                self.caliper.clear()
                self.displayChanged.emit()
        else:
            self.view.vb.translateBy(x=10.0 * self._speed * direction)

    # -- loading ----------------------------------------------------------------------
    def _on_loaded(self, result) -> None:
        try:
            if isinstance(result, LongOpened):
                self.caliper.clear()
                self.longterm.show_long(result)
            else:
                self.longterm.leave()
                self._show_loaded(*result)
        except Exception as exc:  # a record the view cannot draw must not kill the app
            self._on_load_error(exc)

    def _show_loaded(self, record: EcgRecord, filters: FiltersHz, display: EcgRecord) -> None:
        self._record, self._display = record, display
        self.caliper.clear()
        self.view.show_record(display, self._layout, self._speed, self._gain, page_start_s=0.0)
        self._update_info()
        self.note_opened(record.source_path)
        self.schedule_record_shown(record)
        if filters != self._filters:
            self.set_filters(*self._filters)

    def note_opened(self, path: Path | None, detail: str = "") -> None:
        """Title, status message and recent files after a record was opened from ``path``."""
        name = path.name if path else "record"
        self.setWindowTitle(f"{name} — ecgviewer")
        self.statusBar().showMessage(f"Opened {name}" + (f" ({detail})" if detail else ""), 4000)
        if path is not None:
            self.settings.add_recent_file(path)
            self.settings.last_directory = str(Path(path).resolve().parent)

    def set_page_record(self, record: EcgRecord | None, display: EcgRecord | None) -> None:
        """Long-term view: the page drawn becomes :attr:`record` and :attr:`display_record`."""
        self._record, self._display = record, display

    def _on_load_error(self, exc: BaseException) -> None:
        path = self._loading_path
        message = str(exc) if type(exc).__name__ == "EcgReadError" else f"{path}: {type(exc).__name__}: {exc}"
        self.statusBar().showMessage("Could not open the file", 6000)
        if path is not None and not path.exists():
            self.settings.remove_recent_file(path)
        if self.error_dialogs:
            QMessageBox.critical(self, "Cannot open file", message)
        self.loadFailed.emit(message)

    def _on_filtered(self, result) -> None:
        record, filters, display = result
        if record is not self._record or filters != self._filters:
            return
        self._display = display
        self.statusBar().clearMessage()
        self.view.show_record(display, reset_view=False)
        self._update_info()
        self.displayChanged.emit()

    def _on_filter_error(self, exc: BaseException) -> None:
        self.statusBar().showMessage(f"Filtering failed: {exc}", 6000)

    def schedule_record_shown(self, record: EcgRecord) -> None:
        """Emit :attr:`recordShown` with ``record`` after the next paint of the view."""
        self._pending_shown = record
        if self.isVisible():
            self.view.viewport().update()
        else:
            QTimer.singleShot(0, self._emit_record_shown)

    def _emit_record_shown(self) -> None:
        record, self._pending_shown = self._pending_shown, None
        if record is not None:
            self.recordShown.emit(record)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Paint and self._pending_shown is not None:
            QTimer.singleShot(0, self._emit_record_shown)
        return super().eventFilter(watched, event)

    def _redraw(self, reset_view: bool) -> None:
        sync_action_states(self)
        self._update_mode_label()
        self.caliper.clear()
        if self.longterm.active:
            self.longterm.redraw()
        elif self._display is not None:
            self.view.show_record(self._display, self._layout, self._speed, self._gain, reset_view=reset_view)
        else:
            self.view.show_record(None, self._layout, self._speed, self._gain)
        self.displayChanged.emit()

    def _update_info(self) -> None:
        self.info_panel.set_record(self._record, self.filters_text())

    def filters_text(self) -> str:
        """The display filters in force, e.g. ``"HP 0.5 Hz, notch 50 Hz"``."""
        fs = self._record.fs_hz if self._record is not None else None
        return FilterSettings(*self._filters).describe(fs)

    # -- drag and drop ----------------------------------------------------------------
    def dragEnterEvent(self, event) -> None:
        if any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event) -> None:
        self.dragEnterEvent(event)

    def dropEvent(self, event) -> None:
        files = [u.toLocalFile() for u in event.mimeData().urls() if u.isLocalFile()]
        if files:
            event.acceptProposedAction()
            self.open_file(files[0])
        else:
            event.ignore()

    # -- UI construction ----------------------------------------------------------------
    def _build_status_bar(self) -> None:
        self.cursor_label = QLabel("")
        self.caliper_label = QLabel("")
        self.mode_label = QLabel("")
        for label in (self.cursor_label, self.caliper_label, self.mode_label):
            self.statusBar().addPermanentWidget(label)
        self.cursor_label.setMinimumWidth(260)
        self._update_mode_label()
        self.view.cursorMoved.connect(self._on_cursor_moved)
        self.caliper.measured.connect(lambda m: self.caliper_label.setText(f"Caliper: {m.describe()}"))
        self.caliper.cleared.connect(lambda: self.caliper_label.setText(""))

    def _on_cursor_moved(self, payload) -> None:
        if payload is None:
            self.cursor_label.setText("")
        elif self.longterm.active:
            self.cursor_label.setText(self.longterm.format_location(payload[2]))
        else:
            self.cursor_label.setText(format_location(payload[2]))

    def _update_mode_label(self) -> None:
        self.mode_label.setText(
            f"{self._layout} · {self._speed:g} mm/s · {self._gain:g} mm/mV · {self.filters_text()}"
        )

    def _connect_actions(self) -> None:
        a = self.actions_by_name
        a["open"].triggered.connect(self.open_dialog)
        a["save_png"].triggered.connect(self.save_png_dialog)
        a["quit"].triggered.connect(self.close)
        for spec in action_table.ACTIONS:
            act = a[spec.name]
            if spec.group == "layout":
                act.triggered.connect(lambda _=False, v=spec.value: self.set_layout(v))
            elif spec.group == "speed":
                act.triggered.connect(lambda _=False, v=spec.value: self.set_speed(v))
            elif spec.group == "gain":
                act.triggered.connect(lambda _=False, v=spec.value: self.set_gain(v))
            elif spec.group and spec.group.startswith("?"):
                act.triggered.connect(lambda: self.set_filters(*checked_filters(self.actions_by_name)))
        a["filters_off"].triggered.connect(lambda: self.set_filters(None, None, None))
        a["zoom_in"].triggered.connect(lambda: self.zoom(1.25))
        a["zoom_out"].triggered.connect(lambda: self.zoom(0.8))
        a["reset_view"].triggered.connect(self.reset_view)
        a["pan_left"].triggered.connect(lambda: self.pan_time(-1))
        a["pan_right"].triggered.connect(lambda: self.pan_time(1))
        a["pan_up"].triggered.connect(lambda: self.view.pan(0, 0.2))
        a["pan_down"].triggered.connect(lambda: self.view.pan(0, -0.2))
        a["page_prev"].triggered.connect(lambda: self.page(-1))
        a["page_next"].triggered.connect(lambda: self.page(1))
        a["show_info"].toggled.connect(self._toggle_info)
        self.info_dock.visibilityChanged.connect(self._info_visibility_changed)
        a["caliper"].toggled.connect(self.caliper.set_enabled)
        a["clear_caliper"].triggered.connect(self.caliper.clear)
        a["shortcuts"].triggered.connect(lambda: ShortcutsDialog(self).exec())
        a["about"].triggered.connect(lambda: show_about(self))

    def zoom(self, factor: float) -> None:
        """Zoom the view (long-term view: ``factor > 1`` the next shorter page size, else the next longer)."""
        if self.longterm.active:
            self.longterm.zoom(factor)
        else:
            self.view.zoom(factor)

    def reset_view(self) -> None:
        """Show the whole layout again (long-term view: the first page)."""
        if self.longterm.active:
            self.longterm.reset_view()
        else:
            self.view.reset_view()

    def pan_time(self, direction: int) -> None:
        """Move a fifth of the view later (+1) or earlier (-1) (long-term view: a quarter page)."""
        if self.longterm.active:
            self.longterm.step(direction * self.longterm.pan_fraction)
        else:
            self.view.pan(0.2 * direction, 0)

    def _toggle_info(self, on: bool) -> None:
        self.info_dock.setVisible(on)
        self.settings.info_panel_visible = on

    def _info_visibility_changed(self, visible: bool) -> None:
        if not self.isHidden():  # ignore the hide that comes with closing the window
            self.actions_by_name["show_info"].setChecked(visible)

    def open_dialog(self) -> None:
        """File > Open: choose a file with the formats of the reader registry."""
        path, _ = QFileDialog.getOpenFileName(
            self, "Open ECG", self.settings.last_directory, open_file_filter()
        )
        if path:
            self.open_file(path)

    def save_png_dialog(self) -> None:
        """File > Save view as PNG (written atomically on a worker thread)."""
        self.exports.export("png")

    def closeEvent(self, event) -> None:
        self.analysis.shutdown()
        self.longterm.shutdown()
        self._loader.cancel()
        self._filterer.cancel()
        self.settings.sync()
        super().closeEvent(event)
