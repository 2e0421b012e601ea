"""Signal quality in the viewer: red lead labels with the reason, "No measurable ECG" in the
measurements panel, withheld statements in the classification panel."""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer.core.leads import STANDARD_LEADS
from ecgviewer.core.readers import read_record
from ecgviewer.gui.ecg_view import LABEL_COLOR, UNUSABLE_LABEL_COLOR

LOAD_TIMEOUT_MS = 60_000

pytestmark = pytest.mark.gui


def _save(path, signals, names):
    np.savez(
        path,
        signals=signals.astype(np.float32),
        fs_hz=np.float64(500),
        lead_names=np.array(names),
        units=np.array(["mV"] * len(names)),
    )
    return path


def _open_and_analyse(qtbot, window, path):
    c = window.analysis.controller
    with qtbot.waitSignal(c.busy, timeout=LOAD_TIMEOUT_MS, check_params_cb=lambda b: not b):
        window.open_file(path)
    return c.analysis


def _labels(window) -> dict[str, tuple[str, str, str]]:
    """Lead -> (label text, colour, tooltip) of the first label of each lead."""
    out = {}
    for label in window.view.labels().values():
        name = label.text().split()[0]
        out.setdefault(name, (label.text(), label.brush().color().name(), label.toolTip()))
    return out


def test_flat_record_is_not_measured(window, qtbot, tmp_path):
    path = _save(tmp_path / "flat.npz", np.zeros((12, 5000)), STANDARD_LEADS)
    analysis = _open_and_analyse(qtbot, window, path)
    assert analysis is not None and not analysis.measurable
    panel = window.analysis.panel
    assert panel.quality_label.isVisible()
    assert (
        "No measurable ECG" in panel.quality_label.text()
        and "all 12 leads flat" in panel.quality_label.text()
    )
    assert all(panel.row_texts(k)["model"] == "—" and panel.row_texts(k)["classical"] == "—"
               for k in ("hr_bpm", "qt_ms"))  # fmt: skip
    assert panel.error_label.isHidden()  # the reason is said once
    labels = _labels(window)
    assert labels["V1"][0] == "V1 ✕ flat" and labels["V1"][1] == UNUSABLE_LABEL_COLOR
    assert "left out of every measurement" in labels["V1"][2]
    cls = window.analysis.class_panel
    if window.analysis.controller.classifier is not None:
        assert "Withheld" in cls.error_label.text()


def test_lead_off_marks_only_the_bad_leads(window, qtbot, tmp_path, ptbxl_dir):
    rec = read_record(ptbxl_dir / "00001_hr.hea")
    x = rec.signals.copy()
    x[rec.lead_names.index("V1")] = 0.0
    x[rec.lead_names.index("V3")] = 5.0
    path = _save(tmp_path / "off.npz", x, rec.lead_names)
    analysis = _open_and_analyse(qtbot, window, path)
    assert analysis.measurable and analysis.classical is not None and analysis.prediction is None
    labels = _labels(window)
    assert labels["V3"][0] == "V3 ✕ lead off" and labels["V3"][1] == UNUSABLE_LABEL_COLOR
    assert labels["II"][0] == "II" and labels["II"][1] == LABEL_COLOR
    panel = window.analysis.panel
    assert "unusable: V1 flat; V3 lead off" in panel.quality_label.text()
    assert "Withheld: lead V1 unusable (flat)" in panel.error_label.text()
    assert panel.row_texts("hr_bpm")["classical"].endswith("bpm")
    # a new record clears the marks
    clean = _save(tmp_path / "clean.npz", rec.signals, rec.lead_names)
    analysis = _open_and_analyse(qtbot, window, clean)
    assert analysis.measurable and not analysis.withheld
    assert _labels(window)["V3"] == ("V3", LABEL_COLOR, "V3 (recorded)")
    assert panel.quality_label.isHidden()


def test_derived_leads_show_their_source(window, qtbot, tmp_path, ptbxl_dir):
    rec = read_record(ptbxl_dir / "00001_hr.hea")
    eight = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
    x = rec.leads_array(eight).copy()
    x[0] = 0.0
    _open_and_analyse(qtbot, window, _save(tmp_path / "eight.npz", x, eight))
    labels = _labels(window)
    assert labels["aVL"][0] == "aVL ✕ I flat" and labels["aVL"][1] == UNUSABLE_LABEL_COLOR
