"""Long-term (Holter) records: opening, the min/max pyramid, drawing queries, memory, beat pass.

Records measured:

* a generated 24 h, 8-lead, 500 Hz WFDB format-16 record (690 MB; ``ecgviewer.core.simulate``,
  seed 0), written once into ``--data-dir`` (default ``~/.cache/ecgviewer/bench``) and reused;
* the real long record in the shared data, MIT-BIH 208 (30 min, 2 leads, 360 Hz, format 212),
  from ``../shared/data`` beside the repository (or ``$ECGVIEWER_SHARED_DATA``).

Per record, in a fresh process (so the memory figures are its own): time to open
(``open_long_record``, wfdb already imported), pyramid build from a cold cache and load from the
warm cache, envelope queries at 1500 bins for spans of 10 s, 1 min, 10 min, 1 h and 24 h (median
over random positions and leads; "12-lead page" = the envelopes of every display lead, what
one frame of the 12-lead view needs, via ``envelopes``), and the peak resident memory (VmHWM) of the process.

The GUI figures (open -> first paint, pan/zoom frame times) come from :func:`bench_gui`, the
full beat pass from :func:`bench_beats`, the memory of the whole program from
:func:`bench_viewer_rss` (``/usr/bin/time -v ecgviewer FILE --screenshot OUT.png``: the window
with the analysis of the first page, the pyramid and the beat pass done).

Run: ``.venv/bin/python benchmarks/bench_longterm.py [--hours 24] [--markdown] [--qt]``; the beat pass
alone, without and with the QT/QTc delineation of every beat: ``... --beats-only``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ECGVIEWER_SHARED_DATA", REPO.parent / "shared" / "data"))
REAL_RECORD = SHARED / "mitdb-208" / "208.hea"
SPANS_S = {"10 s": 10, "1 min": 60, "10 min": 600, "1 h": 3600, "24 h": 86400}
N_BINS = 1500
TARGETS = {"first_paint_s": 1.0, "frame_ms": 33.0, "rss_mb": 500.0, "beat_pass_s": 120.0, "qt_trend_s": 180.0}


def generated_record(data_dir: Path, hours: float, seed: int = 0) -> Path:
    """The simulated record in ``data_dir``, written if missing (or incomplete)."""
    from ecgviewer.core.simulate import write_long_wfdb

    hea = data_dir / f"holter_{hours:g}h_seed{seed}.hea"
    dat = hea.with_suffix(".dat")
    if hea.exists() and dat.exists() and dat.stat().st_size == round(hours * 3600 * 500) * 8 * 2:
        return hea
    t0 = time.perf_counter()
    write_long_wfdb(hea.with_suffix(""), hours=hours, seed=seed)
    print(f"generated {hea} in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return hea


def _rss() -> dict[str, float]:
    """Current and peak resident memory of this process in MB (Linux /proc; else ru_maxrss)."""
    try:
        with open("/proc/self/status", encoding="ascii") as fh:
            fields = dict(line.split(":", 1) for line in fh)
        return {k: int(fields[k].split()[0]) / 1024 for k in ("VmRSS", "VmHWM")}
    except OSError:
        import resource

        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (
            1024 if sys.platform != "darwin" else 2**20
        )
        return {"VmRSS": peak, "VmHWM": peak}


def measure(path: Path, cache_dir: Path, queries: int) -> dict:
    """Open, build, load and query one record in this process (run it in a fresh one)."""
    import numpy as np
    import wfdb  # noqa: F401  (imported before timing: the viewer has it loaded by the time a file opens)

    from ecgviewer.core.pyramid import MinMaxPyramid, envelope, envelopes
    from ecgviewer.core.readers.registry import open_long_record, readers

    readers()  # the built-in readers are registered at start-up
    out: dict = {"rss_after_imports_mb": _rss()["VmRSS"]}
    t0 = time.perf_counter()
    rec = open_long_record(path)
    out["open_ms"] = (time.perf_counter() - t0) * 1000
    opens = []
    for _ in range(5):
        t0 = time.perf_counter()
        open_long_record(path)
        opens.append((time.perf_counter() - t0) * 1000)
    out["open_again_ms"] = statistics.median(opens)
    out.update(
        n_samples=rec.n_samples, fs_hz=rec.fs_hz, leads=len(rec.lead_names), display=len(rec.display_leads)
    )
    t0 = time.perf_counter()
    pyr = MinMaxPyramid.build(rec, cache_dir)
    out["build_s"] = time.perf_counter() - t0
    out["cache_mb"] = sum(p.stat().st_size for p in pyr.folder.iterdir()) / 2**20
    loads = []
    for _ in range(5):
        t0 = time.perf_counter()
        pyr = MinMaxPyramid.load_cached(rec, cache_dir)
        loads.append((time.perf_counter() - t0) * 1000)
    out["load_ms"] = statistics.median(loads)
    rng = np.random.default_rng(0)
    leads = rec.display_leads
    out["query_ms"], out["page_ms"] = {}, {}
    for label, span_s in SPANS_S.items():
        span = int(span_s * rec.fs_hz)
        if span > rec.n_samples:
            if label != "24 h":
                continue
            span, label = rec.n_samples, f"whole ({rec.duration_s / 60:.0f} min)"
        times = []
        for q in range(queries):
            a = int(rng.integers(0, rec.n_samples - span + 1))
            t0 = time.perf_counter()
            envelope(rec, leads[q % len(leads)], a, a + span, N_BINS, pyr)
            times.append((time.perf_counter() - t0) * 1000)
        pages = []
        for _ in range(max(queries // 5, 3)):
            a = int(rng.integers(0, rec.n_samples - span + 1))
            t0 = time.perf_counter()
            envelopes(rec, leads, a, a + span, N_BINS, pyr)
            pages.append((time.perf_counter() - t0) * 1000)
        out["query_ms"][label] = statistics.median(times)
        out["page_ms"][label] = statistics.median(pages)
    mem = _rss()
    out["rss_end_mb"], out["peak_rss_mb"] = mem["VmRSS"], mem["VmHWM"]
    return out


def bench_record(path: Path, queries: int) -> dict:
    """:func:`measure` in a fresh process, with a fresh (cold) pyramid cache."""
    cache = Path(tempfile.mkdtemp(prefix="ecgviewer-bench-pyramid-"))
    try:
        cmd = [
            sys.executable,
            __file__,
            "--child",
            str(path),
            "--cache",
            str(cache),
            "--queries",
            str(queries),
        ]
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    return json.loads(proc.stdout.strip().splitlines()[-1])


# ---------------------------------------------------------------------------------------------
# Filled in by the GUI engineer (D): open -> first paint and pan/zoom frame times of the long-term view.
def bench_gui(path: Path, runs: int = 3) -> dict | None:
    """Open-to-first-paint (s) and median pan/zoom frame time (ms) of the long-term GUI view.

    In this process, with a fresh pyramid cache (a temporary ``XDG_CACHE_HOME``) and the beat
    pass switched off (it runs in the background after the first paint; here only the display is
    timed). *first paint*: ``MainWindow.open_file`` (read in a worker) until the first page is
    painted (``recordShown``), median of ``runs`` opens after one warm-up open (lazy imports).
    *frames*: with the pyramid ready, a scripted session of 100 steps -- PgDown and quarter-page
    pans at every page size, +/- zooms through 10 s .. 1 h, jumps to random times (overview
    clicks) -- each timed from the key action until the new page is drawn and the page view has been
    painted (its next paint event done), with 40 ms between steps (a key repeat rate), so that
    prefetching can work.

    Returns ``{"first_paint_s", "frame_ms" (median), "frame_p95_ms", "frame_max_ms", "frames",
    "by_size_ms" (median per page size)}`` or None when not measured.
    """
    import numpy as np

    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QApplication

    from ecgviewer.gui.main_window import MainWindow
    from ecgviewer.gui.settings import ViewerSettings
    from ecgviewer.gui.workers import wait_for_workers

    app = QApplication.instance() or QApplication([])
    cache = Path(tempfile.mkdtemp(prefix="ecgviewer-bench-gui-"))
    old_cache = os.environ.get("XDG_CACHE_HOME")
    os.environ["XDG_CACHE_HOME"] = str(cache)
    window = MainWindow(ViewerSettings(persist=False), error_dialogs=False)
    try:
        window.analysis.panel.set_auto_analyze(False)  # time the display, not the interval model
        lt = window.longterm
        lt.auto_beats = False
        window.resize(1600, 1000)
        window.show()
        app.processEvents()

        def until(done, timeout_s: float = 600.0) -> None:
            t_end = time.perf_counter() + timeout_s
            while not done():
                if time.perf_counter() > t_end:
                    raise TimeoutError("the GUI did not answer in time")
                app.processEvents()
                time.sleep(0.0005)

        opens = []
        for _ in range(runs + 1):  # the first run pays for the lazy imports
            shown: list[float] = []
            window.recordShown.connect(lambda *_a, s=shown: s.append(time.perf_counter()))
            t0 = time.perf_counter()
            window.open_file(path)
            until(lambda s=shown: bool(s), 60.0)
            window.recordShown.disconnect()
            opens.append(shown[0] - t0)
        if not lt.active:
            print(f"bench_gui({path.name}): not opened in the long-term view", file=sys.stderr)
            return None
        until(lambda: lt.pyramid is not None)

        painted: list[bool] = []

        class PaintSpy(QObject):
            """Notes the first paint that shows the requested page (a paint may come in the same
            ``processEvents`` call that applies the page's samples, so the check is made here)."""

            def eventFilter(self, watched, event):
                if event.type() == QEvent.Type.Paint and lt.drawn_page() == lt.page:
                    painted.append(True)
                return False

        spy = PaintSpy()
        for page_view in (window.view, lt.strip):
            page_view.viewport().installEventFilter(spy)
        rng = np.random.default_rng(0)
        duration = lt.record.duration_s
        steps = [("step", 1)] * 20 + [("step", 0.25)] * 5
        for _ in range(4):  # 30 s, 1 min, 10 min, 1 h
            steps += [("zoom", 0.8)] + [("step", 1)] * 12 + [("step", 0.25)] * 3
        steps += [("zoom", 1.25)] * 4 + [("jump", float(t)) for t in rng.uniform(0, duration, 16)]
        steps = steps[:100]
        frames: list[tuple[float, float]] = []
        for kind, arg in steps:
            idle_until = time.perf_counter() + 0.040
            until(lambda t=idle_until: time.perf_counter() >= t)
            before = lt.page
            painted.clear()
            t0 = time.perf_counter()
            if kind == "step":
                lt.step(arg)
            elif kind == "zoom":
                lt.zoom(arg)
            else:
                lt.centre_on(arg)
            if lt.page == before:  # clamped at an end of the record: nothing to draw
                continue
            until(lambda: bool(painted), 30.0)  # the first paint with the new page's samples
            frames.append((lt.page.size_s, (time.perf_counter() - t0) * 1000))
        ms = np.array([f for _, f in frames])
        by_size = {
            f"{size:g} s": float(np.median([f for s, f in frames if s == size]))
            for size in sorted({s for s, _ in frames})
        }
        return {
            "first_paint_s": statistics.median(opens[1:]),
            "first_paint_runs_s": opens[1:],
            "frame_ms": float(np.median(ms)),
            "frame_p95_ms": float(np.percentile(ms, 95)),
            "frame_max_ms": float(ms.max()),
            "frames": len(frames),
            "by_size_ms": by_size,
        }
    finally:
        window.close()
        wait_for_workers(60_000)
        window.deleteLater()
        app.processEvents()
        if old_cache is None:
            os.environ.pop("XDG_CACHE_HOME", None)
        else:
            os.environ["XDG_CACHE_HOME"] = old_cache
        shutil.rmtree(cache, ignore_errors=True)


# Filled in by the beat-pass engineer (B): the full beat pass (detection + classification) over the record.
_BEATS_CHILD = """
import json, sys, time
from ecgviewer.core.readers.registry import open_long_record
from ecgviewer.inference.beats import BeatClassifier, run_beat_pass

clf = BeatClassifier("beatnet", device="cpu")
clf.load()  # torch import and weights: paid once at start-up, not by the pass
delineator = None
if len(sys.argv) > 2 and sys.argv[2] == "qt":  # the QT/QTc trend too: every beat delineated
    from ecgviewer.inference.delineation import Delineator
    delineator = Delineator(device="cpu", batch_size=16)
    delineator.load()
rec = open_long_record(sys.argv[1])
marks = {}
t0 = time.perf_counter()
def progress(done, total):
    if done >= rec.n_samples and "detection" not in marks:
        marks["detection"] = time.perf_counter()
    if done >= 2 * rec.n_samples and "classification" not in marks:
        marks["classification"] = time.perf_counter()
res = run_beat_pass(rec, clf, delineator=delineator, progress=progress)
t1 = time.perf_counter()
try:
    with open("/proc/self/status") as fh:
        hwm = [int(ln.split()[1]) / 1024 for ln in fh if ln.startswith("VmHWM")][0]
except OSError:  # not Linux: ru_maxrss (kB on Linux/BSD, bytes on macOS)
    import resource
    hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / (2**20 if sys.platform == "darwin" else 1024)
import torch
cls_end = marks.get("classification", t1)
trend = res.intervals
print(json.dumps({"beat_pass_s": t1 - t0, "detection_s": marks["detection"] - t0,
                  "classification_s": cls_end - marks["detection"], "delineation_s": t1 - cls_end,
                  "qt_leads": list(trend.leads) if trend else None,
                  "beats_with_qt": int(trend.measurable.sum()) if trend else None, "n_beats": res.n_beats,
                  "counts": res.counts(), "n_events": len(res.events), "peak_rss_mb": hwm,
                  "torch_threads": clf.threads or torch.get_num_threads()}))
"""


def bench_beats(path: Path, qt: bool = False) -> dict | None:
    """Seconds for the full beat pass over the record (``run_beat_pass``), peak RSS in MB.

    Runs in a fresh process with the bundled ``beatnet`` on the CPU (loaded before the clock
    starts); the pass reads the record chunk by chunk, so memory stays flat. Also returns the
    detection and classification parts, the number of beats and the class counts. With ``qt``
    the pass also delineates every beat with the bundled delineation network (the viewer's
    QT/QTc trend; loaded before the clock too): ``delineation_s`` is that part.

    Returns ``{"beat_pass_s": float, "peak_rss_mb": float, ...}`` or None when not measured.
    """
    try:
        proc = subprocess.run(
            [sys.executable, "-c", _BEATS_CHILD, str(path), "qt" if qt else "-"],
            capture_output=True,
            text=True,
            check=True,
        )
    except subprocess.CalledProcessError as exc:
        print(f"bench_beats({path.name}) failed:\n{exc.stderr[-2000:]}", file=sys.stderr)
        return None
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    print(
        f"bench_beats({path.name}{', qt' if qt else ''}): {out['beat_pass_s']:.1f} s "
        f"({out['detection_s']:.1f} s detection, {out['classification_s']:.1f} s classification, "
        f"{out['delineation_s']:.1f} s delineation), {out['n_beats']} beats {out['counts']}, "
        f"peak RSS {out['peak_rss_mb']:.0f} MB",
        file=sys.stderr,
    )
    return out


def _hwm_mb(pid: int) -> float | None:
    try:
        with open(f"/proc/{pid}/status", encoding="ascii") as fh:
            return next(int(ln.split()[1]) / 1024 for ln in fh if ln.startswith("VmHWM"))
    except (OSError, StopIteration):
        return None


def bench_viewer_rss(path: Path, timeout_s: float = 1200.0) -> dict | None:
    """Peak resident memory of ``ecgviewer FILE --screenshot OUT.png`` under ``/usr/bin/time -v``.

    The screenshot waits for the first page's analysis, the pyramid (a fresh cache: it is built)
    and the beat pass. ``max_rss_mb`` is GNU time's "Maximum resident set size": the largest of
    the process and its children (not their sum). Polling ``/proc`` every 0.1 s gives each
    process's own peak (VmHWM): ``viewer_peak_mb`` for the viewer, ``children_peak_mb`` for the
    model and beat-pass processes it starts (``ecgviewer.gui.model_process``), and
    ``sum_of_peaks_mb``, an upper bound of what they held at the same time.

    Returns None without GNU time (``/usr/bin/time``) or /proc.
    """
    gnu_time = Path("/usr/bin/time")
    if not gnu_time.exists() or not Path("/proc/self/status").exists():
        return None
    cache = Path(tempfile.mkdtemp(prefix="ecgviewer-bench-rss-"))
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen", XDG_CACHE_HOME=str(cache))
    shot = str(cache / "x.png")
    cmd = [str(gnu_time), "-v", sys.executable, "-m", "ecgviewer", str(path), "--screenshot", shot]
    t0 = time.perf_counter()
    from ecgviewer.analysis.lifeline import descendants

    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    peaks: dict[int, float] = {}
    viewer: int | None = None
    try:
        while proc.poll() is None:
            if time.perf_counter() - t0 > timeout_s:
                proc.kill()
                raise TimeoutError(f"ecgviewer --screenshot {path.name} took over {timeout_s:.0f} s")
            for pid in descendants(proc.pid):  # the first is the viewer (time's child)
                if viewer is None:
                    viewer = pid
                mb = _hwm_mb(pid)
                if mb is not None:
                    peaks[pid] = max(peaks.get(pid, 0.0), mb)
            time.sleep(0.1)
        err = proc.stderr.read() if proc.stderr else ""
    finally:
        shutil.rmtree(cache, ignore_errors=True)
    wall = time.perf_counter() - t0
    if proc.returncode != 0:
        print(f"bench_viewer_rss({path.name}) failed:\n{err[-2000:]}", file=sys.stderr)
        return None
    line = next(ln for ln in err.splitlines() if "Maximum resident set size" in ln)
    children = {pid: mb for pid, mb in peaks.items() if pid != viewer}
    out = {
        "max_rss_mb": int(line.split(":")[1]) / 1024,
        "viewer_peak_mb": peaks.get(viewer, float("nan")) if viewer is not None else float("nan"),
        "children_peak_mb": sorted(children.values(), reverse=True),
        "sum_of_peaks_mb": sum(peaks.values()),
        "wall_s": wall,
    }
    print(
        f"bench_viewer_rss({path.name}): /usr/bin/time max RSS {out['max_rss_mb']:.0f} MB; viewer "
        f"{out['viewer_peak_mb']:.0f} MB, children {[round(c) for c in out['children_peak_mb']]} MB; "
        f"{wall:.0f} s",
        file=sys.stderr,
    )
    return out


# ---------------------------------------------------------------------------------------------


def _fmt_row(cells: list[str], markdown: bool, widths: list[int]) -> str:
    if markdown:
        return "| " + " | ".join(cells) + " |"
    return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data-dir", type=Path, default=Path.home() / ".cache" / "ecgviewer" / "bench")
    ap.add_argument("--hours", type=float, default=24.0, help="length of the generated record")
    ap.add_argument("--queries", type=int, default=60, help="envelope queries per span")
    ap.add_argument("--no-real", action="store_true", help="skip the real record")
    ap.add_argument(
        "--rss-only", action="store_true", help="only the /usr/bin/time -v memory of the whole viewer"
    )
    ap.add_argument("--markdown", action="store_true", help="print Markdown tables")
    ap.add_argument(
        "--beats-only",
        action="store_true",
        help="only the beat pass, without and with the QT/QTc delineation",
    )
    ap.add_argument(
        "--qt", action="store_true", help="also time the beat pass with the QT/QTc delineation of every beat"
    )
    ap.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--cache", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.cache, args.queries)))
        return 0

    args.data_dir.mkdir(parents=True, exist_ok=True)
    records = {f"generated {args.hours:g} h, 8 leads, 500 Hz": generated_record(args.data_dir, args.hours)}
    if not args.no_real:
        if REAL_RECORD.exists():
            records["MIT-BIH 208, 30 min, 2 leads, 360 Hz (212)"] = REAL_RECORD
        else:
            print(f"real record {REAL_RECORD} not found; skipped", file=sys.stderr)
    if args.beats_only:
        rows = []
        for label, path in records.items():
            plain, with_qt = bench_beats(path), bench_beats(path, qt=True)
            if plain and with_qt:
                rows.append(
                    f"{label}: beat pass {plain['beat_pass_s']:.1f} s; with the QT/QTc delineation "
                    f"{with_qt['beat_pass_s']:.1f} s (delineation {with_qt['delineation_s']:.1f} s, leads "
                    f"{'/'.join(with_qt['qt_leads'] or [])}, {with_qt['beats_with_qt']} beats with a QT); "
                    f"ratio {with_qt['beat_pass_s'] / plain['beat_pass_s']:.2f}; target < "
                    f"{TARGETS['qt_trend_s']:.0f} s: {TARGETS['qt_trend_s'] / with_qt['beat_pass_s']:.1f}x"
                )
        print("\n".join(rows))
        return 0
    if args.rss_only:
        rss = {label: bench_viewer_rss(path) for label, path in records.items()}
        print(json.dumps(rss, indent=1))
        return 0
    results = {label: bench_record(path, args.queries) for label, path in records.items()}
    gui = {label: bench_gui(path) for label, path in records.items()}
    beats = {label: bench_beats(path) for label, path in records.items()}
    beats_qt = {label: bench_beats(path, qt=True) for label, path in records.items()} if args.qt else {}
    viewer_rss = {label: bench_viewer_rss(path) for label, path in records.items()}

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    machine = f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, load {load:.1f}"
    print(f"# .venv/bin/python benchmarks/bench_longterm.py --hours {args.hours:g}  ({machine})")
    for label, r in results.items():
        size_mb = r["n_samples"] * r["leads"] * 2 / 2**20
        print(f"\n## {label}: {r['n_samples']:,} samples x {r['leads']} leads ({r['display']} shown), "
              f"~{size_mb:.0f} MB as int16")  # fmt: skip
        g, b, v = gui[label], beats[label], viewer_rss[label]
        rows = [
            ("open (open_long_record)", f"{r['open_ms']:.1f} ms", "-", "-"),
            ("pyramid build, cold cache", f"{r['build_s']:.2f} s", "-", "-"),
            ("pyramid load, warm cache", f"{r['load_ms']:.1f} ms", "-", "-"),
            ("pyramid cache on disk", f"{r['cache_mb']:.0f} MB", "-", "-"),
        ]
        for span, ms in r["query_ms"].items():
            rows.append((f"envelope 1 lead, {span} at {N_BINS} bins", f"{ms:.2f} ms", "-", "-"))
        for span, ms in r["page_ms"].items():
            ratio = f"{TARGETS['frame_ms'] / ms:.0f}x" if ms > 0 else "-"
            rows.append((f"envelopes of all {r['display']} leads, {span}", f"{ms:.2f} ms", "< 33 ms", ratio))
        rows.append(
            ("peak RSS (open + build + queries)", f"{r['peak_rss_mb']:.0f} MB", "< 500 MB",
             f"{TARGETS['rss_mb'] / r['peak_rss_mb']:.1f}x")
        )  # fmt: skip
        if g:
            rows.append(("GUI open -> first paint", f"{g['first_paint_s']:.2f} s", "< 1 s",
                         f"{TARGETS['first_paint_s'] / g['first_paint_s']:.1f}x"))  # fmt: skip
            rows.append(("GUI pan/zoom frame (median)", f"{g['frame_ms']:.1f} ms", "< 33 ms",
                         f"{TARGETS['frame_ms'] / g['frame_ms']:.1f}x"))  # fmt: skip
        else:
            rows.append(("GUI open -> first paint / frames", "not measured yet", "< 1 s / < 33 ms", "-"))
        if b:
            rows.append(("beat pass", f"{b['beat_pass_s']:.1f} s", "< 120 s (24 h)",
                         f"{TARGETS['beat_pass_s'] / b['beat_pass_s']:.1f}x"))  # fmt: skip
        else:
            rows.append(("beat pass", "not measured yet", "< 120 s (24 h)", "-"))
        bq = beats_qt.get(label)
        if bq:
            value = f"{bq['beat_pass_s']:.1f} s (delineation {bq['delineation_s']:.1f} s)"
            rows.append(("beat pass with the QT/QTc delineation (--qt)", value, "< 180 s (24 h)",
                         f"{TARGETS['qt_trend_s'] / bq['beat_pass_s']:.1f}x"))  # fmt: skip
        if v:
            kids = "/".join(f"{c:.0f}" for c in v["children_peak_mb"]) or "-"
            ratio = f"{TARGETS['rss_mb'] / v['max_rss_mb']:.1f}x"
            rows.append(("whole viewer, /usr/bin/time -v max RSS (screenshot, beat pass done)",
                         f"{v['max_rss_mb']:.0f} MB", "< 500 MB", ratio))  # fmt: skip
            rows.append(("  viewer process / model and beat-pass processes (VmHWM)",
                         f"{v['viewer_peak_mb']:.0f} MB / {kids} MB", "< 500 MB each", "-"))  # fmt: skip
        header = ["measurement", "value", "target", "ratio (target / measured)"]
        widths = [max(len(str(x[i])) for x in [header, *rows]) for i in range(4)]
        print(_fmt_row(header, args.markdown, widths))
        if args.markdown:
            print("|---|---|---|---|")
        for row in rows:
            print(_fmt_row(list(row), args.markdown, widths))
    everything = {
        "records": results,
        "gui": gui,
        "beats": beats,
        "beats_qt": beats_qt,
        "viewer_rss": viewer_rss,
    }
    print(json.dumps(everything), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
