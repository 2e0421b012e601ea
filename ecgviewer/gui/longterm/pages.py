"""Pages of the long-term view from memory or from a worker: paper samples and strip envelopes.

:class:`PageFetcher` keeps the computed paper pages and envelope tiles in
:class:`~ecgviewer.core.page_cache.PageCache`\\ s, asks one worker
(:func:`~ecgviewer.gui.longterm.jobs.page_job`, only the newest request counts)
for what the page shown lacks and for its neighbours, and reports the page as
soon as everything it needs is there.

Signals
-------
paperReady(object)
    The :class:`~ecgviewer.gui.longterm.jobs.PaperPage` of the page asked for last.
tilesReady(object, object)
    ``(page, tiles)``: every envelope tile of the strip page asked for last.
failed(object)
    A page could not be read (the exception).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, Signal

from ecgviewer.core.page_cache import PageCache
from ecgviewer.gui.longterm.jobs import PaperPage, PaperRequest, Tile, TileRequest, page_job
from ecgviewer.gui.workers import WorkerChannel

if TYPE_CHECKING:
    from ecgviewer.core.long_record import LongRecord
    from ecgviewer.gui.jobs import FiltersHz
    from ecgviewer.gui.longterm.paging import Page, Pager

#: Paper pages kept in memory (1 min of 8 leads at 500 Hz is ~1 MB).
PAPER_CACHE_PAGES = 12
#: Envelope tiles kept in memory (12 leads x 1600 bins is ~150 kB).
TILE_CACHE_TILES = 96


@dataclass(frozen=True)
class _Wanted:
    """The page asked for last and what its requests depend on."""

    page: Page
    paper: PaperRequest | None
    tiles: tuple[TileRequest, ...]


class PageFetcher(QObject):
    """Paper pages and envelope tiles of one long record (see the module docstring)."""

    paperReady = Signal(object)
    tilesReady = Signal(object, object)
    failed = Signal(object)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.paper_cache = PageCache(PAPER_CACHE_PAGES)
        self.tile_cache = PageCache(TILE_CACHE_TILES)
        self._channel = WorkerChannel(self)
        self._channel.progress.connect(self._on_result)
        self._channel.errored.connect(self.failed)
        self._wanted: _Wanted | None = None

    @property
    def is_busy(self) -> bool:
        """True while the page shown or prefetched neighbours are being read."""
        return self._channel.is_busy

    def clear(self) -> None:
        """Stop reading and forget every page (another record)."""
        self._channel.cancel()
        self.paper_cache.clear()
        self.tile_cache.clear()
        self._wanted = None

    def cancel(self) -> None:
        """Stop reading (window closing)."""
        self._channel.cancel()

    def fetch_paper(self, rec: LongRecord, pager: Pager, filters: FiltersHz) -> None:
        """The paper page ``pager.page`` (``paperReady`` now when cached); its neighbours are prefetched."""
        page = pager.page
        n = round(page.size_s * page.fs_hz)

        def request(start: int) -> PaperRequest:
            return PaperRequest(start, min(pager.n_samples, start + n), filters)

        wanted = request(page.start)
        starts = (page.start + n, page.start - n)
        around = [request(min(s, pager.last_start)) for s in starts if 0 <= s < pager.n_samples]
        self._wanted = _Wanted(page, wanted, ())
        plan = self.paper_cache.plan([wanted], around)
        if plan.shown:
            self.paperReady.emit(plan.shown[0])
        self._submit(rec, None, plan.fetch)

    def fetch_tiles(
        self, rec: LongRecord, pyramid, pager: Pager, leads: tuple[str, ...], n_bins: int
    ) -> None:
        """The envelope tiles of strip page ``pager.page`` (``tilesReady`` now when cached), and one
        tile on each side."""
        page = pager.page

        def request(k: int) -> TileRequest:
            return TileRequest(k, page.tile_length(), n_bins, leads, pyramid is not None)

        needed = [request(k) for k in page.tiles()]
        last = math.ceil(pager.n_samples / page.tile_length()) - 1
        around = [request(k) for k in (needed[0].index - 1, needed[-1].index + 1) if 0 <= k <= last]
        self._wanted = _Wanted(page, None, tuple(needed))
        plan = self.tile_cache.plan(needed, around)
        if plan.shown:
            self.tilesReady.emit(page, plan.shown)
        self._submit(rec, pyramid, plan.fetch)

    def _submit(self, rec: LongRecord, pyramid, requests: list) -> None:
        if requests:
            self._channel.submit(page_job, rec, pyramid, requests)

    def _on_result(self, result: object) -> None:
        wanted = self._wanted
        if isinstance(result, PaperPage):
            self.paper_cache.put(result.request, result)
            if wanted is not None and result.request == wanted.paper:
                self.paperReady.emit(result)
        elif isinstance(result, Tile):
            self.tile_cache.put(result.request, result)
            if wanted is not None and result.request in wanted.tiles:
                plan = self.tile_cache.plan(wanted.tiles)
                if plan.shown:
                    self.tilesReady.emit(wanted.page, plan.shown)
