"""Golden tests of the clinical-format readers on the fixtures in ../shared/data/formats.

Each reader is checked against an independent reading: the field library (sierraecg,
pydicom, pyedflib), the file's own numbers parsed here with the standard library, or
another encoding of the same recording (the HL7 example is also in DICOM and SCP form;
the Contec recording is in EDF, SCP and CSV form).
"""

from __future__ import annotations

import base64
import re
import struct
import xml.etree.ElementTree as ET

import numpy as np
import pydicom
import pyedflib
import pytest
import sierraecg  # the test extra: the reference reader of Philips XML

from ecgviewer.core import EcgReadError, read_record
from ecgviewer.core.leads import INDEPENDENT_LEADS, STANDARD_LEADS, normalize_lead_name
from ecgviewer.core.readers import detect_format

FIXTURES = {
    "ge-muse-xml/braveheart_example1.xml": "muse-xml",
    "ge-muse-xml/braveheart_example2.xml": "muse-xml",
    "ge-muse-xml/muse-sinus.xml": "muse-xml",
    "philips-sierra-xml/129DYPRG.XML": "philips-xml",
    "philips-sierra-xml/3191723_ZZDEMOPTONLY_1-04_orig.xml": "philips-xml",
    "hl7-aecg/hl7_2003-12_example_aecg.xml": "hl7-aecg",
    "hl7-aecg/liryc_hl7aecg_example.xml": "hl7-aecg",
    "dicom/pydicom_waveform_ecg.dcm": "dicom",
    "dicom/ecgtoolkit_Example.dcm": "dicom",
    "edf/contec_0000050.edf": "edf",
    "edf/kardiamobile-6l-ecg.edf": "edf",
    "scp-ecg/contec_0000050.scp": "scp",
    "scp-ecg/ecgtoolkit_Example.scp": "scp",
    "csv/contec_0000050.csv": "csv",
    "ge-muse-xml/muse-sinus.hea": "wfdb",
}


@pytest.fixture(scope="module")
def formats(shared_data):
    return shared_data / "formats"


def test_every_fixture_is_listed(formats):
    on_disk = {
        str(p.relative_to(formats))
        for p in formats.rglob("*")
        if p.is_file() and p.suffix.lower() not in (".md", ".dat")
    }
    assert on_disk == set(FIXTURES)


@pytest.mark.parametrize(("rel", "reader"), FIXTURES.items())
def test_each_fixture_is_detected_as_its_own_format(formats, rel, reader):
    assert detect_format(formats / rel).name == reader


# muse-sinus.hea is left out: its converter scaled it 5x (see test_muse_matches_its_wfdb_twin)
@pytest.mark.parametrize("rel", [r for r in FIXTURES if not r.endswith(".hea")])
def test_each_fixture_reads_to_a_plausible_ecg(formats, rel):
    rec = read_record(formats / rel)
    assert rec.n_leads >= 1 and rec.n_samples >= 500
    assert set(rec.units) == {"mV"}
    assert np.all(np.isfinite(rec.signals))
    # real ECG amplitudes: some lead peaks between 0.2 and 8 mV (never volts or microvolts)
    peak = float(np.max(np.abs(rec.signals)))
    assert 0.2 < peak < 8.0, peak


# -- GE MUSE ----------------------------------------------------------------------------------
MUSE_12SL = {  # the file's own 12SL numbers, as SOURCE.md lists them
    "braveheart_example1.xml": (48, 138, 96, 452, 403),
    "braveheart_example2.xml": (65, 184, 100, 420, 437),
    "muse-sinus.xml": (90, 144, 86, 402, 491),
}


@pytest.mark.parametrize("name", MUSE_12SL)
def test_muse_leads_rate_and_12sl_measurements(formats, name):
    rec = read_record(formats / "ge-muse-xml" / name)
    assert rec.format_name == "GE MUSE XML"
    assert rec.fs_hz == 500 and rec.n_samples == 5000
    assert rec.lead_names == INDEPENDENT_LEADS
    assert rec.derived_leads == ("III", "aVR", "aVL", "aVF")
    v = rec.vendor_measurements.values
    assert (v["hr_bpm"], v["pr_ms"], v["qrs_ms"], v["qt_ms"], v["qtc_ms"]) == MUSE_12SL[name]
    median = read_record(formats / "ge-muse-xml" / name, waveform="median")
    assert median.signals.shape == (8, 600) and median.fs_hz == 500


def test_muse_samples_equal_the_base64_in_the_file(formats):
    path = formats / "ge-muse-xml" / "braveheart_example2.xml"
    root = ET.parse(path).getroot()
    rhythm = next(w for w in root.iter("Waveform") if w.findtext("WaveformType") == "Rhythm")
    rec = read_record(path)
    for lead in rhythm.iter("LeadData"):
        raw = base64.b64decode("".join(lead.findtext("WaveFormData").split()))
        counts = np.array(struct.unpack(f"<{len(raw) // 2}h", raw), dtype=np.float64)
        per_bit = float(lead.findtext("LeadAmplitudeUnitsPerBit")) * 1e-3
        np.testing.assert_allclose(rec.lead(lead.findtext("LeadID")), counts * per_bit, rtol=1e-6, atol=1e-7)


def test_muse_matches_its_wfdb_twin(formats):
    # The EGM package's WFDB conversion stores microvolts (rounded) but declares 200 adu/mV, so its
    # physical values are 5x ours; its digital values are ours in uV -- for the 8 stored leads and
    # for the 4 limb leads it computed where we derive them.
    import wfdb

    xml = read_record(formats / "ge-muse-xml" / "muse-sinus.xml")
    twin = wfdb.rdrecord(str(formats / "ge-muse-xml" / "muse-sinus"), physical=False)
    assert twin.adc_gain == [200.0] * 12
    for i, name in enumerate(twin.sig_name):
        lead = normalize_lead_name(name)
        np.testing.assert_array_equal(np.round(xml.lead(lead) * 1000), twin.d_signal[:, i], err_msg=lead)


# -- Philips ------------------------------------------------------------------------------------
PHILIPS = ["129DYPRG.XML", "3191723_ZZDEMOPTONLY_1-04_orig.xml"]


@pytest.mark.parametrize("name", PHILIPS)
def test_philips_equals_sierraecg(formats, name):
    path = formats / "philips-sierra-xml" / name
    rec = read_record(path)
    ref = sierraecg.read_file(str(path))
    assert rec.format_name == "Philips XML" and rec.fs_hz == 500
    assert rec.lead_names == STANDARD_LEADS and rec.n_samples == 5500
    for lead in ref.leads:
        np.testing.assert_array_equal(np.round(rec.lead(lead.label) / 0.005).astype(int), lead.samples)


def _philips_number(path, tag):
    text = path.read_bytes().decode("utf-16" if path.read_bytes()[:2] == b"\xff\xfe" else "utf-8")
    block = text[text.index("<interpretation ") :]
    return float(re.search(rf"<{tag}[^>]*>([-0-9.]+)</{tag}>", block).group(1))


def test_philips_vendor_measurements_are_the_interpretation_values(formats):
    v104 = formats / "philips-sierra-xml" / "3191723_ZZDEMOPTONLY_1-04_orig.xml"
    m = read_record(v104).vendor_measurements.values
    assert m["hr_bpm"] == _philips_number(v104, "heartrate") == 84
    assert (m["qrs_ms"], m["qt_ms"], m["rr_ms"]) == tuple(
        _philips_number(v104, t) for t in ("qrsdur", "qtint", "rrint")
    )
    v103 = formats / "philips-sierra-xml" / "129DYPRG.XML"
    m = read_record(v103).vendor_measurements.values
    assert m["hr_bpm"] == 41 and m["qt_ms"] == _philips_number(v103, "meanqtint")


def test_philips_median_beats(formats):
    rec = read_record(formats / "philips-sierra-xml" / PHILIPS[1], waveform="median")
    assert rec.signals.shape == (12, 1200)  # 2400 ms at 500 Hz
    with pytest.raises(EcgReadError, match="representative beats"):
        read_record(formats / "philips-sierra-xml" / PHILIPS[0], waveform="median")


# -- HL7 aECG, DICOM and SCP: one recording in three encodings ---------------------------------
def test_hl7_dicom_and_scp_hold_the_same_ecg(formats):
    hl7 = read_record(formats / "hl7-aecg" / "hl7_2003-12_example_aecg.xml")
    dcm = read_record(formats / "dicom" / "ecgtoolkit_Example.dcm")
    scp = read_record(formats / "scp-ecg" / "ecgtoolkit_Example.scp")
    for rec in (hl7, dcm, scp):
        assert rec.fs_hz == 500 and rec.n_samples == 5000
        assert set(rec.lead_names) == set(STANDARD_LEADS)
    for lead in STANDARD_LEADS:
        np.testing.assert_allclose(hl7.lead(lead), dcm.lead(lead), atol=1e-6)
        np.testing.assert_allclose(hl7.lead(lead), scp.lead(lead), atol=1e-6)
    assert hl7.vendor_measurements.values["pr_ms"] == scp.vendor_measurements.values["pr_ms"] == 148
    for key in ("qrs_ms", "qt_ms", "qtc_ms", "p_axis_deg", "qrs_axis_deg", "t_axis_deg"):
        assert hl7.vendor_measurements.values[key] == scp.vendor_measurements.values[key]
        assert hl7.vendor_measurements.values[key] == dcm.vendor_measurements.values[key]


def test_hl7_digits_scaled_as_the_file_says(formats):
    path = formats / "hl7-aecg" / "hl7_2003-12_example_aecg.xml"
    text = path.read_text(encoding="utf-8")
    first = re.search(
        r"MDC_ECG_LEAD_V1\".*?<scale value=\"([0-9.]+)\".*?<digits>([-0-9 \s]+)</digits>", text, re.S
    )
    digits = np.array(first.group(2).split(), dtype=float)
    np.testing.assert_allclose(read_record(path).lead("V1"), digits * float(first.group(1)) * 1e-3, atol=1e-7)


def test_hl7_median_and_the_synthetic_example(formats):
    median = read_record(formats / "hl7-aecg" / "hl7_2003-12_example_aecg.xml", waveform="median")
    scp_median = read_record(formats / "scp-ecg" / "ecgtoolkit_Example.scp", waveform="median")
    assert median.signals.shape == scp_median.signals.shape == (12, 599)
    np.testing.assert_allclose(median.lead("II"), scp_median.lead("II"), atol=1e-6)
    liryc = read_record(formats / "hl7-aecg" / "liryc_hl7aecg_example.xml")
    assert liryc.fs_hz == 100 and liryc.n_samples == 1000 and liryc.lead_names == STANDARD_LEADS


def test_dicom_equals_the_raw_waveform_bytes(formats):
    path = formats / "dicom" / "pydicom_waveform_ecg.dcm"
    rec = read_record(path)
    ds = pydicom.dcmread(path)
    group = ds.WaveformSequence[0]
    raw = np.frombuffer(group.WaveformData, dtype="<i2").reshape(-1, group.NumberOfWaveformChannels)
    sens = [float(ch.ChannelSensitivity) for ch in group.ChannelDefinitionSequence]
    assert rec.fs_hz == 1000 and rec.n_samples == 10_000 and rec.lead_names == STANDARD_LEADS
    np.testing.assert_allclose(rec.signals, (raw * np.array(sens)).T * 1e-3, atol=1e-6)  # uV -> mV
    v = rec.vendor_measurements.values
    assert (v["rr_ms"], v["pr_ms"], v["qrs_ms"], v["qt_ms"]) == (982, 161, 75, 368)
    assert read_record(path, waveform="median").signals.shape == (12, 1200)


# -- EDF, SCP and CSV: the Contec recording ---------------------------------------------------
def test_contec_edf_scp_and_csv_agree(formats):
    edf = read_record(formats / "edf" / "contec_0000050.edf")
    scp = read_record(formats / "scp-ecg" / "contec_0000050.scp")
    csv = read_record(formats / "csv" / "contec_0000050.csv", fs_hz=800, units="5uV")
    assert edf.fs_hz == scp.fs_hz == csv.fs_hz == 800
    assert edf.lead_names == STANDARD_LEADS and edf.n_samples == 37_855
    # contec-ecg2scp's 16-bit byte counts hold 32767 of the 37855 samples; the reader says so
    assert scp.n_samples == 32_767 and any("37,855" in w for w in scp.warnings)
    assert any("5 uV" in w for w in edf.warnings)  # the placeholder header calibration was replaced
    for lead in ("I", "II", "III", "aVR", "aVL", "aVF"):
        np.testing.assert_allclose(edf.lead(lead), csv.lead(lead), atol=1e-6)
        np.testing.assert_allclose(edf.lead(lead)[: scp.n_samples], scp.lead(lead), atol=1e-6)


def test_contec_edf_header_calibration_can_be_kept(formats):
    path = formats / "edf" / "contec_0000050.edf"
    rec = read_record(path, header_calibration=True)
    with pyedflib.EdfReader(str(path)) as ref:
        np.testing.assert_allclose(rec.lead("I"), ref.readSignal(0), atol=1e-5)


def test_kardia_edf_against_pyedflib(formats):
    path = formats / "edf" / "kardiamobile-6l-ecg.edf"
    rec = read_record(path)
    assert rec.lead_names == ("I", "II", "III", "aVR", "aVL", "aVF")
    assert rec.fs_hz == 300 and rec.n_samples == 9000
    assert rec.metadata["sex"] == "male" and "patient name" in rec.metadata
    with pyedflib.EdfReader(str(path)) as ref:
        for k in range(6):
            np.testing.assert_allclose(rec.signals[k], ref.readSignal(k), atol=1e-6)


def test_contec_csv_recognised_without_options(formats):
    plain = read_record(formats / "csv" / "contec_0000050.csv")
    given = read_record(formats / "csv" / "contec_0000050.csv", fs_hz=800, units="5uV")
    assert plain.fs_hz == 800 and any("contec-ecg2csv" in w for w in plain.warnings)
    np.testing.assert_array_equal(plain.signals, given.signals)


def test_csv_counts_flagged(tmp_path):
    counts = np.random.default_rng(0).integers(-400, 400, size=(1000, 3))
    np.savetxt(tmp_path / "c.csv", counts, fmt="%d", delimiter=",", header="I,II,V1", comments="")
    rec = read_record(tmp_path / "c.csv")
    assert any("raw ADC counts" in w for w in rec.warnings)
    np.testing.assert_allclose(read_record(tmp_path / "c.csv", units="5uV").lead("V1"), counts[:, 2] * 0.005)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("EKG aVL", "aVL"), ("Lead I (Einthoven)", "I"), ("MDC_ECG_LEAD_AVF", "aVF"), ("MDC_ECG_LEAD_V3", "V3"),
     ("Lead V6", "V6"), ("ECG", "ECG"), ("EEG C3", "EEG C3")],
)  # fmt: skip
def test_vendor_lead_spellings(raw, expected):
    assert normalize_lead_name(raw) == expected
