"""WFDB writer: round trip through the reader, metadata and start time, NaN, atomic output, registry."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import numpy as np
import pytest

from ecgviewer.core.io_utils import atomic_write_bytes, remove_stale_temp_files
from ecgviewer.core.readers import read_record
from ecgviewer.core.writers import get_writer, write_record, writer_for_path, writers
from ecgviewer.core.writers.wfdb_writer import adc_gains


def _assert_round_trip(original, back) -> None:
    assert back.lead_names == original.lead_names
    assert back.units == original.units
    assert back.fs_hz == original.fs_hz
    assert back.n_samples == original.n_samples
    gains = np.asarray(adc_gains(original))[:, None]
    a = np.asarray(original.signals, dtype=np.float64)
    b = np.asarray(back.signals, dtype=np.float64)
    assert np.array_equal(np.isnan(a), np.isnan(b))
    ok = ~np.isnan(a)
    # within half an ADC step (plus float32 rounding of the values read back)
    err = np.abs(a - b) - (0.5 / gains + 1e-5 * np.abs(a))
    assert np.all(err[ok] <= 1e-7), float(np.max(err[ok]))


def test_ptbxl_round_trip_with_metadata_and_start_time(ptbxl_dir: Path, tmp_path: Path) -> None:
    rec = read_record(ptbxl_dir / "00001_hr.hea")
    start = dt.datetime(2001, 2, 3, 4, 5, 6)
    rec = dataclasses.replace(rec, start_time=start, metadata={**rec.metadata, "age": "56", "sex": "F"})
    files = write_record(rec, tmp_path / "copy.hea")
    assert [f.name for f in files] == ["copy.dat", "copy.hea"]
    back = read_record(tmp_path / "copy.hea")
    _assert_round_trip(rec, back)
    assert back.start_time == start
    assert back.metadata["age"] == "56" and back.metadata["sex"] == "F"
    assert "ecgviewer" in back.metadata["exported by"]
    # PTB-XL is stored at 1 µV: the copy holds exactly the same samples
    assert np.array_equal(rec.signals, back.signals)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.dat", "copy.hea"]  # no temporary files left
    anon = read_record(write_record(rec, tmp_path / "anon.hea", include_patient=False)[-1])
    assert "age" not in anon.metadata and "sex" not in anon.metadata
    np.testing.assert_array_equal(anon.signals, back.signals)


def test_non_mv_channel_nan_and_odd_name(shared_data: Path, tmp_path: Path) -> None:
    rec = read_record(shared_data / "wfdb-samples" / "a103l.hea")  # II, V, PLETH (NU)
    sig = np.array(rec.signals, dtype=np.float32)
    sig[0, 100:110] = np.nan
    sig[1, 5] = 40.0  # a 40 mV value does not fit 1 µV steps in 16 bits: the gain is lowered
    rec = rec.with_signals(sig)
    assert adc_gains(rec)[1] < 1000.0
    files = write_record(rec, tmp_path / "odd name.v2.hea")
    assert files[-1].name == "odd_name_v2.hea"
    back = read_record(files[-1])
    _assert_round_trip(rec, back)
    assert back.units[2] == "NU"


def test_registry(tmp_path: Path) -> None:
    assert "wfdb" in [w.name for w in writers()]
    assert get_writer("WFDB").name == "wfdb"
    assert writer_for_path("x.hea").name == "wfdb"
    with pytest.raises(ValueError, match="no writer"):
        writer_for_path(tmp_path / "x.unknown")
    with pytest.raises(KeyError):
        get_writer("nope")


def test_stale_temporary_files_are_removed(tmp_path: Path) -> None:
    atomic_write_bytes(tmp_path / "keep.json", b"{}")
    stale = tmp_path / "sub" / ".keep.json.abcd_123.tmp"
    stale.parent.mkdir()
    stale.write_bytes(b"half")
    stale_dir = tmp_path / ".rec.zz9_abcd.tmp"
    stale_dir.mkdir()
    (stale_dir / "rec.dat").write_bytes(b"x")
    other = tmp_path / ".notes.tmp"  # not a name atomic_path makes: untouched
    other.write_text("user file")
    assert remove_stale_temp_files(tmp_path) == 2
    assert not stale.exists() and not stale_dir.exists() and other.exists()
    assert (tmp_path / "keep.json").read_bytes() == b"{}"
