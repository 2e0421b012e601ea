"""File writers, one module per format, behind one small registry (the mirror of ``readers``).

Use :func:`write_record`; it picks the writer by name or by the output file's
extension. Adding a format is one new module that calls :func:`register_writer`,
imported in :func:`_ensure_builtin`, plus its round-trip test. Writers are
imported on first use, so importing this package costs nothing.

Every writer writes atomically (:mod:`ecgviewer.core.io_utils`): the output
files appear complete or not at all.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from ecgviewer.core.record import EcgRecord

if TYPE_CHECKING:
    from ecgviewer.core.long_record import LongRecord

#: Seconds of samples a streaming writer holds at once (8 leads x 500 Hz: 1 MB of float32 per minute).
CHUNK_S = 60.0


@dataclass(frozen=True)
class Writer:
    """A registered output format.

    Parameters
    ----------
    name
        Short key, e.g. ``"wfdb"``.
    description
        What users see (save dialogs, ``--help``).
    extensions
        File name endings (lower case, with the dot); the first is the default.
    write
        ``write(record, path, **options) -> list[Path]``: the files written.
    write_long
        ``write_long(long_record, path, metadata=..., **options) -> list[Path]``: the same file
        written chunk by chunk from a :class:`~ecgviewer.core.long_record.LongRecord` (memory
        independent of the record's length); None: only :attr:`write`.
    """

    name: str
    description: str
    extensions: tuple[str, ...]
    write: Callable[..., list[Path]]
    write_long: Callable[..., list[Path]] | None = None


_WRITERS: dict[str, Writer] = {}


def register_writer(writer: Writer) -> Writer:
    """Add a writer to the registry (a later registration with the same name replaces it)."""
    _WRITERS[writer.name] = writer
    return writer


def _ensure_builtin() -> None:
    if "wfdb" not in _WRITERS:
        from ecgviewer.core.writers import wfdb_writer  # noqa: F401  (registers itself)
    if "edf" not in _WRITERS:
        from ecgviewer.core.writers import edf_writer  # noqa: F401  (registers edf and bdf)


def writers() -> tuple[Writer, ...]:
    """All registered writers, in registration order."""
    _ensure_builtin()
    return tuple(_WRITERS.values())


def get_writer(name: str) -> Writer:
    """The writer registered as ``name`` (case-insensitive)."""
    _ensure_builtin()
    try:
        return _WRITERS[name.lower()]
    except KeyError:
        raise KeyError(f"no writer named {name!r}; have {sorted(_WRITERS)}") from None


def writer_for_path(path: str | Path) -> Writer:
    """The writer whose extensions include ``path``'s suffix.

    Raises
    ------
    ValueError
        When no writer claims the extension.
    """
    suffix = Path(path).suffix.lower()
    for writer in writers():
        if suffix in writer.extensions:
            return writer
    known = ", ".join(sorted({e for w in writers() for e in w.extensions}))
    raise ValueError(f"{path}: no writer for the extension {suffix or '(none)'!r} (known: {known})")


def write_record(record: EcgRecord, path: str | Path, format: str | None = None, **options) -> list[Path]:
    """Write ``record`` to ``path`` in ``format`` (default: chosen by the extension).

    Parameters
    ----------
    record
        The record; only its recorded channels are written (derived leads are
        computed again by whoever reads the file).
    path
        Output file (for WFDB the ``.hea``, or the record name without extension).
    format
        A registered writer name (``"wfdb"``); needed when ``path`` has no known extension.

    Returns
    -------
    list of Path
        Every file written.
    """
    writer = get_writer(format) if format else writer_for_path(path)
    return writer.write(record, Path(path), **options)


def chunks(rec: LongRecord, chunk_samples: int) -> Iterator[tuple[int, np.ndarray]]:
    """``(start, signals)`` of consecutive chunks of every recorded channel, float32 mV."""
    for start in range(0, rec.n_samples, max(1, chunk_samples)):
        yield start, rec.read(start, start + chunk_samples).signals


def channel_ranges(rec: LongRecord, chunk_samples: int) -> tuple[np.ndarray, np.ndarray]:
    """Per-channel minimum and maximum of the finite samples (NaN where a channel has none),
    from one streamed pass."""
    lo = np.full(rec.n_leads, np.inf)
    hi = np.full(rec.n_leads, -np.inf)
    for _, x in chunks(rec, chunk_samples):
        with np.errstate(invalid="ignore"):
            lo = np.fmin(lo, np.nanmin(np.where(np.isfinite(x), x, np.nan), axis=1, initial=np.inf))
            hi = np.fmax(hi, np.nanmax(np.where(np.isfinite(x), x, np.nan), axis=1, initial=-np.inf))
    lo[~np.isfinite(lo)] = np.nan
    hi[~np.isfinite(hi)] = np.nan
    return lo, hi


def write_long_record(
    rec: LongRecord,
    path: str | Path,
    format: str | None = None,
    *,
    metadata: Mapping[str, str] | None = None,
    chunk_s: float = CHUNK_S,
    **options,
) -> list[Path]:
    """Write a lazily opened record chunk by chunk (the same file as :func:`write_record` writes).

    Parameters
    ----------
    rec
        The record; never read whole (two streamed passes: the channels' ranges, then the samples).
    metadata
        Replaces the record's metadata (e.g. without the patient fields); default its own.
    chunk_s
        Seconds of samples held at once.
    """
    writer = get_writer(format) if format else writer_for_path(path)
    if writer.write_long is None:  # a format without a streaming writer: only for short records
        record = rec.read_all()
        if metadata is not None:
            from dataclasses import replace

            record = replace(record, metadata=dict(metadata))
        return writer.write(record, Path(path), **options)
    chunk = max(1, round(chunk_s * rec.fs_hz))
    return writer.write_long(
        rec, Path(path), metadata=dict(rec.metadata if metadata is None else metadata), chunk=chunk, **options
    )


__all__ = [
    "Writer",
    "channel_ranges",
    "chunks",
    "get_writer",
    "register_writer",
    "write_long_record",
    "write_record",
    "writer_for_path",
    "writers",
]
