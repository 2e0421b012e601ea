"""The WFDB reader against wfdb.rdrecord on real records from ../shared/data."""

from __future__ import annotations

import numpy as np
import pytest
import wfdb

from ecgviewer.core import read_record
from ecgviewer.core.readers import detect_format

RECORDS = [
    # (path relative to shared/data, expected fs, expected n_leads)
    ("ptb-xl/records500/00000/00001_hr", 500, 12),
    ("ptb-xl/records500/00000/00123_hr", 500, 12),
    ("ludb/data/1", 500, 12),
    ("wfdb-samples/100", 360, 2),  # format 212, MLII
    ("wfdb-samples/s0010_re", 1000, 15),  # two signal files, no units in header
    ("wfdb-samples/a103l", 250, 3),  # .mat signal file, a non-voltage channel
    ("wfdb-samples/3000003_0003", 125, 2),  # format 80
    ("mitdb-208/208", 360, 2),
    ("qtdb/sel100", 250, 2),
]


@pytest.mark.parametrize(("rel", "fs", "n_leads"), RECORDS)
def test_values_equal_wfdb(shared_data, rel, fs, n_leads):
    path = shared_data / rel
    ours = read_record(path.with_name(path.name + ".hea"))
    ref = wfdb.rdrecord(str(path))
    assert ours.fs_hz == fs == ref.fs
    assert ours.n_leads == n_leads
    assert ours.n_samples == ref.sig_len
    assert ours.format_name == "WFDB"
    # same samples in mV (float32 storage: 1e-5 mV is far below one ADC step)
    np.testing.assert_allclose(ours.signals, ref.p_signal.T, rtol=0, atol=1e-4, equal_nan=True)
    for unit, ref_unit in zip(ours.units, ref.units):
        assert unit == ("mV" if ref_unit in (None, "mV") else ref_unit)


def test_ptbxl_amplitudes_are_millivolts(ptbxl_dir):
    rec = read_record(ptbxl_dir / "00001_hr.hea")
    # a real 12-lead ECG: R waves of a few tenths to a few mV, never volts or microvolts
    peak = np.abs(rec.lead("II")).max()
    assert 0.2 < peak < 5.0
    assert rec.units == ("mV",) * 12


def test_lead_names_normalised(shared_data):
    ludb = read_record(shared_data / "ludb/data/1.hea")
    assert ludb.lead_names[:6] == ("I", "II", "III", "aVR", "aVL", "aVF")
    assert "lead names in file" in ludb.metadata
    mit = read_record(shared_data / "wfdb-samples/100.hea")
    assert mit.lead_names == ("II", "V5")  # MLII is modified lead II


def test_opened_by_dat_or_bare_name(shared_data):
    base = shared_data / "ptb-xl/records500/00000/00001_hr"
    a = read_record(base.with_suffix(".hea"))
    b = read_record(base.with_suffix(".dat"))
    c = read_record(base)
    np.testing.assert_array_equal(a.signals, b.signals)
    np.testing.assert_array_equal(a.signals, c.signals)
    assert detect_format(base.with_suffix(".dat")).name == "wfdb"


def test_header_metadata_and_start_time(shared_data):
    rec = read_record(shared_data / "ludb/data/1.hea")
    assert rec.metadata["age"] == "51" and rec.metadata["sex"] == "F"
    muse = read_record(shared_data / "formats/ge-muse-xml/muse-sinus.hea")
    assert muse.start_time is not None and muse.start_time.year == 2023
    mimic = read_record(shared_data / "wfdb-samples/3000003_0003.hea")
    assert mimic.start_time is None and mimic.metadata["start time of day"].startswith("19:46:25")


def test_leads_stored_in_any_order(shared_data):
    # muse-sinus.hea stores aVF before aVR; the names follow the data, not the position
    rec = read_record(shared_data / "formats/ge-muse-xml/muse-sinus.hea")
    ref = wfdb.rdrecord(str(shared_data / "formats/ge-muse-xml/muse-sinus"))
    avr = ref.p_signal[:, [s.upper() for s in ref.sig_name].index("AVR")]
    np.testing.assert_allclose(rec.lead("aVR"), avr, atol=1e-4)
