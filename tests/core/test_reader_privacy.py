"""Patient data stays local: reading a file logs nothing from it at INFO or above."""

from __future__ import annotations

import logging

import pytest

from ecgviewer.core import EcgReadError, read_record
from ecgviewer.core.privacy import is_patient_field, patient_fields, without_patient_fields

FIXTURES = [
    "ge-muse-xml/muse-sinus.xml",
    "ge-muse-xml/braveheart_example1.xml",
    "philips-sierra-xml/129DYPRG.XML",
    "philips-sierra-xml/3191723_ZZDEMOPTONLY_1-04_orig.xml",
    "hl7-aecg/hl7_2003-12_example_aecg.xml",
    "hl7-aecg/liryc_hl7aecg_example.xml",
    "dicom/pydicom_waveform_ecg.dcm",
    "dicom/ecgtoolkit_Example.dcm",
    "edf/contec_0000050.edf",
    "edf/kardiamobile-6l-ecg.edf",
    "scp-ecg/contec_0000050.scp",
    "scp-ecg/ecgtoolkit_Example.scp",
    "csv/contec_0000050.csv",
    "ge-muse-xml/muse-sinus.hea",
]


def test_no_file_content_is_logged_at_info_or_above(shared_data, caplog):
    patient_values = set()
    with caplog.at_level(logging.DEBUG):
        for rel in FIXTURES:
            for waveform in ("rhythm", "median"):
                try:
                    rec = read_record(shared_data / "formats" / rel, waveform=waveform)
                except EcgReadError:
                    if waveform == "rhythm":
                        raise  # every fixture has a rhythm; only some carry median beats
                    continue
                patient_values |= {v for v in patient_fields(rec.metadata).values() if len(v) >= 3}
    assert {"DOE, JOHN", "081486213", "Clark", "SBJ-123", "Joel Henderson"} <= patient_values
    loud = [r for r in caplog.records if r.levelno >= logging.INFO]
    for record in loud:
        message = record.getMessage()
        leaked = [v for v in patient_values if v in message]
        assert not leaked, f"{record.name} logged {leaked} at {record.levelname}"
    assert not loud, [f"{r.name}: {r.levelname}" for r in loud]  # nothing at all from reading


@pytest.mark.parametrize(
    ("key", "patient"),
    [("patient name", True), ("patient id", True), ("birth date", True), ("age", True), ("sex", True),
     ("race", True), ("height", True), ("weight", True), ("patient identification", True),
     ("PatientID", False), ("record name", False), ("device", False), ("site", False),
     ("device interpretation", False), ("waveform", False), ("Age", True), ("subject id", True)],
)  # fmt: skip
def test_patient_field_names(key, patient):
    # "PatientID" (one word) is not a key our readers use; readers write "patient id"
    assert is_patient_field(key) is patient


def test_split_metadata():
    meta = {"patient name": "X", "device": "cart", "age": "40"}
    assert without_patient_fields(meta) == {"device": "cart"}
    assert patient_fields(meta) == {"patient name": "X", "age": "40"}
