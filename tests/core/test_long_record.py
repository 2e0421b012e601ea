"""Lazily read long records: every chunk equals the same span of ``read_record``, bit for bit,
on the real files (WFDB 212/16/80/.mat, EDF with the Contec quirk, EDF+), on BDF/ISHNE files
written from a real PTB-XL record, and on a generated 2 h Holter record; opening reads no samples."""

from __future__ import annotations

import datetime as dt
import itertools
import os
import threading
import tracemalloc
from pathlib import Path

import numpy as np
import pytest

from ecgviewer.core import EcgReadError, EcgRecord, read_record
from ecgviewer.core.long_record import LongRecord
from ecgviewer.core.readers.registry import get_reader, open_long_record
from ecgviewer.core.simulate import write_long_wfdb
from ecgviewer.core.writers import write_record

REAL = {
    "mitdb-208 (format 212, chunked)": ("mitdb-208/208.hea", "chunked reads"),
    "wfdb 100 (212)": ("wfdb-samples/100.hea", "chunked reads"),
    "qtdb sel100": ("qtdb/sel100.hea", "chunked reads"),
    "wfdb s0010_re (two files)": ("wfdb-samples/s0010_re.hea", "chunked reads"),
    "wfdb a103l (.mat, NU channel)": ("wfdb-samples/a103l.hea", "chunked reads"),
    "wfdb test01 (format 16)": ("wfdb-samples/test01_00s.hea", "memory map"),
    "wfdb 3000003 (format 80)": ("wfdb-samples/3000003_0003.hea", "memory map"),
    "ptb-xl 00001 (format 16)": ("ptb-xl/records500/00000/00001_hr.hea", "memory map"),
    "edf contec (quirk)": ("formats/edf/contec_0000050.edf", "memory map"),
    "edf+ kardia": ("formats/edf/kardiamobile-6l-ecg.edf", "memory map"),
}


def assert_same_as_read_record(lr: LongRecord, rec, rng: np.random.Generator, n_chunks: int = 25) -> None:
    """Header facts equal; random chunks, consecutive chunks (seams) and every display lead equal."""
    assert lr.n_samples == rec.n_samples
    assert lr.fs_hz == rec.fs_hz
    assert lr.lead_names == rec.lead_names
    assert lr.units == rec.units
    assert dict(lr.metadata) == dict(rec.metadata)
    assert lr.start_time == rec.start_time
    assert lr.warnings == rec.warnings
    assert lr.format_name == rec.format_name
    assert lr.display_leads == rec.display_leads
    n = lr.n_samples
    for _ in range(n_chunks):
        a = int(rng.integers(0, n))
        b = int(rng.integers(a, min(n, a + 200_000) + 1))
        chunk = lr.read(a, b)
        assert chunk.signals.dtype == np.float32
        np.testing.assert_array_equal(chunk.signals, rec.signals[:, a:b])
        for name in lr.display_leads:
            np.testing.assert_array_equal(lr.lead(name, a, b), rec.lead(name, a, b))
            np.testing.assert_array_equal(chunk.lead(name), rec.lead(name, a, b))
    # seams: consecutive chunks of odd sizes put back together give the whole record
    cuts = np.unique(np.concatenate([[0, n], rng.integers(0, n, 7)]))
    whole = np.concatenate([lr.read(int(a), int(b)).signals for a, b in itertools.pairwise(cuts)], 1)
    np.testing.assert_array_equal(whole, rec.signals)


@pytest.mark.parametrize("key", list(REAL))
def test_lazy_chunks_equal_read_record_on_real_files(shared_data, key):
    rel, access = REAL[key]
    path = shared_data / rel
    lr = open_long_record(path)
    assert lr.access == access
    assert_same_as_read_record(lr, read_record(path), np.random.default_rng(8))


def test_real_long_record_208(shared_data):
    """MIT-BIH 208 (30 min, format 212): header facts, a chunk in the middle, derived leads absent."""
    lr = open_long_record(shared_data / "mitdb-208" / "208")  # the bare record name works too
    assert (lr.n_samples, lr.fs_hz, lr.lead_names) == (650_000, 360.0, ("II", "V1"))
    assert lr.duration_s == pytest.approx(1805.56, abs=0.01)
    assert lr.display_leads == ("II", "V1")  # no lead I: nothing to derive
    with pytest.raises(KeyError):
        lr.lead("aVF", 0, 10)
    chunk = lr.read(360_000, 363_600)
    assert chunk.n_samples == 3600 and chunk.units == ("mV", "mV")
    assert 0.3 < float(np.ptp(chunk.lead("II"))) < 6.0  # QRS complexes in mV


def test_generated_bdf_and_ishne(ptbxl_dir, tmp_path):
    from test_generated_formats import write_ishne  # the independent ISHNE writer of the format tests

    src = read_record(ptbxl_dir / "00001_hr.hea")
    write_record(src, tmp_path / "x.bdf")
    write_record(src, tmp_path / "x.edf")
    write_ishne(
        tmp_path / "h.ecg", np.round(src.signals / 0.001).astype(np.int64), 500, list(src.lead_names), 1000
    )
    rng = np.random.default_rng(3)
    for name, fmt in (("x.bdf", "BDF+"), ("x.edf", "EDF+"), ("h.ecg", "ISHNE Holter")):
        lr = open_long_record(tmp_path / name)
        assert (lr.format_name, lr.access) == (fmt, "memory map")
        assert_same_as_read_record(lr, read_record(tmp_path / name), rng, n_chunks=10)


def test_edf_channel_options_and_file_not_held_open(shared_data):
    """EDF options reach the lazy reader; the file is not kept open (edflib refuses a second open)."""
    path = shared_data / "formats" / "edf" / "contec_0000050.edf"
    lr = open_long_record(path, channels=["I", "II"], header_calibration=True)
    rec = read_record(path, channels=["I", "II"], header_calibration=True)  # would fail if lr held the file
    assert lr.lead_names == ("I", "II") and lr.display_leads[:6] == ("I", "II", "III", "aVR", "aVL", "aVF")
    np.testing.assert_array_equal(lr.read(0, lr.n_samples).signals, rec.signals)
    assert lr.identity() != open_long_record(path).identity()  # options are part of the identity


def test_other_formats_are_read_then_wrapped(shared_data):
    path = shared_data / "formats" / "csv" / "contec_0000050.csv"
    assert get_reader("csv").open_lazy is None
    lr = open_long_record(path)
    assert lr.access == "in memory"
    assert_same_as_read_record(lr, read_record(path), np.random.default_rng(1), n_chunks=5)


def test_read_clips_and_shifts_start_time(shared_data):
    lr = open_long_record(shared_data / "wfdb-samples" / "test01_00s.hea")
    rec = read_record(shared_data / "wfdb-samples" / "test01_00s.hea")
    assert lr.read(-50, 10).n_samples == 10
    assert lr.read(3990, 10**9).n_samples == 10
    assert lr.read(500, 100).n_samples == 0
    assert lr.read(4000, 5000).signals.shape == (4, 0)
    np.testing.assert_array_equal(lr.lead("ECG 2", -5, 3), rec.lead("ECG 2", 0, 3))
    with pytest.raises(KeyError):
        lr.lead("V7", 0, 10)
    # a record with a start date: the chunk's start time moves with it
    dated = EcgRecord(rec.signals, 500, rec.lead_names, rec.units, dt.datetime(2024, 5, 1, 23, 59, 59))
    fake = LongRecord.from_record(dated)
    assert fake.read(1000, 1001).start_time == dt.datetime(2024, 5, 2, 0, 0, 1)
    assert fake.time_of(250) == dt.datetime(2024, 5, 1, 23, 59, 59, 500_000)


@pytest.fixture(scope="module")
def holter(tmp_path_factory) -> Path:
    """A generated 2 h, 8-lead, 500 Hz WFDB record (115 MB)."""
    return write_long_wfdb(tmp_path_factory.mktemp("holter") / "h2", hours=2.0, seed=5)


def test_generated_holter_opens_without_reading(holter):
    open_long_record(holter)  # imports (wfdb, pandas) are not what this measures
    tracemalloc.start()
    try:
        lr = open_long_record(holter)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, f"opening allocated {peak:,} bytes"
    assert lr.access == "memory map" and lr.n_samples == 2 * 3600 * 500
    assert lr.lead_names == ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
    assert lr.display_leads == ("I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6")
    assert lr.start_time == dt.datetime(2024, 1, 1, 8, 0, 0)
    # a chunk deep in the record equals wfdb's own reading of that span
    import wfdb

    a = 3_000_000
    ref = wfdb.rdrecord(str(holter.with_suffix("")), sampfrom=a, sampto=a + 5000, return_res=32)
    np.testing.assert_array_equal(lr.read(a, a + 5000).signals, ref.p_signal.T)
    np.testing.assert_allclose(
        lr.lead("aVF", a, a + 5000), ref.p_signal[:, 1] - ref.p_signal[:, 0] / 2, atol=1e-6
    )


def test_reads_from_threads_agree(holter):
    lr = open_long_record(holter)
    spans = [(k * 123_457, k * 123_457 + 40_000) for k in range(16)]
    expected = [lr.read(a, b).signals for a, b in spans]
    got: dict[int, np.ndarray] = {}

    def work(i: int) -> None:
        for j in range(i, len(spans), 4):
            got[j] = lr.read(*spans[j]).signals

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for j, exp in enumerate(expected):
        np.testing.assert_array_equal(got[j], exp)


def test_identity(holter, tmp_path, shared_data):
    lr = open_long_record(holter)
    assert lr.identity() == open_long_record(holter).identity()  # stable
    assert str(holter.resolve()) in lr.identity()
    other = open_long_record(shared_data / "wfdb-samples" / "test01_00s.hea")
    assert other.identity() != lr.identity()
    # a modified signal file is another record
    copy = tmp_path / "t.hea"
    for ext in (".hea", ".dat"):
        (tmp_path / f"t{ext}").write_bytes(
            (shared_data / "wfdb-samples" / f"test01_00s{ext}").read_bytes().replace(b"test01_00s", b"t")
        )
    before = open_long_record(copy).identity()
    st = (tmp_path / "t.dat").stat()
    os.utime(tmp_path / "t.dat", ns=(st.st_atime_ns, st.st_mtime_ns + 5_000_000_000))
    assert open_long_record(copy).identity() != before
    # in-memory records: same samples -> same identity, changed samples -> another
    rec = read_record(shared_data / "wfdb-samples" / "test01_00s.hea")
    assert LongRecord.from_record(rec).identity() == LongRecord.from_record(rec).identity()
    assert LongRecord.from_record(rec.with_signals(rec.signals * 2)).identity() != (
        LongRecord.from_record(rec).identity()
    )


def test_bad_files_raise_ecg_read_error(tmp_path, shared_data):
    with pytest.raises(EcgReadError, match="not found"):
        open_long_record(tmp_path / "missing.edf")
    for ext in (".hea", ".dat"):
        (tmp_path / f"t{ext}").write_bytes(
            (shared_data / "wfdb-samples" / f"test01_00s{ext}").read_bytes().replace(b"test01_00s", b"t")
        )
    lr = open_long_record(tmp_path / "t.hea")
    data = (tmp_path / "t.dat").read_bytes()
    (tmp_path / "t.dat").write_bytes(data[: len(data) // 2])
    with pytest.raises(EcgReadError, match="truncated"):
        open_long_record(tmp_path / "t.hea")
    with pytest.raises(
        EcgReadError, match="samples 3,000-3,500 could not be read"
    ):  # truncated after opening
        lr.read(3000, 3500)
    assert lr.read(0, 100).n_samples == 100  # what is still there reads
    (tmp_path / "x.edf").write_bytes(b"0       " + b"garbage" * 10)
    with pytest.raises(EcgReadError):
        open_long_record(tmp_path / "x.edf", format="edf")


def _outcome(read):
    """What reading gives: the samples and header facts, or the EcgReadError (no other exception)."""
    try:
        rec = read()
    except EcgReadError:
        return "EcgReadError"
    return (
        rec.signals.tobytes(),
        rec.lead_names,
        rec.units,
        dict(rec.metadata),
        rec.start_time,
        rec.warnings,
    )


@pytest.mark.parametrize(
    "rel", ["wfdb-samples/100.hea", "wfdb-samples/test01_00s.hea", "formats/edf/kardiamobile-6l-ecg.edf"]
)
def test_damaged_files_lazy_agrees_with_read_record(shared_data, tmp_path, rel):
    """Truncated signal files, flipped bytes, edited or cut headers: the lazy path reads what
    ``read_record`` reads (same samples) or fails with EcgReadError when it does."""
    src = shared_data / rel
    rng = np.random.default_rng(17)
    files = {
        p.suffix: p.read_bytes()
        for p in src.parent.glob(src.stem + ".*")
        if p.suffix in (".hea", ".dat", ".edf")
    }
    errors = 0
    for case in range(24):
        folder = tmp_path / str(case)
        folder.mkdir()
        damaged = dict(files)
        target = ".edf" if ".edf" in files else (".hea" if case % 2 else ".dat")
        data = bytearray(damaged[target])
        kind = case % 3
        if kind == 0:
            data = data[: int(rng.integers(0, len(data)))]
        elif kind == 1:
            for _ in range(int(rng.integers(1, 6))):
                pos = int(rng.integers(0, min(len(data), 2048)))
                data[pos] ^= 1 << int(rng.integers(0, 8))
        else:
            lines = bytes(data).split(b"\n")
            j = int(rng.integers(0, len(lines)))
            tokens = lines[j].split(b" ")
            tokens[int(rng.integers(0, len(tokens)))] = str(int(rng.integers(-5, 100_000))).encode()
            lines[j] = b" ".join(tokens)
            data = bytearray(b"\n".join(lines))
        damaged[target] = bytes(data)
        for suffix, content in damaged.items():
            (folder / (src.stem + suffix)).write_bytes(content)
        path = folder / src.name
        want = _outcome(lambda p=path: read_record(p))
        got = _outcome(lambda p=path: (lr := open_long_record(p)).read(0, lr.n_samples))
        assert got == want, (case, kind)
        errors += want == "EcgReadError"
    assert 2 <= errors <= 22, errors  # both outcomes were exercised
