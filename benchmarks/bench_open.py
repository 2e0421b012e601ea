"""Start-up and file-open latency of the viewer.

Measures, as a user would feel them:

1. process start -> first painted window (``ecgviewer`` with no file, a fresh
   Python process each run);
2. file open -> record painted, for a 10 s 12-lead PTB-XL record and a
   generated 1 h 8-lead 500 Hz WFDB record (tiled from real PTB-XL beats).

Each figure is the median of several runs; ratios against the targets are
printed, and ``--markdown`` prints the table for ``docs/benchmarks.md``.

Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_open.py``
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SAMPLE = REPO / "resources" / "samples" / "ptbxl_00001_hr.hea"
TARGETS_S = {"startup": 1.5, "open_10s": 0.150}


def bench_startup(runs: int) -> list[float]:
    """Seconds from process start to the first painted window, one fresh process per run."""
    env = dict(os.environ, ECGVIEWER_BENCH_FIRST_PAINT="1", QT_QPA_PLATFORM="offscreen")
    times = []
    for _ in range(runs):
        t0 = time.time()
        out = subprocess.run(
            [sys.executable, "-m", "ecgviewer"], env=env, capture_output=True, text=True, check=True
        ).stdout
        line = next(ln for ln in out.splitlines() if ln.startswith("first-paint "))
        times.append(float(line.split()[1]) - t0)
    return times


def make_long_record(folder: Path, hours: float = 1.0) -> Path:
    """Write an ``hours``-long 8-lead 500 Hz WFDB record (format 16) built from a real ECG."""
    import wfdb

    from ecgviewer.core import read_record
    from ecgviewer.core.leads import INDEPENDENT_LEADS

    src = read_record(SAMPLE)
    base = src.leads_array(list(INDEPENDENT_LEADS))  # (8, 5000), 10 s
    n = int(hours * 3600 * src.fs_hz)
    reps = int(np.ceil(n / base.shape[1]))
    rng = np.random.default_rng(0)
    sig = np.tile(base, reps)[:, :n] + rng.normal(0, 0.01, size=(8, n)).astype(np.float32)
    name = f"long_{hours:g}h"
    wfdb.wrsamp(
        name, fs=src.fs_hz, units=["mV"] * 8, sig_name=list(INDEPENDENT_LEADS),
        p_signal=sig.T.astype(np.float64), fmt=["16"] * 8, adc_gain=[1000.0] * 8,
        baseline=[0] * 8, write_dir=str(folder),
    )  # fmt: skip
    return folder / f"{name}.hea"


def bench_open(paths: dict[str, Path], runs: int) -> dict[str, dict[str, list[float]]]:
    """Per file: seconds from ``open_file`` (read in a worker) to the record painted."""
    from PySide6.QtWidgets import QApplication

    from ecgviewer.gui.main_window import MainWindow
    from ecgviewer.gui.settings import ViewerSettings

    app = QApplication.instance() or QApplication([])
    window = MainWindow(ViewerSettings(persist=False))
    window.analysis.panel.set_auto_analyze(False)  # time the display, not the model
    window.resize(1600, 1000)
    window.show()
    app.processEvents()
    results: dict[str, dict[str, list[float]]] = {}
    for label, path in paths.items():
        total = []
        for _ in range(runs + 1):  # the first run warms caches and lazy imports
            done = []
            window.recordShown.connect(lambda *a, d=done: d.append(time.perf_counter()))
            t0 = time.perf_counter()
            window.open_file(path)
            while not done:
                app.processEvents()
                time.sleep(0.0005)
            window.recordShown.disconnect()
            total.append(done[0] - t0)
        results[label] = {"open_to_painted": total[1:]}
    window.close()
    window.deleteLater()
    app.processEvents()
    return results


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--hours", type=float, default=1.0, help="length of the generated long record")
    ap.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = ap.parse_args()
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    startup = bench_startup(args.runs)
    with tempfile.TemporaryDirectory() as tmp:
        t = time.perf_counter()
        long_path = make_long_record(Path(tmp), args.hours)
        print(f"generated {long_path.name} in {time.perf_counter() - t:.1f} s", file=sys.stderr)
        opened = bench_open({"10 s 12-lead (PTB-XL)": SAMPLE, f"{args.hours:g} h 8-lead 500 Hz": long_path},
                            args.runs)  # fmt: skip

    rows = [("process start -> first painted window", statistics.median(startup), TARGETS_S["startup"])]
    for label, r in opened.items():
        target = TARGETS_S["open_10s"] if label.startswith("10 s") else None
        rows.append((f"open -> painted, {label}", statistics.median(r["open_to_painted"]), target))
    cmd = "QT_QPA_PLATFORM=offscreen .venv/bin/python benchmarks/bench_open.py"
    print(f"# {cmd}  ({platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"median of {args.runs})")  # fmt: skip
    if args.markdown:
        print("| measurement | median | target | ratio (target / measured) |")
        print("|---|---|---|---|")
    for name, value, target in rows:
        ratio = f"{target / value:.1f}x" if target else "-"
        tgt = f"< {target * 1000:.0f} ms" if target else "-"
        if args.markdown:
            print(f"| {name} | {value * 1000:.0f} ms | {tgt} | {ratio} |")
        else:
            print(f"{name:55s} {value * 1000:8.0f} ms   target {tgt:>9s}   ratio {ratio}")
    print(json.dumps({"startup_s": startup, **{k: v for k, v in opened.items()}}), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
