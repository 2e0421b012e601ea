"""The one reading path of every command: open a file once, lazily where the format allows.

``ecgviewer info``, ``convert``, ``analyze`` (one file or a batch), ``--screenshot`` and
the viewer all open files with :func:`open_record`. It returns a
:class:`~ecgviewer.core.long_record.LongRecord` -- header facts in memory, samples read
per chunk (WFDB, EDF/BDF and ISHNE from disk; every other format read whole once and
wrapped) -- so what is refused, and with which one-line :class:`EcgReadError` or
which warnings, is decided in one place for all of them, before any sample is read.

A record of at least :data:`LONG_TERM_MIN_S` seconds is *long* (:func:`is_long`): the
viewer shows it in its long-term mode and the commands stream it chunk by chunk
(memory independent of its length); a shorter one is read whole with
:meth:`LongRecord.read_all`.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ecgviewer.core.long_record import LongRecord

#: Records at least this long (seconds) are long-term records: paged in the viewer, streamed
#: by the commands.
LONG_TERM_MIN_S = 300.0


def open_record(path: str | Path, format: str | None = None, **options) -> LongRecord:
    """Open ``path`` (reader ``options`` as for :func:`~ecgviewer.core.readers.read_record`).

    Raises
    ------
    EcgReadError
        The file is refused (one line naming the file and the reason).
    """
    from ecgviewer.core.readers.registry import open_long_record

    return open_long_record(path, format=format, **options)


def is_long(rec: LongRecord, min_long_s: float = LONG_TERM_MIN_S) -> bool:
    """True when ``rec`` is a long-term record (streamed, never read whole)."""
    return rec.duration_s >= min_long_s
