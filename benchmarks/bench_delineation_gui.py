"""Viewer latency of the wave delineation: record painted -> its boundaries and headline on screen.

Opens the bundled sample once to start the model process and load the networks (not timed: the
viewer does this at start-up, ``AnalysisController.warm_up``), then opens 10 s 12-lead PTB-XL records
one after the other and measures, for each, the time from ``recordShown`` (the record is painted)
to the first ``analysisChanged`` that carries the delineation (the marks, the beat table and the
headline are drawn from it). Prints the median, the worst and the ratio to the 0.5 s target.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_delineation_gui.py``
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "resources" / "samples" / "ptbxl_00001_hr.hea"
TARGET_S = 0.5


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", type=Path, default=REPO.parent / "shared" / "data" / "ptb-xl" / "records500")
    p.add_argument("--records", type=int, default=8)
    args = p.parse_args(argv)

    from PySide6.QtCore import QEventLoop, QTimer
    from PySide6.QtWidgets import QApplication

    from ecgviewer.gui.main_window import MainWindow

    _app = QApplication.instance() or QApplication(sys.argv)  # kept alive while the window runs
    win = MainWindow()
    win.resize(1400, 900)
    win.show()
    marks: dict[str, float] = {}

    def shown(_record) -> None:
        marks["shown"] = time.perf_counter()

    def changed(analysis) -> None:
        if analysis is not None and analysis.delineation is not None and "done" not in marks:
            marks["done"] = time.perf_counter()

    win.recordShown.connect(shown)
    win.analysis.controller.analysisChanged.connect(changed)

    def open_and_wait(path: Path, timeout_s: float = 120.0) -> float:
        marks.clear()
        win.open_file(path)
        loop = QEventLoop()
        end = time.perf_counter() + timeout_s

        def poll() -> None:
            if ("done" in marks and "shown" in marks) or time.perf_counter() > end:
                loop.quit()

        timer = QTimer()
        timer.timeout.connect(poll)
        timer.start(5)
        loop.exec()
        timer.stop()
        if "done" not in marks or "shown" not in marks:
            raise RuntimeError(f"{path}: no delineation within {timeout_s} s")
        return max(0.0, marks["done"] - marks["shown"])  # a result before the paint waits for it

    open_and_wait(SAMPLE)  # start-up: model process, networks loaded
    files = sorted(args.data.rglob("*_hr.hea"))[: args.records]
    times = [open_and_wait(f) for f in files]
    med, worst = statistics.median(times), max(times)
    print(f"record painted -> boundaries on screen, {len(times)} PTB-XL 10 s 12-lead records")
    print(f"median {med * 1000:.0f} ms, worst {worst * 1000:.0f} ms; target {TARGET_S * 1000:.0f} ms")
    print(f"ratio median/target {med / TARGET_S:.2f}, worst/target {worst / TARGET_S:.2f}")
    sys.stdout.flush()
    os._exit(0)  # a benchmark: leave the model process and the worker threads to the OS


if __name__ == "__main__":
    raise SystemExit(main())
