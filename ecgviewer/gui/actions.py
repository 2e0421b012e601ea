"""Every user action declared once: menu, toolbar, shortcut, tooltip.

The table :data:`ACTIONS` is the single source for the menus, the toolbar,
the Help > Keyboard shortcuts dialog and the README's shortcut table
(:func:`shortcuts_markdown`). This module imports Qt only inside
:func:`create_actions`, so the table can be rendered without a display.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ecgviewer.core.filters import HIGHPASS_CHOICES_HZ, LOWPASS_CHOICES_HZ, NOTCH_CHOICES_HZ
from ecgviewer.resources import bundled_checkpoints

if TYPE_CHECKING:
    from PySide6.QtCore import QObject
    from PySide6.QtGui import QAction


#: The bundled statement classifiers offered in Tools: (label, name), the default first, from the
#: checkpoint JSONs (:func:`ecgviewer.resources.bundled_checkpoints`: no torch, no scipy at start-up).
CLASSIFIER_CHOICES: tuple[tuple[str, str], ...] = tuple(
    (c.label, c.name) for c in bundled_checkpoints("classification")
)


@dataclass(frozen=True)
class ActionSpec:
    """One user action.

    Parameters
    ----------
    name
        Key used in code (``window.action("open")``).
    text
        Menu text (``&`` marks the mnemonic).
    menu
        Top-level menu the action appears in.
    shortcuts
        Key sequences in Qt's portable text form (``"Ctrl+O"``); the first is
        the one shown in the menu.
    tip
        Tooltip and status tip.
    checkable
        Toggle action.
    group
        Name of an exclusive group (radio-like); ``"?"``-prefixed names allow
        none checked (e.g. ``"?notch"``: off, 50 Hz or 60 Hz).
    toolbar
        Also shown in the toolbar.
    view_only
        The shortcut works only while the ECG view has the keyboard focus
        (arrows, +/-), so it does not steal keys from other widgets.
    value
        Payload of grouped actions (layout name, speed, gain, cut-off in Hz).
    short
        Shorter text for the toolbar button (default: ``text``).
    """

    name: str
    text: str
    menu: str
    shortcuts: tuple[str, ...] = ()
    tip: str = ""
    checkable: bool = False
    group: str | None = None
    toolbar: bool = False
    view_only: bool = False
    value: object = None
    short: str = ""


def _filter_specs() -> tuple[ActionSpec, ...]:
    specs = [
        ActionSpec(
            f"highpass_{hz:g}",
            f"Baseline wander: high-pass {hz:g} Hz",
            "Filters",
            tip=(f"Remove baseline wander (zero-phase {hz:g} Hz high-pass)"),
            checkable=True,
            group="?highpass",
            toolbar=True,
            value=hz,
            short=f"HP {hz:g} Hz",
        )
        for hz in HIGHPASS_CHOICES_HZ
    ]
    specs += [
        ActionSpec(
            f"notch_{hz:g}",
            f"Powerline notch {hz:g} Hz",
            "Filters",
            tip=f"Remove {hz:g} Hz mains interference (zero-phase notch)",
            checkable=True,
            group="?notch",
            value=hz,
        )
        for hz in NOTCH_CHOICES_HZ
    ]
    specs += [
        ActionSpec(
            f"lowpass_{hz:g}",
            f"Low-pass {hz:g} Hz",
            "Filters",
            tip=f"Remove high-frequency noise above {hz:g} Hz (zero-phase)",
            checkable=True,
            group="?lowpass",
            value=hz,
        )
        for hz in LOWPASS_CHOICES_HZ
    ]
    return tuple(specs)


#: All actions, in menu order.
ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("open", "&Open…", "File", ("Ctrl+O",), "Open an ECG file", toolbar=True),
    ActionSpec("save_png", "Save view as &PNG…", "File", ("Ctrl+Shift+S",), "Save the ECG view as an image"),
    ActionSpec("save_svg", "Save view as S&VG…", "File", (), "Save the ECG view as a vector image (SVG)"),
    ActionSpec(
        "export_report",
        "Export &report (PDF)…",
        "File",
        ("Ctrl+E",),
        "Printable 12-lead report at true scale with header, measurements and median beat",
        toolbar=True,
        short="Report",
    ),
    ActionSpec(
        "export_csv", "Export measurements as &CSV…", "File", (), "Model, classical and device values (CSV)"
    ),
    ActionSpec(
        "export_json",
        "Export measurements as &JSON…",
        "File",
        (),
        "Model, classical and device values with provenance (JSON, docs/measurements.md)",
    ),
    ActionSpec(
        "export_wfdb",
        "Export record as &WFDB…",
        "File",
        (),
        "Write the open record as a PhysioNet WFDB record (.hea + .dat)",
    ),
    *(
        ActionSpec(
            f"report_paper_{paper.lower()}",
            f"Report paper: {paper}",
            "File",
            (),
            f"PDF reports on {paper} paper (landscape)",
            checkable=True,
            group="report_paper",
            value=paper,
        )
        for paper in ("A4", "Letter")
    ),
    *(
        ActionSpec(
            f"report_layout_{name}",
            f"Report layout: {text}",
            "File",
            (),
            f"PDF reports in the {text} layout",
            checkable=True,
            group="report_layout",
            value=name,
        )
        for name, text in (("3x4", "3×4 + rhythm strip"), ("6x2", "6×2 + rhythm strip"), ("12x1", "12×1"))
    ),
    ActionSpec("quit", "&Quit", "File", ("Ctrl+Q",), "Quit ecgviewer"),
    ActionSpec(
        "layout_3x4",
        "3×4 + rhythm strip",
        "View",
        ("Ctrl+1",),
        "Standard 12-lead printout: 3 rows × 4 columns of 2.5 s and a lead II rhythm strip",
        checkable=True,
        group="layout",
        toolbar=True,
        value="3x4",
    ),
    ActionSpec(
        "layout_12x1",
        "12 stacked leads",
        "View",
        ("Ctrl+2",),
        "All leads stacked over the full duration",
        checkable=True,
        group="layout",
        toolbar=True,
        value="12x1",
    ),
    ActionSpec(
        "speed_25",
        "25 mm/s",
        "View",
        ("Ctrl+Shift+1",),
        "Paper speed 25 mm/s",
        checkable=True,
        group="speed",
        toolbar=True,
        value=25.0,
    ),
    ActionSpec(
        "speed_50",
        "50 mm/s",
        "View",
        ("Ctrl+Shift+2",),
        "Paper speed 50 mm/s",
        checkable=True,
        group="speed",
        toolbar=True,
        value=50.0,
    ),
    ActionSpec(
        "gain_5",
        "5 mm/mV",
        "View",
        ("Alt+1",),
        "Gain 5 mm/mV",
        checkable=True,
        group="gain",
        toolbar=True,
        value=5.0,
    ),
    ActionSpec(
        "gain_10",
        "10 mm/mV",
        "View",
        ("Alt+2",),
        "Gain 10 mm/mV (standard)",
        checkable=True,
        group="gain",
        toolbar=True,
        value=10.0,
    ),
    ActionSpec(
        "gain_20",
        "20 mm/mV",
        "View",
        ("Alt+3",),
        "Gain 20 mm/mV",
        checkable=True,
        group="gain",
        toolbar=True,
        value=20.0,
    ),
    ActionSpec(
        "zoom_in", "Zoom &in", "View", ("+", "=", "Ctrl++"), "Zoom in (also: mouse wheel)", view_only=True
    ),
    ActionSpec(
        "zoom_out", "Zoom &out", "View", ("-", "Ctrl+-"), "Zoom out (also: mouse wheel)", view_only=True
    ),
    ActionSpec(
        "reset_view",
        "&Reset view",
        "View",
        ("Home", "Ctrl+0"),
        "Show the whole layout again (long-term records: go to the first page)",
        toolbar=True,
    ),
    ActionSpec("pan_left", "Pan left", "View", ("Left",), "Move back in time (also: drag)", view_only=True),
    ActionSpec(
        "pan_right", "Pan right", "View", ("Right",), "Move forward in time (also: drag)", view_only=True
    ),
    ActionSpec("pan_up", "Pan up", "View", ("Up",), "Move the view up", view_only=True),
    ActionSpec("pan_down", "Pan down", "View", ("Down",), "Move the view down", view_only=True),
    ActionSpec(
        "page_prev",
        "Previous page",
        "View",
        ("PgUp",),
        "Show the previous page (3×4 layout: the previous 10 s; long-term records: the previous page)",
    ),
    ActionSpec(
        "page_next",
        "Next page",
        "View",
        ("PgDown",),
        "Show the next page (3×4 layout: the next 10 s; long-term records: the next page)",
    ),
    ActionSpec("page_end", "Last page", "View", ("End",), "Long-term records: show the last page"),
    *(
        ActionSpec(
            f"page_size_{size:g}",
            f"Page: {text}",
            "View",
            (),
            f"Long-term records: pages of {text} ({'ECG paper' if size <= 60 else 'min/max strip chart'})",
            checkable=True,
            group="page_size",
            value=float(size),
        )
        for size, text in ((10, "10 s"), (30, "30 s"), (60, "1 min"), (600, "10 min"), (3600, "1 h"))
    ),
    ActionSpec(
        "show_info",
        "Record &info panel",
        "View",
        ("Ctrl+I",),
        "Show or hide the record information",
        checkable=True,
    ),
    ActionSpec(
        "caliper",
        "&Caliper",
        "Tools",
        ("C",),
        "Measure: click two points to get Δt, rate and ΔV",
        checkable=True,
        toolbar=True,
    ),
    ActionSpec("clear_caliper", "Clear caliper", "Tools", ("Esc",), "Remove the caliper measurement"),
    ActionSpec(
        "analyze",
        "&Analyze intervals",
        "Tools",
        ("Ctrl+R",),
        "Predict HR, PR, QRS, QT and QTc with the selected model (in the background)",
        toolbar=True,
    ),
    ActionSpec("cancel_analysis", "Cancel analysis", "Tools", ("Ctrl+.",), "Stop the running analysis"),
    ActionSpec(
        "analyze_beats",
        "Analyze &beats",
        "Tools",
        ("Ctrl+B",),
        "Long-term records: detect and classify every beat (normal, PVC, fusion) in the background",
        short="Analyze beats",
    ),
    ActionSpec("cancel_beats", "Cancel beat analysis", "Tools", (), "Stop the running beat analysis"),
    *(
        ActionSpec(
            f"classifier_{name}",
            f"Classifier: {label}",
            "Tools",
            (),
            f"Classify records with the bundled {label} checkpoint ({name}): PTB-XL statements, "
            "decision support only",
            checkable=True,
            group="classifier",
            value=name,
        )
        for label, name in CLASSIFIER_CHOICES
    ),
    ActionSpec(
        "classifier_off",
        "Classifier: off",
        "Tools",
        (),
        "Do not classify records (intervals only)",
        checkable=True,
        group="classifier",
        value="",
    ),
    ActionSpec(
        "load_classifier",
        "Load classifier checkpoint…",
        "Tools",
        (),
        "Use a classification checkpoint (.safetensors + .json) for the statements",
    ),
    ActionSpec(
        "load_checkpoint",
        "Load model checkpoint…",
        "Tools",
        (),
        "Use an interval-model checkpoint (.safetensors + .json) instead of the bundled ones",
    ),
    ActionSpec(
        "show_intervals",
        "Show interval spans",
        "View",
        ("Ctrl+Shift+I",),
        "Draw the PR, QRS and QT spans on the rhythm strip and the median beat",
        checkable=True,
    ),
    ActionSpec(
        "show_measurements",
        "&Measurements panel",
        "View",
        ("Ctrl+M",),
        "Show or hide the interval measurements",
        checkable=True,
    ),
    ActionSpec(
        "show_classification",
        "C&lassification panel",
        "View",
        (),
        "Show or hide the classifier's statements and class probabilities",
        checkable=True,
    ),
    ActionSpec(
        "show_events",
        "&Events panel",
        "View",
        ("Ctrl+Shift+E",),
        "Long-term records: show or hide the beat events and the tachogram",
        checkable=True,
    ),
    *_filter_specs(),
    ActionSpec("filters_off", "All filters off", "Filters", ("Ctrl+Shift+F",), "Show the unfiltered signal"),
    ActionSpec("shortcuts", "&Keyboard shortcuts", "Help", ("F1",), "List of keyboard shortcuts"),
    ActionSpec("about", "&About ecgviewer", "Help", (), "Version and licence"),
)

#: Top-level menus in order.
MENUS: tuple[str, ...] = ("File", "View", "Tools", "Filters", "Help")


def spec(name: str) -> ActionSpec:
    """The :class:`ActionSpec` called ``name``."""
    for s in ACTIONS:
        if s.name == name:
            return s
    raise KeyError(name)


def _plain(text: str) -> str:
    return text.replace("&", "").replace("…", "...")


def shortcut_rows() -> list[tuple[str, str, str]]:
    """``(menu, action, keys)`` for every action that has a shortcut, in menu order."""
    return [
        (s.menu, _plain(s.text), ", ".join(s.shortcuts))
        for menu in MENUS
        for s in ACTIONS
        if s.menu == menu and s.shortcuts
    ]


def shortcuts_markdown() -> str:
    """The keyboard shortcuts as a Markdown table (the README's table is generated from it).

    Returns
    -------
    str
        A table with the columns Menu, Action, Keys, ending with a newline.
    """
    lines = ["| Menu | Action | Keys |", "|---|---|---|"]
    for menu, text, keys in shortcut_rows():
        shown = ", ".join("`" + k.replace("|", "\\|") + "`" for k in keys.split(", "))
        lines.append(f"| {menu} | {text} | {shown} |")
    lines.append("| (view) | Zoom / pan | mouse wheel / drag |")
    return "\n".join(lines) + "\n"


def create_actions(parent: QObject, view_widget=None) -> dict[str, QAction]:
    """Build one ``QAction`` per :data:`ACTIONS` entry.

    Parameters
    ----------
    parent
        Owner of the actions (the main window).
    view_widget
        Widget the ``view_only`` shortcuts are bound to (they then only fire
        while it or a child has the focus).

    Returns
    -------
    dict
        Action name -> ``QAction``; grouped actions are in exclusive
        ``QActionGroup``\\ s (optional ones allow none checked).
    """
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QAction, QActionGroup, QKeySequence

    groups: dict[str, QActionGroup] = {}
    out: dict[str, QAction] = {}
    for s in ACTIONS:
        act = QAction(s.text, parent)
        act.setObjectName(f"action_{s.name}")
        if s.shortcuts:
            act.setShortcuts([QKeySequence(k) for k in s.shortcuts])
        keys = f" ({', '.join(s.shortcuts)})" if s.shortcuts else ""
        act.setToolTip(f"{s.tip or _plain(s.text)}{keys}")
        act.setStatusTip(s.tip)
        act.setCheckable(s.checkable)
        act.setData(s.value)
        if s.short:
            act.setIconText(s.short)
        if s.view_only and view_widget is not None:
            act.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            view_widget.addAction(act)
        if s.group:
            group = groups.get(s.group)
            if group is None:
                group = groups[s.group] = QActionGroup(parent)
                group.setExclusive(True)
                if s.group.startswith("?"):
                    group.setExclusionPolicy(QActionGroup.ExclusionPolicy.ExclusiveOptional)
            group.addAction(act)
        out[s.name] = act
    return out
