"""Min/max pyramid: envelopes equal brute-force min/max over the same bins (random data with NaN
gaps, a real MIT-BIH record, derived leads), caching (hit, stale, damaged), cancel and progress, and
bounded memory while a generated long record is opened and its pyramid built (measured in a child
process)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ecgviewer.core import EcgRecord, read_record
from ecgviewer.core.long_record import LongRecord
from ecgviewer.core.pyramid import MinMaxPyramid, cache_folder, envelope, envelopes
from ecgviewer.core.readers.registry import open_long_record
from ecgviewer.core.simulate import write_long_wfdb


def brute_force(signal: np.ndarray, env) -> tuple[np.ndarray, np.ndarray]:
    """Min/max of the raw samples over the envelope's bins (NaN skipped), one bin at a time."""
    n = signal.size
    edges = np.minimum(env.first_sample + np.arange(len(env) + 1) * env.bin_samples, n)
    lo, hi = [], []
    for a, b in itertools.pairwise(edges):
        seg = signal[a:b]
        empty = np.isnan(seg).all()
        lo.append(np.nan if empty else np.nanmin(seg))
        hi.append(np.nan if empty else np.nanmax(seg))
    return np.array(lo, dtype=np.float32), np.array(hi, dtype=np.float32)


def check_envelope(rec: LongRecord, full: EcgRecord, lead: str, start: int, stop: int, n_bins: int, pyr):
    env = envelope(rec, lead, start, stop, n_bins, pyr)
    start_c, stop_c = max(start, 0), min(stop, rec.n_samples)
    if stop_c <= start_c:
        assert len(env) == 0
        return env
    # the bins cover the span, no more than one bin beyond each end, and stay in the record
    assert env.first_sample <= start_c < env.first_sample + env.bin_samples
    assert env.first_sample % env.bin_samples == 0
    end = min(env.first_sample + len(env) * env.bin_samples, rec.n_samples)
    assert stop_c <= end and end - stop_c < env.bin_samples
    np.testing.assert_array_equal(
        env.t_s, (env.first_sample + np.arange(len(env)) * env.bin_samples) / rec.fs_hz
    )
    lo, hi = brute_force(full.lead(lead), env)
    np.testing.assert_array_equal(env.lo, lo)
    np.testing.assert_array_equal(env.hi, hi)
    return env


@pytest.fixture(scope="module")
def random_record(tmp_path_factory):
    """I, II, V1 of random walks plus spikes, with NaN gaps (one longer than a coarse bucket)."""
    rng = np.random.default_rng(20)
    n = 300_007  # not a multiple of any bucket
    x = np.cumsum(rng.normal(0, 0.05, (3, n)), axis=1).astype(np.float32)
    x[:, rng.integers(0, n, 300)] += rng.normal(0, 5, (3, 300)).astype(np.float32)
    x[0, 1000:1100] = np.nan
    x[1, 65_000:140_000] = np.nan  # whole 32768-sample buckets of II missing
    x[2, -5:] = np.nan
    full = EcgRecord(x, 500.0, ("I", "II", "V1"), ("mV",) * 3)
    rec = LongRecord.from_record(full)
    pyr = MinMaxPyramid.build(rec, tmp_path_factory.mktemp("pyr"))
    return rec, full, pyr


def test_levels_equal_brute_force(random_record):
    _, full, pyr = random_record
    assert pyr.leads == ("I", "II", "III", "aVR", "aVL", "aVF", "V1")
    assert pyr.bucket_sizes == (64, 512, 4096, 32768)
    for name in pyr.leads:
        x = full.lead(name)
        for level, b in enumerate(pyr.bucket_sizes):
            lo, hi = pyr.buckets(name, level)
            assert lo.size == -(-x.size // b)
            k = int(np.random.default_rng(level).integers(0, lo.size))
            seg = x[k * b : (k + 1) * b]
            want_lo = np.nan if np.isnan(seg).all() else np.nanmin(seg)
            np.testing.assert_array_equal(lo[k], want_lo)
            np.testing.assert_array_equal(hi[k], np.nanmax(seg) if not np.isnan(seg).all() else np.nan)
    # buckets inside the NaN stretch of II are NaN, in II and the leads derived from it
    for name in ("II", "III", "aVF"):
        lo, hi = pyr.buckets(name, 3)
        assert np.isnan(lo[2:4]).all() and np.isnan(hi[2:4]).all()
        assert not np.isnan(lo[[1, 4]]).any()  # partly missing buckets keep the samples present


@settings(derandomize=True, max_examples=150, deadline=None)
@given(
    start=st.integers(-1000, 300_010),
    length=st.integers(1, 320_000),
    n_bins=st.integers(1, 4000),
    lead=st.sampled_from(["I", "II", "III", "aVR", "aVL", "aVF", "V1"]),
)
def test_envelope_equals_brute_force_random(random_record, start, length, n_bins, lead):
    rec, full, pyr = random_record
    check_envelope(rec, full, lead, start, start + length, n_bins, pyr)


def test_envelope_without_pyramid_and_levels_used(random_record):
    rec, full, pyr = random_record
    rng = np.random.default_rng(4)
    for _ in range(30):
        a = int(rng.integers(0, rec.n_samples))
        b = int(rng.integers(a + 1, rec.n_samples + 1))
        check_envelope(rec, full, "aVR", a, b, int(rng.integers(1, 2000)), None)
    # which resolution answers: raw samples, raw bins, then coarser and coarser pyramid levels
    assert envelope(rec, "I", 0, 1000, 1500, pyr).bin_samples == 1
    assert envelope(rec, "I", 0, 1000, 1500, pyr).lo.size == 1000
    assert envelope(rec, "I", 0, 30_000, 1500, pyr).bin_samples == 20
    assert envelope(rec, "I", 0, 300_000, 1500, pyr).bin_samples == 192  # 3 x 64
    assert envelope(rec, "I", 0, 300_000, 100, pyr).bin_samples == 3072  # 6 x 512
    assert envelope(rec, "I", 0, 300_000, 5, pyr).bin_samples == 65536  # 2 x 32768
    assert len(envelope(rec, "I", 500, 500, 10, pyr)) == 0
    assert len(envelope(rec, "I", 0, 100, 0, pyr)) == 0


def test_envelopes_of_many_leads_equal_one_at_a_time(random_record):
    rec, full, pyr = random_record
    rng = np.random.default_rng(9)
    for span in (700, 2_000, 30_000, 250_000):
        a = int(rng.integers(0, rec.n_samples - span))
        for p in (pyr, None):
            many = envelopes(rec, pyr.leads, a, a + span, 1500, p)
            assert list(many) == list(pyr.leads)
            for name, env in many.items():
                one = envelope(rec, name, a, a + span, 1500, p)
                assert (env.first_sample, env.bin_samples) == (one.first_sample, one.bin_samples)
                for field in ("t_s", "lo", "hi"):
                    np.testing.assert_array_equal(getattr(env, field), getattr(one, field))
                check_envelope(rec, full, name, a, a + span, 1500, p)


def test_envelope_on_real_record(shared_data, tmp_path):
    """MIT-BIH 208 read lazily (format 212): envelopes over seconds to the whole 30 min."""
    path = shared_data / "mitdb-208" / "208.hea"
    rec = open_long_record(path)
    full = read_record(path)
    pyr = MinMaxPyramid.build(rec, tmp_path)
    for name in ("II", "V1"):
        for a, b, bins in ((0, rec.n_samples, 1500), (0, rec.n_samples, 7), (123_456, 123_456 + 3600, 1500),
                           (400_001, 500_000, 1000), (649_000, 700_000, 300)):  # fmt: skip
            check_envelope(rec, full, name, a, b, bins, pyr)


def test_derived_leads_of_generated_record(tmp_path):
    """A generated 8-lead record: pyramid envelopes of the derived limb leads equal brute force."""
    hea = write_long_wfdb(tmp_path / "h", hours=0.25, seed=2)
    rec = open_long_record(hea)
    full = read_record(hea)
    pyr = MinMaxPyramid.build(rec, tmp_path / "cache")
    assert set(pyr.leads) == set(full.display_leads) and len(pyr.leads) == 12
    for name in ("III", "aVR", "aVL", "aVF", "V3"):
        check_envelope(rec, full, name, 0, rec.n_samples, 1500, pyr)
        check_envelope(rec, full, name, 100_000, 160_000, 1500, pyr)


def test_cache_hit_stale_and_damaged(tmp_path, shared_data):
    src = shared_data / "wfdb-samples"
    for ext in (".hea", ".dat"):
        (tmp_path / f"r{ext}").write_bytes((src / f"100{ext}").read_bytes().replace(b"100.dat", b"r.dat"))
    cache = tmp_path / "cache"
    rec = open_long_record(tmp_path / "r.hea")
    assert MinMaxPyramid.load_cached(rec, cache) is None
    calls = []
    built = MinMaxPyramid.build(rec, cache, progress=lambda done, total: calls.append((done, total)))
    assert calls[-1] == (rec.n_samples, rec.n_samples)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)
    folder = cache_folder(rec, cache)
    assert built.folder == folder
    assert sorted(p.name for p in folder.iterdir()) == [
        "level_32768.npy", "level_4096.npy", "level_512.npy", "level_64.npy", "meta.json"
    ]  # fmt: skip
    hit = MinMaxPyramid.load_cached(rec, cache)
    assert hit is not None
    assert isinstance(hit.buckets("II", 0)[0].base, np.memmap)  # memory-mapped, not read
    for level in range(4):
        np.testing.assert_array_equal(hit.buckets("V5", level)[1], built.buckets("V5", level)[1])
    # stale: the signal file changes -> another identity, the old pyramid is not used
    data = bytearray((tmp_path / "r.dat").read_bytes())
    data[3000:3300] = bytes(300)
    (tmp_path / "r.dat").write_bytes(bytes(data))
    st_ = (tmp_path / "r.dat").stat()
    os.utime(tmp_path / "r.dat", ns=(st_.st_atime_ns, st_.st_mtime_ns + 3_000_000_000))
    changed = open_long_record(tmp_path / "r.hea")
    assert not built.matches(changed)
    assert MinMaxPyramid.load_cached(changed, cache) is None
    full = read_record(tmp_path / "r.hea")
    env = check_envelope(changed, full, "II", 0, changed.n_samples, 1500, built)  # stale pyramid ignored
    assert env.bin_samples == round(changed.n_samples / 1500)  # raw bins, not pyramid buckets
    rebuilt = MinMaxPyramid.load_or_build(changed, cache)
    assert rebuilt is not None and rebuilt.folder != folder
    check_envelope(changed, full, "II", 0, changed.n_samples, 1500, rebuilt)
    # damaged: a truncated level file, a meta.json of another version -> ignored, then rebuilt
    level = rebuilt.folder / "level_512.npy"
    level.write_bytes(level.read_bytes()[:1000])
    assert MinMaxPyramid.load_cached(changed, cache) is None
    again = MinMaxPyramid.load_or_build(changed, cache)
    assert again is not None and MinMaxPyramid.load_cached(changed, cache) is not None
    meta = json.loads((again.folder / "meta.json").read_text())
    (again.folder / "meta.json").write_text(json.dumps({**meta, "version": 0}))
    assert MinMaxPyramid.load_cached(changed, cache) is None
    (again.folder / "meta.json").write_text("{not json")
    assert MinMaxPyramid.load_cached(changed, cache) is None


def test_cancel_returns_none_and_leaves_nothing(tmp_path):
    rng = np.random.default_rng(0)
    full = EcgRecord(rng.normal(size=(2, 2_000_000)).astype(np.float32), 500.0, ("I", "II"), ("mV", "mV"))
    rec = LongRecord.from_record(full)
    done = []
    result = MinMaxPyramid.build(
        rec, tmp_path, progress=lambda d, t: done.append(d), cancelled=lambda: len(done) >= 2
    )
    assert result is None
    assert len(done) == 2  # stopped at the first check after the second chunk
    assert MinMaxPyramid.load_cached(rec, tmp_path) is None
    assert [p.name for p in cache_folder(rec, tmp_path).iterdir()] == []  # no level or temporary files


def test_unwritable_cache_builds_in_memory(tmp_path, random_record):
    rec, full, _ = random_record
    blocker = tmp_path / "file"
    blocker.write_text("a file where the cache folder should be")
    pyr = MinMaxPyramid.build(rec, blocker)
    assert pyr is not None and pyr.folder is None
    check_envelope(rec, full, "aVL", 0, rec.n_samples, 800, pyr)


_CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np, wfdb  # imports are not what is measured
    from ecgviewer.core.pyramid import MinMaxPyramid, envelope
    from ecgviewer.core.readers.registry import open_long_record

    def rss():
        fields = dict(line.split(":", 1) for line in open("/proc/self/status"))
        return {k: int(fields[k].split()[0]) * 1024 for k in ("VmRSS", "VmHWM")}

    open("/proc/self/clear_refs", "w").write("5")  # reset the peak (VmHWM) to the current RSS
    base = rss()
    rec = open_long_record(sys.argv[1])
    opened = rss()
    pyr = MinMaxPyramid.build(rec, sys.argv[2])
    env = envelope(rec, "aVF", 0, rec.n_samples, 1500, pyr)
    built = rss()
    print(json.dumps({"base": base, "opened": opened, "built": built, "bins": len(env)}))
    """
)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc/self/status")
def test_memory_stays_bounded_for_long_record(tmp_path):
    """Open a 2 h, 8-lead, 500 Hz record (115 MB on disk, 230 MB as float32) and build its 12-lead
    pyramid in a fresh process: peak resident memory grows by a small, length-independent amount."""
    hea = write_long_wfdb(tmp_path / "h2", hours=2.0, seed=1)
    on_disk = (tmp_path / "h2.dat").stat().st_size
    assert on_disk == 2 * 3600 * 500 * 8 * 2
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(hea), str(tmp_path / "cache")],
        capture_output=True, text=True, check=True, timeout=120,
    ).stdout  # fmt: skip
    m = json.loads(out)
    assert m["bins"] > 1000
    assert m["opened"]["VmHWM"] - m["base"]["VmRSS"] < 5_000_000, m  # opening reads nothing
    growth = m["built"]["VmHWM"] - m["base"]["VmRSS"]
    assert growth < on_disk / 2, f"peak RSS grew by {growth / 1e6:.0f} MB for a {on_disk / 1e6:.0f} MB record"
