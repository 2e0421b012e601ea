"""Throughput of ``ecgviewer analyze DIR --out OUT``: records per second, with and without PDF reports.

Usage::

    python benchmarks/bench_batch.py [--n 300] [--workers 2] [--device cpu] [--runs 1] [--markdown]

The input is a folder of ``--n`` real 10 s, 12-lead, 500 Hz PTB-XL records
(``../shared/data/ptb-xl/records500/00000``, copied to a temporary folder).
Each configuration runs the real command line in a fresh process, into a fresh
output folder:

* ``json,csv``: per-file JSON + ``measurements.csv`` (target >= 20 records/s);
* ``pdf,json,csv``: the same plus one PDF report per record (target >= 5 records/s).

*records/s* is the engine's own figure (records analysed / time from the start
of the run to its last output: includes starting the worker processes, excludes
``import torch`` and loading the model); *end-to-end* divides by the wall time of
the whole command. *CPU ms/record* (also the engine's figure) is the CPU time of
the main process (model, JSON, bookkeeping, start-up) plus that of the jobs in
the worker processes (reading, windows, classical measurement, PDF), per
record: what a record costs whatever else the machine is doing, so
``cores * 1000 / (CPU ms/record)`` bounds the rate on idle cores. The load average of the machine at
the start is printed, because the reference machine's two cores are shared.
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PTBXL = (
    Path(os.environ.get("ECGVIEWER_SHARED_DATA", REPO.parent / "shared" / "data")) / "ptb-xl/records500/00000"
)
TARGETS = {"json,csv": 20.0, "pdf,json,csv": 5.0}
_RATE = re.compile(r"\(([\d.]+) records/s, ([\d.]+) CPU ms/record\)")


def make_input(n: int, folder: Path) -> int:
    """Copy ``n`` PTB-XL records (cycling through the 300 if more are asked for) into ``folder``."""
    heads = sorted(PTBXL.glob("*_hr.hea"))
    if not heads:
        sys.exit(f"no PTB-XL records in {PTBXL}")
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        src = heads[i % len(heads)]
        name = f"r{i:05d}"
        text = src.read_text().replace(src.stem, name)
        (folder / f"{name}.hea").write_text(text)
        shutil.copyfile(src.with_suffix(".dat"), folder / f"{name}.dat")
    return n


def run_once(
    inp: Path, out: Path, reports: str, workers: int, device: str
) -> tuple[float, float, float, int]:
    """One fresh run: ``(engine records/s, end-to-end records/s, CPU ms/record, n analysed)``."""
    cmd = [sys.executable, "-m", "ecgviewer", "analyze", str(inp), "--out", str(out), "--report", reports]
    cmd += ["--workers", str(workers), "--device", device, "-q"]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    t = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, cwd=REPO, check=False)
    wall = time.perf_counter() - t
    if proc.returncode != 0:
        sys.exit(f"run failed ({proc.returncode}): {proc.stderr[-2000:]}")
    m = _RATE.search(proc.stderr)
    done = int(re.search(r"(\d+) analysed", proc.stderr).group(1))
    if m is None:
        sys.exit(f"no rate in the output: {proc.stderr[-2000:]}")
    return float(m.group(1)), done / wall, float(m.group(2)), done


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=300, help="records in the folder (default 300)")
    p.add_argument("--workers", type=int, default=2, help="--workers of the command (default 2)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--runs", type=int, default=1, help="runs per configuration; the median is shown")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    args = p.parse_args()
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"# {platform.node()} · {os.cpu_count()} CPUs · load average {load:.1f} · device {args.device} · "
        f"workers {args.workers} · {args.n} PTB-XL 10 s records",
        file=sys.stderr,
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="ecgviewer-bench-") as tmp:
        inp = Path(tmp) / "in"
        make_input(args.n, inp)
        for reports, target in TARGETS.items():
            rates, ends, cpus = [], [], []
            for k in range(args.runs):
                out = Path(tmp) / f"out-{reports.replace(',', '-')}-{k}"
                rate, end, cpu, done = run_once(inp, out, reports, args.workers, args.device)
                if done != args.n:
                    sys.exit(f"{reports}: {done} of {args.n} records analysed")
                rates.append(rate)
                ends.append(end)
                cpus.append(cpu)
                shutil.rmtree(out)
            rate, end, cpu = statistics.median(rates), statistics.median(ends), statistics.median(cpus)
            rows.append((reports, rate, end, cpu, target))
    if args.markdown:
        print(
            "| outputs | device | workers | records/s | end-to-end records/s | CPU ms/record | target | "
            "measured / target |"
        )
        print("|---|---|---|---|---|---|---|---|")
        for reports, rate, end, cpu, target in rows:
            print(
                f"| {reports} | {args.device} | {args.workers} | {rate:.1f} | {end:.1f} | {cpu:.0f} | "
                f">= {target:g} | {rate / target:.2f}x |"
            )
    else:
        for reports, rate, end, cpu, target in rows:
            print(
                f"{reports:14s} {rate:6.1f} records/s (end-to-end {end:5.1f}, {cpu:.0f} CPU ms/record); "
                f"target >= {target:g}: {rate / target:.2f}x"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
