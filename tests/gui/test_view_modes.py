"""The window's view modes, the one open per file, the action slots and the 6x2 layout in the viewer."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ecgviewer.gui import actions as action_table
from ecgviewer.gui.action_wiring import resolve_slot
from ecgviewer.gui.jobs import ShortOpened, open_job
from ecgviewer.gui.longterm import LongOpened, LongTermMode
from ecgviewer.gui.longterm.paging import LONG_TERM_MIN_S
from ecgviewer.gui.modes import PaperMode
from ecgviewer.gui.workers import Job
from ecgviewer.layout.choices import LAYOUT_NAMES

pytestmark = pytest.mark.gui
OFF = (None, None, None)


@pytest.fixture(autouse=True)
def pyramid_cache(tmp_path, monkeypatch):
    """Pyramids are cached in the test's own folder, never in the user's cache."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


@pytest.fixture(scope="module")
def holter(tmp_path_factory) -> Path:
    """A generated 6 min Holter (longer than the long-term threshold)."""
    from ecgviewer.core.simulate import write_long_wfdb

    hea = write_long_wfdb(tmp_path_factory.mktemp("holter") / "holter", hours=0.1, seed=5)
    return hea


@pytest.fixture
def ptbxl(shared_data) -> Path:
    return shared_data / "ptb-xl" / "records500" / "00000" / "00409_hr.hea"


@pytest.fixture
def reads(monkeypatch):
    """Counts of the registry's whole reads and lazy opens while a test runs."""
    from ecgviewer.core.readers import registry

    counts = {"read_record": 0, "open_long_record": 0}

    def counting(name):
        original = getattr(registry, name)

        def wrapper(*args, **kwargs):
            counts[name] += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(registry, name, wrapper)

    counting("read_record")
    counting("open_long_record")
    return counts


# -- one open per file ------------------------------------------------------------------------------
def test_a_short_lazy_file_is_opened_once_and_read_from_that_open(ptbxl, reads):
    from ecgviewer.core.readers.registry import get_reader

    opened = open_job(ptbxl, OFF, LONG_TERM_MIN_S, 10.0, Job(0))
    assert isinstance(opened, ShortOpened)
    assert reads == {"read_record": 0, "open_long_record": 1}
    reference = get_reader("wfdb").read(ptbxl)  # the ordinary whole read, for comparison
    assert np.array_equal(opened.record.signals, reference.signals)
    assert opened.record.lead_names == reference.lead_names
    assert opened.record.metadata == reference.metadata and opened.record.source_path == ptbxl
    assert opened.display is opened.record and opened.path == ptbxl


def test_a_format_without_lazy_reading_is_read_once(shared_data, reads):
    muse = shared_data / "formats" / "ge-muse-xml" / "muse-sinus.xml"
    opened = open_job(muse, (0.5, None, None), LONG_TERM_MIN_S, 10.0, Job(0))
    assert isinstance(opened, ShortOpened)
    # one whole read, inside the one reading path (open_long_record wraps it)
    assert reads == {"read_record": 1, "open_long_record": 1}
    assert opened.display is not opened.record and opened.filters == (0.5, None, None)
    assert opened.record.vendor_measurements is not None  # the very record the reader returned


def test_a_long_file_stays_on_disk(holter, reads):
    opened = open_job(holter, OFF, LONG_TERM_MIN_S, 10.0, Job(0))
    assert isinstance(opened, LongOpened)
    assert reads == {"read_record": 0, "open_long_record": 1}
    assert opened.record.access == "memory map" and opened.record.duration_s >= LONG_TERM_MIN_S
    assert opened.first_page.record.n_samples == round(10.0 * opened.record.fs_hz)


def test_a_cancelled_open_returns_nothing(ptbxl):
    job = Job(0)
    job.cancel()
    assert open_job(ptbxl, OFF, LONG_TERM_MIN_S, 10.0, job) is None


# -- modes --------------------------------------------------------------------------------------------
def test_the_window_switches_modes_with_the_record(window, ptbxl, holter, open_and_wait, qtbot):
    assert isinstance(window.mode, PaperMode)
    record = open_and_wait(window, ptbxl)
    assert window.mode is window.paper_mode and window.record is record and not window.longterm.active
    window.longterm.auto_beats = False
    open_and_wait(window, holter)
    assert isinstance(window.mode, LongTermMode) and window.mode is window.longterm and window.longterm.active
    qtbot.waitUntil(lambda: window.longterm.drawn_page() == window.longterm.page, timeout=30_000)
    # the page shown is the window's record; the paper mode forgot the short one
    assert window.record.n_samples == round(10.0 * window.record.fs_hz) and window.paper_mode.record is None
    start = window.longterm.page.start
    window.action("page_next").trigger()  # "mode.step" reaches the long-term mode
    assert window.longterm.page.start > start
    open_and_wait(window, ptbxl)
    assert window.mode is window.paper_mode and not window.longterm.active
    assert not window.longterm.overview.isVisible() and window.record.n_samples == 5000


def test_long_term_paper_pages_replace_samples_in_the_curves(window, holter, open_and_wait, qtbot):
    lt = window.longterm
    lt.auto_beats = False
    open_and_wait(window, holter)
    qtbot.waitUntil(lambda: lt.drawn_page() == lt.page and not lt.reading_pages, timeout=30_000)
    before = [curve for _, curve in window.view.curves()]
    first = window.view.curves()[0][1].yData.copy()
    lt.step(1)
    qtbot.waitUntil(lambda: lt.drawn_page() == lt.page, timeout=30_000)
    after = [curve for _, curve in window.view.curves()]
    assert after == before  # the same items ...
    assert not np.array_equal(window.view.curves()[0][1].yData, first)  # ... with the next page's samples


def test_replace_samples_refuses_another_geometry(window):
    from ecgviewer.core.record import EcgRecord

    rng = np.random.default_rng(0)
    rec = EcgRecord(rng.normal(size=(2, 5000)).astype(np.float32), 500.0, ("I", "II"), ("mV", "mV"))
    window.show_record(rec)
    other = EcgRecord(rng.normal(size=(2, 5000)).astype(np.float32), 500.0, ("I", "II"), ("mV", "mV"))
    assert window.view.replace_samples(other) and window.view.record is other
    seg, curve = window.view.curves()[0]
    expected = other.lead(seg.lead, 0, curve.yData.size) * seg.scale_mm_per_unit + seg.baseline_mm
    np.testing.assert_allclose(curve.yData, expected, rtol=1e-5, atol=1e-4)
    shorter = EcgRecord(rng.normal(size=(2, 2500)).astype(np.float32), 500.0, ("I", "II"), ("mV", "mV"))
    assert not window.view.replace_samples(shorter) and window.view.record is other


def test_main_window_has_no_long_term_branches():
    import ecgviewer.gui.main_window as mw

    source = Path(mw.__file__).read_text(encoding="utf-8")
    assert "longterm.active" not in source and "LongOpened" not in source


def test_no_gui_module_is_over_500_lines():
    import ecgviewer.gui

    root = Path(ecgviewer.gui.__file__).parent
    sizes = {p.relative_to(root): len(p.read_text(encoding="utf-8").splitlines()) for p in root.rglob("*.py")}
    assert {p: n for p, n in sizes.items() if n > 500} == {}


def test_page_cache_is_qt_free():
    code = "import sys, ecgviewer.core.page_cache; print('PySide6' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_page_cache_plan():
    from ecgviewer.core.page_cache import PageCache

    cache = PageCache(2)
    plan = cache.plan(["a"], ["b", "a"])
    assert plan.shown is None and plan.fetch == ["a", "b"]
    cache.put("a", 1)
    cache.put("b", 2)
    assert cache.plan(["a"], ["b", "c"]).shown == [1] and cache.plan(["a"], ["b", "c"]).fetch == ["c"]
    cache.put("c", 3)  # "a" was used more recently than "b"
    assert "b" not in cache and cache.plan(["a", "c"]).shown == [1, 3]


# -- actions --------------------------------------------------------------------------------------------
def test_every_action_slot_resolves(window):
    for spec in action_table.ACTIONS:
        assert spec.slot, spec.name
        assert callable(resolve_slot(window, spec.slot)), spec.name
        if spec.slot.startswith("mode."):  # both modes answer the view operations
            for mode in (window.paper_mode, window.longterm):
                assert callable(resolve_slot(mode, spec.slot.removeprefix("mode."))), spec.name


def test_resolve_slot_names_what_is_missing(window):
    with pytest.raises(AttributeError):
        resolve_slot(window, "mode.no_such_operation")
    with pytest.raises(AttributeError):
        resolve_slot(window, "settings")  # not callable


def test_grouped_actions_call_their_slot_with_their_value(window):
    window.action("gain_20").trigger()
    assert window.gain_mm_per_mv == 20.0
    window.action("report_paper_letter").trigger()
    assert window.settings.report_paper == "Letter" and window.action("report_paper_letter").isChecked()
    window.action("notch_50").trigger()
    assert window.filters_hz == (None, 50.0, None)
    window.action("filters_off").trigger()
    assert window.filters_hz == (None, None, None)


# -- layouts from the choices ------------------------------------------------------------------------------
def test_every_layout_choice_is_offered_everywhere(window):
    from ecgviewer.cli import gui_parser
    from ecgviewer.gui.settings import ViewerSettings

    layouts = {s.value for s in action_table.ACTIONS if s.group == "layout"}
    reports = {s.value for s in action_table.ACTIONS if s.group == "report_layout"}
    assert layouts == reports == set(LAYOUT_NAMES) and "6x2" in layouts
    assert gui_parser().parse_args(["--layout", "6x2"]).layout == "6x2"
    settings = ViewerSettings()
    settings.layout = "6x2"
    assert ViewerSettings().layout == "6x2"


def test_6x2_in_the_viewer_pages_like_3x4(window):
    from ecgviewer.core.record import EcgRecord

    leads = ("I", "II", "V1", "V2", "V3", "V4", "V5", "V6")
    rng = np.random.default_rng(1)
    rec = EcgRecord(0.1 * rng.normal(size=(8, 25 * 500)).astype(np.float32), 500.0, leads, ("mV",) * 8)
    window.show_record(rec)
    window.action("layout_6x2").trigger()
    lay = window.view.layout
    assert window.layout_name == "6x2" and lay.name == "6x2" and lay.n_rows == 7
    assert {s.lead for s in lay.segments if s.column == 1} == {"V1", "V2", "V3", "V4", "V5", "V6"}
    assert window.view.labels()[(6, 0)].text() == "II"  # the rhythm strip
    window.action("page_next").trigger()
    assert window.view.page_start_s == 10.0
    window.page(1)
    window.page(1)  # clamped to the last page (20 s .. 25 s)
    assert window.view.page_start_s == 20.0
    window.action("layout_12x1").trigger()
    assert window.view.layout.name == "12x1" and window.view.page_start_s == 0.0
