"""Per-sample wave labels (0 none, 1 P, 2 QRS, 3 T) and their masks from expert annotations.

LUDB (every lead annotated separately, only the central part of each record) and
QTDB ``q1c``/``q2c`` (one set of boundaries for both leads, about 30 annotated beats
per record) become ``labels`` (``(n_leads, n_samples)`` int8) and ``mask``
(``(n_leads, n_samples)`` bool: the samples whose label is known). Unannotated
stretches are masked out, never taught as "no wave".
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from trainer.data.ludb import LUDB_LEADS, Wave, parse_waves

_CLASS = {"p": 1, "N": 2, "t": 3}


@dataclass(frozen=True)
class WaveLabels:
    """One record's signals (mV) with per-sample wave labels and the mask of known samples."""

    name: str
    signals: np.ndarray  # (n_leads, n_samples) float32 mV
    fs_hz: float
    leads: tuple[str, ...]
    labels: np.ndarray  # (n_leads, n_samples) int8
    mask: np.ndarray  # (n_leads, n_samples) bool


def _paint(waves: Sequence[Wave], n: int, beat_scope: bool) -> tuple[np.ndarray, np.ndarray]:
    """Labels and mask of one lead from its waves.

    ``beat_scope`` False (LUDB): everything between the first and the last annotation
    is known (unannotated samples there are background). True (QTDB): only each
    annotated beat is known, from its P onset (or 60 ms before the QRS) to its T offset
    (or QRS offset); a wave with a missing boundary is masked from its peak outwards.
    """
    lab = np.zeros(n, np.int8)
    known = np.zeros(n, bool)
    unknown = np.zeros(n, bool)
    for w in waves:
        if w.kind not in _CLASS:
            continue
        if w.onset is not None and w.offset is not None and w.onset <= w.peak <= w.offset:
            lab[max(0, w.onset) : min(n, w.offset + 1)] = _CLASS[w.kind]
        else:  # a wave with one boundary: the side without it is unknown
            a = w.onset if w.onset is not None else w.peak
            b = w.offset if w.offset is not None else w.peak
            lab[max(0, a) : min(n, b + 1)] = _CLASS[w.kind]
            lo = w.peak - 60 if w.onset is None else w.peak
            hi = w.peak + 60 if w.offset is None else w.peak
            unknown[max(0, lo) : min(n, hi + 1)] = True
    if not waves:
        return lab, known
    if not beat_scope:
        first = min(w.onset if w.onset is not None else w.peak for w in waves)
        last = max(w.offset if w.offset is not None else w.peak for w in waves)
        known[max(0, first) : min(n, last + 1)] = True
    else:
        qrs = [w for w in waves if w.kind == "N"]
        for q in qrs:
            before = [w for w in waves if w.kind == "p" and w.peak < q.peak and q.peak - w.peak < 150]
            after = [w for w in waves if w.kind == "t" and w.peak > q.peak and w.peak - q.peak < 250]
            start = before[-1].onset if before and before[-1].onset is not None else None
            if start is None:
                start = (q.onset if q.onset is not None else q.peak) - 15
            end = after[0].offset if after and after[0].offset is not None else None
            if end is None:
                end = q.offset if q.offset is not None else q.peak
            known[max(0, start) : min(n, end + 1)] = True
    return lab, known & ~unknown


def ludb_wave_labels(record_path: str | Path) -> WaveLabels:
    """LUDB record ``data/<ID>`` (500 Hz, 12 leads) with each lead's own expert labels."""
    import wfdb

    from ecgviewer.core.readers import read_record

    record_path = Path(record_path)
    rec = read_record(record_path.with_suffix(".hea"))
    x = rec.leads_array(
        tuple(name.upper() if name[0] != "a" else "a" + name[1:].upper() for name in LUDB_LEADS)
    )
    n = x.shape[1]
    labels, masks = [], []
    for lead in LUDB_LEADS:
        ann = wfdb.rdann(str(record_path), lead)
        lab, known = _paint(parse_waves(list(ann.symbol), list(ann.sample)), n, beat_scope=False)
        labels.append(lab)
        masks.append(known)
    leads = tuple(rec.lead_names) if len(rec.lead_names) == 12 else tuple(LUDB_LEADS)
    return WaveLabels(
        record_path.name, x.astype(np.float32), rec.fs_hz, leads, np.stack(labels), np.stack(masks)
    )


def qtdb_wave_labels(record_path: str | Path, annotator: str = "q1c") -> WaveLabels:
    """QTDB record (250 Hz, 2 leads): the annotator's boundaries apply to both leads, annotated beats only."""
    import wfdb

    from ecgviewer.core.readers import read_record

    record_path = Path(record_path)
    rec = read_record(record_path.with_suffix(".hea"))
    x = rec.signals.astype(np.float32)
    ann = wfdb.rdann(str(record_path), annotator)
    # QTDB labels each annotated QRS with its beat type (N, V, A, Q ...): every beat label is a QRS
    symbols = [s if s in ("p", "t", "u", "(", ")") else "N" for s in ann.symbol]
    waves = [w for w in parse_waves(symbols, list(ann.sample), peaks={"p", "N", "t", "u"}) if w.kind != "u"]
    lab, known = _paint(waves, x.shape[1], beat_scope=True)
    labels = np.stack([lab] * x.shape[0])
    mask = np.stack([known] * x.shape[0])
    return WaveLabels(record_path.name, x, rec.fs_hz, tuple(rec.lead_names), labels, mask)


def synthetic_wave_labels(
    count: int, seed: int, teacher: str | Path, min_confidence: float = 0.9, first: int = 0
) -> list[WaveLabels]:
    """``count`` synthetic 8-lead ECGs (``deepfake-ecg``) labelled per sample by a teacher network.

    The teacher is a delineation checkpoint (e.g. one trained on LUDB's training records only);
    samples where its probability of the chosen class is below ``min_confidence`` are masked
    out, so only what the teacher is sure of is taught.
    """
    from ecgviewer.core.delineation import labels_from_probabilities
    from ecgviewer.inference.delineation import Delineator
    from trainer.data.synthetic import FS_HZ, LEADS, generate_ecgs

    net = Delineator(str(teacher), device="cpu", batch_size=8).load()
    out = []
    step = 64
    for start in range(first, first + count, step):
        m = min(step, first + count - start)
        x = generate_ecgs(seed, start, m)
        for j in range(m):
            prob = net.probabilities(x[j], FS_HZ)
            labels, conf = labels_from_probabilities(prob)
            out.append(
                WaveLabels(
                    f"synthetic-{seed}-{start + j}", x[j], FS_HZ, tuple(LEADS), labels, conf >= min_confidence
                )
            )
    return out
