"""``analyze --out --engine ray``: the same files as the local engine, and resume (Ray embedded here)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ecgviewer.analysis.batch import STATE_DIR
from ecgviewer.cli import main

pytest.importorskip("ray")

#: Values that differ between two runs of the same analysis (the time stamp), left out of comparisons.
TIMING_KEYS = ("created",)


def _copy_records(ptbxl_dir: Path, dest: Path, n: int) -> list[str]:
    dest.mkdir(parents=True, exist_ok=True)
    names = []
    for hea in sorted(ptbxl_dir.glob("*_hr.hea"))[:n]:
        shutil.copy(hea, dest)
        shutil.copy(hea.with_suffix(".dat"), dest)
        names.append(hea.stem)
    return names


def _docs(out: Path) -> dict[str, dict]:
    docs = {}
    for p in sorted(out.glob("*.json")):
        doc = json.loads(p.read_text(encoding="utf-8"))
        docs[p.stem] = {k: v for k, v in doc.items() if k not in TIMING_KEYS}
    return docs


#: Model outputs may differ in their last bits: the network sees the records' windows in batches that
#: group other records in the two engines (and, by timing, in two runs of one engine), and CPU
#: convolutions give results about 1e-8 apart for different batch shapes.
REL = 1e-6


def _differences(a: object, b: object, path: str = "") -> list[str]:
    """Where two JSON values differ (paths; floats within :data:`REL` are equal)."""
    if isinstance(a, dict) and isinstance(b, dict):
        return [d for k in sorted(set(a) | set(b)) for d in _differences(a.get(k), b.get(k), f"{path}/{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b)) for d in _differences(x, y, f"{path}[{i}]")]
    if isinstance(a, float) and isinstance(b, float) and a == pytest.approx(b, rel=REL):
        return []
    return [] if a == b else [f"{path}: {a!r} != {b!r}"]


def _csv_cells(path: Path, approx: bool = False) -> list[list[object]]:
    """A CSV file's cells, numbers as floats (``approx``: within 1e-4, for 6 significant digits)."""
    import csv

    def cell(text: str) -> object:
        try:
            value = float(text)
        except ValueError:
            return text
        return pytest.approx(value, rel=1e-4, nan_ok=True) if approx else value

    with open(path, encoding="utf-8", newline="") as fh:
        return [[cell(c) for c in row] for row in csv.reader(fh)]


@pytest.mark.slow
def test_ray_engine_writes_what_the_local_engine_writes(
    ptbxl_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inp = tmp_path / "in"
    names = _copy_records(ptbxl_dir, inp, 5)
    (inp / "broken.hea").write_text("this is not a WFDB header\n")
    common = ["--report", "pdf,json,csv", "--device", "cpu", "--classifier", "none", "-q"]
    common += ["--batch-size", "4"]
    local, ray_out = tmp_path / "local", tmp_path / "ray"
    assert main(["analyze", str(inp), "--out", str(local), "--workers", "1", *common]) == 1
    capsys.readouterr()
    # the input as a glob pattern: the same records, the same keys
    args = ["analyze", f"{inp}/*.hea", "--out", str(ray_out), "--engine", "ray", "--workers", "2", *common]
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "5 analysed" in err and "1 failed" in err, err
    assert sorted(_docs(ray_out)) == sorted(names)
    assert _differences(_docs(ray_out), _docs(local)) == []
    assert all(doc["delineation"]["beats"] for doc in _docs(ray_out).values())  # the actors delineate too
    assert (ray_out / "errors.csv").read_text(encoding="utf-8") == (local / "errors.csv").read_text("utf-8")
    assert _csv_cells(ray_out / "measurements.csv") == _csv_cells(local / "measurements.csv", approx=True)
    for key in names:
        assert (ray_out / f"{key}.pdf").read_bytes().startswith(b"%PDF")
    assert sorted(p.stem for p in (ray_out / STATE_DIR).glob("*.json")) == sorted(names)

    # resume: records whose state file is gone (a killed run) are redone, the others skipped
    for key in names[:2]:
        (ray_out / STATE_DIR / f"{key}.json").unlink()
    assert main(args) == 1
    err = capsys.readouterr().err
    assert "3 of 6 record(s) already done" in err and "2 analysed" in err, err
    assert _differences(_docs(ray_out), _docs(local)) == []
    assert _csv_cells(ray_out / "measurements.csv") == _csv_cells(local / "measurements.csv", approx=True)


@pytest.mark.slow
@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_killed_ray_run_leaves_no_process_and_resumes(ptbxl_dir: Path, tmp_path: Path) -> None:
    """SIGKILL of a run with an embedded Ray: Ray's processes go too; a rerun (any engine) does the rest."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from ecgviewer.analysis.lifeline import descendants

    repo = Path(__file__).resolve().parents[2]
    inp, out = tmp_path / "in", tmp_path / "out"
    names = _copy_records(ptbxl_dir, inp, 40)
    cmd = [sys.executable, "-m", "ecgviewer", "analyze", str(inp), "--out", str(out), "--device", "cpu"]
    cmd += ["--classifier", "none", "-q", "--batch-size", "4", "--report", "json,csv"]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen(
        [*cmd, "--engine", "ray", "--workers", "2"],
        cwd=repo,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    state = out / STATE_DIR
    deadline = time.monotonic() + 180
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if state.is_dir() and len(list(state.glob("*.json"))) >= 2:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before it could be killed"
        helpers = descendants(proc.pid)
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)

    def running(pid: int) -> bool:
        try:
            return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False

    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and any(running(p) for p in helpers):
        time.sleep(0.2)
    assert [p for p in helpers if running(p)] == []  # GCS, raylet, agents, workers, the reaper
    finished = {p.stem for p in state.glob("*.json")}
    assert 1 <= len(finished) < len(names)
    rerun = subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(finished)} of {len(names)} record(s) already done" in rerun.stderr
