"""The measurements the acquiring device stored in a file appear in the Device column of the panel."""

from __future__ import annotations

import pytest

from ecgviewer.core.record import VendorMeasurements
from ecgviewer.gui.measurements_panel import DEVICE_COLUMN, MeasurementsPanel

pytestmark = pytest.mark.gui


def test_device_column_hidden_until_a_file_has_measurements(qtbot):
    panel = MeasurementsPanel()
    qtbot.addWidget(panel)
    assert panel.table.isColumnHidden(DEVICE_COLUMN)
    vendor = VendorMeasurements(
        "GE MUSE (12SL)", {"hr_bpm": 90, "pr_ms": 144, "qtc_ms": 491, "qrs_axis_deg": -5}
    )
    panel.set_vendor(vendor)
    assert not panel.table.isColumnHidden(DEVICE_COLUMN)
    assert panel.row_texts("pr_ms")["device"] == "144"  # the unit is the row's (shown in the Model column)
    assert panel.row_texts("hr_bpm")["device"] == "90"
    assert panel.row_texts("qt_ms")["device"] == "—"  # the device did not measure it
    assert panel.row_texts("qtc_bazett_ms")["device"] == ""  # its QTc formula is unknown: listed apart
    assert "QTc 491 ms" in panel.device_label.text() and "QRS axis -5°" in panel.device_label.text()
    assert "GE MUSE" in panel.table.horizontalHeaderItem(DEVICE_COLUMN).toolTip()
    panel.set_vendor(None)
    assert panel.table.isColumnHidden(DEVICE_COLUMN) and panel.device_label.isHidden()


def test_opening_a_muse_file_fills_the_device_column(window, shared_data, sample_path, open_and_wait):
    record = open_and_wait(window, shared_data / "formats" / "ge-muse-xml" / "muse-sinus.xml")
    panel = window.analysis.panel
    assert record.vendor_measurements is not None
    assert not panel.table.isColumnHidden(DEVICE_COLUMN)
    assert panel.row_texts("qt_ms")["device"] == "402"
    assert panel.row_texts("qrs_ms")["device"] == "86"
    open_and_wait(window, sample_path)  # WFDB: no device measurements
    assert panel.table.isColumnHidden(DEVICE_COLUMN)
