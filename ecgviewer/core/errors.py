"""The exceptions the core raises to its callers."""

from __future__ import annotations

from pathlib import Path


class EcgReadError(Exception):
    """A file could not be read as an ECG record.

    Every reader failure -- missing, empty, truncated, garbage, unsupported or
    implausibly large files -- is reported with this one type; the message names
    the file and the reason.
    """

    def __init__(self, path: str | Path | None, reason: str) -> None:
        self.path = Path(path) if path is not None else None
        self.reason = reason
        where = f"{self.path}: " if self.path is not None else ""
        super().__init__(f"{where}{reason}")
