"""Heart-rate corrected QT (QTc) formulas, shared by the model, the classical measurement and the reports."""

from __future__ import annotations

import numpy as np


def qtc_bazett_ms(qt_ms: float, rr_ms: float) -> float:
    """Bazett: QT / sqrt(RR in s).

    Parameters
    ----------
    qt_ms, rr_ms
        QT and RR interval in milliseconds.

    Returns
    -------
    float
        QTc in milliseconds.
    """
    return float(qt_ms / np.sqrt(rr_ms / 1000.0))


def qtc_fridericia_ms(qt_ms: float, rr_ms: float) -> float:
    """Fridericia: QT / (RR in s)^(1/3).

    Parameters
    ----------
    qt_ms, rr_ms
        QT and RR interval in milliseconds.

    Returns
    -------
    float
        QTc in milliseconds.
    """
    return float(qt_ms / np.cbrt(rr_ms / 1000.0))
