"""Clock and duration text of the long-term view (no Qt): time of day of a record offset, page lengths."""

from __future__ import annotations

import datetime as dt


def seconds_of_day(start_time: dt.datetime | None) -> float:
    """Seconds since midnight of ``start_time`` (0 without a start time)."""
    if start_time is None:
        return 0.0
    return (
        start_time.hour * 3600.0 + start_time.minute * 60.0 + start_time.second + start_time.microsecond / 1e6
    )


def format_clock(start_time: dt.datetime | None, offset_s: float, decimals: int = 0) -> str:
    """The time of day at ``offset_s`` seconds into a record, or the elapsed time without a start time.

    Parameters
    ----------
    start_time
        Acquisition start of the record (None: elapsed time is shown).
    offset_s
        Seconds from the start of the record.
    decimals
        Digits after the seconds (0-3).

    Returns
    -------
    str
        ``"14:03:25"`` (time of day, wraps at midnight) or ``"1:02:03"`` (elapsed
        hours:minutes:seconds), ``"-0:00:02"`` before the start.

    Examples
    --------
    >>> format_clock(dt.datetime(2024, 1, 1, 23, 59, 50), 15.0)
    '00:00:05'
    >>> format_clock(None, 3725.5, 1)
    '1:02:05.5'
    """
    scale = 10**decimals
    if start_time is not None:
        total = round((seconds_of_day(start_time) + offset_s) * scale) % (86400 * scale)
        sign, hours_fmt = "", "{:02d}"
    else:
        total = round(offset_s * scale)
        sign, hours_fmt = ("-" if total < 0 else ""), "{:d}"
        total = abs(total)
    whole, frac = divmod(int(total), scale)
    h, rest = divmod(whole, 3600)
    m, s = divmod(rest, 60)
    text = f"{sign}{hours_fmt.format(h)}:{m:02d}:{s:02d}"
    if decimals:
        text += f".{frac:0{decimals}d}"
    return text


def format_duration(seconds: float) -> str:
    """A page or record length for people: ``"10 s"``, ``"1 min"``, ``"1 h 30 min"``, ``"24 h"``."""
    seconds = float(seconds)
    if seconds < 60:
        return f"{seconds:g} s"
    if seconds < 3600:
        m, s = divmod(round(seconds), 60)
        return f"{m} min" + (f" {s} s" if s else "")
    h, rest = divmod(round(seconds), 3600)
    m = rest // 60
    return f"{h} h" + (f" {m} min" if m else "")
