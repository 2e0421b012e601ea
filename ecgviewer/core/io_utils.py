"""Atomic file output: every file ecgviewer writes appears whole or not at all.

Write to a temporary file in the target's folder, then ``os.replace`` it onto
the target (atomic on POSIX and Windows). An exception or a kill leaves the old
file (or none) and at most a hidden ``.NAME.*.tmp`` that the next write ignores.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it is renamed onto ``path``.

    Use it for writers that want a file name (``np.savez``, ``safetensors``)::

        with atomic_path(out) as tmp:
            save_file(tensors, tmp)
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    umask = os.umask(0)  # mkstemp makes 0600 files; give the result the usual permissions
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


@contextlib.contextmanager
def atomic_write(path: str | Path, mode: str = "w", **open_kwargs) -> Iterator[IO]:
    """Open a temporary file beside ``path`` for writing; rename it onto ``path`` on success.

    ``mode`` is ``"w"`` (text, UTF-8 unless ``encoding`` is given) or ``"wb"``::

        with atomic_write(out_csv, newline="") as fh:
            fh.write(text)
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"atomic_write mode must be 'w' or 'wb', not {mode!r}")
    if mode == "w":
        open_kwargs.setdefault("encoding", "utf-8")
    with atomic_path(path) as tmp, open(tmp, mode, **open_kwargs) as fh:
        yield fh
        fh.flush()
        os.fsync(fh.fileno())


def atomic_write_bytes(path: str | Path, data: bytes) -> Path:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_write`); returns ``path``."""
    with atomic_write(path, "wb") as fh:
        fh.write(data)
    return Path(path)


#: Names :func:`atomic_path` gives its temporary files (``.NAME.<8 random characters>.tmp``).
_TEMP_NAME = re.compile(r"^\..+\.[a-z0-9_]{8}\.tmp$")


def remove_stale_temp_files(folder: str | Path) -> int:
    """Delete the temporary files (and folders) a killed process left in ``folder`` and below.

    Only names :func:`atomic_path` makes (and ``tempfile.mkdtemp(prefix=".NAME.",
    suffix=".tmp")`` folders, used by multi-file writers) are touched. Call it on a
    folder no other process is writing to, e.g. a batch run's output folder at its
    start. Returns how many were removed.
    """
    n = 0
    for p in sorted(Path(folder).rglob(".*.tmp"), key=lambda q: len(q.parts)):
        if not _TEMP_NAME.match(p.name) or not p.exists():
            continue
        with contextlib.suppress(OSError):
            if p.is_dir():
                shutil.rmtree(p)
            else:
                p.unlink()
            n += 1
    return n
