"""Long records (Holter, 24 h): header facts in memory, samples read from disk per chunk.

A 24 h, 8-lead, 500 Hz record holds 43 million samples per lead (690 MB as int16,
1.4 GB as float32). :class:`LongRecord` never holds them: opening it parses the
header only (milliseconds, nothing allocated), and :meth:`LongRecord.read` returns the
requested span as an ordinary in-memory :class:`~ecgviewer.core.record.EcgRecord`
(float32, mV, ``start_time`` shifted to the span), so everything that works on a
10 s ECG -- derived leads from :meth:`EcgRecord.lead`, filters, beat detection --
works on a chunk.

Where the samples come from is a *chunk source* (:class:`ChunkSource`):

- :class:`FrameMemmapSource`: interleaved fixed-width integers (WFDB formats 16, 61,
  80, 160 and 32 in one signal file, ISHNE int16). Each read maps just the frames it
  needs with :class:`numpy.memmap`, converts them to float32 mV, and drops the map:
  a map kept open for the life of the record would leave every page ever touched in
  the process's resident set (a pass over a 24 h file would show 690 MB resident),
  while a map per read keeps memory bounded and leaves the caching to the OS page cache.
  EDF/BDF data records are read the same way (``edf_reader._DataRecordSource``).
- :class:`CallableSource`: a reader-specific function, e.g. ``wfdb.rdrecord(sampfrom=,
  sampto=)`` for packed formats such as 212 (wfdb seeks to the span).
- :class:`ArraySource`: an in-memory array (:meth:`LongRecord.from_record`, used for
  every format without a lazy reader).

No source keeps a file open between reads, so a :class:`LongRecord` never blocks
another reader of the same file, and reads are safe from several threads.

Readers provide the lazy path through ``Reader.open_lazy`` and
:func:`ecgviewer.core.readers.registry.open_long_record`; they convert with exactly
the arithmetic of their ``read_*`` function, so a chunk equals the same span of
``read_record`` bit for bit.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Protocol

import numpy as np

from ecgviewer.core.errors import EcgReadError
from ecgviewer.core.record import EcgRecord


class ChunkSource(Protocol):
    """Where a :class:`LongRecord` reads its samples."""

    def read(self, start: int, stop: int, channels: Sequence[int]) -> np.ndarray:
        """Samples ``[start, stop)`` of the given channels as float32 ``(len(channels), stop - start)``,
        in the record's units (mV for voltages); ``0 <= start <= stop <= n_samples``."""

    def close(self) -> None:
        """Release what the source holds (the built-in sources hold nothing between reads)."""


class ArraySource:
    """Samples already in memory (an :class:`EcgRecord`'s ``signals``)."""

    def __init__(self, signals: np.ndarray) -> None:
        self.signals = signals

    def read(self, start: int, stop: int, channels: Sequence[int]) -> np.ndarray:
        if list(channels) == list(range(self.signals.shape[0])):
            block = self.signals[:, start:stop]
        else:
            block = self.signals[list(channels), start:stop]
        return block.astype(np.float32, copy=False)

    def close(self) -> None:
        pass


class FrameMemmapSource:
    """Interleaved fixed-width samples (one frame = one sample of every channel) in one file.

    Parameters
    ----------
    path
        The signal file.
    offset
        Byte offset of the first frame.
    dtype
        Stored sample type, e.g. ``"<i2"``.
    n_channels, n_frames
        Frame width and number of frames to expose.
    convert
        ``convert(raw, channel) -> float32 array``: one channel's stored values (a 1-D array
        of ``dtype``) to physical units, with the arithmetic of the format's full reader.
    """

    #: Frames mapped at once (1 MB of a 8-lead int16 file).
    MAP_FRAMES = 1 << 16

    def __init__(
        self,
        path: Path,
        offset: int,
        dtype: str | np.dtype,
        n_channels: int,
        n_frames: int,
        convert: Callable[[np.ndarray, int], np.ndarray],
    ) -> None:
        self.path = Path(path)
        self.offset = int(offset)
        self.dtype = np.dtype(dtype)
        self.n_channels = int(n_channels)
        self.n_frames = int(n_frames)
        self.convert = convert

    def read(self, start: int, stop: int, channels: Sequence[int]) -> np.ndarray:
        channels = list(channels)
        out = np.empty((len(channels), max(stop - start, 0)), dtype=np.float32)
        if stop <= start:
            return out
        frame = self.dtype.itemsize * self.n_channels
        for a in range(start, stop, self.MAP_FRAMES):  # map a bounded block at a time
            b = min(a + self.MAP_FRAMES, stop)
            mm = np.memmap(
                self.path, dtype=self.dtype, mode="r", offset=self.offset + a * frame,
                shape=(b - a, self.n_channels),
            )  # fmt: skip
            for k, ch in enumerate(channels):
                out[k, a - start : b - start] = self.convert(mm[:, ch], ch)
            del mm  # the last reference: the map is closed here, not when the record goes
        return out

    def close(self) -> None:
        pass


class CallableSource:
    """Chunks from a function ``read(start, stop, channels) -> float32 (len(channels), n)``
    that must be safe to call from several threads (e.g. one that opens the file per call)."""

    def __init__(self, read: Callable[[int, int, Sequence[int]], np.ndarray]) -> None:
        self._read = read

    def read(self, start: int, stop: int, channels: Sequence[int]) -> np.ndarray:
        return self._read(start, stop, channels)

    def close(self) -> None:
        pass


def _file_facts(paths: Sequence[Path]) -> list[list]:
    facts = []
    for p in paths:
        p = Path(p)
        try:
            st = p.stat()
            facts.append([str(p.resolve()), st.st_size, st.st_mtime_ns])
        except OSError:
            facts.append([str(p), None, None])
    return facts


def _fingerprint(signals: np.ndarray) -> str:
    """A cheap content hash of an in-memory record (a strided sample plus both ends)."""
    h = hashlib.blake2b(digest_size=16)
    h.update(repr((signals.shape, signals.dtype.str)).encode())
    step = max(1, signals.shape[1] // 262_144)
    h.update(np.ascontiguousarray(signals[:, ::step]).tobytes())
    h.update(np.ascontiguousarray(signals[:, :4096]).tobytes())
    h.update(np.ascontiguousarray(signals[:, -4096:]).tobytes())
    return h.hexdigest()


class LongRecord:
    """A record read lazily: header facts in memory, samples read per chunk from disk.

    Build one with :func:`~ecgviewer.core.readers.registry.open_long_record` (a file) or
    :meth:`from_record` (an in-memory record). Attributes mirror :class:`EcgRecord`'s.

    Parameters
    ----------
    source
        Where the samples are read (see the module docstring).
    fs_hz, n_samples, lead_names, units, start_time, metadata, source_path, format_name, warnings
        As in :class:`EcgRecord` (``lead_names`` already normalised by the reader).
    files
        The files whose size and modification time make :meth:`identity` (header and
        signal files).
    options
        Reader options that change the samples (e.g. EDF ``channels``), part of the identity.
    content_id
        Replaces ``files`` in the identity for records without a file (a content hash).
    access
        How samples are read, for display and tests: ``"memory map"``, ``"chunked reads"``
        or ``"in memory"``.
    """

    def __init__(
        self,
        source: ChunkSource,
        *,
        fs_hz: float,
        n_samples: int,
        lead_names: Sequence[str],
        units: Sequence[str],
        start_time: dt.datetime | None = None,
        metadata: Mapping[str, str] | None = None,
        source_path: Path | None = None,
        format_name: str = "",
        warnings: Sequence[str] = (),
        files: Sequence[Path] = (),
        options: Mapping[str, object] | None = None,
        content_id: str | None = None,
        access: str = "chunked reads",
        vendor_measurements=None,
        whole: EcgRecord | None = None,
    ) -> None:
        if n_samples < 0:
            raise ValueError(f"negative number of samples {n_samples}")
        # a zero-length EcgRecord validates the header facts and answers the lead questions
        self._header = EcgRecord(
            signals=np.empty((len(tuple(lead_names)), 0), dtype=np.float32),
            fs_hz=fs_hz,
            lead_names=tuple(lead_names),
            units=tuple(units),
            start_time=start_time,
            metadata=dict(metadata or {}),
            source_path=Path(source_path) if source_path is not None else None,
            format_name=format_name,
            warnings=tuple(warnings),
            vendor_measurements=vendor_measurements,
        )
        self._whole = whole
        self._reopen: tuple[str, str | None, dict] | None = None  # set by open_long_record
        self._source = source
        self._n_samples = int(n_samples)
        self.access = access
        key = {
            "path": str(Path(source_path).resolve()) if source_path is not None else None,
            "files": _file_facts(files),
            "content": content_id,
            "format": format_name,
            "options": {k: repr(v) for k, v in sorted((options or {}).items())},
            "fs_hz": float(fs_hz),
            "n_samples": self._n_samples,
            "leads": list(self._header.lead_names),
            "units": list(self._header.units),
        }
        self._identity = json.dumps(key, sort_keys=True)

    # -- header facts --------------------------------------------------------
    @property
    def fs_hz(self) -> float:
        """Sampling rate in Hz."""
        return self._header.fs_hz

    @property
    def n_samples(self) -> int:
        """Samples per channel."""
        return self._n_samples

    @property
    def lead_names(self) -> tuple[str, ...]:
        """Recorded channels, normalised as the format's reader names them."""
        return self._header.lead_names

    @property
    def units(self) -> tuple[str, ...]:
        """One unit per recorded channel (``"mV"`` for voltages)."""
        return self._header.units

    @property
    def start_time(self) -> dt.datetime | None:
        """Acquisition start, when the file says it."""
        return self._header.start_time

    @property
    def metadata(self) -> Mapping[str, str]:
        """Patient and record fields from the header."""
        return self._header.metadata

    @property
    def source_path(self) -> Path | None:
        """The file the record was opened from."""
        return self._header.source_path

    @property
    def format_name(self) -> str:
        """Which reader opened it (``"WFDB"``, ``"EDF+"`` ...)."""
        return self._header.format_name

    @property
    def warnings(self) -> tuple[str, ...]:
        """Assumptions the reader had to make."""
        return self._header.warnings

    @property
    def vendor_measurements(self):
        """Measurements the acquiring device stored in the file (formats read whole only), or None."""
        return self._header.vendor_measurements

    @property
    def n_leads(self) -> int:
        """Number of recorded channels."""
        return len(self._header.lead_names)

    @property
    def duration_s(self) -> float:
        """Length of the record in seconds."""
        return self._n_samples / self._header.fs_hz

    @property
    def display_leads(self) -> tuple[str, ...]:
        """Leads to show, by the rule of :attr:`EcgRecord.display_leads`."""
        return self._header.display_leads

    @property
    def derived_leads(self) -> tuple[str, ...]:
        """Shown leads computed from I and II rather than recorded."""
        return self._header.derived_leads

    def is_recorded(self, name: str) -> bool:
        """True when ``name`` is a stored channel."""
        return self._header.is_recorded(name)

    def has_lead(self, name: str) -> bool:
        """True when ``name`` is recorded or derivable."""
        return self._header.has_lead(name)

    def unit_of(self, name: str) -> str:
        """Unit of a recorded or derived lead."""
        return self._header.unit_of(name)

    def time_of(self, sample: int) -> dt.datetime | None:
        """Wall-clock time of a sample, when the start time is known."""
        if self._header.start_time is None:
            return None
        return self._header.start_time + dt.timedelta(seconds=sample / self._header.fs_hz)

    # -- samples -------------------------------------------------------------
    def _clip(self, start: int, stop: int) -> tuple[int, int]:
        start = min(max(int(start), 0), self._n_samples)
        stop = min(max(int(stop), start), self._n_samples)
        return start, stop

    def read(self, start: int, stop: int) -> EcgRecord:
        """Samples ``[start, stop)`` (clipped to the record) of every recorded channel.

        Returns an ordinary in-memory :class:`EcgRecord` (float32, mV) whose
        ``start_time`` is shifted by ``start / fs_hz``; derived leads come from its
        :meth:`EcgRecord.lead`. Raises :class:`EcgReadError` when the file can no
        longer be read (e.g. truncated since it was opened).
        """
        start, stop = self._clip(start, stop)
        signals = self._read_source(start, stop, range(self.n_leads))
        return replace(self._header, signals=signals, start_time=self.time_of(start))

    def read_all(self) -> EcgRecord:
        """The whole record in memory: for a format read whole, the very record its reader returned
        (device measurements included); else :meth:`read` of every sample (short records only)."""
        if self._whole is not None:
            return self._whole
        return self.read(0, self._n_samples)

    def header_record(self) -> EcgRecord:
        """The header facts as a zero-length :class:`EcgRecord` (no samples)."""
        return self._header

    def _read_source(self, start: int, stop: int, channels) -> np.ndarray:
        try:
            return self._source.read(start, stop, channels)
        except EcgReadError:
            raise
        except Exception as exc:  # e.g. the file was truncated or removed since it was opened
            raise EcgReadError(
                self.source_path,
                f"samples {start:,}-{stop:,} could not be read ({type(exc).__name__}: {exc})",
            ) from exc

    def lead(self, name: str, start: int, stop: int) -> np.ndarray:
        """One recorded or derived lead over ``[start, stop)`` (clipped), float32.

        Reads only the channels it needs (I and II for a derived lead).
        """
        start, stop = self._clip(start, stop)
        hdr = self._header
        if hdr.is_recorded(name):
            return self._read_source(start, stop, [hdr.lead_names.index(name)])[0]
        if hdr.is_derivable(name):
            idx = [hdr.lead_names.index("I"), hdr.lead_names.index("II")]
            pair = EcgRecord(self._read_source(start, stop, idx), hdr.fs_hz, ("I", "II"), ("mV", "mV"))
            return pair.lead(name)
        raise KeyError(f"lead {name!r} is neither recorded nor derivable in this record")

    # -- construction and identity --------------------------------------------
    @classmethod
    def from_record(cls, record: EcgRecord) -> LongRecord:
        """Wrap an in-memory record (formats without a lazy reader)."""
        files = [record.source_path] if record.source_path is not None else []
        return cls(
            ArraySource(record.signals),
            fs_hz=record.fs_hz,
            n_samples=record.n_samples,
            lead_names=record.lead_names,
            units=record.units,
            start_time=record.start_time,
            metadata=record.metadata,
            source_path=record.source_path,
            format_name=record.format_name,
            warnings=record.warnings,
            files=files,
            content_id=_fingerprint(record.signals),
            access="in memory",
            vendor_measurements=record.vendor_measurements,
            whole=record,
        )

    def identity(self) -> str:
        """A stable cache key: resolved path, size and modification time of the files, the
        reader options and the header facts (a content hash for records without a file)."""
        return self._identity

    def close(self) -> None:
        """Release the files the source holds open."""
        self._source.close()

    def reopen_with(self, path: str | Path, format: str | None, options: Mapping[str, object]) -> LongRecord:
        """Remember how the record was opened, so that it can be pickled (the copy opens the file
        again, from its header, in the other process); returns ``self``."""
        self._reopen = (str(path), format, dict(options))
        return self

    def __reduce__(self):
        if self._reopen is None:
            raise TypeError("a LongRecord not opened from a file cannot be pickled")
        import functools

        from ecgviewer.core.readers.registry import open_long_record

        path, format, options = self._reopen
        return (functools.partial(open_long_record, path, format=format, **options), ())

    def __enter__(self) -> LongRecord:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return (
            f"LongRecord({self.format_name or 'record'} {self.source_path or ''}, {self.n_leads} leads, "
            f"{self.fs_hz:g} Hz, {self.duration_s:.1f} s)"
        )
