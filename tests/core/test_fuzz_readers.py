"""Property-based robustness of every reader: truncated, bit-flipped and spliced fixtures.

For every fixture in ../shared/data/formats (and files written from PTB-XL: an ISHNE file, since
no ISHNE fixture exists, a CSV device export with a metadata preamble and an SCP-ECG file
numbering its samples from 0, as found in the wild), hypothesis derives damaged copies and
each is read through :func:`read_record`. The property: the result is a valid :class:`EcgRecord` or the one
reader exception :class:`EcgReadError` with a one-line message -- no other exception, no read longer than
:data:`CASE_SECONDS` (a SIGALRM watchdog), and no allocation beyond
:data:`ALLOC_LIMIT` (the address space is capped at its size plus that during each read,
so an allocation driven by a false declared size fails and is reported; readers check
declared sizes against the file size before allocating). The number of cases tried is
printed at the end of the run and each test checks that it ran the cases it was given; the
whole run is at least :data:`MIN_CASES` cases (about a minute on two cores).
"""

from __future__ import annotations

import contextlib
import resource
import shutil
import signal
import sys
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ecgviewer.core import EcgReadError, EcgRecord, read_record

sys.path.insert(0, str(Path(__file__).parent))
from test_generated_formats import write_ishne, write_preamble_csv, write_scp

#: Fixtures fuzzed, relative to shared/data/formats, with the examples each gets.
FUZZED = {
    "ge-muse-xml/muse-sinus.xml": 150,
    "ge-muse-xml/braveheart_example1.xml": 60,
    "ge-muse-xml/braveheart_example2.xml": 60,
    "ge-muse-xml/muse-sinus.hea": 110,
    "philips-sierra-xml/129DYPRG.XML": 150,
    "philips-sierra-xml/3191723_ZZDEMOPTONLY_1-04_orig.xml": 110,
    "hl7-aecg/hl7_2003-12_example_aecg.xml": 90,
    "hl7-aecg/liryc_hl7aecg_example.xml": 110,
    "dicom/pydicom_waveform_ecg.dcm": 120,
    "dicom/ecgtoolkit_Example.dcm": 150,
    "edf/contec_0000050.edf": 60,
    "edf/kardiamobile-6l-ecg.edf": 150,
    "scp-ecg/ecgtoolkit_Example.scp": 200,
    "scp-ecg/contec_0000050.scp": 75,
    "csv/contec_0000050.csv": 60,
    "generated/ptbxl_00001.ecg": 180,
    "generated/ptbxl_00001_preamble.csv": 150,
    "generated/ptbxl_00001_zero_based.scp": 150,
}
#: The whole run: at least this many cases (about a minute on two cores).
MIN_CASES = 2000
CASE_SECONDS = 10.0
ALLOC_LIMIT = 256 * 1024 * 1024
TRIED: Counter = Counter()
OUTCOMES: Counter = Counter()


class ReadTimeout(Exception):
    """A read ran past CASE_SECONDS."""


@pytest.fixture(scope="module")
def sources(shared_data, ptbxl_dir, tmp_path_factory) -> dict[str, bytes]:
    formats = shared_data / "formats"
    out = {rel: (formats / rel).read_bytes() for rel in FUZZED if not rel.startswith("generated/")}
    gen = tmp_path_factory.mktemp("gen") / "ptbxl_00001.ecg"
    rec = read_record(ptbxl_dir / "00001_hr.hea")
    write_ishne(
        gen, np.round(rec.signals[:, :2000] / 0.001).astype(np.int64), 500, list(rec.lead_names), 1000
    )
    out["generated/ptbxl_00001.ecg"] = gen.read_bytes()
    # files from the wild: a device CSV export with a metadata preamble, SCP-ECG numbered from 0
    gen = gen.with_name("ptbxl_00001_preamble.csv")
    write_preamble_csv(gen, rec.signals[:, :2000], list(rec.lead_names))
    out["generated/ptbxl_00001_preamble.csv"] = gen.read_bytes()
    gen = gen.with_name("ptbxl_00001_zero_based.scp")
    counts = np.round(rec.signals[:, :2000] / 0.005).astype(np.int64)
    write_scp(gen, counts, 500, list(rec.lead_names), 5000, first=0, last=1999)
    out["generated/ptbxl_00001_zero_based.scp"] = gen.read_bytes()
    return out


def summary_line() -> str | None:
    """One line with the cases tried (printed by tests/core/conftest.py at the end of the run)."""
    total = sum(TRIED.values())
    if not total:
        return None
    return (
        f"reader fuzz: {total} cases over {len(TRIED)} fixtures -> "
        f"{OUTCOMES['record']} records, {OUTCOMES['EcgReadError']} EcgReadError, 0 other exceptions"
    )


def _mutations(n: int):
    anywhere = st.integers(0, n - 1)
    header = st.integers(0, min(n, 2048) - 1)  # sizes and offsets live in the first kilobytes
    position = st.one_of(header, anywhere)
    truncate = st.tuples(st.just("truncate"), anywhere)
    flips = st.tuples(
        st.just("flip"), st.lists(st.tuples(position, st.integers(0, 7)), min_size=1, max_size=8)
    )
    splice = st.tuples(
        st.just("splice"),
        position,
        st.integers(0, 1 << 30),
        st.integers(1, 4096),
        st.sampled_from(sorted(FUZZED)),
    )
    return st.one_of(truncate, flips, splice)


def _apply(data: bytes, mutation, sources: dict[str, bytes]) -> bytes:
    kind = mutation[0]
    if kind == "truncate":
        return data[: mutation[1]]
    if kind == "flip":
        out = bytearray(data)
        for pos, bit in mutation[1]:
            out[pos] ^= 1 << bit
        return bytes(out)
    _, at, donor_at, length, donor_name = mutation
    donor = sources[donor_name]
    start = donor_at % len(donor)
    return data[:at] + donor[start : start + length] + data[at + length :]


def _on_alarm(signum, frame):
    raise ReadTimeout(f"read took longer than {CASE_SECONDS} s")


def _vm_bytes() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[0]) * resource.getpagesize()


@contextlib.contextmanager
def _memory_limit(extra: int):
    """Cap the address space at its current size + ``extra`` bytes (Linux) while the block runs."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = _vm_bytes() + extra
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


def _check_case(path: Path, rel: str) -> None:
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, CASE_SECONDS)
    try:
        with _memory_limit(ALLOC_LIMIT):
            rec = read_record(path)
    except EcgReadError as exc:
        # the registry turns MemoryError into this message: here it means the allocation bound was hit
        assert "not enough memory" not in str(exc), f"{rel}: a damaged copy made the reader allocate > limit"
        assert "\n" not in str(exc) and "\r" not in str(exc), f"{rel}: a read error of several lines: {exc!r}"
        OUTCOMES["EcgReadError"] += 1
    else:
        assert isinstance(rec, EcgRecord)
        assert rec.signals.ndim == 2 and rec.n_leads >= 1 and rec.n_samples >= 1
        assert np.isfinite(rec.fs_hz) and rec.fs_hz > 0
        OUTCOMES["record"] += 1
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
        TRIED[rel] += 1


def _fuzz_test(rel: str, examples: int, formats: Path):
    @settings(
        max_examples=examples,
        deadline=None,
        derandomize=True,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
    )
    @given(data=st.data())
    def run(sources, tmp_path_factory, data):
        original = sources[rel]
        mutation = data.draw(_mutations(len(original)), label="mutation")
        folder = tmp_path_factory.mktemp("case")
        path = folder / Path(rel).name
        path.write_bytes(_apply(original, mutation, sources))
        if rel.endswith(".hea"):  # the header is fuzzed; its signal file stays beside it
            shutil.copy(formats / rel.replace(".hea", ".dat"), folder)
        try:
            _check_case(path, rel)
        finally:
            shutil.rmtree(folder, ignore_errors=True)

    return run


@pytest.mark.parametrize(("rel", "examples"), FUZZED.items())
def test_damaged_copies_read_or_raise_the_reader_error(rel, examples, sources, shared_data, tmp_path_factory):
    before = TRIED[rel]
    _fuzz_test(rel, examples, shared_data / "formats")(sources, tmp_path_factory)
    # hypothesis may stop early only when it has exhausted the space; these spaces are vast
    assert TRIED[rel] - before >= examples * 0.9, f"only {TRIED[rel] - before} cases ran for {rel}"


def test_the_run_tries_enough_cases():
    assert sum(FUZZED.values()) >= MIN_CASES


def test_intact_fixtures_read(sources, shared_data, tmp_path):
    for rel, data in sources.items():
        path = tmp_path / Path(rel).name
        path.write_bytes(data)
        if rel.endswith(".hea"):
            shutil.copy(shared_data / "formats" / rel.replace(".hea", ".dat"), tmp_path)
        assert read_record(path).n_samples >= 1000


def test_the_harness_catches_hangs_and_big_allocations():
    with pytest.raises(MemoryError), _memory_limit(ALLOC_LIMIT):
        np.ones(4 * ALLOC_LIMIT // 8)
    old = signal.signal(signal.SIGALRM, _on_alarm)
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    try:
        with pytest.raises(ReadTimeout):
            while True:
                pass
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
