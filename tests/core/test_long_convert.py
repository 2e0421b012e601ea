"""Long records are converted chunk by chunk: the files equal those of the whole-record writers."""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer.core.long_record import LongRecord
from ecgviewer.core.opening import open_record
from ecgviewer.core.readers import read_record
from ecgviewer.core.simulate import write_long_wfdb
from ecgviewer.core.writers import write_long_record, write_record


@pytest.fixture(scope="module")
def holter(tmp_path_factory):
    return write_long_wfdb(tmp_path_factory.mktemp("holter") / "h", hours=0.1, fs_hz=250, seed=3)


@pytest.mark.parametrize("ext", [".hea", ".edf", ".bdf"])
def test_streamed_file_equals_whole_write(holter, tmp_path, ext):
    rec = open_record(holter)
    record = rec.read_all()
    record.signals[2, 100:110] = np.nan  # missing samples go through both writers alike
    source = LongRecord.from_record(record)
    source._whole = None  # force chunked reads of the in-memory record
    whole = write_record(record, tmp_path / f"whole{ext}")
    streamed = write_long_record(source, tmp_path / f"stream{ext}", chunk_s=7.3)
    for a, b in zip(whole, streamed):
        if a.suffix == ".hea":  # the record name differs
            assert a.read_text().replace("whole", "X") == b.read_text().replace("stream", "X")
        elif a.suffix == ".edf" or a.suffix == ".bdf":  # the header's start date/time fields may differ
            assert a.read_bytes()[256:] == b.read_bytes()[256:]
        else:
            assert a.read_bytes() == b.read_bytes()
    back = read_record(streamed[-1] if ext == ".hea" else streamed[0])
    assert back.n_samples == record.n_samples and back.lead_names == record.lead_names


def test_convert_streams_a_long_record(holter, tmp_path, monkeypatch):
    from ecgviewer.core import convert

    monkeypatch.setattr("ecgviewer.core.opening.LONG_TERM_MIN_S", 60.0)
    monkeypatch.setattr(LongRecord, "read_all", lambda self: pytest.fail("read whole"))
    monkeypatch.setattr(convert, "is_long", lambda rec: True)
    out = convert.convert(holter, tmp_path / "out.edf", anonymize=True)
    back = read_record(out[0])
    ref = read_record(holter)
    assert back.n_samples == ref.n_samples
    assert np.max(np.abs(back.signals - ref.signals)) < 1e-3
