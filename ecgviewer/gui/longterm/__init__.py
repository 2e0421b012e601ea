"""Long-term (Holter) records in the viewer: overview bar, paged view, beat pass and event list.

- :mod:`.mode`: :class:`LongTermMode`, the window's view mode while a long record is open;
- :mod:`.session`: its navigation, beat-pass results and action states;
- :mod:`.widgets`, :mod:`.paper_page`, :mod:`.passes`: its widgets, its paper pages, its
  background passes (pyramid, beat pass);
- :mod:`.jobs`: what runs on worker threads; the page caches are
  :mod:`ecgviewer.core.page_cache` (no Qt).
"""

from ecgviewer.gui.longterm.jobs import LongOpened
from ecgviewer.gui.longterm.mode import LongTermMode
from ecgviewer.gui.longterm.paging import LONG_TERM_MIN_S, PAGE_SIZES_S

__all__ = ["LONG_TERM_MIN_S", "PAGE_SIZES_S", "LongOpened", "LongTermMode"]
