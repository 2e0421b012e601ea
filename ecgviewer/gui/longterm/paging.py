"""Page arithmetic of the long-term view (no Qt): page sizes, clamping, tiles of min/max envelopes.

A page is a span of samples ``[start, stop)`` of the record. Its size is one of
:data:`PAGE_SIZES_S`; pages up to :data:`PAPER_MAX_PAGE_S` are drawn on ECG paper
from the samples, longer ones as a strip chart of min/max envelopes. The
envelopes are computed per *tile*: a tile is one page-length span aligned to a
multiple of the page length, so that stepping, jumping or dragging reuses the
tiles already computed (and the neighbouring tiles can be prefetched).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ecgviewer.core.opening import LONG_TERM_MIN_S  # noqa: F401  (re-exported: records this long are paged)
from ecgviewer.gui.longterm.clock import format_duration

#: Page sizes offered (seconds): 10 s, 30 s, 1 min, 10 min, 1 h.
PAGE_SIZES_S: tuple[float, ...] = (10.0, 30.0, 60.0, 600.0, 3600.0)
#: Pages up to this length are drawn on ECG paper from the samples; longer ones as envelopes.
PAPER_MAX_PAGE_S = 60.0
#: Pages up to this length keep the chosen paper layout (3x4 shows 10 s); longer paper pages are stacked.
LAYOUT_PAGE_MAX_S = 10.0
#: Envelope bins per tile: one per pixel of the strip, within these bounds.
MIN_TILE_BINS, MAX_TILE_BINS = 200, 4000


def page_size_label(size_s: float) -> str:
    """``"10 s"``, ``"1 min"``, ``"1 h"``."""
    return format_duration(size_s)


def is_paper_page(size_s: float) -> bool:
    """True when a page of ``size_s`` seconds is drawn on ECG paper."""
    return size_s <= PAPER_MAX_PAGE_S + 1e-9


def neighbour_size(size_s: float, steps: int) -> float:
    """The page size ``steps`` places along :data:`PAGE_SIZES_S` (clamped at both ends)."""
    sizes = PAGE_SIZES_S
    index = min(range(len(sizes)), key=lambda i: abs(sizes[i] - size_s))
    return sizes[min(len(sizes) - 1, max(0, index + steps))]


def tile_bins(width_px: int) -> int:
    """Envelope bins per tile for a strip ``width_px`` pixels wide (one bin per pixel)."""
    return int(min(MAX_TILE_BINS, max(MIN_TILE_BINS, width_px)))


@dataclass(frozen=True)
class Page:
    """Samples ``[start, stop)`` of a record sampled at ``fs_hz``; ``size_s`` is the nominal page size."""

    start: int
    stop: int
    fs_hz: float
    size_s: float

    @property
    def start_s(self) -> float:
        """First second of the page (from the record start)."""
        return self.start / self.fs_hz

    @property
    def stop_s(self) -> float:
        """End of the page in seconds."""
        return self.stop / self.fs_hz

    @property
    def length(self) -> int:
        """Samples in the page (less than the size at the end of a short record)."""
        return self.stop - self.start

    @property
    def is_paper(self) -> bool:
        """Drawn on ECG paper (see :func:`is_paper_page`)."""
        return is_paper_page(self.size_s)

    def tile_length(self) -> int:
        """Samples per envelope tile: one page."""
        return max(1, round(self.size_s * self.fs_hz))

    def tiles(self) -> range:
        """Indices of the envelope tiles that cover the page."""
        n = self.tile_length()
        return range(self.start // n, max(self.start // n + 1, math.ceil(self.stop / n)))


class Pager:
    """Where the long-term view is: page size and first sample, always inside the record.

    Parameters
    ----------
    n_samples, fs_hz
        Length and rate of the record.
    size_s
        Initial page size (one of :data:`PAGE_SIZES_S`).

    Examples
    --------
    >>> p = Pager(n_samples=360 * 1800, fs_hz=360.0)
    >>> p.step(1)
    True
    >>> p.page.start_s
    10.0
    >>> _ = p.go_end()
    >>> p.page.stop_s
    1800.0
    >>> _ = p.set_size(600.0)
    >>> (p.page.start_s, p.page.stop_s)
    (1200.0, 1800.0)
    """

    def __init__(self, n_samples: int, fs_hz: float, size_s: float = PAGE_SIZES_S[0]) -> None:
        if n_samples <= 0 or not fs_hz > 0:
            raise ValueError("a pager needs a non-empty record with a positive sampling rate")
        self.n_samples = int(n_samples)
        self.fs_hz = float(fs_hz)
        self._size_s = float(size_s)
        self._start = 0

    @property
    def size_s(self) -> float:
        """Page size in seconds."""
        return self._size_s

    @property
    def length(self) -> int:
        """Samples per page (the nominal size, possibly longer than the record)."""
        return max(1, round(self._size_s * self.fs_hz))

    @property
    def last_start(self) -> int:
        """First sample of the last page."""
        return max(0, self.n_samples - self.length)

    @property
    def page(self) -> Page:
        """The current page."""
        return Page(self._start, min(self.n_samples, self._start + self.length), self.fs_hz, self._size_s)

    def go(self, start: int) -> bool:
        """Start the page at sample ``start`` (clamped); True when the page moved."""
        start = int(min(max(0, int(start)), self.last_start))
        moved = start != self._start
        self._start = start
        return moved

    def go_time(self, t_s: float) -> bool:
        """Start the page at ``t_s`` seconds (clamped)."""
        return self.go(round(t_s * self.fs_hz))

    def step(self, pages: float) -> bool:
        """Move by ``pages`` pages (negative: back)."""
        return self.go(self._start + round(pages * self.length))

    def go_start(self) -> bool:
        """First page."""
        return self.go(0)

    def go_end(self) -> bool:
        """Last page."""
        return self.go(self.last_start)

    def centre_on(self, t_s: float) -> bool:
        """Put ``t_s`` (seconds) in the middle of the page, as far as the record allows."""
        return self.go(round(t_s * self.fs_hz) - self.length // 2)

    def set_size(self, size_s: float, anchor_s: float | None = None, anchor_fraction: float = 0.5) -> bool:
        """Change the page size keeping ``anchor_s`` at ``anchor_fraction`` of the page.

        ``anchor_s`` defaults to the time at that fraction of the current page
        (the centre), so ``+``/``-`` zoom about the middle and the mouse wheel
        about the pointer. Returns True when the page changed.
        """
        size_s = float(size_s)
        if anchor_s is None:  # on the part of the page that is in the record
            anchor_s = (self._start + anchor_fraction * self.page.length) / self.fs_hz
        changed = size_s != self._size_s
        self._size_s = size_s
        moved = self.go(round(anchor_s * self.fs_hz - anchor_fraction * self.length))
        return changed or moved
