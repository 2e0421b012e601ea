"""``ecgviewer analyze DIR --out OUT``: outputs, a corrupt file among real ones, resume after a kill."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from ecgviewer.analysis.batch import STATE_DIR, discover
from ecgviewer.analysis.lifeline import descendants
from ecgviewer.cli import main

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / "measurements.schema.json").read_text(encoding="utf-8"))


def _copy_records(ptbxl_dir: Path, dest: Path, n: int, start: int = 0) -> list[str]:
    dest.mkdir(parents=True, exist_ok=True)
    names = []
    for hea in sorted(ptbxl_dir.glob("*_hr.hea"))[start : start + n]:
        shutil.copy(hea, dest)
        shutil.copy(hea.with_suffix(".dat"), dest)
        names.append(hea.stem)
    return names


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def _temp_files(folder: Path) -> list[Path]:
    return [p for p in folder.rglob("*") if p.name.endswith(".tmp")]


def _complete_pdf(path: Path) -> bool:
    data = path.read_bytes()
    return data.startswith(b"%PDF") and data.rstrip().endswith(b"%%EOF")


def test_folder_with_a_corrupt_file(
    ptbxl_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    inp, out = tmp_path / "in", tmp_path / "out"
    top = _copy_records(ptbxl_dir, inp, 5)
    sub = _copy_records(ptbxl_dir, inp / "sub", 1, start=5)
    (inp / "broken.hea").write_text("this is not a WFDB header\n")
    (inp / "notes.md").write_text("not an ECG: not taken")
    keys = sorted([*top, *(f"sub/{n}" for n in sub), "broken"])
    assert sorted(i.key for i in discover([inp], recursive=True)) == keys
    args = ["analyze", str(inp), "-r", "--out", str(out), "--report", "pdf,json,csv", "--workers", "2"]
    rc = main([*args, "--device", "cpu", "-q"])
    err = capsys.readouterr().err
    assert rc == 1, err  # one file failed, the others were written
    assert "6 analysed" in err and "1 failed" in err
    good = [k for k in keys if k != "broken"]
    validator = jsonschema.Draft202012Validator(SCHEMA)
    for key in good:
        doc = json.loads((out / f"{key}.json").read_text(encoding="utf-8"))
        validator.validate(doc)
        assert doc["record"]["file"].endswith(f"{key}.hea")
        assert (doc["model"]["warning"] is None) == doc["model"]["trained"]  # banner only for placeholders
        assert doc["model"]["status"] and doc["classical"]["n_beats"] > 3
        # the delineation ran for every record: headline intervals and every beat's boundaries
        assert doc["intervals"]["method"] == doc["delineation"]["model"] == "unet_delineation"
        beats = doc["delineation"]["beats"]
        assert len(beats) == doc["delineation"]["n_beats"] > 3 and set(beats[0]["leads"]) == set(
            doc["delineation"]["leads"]
        )
        assert [b["r_sample"] for b in beats] == sorted(b["r_sample"] for b in beats)
        assert _complete_pdf(out / f"{key}.pdf")
    assert not (out / "broken.json").exists() and not (out / "broken.pdf").exists()
    rows = _csv_rows(out / "measurements.csv")
    assert sorted(Path(r["file"]).stem for r in rows) == sorted(Path(k).name for k in good)
    assert all(float(r["qrs_ms_model"]) > 0 and r["qrs_ms_classical"] for r in rows)
    assert all(r["method"] == "unet_delineation" and int(r["n_beats_delineated"]) > 3 for r in rows)
    errors = _csv_rows(out / "errors.csv")
    assert len(errors) == 1 and errors[0]["file"].endswith("broken.hea")
    assert errors[0]["stage"] == "read" and "WFDB" in errors[0]["error"]
    assert _temp_files(out) == []

    # a rerun skips the finished records and keeps one row per record
    before = {p: p.stat().st_mtime_ns for p in out.rglob("*.pdf")}
    rc = main([*args, "--device", "cpu", "-q"])
    err = capsys.readouterr().err
    assert rc == 1 and "6 skipped" in err and "0 analysed" in err
    assert {p: p.stat().st_mtime_ns for p in out.rglob("*.pdf")} == before
    assert len(_csv_rows(out / "measurements.csv")) == 6
    # --force redoes them (in this process: --workers 0)
    assert main([*args[:-1], "0", "--device", "cpu", "-q", "--force", "--report", "json,csv"]) == 1
    assert "6 analysed" in capsys.readouterr().err
    assert len(_csv_rows(out / "measurements.csv")) == 6
    # another delineator setting redoes every record without --force
    assert main([*args[:-1], "0", "--device", "cpu", "-q", "--report", "json,csv", "--no-delineation"]) == 1
    assert "6 analysed" in capsys.readouterr().err
    rows = _csv_rows(out / "measurements.csv")
    assert len(rows) == 6 and all(r["method"] == "" and r["qrs_ms"] == "" and r["qrs_ms_model"] for r in rows)
    doc = json.loads((out / f"{good[0]}.json").read_text(encoding="utf-8"))
    assert doc["delineation"] is None and doc["intervals"]["reason"] == "wave delineation not run"


def test_killed_run_resumes_without_duplicates(ptbxl_dir: Path, tmp_path: Path) -> None:
    inp, out = tmp_path / "in", tmp_path / "out"
    names = _copy_records(ptbxl_dir, inp, 16)
    cmd = [sys.executable, "-m", "ecgviewer", "analyze", str(inp), "--out", str(out)]
    cmd += ["--report", "pdf,json,csv", "--workers", "1", "--device", "cpu", "-q"]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen(
        cmd, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True
    )
    state = out / STATE_DIR
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if state.is_dir() and any(state.glob("*.json")):
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the run ended before it could be killed"
        os.killpg(proc.pid, signal.SIGKILL)  # the whole run, workers included, without warning
    finally:
        proc.wait(timeout=60)
        proc.stdout.close()
        proc.stderr.close()
    finished = sorted(p.stem for p in state.glob("*.json"))
    assert 1 <= len(finished) < len(names)
    for p in out.glob("*.json"):  # whatever exists is complete
        json.loads(p.read_text(encoding="utf-8"))
    for p in out.glob("*.pdf"):
        assert _complete_pdf(p)
    for key in finished:
        assert (out / f"{key}.json").is_file() and (out / f"{key}.pdf").is_file()
    kept = {k: (out / f"{k}.pdf").stat().st_mtime_ns for k in finished}

    rerun = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=400, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(finished)} of {len(names)} record(s) already done" in rerun.stderr
    assert {k: (out / f"{k}.pdf").stat().st_mtime_ns for k in finished} == kept  # not redone
    rows = _csv_rows(out / "measurements.csv")
    assert sorted(Path(r["file"]).stem for r in rows) == sorted(names)  # each record exactly once
    assert _csv_rows(out / "errors.csv") == []
    for key in names:
        assert _complete_pdf(out / f"{key}.pdf")
        json.loads((out / f"{key}.json").read_text(encoding="utf-8"))
    assert _temp_files(out) == []


def test_batched_prediction_equals_one_by_one(ptbxl_dir: Path, shared_data: Path) -> None:
    from ecgviewer.core.readers import read_record
    from ecgviewer.inference.errors import PredictionError
    from ecgviewer.inference.predictor import Predictor
    from ecgviewer.inference.preprocess import prepare_windows

    predictor = Predictor("resnet1d", device="cpu", batch_size=5).load()
    records = [read_record(p) for p in sorted(ptbxl_dir.glob("*_hr.hea"))[:3]]
    records.append(read_record(shared_data / "wfdb-samples" / "s0010_re.hea"))  # 38 s, 1000 Hz: 7 windows
    windows = [prepare_windows(r, **predictor.input_spec()) for r in records]
    batched = predictor.predict_windows(windows)
    assert len(batched) == 4 and not any(isinstance(b, PredictionError) for b in batched)
    for record, got in zip(records, batched):
        want = predictor.predict(record)
        assert got.n_windows == want.n_windows
        for key in ("hr_bpm", "pr_ms", "qrs_ms", "qt_ms"):
            assert got[key].value == pytest.approx(want[key].value, rel=1e-4)
            assert got[key].iqr == pytest.approx(want[key].iqr, rel=1e-4, abs=1e-3)


def test_batched_delineation_equals_one_by_one(ptbxl_dir: Path, shared_data: Path) -> None:
    """The batch engine's delineation (windows of many records in one batch) is ``delineate`` per record."""
    from ecgviewer.analysis.batch import delineate_records
    from ecgviewer.core.readers import read_record
    from ecgviewer.inference.delineation import Delineator, prepare_delineation

    delineator = Delineator(device="cpu", batch_size=3).load()
    records = [read_record(p) for p in sorted(ptbxl_dir.glob("*_hr.hea"))[:3]]
    records.append(read_record(shared_data / "wfdb-samples" / "s0010_re.hea"))  # 38 s, 1000 Hz: 5 windows
    inputs = [prepare_delineation(r, delineator.spec()) for r in records]
    batched = delineate_records(delineator, [(None, None, i) for i in inputs], [None] * len(inputs))
    for record, got in zip(records, batched):
        want = delineator.delineate(record)
        assert got.delineation.leads == want.delineation.leads
        np.testing.assert_array_equal(got.delineation.r_peaks, want.delineation.r_peaks)
        a, b = got.delineation.points, want.delineation.points
        assert np.array_equal(np.isnan(a), np.isnan(b))  # the same waves found ...
        assert np.nanmax(np.abs(a - b)) <= 1.0  # ... at most a sample apart (float noise of the batch shape)
        for key, iv in want.intervals.items():
            assert (got.intervals[key].value is None) == (iv.value is None), key
            if iv.value is not None:
                assert got.intervals[key].value == pytest.approx(iv.value, abs=2.0), key


def _running(pid: int) -> bool:
    try:
        return (Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads /proc (Linux)")
def test_sigkill_of_the_parent_leaves_no_process_and_current_csv(ptbxl_dir: Path, tmp_path: Path) -> None:
    """SIGKILL of ``analyze --out`` alone (not its group): forkserver, workers and resource tracker go too;
    measurements.csv already lists finished records; the rerun does only the rest."""
    inp, out = tmp_path / "in", tmp_path / "out"
    names = _copy_records(ptbxl_dir, inp, 90)  # enough that an idle machine is still busy when killed
    cmd = [sys.executable, "-m", "ecgviewer", "analyze", str(inp), "--out", str(out)]
    cmd += ["--report", "pdf,json,csv", "--workers", "2", "--device", "cpu", "-q", "--batch-size", "4"]
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    state = out / STATE_DIR
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline and proc.poll() is None:
            if state.is_dir() and len(list(state.glob("*.json"))) >= 2:
                break
            time.sleep(0.02)
        time.sleep(1.2)  # past one CSV rewrite after the first records finished
        assert proc.poll() is None, "the run ended before it could be killed"
        helpers = descendants(proc.pid)
        assert helpers, "no worker processes"
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=60)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and any(_running(p) for p in helpers):
        time.sleep(0.1)
    assert [p for p in helpers if _running(p)] == []  # forkserver, workers, resource tracker: all gone
    finished = {p.stem for p in state.glob("*.json")}
    assert 1 <= len(finished) < len(names)
    rows = _csv_rows(out / "measurements.csv")  # kept current during the run
    assert rows and {Path(r["file"]).stem for r in rows} <= finished

    rerun = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, timeout=400, check=False)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(finished)} of {len(names)} record(s) already done" in rerun.stderr
    assert f"{len(names) - len(finished)} analysed" in rerun.stderr
    assert sorted(Path(r["file"]).stem for r in _csv_rows(out / "measurements.csv")) == sorted(names)


def test_bad_paths_are_refused_before_the_networks_load(tmp_path: Path) -> None:
    """``analyze MISSING`` and ``analyze MISSING --out`` fail without importing torch (no network loaded)."""
    code = (
        "import sys\n"
        "from ecgviewer.cli import main\n"
        "single = main(['analyze', sys.argv[1], '--device', 'cpu', '--classifier', 'none'])\n"
        "batch = main(['analyze', sys.argv[1], '--out', sys.argv[2], '--device', 'cpu', '-q'])\n"
        "print(single, batch, 'torch' in sys.modules)\n"
    )
    missing = tmp_path / "missing.hea"
    proc = subprocess.run(
        [sys.executable, "-c", code, str(missing), str(tmp_path / "out")],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.stdout.split() == ["1", "2", "False"], proc.stderr
    assert proc.stderr.count("missing.hea: no such file") == 2


def test_glob_patterns_and_list_files(ptbxl_dir: Path, tmp_path: Path, monkeypatch) -> None:
    inp = tmp_path / "in"
    names = _copy_records(ptbxl_dir, inp / "a", 2) + _copy_records(ptbxl_dir, inp / "b", 1, start=2)
    (inp / "a" / "notes.md").write_text("not an ECG")
    got = discover([Path(f"{inp}/**/*")])
    assert [i.key for i in got] == [f"a/{names[0]}", f"a/{names[1]}", f"b/{names[2]}"]
    assert all(i.path.suffix == ".hea" for i in got)
    monkeypatch.chdir(tmp_path)
    lst = tmp_path / "records.txt"
    lst.write_text(f"# the records\nin/a/{names[0]}.hea\n\n{inp / 'b'}\n")
    assert [i.key for i in discover([Path(f"@{lst}")])] == [names[0], names[2]]
    with pytest.raises(FileNotFoundError, match="no ECG file matches"):
        discover([Path(f"{inp}/*.xml")])
    with pytest.raises(FileNotFoundError, match="cannot read the list file"):
        discover([Path(f"@{tmp_path / 'nope.txt'}")])
