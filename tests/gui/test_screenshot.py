"""``ecgviewer --screenshot``: a PNG of the window that looks like an ECG printout."""

from __future__ import annotations

import pytest
from PySide6.QtCore import QPoint

from ecgviewer.cli import main
from tests.gui.image_compare import PAPER_RGB, dark_mask, load_rgb, paper_area, trace_stats, traces_drawn

pytestmark = pytest.mark.gui


def _view_rect(monkeypatch) -> dict:
    """Spy on ``--screenshot``: where ``window.view`` (the ECG paper widget) lies in the window grab."""
    from ecgviewer.gui import app as gui_app

    seen: dict = {}
    original = gui_app._wait_for_analysis

    def spy(window, *args, **kwargs):
        original(window, *args, **kwargs)
        top_left = window.view.mapTo(window, QPoint(0, 0))
        seen["rect"] = (top_left.x(), top_left.y(), window.view.width(), window.view.height())
        seen["window"] = (window.width(), window.height())

    monkeypatch.setattr(gui_app, "_wait_for_analysis", spy)
    return seen


@pytest.mark.parametrize("layout", ["3x4", "12x1"])
def test_screenshot_is_an_ecg(qapp, tmp_path, sample_path, layout, monkeypatch):
    """The traces and the grid are looked for on the paper only, not in menus, docks or the status bar."""
    seen = _view_rect(monkeypatch)
    out = tmp_path / f"shot_{layout}.png"
    assert main(["--screenshot", str(out), "--layout", layout, "--size", "1200x800", str(sample_path)]) == 0
    shot = load_rgb(out)
    assert shot.shape[:2] == (800, 1200) and seen["window"] == (1200, 800)
    x, y, w, h = seen["rect"]
    paper = paper_area(shot[y : y + h, x : x + w])
    assert paper.shape[0] > 0.25 * h and paper.shape[1] > 0.5 * w, f"no paper in the view: {paper.shape}"
    r, g, b = (paper[..., k].astype(int) for k in range(3))
    reddish = (r > 200) & (g < 200) & (b < 200) & (r - g > 40)
    assert reddish.mean() > 0.01, "no pink grid on the paper"
    assert traces_drawn(paper), f"no signal traces on the paper: {trace_stats(paper)}"
    # the old check on the whole window is fooled: erase the traces and the window still has
    # thousands of dark pixels (menu, dock and status-bar text), while the paper check fails
    erased = shot.copy()
    region = erased[y : y + h, x : x + w]
    region[dark_mask(region)] = PAPER_RGB
    assert dark_mask(erased).sum() > 2000
    assert not traces_drawn(paper_area(erased[y : y + h, x : x + w]))


def test_screenshot_without_file_uses_the_sample(qapp, tmp_path):
    out = tmp_path / "sample.png"
    assert main(["--screenshot", str(out), "--size", "800x600"]) == 0
    assert out.stat().st_size > 10_000


def test_screenshot_of_a_bad_file_fails(qapp, tmp_path, capsys):
    bad = tmp_path / "bad.hea"
    bad.write_bytes(b"")
    out = tmp_path / "never.png"
    assert main(["--screenshot", str(out), str(bad)]) != 0
    assert "bad.hea" in capsys.readouterr().err
    assert not out.exists()


def test_screenshot_with_model_option_waits_for_the_analysis(qapp, tmp_path, sample_path, monkeypatch):
    from ecgviewer.gui import app as gui_app

    seen = {}
    original = gui_app._wait_for_analysis

    def spy(window, *args, **kwargs):
        original(window, *args, **kwargs)
        seen["model"] = window.analysis.controller.model
        seen["prediction"] = window.analysis.controller.prediction

    monkeypatch.setattr(gui_app, "_wait_for_analysis", spy)
    out = tmp_path / "vit.png"
    assert main(["--screenshot", str(out), "--model", "vit1d", "--device", "cpu", str(sample_path)]) == 0
    assert seen["model"] == "vit1d"
    assert seen["prediction"] is not None and seen["prediction"].model_name == "vit1d"
