"""Synthetic 8-lead ECGs from the ``deepfake-ecg`` generator, labelled by a teacher.

`deepfake-ecg <https://github.com/vlbthambawita/deepfake-ecg>`_ (MIT) ships a
Pulse2Pulse GAN generator trained on 10 s, 500 Hz ECGs: uniform noise
``(8, 5000)`` in ``[-1, 1]`` -> ``tanh`` output, which the package scales by
6000 and truncates to integer microvolts; leads I, II, V1-V6. We call that
generator directly (the package's own ``generate`` writes text files and uses
the global RNG) and reproduce its scaling, then convert to mV:

* the checkpoint ``g_stat.pt`` is a torch pickle and is read with
  ``torch.load(..., weights_only=True)`` only (no arbitrary unpickling); the
  network is built on the ``meta`` device and takes the checkpoint's tensors, so
  building it touches no random number generator;
* record ``i`` of seed ``s`` is made from its own noise, drawn by a
  ``torch.Generator`` seeded from ``numpy.random.SeedSequence([s, i])``, and
  the network always runs on batches of :data:`BATCH` (padded), where each
  row's output does not depend on the other rows. So **with the same seed, torch
  version and CPU, record i is the same array** whatever ``n``, the shard size
  or the number of workers (checked by ``tests/trainer/test_synthetic.py``);
  another torch version or a GPU may change the last bits, which the truncation
  to whole microvolts can turn into 1 µV differences.

Each shard ``shard-00000.npz`` ... is an :class:`~trainer.data.arrays.IntervalDataset`
holding records ``k * shard_size`` onwards, labelled by a teacher
(:mod:`trainer.teachers`); its content depends only on the seed, ``k`` and the
parameters in ``manifest.json``. Shards are written atomically and the manifest
after each shard, so an interrupted run leaves whole shards only, and running
:func:`generate_synthetic` again with the same parameters makes only the missing ones.

``python -m trainer synth`` (:data:`COMMAND`) runs it.
"""

from __future__ import annotations

import argparse
import concurrent.futures as cf
import datetime as dt
import functools
import json
import math
import multiprocessing
import time
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ecgviewer.core.io_utils import atomic_write
from ecgviewer.core.record import EcgRecord
from ecgviewer.models.checkpoint import TARGET_NAMES
from trainer.commands import Command
from trainer.data.arrays import (
    INPUT_FS_HZ,
    INPUT_LEADS,
    INPUT_SAMPLES,
    DataError,
    IntervalDataset,
    hashed_split,
    targets_row,
)

GENERATOR_PACKAGE = "deepfake-ecg"
#: deepfake-ecg's output (its README): leads I, II, V1-V6, 500 Hz, 10 s -- the default model input.
LEADS: tuple[str, ...] = INPUT_LEADS
FS_HZ = INPUT_FS_HZ
N_SAMPLES = INPUT_SAMPLES
#: The package's scaling of the generator's ``tanh`` output to microvolts (``deepfakeecg.generate``).
UV_SCALE = 6000
#: Records per network call (the last one of a shard is padded with zero noise).
BATCH = 8
MANIFEST = "manifest.json"
#: Share of synthetic records used for validation (by a hash of the record id).
VAL_SHARE = 0.05
_INSTALL_HINT = "pip install 'ecgviewer[train]' (or pip install deepfake-ecg)"


def shard_name(k: int) -> str:
    """File name of shard ``k``."""
    return f"shard-{k:05d}.npz"


def generator_version() -> str:
    """Installed deepfake-ecg version (:class:`ImportError` saying what to install if missing)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(GENERATOR_PACKAGE)
    except PackageNotFoundError as exc:
        raise ImportError(f"synthetic ECGs need {GENERATOR_PACKAGE}: {_INSTALL_HINT}") from exc


@functools.lru_cache(maxsize=1)
def _network():
    """deepfake-ecg's generator with its bundled weights (read without unpickling code)."""
    import torch

    try:
        import deepfakeecg
    except ImportError as exc:
        raise ImportError(f"synthetic ECGs need {GENERATOR_PACKAGE}: {_INSTALL_HINT}") from exc
    path = Path(deepfakeecg.__file__).parent / "checkpoints" / "g_stat.pt"
    state = torch.load(path, map_location="cpu", weights_only=True)["stat_dict"]
    with warnings.catch_warnings():
        # the package's constructor calls the deprecated nn.init.kaiming_normal (on meta tensors here)
        warnings.filterwarnings("ignore", message=r".*kaiming_normal.*", category=FutureWarning)
        with torch.device("meta"):
            net = deepfakeecg.Generator()
    net.load_state_dict(state, strict=True, assign=True)
    return net.eval()


def _noise(seed: int, index: int):
    """Generator input of record ``index``: uniform [-1, 1) noise from its own seeded torch.Generator."""
    import torch

    state = np.random.SeedSequence([seed, index]).generate_state(2, dtype=np.uint32)
    gen = torch.Generator().manual_seed(int(state[0]) << 32 | int(state[1]))
    return torch.empty(len(LEADS), N_SAMPLES).uniform_(-1.0, 1.0, generator=gen)


def generate_ecgs(seed: int, first: int, count: int) -> np.ndarray:
    """Records ``first .. first + count - 1`` of ``seed``: ``(count, 8, 5000)`` float32 mV."""
    import torch

    _check_seed(seed)
    net = _network()
    out = np.empty((count, len(LEADS), N_SAMPLES), dtype=np.float32)
    threads = torch.get_num_threads()
    # One thread: parallelism comes from worker processes; it was 4x faster than two threads on a
    # busy 2-core machine, and keeps the arrays independent of the thread count.
    torch.set_num_threads(1)
    try:
        for start in range(0, count, BATCH):
            m = min(BATCH, count - start)
            noise = torch.zeros(BATCH, len(LEADS), N_SAMPLES)
            for j in range(m):
                noise[j] = _noise(seed, first + start + j)
            with torch.inference_mode():
                uv = (net(noise)[:m] * UV_SCALE).int()  # the package's scaling: truncated to whole µV
            out[start : start + m] = uv.numpy().astype(np.float32) / np.float32(1000.0)
    finally:
        torch.set_num_threads(threads)
    return out


def _check_seed(seed: int) -> None:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, not {seed!r}")


# -- manifest ----------------------------------------------------------------------
@dataclass
class SyntheticManifest:
    """What a synthetic folder holds and how it was made (``manifest.json``).

    ``shards`` has one entry per finished shard: ``file``, ``index``, ``first``
    (id of its first record), ``generated``, ``rows`` (kept), ``dropped``
    (rows whose teacher labels were all nan, when ``drop_unlabelled``),
    ``coverage`` (share of kept rows with each label) and the seconds spent
    generating and labelling.
    """

    generator: str
    generator_version: str
    seed: int
    n: int
    shard_size: int
    teacher: str
    teacher_version: str
    drop_unlabelled: bool
    leads: list[str] = field(default_factory=lambda: list(LEADS))
    fs_hz: float = FS_HZ
    units: str = "mV"
    shards: list[dict[str, Any]] = field(default_factory=list)
    complete: bool = False
    command: str = ""
    created: str = ""

    @property
    def n_shards(self) -> int:
        return math.ceil(self.n / self.shard_size)

    @property
    def rows(self) -> int:
        """Rows kept over the finished shards."""
        return sum(s["rows"] for s in self.shards)

    @property
    def dropped(self) -> int:
        return sum(s["dropped"] for s in self.shards)

    def parameters(self) -> dict[str, Any]:
        """What determines the content: two folders with equal parameters hold the same rows."""
        keys = (
            "generator",
            "generator_version",
            "seed",
            "n",
            "shard_size",
            "teacher",
            "teacher_version",
            "drop_unlabelled",
        )
        return {k: getattr(self, k) for k in keys}

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["rows"], d["dropped"] = self.rows, self.dropped
        return d

    def save(self, directory: Path) -> None:
        with atomic_write(Path(directory) / MANIFEST) as fh:
            json.dump(self.to_dict(), fh, indent=1)

    @classmethod
    def load(cls, directory: str | Path) -> SyntheticManifest:
        """Read ``directory/manifest.json`` (:class:`DataError` if missing or malformed)."""
        path = Path(directory) / MANIFEST
        if not path.is_file():
            raise DataError(
                f"{directory}: no {MANIFEST}; not a synthetic data folder (make one with generate_synthetic)"
            )
        try:
            d = json.loads(path.read_text(encoding="utf-8"))
            for derived in ("rows", "dropped"):
                d.pop(derived, None)
            return cls(**d)
        except (ValueError, TypeError) as exc:
            raise DataError(f"{path}: not a synthetic-data manifest ({exc})") from exc


# -- shards ------------------------------------------------------------------------
def _shard_provenance(path: Path) -> dict[str, Any] | None:
    """The provenance stored in a shard file, None when it is not a readable shard."""
    try:
        with np.load(path, allow_pickle=False) as z:
            return json.loads(str(z["provenance"]))
    except (OSError, KeyError, ValueError):
        return None


@functools.lru_cache(maxsize=4)
def _teacher(name: str):
    from trainer.teachers import get_teacher

    return get_teacher(name)


def make_shard(
    directory: Path,
    params: dict[str, Any],
    k: int,
    on_rows: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Generate, label and write shard ``k`` of the set ``params``; return its manifest entry.

    Works batch by batch (generate :data:`BATCH` records, label them, call
    ``on_rows(number of records)``), so a progress bar moves steadily.
    """
    seed, n, size = params["seed"], params["n"], params["shard_size"]
    first, count = k * size, min(size, n - k * size)
    teacher = _teacher(params["teacher"])
    x = np.empty((count, len(LEADS), N_SAMPLES), dtype=np.float32)
    y = np.empty((count, len(TARGET_NAMES)), dtype=np.float32)
    gen_s = label_s = 0.0
    for start in range(0, count, BATCH):
        m = min(BATCH, count - start)
        t0 = time.perf_counter()
        x[start : start + m] = generate_ecgs(seed, first + start, m)
        t1 = time.perf_counter()
        for j in range(start, start + m):
            y[j] = targets_row(teacher(EcgRecord(x[j], FS_HZ, LEADS, ("mV",) * len(LEADS))))
        gen_s, label_s = gen_s + t1 - t0, label_s + time.perf_counter() - t1
        if on_rows is not None:
            on_rows(m)
    keep = ~np.all(np.isnan(y), axis=1) if params["drop_unlabelled"] else np.ones(count, dtype=bool)
    name = shard_name(k)
    ids = [f"syn-{seed}-{first + j}" for j in range(count) if keep[j]]
    entry: dict[str, Any] = {
        "file": name,
        "index": k,
        "first": first,
        "generated": count,
        "rows": int(keep.sum()),
        "dropped": int(count - keep.sum()),
        "coverage": {},
        "generate_s": round(gen_s, 3),
        "label_s": round(label_s, 3),
    }
    ds = IntervalDataset(x[keep], y[keep], ids, [name] * len(ids), {"source": "synthetic", **params})
    entry["coverage"] = {t: round(v, 4) for t, v in ds.labelled_share().items()}
    ds.provenance["shard"] = entry
    ds.save(directory / name)
    return entry


def _finished_entry(directory: Path, params: dict[str, Any], k: int) -> dict[str, Any] | None:
    """Manifest entry of shard ``k`` if its file is a finished shard of this very set."""
    path = directory / shard_name(k)
    if not path.is_file():
        return None
    prov = _shard_provenance(path)
    if prov is None or {key: prov.get(key) for key in params} != params:
        return None
    entry = prov.get("shard")
    if not isinstance(entry, dict) or entry.get("index") != k:
        return None
    return entry


def _worker_init() -> None:
    import torch

    torch.set_num_threads(1)  # one process per core


def _pool_shard(directory: str, params: dict[str, Any], k: int) -> dict[str, Any]:
    return make_shard(Path(directory), params, k)


def generate_synthetic(
    out_dir: str | Path,
    n: int,
    seed: int,
    teacher: str = "classical",
    shard_size: int = 1000,
    workers: int = 1,
    progress: bool = True,
    drop_unlabelled: bool = True,
    command: str | None = None,
) -> SyntheticManifest:
    """Generate ``n`` labelled synthetic ECGs into ``out_dir`` (shards + ``manifest.json``).

    Parameters
    ----------
    out_dir
        Folder for the shards; created if needed. A folder holding a set with
        other parameters is refused; one holding the same set is completed
        (finished shards are kept, missing or unreadable ones made again).
    n, seed
        Number of records and the seed (record ids are ``syn-<seed>-<index>``).
    teacher
        Teacher that labels the records (:data:`trainer.teachers.TEACHERS`).
    shard_size
        Records per shard file.
    workers
        Processes generating shards in parallel (1 = in this process).
    progress
        Show a tqdm progress bar (records/s) on stderr.
    drop_unlabelled
        Leave out records whose labels are all nan (counted in the manifest).
    command
        How the set was made, for the manifest (default: this call).

    Returns
    -------
    SyntheticManifest
        The finished manifest.
    """
    _check_seed(seed)
    for label, v in (("n", n), ("shard_size", shard_size), ("workers", workers)):
        if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 1:
            raise ValueError(f"{label} must be a positive integer, not {v!r}")
    out_dir = Path(out_dir)
    t = _teacher(teacher)  # unknown / not installed: fails before any work
    default_command = (
        f"generate_synthetic(out_dir={str(out_dir)!r}, n={n}, seed={seed}, teacher={teacher!r}, "
        f"shard_size={shard_size}, drop_unlabelled={drop_unlabelled})"
    )
    manifest = SyntheticManifest(
        GENERATOR_PACKAGE,
        generator_version(),
        int(seed),
        int(n),
        int(shard_size),
        t.name,
        t.version,
        bool(drop_unlabelled),
        command=command or default_command,
        created=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    )
    params = manifest.parameters()
    if (out_dir / MANIFEST).exists():
        old = SyntheticManifest.load(out_dir)
        old_params = old.parameters()
        if old_params != params:
            diff = {k: (old_params.get(k), v) for k, v in params.items() if old_params.get(k) != v}
            raise DataError(
                f"{out_dir} holds another synthetic set (existing vs requested: {diff}); "
                "use a new folder or the same parameters"
            )
        manifest.created = old.created or manifest.created
    out_dir.mkdir(parents=True, exist_ok=True)

    entries: dict[int, dict[str, Any]] = {}
    todo = []
    for k in range(manifest.n_shards):
        entry = _finished_entry(out_dir, params, k)
        if entry is None:
            todo.append(k)
        else:
            entries[k] = entry

    def record(entry: dict[str, Any]) -> None:
        entries[entry["index"]] = entry
        manifest.shards = [entries[i] for i in sorted(entries)]
        manifest.complete = len(entries) == manifest.n_shards
        manifest.save(out_dir)

    manifest.shards = [entries[i] for i in sorted(entries)]
    manifest.complete = not todo
    manifest.save(out_dir)
    if not todo:
        return manifest

    from tqdm import tqdm

    done = sum(e["generated"] for e in entries.values())
    with tqdm(total=n, initial=done, unit="rec", desc="synthetic ECGs", disable=not progress) as bar:
        if workers == 1 or len(todo) == 1:
            for k in todo:
                record(make_shard(out_dir, params, k, bar.update))
        else:
            ctx = multiprocessing.get_context("spawn")  # no fork of a process that holds torch threads
            n_proc = min(workers, len(todo))
            with cf.ProcessPoolExecutor(n_proc, mp_context=ctx, initializer=_worker_init) as pool:
                futures = [pool.submit(_pool_shard, str(out_dir), params, k) for k in todo]
                try:
                    for fut in cf.as_completed(futures):
                        entry = fut.result()
                        record(entry)
                        bar.update(entry["generated"])
                except BaseException:
                    for f in futures:
                        f.cancel()
                    raise
    return manifest


def load_synthetic(directory: str | Path) -> IntervalDataset:
    """All rows of a finished synthetic folder, in shard order (:class:`DataError` if incomplete)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise DataError(f"{directory}: synthetic data folder not found")
    manifest = SyntheticManifest.load(directory)
    have = {s["index"] for s in manifest.shards}
    missing = [shard_name(k) for k in range(manifest.n_shards) if k not in have]
    missing += [s["file"] for s in manifest.shards if not (directory / s["file"]).is_file()]
    if missing or not manifest.complete:
        shown = ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "")
        raise DataError(
            f"{directory}: incomplete synthetic set, {len(missing)} of {manifest.n_shards} shards missing "
            f"({shown}); run generate_synthetic again with the same parameters to finish it"
        )
    parts = []
    for s in manifest.shards:
        part = IntervalDataset.load(directory / s["file"])
        if len(part) != s["rows"] or part.provenance.get("seed") != manifest.seed:
            raise DataError(
                f"{directory / s['file']}: {len(part)} rows of seed {part.provenance.get('seed')}, "
                f"the manifest says {s['rows']} of seed {manifest.seed}"
            )
        parts.append(part)
    if manifest.rows == 0:
        raise DataError(f"{directory}: all {manifest.n} records were dropped (no teacher labels)")
    prov = {
        "source": "synthetic",
        **manifest.parameters(),
        "directory": str(directory),
        "rows": manifest.rows,
        "dropped": manifest.dropped,
        "targets": list(TARGET_NAMES),
    }
    data = IntervalDataset.concat(parts, provenance=prov)
    # Synthetic records are independent draws: each is its own group, and a stable hash of its id
    # sends 5 % of them to validation (the early-stopping set of pretraining).
    data.groups = list(data.ids)
    data.splits = [hashed_split(i, VAL_SHARE, salt="synthetic") for i in data.ids]
    return data


# -- command line: synth --------------------------------------------------------------------------


def add_arguments(p: argparse.ArgumentParser) -> None:
    """The options of ``python -m trainer synth``."""
    p.add_argument("out", type=Path, help="output folder (shards + manifest.json)")
    p.add_argument("--n", type=int, required=True, help="number of ECGs")
    p.add_argument("--seed", type=int, default=0, help="generator seed (record k depends on seed and k only)")
    p.add_argument("--teacher", default="classical", help="delineator that labels them (default classical)")
    p.add_argument("--shard-size", type=int, default=1000, help="ECGs per shard file (default 1000)")
    p.add_argument("--workers", type=int, default=1, help="parallel processes (default 1)")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def run(args: argparse.Namespace, argv: list[str]) -> int:
    """``python -m trainer synth``: :func:`generate_synthetic` with the command's options."""
    from trainer.options import command_line

    m = generate_synthetic(
        args.out,
        args.n,
        args.seed,
        teacher=args.teacher,
        shard_size=args.shard_size,
        workers=args.workers,
        progress=not args.quiet,
        command=command_line(argv),
    )
    print(f"{args.out}: {m.n if hasattr(m, 'n') else args.n} synthetic ECGs (manifest.json)")
    return 0


COMMAND = Command(
    help="generate labelled synthetic ECGs",
    description=(
        "Generate N 10 s 8-lead ECGs with deepfake-ecg and label them with a teacher. Shards are "
        "written atomically; rerunning the same command completes an interrupted set."
    ),
    add_arguments=add_arguments,
    run=run,
)
