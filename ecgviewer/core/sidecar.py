"""The over-read sidecar: a reader's edits saved beside the record, never in it.

The record file is never modified. An :class:`~ecgviewer.core.overread.OverRead` is saved
as JSON (format :data:`FORMAT_VERSION`, documented in ``docs/overread.md``):

- beside the record as ``<record file name>.ecgv.json`` (:func:`sidecar_path`), or, when
  the record's folder is not writable, in ``<user data dir>/ecgviewer/overread/<content
  hash>.json`` (:func:`default_user_dir`);
- naming the record by its **content hash** (:func:`record_content_hash`: SHA-256 of the
  samples, the sampling rate, lead names and units; long records are hashed chunk by chunk);
- written atomically (:func:`ecgviewer.core.io_utils.atomic_write`): a failed save leaves
  the previous sidecar, never a partial one.

:func:`load_sidecar` looks in both places and says what it found
(:class:`LoadedOverRead`): ``"applied"``, ``"none"``, ``"record changed"`` (the record's
content differs from the one over-read: the edits are returned for display but are
**not** to be applied silently) or ``"unreadable"`` (with the reason; never an exception).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import hashlib
import json
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ecgviewer.core.io_utils import atomic_write
from ecgviewer.core.overread import SOFTWARE, OverRead, utc_now

if TYPE_CHECKING:
    from ecgviewer.core.long_record import LongRecord
    from ecgviewer.core.record import EcgRecord

#: Suffix of a sidecar beside its record (``00001_hr.hea`` -> ``00001_hr.hea.ecgv.json``).
SIDECAR_SUFFIX = ".ecgv.json"
#: The ``format`` field of every sidecar.
FORMAT = "ecgviewer-overread"
#: Bumped when the layout changes incompatibly; a newer file is reported unreadable, not misread.
FORMAT_VERSION = 1
#: How :func:`record_content_hash` hashes (stated in every sidecar).
HASH_METHOD = (
    "sha256 of a JSON header line (fs_hz, leads, units, n_samples) and the samples as little-endian "
    "float32 mV in frame order (all leads of sample 0, then of sample 1, ...)"
)
#: Samples per chunk when hashing a long record.
HASH_CHUNK = 1 << 18

#: :attr:`LoadedOverRead.status` values.
APPLIED = "applied"
NONE = "none"
RECORD_CHANGED = "record changed"
UNREADABLE = "unreadable"


class SidecarConflict(Exception):
    """Saving would replace a sidecar of other content (or an unreadable one); pass ``overwrite=True``."""

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = Path(path)
        self.reason = reason


def default_user_dir() -> Path:
    """``<user data dir>/ecgviewer/overread`` (platformdirs): sidecars of read-only folders."""
    import platformdirs

    return Path(platformdirs.user_data_dir("ecgviewer")) / "overread"


def default_reader() -> str:
    """The reader's name when the settings give none: the operating-system user."""
    try:
        return getpass.getuser()
    except Exception:  # no user name in the environment (some containers)
        return "unknown reader"


# -- record identity ---------------------------------------------------------------------------
@dataclass(frozen=True)
class RecordIdentity:
    """What a sidecar says about its record: content hash, file name and header facts."""

    sha256: str
    file: str
    fs_hz: float
    n_samples: int
    leads: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "file": self.file,
            "content_sha256": self.sha256,
            "hash_method": HASH_METHOD,
            "fs_hz": self.fs_hz,
            "n_samples": self.n_samples,
            "leads": list(self.leads),
        }


def record_content_hash(
    record: EcgRecord | LongRecord,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> str | None:
    """SHA-256 (hex) of a record's content, by :data:`HASH_METHOD`.

    An :class:`~ecgviewer.core.record.EcgRecord` is hashed from memory; a
    :class:`~ecgviewer.core.long_record.LongRecord` chunk by chunk (:data:`HASH_CHUNK` samples
    with :meth:`LongRecord.read`, never the whole record at once). Both give the same hash for
    the same file. ``progress(done, total)`` is called per chunk and ``should_stop()`` polled;
    a stopped hash returns None.
    """
    n = int(record.n_samples)
    head = {
        "fs_hz": float(record.fs_hz),
        "leads": list(record.lead_names),
        "units": list(record.units),
        "n_samples": n,
    }
    h = hashlib.sha256(json.dumps(head, sort_keys=True).encode() + b"\n")
    whole = getattr(record, "signals", None)
    for start in range(0, n, HASH_CHUNK):
        if should_stop is not None and should_stop():
            return None
        stop = min(n, start + HASH_CHUNK)
        x = whole[:, start:stop] if whole is not None else record.read(start, stop).signals
        h.update(np.ascontiguousarray(np.asarray(x).T, dtype="<f4").tobytes())
        if progress is not None:
            progress(stop, n)
    return h.hexdigest()


def record_identity(record: EcgRecord | LongRecord, record_path: str | Path | None = None) -> RecordIdentity:
    """The :class:`RecordIdentity` of ``record`` (its content hash: one pass over the samples)."""
    path = record_path if record_path is not None else record.source_path
    digest = record_content_hash(record)
    assert digest is not None
    return RecordIdentity(
        digest,
        Path(path).name if path is not None else "",
        float(record.fs_hz),
        int(record.n_samples),
        tuple(record.lead_names),
    )


# -- where ------------------------------------------------------------------------------------
def folder_writable(folder: Path) -> bool:
    """True when new files can be created in ``folder`` (``os.access``; tests may replace it)."""
    return os.access(folder, os.W_OK | os.X_OK)


def beside_path(record_path: str | Path) -> Path:
    """``<record file name>.ecgv.json`` in the record's folder."""
    p = Path(record_path)
    return p.with_name(p.name + SIDECAR_SUFFIX)


def user_path(content_hash: str, user_dir: str | Path | None = None) -> Path:
    """``<user dir>/<content hash>.json``."""
    return Path(user_dir if user_dir is not None else default_user_dir()) / f"{content_hash}.json"


def sidecar_path(record_path: str | Path, content_hash: str, user_dir: str | Path | None = None) -> Path:
    """Where the over-read of a record is saved: :func:`beside_path` when the record's folder is
    writable, else :func:`user_path` (``user_dir`` default :func:`default_user_dir`)."""
    p = Path(record_path)
    if folder_writable(p.parent):
        return beside_path(p)
    return user_path(content_hash, user_dir)


# -- save --------------------------------------------------------------------------------------
def _document(overread: OverRead, identity: RecordIdentity, record_path: Path, in_user_dir: bool) -> dict:
    rec = identity.to_dict()
    if in_user_dir:  # found again by path when the record changes (see load_sidecar)
        rec["path"] = str(record_path.resolve())
    return {"format": FORMAT, "format_version": FORMAT_VERSION, "record": rec, **overread.to_dict()}


def _write(path: Path, doc: dict) -> None:
    with atomic_write(path) as fh:
        json.dump(doc, fh, indent=1, ensure_ascii=False)
        fh.write("\n")


def save_sidecar(
    overread: OverRead,
    identity: RecordIdentity,
    record_path: str | Path,
    *,
    user_dir: str | Path | None = None,
    overwrite: bool = False,
    now: dt.datetime | None = None,
) -> tuple[Path, OverRead]:
    """Save ``overread`` for the record ``identity`` describes, atomically.

    Written to :func:`sidecar_path`; when writing beside the record fails for lack of
    permission, to the user folder instead. ``created`` is kept (set now on the first save),
    ``modified`` and ``software`` set now.

    Returns
    -------
    path, overread
        Where it was written, and the over-read with its times as saved.

    Raises
    ------
    SidecarConflict
        The target holds a sidecar of other content, or one that cannot be read, and
        ``overwrite`` is false (the reader decides: nothing is replaced silently).
    OSError
        Neither place could be written.
    """
    record_path = Path(record_path)
    now = now or utc_now()
    saved = replace(overread, created=overread.created or now, modified=now, software=SOFTWARE)
    target = sidecar_path(record_path, identity.sha256, user_dir)
    candidates = [target]
    if target == beside_path(record_path):
        candidates.append(user_path(identity.sha256, user_dir))
    last_error: OSError | None = None
    for path in candidates:
        if not overwrite and path.exists():
            found = _read(path)
            if isinstance(found, str):
                raise SidecarConflict(path, f"an unreadable sidecar is there ({found})")
            stored = found["record"].get("content_sha256")
            if stored != identity.sha256:
                raise SidecarConflict(path, "it holds the over-read of different record content")
        try:
            _write(
                path, _document(saved, identity, record_path, in_user_dir=path != beside_path(record_path))
            )
            return path, saved
        except PermissionError as exc:  # os.access said yes but the share says no
            last_error = exc
        except OSError as exc:
            import errno

            if exc.errno not in (errno.EROFS, errno.EACCES, errno.EPERM):
                raise
            last_error = exc
    assert last_error is not None
    raise last_error


# -- load --------------------------------------------------------------------------------------
@dataclass(frozen=True)
class LoadedOverRead:
    """What :func:`load_sidecar` found.

    Attributes
    ----------
    status
        :data:`APPLIED` (``overread`` is this record's: apply it), :data:`NONE` (no sidecar),
        :data:`RECORD_CHANGED` (a sidecar of this record's file, made when its content was
        different: ``overread`` is given for display but must not be applied without the reader's
        say) or :data:`UNREADABLE` (``message`` says why; ``overread`` None).
    message
        One sentence for the status bar (empty for ``"none"``).
    overread
        The over-read found, or None.
    path
        The sidecar file it came from (None for ``"none"``).
    identity
        The record's :class:`RecordIdentity` (keep it for :func:`save_sidecar`).
    """

    status: str
    message: str
    overread: OverRead | None
    path: Path | None
    identity: RecordIdentity

    @property
    def applies(self) -> bool:
        """True when the over-read is this record's and may be applied."""
        return self.status == APPLIED


def _read(path: Path) -> dict | str:
    """The parsed, checked sidecar at ``path``, or a one-line reason why it cannot be used."""
    try:
        with open(path, encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        return f"{type(exc).__name__}: {exc}"
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        return "not an ecgviewer over-read file"
    version = doc.get("format_version")
    if not isinstance(version, int) or version < 1:
        return f"bad format_version {version!r}"
    if version > FORMAT_VERSION:
        return f"written by a newer ecgviewer (format {version}; this one reads {FORMAT_VERSION})"
    rec = doc.get("record")
    if not isinstance(rec, dict) or not isinstance(rec.get("content_sha256"), str):
        return "no record content hash"
    try:
        doc["overread"] = OverRead.from_dict(doc)
    except (KeyError, TypeError, ValueError) as exc:
        return f"bad over-read ({type(exc).__name__}: {exc})"
    return doc


def _when(doc: Mapping) -> str:
    o = doc["overread"]
    t = o.modified or o.created
    return f" by {o.reader}" + (f" on {t:%Y-%m-%d %H:%M} UTC" if t else "")


def load_sidecar(
    record: EcgRecord | LongRecord,
    record_path: str | Path,
    *,
    identity: RecordIdentity | None = None,
    user_dir: str | Path | None = None,
) -> LoadedOverRead:
    """Find the over-read of ``record`` (opened from ``record_path``); never raises for a bad file.

    Looks beside the record (:func:`beside_path`) and in the user folder (by content hash; when
    nothing matches, also the user-folder sidecars naming this record's path, to tell a changed
    record). A sidecar whose content hash is this record's is applied (the most recently
    modified when both places hold one). ``identity`` saves hashing the record again.
    """
    record_path = Path(record_path)
    ident = identity or record_identity(record, record_path)
    udir = Path(user_dir) if user_dir is not None else default_user_dir()
    places = [beside_path(record_path), user_path(ident.sha256, udir)]
    good: list[tuple[Path, dict]] = []
    changed: list[tuple[Path, dict]] = []
    bad: list[tuple[Path, str]] = []
    for p in places:
        if not p.is_file():
            continue
        doc = _read(p)
        if isinstance(doc, str):
            bad.append((p, doc))
        elif doc["record"]["content_sha256"] == ident.sha256:
            good.append((p, doc))
        else:
            changed.append((p, doc))
    if not good and not changed and udir.is_dir():
        me = str(record_path.resolve())
        quoted = json.dumps(me, ensure_ascii=False)  # as the file spells it (backslashes doubled)
        for p in sorted(udir.glob("*.json")):
            if p in places:
                continue
            with contextlib.suppress(OSError, ValueError):
                if quoted not in p.read_text(encoding="utf-8"):  # cheap test before parsing
                    continue
            doc = _read(p)
            if not isinstance(doc, str) and doc["record"].get("path") == me:
                changed.append((p, doc))
    if good:

        def stamp(item):
            o = item[1]["overread"]
            return o.modified or o.created or dt.datetime.min.replace(tzinfo=dt.timezone.utc)

        p, doc = max(good, key=stamp)
        note = f" ({bad[0][0].name} could not be read: {bad[0][1]})" if bad else ""
        return LoadedOverRead(
            APPLIED, f"Over-read{_when(doc)} restored from {p.name}{note}", doc["overread"], p, ident
        )
    if changed:
        p, doc = changed[0]
        msg = (
            f"The over-read in {p.name}{_when(doc)} was made on different content of this record "
            "(the record changed since); it is not applied."
        )
        return LoadedOverRead(RECORD_CHANGED, msg, doc["overread"], p, ident)
    if bad:
        p, why = bad[0]
        return LoadedOverRead(UNREADABLE, f"The over-read file {p} could not be read: {why}", None, p, ident)
    return LoadedOverRead(NONE, "", None, None, ident)
