"""Wave boundaries on the long-term paper page, on demand: the page shown is delineated in the background.

When a paper page (10 s, 30 s or 1 min) is drawn, :class:`PageBoundaries` asks the
delineation network for the boundaries of its beats (the beat pass's R peaks when it has
run, else the network's own detection) on a worker thread -- through the window's
:class:`~ecgviewer.analysis.ModelSet`, so in the ``ecgviewer`` program the network runs in
the model process -- and draws them when they come back. A newer page cancels the request
of the previous one; each page's boundaries are kept (:data:`CACHE_PAGES` pages), so going
back draws them at once.

:class:`BoundaryMarks` draws the consensus boundaries of every beat (the median over the
delineated leads, as the short-record view marks them) as short vertical ticks across the
trace of every lead drawn: one ``PlotCurveItem`` per wave (P, QRS, T), its ticks
NaN-separated, whatever the number of leads and beats.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np
import pyqtgraph as pg
from PySide6.QtCore import QObject, Signal
from PySide6.QtGui import QColor, QPen

from ecgviewer.gui.workers import WorkerChannel

if TYPE_CHECKING:
    from ecgviewer.core.record import EcgRecord
    from ecgviewer.gui.ecg_view import EcgView

#: Colour of each wave's boundary ticks.
WAVE_COLORS: dict[str, str] = {"P": "#1f77b4", "QRS": "#c2185b", "T": "#2e7d32"}
#: Columns of ``Delineation.consensus`` holding each wave's onset and offset.
WAVE_POINTS: dict[str, tuple[int, int]] = {"P": (0, 1), "QRS": (2, 3), "T": (4, 5)}
#: Half the height of a tick, mm of paper.
TICK_MM = 1.6
#: Pages whose boundaries are kept.
CACHE_PAGES = 24

#: ``models()`` -> ``(model_set, delineator name, device)``, or None when the delineation is off.
ModelsFn = Callable[[], "tuple[Any, str, str] | None"]


def page_delineation_job(models: Any, name: str, device: str, record: EcgRecord, r_peaks, job) -> Any:
    """Worker: the consensus boundaries ``(n_beats, 6)`` of ``record`` in seconds from its start."""
    net = models.delineator(name, device)
    result = net.delineate(record, r_peaks=r_peaks, should_stop=lambda: job.cancelled)
    consensus = np.asarray(result.delineation.consensus, dtype=np.float64)
    return consensus / record.fs_hz


class BoundaryMarks:
    """Boundary ticks over the traces of an :class:`~ecgviewer.gui.ecg_view.EcgView` (see the module)."""

    def __init__(self, viewbox: pg.ViewBox, z: float = 35) -> None:
        self.items: dict[str, pg.PlotCurveItem] = {}
        for wave, color in WAVE_COLORS.items():
            pen = QPen(QColor(color))
            pen.setCosmetic(True)
            pen.setWidthF(1.6)
            item = pg.PlotCurveItem(pen=pen, connect="finite")
            item.setZValue(z)
            viewbox.addItem(item, ignoreBounds=True)
            self.items[wave] = item

    def draw(self, view: EcgView, points_s: np.ndarray, line_s: float | None = None) -> None:
        """Ticks at ``points_s`` (``(n_beats, 6)`` seconds from the page start, NaN absent) on every
        drawn lead; ``line_s``: the page is folded into rows of that many seconds (row k from k * line_s)."""
        lay = view.layout
        pts = np.asarray(points_s, dtype=np.float64).reshape(-1, 6)
        xs: dict[str, list[np.ndarray]] = {w: [] for w in self.items}
        ys: dict[str, list[np.ndarray]] = {w: [] for w in self.items}
        if lay is not None and pts.size:
            for seg, curve in view.curves():
                cx, cy = curve.getData()
                if cx is None or len(cx) < 2:
                    continue
                offset = seg.row * line_s if line_s else 0.0
                for wave, cols in WAVE_POINTS.items():
                    t = pts[:, cols].ravel() - offset
                    t = t[np.isfinite(t) & (t >= seg.t_start_s) & (t < seg.t_stop_s)]
                    if not t.size:
                        continue
                    x = seg.x_start_mm + (t - seg.t_start_s) * lay.speed_mm_per_s
                    y = np.interp(x, cx, cy)
                    nan = np.full(x.size, np.nan)
                    xs[wave].append(np.column_stack([x, x, nan]).ravel())
                    ys[wave].append(np.column_stack([y - TICK_MM, y + TICK_MM, nan]).ravel())
        for wave, item in self.items.items():
            if xs[wave]:
                item.setData(np.concatenate(xs[wave]), np.concatenate(ys[wave]))
            else:
                item.setData([], [])

    def clear(self) -> None:
        """Remove every tick."""
        for item in self.items.values():
            item.setData([], [])

    def count(self, wave: str | None = None) -> int:
        """Ticks drawn (of one wave, or all)."""
        items = self.items.values() if wave is None else [self.items[wave]]
        total = 0
        for item in items:
            x = item.getData()[0]
            total += 0 if x is None else int(np.isfinite(x).sum()) // 2
        return total

    def set_visible(self, on: bool) -> None:
        """Show or hide every tick."""
        for item in self.items.values():
            item.setVisible(on)


class PageBoundaries(QObject):
    """Delineate the paper page shown, on demand and in the background (see the module docstring).

    Signals
    -------
    drawn(object)
        ``(start, stop)`` of the page whose boundaries were just drawn.
    busyChanged(bool)
        A page started or stopped being delineated.
    """

    drawn = Signal(object)
    busyChanged = Signal(bool)

    def __init__(self, view: EcgView, models: ModelsFn, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.view = view
        self.models = models
        #: Delineate the pages shown (else no request is made and nothing is drawn).
        self.enabled = True
        self.marks = BoundaryMarks(view.vb)
        self._cache: OrderedDict[tuple[int, int], np.ndarray] = OrderedDict()
        self._channel = WorkerChannel(self)
        self._channel.finished.connect(self._on_done)
        self._channel.errored.connect(self._on_error)
        self._channel.busy.connect(self.busyChanged)
        self._wanted: tuple[tuple[int, int], float | None] | None = None
        self._pending: tuple[int, int] | None = None
        #: The job handle of the newest request (tests check that paging cancels it).
        self.job: Any = None
        #: Why the last page got no boundaries (one line), else empty.
        self.error = ""

    @property
    def is_busy(self) -> bool:
        """True while a page is being delineated."""
        return self._channel.is_busy

    @property
    def pending(self) -> tuple[int, int] | None:
        """``(start, stop)`` of the page being delineated (None when idle)."""
        return self._pending if self.is_busy else None

    def cached(self, key: tuple[int, int]) -> np.ndarray | None:
        """The boundaries kept for page ``(start, stop)``."""
        return self._cache.get(key)

    def show(self, key: tuple[int, int], record: EcgRecord, r_peaks: np.ndarray | None, line_s=None) -> None:
        """The page ``key`` = ``(start, stop)`` with samples ``record`` is drawn: its boundaries now
        (kept) or once delineated; ``r_peaks`` are its beats (page samples; None: detect them)."""
        self._wanted = (key, line_s)
        found = self._cache.get(key)
        if found is not None:
            self._cache.move_to_end(key)
            self._channel.cancel()
            self._draw(key, found)
            return
        self.marks.clear()
        models = self.models() if self.enabled else None
        if models is None:
            self._channel.cancel()
            return
        if self._pending == key and self.is_busy:
            return  # already on its way
        model_set, name, device = models
        self._pending = key
        worker = self._channel.submit(
            lambda job: (key, page_delineation_job(model_set, name, device, record, r_peaks, job))
        )
        self.job = worker.job

    def redraw(self) -> None:
        """Draw the wanted page's boundaries again (the paper geometry changed)."""
        if self._wanted is not None and (found := self._cache.get(self._wanted[0])) is not None:
            self._draw(self._wanted[0], found)

    def leave(self) -> None:
        """No paper page is shown any more: stop delineating, remove the ticks."""
        self._wanted = None
        self._channel.cancel()
        self.marks.clear()

    def clear(self) -> None:
        """Forget every page (another record, or new beats)."""
        self.leave()
        self._cache.clear()
        self.error = ""

    def _draw(self, key: tuple[int, int], points_s: np.ndarray) -> None:
        line_s = self._wanted[1] if self._wanted is not None else None
        self.marks.draw(self.view, points_s, line_s)
        self.drawn.emit(key)

    def _on_done(self, result) -> None:
        key, points_s = result
        self._cache[key] = points_s
        self._cache.move_to_end(key)
        while len(self._cache) > CACHE_PAGES:
            self._cache.popitem(last=False)
        self.error = ""
        if self._wanted is not None and self._wanted[0] == key:
            self._draw(key, points_s)

    def _on_error(self, exc: BaseException) -> None:
        self.error = f"{type(exc).__name__}: {exc}"
