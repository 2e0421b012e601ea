"""Every broken, empty, truncated, mis-named or hostile file gives one clear EcgReadError."""

from __future__ import annotations

import shutil
import tracemalloc

import numpy as np
import pytest

from ecgviewer.core import EcgReadError, read_record


@pytest.fixture
def ptbxl_copy(ptbxl_dir, tmp_path):
    for ext in (".hea", ".dat"):
        shutil.copy(ptbxl_dir / f"00001_hr{ext}", tmp_path / f"rec{ext}")
    hea = tmp_path / "rec.hea"
    hea.write_text(hea.read_text().replace("00001_hr", "rec"))
    return hea


def _expect(path, *fragments, **options):
    with pytest.raises(EcgReadError) as info:
        read_record(path, **options)
    message = str(info.value)
    assert "\n" not in message and "\r" not in message, message  # every read error is one line
    assert str(info.value.path.name) in message or path.name in message
    for fragment in fragments:
        assert fragment in message, message
    return message


def test_copy_is_readable(ptbxl_copy):
    assert read_record(ptbxl_copy).n_samples == 5000


def test_empty_file(tmp_path):
    (tmp_path / "x.hea").write_bytes(b"")
    _expect(tmp_path / "x.hea", "empty")


def test_missing_file(tmp_path):
    _expect(tmp_path / "nothing.hea", "not found")


def test_folder(tmp_path):
    _expect(tmp_path, "folder")


def test_truncated_dat(ptbxl_copy):
    dat = ptbxl_copy.with_suffix(".dat")
    dat.write_bytes(dat.read_bytes()[:60_000])
    _expect(ptbxl_copy, "truncated", "60,000 bytes")


def test_empty_dat(ptbxl_copy):
    ptbxl_copy.with_suffix(".dat").write_bytes(b"")
    _expect(ptbxl_copy, "empty")


def test_missing_dat(ptbxl_copy):
    ptbxl_copy.with_suffix(".dat").unlink()
    _expect(ptbxl_copy, "rec.dat", "missing")


def test_missing_hea(ptbxl_copy):
    ptbxl_copy.unlink()
    _expect(ptbxl_copy.with_suffix(".dat"), "header", "not found")


def test_garbage_header(tmp_path):
    rng = np.random.default_rng(1)
    (tmp_path / "g.hea").write_bytes(rng.integers(0, 256, 3000, dtype=np.uint8).tobytes())
    _expect(tmp_path / "g.hea")


def test_text_garbage_header(tmp_path):
    (tmp_path / "g.hea").write_text("g 12 500 5000\ng.dat sixteen gain/mV nonsense\n")
    _expect(tmp_path / "g.hea")


def test_huge_declared_length(ptbxl_copy):
    text = ptbxl_copy.read_text().replace("rec 12 500 5000", "rec 12 500 900000000000", 1)
    ptbxl_copy.write_text(text)
    tracemalloc.start()
    _expect(ptbxl_copy, "declares")
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 50_000_000  # refused before allocating anything big


def test_mis_named_png_as_hea(tmp_path):
    (tmp_path / "img.hea").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(200))
    _expect(tmp_path / "img.hea")


def test_unknown_extension_and_content(tmp_path):
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04" + bytes(100))
    _expect(tmp_path / "notes.docx", "unrecognised file format")


def test_pickled_npy_refused(tmp_path):
    np.save(tmp_path / "obj.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    _expect(tmp_path / "obj.npy", "not a plain numeric")


def test_npz_bomb_refused(tmp_path):
    import zipfile

    path = tmp_path / "bomb.npz"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        # declares 12 GB of zeros in a few kB
        zf.writestr(zipfile.ZipInfo("signals.npy"), b"")
        zf.infolist()[0].file_size = 12_000_000_000
    _expect(path, "too large")


def test_truncated_npy(tmp_path):
    np.save(tmp_path / "a.npy", np.zeros((8, 5000), np.float32))
    raw = (tmp_path / "a.npy").read_bytes()
    (tmp_path / "a.npy").write_bytes(raw[:1000])
    _expect(tmp_path / "a.npy")


def test_csv_garbage(tmp_path):
    (tmp_path / "x.csv").write_text("I,II\nabc,def\nghi,jkl\n")
    _expect(tmp_path / "x.csv")


def test_csv_header_only(tmp_path):
    (tmp_path / "x.csv").write_text("I,II,V1\n")
    _expect(tmp_path / "x.csv", "data rows")


def test_csv_preamble_without_a_table(tmp_path):
    (tmp_path / "x.csv").write_text("Sampling Rate (Hz): 500\nGain (digit/millivolt): 2048\n")
    _expect(tmp_path / "x.csv", "fewer than two data rows")


def test_multi_line_reason_folded_onto_one_line(tmp_path, monkeypatch):
    from ecgviewer.core.readers import csv_reader, registry

    def two_lines(path, **_options):
        raise ValueError("first line\nsecond line")

    fake = registry.Reader("csv", "CSV", (".csv",), csv_reader._sniff, two_lines)
    monkeypatch.setitem(registry._READERS, "csv", fake)
    (tmp_path / "x.csv").write_text("I,II\n1,2\n3,4\n")
    assert _expect(tmp_path / "x.csv").endswith("(ValueError: first line second line)")


def test_binary_with_csv_extension(tmp_path):
    (tmp_path / "x.csv").write_bytes(bytes(range(256)) * 20)
    _expect(tmp_path / "x.csv")
