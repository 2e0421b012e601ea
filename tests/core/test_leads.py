"""Lead derivation identities and name normalisation."""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer.core import STANDARD_LEADS, EcgRecord, normalize_lead_name, read_record


def _eight_lead(record: EcgRecord) -> EcgRecord:
    keep = [record.lead_names.index(n) for n in ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")]
    return EcgRecord(
        record.signals[keep], record.fs_hz, tuple(record.lead_names[i] for i in keep), ("mV",) * 8
    )


def test_derived_leads_match_recorded_ones(ptbxl_dir):
    """On real 12-lead PTB-XL records, deriving from I and II reproduces the recorded limb leads."""
    for name in ("00001_hr", "00050_hr", "00200_hr"):
        full = read_record(ptbxl_dir / f"{name}.hea")
        eight = _eight_lead(full)
        assert eight.derived_leads == ("III", "aVR", "aVL", "aVF")
        assert eight.display_leads == STANDARD_LEADS
        for lead in ("III", "aVR", "aVL", "aVF"):
            # recorded leads are digitised separately: equal to within a couple of ADC steps
            np.testing.assert_allclose(eight.lead(lead), full.lead(lead), atol=0.0025)


def test_derivation_identities_exact():
    rng = np.random.default_rng(0)
    i, ii = rng.normal(size=(2, 1000)).astype(np.float32)
    rec = EcgRecord(np.stack([i, ii]), 500, ("I", "II"), ("mV", "mV"))
    np.testing.assert_allclose(rec.lead("III"), ii - i, rtol=1e-6)
    np.testing.assert_allclose(rec.lead("aVR"), -(i + ii) / 2, rtol=1e-6)
    np.testing.assert_allclose(rec.lead("aVL"), i - ii / 2, rtol=1e-6)
    np.testing.assert_allclose(rec.lead("aVF"), ii - i / 2, rtol=1e-6)
    # Goldberger: the augmented leads sum to zero
    np.testing.assert_allclose(rec.lead("aVR") + rec.lead("aVL") + rec.lead("aVF"), 0, atol=1e-5)
    # a span is derived from the same span of I and II
    np.testing.assert_allclose(rec.lead("III", 100, 200), (ii - i)[100:200], rtol=1e-6)


def test_recorded_leads_are_kept_not_derived(ptbxl_dir):
    rec = read_record(ptbxl_dir / "00001_hr.hea")
    assert rec.derived_leads == ()
    iii = rec.lead("III")
    assert np.shares_memory(iii, rec.signals)  # a view of the stored lead, not a copy
    assert not iii.flags.writeable


def test_fewer_leads_show_what_they_have(shared_data):
    rec = read_record(shared_data / "wfdb-samples/100.hea")
    assert rec.display_leads == ("II", "V5")
    assert not rec.has_lead("III")  # needs I as well
    with pytest.raises(KeyError, match="neither recorded nor derivable"):
        rec.lead("aVF")
    pleth = read_record(shared_data / "wfdb-samples/a103l.hea")
    assert pleth.display_leads == ("II", "V", "PLETH")
    assert pleth.unit_of("PLETH") == "NU"


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("i", "I"), ("AVR", "aVR"), ("avf", "aVF"), ("MLII", "II"), ("v1", "V1"), ("V-1", "V1"),
     ("Lead II", "II"), ("ECG V6", "V6"), ("D3", "III"), ("PLETH", "PLETH"), (" vx ", "vx")],
)  # fmt: skip
def test_normalize_lead_name(raw, expected):
    assert normalize_lead_name(raw) == expected


def test_record_validation():
    sig = np.zeros((2, 10), np.float32)
    with pytest.raises(ValueError, match="lead names"):
        EcgRecord(sig, 500, ("I",), ("mV",))
    with pytest.raises(ValueError, match="duplicate"):
        EcgRecord(sig, 500, ("I", "I"), ("mV", "mV"))
    with pytest.raises(ValueError, match="sampling rate"):
        EcgRecord(sig, 0, ("I", "II"), ("mV", "mV"))
    with pytest.raises(ValueError, match="floating"):
        EcgRecord(sig.astype(np.int16), 500, ("I", "II"), ("mV", "mV"))
