"""The sdist and the wheel: what they hold, and a wheel installed into a fresh virtual environment.

The builds run on a copy of the tracked files (nothing is written into the checkout), with the
setuptools of the running environment (no build isolation, so no network): sdist first, then the
wheel from the unpacked sdist, as ``python -m build`` (``make dist``) does.

The install test (``slow``) makes a virtual environment from the base interpreter, installs the wheel
with ``pip --no-deps --no-index`` and runs ``ecgviewer analyze`` and ``ecgviewer --screenshot``
there, from a folder outside the checkout: the package, its models and its sample must come
from the wheel alone. The dependencies (torch, Qt ...) are by default not installed again: a
``.pth`` file puts the site-packages of the running environment *after* the new one's (those
folders hold no ecgviewer sources: an editable install's finder is only run from a site folder's
own ``.pth``, which a path added this way does not process). With
``ECGVIEWER_WHEEL_TEST_INSTALL_DEPS=1`` pip installs the wheel with its dependencies instead
(``torch`` pinned to the running version so the same build is chosen from the configured index
or ``--find-links``; the CUDA build from PyPI is several GB).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
import sysconfig
import tarfile
import zipfile
from pathlib import Path

import pytest

from ecgviewer.resources import default_checkpoint

REPO = Path(__file__).resolve().parents[1]
INSTALL_DEPS_ENV = "ECGVIEWER_WHEEL_TEST_INSTALL_DEPS"
#: Folders of a checkout that are never part of a build.
_NOT_SOURCES = {".git", ".venv", "build", "dist", "runs", "out", "__pycache__", ".pytest_cache"}


def _tracked_files() -> list[str]:
    """The checkout's files as git sees them (tracked or new, not ignored); a walk without git."""
    try:
        out = subprocess.run(
            ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            cwd=REPO,
            capture_output=True,
            check=True,
        ).stdout
        return [p for p in out.decode().split("\0") if p and (REPO / p).is_file()]
    except (OSError, subprocess.CalledProcessError):
        return [
            str(p.relative_to(REPO))
            for p in REPO.rglob("*")
            if p.is_file() and not _NOT_SOURCES & set(p.relative_to(REPO).parts)
        ]


def _hook(source: Path, hook: str, out: Path) -> Path:
    """Run a PEP 517 hook of setuptools in ``source`` (a fresh process); the path it built."""
    code = f"import setuptools.build_meta as b; print(b.{hook}({str(out)!r}))"
    proc = subprocess.run(
        [sys.executable, "-c", code], cwd=source, capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return out / proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """``{"source", "sdist", "wheel"}``: a copy of the checkout, its sdist and the wheel built from it."""
    root = tmp_path_factory.mktemp("packaging")
    source = root / "source"
    files = _tracked_files()
    for rel in files:
        (source / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, source / rel)
    dist = root / "dist"
    sdist = _hook(source, "build_sdist", dist)
    with tarfile.open(sdist) as tar:
        if hasattr(tarfile, "data_filter"):  # Python >= 3.10.12 / 3.11.4
            tar.extractall(root / "unpacked", filter="data")
        else:
            tar.extractall(root / "unpacked")  # our own sdist
    (unpacked,) = (root / "unpacked").iterdir()
    wheel = _hook(unpacked, "build_wheel", dist)
    return {"source": source, "sdist": sdist, "wheel": wheel}


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def test_wheel_holds_every_bundled_file(built):
    resources = built["source"] / "resources"
    expected = {p.relative_to(resources).as_posix(): p for p in resources.rglob("*") if p.is_file()}
    some = {"checkpoints/resnet1d.json", "checkpoints/beatnet.safetensors", "samples/ptbxl_00001_hr.dat"}
    assert some <= set(expected)
    with zipfile.ZipFile(built["wheel"]) as whl:
        names = set(whl.namelist())
        for rel, path in expected.items():
            member = f"ecgviewer/_resources/{rel}"
            assert member in names, f"{member} is not in the wheel"
            assert _sha(whl.read(member)) == _sha(path.read_bytes()), member
        entry_points = whl.read("ecgviewer-0.1.0.dist-info/entry_points.txt").decode()
        metadata = whl.read("ecgviewer-0.1.0.dist-info/METADATA").decode()
    assert "ecgviewer = ecgviewer.cli:main" in entry_points
    assert "Requires-Dist: torch" in metadata
    tops = {n.split("/", 1)[0] for n in names}
    # the trainer, tests, benchmarks and docs stay in the sdist (see pyproject.toml)
    assert tops == {"ecgviewer", "ecgviewer-0.1.0.dist-info"}, tops
    assert not any("__pycache__" in n or n.endswith(".pyc") for n in names)


def test_sdist_holds_resources_trainer_and_tests(built):
    with tarfile.open(built["sdist"]) as tar:
        names = {n.split("/", 1)[1] for n in tar.getnames() if "/" in n}
    for rel in (
        "setup.py",
        "pyproject.toml",
        "Makefile",
        "README.md",
        "resources/checkpoints/resnet1d.safetensors",
        "resources/samples/ptbxl_00001_hr.hea",
        "trainer/__main__.py",
        "tests/test_packaging.py",
        "ecgviewer/resources.py",
    ):
        assert rel in names, f"{rel} is not in the sdist"
    assert not any("__pycache__" in n for n in names)


def _fresh_venv(folder: Path, wheel: Path) -> Path:
    """A virtual environment from the base interpreter with ``wheel`` installed; its ``bin`` folder."""
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", str(folder)], check=True, timeout=240)
    bindir = folder / ("Scripts" if os.name == "nt" else "bin")
    py = bindir / "python"
    pip = [str(py), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    if os.environ.get(INSTALL_DEPS_ENV):
        import torch

        subprocess.run([*pip, str(wheel), f"torch=={torch.__version__}"], check=True, timeout=1800)
        return bindir
    subprocess.run([*pip, "--no-deps", "--no-index", str(wheel)], check=True, timeout=240)
    # the dependencies: the running environment's site-packages, after the venv's own
    site = subprocess.run(
        [str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    ours = dict.fromkeys([sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
    Path(site, "zz_ecgviewer_test_dependencies.pth").write_text("\n".join(ours) + "\n")
    return bindir


@pytest.mark.slow
def test_the_wheel_alone_analyses_a_record_and_opens_the_sample(built, tmp_path, ptbxl_dir):
    bindir = _fresh_venv(tmp_path / "venv", built["wheel"])
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "ECGVIEWER_RESOURCES", "ECGVIEWER_CHECKPOINT_DIR", "PYTHONHOME")
    }
    env["QT_QPA_PLATFORM"] = "offscreen"
    work = tmp_path / "work"  # outside the checkout: nothing of the repository is on sys.path
    work.mkdir()

    def run(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(args, cwd=work, env=env, capture_output=True, text=True, timeout=300)

    where = run(
        str(bindir / "python"),
        "-c",
        "import json, ecgviewer, ecgviewer.resources as r; "
        "print(json.dumps([ecgviewer.__file__, str(r.resources_dir()), str(r.sample_record())]))",
    )
    assert where.returncode == 0, where.stderr
    package, resources, sample = (Path(p) for p in json.loads(where.stdout))
    venv = (tmp_path / "venv").resolve()
    assert venv in package.resolve().parents and REPO not in package.resolve().parents
    assert resources.resolve() == package.resolve().parent / "_resources"
    assert sample.is_file()

    record = ptbxl_dir / "00001_hr.hea"
    out = run(str(bindir / "ecgviewer"), "analyze", str(record), "--json", "--device", "cpu")
    assert out.returncode == 0, out.stderr[-3000:]
    (doc,) = json.loads(out.stdout)
    assert doc["model"]["name"] == default_checkpoint("intervals"), doc["model"]
    assert doc["model"]["status"] == "trained", doc["model"]
    assert 40 < doc["measurements"]["qrs_ms"]["model"] < 200, doc["measurements"]["qrs_ms"]
    assert doc["classification"]["name"] == default_checkpoint("classification"), doc["classification"]
    assert "statements" in doc["classification"]

    png = tmp_path / "sample.png"
    shot = run(str(bindir / "ecgviewer"), "--screenshot", str(png), "--size", "1000x700")
    assert shot.returncode == 0, shot.stderr[-3000:]
    assert png.stat().st_size > 20_000
