"""Formats without a shared fixture (ISHNE, BDF, EDF+ with mixed channels) and files from the wild
(a CSV/TSV device export with metadata lines before the header row, SCP-ECG numbering its samples
from 0), tested on files this test writes from a real PTB-XL record, plus the EDF writer,
``ecgviewer convert`` and ``info``.

The ISHNE and SCP-ECG writers here follow the ISHNE 1.0 and EN 1064 specifications on their own
(struct layout and a bitwise CRC-CCITT), independently of the readers; EDF+/BDF files are written
by pyedflib; the PTB-XL source is read with the ``wfdb`` package.
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
from ecgviewer.core.readers.scp_reader import LEAD_CODES

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


#: The issue's device export: metadata lines, then the header row (PTB-XL's lead spelling), then counts.
DEVICE_PREAMBLE = (
    "Device: CardioExport 3.1",
    "Patient ID: 0042",
    "Sampling Rate (Hz): 500",
    "Gain (digit/millivolt): 2048",
    "Recorded: 2021-04-03, 08:30",
    "",
)


def write_preamble_csv(path, signals_mv: np.ndarray, names, preamble=DEVICE_PREAMBLE, gain=2048.0, delim=","):
    """A device export: ``preamble`` lines, a header row of ``names`` (none when empty), then integer counts.

    Returns the counts written, (samples, leads).
    """
    counts = np.round(np.asarray(signals_mv, dtype=np.float64).T * gain).astype(np.int64)
    lines = list(preamble) + ([delim.join(names)] if names else [])
    lines += [delim.join(str(v) for v in row) for row in counts]
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")
    return counts


def _section(sec_id: int, body: bytes) -> bytes:
    """An SCP-ECG section: CRC, id, length, version, protocol, 6 reserved bytes ("SCPECG" in section 0)."""
    body = body + b"\0" * (len(body) % 2)  # sections have an even length
    rest = (
        struct.pack("<HIBB", sec_id, 16 + len(body), 20, 20) + (b"SCPECG" if sec_id == 0 else bytes(6)) + body
    )
    return struct.pack("<H", _crc_ccitt_bitwise(rest)) + rest


def write_scp(path, counts: np.ndarray, fs: int, leads: list[str], avm_nv: int, first: int = 1, last=None):
    """SCP-ECG (EN 1064) with rhythm data uncompressed (no section 2, no differences): sections 0, 1, 3, 6.

    ``first``/``last`` are the sample numbers section 3 declares for every lead, or one per lead
    (the standard: 1 and the number of samples).
    """
    n_leads, n = counts.shape
    last = n if last is None else last
    firsts = list(first) if np.ndim(first) else [first] * n_leads
    lasts = list(last) if np.ndim(last) else [last] * n_leads
    code = {name: c for c, name in LEAD_CODES.items()}
    s1 = b"".join([struct.pack("<BH", 0, 9) + b"LOVELACE\0", struct.pack("<BH", 8, 1) + b"\x02",
                   struct.pack("<BH", 255, 0)])  # fmt: skip
    s3 = struct.pack("<BB", n_leads, 0b100) + b"".join(
        struct.pack("<IIB", f, e, code[x]) for f, e, x in zip(firsts, lasts, leads)
    )
    s6 = struct.pack("<HHBB", avm_nv, 1_000_000 // fs, 0, 0) + struct.pack(
        f"<{n_leads}H", *([2 * n] * n_leads)
    )
    s6 += counts.astype("<i2").tobytes()  # lead after lead
    bodies = {1: _section(1, s1), 3: _section(3, s3), 6: _section(6, s6)}
    pointers_len = 16 + 12 * 10
    index = 6 + pointers_len + 1  # 1-based byte number of the first section after section 0
    pointers = b""
    for sec_id in range(12):
        if sec_id == 0:
            pointers += struct.pack("<HII", 0, pointers_len, 7)
        elif sec_id in bodies:
            pointers += struct.pack("<HII", sec_id, len(bodies[sec_id]), index)
            index += len(bodies[sec_id])
        else:
            pointers += struct.pack("<HII", sec_id, 0, 0)
    record = _section(0, pointers) + b"".join(bodies[k] for k in sorted(bodies))
    size = 6 + len(record)
    rest = struct.pack("<I", size) + record
    path.write_bytes(struct.pack("<H", _crc_ccitt_bitwise(rest)) + rest)


def renumber_scp_leads(raw: bytes, first: int, last: int) -> bytes:
    """``raw`` with every lead of section 3 declaring samples ``first``..``last``; CRCs recomputed."""
    data = bytearray(raw)
    (length0,) = struct.unpack_from("<I", data, 6 + 4)
    for p in range(6 + 16, 6 + length0 - 9, 10):
        sec_id, length, index = struct.unpack_from("<HII", data, p)
        if sec_id == 3:
            start = index - 1
            for k in range(data[start + 16]):
                struct.pack_into("<II", data, start + 16 + 2 + 9 * k, first, last)
            struct.pack_into("<H", data, start, _crc_ccitt_bitwise(bytes(data[start + 2 : start + length])))
    (size,) = struct.unpack_from("<I", data, 2)
    struct.pack_into("<H", data, 0, _crc_ccitt_bitwise(bytes(data[2:size])))
    return bytes(data)


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


# -- files from the wild: CSV/TSV with a preamble, SCP-ECG numbered from 0 ------------------------
@pytest.fixture(scope="module")
def ptbxl_wfdb(ptbxl_dir):
    """PTB-XL record 00001 read by the wfdb package (not by our reader): the source of the written files."""
    wfdb = pytest.importorskip("wfdb")
    return wfdb.rdrecord(str(ptbxl_dir / "00001_hr"))


def test_csv_device_export_with_preamble(ptbxl_wfdb, tmp_path):
    path = tmp_path / "export.csv"
    counts = write_preamble_csv(path, ptbxl_wfdb.p_signal.T, ptbxl_wfdb.sig_name)  # "AVR" ... as PTB-XL
    assert detect_format(path).name == "csv"
    rec = read_record(path)
    assert rec.format_name == "CSV" and rec.warnings == ()
    assert rec.fs_hz == 500 and rec.lead_names == STANDARD_LEADS and rec.n_samples == 5000
    np.testing.assert_array_equal(rec.signals, (counts.T / 2048.0).astype(np.float32))
    # within the count quantisation of the source (and float32 rounding)
    np.testing.assert_allclose(rec.signals, ptbxl_wfdb.p_signal.T, rtol=0, atol=0.5 / 2048 + 1e-6)
    assert rec.metadata["Device"] == "CardioExport 3.1" and rec.metadata["Recorded"] == "2021-04-03, 08:30"
    assert rec.metadata["Patient ID"] == "0042"


@pytest.mark.parametrize(
    "preamble",
    [
        (
            "Sample rate,500 Hz,,,,,,,,,,",
            "Gain,2048,,,,,,,,,,",
            "Operator,Dr X,,,,,,,,,,",
        ),  # spreadsheet padding
        ("# fs = 500", "# gain (counts/mV) = 2048"),
        ("Sampling frequency: 0.5 kHz", "Resolution: 0.48828125 uV/digit"),
        ("[Header]", "fs_hz;500", "Gain (adu/mV);2048", "[Data]"),
    ],
)
def test_csv_preamble_spellings(ptbxl_wfdb, tmp_path, preamble):
    path = tmp_path / "export.csv"
    delim = ";" if "fs_hz;500" in preamble else ","
    counts = write_preamble_csv(
        path, ptbxl_wfdb.p_signal.T[:, :1500], ptbxl_wfdb.sig_name, preamble, delim=delim
    )
    assert detect_format(path).name == "csv"
    rec = read_record(path)
    assert rec.fs_hz == 500 and rec.lead_names == STANDARD_LEADS and rec.warnings == ()
    np.testing.assert_allclose(rec.signals, counts.T / 2048.0, rtol=1e-6, atol=1e-7)


def test_tsv_headerless_with_leads_line_step_and_baseline(ptbxl_wfdb, tmp_path):
    path = tmp_path / "export.tsv"
    preamble = ("# exported by a Holter tool", "Sampling frequency\t1 kHz", "Resolution (uV/digit): 5",
                "Baseline = 1000", "Leads: I II III aVR aVL aVF V1 V2 V3 V4 V5 V6")  # fmt: skip
    counts = np.round(ptbxl_wfdb.p_signal / 0.005).astype(np.int64) + 1000  # 5 uV per count, zero at 1000
    body = ["\t".join(str(v) for v in row) for row in counts]
    path.write_text("\n".join([*preamble, *body]) + "\n")
    assert detect_format(path).name == "csv"
    rec = read_record(path)
    assert rec.fs_hz == 1000 and rec.lead_names == STANDARD_LEADS and rec.warnings == ()
    np.testing.assert_allclose(rec.signals, (counts.T - 1000) * 0.005, atol=1e-6)
    np.testing.assert_allclose(rec.signals, ptbxl_wfdb.p_signal.T, atol=0.0025 + 1e-6)
    assert rec.metadata["notes"] == "exported by a Holter tool"


def test_csv_preamble_is_overridden_by_the_caller(ptbxl_wfdb, tmp_path, capsys):
    path = tmp_path / "export.csv"
    counts = write_preamble_csv(path, ptbxl_wfdb.p_signal.T[:, :1000], ptbxl_wfdb.sig_name)
    rec = read_record(path, fs_hz=250, units="uV")  # units= replaces the file's gain
    assert rec.fs_hz == 250
    np.testing.assert_allclose(rec.signals, counts.T * 1e-3, atol=1e-6)
    assert read_record(path, units="2048uV").signals.max() == pytest.approx(counts.max() * 2.048, rel=1e-6)
    assert cli_main(["info", str(path), "--json", "--fs-hz", "360"]) == 0
    (doc,) = json.loads(capsys.readouterr().out)
    assert doc["fs_hz"] == 360 and doc["recorded_leads"] == list(STANDARD_LEADS)
    assert "Patient ID" not in doc["metadata"]  # a patient field: hidden by info
    # a preamble value the reader cannot use is no error when the caller gives that quantity
    bad = ("Sampling Rate (Hz): n/a", "Gain (digit/millivolt): unknown", "Gain: 10 mm/mV", "Speed: 25 mm/s")
    counts = write_preamble_csv(path, ptbxl_wfdb.p_signal.T[:, :1000], ptbxl_wfdb.sig_name, bad)
    with pytest.raises(EcgReadError, match=r"line 1: sampling rate 'n/a' is not a number; --fs-hz"):
        read_record(path)
    with pytest.raises(EcgReadError, match=r"line 2: gain 'unknown' is not a number; --units \(units=\)"):
        read_record(path, fs_hz=500)
    rec = read_record(path, fs_hz=500, units="0.5uV")
    np.testing.assert_allclose(rec.signals, counts.T * 0.0005, rtol=1e-6)
    assert rec.metadata["Gain"] == "10 mm/mV" and rec.metadata["Speed"] == "25 mm/s"


@pytest.mark.parametrize(
    ("preamble_line", "row", "fragment"),
    [
        ("Gain (digit/millivolt): none", None, "line 2: gain 'none' is not a number"),
        ("Sampling Rate (Hz): 0", None, "line 2: sampling rate '0' is not a positive number"),
        ("Gain (furlong/fortnight): 3", None, "gain unit 'furlong/fortnight' not understood"),
        ("Units: parsecs", None, "unit 'parsecs' not understood"),
        (
            "Sampling Rate (Hz): 500",
            "1,2,3,4,5,6,7,8,9,10,11,12,13",
            "line 5 has 13 fields, not 12",
        ),  # header: line 3
        ("Sampling Rate (Hz): 500", "1,2,x,4,5,6,7,8,9,10,11,12", "could not convert string to float: 'x'"),
    ],
)
def test_malformed_csv_export_one_line_error(ptbxl_wfdb, tmp_path, capsys, preamble_line, row, fragment):
    path = tmp_path / "bad.csv"
    write_preamble_csv(path, ptbxl_wfdb.p_signal.T[:, :20], ptbxl_wfdb.sig_name, ("Device: X", preamble_line))
    if row is not None:
        lines = path.read_text().splitlines()
        path.write_text("\n".join([*lines[:4], row, *lines[4:]]) + "\n")
    with pytest.raises(EcgReadError) as info:
        read_record(path)
    message = str(info.value)
    assert message.startswith(str(path)) and fragment in message and "\n" not in message, message
    assert cli_main(["info", str(path)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and fragment in err


def test_scp_written_from_the_specification(ptbxl, tmp_path):
    counts = np.round(ptbxl.signals / 0.005).astype(np.int64)  # 5 uV per count
    path = tmp_path / "spec.scp"
    write_scp(path, counts, 500, list(ptbxl.lead_names), 5000)
    assert detect_format(path).name == "scp"
    rec = read_record(path)
    assert rec.warnings == () and rec.lead_names == STANDARD_LEADS and rec.fs_hz == 500
    assert rec.metadata["patient name"] == "LOVELACE" and rec.metadata["sex"] == "female"
    np.testing.assert_allclose(rec.signals, counts * 0.005, atol=1e-6)


ZERO_BASED = "section 3 numbers the lead samples from 0 (the standard counts from 1); read as 0-based"


@pytest.mark.parametrize("last", ["n - 1", "n"])  # 0-based inclusive, or "last" holding the count
def test_scp_numbered_from_zero_is_read_with_a_warning(ptbxl, tmp_path, last):
    counts = np.round(ptbxl.signals / 0.005).astype(np.int64)
    n = counts.shape[1]
    path = tmp_path / "zero.scp"
    write_scp(path, counts, 500, list(ptbxl.lead_names), 5000, first=0, last=n - 1 if last == "n - 1" else n)
    rec = read_record(path)
    assert rec.warnings == (ZERO_BASED,)
    assert rec.n_samples == n and rec.lead_names == STANDARD_LEADS
    np.testing.assert_allclose(rec.signals, counts * 0.005, atol=1e-6)


def test_shared_scp_renumbered_from_zero_equals_the_original(shared_data, tmp_path):
    src = shared_data / "formats" / "scp-ecg" / "ecgtoolkit_Example.scp"  # Huffman, second differences
    original = read_record(src)
    path = tmp_path / "zero.scp"
    path.write_bytes(renumber_scp_leads(src.read_bytes(), 0, 4999))
    rec = read_record(path)
    assert rec.warnings == (ZERO_BASED,)  # no checksum warning: the CRCs were recomputed
    assert rec.lead_names == original.lead_names and rec.fs_hz == original.fs_hz
    np.testing.assert_array_equal(rec.signals, original.signals)
    path.write_bytes(renumber_scp_leads(src.read_bytes(), 1, 5000))  # the numbers it had: the writer is exact
    assert read_record(path).warnings == ()


def test_scp_leads_recorded_one_group_after_another(ptbxl, tmp_path):
    counts = np.round(ptbxl.signals[:, :500] / 0.005).astype(np.int64)
    starts = [1 + 500 * (k // 3) for k in range(12)]  # a 3-channel cart: I-III, then aVR-aVF, V1-V3, V4-V6
    path = tmp_path / "groups.scp"
    write_scp(path, counts, 500, list(ptbxl.lead_names), 5000, first=starts, last=[s + 499 for s in starts])
    rec = read_record(path)
    assert rec.n_samples == 2000 and any("different spans" in w for w in rec.warnings)
    np.testing.assert_allclose(rec.lead("V4")[1500:], counts[9] * 0.005, atol=1e-6)
    assert not rec.lead("V4")[:1500].any()


def test_scp_lead_ending_before_it_starts_is_refused_with_its_reason(ptbxl, shared_data, tmp_path):
    src = shared_data / "formats" / "scp-ecg" / "ecgtoolkit_Example.scp"
    path = tmp_path / "bad.scp"
    path.write_bytes(renumber_scp_leads(src.read_bytes(), 100, 10))
    with pytest.raises(EcgReadError) as info:
        read_record(path)
    assert str(info.value) == f"{path}: section 3: lead 1 (I) ends at sample 10, before its first sample 100"
    counts = np.round(ptbxl.signals[:, :100] / 0.005).astype(np.int64)
    write_scp(path, counts, 500, list(ptbxl.lead_names), 5000, first=0, last=0)  # one sample per lead
    with pytest.raises(EcgReadError, match="fewer than two samples"):
        read_record(path)
    # a damaged start far beyond the data: refused before allocating 12 x 16.8 M samples
    write_scp(path, counts, 500, list(ptbxl.lead_names), 5000, first=[1 << 24] + [1] * 11,
              last=[(1 << 24) + 99] + [100] * 11)  # fmt: skip
    with pytest.raises(EcgReadError) as info:
        read_record(path)
    assert str(info.value).endswith(
        "section 3: lead 1 (I) starts at sample 16,777,216, after the 1,200 samples all leads hold together"
    )


@pytest.mark.parametrize("encoding", ["latin-1", "utf-8-sig"])
def test_csv_preamble_in_latin1_or_with_a_byte_order_mark(tmp_path, encoding):
    path = tmp_path / "export.csv"
    rows = "\n".join(f"{i},{-i}" for i in range(-50, 50))
    path.write_bytes(f"Sampling rate: 250 Hz\nResolution: 5 µV\nI,II\n{rows}\n".encode(encoding))
    assert detect_format(path).name == "csv"
    rec = read_record(path)
    assert rec.fs_hz == 250 and rec.lead_names == ("I", "II") and rec.warnings == ()
    np.testing.assert_allclose(rec.lead("II")[:2], [0.25, 0.245], atol=1e-7)


@pytest.mark.parametrize(
    ("units_row", "scale", "fs"), [("s,mV,mV", 1.0, 500), ("(ms);[uV];[uV]", 1000.0, 500)]
)
def test_csv_units_row_under_the_header(ptbxl_wfdb, tmp_path, units_row, scale, fs):
    delim = ";" if ";" in units_row else ","
    t = np.arange(1000) / 500 * (1000.0 if "ms" in units_row else 1.0)
    x = np.round(ptbxl_wfdb.p_signal[:1000, :2] * scale, 3)
    body = [delim.join(f"{v:.6g}" for v in (ti, *row)) for ti, row in zip(t, x)]
    path = tmp_path / "units.csv"
    path.write_text("\n".join(["Device: X", delim.join(["Time", "I", "II"]), units_row, *body]) + "\n")
    assert detect_format(path).name == "csv"
    rec = read_record(path)
    assert rec.lead_names == ("I", "II") and rec.fs_hz == pytest.approx(fs) and rec.warnings == ()
    np.testing.assert_allclose(rec.signals, x.T / scale, atol=1e-6)
