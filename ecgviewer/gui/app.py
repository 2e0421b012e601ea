"""QApplication set-up, ``run_gui`` (called by ``ecgviewer.cli``) and ``--screenshot``."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

from PySide6.QtCore import QEventLoop, QTimer
from PySide6.QtWidgets import QApplication

import ecgviewer
from ecgviewer.gui.main_window import MainWindow
from ecgviewer.gui.settings import APPLICATION, ORGANISATION, ViewerSettings
from ecgviewer.gui.workers import wait_for_workers
from ecgviewer.resources import sample_record

#: Set by ``benchmarks/bench_open.py``: print the time of the first paint and quit.
BENCH_FIRST_PAINT_ENV = "ECGVIEWER_BENCH_FIRST_PAINT"
#: Set to 1 to keep the networks in the viewer's own process (worker threads), as before
#: :mod:`ecgviewer.gui.model_process`: for debugging and profiling.
MODELS_IN_PROCESS_ENV = "ECGVIEWER_MODELS_IN_PROCESS"
#: Longest wait for a record to be read and drawn in ``--screenshot`` mode.
SCREENSHOT_TIMEOUT_MS = 120_000
#: Longest wait for the beat pass and the pyramid of a long record in ``--screenshot`` mode.
LONGTERM_SCREENSHOT_TIMEOUT_MS = 600_000


def sample_path() -> Path:
    """The bundled sample record (``resources/samples/ptbxl_00001_hr.hea``)."""
    return sample_record()


def application() -> QApplication:
    """The running QApplication, created (with ecgviewer's names) when there is none."""
    app = QApplication.instance()
    if app is None:
        app = QApplication([sys.argv[0] if sys.argv else "ecgviewer"])
    app.setOrganizationName(ORGANISATION)
    app.setApplicationName(APPLICATION)
    app.setApplicationVersion(ecgviewer.__version__)
    return app  # type: ignore[return-value]


def parse_size(text: str) -> tuple[int, int]:
    """``"1600x1000"`` -> ``(1600, 1000)``."""
    try:
        w, h = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(f"window size must look like 1600x1000, not {text!r}") from None
    if w < 200 or h < 150:
        raise ValueError(f"window size {text!r} is too small")
    return w, h


def apply_view_options(window: MainWindow, args) -> None:
    """Apply ``--layout/--speed/--gain/--model/--device`` for this run only (they are not saved)."""
    persist = window.settings.persist
    window.settings.persist = False
    try:
        if getattr(args, "layout", None):
            window.set_layout(args.layout)
        if getattr(args, "speed", None):
            window.set_speed(args.speed)
        if getattr(args, "gain", None):
            window.set_gain(args.gain)
        if getattr(args, "model", None):
            window.analysis.set_model(str(args.model))
        if getattr(args, "device", None):
            window.analysis.set_device(args.device)
    finally:
        window.settings.persist = persist


def isolate_models() -> bool:
    """True unless ``$ECGVIEWER_MODELS_IN_PROCESS`` is 1: the program runs its networks in child processes."""
    return os.environ.get(MODELS_IN_PROCESS_ENV, "") not in ("1", "true", "yes")


def _report_first_paint(app: QApplication, window: MainWindow) -> None:
    """Benchmark hook: paint now, print the wall-clock time, quit."""
    window.repaint()
    print(f"first-paint {time.time():.6f}", flush=True)
    app.quit()


def run_gui(args) -> int:
    """Open the viewer (or render a screenshot) as asked by the parsed command line.

    Parameters
    ----------
    args
        ``argparse.Namespace`` from :func:`ecgviewer.cli.gui_parser`: ``file``,
        ``screenshot``, ``layout``, ``speed``, ``gain``, ``size``.

    Returns
    -------
    int
        Exit code (0 on success).
    """
    if isolate_models():
        from ecgviewer.gui.model_process import return_freed_memory

        return_freed_memory()
    app = application()
    if getattr(args, "screenshot", None):
        return screenshot(app, args)
    window = MainWindow(ViewerSettings(), isolate_models=isolate_models())
    apply_view_options(window, args)
    window.resize(1400, 900)
    window.show()
    if os.environ.get(BENCH_FIRST_PAINT_ENV):
        QTimer.singleShot(0, lambda: _report_first_paint(app, window))
    if args.file:
        window.open_file(args.file)
    code = app.exec()
    wait_for_workers(10_000)
    return int(code)


def _wait_for_analysis(window: MainWindow, timeout_ms: int = SCREENSHOT_TIMEOUT_MS) -> None:
    """Let an analysis started on open finish, so the screenshot shows its measurements."""
    controller = window.analysis.controller
    if not controller.is_busy:
        return
    loop = QEventLoop()
    controller.busy.connect(lambda busy: None if busy else loop.quit())
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()


def _wait_for_longterm(window: MainWindow, timeout_ms: int = LONGTERM_SCREENSHOT_TIMEOUT_MS) -> None:
    """Long records: let the beat pass and the pyramid finish, so the overview and events show."""
    mode = window.mode
    if not mode.is_busy:
        return
    loop = QEventLoop()
    mode.idle.connect(loop.quit)
    QTimer.singleShot(timeout_ms, loop.quit)
    loop.exec()


def screenshot(app: QApplication, args) -> int:
    """Render the window with ``args.file`` (default: the bundled sample) into ``args.screenshot``."""
    try:
        width, height = parse_size(getattr(args, "size", None) or "1600x1000")
    except ValueError as exc:
        print(f"ecgviewer: error: {exc}", file=sys.stderr)
        return 2
    window = MainWindow(ViewerSettings(persist=False), error_dialogs=False, isolate_models=isolate_models())
    try:
        apply_view_options(window, args)
        window.resize(width, height)
        window.show()
        outcome: dict[str, object] = {}
        loop = QEventLoop()

        def done(key: str, value: object) -> None:
            outcome.setdefault(key, value)
            loop.quit()

        window.recordShown.connect(lambda record: done("record", record))
        window.loadFailed.connect(lambda message: done("error", message))
        QTimer.singleShot(SCREENSHOT_TIMEOUT_MS, lambda: done("error", "timed out reading the file"))
        window.open_file(args.file or sample_path())
        loop.exec()
        if "error" in outcome:
            print(f"ecgviewer: error: {outcome['error']}", file=sys.stderr)
            return 1
        _wait_for_longterm(window)
        _wait_for_analysis(window)
        app.processEvents()
        out = Path(args.screenshot)
        if not window.grab().save(str(out), "PNG"):
            print(f"ecgviewer: error: cannot write {out}", file=sys.stderr)
            return 1
        return 0
    finally:
        window.close()
        window.deleteLater()
        wait_for_workers(10_000)
