"""Every drawn piece of trace lies on the paper, for records of any length and on every page."""

from __future__ import annotations

import numpy as np
import pytest

pytestmark = pytest.mark.gui


@pytest.mark.parametrize("length_s", [11.0, 12.5, 9.0, 10.0, 20.2])
def test_no_trace_outside_the_paper(window, shared_data, length_s, qtbot):
    from ecgviewer.core.readers import read_record

    base = read_record(shared_data / "ptb-xl" / "records500" / "00000" / "00409_hr.hea")
    n = round(length_s * base.fs_hz)
    record = base.with_signals(np.tile(base.signals, (1, 3))[:, :n])
    view = window.view
    for layout in ("3x4", "6x2", "12x1"):
        window.set_layout(layout)
        window.show_record(record)
        for t0 in (0.0, 10.0, 20.0):
            view.set_page(t0)
            left, bottom, width, height = view.layout.paper_rect
            curves = view.curves()
            assert curves
            for seg, curve in curves:
                x, y = curve.xData, curve.yData  # all samples, not only those in view
                assert x.min() >= left and x.max() <= left + width, (layout, t0, seg)
                finite = y[np.isfinite(y)]
                assert finite.min() >= bottom and finite.max() <= bottom + height, (layout, t0, seg)
                # the segment's samples, and only those, are drawn
                assert x.size == min(record.n_samples, round(seg.t_stop_s * record.fs_hz)) - round(
                    seg.t_start_s * record.fs_hz
                )
