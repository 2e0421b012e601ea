"""Every user action declared once: menu, toolbar, shortcut, tooltip.

The table :data:`ACTIONS` is the single source for the menus, the toolbar,
the Help > Keyboard shortcuts dialog, the README's shortcut table
(:func:`shortcuts_markdown`) and what each action does: its ``slot``, a method
path that :func:`ecgviewer.gui.action_wiring.connect_actions` resolves against
the main window. The layout, speed, gain and report-paper choices come from
:mod:`ecgviewer.layout.choices`. This module does not import Qt, so the table
can be rendered without a display.
"""

from __future__ import annotations

from ecgviewer.gui.action_spec import (
    ActionSpec,
    choice_specs,
    export_spec,
    filter_specs,
    overread_specs,
    report_specs,
)
from ecgviewer.resources import bundled_checkpoints

__all__ = [
    "ACTIONS",
    "CLASSIFIER_CHOICES",
    "DELINEATOR_CHOICES",
    "MENUS",
    "ActionSpec",
    "shortcut_rows",
    "shortcuts_markdown",
    "spec",
]

#: The bundled statement classifiers offered in Tools: (label, name), the default first, from the
#: checkpoint JSONs (:func:`ecgviewer.resources.bundled_checkpoints`: no torch, no scipy at start-up).
CLASSIFIER_CHOICES: tuple[tuple[str, str], ...] = tuple(
    (c.label, c.name) for c in bundled_checkpoints("classification")
)

#: The bundled wave delineation networks offered in Tools: (label, name), the default first.
DELINEATOR_CHOICES: tuple[tuple[str, str], ...] = tuple(
    (c.label, c.name) for c in bundled_checkpoints("delineation")
)


#: All actions, in menu order.
ACTIONS: tuple[ActionSpec, ...] = (
    ActionSpec("open", "&Open…", "File", ("Ctrl+O",), "Open an ECG file", toolbar=True, slot="open_dialog"),
    ActionSpec(
        "save_png",
        "Save view as &PNG…",
        "File",
        ("Ctrl+Shift+S",),
        "Save the ECG view as an image",
        slot="save_png_dialog",
    ),
    export_spec("save_svg", "Save view as S&VG…", (), "Save the ECG view as a vector image (SVG)", "svg"),
    export_spec(
        "export_report",
        "Export &report (PDF)…",
        ("Ctrl+E",),
        "Printable 12-lead report at true scale with header, measurements and median beat",
        "pdf",
        toolbar=True,
        short="Report",
    ),
    export_spec(
        "export_csv", "Export measurements as &CSV…", (), "Model, classical and device values (CSV)", "csv"
    ),
    export_spec(
        "export_json",
        "Export measurements as &JSON…",
        (),
        "Model, classical and device values with provenance (JSON, docs/measurements.md)",
        "json",
    ),
    export_spec(
        "export_wfdb",
        "Export record as &WFDB…",
        (),
        "Write the open record as a PhysioNet WFDB record (.hea + .dat)",
        "wfdb",
    ),
    *report_specs(),
    ActionSpec("quit", "&Quit", "File", ("Ctrl+Q",), "Quit ecgviewer", slot="close"),
    *overread_specs(),
    *choice_specs(),
    ActionSpec(
        "zoom_in",
        "Zoom &in",
        "View",
        ("+", "=", "Ctrl++"),
        "Zoom in (also: mouse wheel)",
        view_only=True,
        value=1.25,
        slot="mode.zoom",
    ),
    ActionSpec(
        "zoom_out",
        "Zoom &out",
        "View",
        ("-", "Ctrl+-"),
        "Zoom out (also: mouse wheel)",
        view_only=True,
        value=0.8,
        slot="mode.zoom",
    ),
    ActionSpec(
        "reset_view",
        "&Reset view",
        "View",
        ("Home", "Ctrl+0"),
        "Show the whole layout again (long-term records: go to the first page)",
        toolbar=True,
        slot="mode.reset_view",
    ),
    ActionSpec(
        "pan_left",
        "Pan left",
        "View",
        ("Left",),
        "Move back in time (also: drag)",
        view_only=True,
        value=-1,
        slot="mode.pan_time",
    ),
    ActionSpec(
        "pan_right",
        "Pan right",
        "View",
        ("Right",),
        "Move forward in time (also: drag)",
        view_only=True,
        value=1,
        slot="mode.pan_time",
    ),
    ActionSpec(
        "pan_up", "Pan up", "View", ("Up",), "Move the view up", view_only=True, value=1, slot="pan_vertical"
    ),
    ActionSpec(
        "pan_down",
        "Pan down",
        "View",
        ("Down",),
        "Move the view down",
        view_only=True,
        value=-1,
        slot="pan_vertical",
    ),
    ActionSpec(
        "page_prev",
        "Previous page",
        "View",
        ("PgUp",),
        "Show the previous page (3×4 and 6×2 layouts: the previous 10 s; long-term records: the previous "
        "page)",
        value=-1,
        slot="mode.step",
    ),
    ActionSpec(
        "page_next",
        "Next page",
        "View",
        ("PgDown",),
        "Show the next page (3×4 and 6×2 layouts: the next 10 s; long-term records: the next page)",
        value=1,
        slot="mode.step",
    ),
    ActionSpec(
        "page_end",
        "Last page",
        "View",
        ("End",),
        "Long-term records: show the last page",
        slot="longterm.go_end",
    ),
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
            slot="longterm.set_page_size",
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
        slot="toggle_info_panel",
    ),
    ActionSpec(
        "caliper",
        "&Caliper",
        "Tools",
        ("C",),
        "Measure: click two points to get Δt, rate and ΔV",
        checkable=True,
        toolbar=True,
        slot="caliper.set_enabled",
    ),
    ActionSpec(
        "clear_caliper",
        "Clear caliper",
        "Tools",
        ("Esc",),
        "Remove the caliper measurement",
        slot="caliper.clear",
    ),
    ActionSpec(
        "analyze",
        "&Analyze intervals",
        "Tools",
        ("Ctrl+R",),
        "Predict HR, PR, QRS, QT and QTc with the selected model (in the background)",
        toolbar=True,
        slot="analysis.analyze",
    ),
    ActionSpec(
        "cancel_analysis",
        "Cancel analysis",
        "Tools",
        ("Ctrl+.",),
        "Stop the running analysis",
        slot="analysis.controller.cancel",
    ),
    ActionSpec(
        "analyze_beats",
        "Analyze &beats",
        "Tools",
        ("Ctrl+B",),
        "Long-term records: detect and classify every beat (normal, PVC, fusion) in the background",
        short="Analyze beats",
        slot="longterm.analyze_beats",
    ),
    ActionSpec(
        "cancel_beats",
        "Cancel beat analysis",
        "Tools",
        (),
        "Stop the running beat analysis",
        slot="longterm.cancel_beats",
    ),
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
            slot="choose_classifier",
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
        slot="choose_classifier",
    ),
    ActionSpec(
        "load_classifier",
        "Load classifier checkpoint…",
        "Tools",
        (),
        "Use a classification checkpoint (.safetensors + .json) for the statements",
        slot="analysis._load_classifier",
    ),
    ActionSpec(
        "load_checkpoint",
        "Load model checkpoint…",
        "Tools",
        (),
        "Use an interval-model checkpoint (.safetensors + .json) instead of the bundled ones",
        slot="analysis._load_checkpoint",
    ),
    *(
        ActionSpec(
            f"delineator_{name}",
            f"Delineator: {label}",
            "Tools",
            (),
            f"Delineate the P, QRS and T waves of every beat with the bundled {label} checkpoint "
            f"({name}): the boundary marks, the per-beat table and the headline intervals",
            checkable=True,
            group="delineator",
            value=name,
            slot="analysis.waves.set_delineator",
        )
        for label, name in DELINEATOR_CHOICES
    ),
    ActionSpec(
        "load_delineator",
        "Open delineation checkpoint…",
        "Tools",
        (),
        "Use a wave delineation checkpoint (.safetensors + .json) for the boundaries and the headline",
        slot="analysis.waves.load_delineator",
    ),
    ActionSpec(
        "show_intervals",
        "Show interval spans",
        "View",
        ("Ctrl+Shift+I",),
        "Draw the PR, QRS and QT spans on the rhythm strip and the median beat",
        checkable=True,
        slot="analysis.set_show_intervals",
    ),
    ActionSpec(
        "show_boundaries",
        "Show wave &boundaries",
        "View",
        ("Ctrl+Shift+W",),
        "Mark P onset, QRS onset and offset and T offset of every beat on every lead (short ticks: P "
        "offset, T onset), from the wave delineation network",
        checkable=True,
        slot="analysis.waves.set_show_boundaries",
    ),
    ActionSpec(
        "show_measurements",
        "&Measurements panel",
        "View",
        ("Ctrl+M",),
        "Show or hide the interval measurements",
        checkable=True,
        slot="analysis._toggle_dock",
    ),
    ActionSpec(
        "show_classification",
        "C&lassification panel",
        "View",
        (),
        "Show or hide the classifier's statements and class probabilities",
        checkable=True,
        slot="analysis._toggle_class_dock",
    ),
    ActionSpec(
        "show_beat_table",
        "Bea&t table",
        "View",
        (),
        "Show or hide the per-beat table (RR, PR, QRS, QT of every beat; click a row to go to the beat)",
        checkable=True,
        slot="analysis.waves.toggle_beat_table",
    ),
    ActionSpec(
        "show_events",
        "&Events panel",
        "View",
        ("Ctrl+Shift+E",),
        "Long-term records: show or hide the beat events and the tachogram",
        checkable=True,
        slot="longterm.show_events_panel",
    ),
    *filter_specs(),
    ActionSpec(
        "filters_off",
        "All filters off",
        "Filters",
        ("Ctrl+Shift+F",),
        "Show the unfiltered signal",
        slot="filters_off",
    ),
    ActionSpec(
        "shortcuts",
        "&Keyboard shortcuts",
        "Help",
        ("F1",),
        "List of keyboard shortcuts",
        slot="show_shortcuts",
    ),
    ActionSpec("about", "&About ecgviewer", "Help", (), "Version and licence", slot="show_about"),
)

#: The over-read editors' mouse and keys (not menu actions): where, what, keys.
EDITOR_KEYS: tuple[tuple[str, str, str], ...] = (
    ("(ECG, median beat)", "Select / move a boundary mark (Alt: this lead only)", "click / drag a tick"),
    ("(selected mark)", "Nudge by 1 / 10 samples", "`Left`, `Right` / `Shift+Left`, `Shift+Right`"),
    ("(selected mark)", 'Delete ("no P wave") / put back at the pointer', "`Del` / `Ins`"),
    ("(median beat)", "Next mark / add, delete, reset a mark", "`Tab` / right-click"),
    ("(ECG)", "Choose a beat / a range of beats", "click / `Shift`+click"),
)

#: Top-level menus in order.
MENUS: tuple[str, ...] = ("File", "Over-read", "View", "Tools", "Filters", "Help")


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
    lines += [f"| {where} | {what} | {keys} |" for where, what, keys in EDITOR_KEYS]
    return "\n".join(lines) + "\n"
