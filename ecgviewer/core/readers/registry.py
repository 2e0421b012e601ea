"""One registry of file readers, chosen by file content first and extension second."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ecgviewer.core.errors import EcgReadError
from ecgviewer.core.record import EcgRecord

if TYPE_CHECKING:
    from ecgviewer.core.long_record import LongRecord

log = logging.getLogger(__name__)

#: Bytes read from the start of a file to recognise its format.
SNIFF_BYTES = 4096
#: Largest number of samples (all channels together) a reader will allocate.
#: 24 h x 12 leads x 1 kHz fits; anything declaring more is rejected.
MAX_TOTAL_SAMPLES = 1_200_000_000


@dataclass(frozen=True)
class Reader:
    """A registered file format.

    Parameters
    ----------
    name
        Short key, e.g. ``"wfdb"``.
    description
        What users see in the format table and the Open dialog.
    extensions
        File name endings (lower case, with the dot) this format uses.
    sniff
        ``sniff(path, head) -> bool``: does the file content look like this
        format? ``head`` is the first :data:`SNIFF_BYTES` bytes.
    read
        ``read(path, **options) -> EcgRecord``; raises :class:`EcgReadError`.
    open_lazy
        ``open_lazy(path, **options) -> LongRecord`` for formats that can be read chunk
        by chunk (Holter-length files); None when only :attr:`read` exists.
    """

    name: str
    description: str
    extensions: tuple[str, ...]
    sniff: Callable[[Path, bytes], bool]
    read: Callable[..., EcgRecord]
    open_lazy: Callable[..., LongRecord] | None = None


_READERS: dict[str, Reader] = {}


def register_reader(reader: Reader) -> Reader:
    """Add a reader to the registry (later registrations replace earlier ones)."""
    _READERS[reader.name] = reader
    return reader


def readers() -> tuple[Reader, ...]:
    """All registered readers, in registration order."""
    _ensure_builtin()
    return tuple(_READERS.values())


def get_reader(name: str) -> Reader:
    """The reader registered as ``name``."""
    _ensure_builtin()
    try:
        return _READERS[name]
    except KeyError:
        raise KeyError(f"no reader named {name!r}; have {sorted(_READERS)}") from None


def _ensure_builtin() -> None:
    if not _READERS:
        import ecgviewer.core.readers  # noqa: F401  (registers the built-in readers)


def _suffix(path: Path) -> str:
    return path.suffix.lower()


def detect_format(path: str | Path) -> Reader:
    """Pick the reader for ``path``: content sniffing first, then the extension."""
    path = Path(path)
    _ensure_builtin()
    if not path.exists():
        # A WFDB record may be named without extension (``data/100``).
        if path.with_suffix(path.suffix + ".hea").exists() or path.with_name(path.name + ".hea").exists():
            return _READERS["wfdb"]
        raise EcgReadError(path, "file not found")
    if path.is_dir():
        raise EcgReadError(path, "is a folder, not a file")
    try:
        with path.open("rb") as fh:
            head = fh.read(SNIFF_BYTES)
    except OSError as exc:
        raise EcgReadError(path, f"cannot be opened ({exc.strerror or exc})") from exc
    if not head:
        raise EcgReadError(path, "file is empty")
    for reader in _READERS.values():
        try:
            if reader.sniff(path, head):
                return reader
        except Exception:  # a sniffer must never decide the outcome by crashing
            log.debug("sniffer %s failed on %s", reader.name, path, exc_info=True)
    suffix = _suffix(path)
    for reader in _READERS.values():
        if suffix in reader.extensions:
            return reader
    known = ", ".join(sorted({e for r in _READERS.values() for e in r.extensions}))
    raise EcgReadError(path, f"unrecognised file format (supported: {known})")


def read_record(path: str | Path, format: str | None = None, **options) -> EcgRecord:
    """Read an ECG file into an :class:`EcgRecord`.

    Parameters
    ----------
    path
        The file (for WFDB: the ``.hea``, the ``.dat`` or the record name).
    format
        A registered reader name to skip detection.
    **options
        Reader options, e.g. ``fs_hz`` for formats that do not store the rate.

    Raises
    ------
    EcgReadError
        For every failure, with the file and the reason.
    """
    path = Path(path)
    reader = get_reader(format) if format else detect_format(path)
    try:
        return reader.read(path, **options)
    except EcgReadError as exc:
        raise _one_line(exc) from exc.__cause__
    except MemoryError as exc:
        raise EcgReadError(path, "not enough memory to read this file") from exc
    except Exception as exc:  # the one exception type promised to callers
        raise EcgReadError(
            path, _one_line_text(f"not a valid {reader.description} file ({type(exc).__name__}: {exc})")
        ) from exc


def open_long_record(path: str | Path, format: str | None = None, **options) -> LongRecord:
    """Open an ECG file as a :class:`~ecgviewer.core.long_record.LongRecord` (samples read lazily).

    WFDB, EDF/EDF+/BDF and ISHNE are opened without reading their samples (memory
    maps where the layout allows, chunked reads otherwise); every other format is
    read with :func:`read_record` and wrapped. Arguments and errors as :func:`read_record`.
    """
    from ecgviewer.core.long_record import LongRecord

    path = Path(path)
    reader = get_reader(format) if format else detect_format(path)
    if reader.open_lazy is None:
        rec = LongRecord.from_record(read_record(path, format=reader.name, **options))
        return rec.reopen_with(path, reader.name, options)
    try:
        return reader.open_lazy(path, **options).reopen_with(path, reader.name, options)
    except EcgReadError as exc:
        raise _one_line(exc) from exc.__cause__
    except MemoryError as exc:
        raise EcgReadError(path, "not enough memory to open this file") from exc
    except Exception as exc:  # the one exception type promised to callers
        raise EcgReadError(
            path, _one_line_text(f"not a valid {reader.description} file ({type(exc).__name__}: {exc})")
        ) from exc


def _one_line_text(text: str) -> str:
    return " ".join(text.split())


def _one_line(exc: EcgReadError) -> EcgReadError:
    """The error itself, or a copy whose reason is folded onto one line (every read error is one line)."""
    if "\n" not in exc.reason and "\r" not in exc.reason:
        return exc
    return EcgReadError(exc.path, _one_line_text(exc.reason))


def check_declared_size(path: Path, n_values: int, what: str = "samples") -> None:
    """Refuse a header that declares more data than any real ECG would have."""
    if n_values < 0:
        raise EcgReadError(path, f"negative number of {what} declared")
    if n_values > MAX_TOTAL_SAMPLES:
        raise EcgReadError(
            path, f"header declares {n_values:,} {what}, more than the {MAX_TOTAL_SAMPLES:,} allowed"
        )
