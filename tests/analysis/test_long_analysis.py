"""Long records are analysed in segments: record values plus ``per_hour``, memory independent of length."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from ecgviewer.cli import main
from ecgviewer.core.long_record import LongRecord
from ecgviewer.core.simulate import write_long_wfdb

REPO = Path(__file__).resolve().parents[2]
SCHEMA = json.loads((REPO / "docs" / "measurements.schema.json").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def holter(tmp_path_factory) -> Path:
    """A 72 min 8-lead record at 250 Hz: two clock hours, 8 segments (the last one 2 min)."""
    return write_long_wfdb(tmp_path_factory.mktemp("long") / "h", hours=1.2, fs_hz=250, seed=4)


def test_long_record_document(holter, capsys, monkeypatch):
    fs = 250.0
    biggest = []
    read = LongRecord.read

    def spy(self, start, stop):
        biggest.append(min(stop, self.n_samples) - start)
        return read(self, start, stop)

    monkeypatch.setattr(LongRecord, "read", spy)
    monkeypatch.setattr(LongRecord, "read_all", lambda self: pytest.fail("a long record was read whole"))
    assert main(["analyze", str(holter), "--json", "--device", "cpu", "-q"]) == 0
    [doc] = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, SCHEMA)
    from ecgviewer.inference.beat_delineation import CHUNK_S, CONTEXT_S

    # the largest pieces read: the classical excerpt (120 s), the QT trend's chunks with their context
    assert max(biggest) <= max(120, CHUNK_S + 2 * CONTEXT_S) * fs
    assert doc["record"]["duration_s"] == pytest.approx(4320.0)
    lr = doc["long_record"]
    assert lr["n_segments"] == 8 and lr["windows_per_segment"] == 6 and lr["stride_s"] is None
    assert doc["model"]["n_windows"] == 8 * 6  # the last segment (2 min) has room for 6 too
    hr = doc["measurements"]["hr_bpm"]
    assert 40 < hr["model"] < 140 and 40 < hr["classical"] < 140
    hours = doc["per_hour"]
    assert [h["hour"] for h in hours] == [0, 1]
    assert [h["duration_s"] for h in hours] == [3600.0, 720.0]
    assert hours[0]["start_time"] == "2024-01-01T08:00:00"
    assert sum(h["n_windows"] for h in hours) == doc["model"]["n_windows"]
    assert sum(h["n_beats"] for h in hours) == doc["classical"]["n_beats"]
    assert all(40 < h["model"]["hr_bpm"] < 140 for h in hours)
    if doc["classification"] is not None:  # the bundled classifier, when installed
        assert hours[0]["statements"] is not None and set(hours[0]["probabilities"]) >= {"NORM"}
    # the QT/QTc trend: every beat delineated by the beat pass, medians per hour, the longest QTc
    qt = doc["qt_trend"]
    assert "median" in qt["method"] and set(qt["qtc_formulas"]) == {"fridericia", "bazett"}
    assert "Fridericia" in qt["qtc_formulas"]["fridericia"] and qt["leads"] == ["II", "V5"]
    assert qt["beats_delineated"] == qt["n_beats"] > 4000 and qt["beats_with_qt"] > 0.5 * qt["n_beats"]
    assert [h["hour"] for h in qt["per_hour"]] == [0, 1]
    for h in qt["per_hour"]:
        assert h["qtc_fridericia_ms"] == pytest.approx(h["qt_ms"] / (h["rr_ms"] / 1000) ** (1 / 3), abs=0.2)
        assert h["qtc_bazett_ms"] == pytest.approx(h["qt_ms"] / (h["rr_ms"] / 1000) ** 0.5, abs=0.2)
    longest = max(qt["per_hour"], key=lambda h: h["qtc_fridericia_ms"])
    assert qt["max_qtc_hour"] == longest
    assert qt["longest_qtc_minute"]["qtc_fridericia_ms"] >= qt["record"]["qtc_fridericia_ms"]


def test_long_and_short_paths_agree_on_a_short_record(shared_data, capsys):
    """A short record still goes through analyze_record: no long-record fields."""
    path = shared_data / "ptb-xl" / "records500" / "00000" / "00001_hr.hea"
    assert main(["analyze", str(path), "--json", "--device", "cpu", "--classifier", "none"]) == 0
    [doc] = json.loads(capsys.readouterr().out)
    assert "per_hour" not in doc and "long_record" not in doc


#: Runs one command and prints the process's own peak RSS (VmHWM, kB). Not ``ru_maxrss``: on Linux it
#: keeps the high-water mark of the forked copy of the test process from before ``exec``.
_PEAK = (
    "import sys\n"
    "from ecgviewer.cli import main\n"
    "code = main(sys.argv[1:])\n"
    "hwm = [ln for ln in open('/proc/self/status') if ln.startswith('VmHWM:')][0]\n"
    "print(int(hwm.split()[1]), file=sys.stderr)\n"
    "sys.exit(code)\n"
)


def _peak_kb(*args: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", _PEAK, *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return int(done.stderr.strip().splitlines()[-1])


@pytest.mark.slow
def test_peak_memory_does_not_grow_with_length(tmp_path):
    """``info``, ``convert`` and ``analyze`` of a 2 h record need no more memory than of a 1 h one."""
    one = write_long_wfdb(tmp_path / "one", hours=1.0, fs_hz=250, seed=5)
    two = write_long_wfdb(tmp_path / "two", hours=2.0, fs_hz=250, seed=5)
    # read whole, 1 h more would be 28.8 MB more as float32 (and several times that while analysed)
    slack_kb = 20_000
    peaks = {}
    for name, path in (("one", one), ("two", two)):
        peaks[name] = {
            "info": _peak_kb("info", str(path)),
            "convert": _peak_kb("convert", str(path), str(tmp_path / f"{name}_out.edf")),
            "analyze": _peak_kb(
                "analyze", str(path), "--json", "-q", "--device", "cpu", "--classifier", "none"
            ),
        }
    for command in ("info", "convert", "analyze"):
        assert peaks["two"][command] - peaks["one"][command] < slack_kb, peaks
    assert peaks["two"]["info"] < 300_000
    assert np.all([v < 1_000_000 for v in peaks["two"].values()])


def test_batch_takes_long_records_through_the_same_path(holter, tmp_path, capsys):
    """``analyze --out``: a bounded, evenly spaced window sample and the classical values of ``analyze``."""
    out = tmp_path / "out"
    common = ["--device", "cpu", "--classifier", "none"]
    assert (
        main(["analyze", str(holter), "--out", str(out), "--workers", "0", "--report", "json", "-q", *common])
        == 0
    )
    batch = json.loads((out / "h.json").read_text(encoding="utf-8"))
    jsonschema.validate(batch, SCHEMA)
    assert batch["record"]["duration_s"] == pytest.approx(4320.0)
    assert batch["model"]["n_windows"] == 360  # of 432
    assert "360 of its 432" in batch["model"]["warnings"][0]
    capsys.readouterr()
    assert main(["analyze", str(holter), "--json", "-q", *common]) == 0
    [single] = json.loads(capsys.readouterr().out)
    for key, row in single["measurements"].items():
        assert batch["measurements"][key]["classical"] == row["classical"]
        assert abs(batch["measurements"][key]["model"] - row["model"]) < 0.1 * abs(row["model"])
    # the same QT/QTc trend (the same beat pass over the whole record)
    for key in ("per_hour", "max_qtc_hour", "longest_qtc_minute", "record", "method", "qtc_formulas"):
        assert batch["qt_trend"][key] == single["qt_trend"][key]


def test_a_lazily_opened_record_pickles_by_reopening(holter):
    import pickle

    from ecgviewer.core.opening import open_record

    rec = open_record(holter)
    copy = pickle.loads(pickle.dumps(rec))
    assert copy.identity() == rec.identity()
    assert np.array_equal(copy.read(1000, 2000).signals, rec.read(1000, 2000).signals)


@pytest.mark.parametrize("workers", ["0", "1"])
def test_batch_pdf_of_a_long_record_draws_its_first_page(holter, tmp_path, workers):
    """A long record's PDF shows its first page; its document still describes the whole record."""
    out = tmp_path / f"out{workers}"
    args = ["analyze", str(holter), "--out", str(out), "--workers", workers, "--report", "pdf,json", "-q"]
    assert main([*args, "--device", "cpu", "--classifier", "none"]) == 0
    assert (out / "h.pdf").read_bytes().startswith(b"%PDF")
    doc = json.loads((out / "h.json").read_text(encoding="utf-8"))
    assert doc["record"]["duration_s"] == pytest.approx(4320.0)
    assert not (out / "errors.csv").read_text(encoding="utf-8").strip().splitlines()[1:]


def _long_npz(tmp_path: Path, name: str, flat_from_s: float | None, flat_to_s: float | None) -> Path:
    """A 21 min 8-lead record at 250 Hz (3 segments: 10, 10 and 1 min), flat between the given times."""
    import wfdb

    hea = write_long_wfdb(tmp_path / f"{name}_src", hours=0.35, fs_hz=250, seed=7)
    src = wfdb.rdrecord(str(hea.with_suffix("")))
    x = src.p_signal.T.astype("float32")
    if flat_from_s is not None:
        x[:, round(flat_from_s * 250) : round(flat_to_s * 250)] = 0.0
    out = tmp_path / f"{name}.npz"
    np.savez(out, signals=x, fs_hz=250.0, leads=np.array(src.sig_name))
    return out


def _long_doc(path: Path, capsys) -> dict:
    assert main(["analyze", str(path), "--json", "-q", "--device", "cpu", "--classifier", "none"]) == 0
    [doc] = json.loads(capsys.readouterr().out)
    jsonschema.validate(doc, SCHEMA)
    return doc


def test_long_record_segments_without_a_measurable_ecg_are_left_out(tmp_path, capsys):
    clean = _long_doc(_long_npz(tmp_path, "clean", None, None), capsys)
    holed = _long_doc(_long_npz(tmp_path, "holed", 600.0, 1200.0), capsys)  # the second segment flat
    assert clean["long_record"]["quality"]["segments_unmeasurable"] == 0
    q = holed["long_record"]["quality"]
    assert q["segments_assessed"] == 3 and q["segments_unmeasurable"] == 1
    assert q["segments_left_out"]["intervals"] == 1 and q["withheld"] == {}
    per_segment = holed["long_record"]["windows_per_segment"]
    assert holed["model"]["n_windows"] == clean["model"]["n_windows"] - per_segment
    assert 40 < holed["measurements"]["hr_bpm"]["model"] < 140  # from the two usable segments


def test_a_flat_long_record_is_withheld_not_measured(tmp_path, capsys):
    doc = _long_doc(_long_npz(tmp_path, "flat", 0.0, 21 * 60.0), capsys)
    q = doc["long_record"]["quality"]
    assert q["segments_unmeasurable"] == q["segments_assessed"] == 3
    assert set(q["withheld"]) == {"classical", "intervals"}
    assert "flat" in q["withheld"]["intervals"]
    assert doc["model"] is None and doc["classical"] is None
    assert all(row["model"] is None and row["classical"] is None for row in doc["measurements"].values())
