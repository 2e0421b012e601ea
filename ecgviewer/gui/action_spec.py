"""What one user action is (:class:`ActionSpec`) and the families of actions generated from the choices.

The table itself is :data:`ecgviewer.gui.actions.ACTIONS`. The layout, speed,
gain and report choices come from :mod:`ecgviewer.layout.choices`, the filter
cut-offs from :mod:`ecgviewer.core.filters`; no Qt here.
"""

from __future__ import annotations

from dataclasses import dataclass

from ecgviewer.core.filters import HIGHPASS_CHOICES_HZ, LOWPASS_CHOICES_HZ, NOTCH_CHOICES_HZ
from ecgviewer.layout.choices import (
    DEFAULT_GAIN_MM_PER_MV,
    GAINS_MM_PER_MV,
    LAYOUTS,
    PAPER_NAMES,
    SPEEDS_MM_PER_S,
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
    slot
        What the action does: a dotted method path resolved against the main
        window each time the action fires (``"open_dialog"``,
        ``"mode.step"`` -- the current view mode --, ``"exports.export"``).
        Toggle actions (checkable, no group) call it with the new check state,
        grouped actions with their ``value``, the others with ``value`` when it
        is set and with no argument otherwise.
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
    slot: str = ""


def filter_specs() -> tuple[ActionSpec, ...]:
    """High-pass, notch and low-pass actions (optional exclusive groups), one per cut-off."""
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
            slot="apply_filter_actions",
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
            slot="apply_filter_actions",
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
            slot="apply_filter_actions",
        )
        for hz in LOWPASS_CHOICES_HZ
    ]
    return tuple(specs)


#: Viewer shortcuts and tips of the lead layouts (the names and menu texts are :data:`LAYOUTS`).
_LAYOUT_KEYS = {"3x4": "Ctrl+1", "12x1": "Ctrl+2", "6x2": "Ctrl+3"}
_LAYOUT_TIPS = {
    "3x4": "Standard 12-lead printout: 3 rows × 4 columns of 2.5 s and a lead II rhythm strip",
    "6x2": "6 rows × 2 columns of 5 s (limb leads, then chest leads) and a lead II rhythm strip",
    "12x1": "All leads stacked over the full duration",
}


def choice_specs() -> tuple[ActionSpec, ...]:
    """Layout, speed and gain actions, one per entry of :mod:`ecgviewer.layout.choices`."""
    specs = [
        ActionSpec(
            f"layout_{name}",
            text,
            "View",
            (_LAYOUT_KEYS[name],) if name in _LAYOUT_KEYS else (),
            _LAYOUT_TIPS.get(name, f"Lead layout {text}"),
            checkable=True,
            group="layout",
            toolbar=True,
            value=name,
            slot="set_layout",
        )
        for name, text in LAYOUTS.items()
    ]
    specs += [
        ActionSpec(
            f"speed_{speed:g}",
            f"{speed:g} mm/s",
            "View",
            (f"Ctrl+Shift+{k}",),
            f"Paper speed {speed:g} mm/s",
            checkable=True,
            group="speed",
            toolbar=True,
            value=float(speed),
            slot="set_speed",
        )
        for k, speed in enumerate(SPEEDS_MM_PER_S, start=1)
    ]
    specs += [
        ActionSpec(
            f"gain_{gain:g}",
            f"{gain:g} mm/mV",
            "View",
            (f"Alt+{k}",),
            f"Gain {gain:g} mm/mV" + (" (standard)" if gain == DEFAULT_GAIN_MM_PER_MV else ""),
            checkable=True,
            group="gain",
            toolbar=True,
            value=float(gain),
            slot="set_gain",
        )
        for k, gain in enumerate(GAINS_MM_PER_MV, start=1)
    ]
    return tuple(specs)


def report_specs() -> tuple[ActionSpec, ...]:
    """Report paper and report layout choices (File menu)."""
    papers = tuple(
        ActionSpec(
            f"report_paper_{paper.lower()}",
            f"Report paper: {paper}",
            "File",
            (),
            f"PDF reports on {paper} paper (landscape)",
            checkable=True,
            group="report_paper",
            value=paper,
            slot="exports.set_report_paper",
        )
        for paper in PAPER_NAMES
    )
    return papers + tuple(
        ActionSpec(
            f"report_layout_{name}",
            f"Report layout: {text}",
            "File",
            (),
            f"PDF reports in the {text} layout",
            checkable=True,
            group="report_layout",
            value=name,
            slot="exports.set_report_layout",
        )
        for name, text in LAYOUTS.items()
    )


def export_spec(name: str, text: str, keys: tuple[str, ...], tip: str, kind: str, **kw) -> ActionSpec:
    """A File action that exports ``kind`` (``"svg"``, ``"pdf"``, ...) through the window's exports."""
    return ActionSpec(name, text, "File", keys, tip, value=kind, slot="exports.export", **kw)


#: Beat labels of the Over-read menu: (label, menu text, key, what it means).
BEAT_LABEL_KEYS: tuple[tuple[str, str, str, str], ...] = (
    ("N", "normal (N)", "Shift+N", "normal beat"),
    ("S", "supraventricular (S)", "Shift+S", "supraventricular ectopic beat (APC)"),
    ("V", "ventricular (V)", "Shift+V", "premature ventricular contraction"),
    ("F", "fusion (F)", "Shift+F", "fusion of a ventricular and a normal beat"),
    ("Q", "unclassifiable (Q)", "Shift+Q", "unclassifiable beat"),
    ("|", "artefact (not a beat)", "Shift+A", "not a beat: left out of every measurement"),
)


def overread_specs() -> tuple[ActionSpec, ...]:
    """The Over-read menu: undo/redo, beat labels and edits, reset, export, the reader's name."""
    m = "Over-read"
    specs = [
        ActionSpec("undo", "&Undo", m, ("Ctrl+Z",), "Undo the last over-read edit", slot="overread.undo"),
        ActionSpec(
            "redo", "&Redo", m, ("Ctrl+Shift+Z", "Ctrl+Y"), "Redo the edit undone", slot="overread.redo"
        ),
    ]
    specs += [
        ActionSpec(
            f"label_beat_{'artefact' if label == '|' else label}",
            f"Label beat(s) {text}",
            m,
            (key,),
            f"Give the chosen beats the label {label}: {meaning} (click a beat to choose it, Shift+click "
            "a range; in the beat table select rows)",
            view_only=True,
            value=label,
            slot="overread.beats.relabel",
        )
        for label, text, key, meaning in BEAT_LABEL_KEYS
    ]
    specs += [
        ActionSpec(
            "relabel_class",
            "Relabel a class in the range…",
            m,
            (),
            "Relabel every beat of one class in the chosen range (e.g. all V as N)",
            slot="overread.relabel_class_dialog",
        ),
        ActionSpec(
            "delete_beat",
            "&Delete beat(s)",
            m,
            ("Shift+Del",),
            "Delete the chosen beats (false detections)",
            view_only=True,
            slot="overread.beats.delete",
        ),
        ActionSpec(
            "add_beat",
            "&Add beat at the pointer",
            m,
            ("Shift+B",),
            "Add a missed beat (N) at the largest deflection near the mouse pointer",
            view_only=True,
            value="N",
            slot="overread.beats.add",
        ),
        ActionSpec(
            "mark_artefact",
            "Mark as artefact / &noise",
            m,
            ("Shift+X",),
            "Mark the chosen range (or the stretch around the chosen beats) as artefact: its beats are left "
            "out of every measurement",
            view_only=True,
            slot="overread.beats.mark_artefact",
        ),
        ActionSpec(
            "reset_overread",
            "Reset to &computed",
            m,
            (),
            "Drop every edit of this record's over-read (undoable)",
            slot="overread.reset",
        ),
        ActionSpec(
            "export_beats",
            "&Export beat annotations (WFDB)…",
            m,
            (),
            "Write the beats with the reader's labels as a WFDB annotation file (wfdb.rdann reads it)",
            slot="overread.export_beats_dialog",
        ),
        ActionSpec(
            "reader_name",
            "Reader &name…",
            m,
            (),
            "The name kept with every edit and in the sidecar (default: the operating-system user)",
            slot="overread.ask_reader_name",
        ),
    ]
    return tuple(specs)
