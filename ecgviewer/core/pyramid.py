"""Min/max pyramids: draw any span of a 24 h record at screen resolution in milliseconds.

A screen shows about 1 500 pixel columns; a 24 h record at 500 Hz has 43 million
samples per lead. What a column must show is the range the signal covers in it --
its minimum and maximum -- so :class:`MinMaxPyramid` stores those per bucket of 64,
512, 4 096 and 32 768 samples for every display lead (derived leads III, aVR, aVL,
aVF included: they are computed per chunk while building, as the viewer computes
them per visible chunk). :func:`envelope` answers "min/max of lead L in n bins over
[start, stop)" from the coarsest level whose bucket still fits in a bin, so any
query touches at most about ``8 x n_bins`` stored values, whatever the span.

Exactness: bins are whole multiples of a bucket, aligned to multiples of their own
width from the record start, so every bin's min/max is exactly the min/max of the
raw samples in it (the same bins a brute-force computation would take). NaN samples
(WFDB "no sample") are skipped; a bin with nothing but NaN is NaN.

Building reads the record in chunks of 0.5 M samples (never the whole record), with
``progress`` and ``cancelled`` callbacks for a background worker. Levels are written
as ``.npy`` files (memory-mapped when loaded, so a 24 h pyramid, ~75 MB for 12 leads,
costs no memory until drawn) into ``<user cache dir>/ecgviewer/pyramids/<hash of the
record identity>/`` or a given ``cache_dir``; each file is written atomically and a
``meta.json`` written last marks a complete pyramid. A pyramid whose record changed
(size, modification time, reader options) or whose files are damaged is ignored and
built again.
"""

from __future__ import annotations

import contextlib
import hashlib
import itertools
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgviewer.core.io_utils import atomic_path, atomic_write
from ecgviewer.core.long_record import LongRecord

log = logging.getLogger(__name__)

#: Samples per bucket of each level (each divides the next).
DEFAULT_BUCKET_SIZES: tuple[int, ...] = (64, 512, 4096, 32768)
#: Samples per chunk read while building (a multiple of the largest bucket).
BUILD_CHUNK = 1 << 19
#: Bumped when the file layout changes; older caches are then rebuilt.
FORMAT_VERSION = 1
_META = "meta.json"


def default_cache_root() -> Path:
    """``<user cache dir>/ecgviewer/pyramids``."""
    import platformdirs

    return Path(platformdirs.user_cache_dir("ecgviewer")) / "pyramids"


def cache_folder(rec: LongRecord, cache_dir: Path | None = None) -> Path:
    """The folder holding ``rec``'s pyramid: ``cache_dir`` (default :func:`default_cache_root`) /
    a hash of :meth:`LongRecord.identity`."""
    root = Path(cache_dir) if cache_dir is not None else default_cache_root()
    return root / hashlib.sha256(rec.identity().encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Envelope:
    """Min/max per bin of one lead.

    Bin ``k`` covers samples ``[first_sample + k * bin_samples, first_sample + (k + 1) * bin_samples)``
    clipped to the record; ``t_s`` is its start in seconds from the record start. With
    ``bin_samples == 1`` the bins are the raw samples (``lo == hi``).
    """

    t_s: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    first_sample: int = 0
    bin_samples: int = 1

    def __len__(self) -> int:
        return int(self.t_s.size)

    @property
    def is_raw(self) -> bool:
        """True when every bin is one sample."""
        return self.bin_samples == 1


def _minmax(x: np.ndarray, width: int) -> tuple[np.ndarray, np.ndarray]:
    """Min and max of consecutive runs of ``width`` values (the last run may be shorter); NaN skipped."""
    n = x.shape[-1]
    m = -(-n // width)
    if m * width != n:  # pad the last run with its own last value: min/max unchanged
        x = np.concatenate([x, np.repeat(x[-1:], m * width - n)])
    r = x.reshape(m, width)
    lo, hi = r.min(axis=1), r.max(axis=1)
    if np.isnan(lo).any() or np.isnan(hi).any():  # fmin/fmax skip NaN (slower, so only when needed)
        lo, hi = np.fmin.reduce(r, axis=1), np.fmax.reduce(r, axis=1)
    return lo, hi


def _reduce_pairs(lo: np.ndarray, hi: np.ndarray, factor: int) -> tuple[np.ndarray, np.ndarray]:
    """Combine runs of ``factor`` consecutive (lo, hi) buckets into one (the last run may be shorter)."""
    n = lo.size
    m = -(-n // factor)
    if m * factor != n:
        lo = np.concatenate([lo, np.repeat(lo[-1:], m * factor - n)])
        hi = np.concatenate([hi, np.repeat(hi[-1:], m * factor - n)])
    return np.fmin.reduce(lo.reshape(m, factor), axis=1), np.fmax.reduce(hi.reshape(m, factor), axis=1)


class _Cancelled(Exception):
    pass


class MinMaxPyramid:
    """Min/max per bucket of every display lead, at several bucket sizes.

    Attributes
    ----------
    leads
        The record's display leads (recorded and derived), in order.
    bucket_sizes
        Samples per bucket at each level, finest first.
    n_samples
        Length of the record it was built from.
    identity
        The record's :meth:`LongRecord.identity` at build time.
    folder
        Where its files are (None when it could not be cached).
    """

    def __init__(
        self,
        leads: tuple[str, ...],
        bucket_sizes: tuple[int, ...],
        n_samples: int,
        identity: str,
        levels: list[np.ndarray],
        folder: Path | None = None,
    ) -> None:
        self.leads = tuple(leads)
        self.bucket_sizes = tuple(int(b) for b in bucket_sizes)
        self.n_samples = int(n_samples)
        self.identity = identity
        self.folder = folder
        self._levels = levels  # per level: float32 (n_leads, 2, n_buckets), [:, 0] min, [:, 1] max
        self._lead_index = {name: i for i, name in enumerate(self.leads)}

    def __repr__(self) -> str:
        return (
            f"MinMaxPyramid({len(self.leads)} leads, buckets {self.bucket_sizes}, {self.n_samples} samples)"
        )

    def matches(self, rec: LongRecord) -> bool:
        """True when the pyramid was built from ``rec`` as it is now."""
        return self.identity == rec.identity() and self.n_samples == rec.n_samples

    def buckets(
        self, lead: str, level: int, b0: int = 0, b1: int | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(min, max) of buckets ``b0:b1`` of ``lead`` at ``level`` (an index into :attr:`bucket_sizes`)."""
        arr = self._levels[level][self._lead_index[lead]]
        return arr[0, b0:b1], arr[1, b0:b1]

    # -- building and caching --------------------------------------------------
    @classmethod
    def build(
        cls,
        rec: LongRecord,
        cache_dir: Path | None = None,
        *,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
        bucket_sizes: tuple[int, ...] = DEFAULT_BUCKET_SIZES,
    ) -> MinMaxPyramid | None:
        """Build the pyramid of ``rec`` chunk by chunk and cache it; None when cancelled.

        Parameters
        ----------
        rec
            The record (read in chunks of :data:`BUILD_CHUNK` samples).
        cache_dir
            Folder for the cache (default :func:`default_cache_root`); the pyramid goes in
            a subfolder named by a hash of the record's identity. If it cannot be written,
            the pyramid is built in memory and a warning is logged.
        progress
            ``progress(done_samples, total_samples)`` after each chunk.
        cancelled
            Polled before each chunk; when it returns True the build stops, nothing is
            written and None is returned.
        bucket_sizes
            Samples per bucket, finest first; each must divide the next.
        """
        sizes = tuple(int(b) for b in bucket_sizes)
        if not sizes or sizes[0] < 2 or any(b % a for a, b in itertools.pairwise(sizes)):
            raise ValueError(f"bucket sizes must grow by whole factors from at least 2: {bucket_sizes}")
        folder = cache_folder(rec, cache_dir)
        if rec.n_samples == 0:
            empty = [np.zeros(cls._shape(rec, b, len(rec.display_leads)), np.float32) for b in sizes]
            return cls(rec.display_leads, sizes, 0, rec.identity(), empty)
        try:
            folder.mkdir(parents=True, exist_ok=True)
            (folder / _META).unlink(missing_ok=True)  # whatever was here is no longer complete
            with contextlib.ExitStack() as stack:
                levels = []
                for b in sizes:
                    tmp = stack.enter_context(atomic_path(folder / f"level_{b}.npy"))
                    levels.append(
                        np.lib.format.open_memmap(
                            tmp, mode="w+", dtype=np.float32, shape=cls._shape(rec, b, len(rec.display_leads))
                        )
                    )
                cls._fill(rec, sizes, levels, progress, cancelled)
                for arr in levels:
                    arr.flush()
                del levels, arr
            meta = {
                "version": FORMAT_VERSION,
                "identity": rec.identity(),
                "leads": list(rec.display_leads),
                "bucket_sizes": list(sizes),
                "n_samples": rec.n_samples,
            }
            with atomic_write(folder / _META) as fh:
                json.dump(meta, fh, indent=1)
        except _Cancelled:
            return None
        except OSError as exc:
            log.warning("pyramid cache %s not writable (%s); building in memory", folder, exc)
            levels = [np.empty(cls._shape(rec, b, len(rec.display_leads)), np.float32) for b in sizes]
            try:
                cls._fill(rec, sizes, levels, progress, cancelled)
            except _Cancelled:
                return None
            return cls(rec.display_leads, sizes, rec.n_samples, rec.identity(), levels)
        loaded = cls.load_cached(rec, cache_dir)
        if loaded is None:  # e.g. another process replaced the files meanwhile
            raise OSError(f"pyramid written to {folder} could not be read back")
        return loaded

    @staticmethod
    def _shape(rec: LongRecord, bucket: int, n_leads: int) -> tuple[int, int, int]:
        return (n_leads, 2, -(-rec.n_samples // bucket))

    @staticmethod
    def _fill(rec, sizes, levels, progress, cancelled) -> None:
        n = rec.n_samples
        leads = rec.display_leads
        chunk = max(BUILD_CHUNK // sizes[-1], 1) * sizes[-1]
        for c0 in range(0, n, chunk):
            if cancelled is not None and cancelled():
                raise _Cancelled
            part = rec.read(c0, min(c0 + chunk, n))
            for li, name in enumerate(leads):
                lo, hi = _minmax(part.lead(name), sizes[0])
                for level, b in enumerate(sizes):
                    if level:
                        lo, hi = _reduce_pairs(lo, hi, b // sizes[level - 1])
                    k0 = c0 // b
                    levels[level][li, 0, k0 : k0 + lo.size] = lo
                    levels[level][li, 1, k0 : k0 + hi.size] = hi
            del part
            if progress is not None:
                progress(min(c0 + chunk, n), n)
        if n == 0 and progress is not None:
            progress(0, 0)

    @classmethod
    def load_cached(cls, rec: LongRecord, cache_dir: Path | None = None) -> MinMaxPyramid | None:
        """The cached pyramid of ``rec`` (memory-mapped), or None when absent, stale or damaged."""
        folder = cache_folder(rec, cache_dir)
        try:
            meta = json.loads((folder / _META).read_text(encoding="utf-8"))
            if (
                meta.get("version") != FORMAT_VERSION
                or meta.get("identity") != rec.identity()
                or tuple(meta.get("leads", ())) != rec.display_leads
                or meta.get("n_samples") != rec.n_samples
            ):
                return None
            sizes = tuple(int(b) for b in meta["bucket_sizes"])
            levels = []
            for b in sizes:
                arr = np.load(folder / f"level_{b}.npy", mmap_mode="r", allow_pickle=False)
                if arr.dtype != np.float32 or arr.shape != cls._shape(rec, b, len(rec.display_leads)):
                    return None
                levels.append(arr)
        except (OSError, ValueError, KeyError, TypeError) as exc:
            if not isinstance(exc, FileNotFoundError):
                log.info("ignoring damaged pyramid cache %s (%s)", folder, exc)
            return None
        return cls(rec.display_leads, sizes, rec.n_samples, rec.identity(), levels, folder)

    @classmethod
    def load_or_build(
        cls,
        rec: LongRecord,
        cache_dir: Path | None = None,
        *,
        progress: Callable[[int, int], None] | None = None,
        cancelled: Callable[[], bool] | None = None,
    ) -> MinMaxPyramid | None:
        """:meth:`load_cached`, else :meth:`build`."""
        cached = cls.load_cached(rec, cache_dir)
        if cached is not None:
            if progress is not None:
                progress(rec.n_samples, rec.n_samples)
            return cached
        return cls.build(rec, cache_dir, progress=progress, cancelled=cancelled)


#: Raw samples are read this many at a time when a span is reduced without a pyramid.
_RAW_CHUNK = 1 << 20


@dataclass(frozen=True)
class _Plan:
    level: int  # pyramid level used, -1 for raw samples
    factor: int  # buckets per bin at that level
    width: int  # samples per bin
    first: int  # first sample of the first bin
    last: int  # end of the last bin (clipped to the record)


def _plan(rec: LongRecord, start: int, stop: int, n_bins: int, pyramid: MinMaxPyramid | None) -> _Plan | None:
    n = rec.n_samples
    start, stop = max(int(start), 0), min(int(stop), n)
    if stop <= start or n_bins < 1:
        return None
    per_bin = (stop - start) / n_bins
    level, factor = -1, 1
    if pyramid is not None and pyramid.matches(rec):
        fitting = [i for i, b in enumerate(pyramid.bucket_sizes) if b <= per_bin]
        level = fitting[-1] if fitting else -1
    if level >= 0:
        factor = max(1, round(per_bin / pyramid.bucket_sizes[level]))
        width = factor * pyramid.bucket_sizes[level]
    else:
        width = max(1, round(per_bin))
    first = (start // width) * width
    return _Plan(level, factor, width, first, min(-(-stop // width) * width, n))


def _empty(start: int) -> Envelope:
    empty = np.zeros(0, dtype=np.float32)
    return Envelope(np.zeros(0), empty, empty.copy(), max(int(start), 0), 1)


def _from_samples(x: np.ndarray, plan: _Plan, t_s: np.ndarray) -> Envelope:
    if plan.width == 1:
        return Envelope(t_s, x, x.copy(), plan.first, 1)
    lo, hi = _minmax(x, plan.width)
    return Envelope(t_s, lo, hi, plan.first, plan.width)


def envelope(
    rec: LongRecord,
    lead: str,
    start: int,
    stop: int,
    n_bins: int,
    pyramid: MinMaxPyramid | None = None,
) -> Envelope:
    """Min/max of ``lead`` in about ``n_bins`` bins covering ``[start, stop)``.

    The bin width is a whole number of samples -- a multiple of a pyramid bucket when
    the pyramid has a level whose bucket fits in a bin (the coarsest such level is
    used), else of raw samples read from the record -- and bins are aligned to
    multiples of their width, so the first and last bin may reach a little outside
    ``[start, stop)`` (never outside the record). Short spans (fewer than 1.5 samples
    per bin) return the raw samples. A pyramid built from another record (or from this
    one before it changed) is not used.

    Returns
    -------
    Envelope
        ``t_s`` (bin starts in seconds), ``lo``, ``hi`` (float32), ``first_sample``,
        ``bin_samples``; equal to brute-force min/max over the same bins.
    """
    if pyramid is not None and lead not in pyramid.leads:
        pyramid = None
    plan = _plan(rec, start, stop, n_bins, pyramid)
    if plan is None:
        return _empty(start)
    t_s = (plan.first + np.arange(-(-(plan.last - plan.first) // plan.width)) * plan.width) / rec.fs_hz
    if plan.level >= 0:
        bucket = pyramid.bucket_sizes[plan.level]
        lo, hi = pyramid.buckets(lead, plan.level, plan.first // bucket, -(-plan.last // bucket))
        lo, hi = _reduce_pairs(np.asarray(lo), np.asarray(hi), plan.factor)
        return Envelope(t_s, lo, hi, plan.first, plan.width)
    if plan.last - plan.first <= _RAW_CHUNK:
        return _from_samples(rec.lead(lead, plan.first, plan.last), plan, t_s)
    step = max(_RAW_CHUNK // plan.width, 1) * plan.width
    los, his = [], []
    for a in range(plan.first, plan.last, step):
        lo, hi = _minmax(rec.lead(lead, a, min(a + step, plan.last)), plan.width)
        los.append(lo)
        his.append(hi)
    return Envelope(t_s, np.concatenate(los), np.concatenate(his), plan.first, plan.width)


def envelopes(
    rec: LongRecord,
    leads: tuple[str, ...] | list[str],
    start: int,
    stop: int,
    n_bins: int,
    pyramid: MinMaxPyramid | None = None,
) -> dict[str, Envelope]:
    """:func:`envelope` of several leads over one span -- what a multi-lead view draws in a frame.

    Where raw samples are needed (short spans, or no pyramid) the span is read once
    for all leads (derived leads computed from that chunk) instead of once per lead.
    Results are identical to calling :func:`envelope` per lead.
    """
    usable = pyramid if pyramid is not None and all(name in pyramid.leads for name in leads) else None
    plan = _plan(rec, start, stop, n_bins, usable)
    if plan is None or plan.level >= 0 or plan.last - plan.first > _RAW_CHUNK:
        return {name: envelope(rec, name, start, stop, n_bins, pyramid) for name in leads}
    t_s = (plan.first + np.arange(-(-(plan.last - plan.first) // plan.width)) * plan.width) / rec.fs_hz
    chunk = rec.read(plan.first, plan.last)
    return {name: _from_samples(chunk.lead(name), plan, t_s) for name in leads}
