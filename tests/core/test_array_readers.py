"""NumPy and CSV readers round-trip a real record."""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer.core import read_record
from ecgviewer.core.readers import detect_format


@pytest.fixture(scope="module")
def ptbxl(ptbxl_dir):
    return read_record(ptbxl_dir / "00011_hr.hea")


def test_npz_round_trip(ptbxl, tmp_path):
    path = tmp_path / "rec.npz"
    np.savez(path, signals=ptbxl.signals * 1000, fs_hz=500, lead_names=np.array(ptbxl.lead_names),
             units=np.array(["uV"]))  # fmt: skip
    rec = read_record(path)
    assert rec.format_name == "NumPy .npz"
    assert rec.lead_names == ptbxl.lead_names and rec.fs_hz == 500 and rec.warnings == ()
    np.testing.assert_allclose(rec.signals, ptbxl.signals, atol=1e-5)  # µV -> mV


def test_npy_samples_first_with_assumptions(ptbxl, tmp_path):
    path = tmp_path / "rec.npy"
    eight = ptbxl.leads_array(["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"])
    np.save(path, eight.T)  # (5000, 8): samples first
    rec = read_record(path)
    assert rec.signals.shape == (8, 5000)
    assert rec.lead_names == ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
    assert any("500 Hz assumed" in w for w in rec.warnings)
    np.testing.assert_array_equal(rec.signals, eight)
    assert read_record(path, fs_hz=250).fs_hz == 250


def test_csv_with_time_column(ptbxl, tmp_path):
    path = tmp_path / "rec.csv"
    t = np.arange(ptbxl.n_samples) / ptbxl.fs_hz
    table = np.column_stack([t, ptbxl.signals.T])
    header = "time," + ",".join(ptbxl.lead_names)
    np.savetxt(path, table, delimiter=",", header=header, comments="", fmt="%.6f")
    rec = read_record(path)
    assert rec.format_name == "CSV" and detect_format(path).name == "csv"
    assert rec.fs_hz == pytest.approx(500)
    assert rec.lead_names == ptbxl.lead_names
    assert not any("assumed" in w and "Hz" in w for w in rec.warnings)
    np.testing.assert_allclose(rec.signals, ptbxl.signals, atol=1e-5)


def test_csv_comment_fs_and_units(tmp_path):
    path = tmp_path / "rec.txt"
    rows = "\n".join(f"{i},{-i}" for i in range(100))
    path.write_text(f"# fs_hz: 250\n# units: uV\nI;II\n{rows.replace(',', ';')}\n")
    rec = read_record(path)
    assert rec.fs_hz == 250 and rec.lead_names == ("I", "II")
    np.testing.assert_allclose(rec.lead("I")[:3], [0, 0.001, 0.002], atol=1e-7)


def test_headerless_csv_drops_empty_columns(shared_data):
    # Contec export: 12 columns, chest columns empty, no header (see formats/csv/SOURCE.md)
    rec = read_record(shared_data / "formats/csv/contec_0000050.csv")
    assert rec.lead_names == ("I", "II", "III", "aVR", "aVL", "aVF")
    assert rec.n_samples == 37855
    assert any("empty" in w for w in rec.warnings) and any("assumed" in w for w in rec.warnings)
