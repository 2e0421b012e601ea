"""Record-information panel; its fields come from :func:`ecgviewer.core.info.describe`.

Using the same function as ``ecgviewer info`` keeps panel and CLI in agreement.
"""

from __future__ import annotations

from html import escape
from typing import TYPE_CHECKING

from PySide6.QtWidgets import QTextBrowser

if TYPE_CHECKING:
    from ecgviewer.core.record import EcgRecord


def _row(name: str, value: str) -> str:
    return f"<tr><td style='color:#555;padding-right:8px'>{escape(name)}</td><td>{value}</td></tr>"


def record_info_html(info: dict, filters_text: str = "no filters") -> str:
    """HTML table of a :func:`~ecgviewer.core.info.describe` dictionary.

    Parameters
    ----------
    info
        Output of ``describe(record)``.
    filters_text
        The display filters in force.
    """
    derived = info.get("derived_leads") or []
    units = info.get("units") or {}
    unit_set = sorted(set(units.values()))
    rows = [
        _row("File", escape(str(info.get("file") or "–"))),
        _row("Format", escape(str(info.get("format") or "–"))),
        _row("Sampling rate", f"{info['fs_hz']:g} Hz"),
        _row("Duration", f"{info['duration_s']:g} s ({info['n_samples']:,} samples)"),
        _row("Recorded leads", escape(", ".join(info.get("recorded_leads") or [])) or "–"),
        _row(
            "Derived leads", (escape(", ".join(derived)) + " <i>(from I and II)</i>") if derived else "none"
        ),
        _row("Units", escape(", ".join(unit_set)) or "–"),
        _row("Start time", escape(str(info.get("start_time") or "not in file"))),
        _row("Display filters", escape(filters_text)),
    ]
    html = ["<table cellspacing='2'>", *rows, "</table>"]
    metadata = info.get("metadata") or {}
    html.append("<h4 style='margin-bottom:2px'>Metadata in the file</h4>")
    if metadata:
        html.append("<table cellspacing='2'>")
        html += [_row(str(k), escape(str(v))) for k, v in metadata.items()]
        html.append("</table>")
    else:
        html.append("<p style='color:#555'>none</p>")
    warnings = info.get("warnings") or []
    if warnings:
        html.append("<h4 style='margin-bottom:2px;color:#a05000'>Reader warnings</h4><ul>")
        html += [f"<li>{escape(str(w))}</li>" for w in warnings]
        html.append("</ul>")
    return "\n".join(html)


class InfoPanel(QTextBrowser):
    """Read-only view of the current record's description."""

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setOpenLinks(False)
        self.info: dict | None = None
        self.set_record(None)

    def set_record(self, record: EcgRecord | None, filters_text: str = "no filters") -> None:
        """Show ``record`` (None: a hint to open a file)."""
        if record is None:
            self.info = None
            self.setHtml("<p style='color:#555'>No record open.<br>File &gt; Open… or drop a file here.</p>")
            return
        from ecgviewer.core.info import describe

        self.info = describe(record)
        self.setHtml(record_info_html(self.info, filters_text))
