"""CPU benchmark of the interval models: batch-1 latency, batch-64 throughput, load time.

Usage::

    python benchmarks/bench_inference.py [--runs 50] [--threads N] [--markdown]

Latency is the median of ``--runs`` forward passes on one 10 s, 8-lead, 500 Hz
record (after warm-up); throughput is records/s at batch 64; load time is the
median of 5 ``load_checkpoint`` calls on the bundled files (JSON + safetensors +
sha256 + validation, torch already imported; the cold ``import torch`` time is
printed separately); ``predict() ms`` is :meth:`Predictor.predict` end to end on one
10 s record (lead selection, scaling, network, result). Targets: ResNet batch-1 latency < 30 ms, load < 0.5 s.
"""

from __future__ import annotations

import argparse
import platform
import shlex
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LATENCY_TARGET_MS = 30.0
LOAD_TARGET_S = 0.5


def _time(fn, runs: int, sync=lambda: None) -> list[float]:
    out = []
    for _ in range(runs):
        t = time.perf_counter()
        fn()
        sync()
        out.append(time.perf_counter() - t)
    return out


def bench(name: str, runs: int, device: str = "cpu") -> dict[str, float]:
    """Benchmark one bundled checkpoint on ``device`` (``cpu``, ``cuda``, ...)."""
    import torch

    sync = torch.cuda.synchronize if device.startswith("cuda") else (lambda: None)

    from ecgviewer.inference.predictor import checkpoint_dir
    from ecgviewer.models.checkpoint import load_checkpoint

    path = checkpoint_dir() / name
    load_s = statistics.median(_time(lambda: load_checkpoint(path), 5))
    ck = load_checkpoint(path)
    model = ck.model.to(device)
    n_params = sum(p.numel() for p in model.parameters())
    x1 = torch.randn(1, len(ck.meta.input_leads), ck.meta.window_samples)
    x64 = torch.randn(64, *x1.shape[1:]).to(device)
    x1_dev = x1.to(device)
    with torch.inference_mode():
        for _ in range(5):
            model(x1_dev)
        sync()
        lat_ms = statistics.median(_time(lambda: model(x1_dev), runs, sync)) * 1000
        model(x64)
        sync()
        t64 = statistics.median(_time(lambda: model(x64), max(3, runs // 10), sync))
    from ecgviewer.core.leads import INDEPENDENT_LEADS
    from ecgviewer.core.record import EcgRecord
    from ecgviewer.inference.predictor import Predictor

    rec = EcgRecord(x1[0].numpy(), 500.0, INDEPENDENT_LEADS, ("mV",) * 8)
    pred = Predictor(name, device=device).load()
    pred.predict(rec)
    e2e_ms = statistics.median(_time(lambda: pred.predict(rec), max(5, runs // 5))) * 1000
    return {
        "params": n_params,
        "latency_ms": lat_ms,
        "e2e_ms": e2e_ms,
        "throughput": 64 / t64,
        "load_s": load_s,
        "size_kb": path.with_suffix(".safetensors").stat().st_size / 1024,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark and print a table (plain or Markdown)."""
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--runs", type=int, default=50, help="batch-1 forward passes to time (default 50)")
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--models", nargs="+", default=["resnet1d", "vit1d"])
    p.add_argument("--markdown", action="store_true", help="print a Markdown table")
    p.add_argument("--device", default="cpu", help="cpu (default), cuda, mps or auto")
    args = p.parse_args(argv)
    t0 = time.perf_counter()
    import torch

    import_s = time.perf_counter() - t0
    if args.threads:
        torch.set_num_threads(args.threads)
    cmd = "python " + " ".join(shlex.quote(a) for a in [str(Path(sys.argv[0])), *(argv or sys.argv[1:])])
    print(f"command: {cmd}")
    cpu = platform.processor() or platform.machine()
    print(
        f"torch {torch.__version__}, {torch.get_num_threads()} threads, {cpu}, "
        f"python {platform.python_version()}; import torch took {import_s:.2f} s"
    )
    from ecgviewer.inference.predictor import select_device

    device = select_device(args.device)
    if device.startswith("cuda"):
        print(f"device: {torch.cuda.get_device_name(0)}")
    rows = [(m, bench(m, args.runs, device)) for m in args.models]
    head = [
        "model",
        "params",
        "file KB",
        "batch-1 ms",
        "vs 30 ms",
        "predict() ms",
        "batch-64 rec/s",
        "load s",
        "vs 0.5 s",
    ]
    lines = [
        [
            m,
            f"{r['params']:,}",
            f"{r['size_kb']:.0f}",
            f"{r['latency_ms']:.2f}",
            f"{r['latency_ms'] / LATENCY_TARGET_MS:.2f}x",
            f"{r['e2e_ms']:.2f}",
            f"{r['throughput']:.0f}",
            f"{r['load_s']:.3f}",
            f"{r['load_s'] / LOAD_TARGET_S:.2f}x",
        ]
        for m, r in rows
    ]
    if args.markdown:
        print("| " + " | ".join(head) + " |")
        print("|" + "---|" * len(head))
        for line in lines:
            print("| " + " | ".join(line) + " |")
    else:
        widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(head)]
        print("  ".join(h.ljust(w) for h, w in zip(head, widths)))
        for line in lines:
            print("  ".join(c.ljust(w) for c, w in zip(line, widths)))
    res = dict(rows).get("resnet1d")
    if res:
        ok = res["latency_ms"] < LATENCY_TARGET_MS and res["load_s"] < LOAD_TARGET_S
        print(
            f"resnet1d targets (latency < {LATENCY_TARGET_MS:g} ms, load < {LOAD_TARGET_S:g} s): "
            f"{'met' if ok else 'NOT met'}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
