"""The ECG paper as drawn, pixel for pixel (within antialiasing), against a stored reference image.

The bundled sample (PTB-XL 00001) in an 800 x 500 :class:`EcgView`, 3x4 layout,
25 mm/s, 10 mm/mV, rendered offscreen as CI does. Lead labels are hidden before the
grab, so that font rendering (which differs between machines) is not compared; the
traces, calibration pulses, column marks and the grid are. See
``tests/gui/image_compare.py`` for the tolerance and how to update the reference.
"""

from __future__ import annotations

import numpy as np
import pytest

from ecgviewer.core import read_record
from ecgviewer.gui.ecg_view import EcgView
from tests.gui.image_compare import (
    IMAGES,
    assert_image_matches,
    image_difference,
    image_to_rgb,
    images_match,
    load_rgb,
    paper_area,
    traces_drawn,
)

pytestmark = pytest.mark.gui

SIZE = (800, 500)
REFERENCE = "paper_3x4_25mm_10mm"


def render(qtbot, record, layout="3x4", speed=25.0, gain=10.0) -> np.ndarray:
    """An RGB grab of a fresh ``SIZE`` EcgView showing ``record`` (labels hidden)."""
    view = EcgView()
    qtbot.addWidget(view)
    view.resize(*SIZE)
    view.show()
    qtbot.waitExposed(view)
    view.show_record(record, layout, speed, gain)
    for label in view.labels().values():
        label.hide()
    qtbot.wait(10)
    image = view.grab().toImage()
    assert (image.width(), image.height()) == SIZE
    return image_to_rgb(image)


@pytest.fixture(scope="module")
def sample(sample_path):
    return read_record(sample_path)


def test_paper_matches_the_reference_image(qtbot, sample):
    assert_image_matches(REFERENCE, render(qtbot, sample))


def test_comparison_detects_a_doubled_gain(qtbot, sample):
    """20 mm/mV instead of 10: the same record, traces twice as tall; the comparison must notice."""
    reference = render(qtbot, sample)
    assert images_match(render(qtbot, sample), reference)  # a second rendering is the same
    doubled = render(qtbot, sample, gain=20.0)
    assert not images_match(doubled, reference)
    assert image_difference(doubled, reference).share > 0.05  # ~10 % of the pixels; 0.5 % are allowed
    assert not images_match(render(qtbot, sample, gain=11.0), reference)  # 10 % taller: ~7 % differ


def test_stored_reference_shows_traces_on_paper():
    reference = load_rgb(IMAGES / f"{REFERENCE}.png")
    assert traces_drawn(paper_area(reference))


def test_an_empty_view_has_no_traces(qtbot, sample):
    """The trace predicate the screenshot test relies on fails for a view without a record."""
    assert traces_drawn(paper_area(render(qtbot, sample)))
    assert not traces_drawn(paper_area(render(qtbot, None)))
