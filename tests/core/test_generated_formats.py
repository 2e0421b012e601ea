"""Formats without a shared fixture (ISHNE, BDF, EDF+ with mixed channels), tested on files this
test writes from a real PTB-XL record, plus the EDF writer, ``ecgviewer convert`` and ``info``.

The ISHNE writer here follows the ISHNE 1.0 specification on its own (struct layout and a
bitwise CRC-CCITT), independently of the reader; EDF+/BDF files are written by pyedflib.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import struct

import numpy as np
import pyedflib
import pytest

from ecgviewer.cli import main as cli_main
from ecgviewer.core import EcgReadError, read_record
from ecgviewer.core.leads import STANDARD_LEADS
from ecgviewer.core.readers import detect_format

ISHNE_CODES = {"I": 5, "II": 6, "III": 7, "aVR": 8, "aVL": 9, "aVF": 10,
               "V1": 11, "V2": 12, "V3": 13, "V4": 14, "V5": 15, "V6": 16}  # fmt: skip


def _crc_ccitt_bitwise(data: bytes) -> int:
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) & 0xFFFF if crc & 0x8000 else (crc << 1) & 0xFFFF
    return crc


def write_ishne(path, counts: np.ndarray, fs: int, leads: list[str], resolution_nv: int, var_block=b""):
    """ISHNE 1.0: magic, CRC, 512-byte header, variable block, int16 samples interleaved by lead."""
    n_leads, n = counts.shape
    pad12 = lambda xs: list(xs) + [-9] * (12 - len(xs))  # noqa: E731
    header = b"".join([
        struct.pack("<iiii", len(var_block), n, 522, 522 + len(var_block)),
        struct.pack("<h", 1),
        b"ADA".ljust(40, b"\0"), b"LOVELACE".ljust(40, b"\0"), b"ID-0042".ljust(20, b"\0"),
        struct.pack("<hh", 2, 1),
        struct.pack("<3h", 10, 12, 1815), struct.pack("<3h", 3, 4, 2021), struct.pack("<3h", 4, 4, 2021),
        struct.pack("<3h", 8, 30, 15),
        struct.pack("<h", n_leads),
        struct.pack("<12h", *pad12([ISHNE_CODES[x] for x in leads])),
        struct.pack("<12h", *pad12([1] * n_leads)),
        struct.pack("<12h", *pad12([resolution_nv] * n_leads)),
        struct.pack("<h", 0),
        b"TestRecorder".ljust(40, b"\0"),
        struct.pack("<h", fs),
        bytes(80), bytes(80), bytes(88),
    ])  # fmt: skip
    assert len(header) == 512
    crc = _crc_ccitt_bitwise(header + var_block)
    body = counts.T.astype("<i2").tobytes()  # (samples, leads) interleaved
    path.write_bytes(b"ISHNE1.0" + struct.pack("<H", crc) + header + var_block + body)


@pytest.fixture(scope="module")
def ptbxl(ptbxl_dir):
    return read_record(ptbxl_dir / "00001_hr.hea")


def test_ishne_written_from_ptbxl(ptbxl, tmp_path):
    counts = np.round(ptbxl.signals / 0.001).astype(np.int64)  # 1 uV per count
    path = tmp_path / "holter.ecg"
    write_ishne(path, counts, 500, list(ptbxl.lead_names), 1000, var_block=b"note: test")
    assert detect_format(path).name == "ishne"
    rec = read_record(path)
    assert rec.format_name == "ISHNE Holter" and rec.warnings == ()
    assert rec.lead_names == ptbxl.lead_names == STANDARD_LEADS
    assert rec.fs_hz == 500 and rec.n_samples == ptbxl.n_samples
    np.testing.assert_allclose(rec.signals, counts * 0.001, atol=1e-6)
    assert rec.metadata["patient name"] == "LOVELACE, ADA" and rec.metadata["sex"] == "female"
    assert rec.metadata["birth date"] == "1815-12-10"
    assert rec.start_time == dt.datetime(2021, 4, 3, 8, 30, 15)


def test_ishne_truncated_and_damaged(ptbxl, tmp_path):
    counts = np.round(ptbxl.signals[:3] / 0.005).astype(np.int64)
    path = tmp_path / "h.ecg"
    write_ishne(path, counts, 500, ["I", "II", "V1"], 5000)
    raw = path.read_bytes()
    path.write_bytes(raw[: 522 + 3 * 2 * 1000 + 3])  # 1000 whole frames and a partial one
    rec = read_record(path)
    assert rec.n_samples == 1000 and any("truncated" in w for w in rec.warnings)
    np.testing.assert_allclose(rec.lead("V1"), counts[2, :1000] * 0.005, atol=1e-6)
    damaged = bytearray(raw)
    damaged[30] ^= 0xFF  # inside the patient name: still readable, but the CRC no longer matches
    path.write_bytes(bytes(damaged))
    assert any("checksum" in w for w in read_record(path).warnings)
    damaged = bytearray(raw)
    damaged[14:18] = struct.pack("<i", 2_000_000_000)  # samples per lead
    path.write_bytes(bytes(damaged))
    with pytest.raises(EcgReadError, match="declares"):
        read_record(path)


def _write_edf_with_pyedflib(path, rec, file_type, extra_channels=()):
    headers, data = [], []
    for name in rec.lead_names:
        x = rec.lead(name).astype(np.float64) * 1000.0  # written in uV
        headers.append({"label": f"ECG {name}", "dimension": "uV", "sample_frequency": rec.fs_hz,
                        "physical_min": -10000.0, "physical_max": 10000.0,
                        "digital_min": -8388608 if file_type == pyedflib.FILETYPE_BDFPLUS else -32768,
                        "digital_max": 8388607 if file_type == pyedflib.FILETYPE_BDFPLUS else 32767,
                        "transducer": "", "prefilter": ""})  # fmt: skip
        data.append(x)
    for label, dim, fs in extra_channels:
        n = int(rec.duration_s * fs)
        headers.append({"label": label, "dimension": dim, "sample_frequency": fs, "physical_min": -100.0,
                        "physical_max": 100.0, "digital_min": -32768, "digital_max": 32767,
                        "transducer": "", "prefilter": ""})  # fmt: skip
        data.append(np.sin(np.arange(n) / 10.0) * 50)
    if file_type == pyedflib.FILETYPE_BDFPLUS:
        for h in headers:
            h["digital_min"], h["digital_max"] = -8388608, 8388607
    with pyedflib.EdfWriter(str(path), len(headers), file_type=file_type) as w:
        w.setSignalHeaders(headers)
        w.setPatientName("Test_Person")
        w.setPatientCode("PC-7")
        w.setSex(1)
        w.writeSamples(data)


@pytest.mark.parametrize("kind", ["edf+", "bdf+"])
def test_edf_plus_and_bdf_from_pyedflib_choose_ecg_channels(ptbxl, tmp_path, kind):
    file_type = pyedflib.FILETYPE_BDFPLUS if kind == "bdf+" else pyedflib.FILETYPE_EDFPLUS
    path = tmp_path / ("rec.bdf" if kind == "bdf+" else "rec.edf")
    extra = [("EEG C3", "uV", 500.0), ("Resp", "mV", 25.0)]
    _write_edf_with_pyedflib(path, ptbxl, file_type, extra)
    assert detect_format(path).name == "edf"
    rec = read_record(path)
    assert rec.format_name == kind.upper()
    assert rec.lead_names == STANDARD_LEADS  # "ECG I" ... chosen by label, EEG and Resp left out
    assert any("EEG C3" in w and "Resp" in w for w in rec.warnings)
    assert rec.metadata["patient name"] == "Test Person" and rec.metadata["sex"] == "male"
    step = 20.0 / (2**24 - 1 if kind == "bdf+" else 2**16 - 1)  # mV per digital unit
    np.testing.assert_allclose(rec.signals, ptbxl.signals, atol=step)
    chosen = read_record(path, channels=["EEG C3"])
    assert chosen.lead_names == ("EEG C3",) and chosen.units == ("mV",)


def test_edf_truncated_is_refused(ptbxl, tmp_path):
    path = tmp_path / "t.edf"
    _write_edf_with_pyedflib(path, ptbxl, pyedflib.FILETYPE_EDFPLUS)
    path.write_bytes(path.read_bytes()[:-5000])
    with pytest.raises(EcgReadError, match="truncated"):
        read_record(path)


@pytest.mark.parametrize("suffix", [".edf", ".bdf"])
def test_edf_writer_round_trip(ptbxl, tmp_path, suffix):
    from ecgviewer.core.writers import write_record

    rec = dataclasses.replace(
        ptbxl,
        metadata={**ptbxl.metadata, "patient id": "P-1", "sex": "female", "birth date": "1950-01-02"},
        start_time=dt.datetime(2001, 2, 3, 4, 5, 6),
    )
    (out,) = write_record(rec, tmp_path / f"x{suffix}")
    back = read_record(out)
    assert back.lead_names == rec.lead_names and back.fs_hz == rec.fs_hz and back.n_samples == rec.n_samples
    assert back.start_time == rec.start_time
    assert back.metadata["patient id"] == "P-1" and back.metadata["sex"] == "female"
    span = rec.signals.max(axis=1) - rec.signals.min(axis=1)
    step = span / (2**16 - 1 if suffix == ".edf" else 2**24 - 1)
    assert np.all(np.abs(back.signals - rec.signals).max(axis=1) <= 2 * step + 1e-6)


def test_convert_cli_to_edf_and_wfdb(shared_data, tmp_path, capsys):
    src = shared_data / "formats" / "scp-ecg" / "ecgtoolkit_Example.scp"
    assert cli_main(["convert", str(src), str(tmp_path / "a.edf"), "--anonymize"]) == 0
    edf = read_record(tmp_path / "a.edf")
    assert "patient name" not in edf.metadata and "patient id" not in edf.metadata
    np.testing.assert_allclose(edf.signals, read_record(src).signals, atol=2e-3)
    assert cli_main(["convert", str(src), str(tmp_path / "b"), "--format", "wfdb"]) == 0
    wfdb_rec = read_record(tmp_path / "b.hea")
    assert wfdb_rec.metadata.get("patient name") == "Clark"  # kept unless --anonymize
    np.testing.assert_allclose(wfdb_rec.signals, read_record(src).signals, atol=1e-3)
    csv = shared_data / "formats" / "csv" / "contec_0000050.csv"
    assert cli_main(["convert", str(csv), str(tmp_path / "c.edf"), "--fs-hz", "800", "--units", "5uV"]) == 0
    assert read_record(tmp_path / "c.edf").fs_hz == 800
    assert cli_main(["convert", str(tmp_path / "missing.scp"), str(tmp_path / "d.edf")]) == 1
    assert "not found" in capsys.readouterr().err


def test_info_hides_patient_fields_unless_asked(shared_data, capsys):
    path = str(shared_data / "formats" / "ge-muse-xml" / "muse-sinus.xml")
    assert cli_main(["info", path]) == 0
    text = capsys.readouterr().out
    assert "081486213" not in text and "DOE" not in text and "patient field(s) hidden" in text
    assert "device measurements" in text and "qt_ms 402" in text and "units: mV" in text
    assert cli_main(["info", path, "--json"]) == 0
    (doc,) = json.loads(capsys.readouterr().out)
    assert "patient id" not in doc["metadata"] and doc["patient_fields_hidden"] == 6
    assert doc["vendor_measurements"]["values"]["qrs_ms"] == 86
    assert doc["metadata"]["device"] == "MV360"
    assert cli_main(["info", path, "--json", "--show-patient"]) == 0
    (doc,) = json.loads(capsys.readouterr().out)
    assert doc["metadata"]["patient id"] == "081486213" and doc["metadata"]["patient name"] == "DOE, JOHN"
    assert cli_main(["info", path, "--waveform", "median", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["n_samples"] == 600
