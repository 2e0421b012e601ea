"""The over-read sidecar (ecgviewer.core.sidecar) on a real record: content hash, round trip, atomic
save, changed record, read-only folder, unreadable files."""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from ecgviewer.core import sidecar
from ecgviewer.core.long_record import LongRecord
from ecgviewer.core.opening import open_record
from ecgviewer.core.overread import (
    MEDIAN,
    SOFTWARE,
    ArtefactSpan,
    BeatLabelEdit,
    BoundaryEdit,
    Interpretation,
    OverRead,
)
from ecgviewer.core.readers import read_record
from ecgviewer.core.sidecar import (
    APPLIED,
    FORMAT_VERSION,
    NONE,
    RECORD_CHANGED,
    UNREADABLE,
    SidecarConflict,
    beside_path,
    load_sidecar,
    record_content_hash,
    record_identity,
    save_sidecar,
    user_path,
)

ME = "Dr A"
T0 = dt.datetime(2024, 5, 1, 9, 0, tzinfo=dt.timezone.utc)


@pytest.fixture
def record_copy(tmp_path: Path, sample_path: Path) -> Path:
    """The bundled PTB-XL sample copied into its own folder (sidecars are written beside it)."""
    folder = tmp_path / "records"
    folder.mkdir()
    for suffix in (".hea", ".dat"):
        shutil.copy(sample_path.with_suffix(suffix), folder)
    return folder / sample_path.name


@pytest.fixture
def user_dir(tmp_path: Path) -> Path:
    return tmp_path / "user" / "overread"


def _overread() -> OverRead:
    return OverRead(
        ME,
        (
            BoundaryEdit(MEDIAN, "p_on", None, by=ME, at=T0),
            BoundaryEdit(1234, "qrs_off", 1290, lead="V1", by=ME, at=T0),
            BeatLabelEdit(2500, "V", by=ME, at=T0),
            ArtefactSpan(7.5, 8.25, by=ME, at=T0),
            Interpretation("Sinus rhythm. Normal ECG.", by=ME, at=T0),
        ),
        models={"delineation": "unet_delineation", "classifier": "crnn_ptbxl"},
    )


def test_content_hash_same_from_memory_and_in_chunks(record_copy: Path, monkeypatch):
    whole = read_record(record_copy)
    lazy = open_record(record_copy)
    assert isinstance(lazy, LongRecord)
    expected = record_content_hash(whole)
    assert len(expected) == 64
    # chunks much smaller than the record, never the whole record at once
    monkeypatch.setattr(sidecar, "HASH_CHUNK", 777)
    spans = []
    real_read = LongRecord.read

    def read(self, start, stop):
        spans.append(stop - start)
        return real_read(self, start, stop)

    monkeypatch.setattr(LongRecord, "read", read)
    monkeypatch.setattr(LongRecord, "read_all", lambda self: pytest.fail("read_all while hashing"))
    done = []
    assert record_content_hash(lazy, progress=lambda d, n: done.append((d, n))) == expected
    assert max(spans) == 777 and len(spans) == -(-lazy.n_samples // 777)
    assert done[-1] == (lazy.n_samples, lazy.n_samples)
    assert record_content_hash(lazy, should_stop=lambda: True) is None
    # the sampling rate, lead names and samples are part of the content
    assert record_content_hash(whole.with_signals(whole.signals, fs_hz=250.0)) != expected
    renamed = type(whole)(whole.signals, whole.fs_hz, tuple(f"x{n}" for n in whole.lead_names), whole.units)
    assert record_content_hash(renamed) != expected
    x = np.array(whole.signals)
    x[3, 2000] += 0.001
    assert record_content_hash(whole.with_signals(x)) != expected


def test_round_trip_beside_the_record(record_copy: Path, user_dir: Path):
    rec = open_record(record_copy)
    ident = record_identity(rec, record_copy)
    assert ident.file == record_copy.name and ident.n_samples == rec.n_samples
    assert load_sidecar(rec, record_copy, identity=ident, user_dir=user_dir).status == NONE
    now = dt.datetime(2024, 5, 2, 10, 0, tzinfo=dt.timezone.utc)
    path, saved = save_sidecar(_overread(), ident, record_copy, user_dir=user_dir, now=now)
    assert path == beside_path(record_copy) == record_copy.with_name(record_copy.name + ".ecgv.json")
    assert saved.created == saved.modified == now and saved.software == SOFTWARE
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["format"] == "ecgviewer-overread" and doc["format_version"] == FORMAT_VERSION
    assert doc["record"]["content_sha256"] == ident.sha256 and doc["record"]["file"] == record_copy.name
    assert "path" not in doc["record"]  # no local folder names in a file that travels with the record
    assert doc["reader"] == ME and doc["models"]["delineation"] == "unet_delineation"
    assert len(doc["edits"]) == 5 and doc["edits"][0]["kind"] == "boundary"
    assert not user_dir.exists()

    # reopened (a fresh read, hashed again): the same over-read comes back
    loaded = load_sidecar(read_record(record_copy), record_copy, user_dir=user_dir)
    assert loaded.status == APPLIED and loaded.applies
    assert loaded.overread == saved
    assert loaded.path == path and "Dr A" in loaded.message
    # saving again keeps the creation time
    later = now + dt.timedelta(hours=1)
    _, again = save_sidecar(
        loaded.overread.add(Interpretation("AF", by="Dr B")), ident, record_copy, now=later
    )
    assert again.created == now and again.modified == later
    assert load_sidecar(rec, record_copy, identity=ident, user_dir=user_dir).overread.interpretation == "AF"


def test_failed_save_leaves_the_old_sidecar_whole(record_copy: Path, user_dir: Path, monkeypatch):
    rec = open_record(record_copy)
    ident = record_identity(rec, record_copy)
    path, first = save_sidecar(_overread(), ident, record_copy, user_dir=user_dir)
    before = path.read_bytes()

    def broken_dump(obj, fh, **kw):
        fh.write('{"format": "ecgviewer-overread", "edi')  # half written, then the disk fills up
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(sidecar.json, "dump", broken_dump)
    with pytest.raises(OSError, match="No space"):
        save_sidecar(first.add(Interpretation("lost", by=ME)), ident, record_copy, user_dir=user_dir)
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert sorted(p.name for p in path.parent.iterdir()) == sorted(
        [record_copy.name, record_copy.with_suffix(".dat").name, path.name]
    )  # no temporary file left
    assert load_sidecar(rec, record_copy, identity=ident, user_dir=user_dir).overread == first


def test_changed_record_is_detected_and_not_applied(record_copy: Path, user_dir: Path):
    rec = open_record(record_copy)
    ident = record_identity(rec, record_copy)
    save_sidecar(_overread(), ident, record_copy, user_dir=user_dir)
    dat = record_copy.with_suffix(".dat")
    raw = bytearray(dat.read_bytes())
    raw[len(raw) // 2] ^= 0x55  # one sample changed
    dat.write_bytes(bytes(raw))

    changed = open_record(record_copy)
    loaded = load_sidecar(changed, record_copy, user_dir=user_dir)
    assert loaded.status == RECORD_CHANGED and not loaded.applies
    assert "not applied" in loaded.message and "changed" in loaded.message
    assert loaded.overread is not None and loaded.overread.edits == _overread().edits  # shown, not applied
    assert loaded.identity.sha256 != ident.sha256
    # nothing is replaced silently: a new save must say so
    with pytest.raises(SidecarConflict, match="different record content"):
        save_sidecar(OverRead(ME), loaded.identity, record_copy, user_dir=user_dir)
    save_sidecar(OverRead(ME), loaded.identity, record_copy, user_dir=user_dir, overwrite=True)
    assert load_sidecar(changed, record_copy, identity=loaded.identity, user_dir=user_dir).status == APPLIED


def test_read_only_folder_uses_the_user_folder(record_copy: Path, user_dir: Path, monkeypatch):
    rec = open_record(record_copy)
    ident = record_identity(rec, record_copy)
    monkeypatch.setattr(sidecar, "folder_writable", lambda folder: False)
    path, saved = save_sidecar(_overread(), ident, record_copy, user_dir=user_dir)
    assert path == user_path(ident.sha256, user_dir) == user_dir / f"{ident.sha256}.json"
    assert not beside_path(record_copy).exists()
    doc = json.loads(path.read_text(encoding="utf-8"))
    assert doc["record"]["path"] == str(record_copy.resolve())
    loaded = load_sidecar(rec, record_copy, identity=ident, user_dir=user_dir)
    assert loaded.status == APPLIED and loaded.path == path and loaded.overread == saved
    # the record changes: found by its path in the user folder, reported, not applied
    dat = record_copy.with_suffix(".dat")
    raw = bytearray(dat.read_bytes())
    raw[100] ^= 0x01
    dat.write_bytes(bytes(raw))
    assert load_sidecar(open_record(record_copy), record_copy, user_dir=user_dir).status == RECORD_CHANGED


def test_read_only_folder_for_real(record_copy: Path, user_dir: Path):
    folder = record_copy.parent
    os.chmod(folder, 0o555)
    try:
        if os.access(folder, os.W_OK):
            pytest.skip("running as root: chmod does not stop writes (the test above covers the logic)")
        ident = record_identity(open_record(record_copy), record_copy)
        path, _ = save_sidecar(_overread(), ident, record_copy, user_dir=user_dir)
        assert path.parent == user_dir
        assert load_sidecar(open_record(record_copy), record_copy, user_dir=user_dir).status == APPLIED
    finally:
        os.chmod(folder, 0o755)


def test_permission_error_beside_falls_back(record_copy: Path, user_dir: Path, monkeypatch):
    """A share that says writable (os.access) but refuses the write."""
    ident = record_identity(open_record(record_copy), record_copy)
    real = sidecar._write

    def write(path, doc):
        if path.parent == record_copy.parent:
            raise PermissionError(13, "Permission denied", str(path))
        real(path, doc)

    monkeypatch.setattr(sidecar, "_write", write)
    path, _ = save_sidecar(_overread(), ident, record_copy, user_dir=user_dir)
    assert path == user_path(ident.sha256, user_dir)


@pytest.mark.parametrize(
    "content, words",
    [
        (b'{"format": "ecgviewer-overread", "format_version": 1, "record": {', "JSONDecodeError"),
        (b"\xff\xfe\x00garbage", "UnicodeDecodeError"),
        (b'{"format": "something else"}', "not an ecgviewer over-read"),
        (b'{"format": "ecgviewer-overread", "format_version": 99}', "newer ecgviewer"),
        (
            b'{"format": "ecgviewer-overread", "format_version": 1, "record": {"content_sha256": "ab"},'
            b' "reader": "x", "edits": [{"kind": "boundary", "beat": 5}]}',
            "bad over-read",
        ),
    ],
)
def test_unreadable_sidecar_is_reported(record_copy: Path, user_dir: Path, content: bytes, words: str):
    beside_path(record_copy).write_bytes(content)
    rec = open_record(record_copy)
    loaded = load_sidecar(rec, record_copy, user_dir=user_dir)
    assert loaded.status == UNREADABLE and loaded.overread is None
    assert words in loaded.message and beside_path(record_copy).name in loaded.message
    with pytest.raises(SidecarConflict, match="unreadable"):  # never overwritten silently
        save_sidecar(OverRead(ME), loaded.identity, record_copy, user_dir=user_dir)
    assert beside_path(record_copy).read_bytes() == content


def test_newest_of_two_places_wins(record_copy: Path, user_dir: Path, monkeypatch):
    rec = open_record(record_copy)
    ident = record_identity(rec, record_copy)
    monkeypatch.setattr(sidecar, "folder_writable", lambda folder: False)
    save_sidecar(OverRead(ME, (Interpretation("old", by=ME),)), ident, record_copy, user_dir=user_dir, now=T0)
    monkeypatch.undo()
    later = T0 + dt.timedelta(days=1)
    path, _ = save_sidecar(
        OverRead(ME, (Interpretation("new", by=ME),)), ident, record_copy, user_dir=user_dir, now=later
    )
    assert path == beside_path(record_copy)
    loaded = load_sidecar(rec, record_copy, identity=ident, user_dir=user_dir)
    assert loaded.path == path and loaded.overread.interpretation == "new"


def test_default_places_are_in_the_user_data_folder():
    # conftest points XDG_DATA_HOME to a temporary folder
    assert sidecar.default_user_dir().parts[-2:] == ("ecgviewer", "overread")
    assert sidecar.default_reader()
