"""Caches of computed pages for the long-term view, and what to compute next (no Qt).

The long-term view shows one page at a time (a paper page, or the envelope
tiles of a strip page) and prefetches its neighbours. :class:`PageCache` keeps
the most recently used results by request key and, given the keys a page
needs and the keys worth prefetching, says (:meth:`PageCache.plan`) whether the
page can be drawn from memory and which requests a worker must compute, the
page's own first.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Hashable, Sequence
from dataclasses import dataclass
from typing import Any


class Lru:
    """A small least-recently-used mapping."""

    def __init__(self, size: int) -> None:
        self.size = size
        self._data: OrderedDict[Any, Any] = OrderedDict()

    def get(self, key):
        value = self._data.get(key)
        if value is not None:
            self._data.move_to_end(key)
        return value

    def put(self, key, value) -> None:
        self._data[key] = value
        self._data.move_to_end(key)
        while len(self._data) > self.size:
            self._data.popitem(last=False)

    def __contains__(self, key) -> bool:
        return key in self._data

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        self._data.clear()


@dataclass(frozen=True)
class Plan:
    """What to do for one page.

    ``shown`` holds the cached results of every needed key (in order) when all
    are cached, else None; ``fetch`` the keys to compute: the missing needed
    ones first, then the missing prefetch ones.
    """

    shown: list | None
    fetch: list


class PageCache(Lru):
    """Results (paper pages or envelope tiles) by request key, least recently used dropped first."""

    def plan(self, needed: Sequence[Hashable], prefetch: Sequence[Hashable] = ()) -> Plan:
        """Which of ``needed`` are cached (all -> :attr:`Plan.shown`) and what must be computed."""
        missing = [k for k in needed if k not in self]
        shown = None if missing else [self.get(k) for k in needed]
        extra = [k for k in prefetch if k not in self and k not in missing]
        return Plan(shown, missing + extra)
