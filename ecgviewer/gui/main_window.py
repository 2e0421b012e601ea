"""The main window: menus and toolbar from the actions table, the ECG view, docks, status bar."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QEvent, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction
from PySide6.QtWidgets import QDockWidget, QFileDialog, QLabel, QMainWindow, QMessageBox

from ecgviewer.core.filters import FilterSettings
from ecgviewer.gui.action_wiring import connect_actions, create_actions
from ecgviewer.gui.analysis_ui import install_analysis
from ecgviewer.gui.caliper import Caliper
from ecgviewer.gui.dialogs import ShortcutsDialog
from ecgviewer.gui.dialogs import show_about as _show_about
from ecgviewer.gui.ecg_view import EcgView
from ecgviewer.gui.exports import install_exports
from ecgviewer.gui.info_panel import InfoPanel
from ecgviewer.gui.jobs import FiltersHz, ShortOpened, open_job
from ecgviewer.gui.longterm import LONG_TERM_MIN_S, PAGE_SIZES_S, LongTermMode
from ecgviewer.gui.menus import build_menus_and_toolbar, checked_filters, open_file_filter, sync_action_states
from ecgviewer.gui.modes import ModeContext, PaperMode, PaperSettings, ViewMode
from ecgviewer.gui.overread import install_overread
from ecgviewer.gui.settings import ViewerSettings
from ecgviewer.gui.workers import WorkerChannel
from ecgviewer.layout.choices import LAYOUT_NAMES

if TYPE_CHECKING:
    from ecgviewer.core.record import EcgRecord


class MainWindow(QMainWindow):
    """ecgviewer's main window.

    Parameters
    ----------
    settings
        Persistent settings (default: the user's, see :mod:`ecgviewer.gui.settings`).
    error_dialogs
        Show read errors in a message box (False for ``--screenshot``).
    isolate_models
        Run the networks in child processes (:mod:`ecgviewer.gui.model_process`): the interval
        model and the classifier in one that lives while the window does, the long-term beat
        pass in one per pass, so torch never enters this process. The ``ecgviewer`` program
        does; the default (False) keeps them on worker threads of this process.

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

    def __init__(
        self,
        settings: ViewerSettings | None = None,
        *,
        error_dialogs: bool = True,
        isolate_models: bool = False,
    ) -> None:
        super().__init__()
        self.settings = settings if settings is not None else ViewerSettings()
        self.error_dialogs = error_dialogs
        self.isolate_models = isolate_models
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
        self._loading_path: Path | None = None
        #: Records at least this long (s) open in the long-term view (overview, pages, beat pass).
        self.long_term_min_s = LONG_TERM_MIN_S

        self.actions_by_name = create_actions(self, self.view)
        self.recent_menu, self.toolbar = build_menus_and_toolbar(self)
        self._build_status_bar()
        self.info_dock.visibilityChanged.connect(self._info_visibility_changed)
        sync_action_states(self)
        self.info_dock.setVisible(self.settings.info_panel_visible)
        self.analysis = install_analysis(self)
        self.exports = install_exports(self)
        ctx = self._mode_context()
        #: The view modes: records read whole on paper, long records page by page.
        self.paper_mode = PaperMode(ctx, self)
        self.longterm = LongTermMode(ctx, self)
        #: The mode shown; every view operation goes to it.
        self.mode: ViewMode = self.paper_mode
        #: The reader's over-read: editors, undo/redo, the sidecar (Over-read menu).
        self.overread = install_overread(self)
        connect_actions(self, self.actions_by_name)
        self.view.setFocus()

    def _mode_context(self) -> ModeContext:
        return ModeContext(
            host=self,
            view=self.view,
            caliper=self.caliper,
            info_panel=self.info_panel,
            action=self.action,
            paper=lambda: PaperSettings(self._layout, self._speed, self._gain, self._filters),
            filters_text=self.filters_text,
            set_record=self._set_record,
            opened=self._on_opened,
            display_changed=self.displayChanged.emit,
            status=lambda message, ms: self.statusBar().showMessage(message, ms),
            set_cursor_text=self.cursor_label.setText,
        )

    # -- public API -----------------------------------------------------------------
    @property
    def record(self) -> EcgRecord | None:
        """The record as read (never modified); long records: the samples of the paper page shown."""
        return self._record

    @property
    def display_record(self) -> EcgRecord | None:
        """What is drawn: the record after the display filters."""
        return self._display

    @property
    def layout_name(self) -> str:
        """A layout of :data:`~ecgviewer.layout.choices.LAYOUT_NAMES` (``"3x4"``, ``"6x2"``, ``"12x1"``)."""
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
        older result is dropped. The file is opened once
        (:func:`~ecgviewer.gui.jobs.open_job`): records of :attr:`long_term_min_s`
        or more are shown by the long-term mode without being read whole.
        """
        path = Path(path)
        self._loading_path = path
        self.statusBar().showMessage(f"Opening {path.name}…")
        self._loader.submit(open_job, path, self._filters, self.long_term_min_s, PAGE_SIZES_S[0])

    def show_record(self, record: EcgRecord) -> None:
        """Show an in-memory record (as if it had been opened); display filters are applied."""
        self._on_loaded(ShortOpened(None, record, (None, None, None), record))

    def add_side_panel(self, widget, title: str) -> QDockWidget:
        """Dock ``widget`` in the right-hand panel area (reserved for measurement panels)."""
        dock = QDockWidget(title, self)
        dock.setObjectName(f"dock_{title.lower().replace(' ', '_')}")
        dock.setWidget(widget)
        self.addDockWidget(Qt.DockWidgetArea.RightDockWidgetArea, dock)
        return dock

    def set_layout(self, name: str) -> None:
        """Switch to a layout of :data:`~ecgviewer.layout.choices.LAYOUT_NAMES`."""
        if name not in LAYOUT_NAMES:
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
        """Set the display filters (None = off); the mode shown filters what it draws."""
        self._filters = (highpass_hz, notch_hz, lowpass_hz)
        self.settings.filters_hz = self._filters
        sync_action_states(self)
        self._update_mode_label()
        self.mode.set_filters()

    def apply_filter_actions(self, _value: object = None) -> None:
        """A filter action was toggled: the filters checked in the menu come into force."""
        self.set_filters(*checked_filters(self.actions_by_name))

    def filters_off(self) -> None:
        """Filters > All filters off."""
        self.set_filters(None, None, None)

    def page(self, direction: int) -> None:
        """The next (+1) or previous (-1) page of the mode shown (3x4 and 6x2: 10 s; 12x1: a 10 s pan)."""
        self.mode.step(direction)

    def zoom(self, factor: float) -> None:
        """Zoom in (factor > 1) or out (long-term view: the next shorter or longer page size)."""
        self.mode.zoom(factor)

    def reset_view(self) -> None:
        """Show the whole layout again (long-term view: the first page)."""
        self.mode.reset_view()

    def pan_time(self, direction: int) -> None:
        """Move a little later (+1) or earlier (-1): a fifth of the view (long-term view: a quarter page)."""
        self.mode.pan_time(direction)

    def pan_vertical(self, direction: int) -> None:
        """Move the view up (+1) or down (-1) by a fifth of its height."""
        self.view.pan(0, 0.2 * direction)

    def choose_classifier(self, name: str) -> None:
        """Tools > Classifier: a bundled classifier by name, or off (empty name)."""
        self.analysis.set_classifier(name or None)

    def toggle_info_panel(self, on: bool) -> None:
        """View > Record info panel."""
        self.info_dock.setVisible(on)
        self.settings.info_panel_visible = on

    def show_shortcuts(self) -> None:
        """Help > Keyboard shortcuts."""
        ShortcutsDialog(self).exec()

    def show_about(self) -> None:
        """Help > About."""
        _show_about(self)

    # -- loading ----------------------------------------------------------------------
    def _on_loaded(self, opened) -> None:
        if opened is None:
            return
        try:
            mode = self.paper_mode if isinstance(opened, ShortOpened) else self.longterm
            if mode is not self.mode:
                self.mode.leave()
                self.mode = mode
                mode.enter()
            mode.show(opened)
        except Exception as exc:  # a record the view cannot draw must not kill the app
            self._on_load_error(exc)

    def _set_record(self, record: EcgRecord | None, display: EcgRecord | None) -> None:
        """The mode shows other samples: they become :attr:`record` and :attr:`display_record`."""
        self._record, self._display = record, display
        controller = self.analysis.controller
        if record is not None and controller.record is not None and controller.record is not record:
            controller.clear()  # its results belong to samples no longer shown (strip pages keep them)

    def _on_opened(self, path: Path | None, detail: str, record: EcgRecord) -> None:
        self.note_opened(path, detail)
        self.overread.record_opened(path, self.longterm.record if self.mode is self.longterm else record)
        self.schedule_record_shown(record)

    def note_opened(self, path: Path | None, detail: str = "") -> None:
        """Title, status message and recent files after a record was opened from ``path``."""
        name = path.name if path else "record"
        self.setWindowTitle(f"{name} — ecgviewer")
        self.statusBar().showMessage(f"Opened {name}" + (f" ({detail})" if detail else ""), 4000)
        if path is not None:
            self.settings.add_recent_file(path)
            self.settings.last_directory = str(Path(path).resolve().parent)

    def _on_load_error(self, exc: BaseException) -> None:
        path = self._loading_path
        message = str(exc) if type(exc).__name__ == "EcgReadError" else f"{path}: {type(exc).__name__}: {exc}"
        self.statusBar().showMessage("Could not open the file", 6000)
        if path is not None and not path.exists():
            self.settings.remove_recent_file(path)
        if self.error_dialogs:
            QMessageBox.critical(self, "Cannot open file", message)
        self.loadFailed.emit(message)

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
        self.mode.redraw(reset_view)
        self.displayChanged.emit()

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
        self.cursor_label.setText("" if payload is None else self.mode.cursor_text(payload[2]))

    def _update_mode_label(self) -> None:
        self.mode_label.setText(
            f"{self._layout} · {self._speed:g} mm/s · {self._gain:g} mm/mV · {self.filters_text()}"
        )

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
        self.overread.shutdown()
        self.analysis.shutdown()
        self.paper_mode.shutdown()
        self.longterm.shutdown()
        self._loader.cancel()
        self.settings.sync()
        super().closeEvent(event)
