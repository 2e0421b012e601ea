"""QActions from the actions table, and their connection to the slots the table declares.

:func:`create_actions` builds one ``QAction`` per
:data:`~ecgviewer.gui.actions.ACTIONS` entry; :func:`connect_actions` connects
each one to its :attr:`~ecgviewer.gui.action_spec.ActionSpec.slot`, a dotted
method path resolved against the main window when the action fires (so
``"mode.step"`` reaches the view mode shown at that moment).
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence

from ecgviewer.gui import actions as action_table
from ecgviewer.gui.action_spec import ActionSpec


def _plain(text: str) -> str:
    return text.replace("&", "").replace("…", "...")


def resolve_slot(root: object, path: str) -> Callable:
    """The callable at dotted ``path`` under ``root`` (``"mode.step"`` -> ``root.mode.step``).

    Raises
    ------
    AttributeError
        When a part of the path is missing or the end is not callable.
    """
    if not path:
        raise AttributeError("empty slot")
    target = root
    for part in path.split("."):
        target = getattr(target, part)
    if not callable(target):
        raise AttributeError(f"slot {path!r} is not callable")
    return target


def _invoke(root: object, spec: ActionSpec, checked: bool) -> None:
    slot = resolve_slot(root, spec.slot)
    if spec.checkable and spec.group is None:
        slot(checked)
    elif spec.group is not None or spec.value is not None:
        slot(spec.value)
    else:
        slot()


def connect_actions(root: object, actions: dict[str, QAction]) -> None:
    """Connect every action to its spec's slot on ``root`` (the main window).

    Toggle actions (checkable, no group) fire on ``toggled`` with the check
    state, the others on ``triggered`` (see :class:`~ecgviewer.gui.action_spec.ActionSpec`).
    Every slot is resolved once here, so a table entry naming a missing method
    fails at start-up rather than when the user picks it.
    """
    for s in action_table.ACTIONS:
        resolve_slot(root, s.slot)
        act = actions[s.name]
        if s.checkable and s.group is None:
            act.toggled.connect(lambda on, s=s: _invoke(root, s, on))
        else:
            act.triggered.connect(lambda on=False, s=s: _invoke(root, s, on))


def create_actions(parent: QObject, view_widget=None) -> dict[str, QAction]:
    """Build one ``QAction`` per :data:`~ecgviewer.gui.actions.ACTIONS` entry.

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
    groups: dict[str, QActionGroup] = {}
    out: dict[str, QAction] = {}
    for s in action_table.ACTIONS:
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
