"""Menus, toolbar and check states of the main window, all driven by the actions table."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtGui import QAction
from PySide6.QtWidgets import QMenu, QToolBar

from ecgviewer.gui import actions as action_table

if TYPE_CHECKING:
    from ecgviewer.gui.jobs import FiltersHz
    from ecgviewer.gui.main_window import MainWindow


def build_menus_and_toolbar(window: MainWindow) -> tuple[QMenu, QToolBar]:
    """Fill the menu bar and the toolbar from :data:`~ecgviewer.gui.actions.ACTIONS`.

    Returns
    -------
    recent_menu, toolbar
        The File > Open recent submenu (filled when shown) and the toolbar.
    """
    menus: dict[str, QMenu] = {m: window.menuBar().addMenu(f"&{m}") for m in action_table.MENUS}
    recent_menu = QMenu("Open &recent", window)
    recent_menu.aboutToShow.connect(lambda: fill_recent_menu(window, recent_menu))
    previous_group = None
    for spec in action_table.ACTIONS:
        menu = menus[spec.menu]
        if spec.group != previous_group and menu.actions():
            menu.addSeparator()
        previous_group = spec.group
        menu.addAction(window.actions_by_name[spec.name])
        if spec.name == "open":
            menu.addMenu(recent_menu)
    toolbar = QToolBar("Main toolbar", window)
    toolbar.setObjectName("main_toolbar")
    toolbar.setMovable(False)
    window.addToolBar(toolbar)
    previous_group = None
    for spec in action_table.ACTIONS:
        if spec.toolbar:
            if previous_group is not None and spec.group != previous_group:
                toolbar.addSeparator()
            previous_group = spec.group or spec.name
            toolbar.addAction(window.actions_by_name[spec.name])
    return recent_menu, toolbar


def fill_recent_menu(window: MainWindow, menu: QMenu) -> None:
    """List the recent files (missing ones are pruned by the settings)."""
    menu.clear()
    files = window.settings.recent_files()
    for path in files:
        act = menu.addAction(path.name)
        act.setToolTip(str(path))
        act.triggered.connect(lambda _=False, p=path: window.open_file(p))
    if not files:
        menu.addAction("(none)").setEnabled(False)


def checked_filters(actions_by_name: dict[str, QAction]) -> FiltersHz:
    """``(highpass_hz, notch_hz, lowpass_hz)`` from the checked filter actions."""

    def checked(group: str) -> float | None:
        hits = [
            s.value for s in action_table.ACTIONS if s.group == group and actions_by_name[s.name].isChecked()
        ]
        return float(hits[0]) if hits else None

    return checked("?highpass"), checked("?notch"), checked("?lowpass")


def sync_action_states(window: MainWindow) -> None:
    """Check the layout, speed, gain and filter actions that match the window's state."""
    hp, notch, lp = window.filters_hz
    state = {
        "layout": window.layout_name,
        "speed": window.speed_mm_per_s,
        "gain": window.gain_mm_per_mv,
        "?highpass": hp,
        "?notch": notch,
        "?lowpass": lp,
    }
    for spec in action_table.ACTIONS:
        if spec.group not in state:
            continue
        act = window.actions_by_name[spec.name]
        on = spec.value == state[spec.group]
        if act.isChecked() != on:
            act.blockSignals(True)
            act.setChecked(on)
            act.blockSignals(False)
    window.actions_by_name["show_info"].setChecked(window.settings.info_panel_visible)


def open_file_filter() -> str:
    """Name filter of the Open dialog, built from the reader registry."""
    from ecgviewer.core.readers import readers

    regs = readers()
    every = " ".join(sorted({f"*{e}" for r in regs for e in r.extensions}))
    per_format = [f"{r.description} ({' '.join('*' + e for e in r.extensions)})" for r in regs]
    return ";;".join([f"ECG files ({every})", *per_format, "All files (*)"])
