"""Simulated long-term (Holter) ECGs with known beats, written to disk chunk by chunk.

:func:`write_long_wfdb` writes an 8-lead (I, II, V1-V6) WFDB format-16 record of any
length -- 24 h at 500 Hz is 690 MB -- without ever holding more than one minute of
it in memory, plus the truth as a WFDB annotation file ``<stem>.atr`` (``N`` and ``V``
at the R peaks). It is the test and benchmark record for the long-term viewer and
the beat pass: real Holter files are large and few.

The model
---------
- **Morphology**: a moving cardiac dipole. Each wave (P, septal Q, R, terminal S, T) is a
  Gaussian in time with its own direction in the body (x left, y feet, z front); every
  lead is the projection of the dipole on its lead vector (I 0 deg, II 60 deg in the
  frontal plane; V1-V6 from 115 deg to 0 deg in the horizontal plane, with precordial
  gains). This gives consistent physiology across leads: rS in V1, R progression to
  V6, upright P and T in I and II, and III/aVR/aVL/aVF derived from I and II as usual.
  The QT interval follows the cycle length (Bazett, QTc 400 ms).
- **PVCs**: no P wave, a wide (about 140 ms) bizarre QRS from a different (ventricular)
  direction with a discordant (opposite) T wave; premature (coupling 55-65 % of the
  sinus cycle) and followed by a full compensatory pause (the next sinus beat comes
  two sinus cycles after the last normal one). A tenth of PVC events are couplets.
- **Rhythm**: heart rate with a day/night rhythm (highest mid-afternoon, lowest at
  3 a.m.), slow random excursions (activity), respiratory sinus arrhythmia, clipped to
  50-110 bpm; a few sinus pauses longer than 2 s.
- **Noise**: white noise that grows with activity, baseline wander (a slow random
  walk per lead plus a respiratory component); respiration also modulates the beat
  amplitude by a few per cent.

Beats are rendered by adding precomputed templates (one per cycle-length bin and
beat kind) with numpy, so a 24 h record takes seconds. Everything is drawn from
``numpy.random.default_rng`` streams derived from ``seed`` (one per chunk for the
noise), so a seed always gives the same file.

Command line: ``python -m ecgviewer.core.simulate OUT_STEM --hours 24``.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import os
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecgviewer.core.leads import INDEPENDENT_LEADS

#: Leads written, in file order.
LEADS: tuple[str, ...] = INDEPENDENT_LEADS
#: Digital units per mV (1 uV resolution).
ADC_GAIN = 1000.0
#: Seconds rendered per chunk (the most held in memory at once).
CHUNK_S = 60
#: Template window around the R peak (seconds before, after).
_PRE_S, _POST_S = 0.30, 0.70
#: Cycle-length bins (s) of the precomputed templates.
_RR_BINS = np.geomspace(0.3, 3.6, 48)


def _unit(*v: float) -> np.ndarray:
    a = np.asarray(v, dtype=np.float64)
    return a / np.linalg.norm(a)


def _lead_vectors() -> np.ndarray:
    """(8, 3) lead vectors (x left, y feet, z front) for I, II, V1-V6, with precordial gains."""
    rows = [_unit(1, 0, 0), _unit(0.5, np.sqrt(3) / 2, 0)]
    for angle, gain in ((115, 1.1), (95, 1.5), (75, 1.6), (55, 1.5), (30, 1.25), (0, 1.0)):
        a = np.deg2rad(angle)
        rows.append(gain * _unit(np.cos(a), 0.1, np.sin(a)))
    return np.stack(rows)


_LEAD_VECTORS = _lead_vectors()


@dataclass(frozen=True)
class _Wave:
    center_s: float
    sigma_s: float
    amp_mv: float
    direction: np.ndarray


def _sinus_waves(rr_s: float) -> list[_Wave]:
    rr = float(np.clip(rr_s, 0.35, 1.6))
    qt = 0.40 * np.sqrt(rr)  # Bazett with QTc 400 ms, from QRS onset (-40 ms)
    t_sigma = 0.045 * rr**0.25
    t_center = -0.04 + qt - 2.3 * t_sigma
    return [
        _Wave(-0.165, 0.022, 0.13, _unit(0.55, 0.8, 0.15)),  # P
        _Wave(-0.026, 0.007, 0.18, _unit(-0.6, -0.1, 0.8)),  # septal q / r in V1
        _Wave(0.000, 0.010, 1.35, _unit(0.7, 0.55, -0.2)),  # R
        _Wave(0.026, 0.009, 0.45, _unit(-0.5, -0.45, -0.75)),  # terminal S
        _Wave(t_center - 0.6 * t_sigma, 0.8 * t_sigma, 0.22, _unit(0.6, 0.55, 0.55)),  # T upstroke
        _Wave(t_center + 0.3 * t_sigma, t_sigma, 0.26, _unit(0.6, 0.55, 0.55)),  # T
    ]


def _pvc_waves(rr_s: float) -> list[_Wave]:
    main = _unit(-0.35, 0.75, -0.55)  # from the right ventricle's outflow: left-bundle-branch-block shape
    return [
        _Wave(-0.030, 0.022, 0.9, _unit(-0.8, 0.2, 0.55)),
        _Wave(0.010, 0.026, 1.7, main),
        _Wave(0.060, 0.020, 0.6, _unit(0.4, 0.5, -0.75)),
        _Wave(0.330, 0.065, 0.55, -main),  # discordant T
    ]


def beat_template(kind: str, rr_s: float, fs_hz: float) -> np.ndarray:
    """One beat as ``(8, n)`` float32 mV; the R peak (annotation point) at index ``round(0.3 * fs_hz)``.

    ``kind`` is ``"N"`` (sinus) or ``"V"`` (PVC); ``rr_s`` the sinus cycle length (sets the QT).
    """
    waves = {"N": _sinus_waves, "V": _pvc_waves}[kind](rr_s)
    pre, post = round(_PRE_S * fs_hz), round(_POST_S * fs_hz)
    t = np.arange(-pre, post) / fs_hz
    dipole = np.zeros((3, t.size))
    for w in waves:
        dipole += np.outer(w.direction * w.amp_mv, np.exp(-0.5 * ((t - w.center_s) / w.sigma_s) ** 2))
    out = _LEAD_VECTORS @ dipole
    out -= np.linspace(out[:, :1], out[:, -1:], t.size, axis=1)[..., 0]  # both ends exactly 0
    return out.astype(np.float32)


@dataclass(frozen=True)
class SimulatedBeats:
    """The truth of a simulated record: beat positions and kinds."""

    samples: np.ndarray  # int64, R peaks (annotation points)
    symbols: np.ndarray  # "N" or "V"
    rr_s: np.ndarray  # sinus cycle length at each beat (sets its template)
    amplitude: np.ndarray  # per-beat amplitude factor (respiration, jitter)
    pauses: np.ndarray  # int64 sample of the beat that ends each sinus pause


def _heart_rate(n_s: int, start_hour: float, rng: np.random.Generator) -> np.ndarray:
    """Heart rate (bpm) on a 1 s grid: day/night rhythm plus slow random excursions, 50-110 bpm."""
    hours = start_hour + np.arange(n_s) / 3600.0
    circadian = 74.0 + 14.0 * np.cos(2 * np.pi * (hours - 15.0) / 24.0)

    def ou(tau_s: float, sd: float) -> np.ndarray:  # Ornstein-Uhlenbeck on the 1 s grid
        a = np.exp(-1.0 / tau_s)
        w = rng.normal(0.0, sd * np.sqrt(1 - a * a), n_s)
        x = np.empty(n_s)
        x[0] = rng.normal(0.0, sd)
        for i in range(1, n_s):  # 86 400 steps for 24 h: a few ms
            x[i] = a * x[i - 1] + w[i]
        return x

    return np.clip(circadian + ou(900.0, 7.0) + ou(60.0, 3.0), 50.0, 110.0)


def simulate_beats(
    hours: float,
    fs_hz: float = 500,
    seed: int = 0,
    *,
    pvc_per_hour: float = 120,
    pauses_per_hour: float = 0.25,
    couplet_fraction: float = 0.1,
    start_hour: float = 8.0,
) -> SimulatedBeats:
    """Beat times and kinds of a simulated record (what :func:`write_long_wfdb` renders and annotates)."""
    total_s = hours * 3600.0
    n_s = int(np.ceil(total_s)) + 2
    rng = np.random.default_rng(np.random.SeedSequence([seed, 1]))
    hr = _heart_rate(n_s, start_hour, rng)
    n_pauses = round(hours * pauses_per_hour)
    if n_pauses == 0 and pauses_per_hour > 0 and total_s >= 600:
        n_pauses = 1
    pause_at = np.sort(rng.uniform(min(30.0, total_s / 4), max(total_s - 30.0, total_s * 0.75), n_pauses))
    beats_per_hour = 3600.0 * float(np.mean(hr)) / 60.0
    p_event = pvc_per_hour / (1.0 + couplet_fraction) / beats_per_hour
    cap = int(total_s * 2.2) + 16  # more than 110 bpm plus PVCs could produce
    u = rng.random((cap, 4))
    jitter = rng.normal(0.0, 1.0, cap)
    times: list[float] = []
    kinds: list[str] = []
    cycles: list[float] = []
    pauses: list[int] = []
    t, since_event, k, p_i = 0.4 + 0.4 * u[0, 0], 0, 0, 0
    end = total_s - _POST_S
    while t < end and k < cap - 1:
        k += 1
        rr = 60.0 / hr[int(t)] * (1.0 + 0.025 * np.sin(2 * np.pi * 0.25 * t) + 0.008 * jitter[k])
        rr = min(max(rr, 60.0 / 109.0), 60.0 / 51.0)  # 50-110 bpm once rounded to samples
        times.append(t)
        kinds.append("N")
        cycles.append(rr)
        since_event += 1
        if p_i < n_pauses and t >= pause_at[p_i]:
            p_i += 1
            t += 2.2 + 1.0 * u[k, 0]
            pauses.append(len(times))  # index of the beat that ends the pause
            since_event = 0
            continue
        if since_event >= 3 and u[k, 1] < p_event:
            last = t + rr * (0.55 + 0.10 * u[k, 2])
            times.append(last)
            kinds.append("V")
            cycles.append(rr)
            if u[k, 3] < couplet_fraction:
                last += max(0.32, 0.55 * rr)
                times.append(last)
                kinds.append("V")
                cycles.append(rr)
            t_next = t + 2.0 * rr  # full compensatory pause: the sinus node is not reset
            while t_next - last < 0.5 * rr + 0.2:
                t_next += rr
            t = t_next
            since_event = 0
        else:
            t += rr
    keep = np.asarray(times) < end
    times_a = np.asarray(times)[keep]
    samples = np.round(times_a * fs_hz).astype(np.int64)
    resp = 1.0 + 0.04 * np.sin(2 * np.pi * 0.25 * times_a + 1.0)
    amp = resp * (1.0 + 0.02 * rng.normal(size=times_a.size))
    pause_beats = np.asarray([samples[i] for i in pauses if i < samples.size], dtype=np.int64)
    return SimulatedBeats(
        samples=samples,
        symbols=np.asarray(kinds)[keep],
        rr_s=np.asarray(cycles)[keep],
        amplitude=amp.astype(np.float32),
        pauses=pause_beats,
    )


def _wander_points(n_points: int, rng: np.random.Generator) -> np.ndarray:
    """Baseline wander control points (8, n), one per second: a slow random walk per lead (mV)."""
    a = np.exp(-1.0 / 8.0)
    w = rng.normal(0.0, 0.08 * np.sqrt(1 - a * a), (len(LEADS), n_points))
    x = np.empty_like(w)
    x[:, 0] = rng.normal(0.0, 0.08, len(LEADS))
    for i in range(1, n_points):
        x[:, i] = a * x[:, i - 1] + w[:, i]
    return x


def write_long_wfdb(
    path_stem: Path,
    hours: float = 24.0,
    fs_hz: int = 500,
    seed: int = 0,
    *,
    pvc_per_hour: float = 120,
    pauses_per_hour: float = 0.25,
    start: dt.datetime = dt.datetime(2024, 1, 1, 8, 0, 0),
    progress: Callable[[int, int], None] | None = None,
) -> Path:
    """Write a simulated 8-lead Holter record as WFDB (format 16, 1 uV per unit) plus ``<stem>.atr``.

    Parameters
    ----------
    path_stem
        Folder and record name, e.g. ``out/holter`` -> ``out/holter.hea``, ``.dat``, ``.atr``.
    hours, fs_hz, seed
        Length, sampling rate and the seed that fixes everything drawn at random.
    pvc_per_hour
        Mean PVC count per hour (a tenth of the events are couplets).
    pauses_per_hour
        Sinus pauses (2.2-3.2 s) per hour; records of 10 min or more get at least one.
    start
        Recording start (header date and time; sets the day/night rhythm).
    progress
        ``progress(done_samples, total_samples)`` after each chunk.

    Returns
    -------
    Path
        The ``.hea`` file. The three files appear together when the record is complete
        (written in a hidden folder beside them, then moved into place).
    """
    import wfdb

    stem = Path(path_stem)
    if stem.suffix.lower() in (".hea", ".dat", ".atr"):
        stem = stem.with_suffix("")
    name = stem.name
    n_total = round(hours * 3600.0 * fs_hz)
    if n_total < fs_hz:
        raise ValueError("a simulated record must be at least one second long")
    start_hour = start.hour + start.minute / 60.0 + start.second / 3600.0
    beats = simulate_beats(
        hours, fs_hz, seed, pvc_per_hour=pvc_per_hour, pauses_per_hour=pauses_per_hour, start_hour=start_hour
    )
    bins = np.clip(np.searchsorted(_RR_BINS, beats.rr_s), 0, _RR_BINS.size - 1)
    templates = {
        (kind, int(b)): beat_template(kind, float(_RR_BINS[b]), fs_hz)
        for kind in ("N", "V")
        for b in np.unique(bins[beats.symbols == kind])
    }
    pre = round(_PRE_S * fs_hz)
    starts = beats.samples - pre
    wander = _wander_points(int(np.ceil(n_total / fs_hz)) + 2, np.random.default_rng([seed, 2]))
    resp_weights = np.random.default_rng([seed, 3]).normal(0.0, 0.03, len(LEADS))
    noise_sd = np.random.default_rng([seed, 4]).uniform(0.006, 0.012, len(LEADS)).astype(np.float32)
    hr_at = 60.0 / np.maximum(beats.rr_s, 1e-3)
    chunk = CHUNK_S * fs_hz
    checksum = np.zeros(len(LEADS), dtype=np.int64)
    init_value: list[int] = []

    stem.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", suffix=".tmp", dir=stem.parent))
    try:
        with open(tmp / f"{name}.dat", "wb") as fh:
            for c0 in range(0, n_total, chunk):
                c1 = min(c0 + chunk, n_total)
                n = c1 - c0
                t = np.arange(c0, c1) / fs_hz
                sig = np.empty((len(LEADS), n), dtype=np.float32)
                sec = t[[0, -1]]
                i0, i1 = int(sec[0]), int(sec[1]) + 2
                grid = np.arange(i0, i1 + 1)
                for li in range(len(LEADS)):
                    sig[li] = np.interp(t, grid, wander[li, i0 : i1 + 1])
                sig += np.outer(resp_weights, np.sin(2 * np.pi * 0.25 * t)).astype(np.float32)
                b0, b1 = np.searchsorted(starts, [c0 - (pre + round(_POST_S * fs_hz)), c1])
                rate = float(np.mean(hr_at[b0:b1])) if b1 > b0 else 70.0
                activity = np.float32(1.0 + 1.5 * np.clip((rate - 70.0) / 40.0, 0.0, 1.0))
                rng = np.random.default_rng([seed, 5, c0 // chunk])
                sig += rng.standard_normal((len(LEADS), n), dtype=np.float32) * (noise_sd * activity)[:, None]
                for j in range(b0, b1):
                    tpl = templates[(str(beats.symbols[j]), int(bins[j]))]
                    s = int(starts[j]) - c0
                    lo, hi = max(s, 0), min(s + tpl.shape[1], n)
                    if hi > lo:
                        sig[:, lo:hi] += beats.amplitude[j] * tpl[:, lo - s : hi - s]
                digital = np.clip(np.rint(sig * ADC_GAIN), -32767, 32767).astype("<i2")
                if not init_value:
                    init_value = [int(v) for v in digital[:, 0]]
                checksum += digital.sum(axis=1, dtype=np.int64)
                fh.write(np.ascontiguousarray(digital.T).tobytes())
                if progress is not None:
                    progress(c1, n_total)
        wfdb.wrann(
            name, "atr", beats.samples, symbol=[str(s) for s in beats.symbols], fs=fs_hz, write_dir=str(tmp)
        )
        n_v = int(np.sum(beats.symbols == "V"))
        comments = [
            f"simulated Holter ECG (ecgviewer.core.simulate, seed {seed}): {beats.samples.size} beats, "
            f"{n_v} PVCs, {beats.pauses.size} sinus pauses",
        ]
        wfdb.Record(
            record_name=name, n_sig=len(LEADS), fs=fs_hz, sig_len=n_total,
            file_name=[f"{name}.dat"] * len(LEADS), fmt=["16"] * len(LEADS),
            adc_gain=[ADC_GAIN] * len(LEADS), baseline=[0] * len(LEADS), units=["mV"] * len(LEADS),
            sig_name=list(LEADS), adc_res=[16] * len(LEADS), adc_zero=[0] * len(LEADS),
            init_value=init_value, checksum=[int(c % 65536) for c in checksum],
            block_size=[0] * len(LEADS), base_time=start.time(), base_date=start.date(), comments=comments,
        ).wrheader(write_dir=str(tmp))  # fmt: skip
        for ext in (".dat", ".atr", ".hea"):  # the header last: a visible header means a whole record
            os.replace(tmp / f"{name}{ext}", stem.parent / f"{name}{ext}")
    finally:
        with contextlib.suppress(OSError):
            shutil.rmtree(tmp)
    return stem.parent / f"{name}.hea"


def main(argv: list[str] | None = None) -> int:
    """``python -m ecgviewer.core.simulate OUT_STEM --hours 24``."""
    ap = argparse.ArgumentParser(
        prog="python -m ecgviewer.core.simulate",
        description="Write a simulated 8-lead Holter ECG (WFDB format 16) with its beat annotations (.atr).",
    )
    ap.add_argument("out_stem", type=Path, help="output folder and record name, e.g. data/holter24")
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--fs", type=int, default=500, help="sampling rate in Hz")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--pvc-per-hour", type=float, default=120.0)
    ap.add_argument("--pauses-per-hour", type=float, default=0.25)
    args = ap.parse_args(argv)
    from tqdm import tqdm

    with tqdm(total=round(args.hours * 3600 * args.fs), unit="sample", unit_scale=True) as bar:
        hea = write_long_wfdb(
            args.out_stem, args.hours, args.fs, args.seed, pvc_per_hour=args.pvc_per_hour,
            pauses_per_hour=args.pauses_per_hour, progress=lambda done, _total: bar.update(done - bar.n),
        )  # fmt: skip
    print(hea)
    return 0


if __name__ == "__main__":
    sys.exit(main())
