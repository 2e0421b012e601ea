"""``ecgviewer --screenshot``: a PNG of the window that looks like an ECG printout."""

from __future__ import annotations

import numpy as np
import pytest
from PySide6.QtGui import QImage

from ecgviewer.cli import main

pytestmark = pytest.mark.gui


def _pixels(path):
    image = QImage(str(path)).convertToFormat(QImage.Format.Format_RGB32)
    ptr = image.constBits()
    arr = np.frombuffer(ptr, dtype=np.uint8, count=image.sizeInBytes()).reshape(image.height(), -1, 4)
    return image, arr[:, : image.width(), [2, 1, 0]].astype(int)


@pytest.mark.parametrize("layout", ["3x4", "12x1"])
def test_screenshot_is_an_ecg(qapp, tmp_path, sample_path, layout):
    out = tmp_path / f"shot_{layout}.png"
    assert main(["--screenshot", str(out), "--layout", layout, "--size", "1200x800", str(sample_path)]) == 0
    image, rgb = _pixels(out)
    assert (image.width(), image.height()) == (1200, 800)
    r, g, b = rgb[..., 0], rgb[..., 1], rgb[..., 2]
    reddish = (r > 200) & (g < 200) & (b < 200) & (r - g > 40)
    dark = (r < 60) & (g < 60) & (b < 60)
    assert reddish.mean() > 0.01, "no pink grid"
    assert dark.sum() > 2000, "no signal traces"


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
