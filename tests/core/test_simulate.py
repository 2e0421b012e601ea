"""The simulated Holter record: a valid WFDB record whose ``.atr`` truth matches its beats -- the
project's QRS detector finds them, PVCs are premature, wide, with a discordant T wave and a
compensatory pause, the rhythm has couplets and pauses -- and the same seed gives the same file."""

from __future__ import annotations

import collections

import numpy as np
import pytest
import wfdb

from ecgviewer.core import read_record
from ecgviewer.core.beats import detect_r_peaks
from ecgviewer.core.leads import INDEPENDENT_LEADS
from ecgviewer.core.simulate import beat_template, main, simulate_beats, write_long_wfdb

FS = 500


@pytest.fixture(scope="module")
def sim(tmp_path_factory):
    """A 1 h record with its annotations."""
    hea = write_long_wfdb(tmp_path_factory.mktemp("sim") / "holter", hours=1.0, seed=11)
    ann = wfdb.rdann(str(hea.with_suffix("")), "atr")
    return hea, read_record(hea), np.asarray(ann.sample), np.asarray(ann.symbol)


def test_record_and_annotation_files(sim):
    hea, rec, samples, symbols = sim
    header = wfdb.rdheader(str(hea.with_suffix("")))
    assert header.fmt == ["16"] * 8 and header.fs == FS and header.sig_len == 3600 * FS
    assert rec.lead_names == INDEPENDENT_LEADS and rec.units == ("mV",) * 8
    assert (hea.parent / "holter.dat").stat().st_size == 3600 * FS * 8 * 2
    # checksums and first values in the header are those of the samples (what wfdb's writer would put)
    digital = np.rint(rec.signals * 1000).astype(np.int64)
    assert header.checksum == [int(c) for c in digital.sum(axis=1) % 65536]
    assert header.init_value == [int(v) for v in digital[:, 0]]
    counts = collections.Counter(symbols.tolist())
    assert set(counts) == {"N", "V"}
    assert 80 <= counts["V"] <= 170  # 120 PVCs per hour on average
    assert 2900 <= counts["N"] + counts["V"] <= 6700  # 50-110 bpm for an hour
    assert np.all(np.diff(samples) > 0) and samples[0] >= 0 and samples[-1] < rec.n_samples
    assert not [p.name for p in hea.parent.iterdir() if p.name.startswith(".")]  # no temporary left


def test_detector_finds_the_annotated_beats(sim):
    """The classical QRS detector on the first 10 minutes agrees with the truth within 40 ms."""
    _, rec, samples, _ = sim
    n = 600 * FS
    found = detect_r_peaks(rec.signals[:, :n], FS)
    truth = samples[(samples > FS) & (samples < n - FS)]
    found = found[(found > FS) & (found < n - FS)]
    tol = int(0.04 * FS)
    idx = np.clip(np.searchsorted(found, truth), 1, found.size - 1)
    nearest = np.minimum(np.abs(found[idx] - truth), np.abs(found[idx - 1] - truth))
    sensitivity = np.mean(nearest <= tol)
    idx = np.clip(np.searchsorted(truth, found), 1, truth.size - 1)
    nearest = np.minimum(np.abs(truth[idx] - found), np.abs(truth[idx - 1] - found))
    ppv = np.mean(nearest <= tol)
    assert sensitivity > 0.995 and ppv > 0.995, (sensitivity, ppv)


def _average_beat(rec, samples, lead: str, pre_s=0.25, post_s=0.6) -> np.ndarray:
    x = rec.lead(lead)
    pre, post = int(pre_s * FS), int(post_s * FS)
    beats = np.stack([x[s - pre : s + post] for s in samples if pre <= s < x.size - post])
    avg = np.median(beats, axis=0)
    return avg - np.median(avg[:20])


def _qrs_width_ms(rec, samples) -> float:
    """Width (ms) over which the spatial QRS magnitude (all 8 leads) exceeds 30 % of its peak."""
    mag = np.sqrt(sum(_average_beat(rec, samples, lead) ** 2 for lead in INDEPENDENT_LEADS))
    around = mag[int(0.15 * FS) : int(0.35 * FS)]  # -100 .. +100 ms around the annotation
    return float(np.sum(around > 0.3 * around.max()) / FS * 1000)


def test_pvcs_are_wide_premature_discordant_with_compensatory_pause(sim):
    _, rec, samples, symbols = sim
    inner = np.arange(2, symbols.size - 2)
    isolated = inner[(symbols[inner] == "V") & (symbols[inner - 1] == "N") & (symbols[inner + 1] == "N")]
    isolated = isolated[symbols[isolated - 2] == "N"]
    normal = inner[(symbols[inner] == "N") & (symbols[inner - 1] == "N") & (symbols[inner + 1] == "N")]
    rr = np.diff(samples) / FS
    coupling = rr[isolated - 1]  # N -> V
    sinus = rr[isolated - 2]  # N -> N before it
    assert np.all(coupling < 0.7 * sinus)  # premature
    pause = (samples[isolated + 1] - samples[isolated - 1]) / FS
    assert np.allclose(pause, 2 * sinus, rtol=0.12)  # full compensatory pause
    width_n = _qrs_width_ms(rec, samples[normal])
    width_v = _qrs_width_ms(rec, samples[isolated])
    assert 20 <= width_n <= 70 and 100 <= width_v <= 200, (width_n, width_v)
    # lead II: sinus QRS and T point the same way, the PVC's T opposes its QRS
    for idx, concordant in ((normal, True), (isolated, False)):
        avg = _average_beat(rec, samples[idx], "II")
        qrs = avg[int(0.25 * FS) - int(0.06 * FS) : int(0.25 * FS) + int(0.06 * FS)].sum()
        t_wave = avg[int(0.25 * FS) + int(0.15 * FS) : int(0.25 * FS) + int(0.5 * FS)].sum()
        assert (np.sign(qrs) == np.sign(t_wave)) == concordant
    # sinus beats have a P wave: mean level 200-120 ms before the annotation
    p_n = _average_beat(rec, samples[normal], "II")[int(0.05 * FS) : int(0.13 * FS)].mean()
    assert p_n > 0.05


def test_rhythm_has_couplets_pauses_and_varies(sim):
    _, _, samples, symbols = sim
    couplets = np.sum((symbols[:-1] == "V") & (symbols[1:] == "V"))
    assert couplets >= 3
    rr = np.diff(samples) / FS
    assert np.sum(rr > 2.0) >= 1  # a sinus pause
    sinus = rr[(symbols[:-1] == "N") & (symbols[1:] == "N") & (rr < 2.0)]
    assert sinus.min() >= 60 / 110 and sinus.max() <= 60 / 50
    assert np.std(60 / sinus) > 2.0  # the rate varies


def test_day_and_night_rates():
    beats = simulate_beats(24.0, FS, seed=0)
    hours = 8.0 + beats.samples / FS / 3600.0  # starts at 08:00
    rr = np.diff(beats.samples) / FS
    sinus = (beats.symbols[:-1] == "N") & (beats.symbols[1:] == "N") & (rr < 2.0)
    hr = 60 / rr[sinus]
    h = hours[:-1][sinus] % 24
    day = hr[(h >= 13) & (h < 17)].mean()
    night = hr[(h >= 1) & (h < 5)].mean()
    assert day > night + 12, (day, night)
    assert hr.min() >= 50 and hr.max() <= 110
    assert 4 <= beats.pauses.size <= 8  # 0.25 per hour


def test_same_seed_same_file_other_seed_other_file(tmp_path):
    a = write_long_wfdb(tmp_path / "a" / "r", hours=0.05, seed=3)
    b = write_long_wfdb(tmp_path / "b" / "r", hours=0.05, seed=3)
    c = write_long_wfdb(tmp_path / "c" / "r", hours=0.05, seed=4)
    for ext in (".dat", ".atr", ".hea"):
        assert a.with_suffix(ext).read_bytes() == b.with_suffix(ext).read_bytes()
    assert a.with_suffix(".dat").read_bytes() != c.with_suffix(".dat").read_bytes()


def test_templates_and_cli(tmp_path, capsys):
    n = beat_template("N", 0.8, FS)
    v = beat_template("V", 0.8, FS)
    assert n.shape == v.shape == (8, int(1.0 * FS)) and n.dtype == np.float32
    r = int(0.3 * FS)
    assert np.argmax(np.abs(n[1])) == pytest.approx(r, abs=3)  # R peak of lead II at the annotation
    assert n[2, r] < 0 < n[7, r]  # rS in V1, R in V6
    assert np.all(n[:, [0, -1]] == 0)
    assert main([str(tmp_path / "cli"), "--hours", "0.01", "--seed", "2"]) == 0
    assert capsys.readouterr().out.strip().endswith("cli.hea")
    rec = read_record(tmp_path / "cli.hea")
    assert rec.n_samples == 18_000 and rec.display_leads[:6] == ("I", "II", "III", "aVR", "aVL", "aVF")
