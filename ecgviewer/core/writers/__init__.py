"""File writers, one module per format, behind one small registry (the mirror of ``readers``).

Use :func:`write_record`; it picks the writer by name or by the output file's
extension. Adding a format is one new module that calls :func:`register_writer`,
imported in :func:`_ensure_builtin`, plus its round-trip test. Writers are
imported on first use, so importing this package costs nothing.

Every writer writes atomically (:mod:`ecgviewer.core.io_utils`): the output
files appear complete or not at all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ecgviewer.core.record import EcgRecord


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
    """

    name: str
    description: str
    extensions: tuple[str, ...]
    write: Callable[..., list[Path]]


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


__all__ = ["Writer", "get_writer", "register_writer", "write_record", "writer_for_path", "writers"]
