"""Text formatting of measurement values, shared by the measurements panel, the PDF report and ``analyze``."""

from __future__ import annotations

import math

#: Shown in tables and reports where a value is missing.
MISSING = "—"


def format_value(value: float | None, unit: str = "", missing: str = MISSING, decimals: int = 0) -> str:
    """One measurement as text, e.g. ``"412 ms"``; ``missing`` when it is None or not finite.

    Parameters
    ----------
    value
        The value, or None.
    unit
        Appended after a space when not empty.
    missing
        Text for a missing (None, NaN or infinite) value.
    decimals
        Digits after the decimal point.

    Examples
    --------
    >>> format_value(412.4, "ms"), format_value(None, "ms"), format_value(71.0)
    ('412 ms', '—', '71')
    >>> format_value(float("nan"), "ms", missing="n/a")
    'n/a'
    """
    if value is None or not math.isfinite(value):
        return missing
    return f"{value:.{decimals}f}" + (f" {unit}" if unit else "")
