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


#: The QTc formulas by name: ``QT / RR^k`` with RR in seconds (Fridericia k = 1/3, Bazett k = 1/2).
QTC_FORMULAS: dict[str, str] = {
    "fridericia": "Fridericia: QTc = QT / RR^(1/3), RR in s",
    "bazett": "Bazett: QTc = QT / RR^(1/2), RR in s",
}


def qtc_ms_array(qt_ms: np.ndarray, rr_ms: np.ndarray, formula: str = "fridericia") -> np.ndarray:
    """Element-wise QTc (ms) of QT and RR arrays (ms) by ``formula`` (:data:`QTC_FORMULAS`); NaN in, NaN out.

    Examples
    --------
    >>> qtc_ms_array(np.array([400.0]), np.array([1000.0])).tolist()
    [400.0]
    """
    rr_s = np.asarray(rr_ms, dtype=np.float64) / 1000.0
    qt = np.asarray(qt_ms, dtype=np.float64)
    if formula == "fridericia":
        root = np.cbrt(rr_s)
    elif formula == "bazett":
        with np.errstate(invalid="ignore"):
            root = np.sqrt(rr_s)
    else:
        raise ValueError(f"unknown QTc formula {formula!r} (known: {', '.join(QTC_FORMULAS)})")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(rr_s > 0, qt / root, np.nan)
