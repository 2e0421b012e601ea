"""Long-term (Holter) records in the viewer: overview bar, paged view, beat pass and event list.

See :mod:`ecgviewer.gui.longterm.controller` for how the parts fit together.
"""

from ecgviewer.gui.longterm.controller import LongTermUi, install_longterm
from ecgviewer.gui.longterm.jobs import LongOpened, open_job
from ecgviewer.gui.longterm.paging import LONG_TERM_MIN_S, PAGE_SIZES_S

__all__ = ["LONG_TERM_MIN_S", "PAGE_SIZES_S", "LongOpened", "LongTermUi", "install_longterm", "open_job"]
