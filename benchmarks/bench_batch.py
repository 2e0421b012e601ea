"""Throughput of ``ecgviewer analyze DIR --out OUT``: records per second, with and without PDF reports.

Usage::

    python benchmarks/bench_batch.py [--n 300] [--workers 2] [--device cpu] [--runs 1] [--markdown]
        [--engine local|ray] [--ray-address ADDR] [--reports json,csv]
    python benchmarks/bench_batch.py --stages [--n 100]    # CPU per stage, in this process
    python benchmarks/bench_batch.py --no-delineation ...   # the same runs without the wave delineation

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

``--no-delineation`` passes ``--no-delineation`` to the command: the difference to a run without
it is what the wave delineation (the headline intervals) costs.

``--engine ray`` runs the same command with ``--engine ray`` (Ray embedded, ``--workers``
CPUs; with ``--ray-address``, on that running cluster). *after start* then divides by the run's
time less the engine's start (``ray.init`` and submitting the model actors): the rate a long run
approaches, the start being paid once per run.
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
_RATE = re.compile(r"\(([\d.]+) records/s, ([\d.]+) CPU ms/record")
_START = re.compile(r"started in ([\d.]+) s")
_ELAPSED = re.compile(r"failed in ([\d.]+) s")


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
    inp: Path,
    out: Path,
    reports: str,
    workers: int,
    device: str,
    engine: str = "local",
    address: str = "",
    extra: tuple[str, ...] = (),
) -> tuple[float, float, float, int, float]:
    """One fresh run: ``(records/s, end-to-end records/s, CPU ms/record, n analysed, after start)``."""
    cmd = [sys.executable, "-m", "ecgviewer", "analyze", str(inp), "--out", str(out), "--report", reports]
    cmd += ["--workers", str(workers), "--device", device, "-q", "--engine", engine, *extra]
    cmd += ["--ray-address", address] if address else []
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
    start = _START.search(proc.stderr)
    elapsed = float(_ELAPSED.search(proc.stderr).group(1))
    after = done / (elapsed - float(start.group(1))) if start else float(m.group(1))
    return float(m.group(1)), done / wall, float(m.group(2)), done, after


def stage_costs(n: int, folder: Path) -> list[tuple[str, float]]:
    """CPU ms per record of each batch stage, in this process, one thread: what one worker or actor pays."""
    sys.path.insert(0, str(REPO))  # this checkout's ecgviewer, not an installed one
    import torch

    from ecgviewer.analysis.batch import (
        InputFile,
        OutputSpec,
        delineate_records,
        predict_records,
        prepare_record_delineation,
        write_job,
    )
    from ecgviewer.analysis.pipeline import assess, classical_analysis
    from ecgviewer.core.readers import read_record
    from ecgviewer.inference.delineation import Delineator
    from ecgviewer.inference.predictor import Predictor
    from ecgviewer.inference.preprocess import prepare_windows

    torch.set_num_threads(1)
    heads = sorted(folder.glob("*.hea"))[:n]
    predictor = Predictor("resnet1d", device="cpu", batch_size=32).load()
    delineator = Delineator(device="cpu", batch_size=32).load()
    spec, delin_spec = predictor.input_spec(), delineator.spec()
    read_record(heads[0])  # imports
    stages = ("read", "windows", "quality", "classical", "delineation input", "model (batch 32)")
    stages += ("delineation network (batch 32)", "delineation boundaries", "JSON + state", "PDF")
    cost = dict.fromkeys(stages, 0.0)
    recs, wins, cls, quals, dins = [], [], [], [], []
    for h in heads:
        t = time.process_time()
        r = read_record(h)
        t1 = time.process_time()
        w = prepare_windows(r, **spec)
        t2 = time.process_time()
        q = assess(r)
        t3 = time.process_time()
        c = classical_analysis(r, q)
        t4 = time.process_time()
        di = prepare_record_delineation(r, delin_spec, q, c)
        t5 = time.process_time()
        cost["read"] += t1 - t
        cost["windows"] += t2 - t1
        cost["quality"] += t3 - t2
        cost["classical"] += t4 - t3
        cost["delineation input"] += t5 - t4
        recs.append(r)
        wins.append(w)
        cls.append(c)
        quals.append(q)
        dins.append(di)
    predict_records(predictor, None, [(w, None) for w in wins[:32]])  # warm-up
    delineator.probabilities_many(dins[:32])
    t = time.process_time()
    outs = []
    for i in range(0, len(wins), 32):
        outs += predict_records(predictor, None, [(w, None) for w in wins[i : i + 32]])
    cost["model (batch 32)"] = time.process_time() - t
    t = time.process_time()
    probs = []
    for i in range(0, len(dins), 32):
        probs += delineator.probabilities_many(dins[i : i + 32])
    cost["delineation network (batch 32)"] = time.process_time() - t
    t = time.process_time()
    delins = [delineator.finish(di, p) for di, p in zip(dins, probs)]
    cost["delineation boundaries"] = time.process_time() - t
    assert len(delineate_records(delineator, [(None, None, di) for di in dins[:2]], [None, None])) == 2
    outs = [(p, k, d) for (p, k, _), d in zip(outs, delins)]
    with tempfile.TemporaryDirectory() as tmp:
        named = {"delineator_id": {"name": "unet_delineation"}, "delineator_name": "unet_delineation"}
        out = OutputSpec(out_dir=tmp, per_file=("json",), **named)
        for h, r, c, q, (p, k, d) in zip(heads, recs, cls, quals, outs):
            t = time.process_time()
            write_job(InputFile(h, h.stem), out, r, c, p, k, q, d)
            cost["JSON + state"] += time.process_time() - t
        pdf = OutputSpec(out_dir=tmp, per_file=("pdf",), **named)
        m = min(20, len(heads))
        p0, k0, d0 = outs[0]
        write_job(InputFile(heads[0], "warm"), pdf, recs[0], cls[0], p0, k0, quals[0], d0)  # Qt and fonts
        t = time.process_time()
        for h, r, c, q, (p, k, d) in list(zip(heads, recs, cls, quals, outs))[:m]:
            write_job(InputFile(h, h.stem), pdf, r, c, p, k, q, d)
        cost["PDF"] = (time.process_time() - t) * len(heads) / m
    return [(k, 1000.0 * v / len(heads)) for k, v in cost.items()]


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=300, help="records in the folder (default 300)")
    p.add_argument("--workers", type=int, default=2, help="--workers of the command (default 2)")
    p.add_argument("--device", default="cpu", help="cpu or cuda (default cpu)")
    p.add_argument("--runs", type=int, default=1, help="runs per configuration; the median is shown")
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.add_argument("--engine", choices=("local", "ray"), default="local", help="--engine of the command")
    p.add_argument("--ray-address", default="", help="--ray-address of the command (a running cluster)")
    p.add_argument("--reports", default=";".join(TARGETS), help="configurations, ';'-separated")
    p.add_argument("--stages", action="store_true", help="CPU ms per record of each stage, in this process")
    p.add_argument("--no-delineation", action="store_true", help="run the command with --no-delineation")
    args = p.parse_args()
    if args.stages:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
        with tempfile.TemporaryDirectory(prefix="ecgviewer-bench-") as tmp:
            make_input(args.n, Path(tmp) / "in")
            rows = stage_costs(args.n, Path(tmp) / "in")
        print("| stage | CPU ms/record |\n|---|---|")
        for name, ms in rows:
            print(f"| {name} | {ms:.1f} |")
        return 0
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(
        f"# {platform.node()} · {os.cpu_count()} CPUs · load average {load:.1f} · device {args.device} · "
        f"workers {args.workers} · engine {args.engine} {args.ray_address} · "
        f"{'no delineation · ' if args.no_delineation else ''}"
        f"{args.n} PTB-XL 10 s records",
        file=sys.stderr,
    )
    rows = []
    with tempfile.TemporaryDirectory(prefix="ecgviewer-bench-") as tmp:
        inp = Path(tmp) / "in"
        make_input(args.n, inp)
        for reports in args.reports.split(";"):
            target = TARGETS.get(reports, float("nan"))
            rates, ends, cpus, afters = [], [], [], []
            for k in range(args.runs):
                out = Path(tmp) / f"out-{reports.replace(',', '-')}-{k}"
                extra = ("--no-delineation",) if args.no_delineation else ()
                rate, end, cpu, done, after = run_once(
                    inp, out, reports, args.workers, args.device, args.engine, args.ray_address, extra
                )
                if done != args.n:
                    sys.exit(f"{reports}: {done} of {args.n} records analysed")
                rates.append(rate)
                ends.append(end)
                cpus.append(cpu)
                afters.append(after)
                shutil.rmtree(out)
            med = statistics.median
            rows.append((reports, med(rates), med(ends), med(cpus), target, med(afters)))
    if args.markdown:
        print(
            "| engine | outputs | device | workers | records/s | after start | end-to-end records/s | "
            "CPU ms/record | target | measured / target |"
        )
        print("|---|---|---|---|---|---|---|---|---|---|")
        for reports, rate, end, cpu, target, after in rows:
            print(
                f"| {args.engine} | {reports} | {args.device} | {args.workers} | {rate:.1f} | {after:.1f} | "
                f"{end:.1f} | {cpu:.0f} | >= {target:g} | {rate / target:.2f}x |"
            )
    else:
        for reports, rate, end, cpu, target, after in rows:
            print(
                f"{args.engine} {reports:14s} {rate:6.1f} records/s (after start {after:5.1f}, end-to-end "
                f"{end:5.1f}, {cpu:.0f} CPU ms/record); target >= {target:g}: {rate / target:.2f}x"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
