"""``python -m ecgviewer._system_check``: are the system libraries of Qt's X11 platform plugin installed?

``make run`` runs this before opening the viewer. It finds PySide6's xcb platform plugin
(``PySide6/Qt/plugins/platforms/libqxcb.so``) without importing Qt, runs ``ldd`` on it and on
``PySide6/Qt/lib/libQt6XcbQpa.so*``, and lists the libraries reported ``not found``. Those are
mapped to Debian/Ubuntu packages (``libxcb-icccm.so.4`` -> ``libxcb-icccm4``). As root, with
``apt-get`` available, the missing packages are installed; otherwise the exact command is printed
and the exit status is 1 (``--no-install`` only reports). Nothing is checked off Linux, when
``QT_QPA_PLATFORM`` names another platform (``offscreen``, ``wayland`` ...), or when
``ECGVIEWER_SKIP_SYSTEM_CHECK=1``.

Qt-free on purpose: it has to run where Qt cannot start.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

#: Debian/Ubuntu package of each library Qt's xcb plugin (and libQt6XcbQpa) links against.
#: Sonames not listed follow Debian's naming rule (see :func:`package_for`).
PACKAGES: dict[str, str] = {
    "libxcb-icccm.so.4": "libxcb-icccm4",
    "libxcb-keysyms.so.1": "libxcb-keysyms1",
    "libxcb-cursor.so.0": "libxcb-cursor0",
    "libxcb-image.so.0": "libxcb-image0",
    "libxcb-render-util.so.0": "libxcb-render-util0",
    "libxcb-shape.so.0": "libxcb-shape0",
    "libxcb-xinerama.so.0": "libxcb-xinerama0",
    "libxcb-randr.so.0": "libxcb-randr0",
    "libxcb-util.so.1": "libxcb-util1",
    "libxcb-util.so.0": "libxcb-util0",
    "libxcb-shm.so.0": "libxcb-shm0",
    "libxcb-sync.so.1": "libxcb-sync1",
    "libxcb-xfixes.so.0": "libxcb-xfixes0",
    "libxcb-render.so.0": "libxcb-render0",
    "libxcb-xkb.so.1": "libxcb-xkb1",
    "libxcb-glx.so.0": "libxcb-glx0",
    "libxcb-xinput.so.0": "libxcb-xinput0",
    "libxcb.so.1": "libxcb1",
    "libxkbcommon.so.0": "libxkbcommon0",
    "libxkbcommon-x11.so.0": "libxkbcommon-x11-0",
    "libX11.so.6": "libx11-6",
    "libX11-xcb.so.1": "libx11-xcb1",
    "libXau.so.6": "libxau6",
    "libXdmcp.so.6": "libxdmcp6",
    "libSM.so.6": "libsm6",
    "libICE.so.6": "libice6",
    "libXext.so.6": "libxext6",
    "libXrender.so.1": "libxrender1",
    "libGL.so.1": "libgl1",
    "libEGL.so.1": "libegl1",
    "libGLX.so.0": "libglx0",
    "libOpenGL.so.0": "libopengl0",
    "libGLdispatch.so.0": "libglvnd0",
    "libfontconfig.so.1": "libfontconfig1",
    "libfreetype.so.6": "libfreetype6",
    "libdbus-1.so.3": "libdbus-1-3",
    "libglib-2.0.so.0": "libglib2.0-0",
    "libgthread-2.0.so.0": "libglib2.0-0",
    "libgobject-2.0.so.0": "libglib2.0-0",
    "libz.so.1": "zlib1g",
    "libzstd.so.1": "libzstd1",
    "libpng16.so.16": "libpng16-16",
    "libexpat.so.1": "libexpat1",
    "libbrotlidec.so.1": "libbrotli1",
    "libbrotlicommon.so.1": "libbrotli1",
    "libpcre2-8.so.0": "libpcre2-8-0",
    "libstdc++.so.6": "libstdc++6",
    "libgcc_s.so.1": "libgcc-s1",
}
_NOT_FOUND = re.compile(r"^\s*(\S+)\s+=>\s+not found\s*$")
_SONAME = re.compile(r"^(lib[A-Za-z0-9_.+-]+?)\.so\.([0-9.]+)$")


def parse_ldd(output: str) -> list[str]:
    """The sonames ``ldd`` reports as ``not found``, in order, without repeats."""
    missing: list[str] = []
    for line in output.splitlines():
        m = _NOT_FOUND.match(line)
        if m and m.group(1) not in missing:
            missing.append(m.group(1))
    return missing


def package_for(soname: str) -> str | None:
    """The Debian/Ubuntu package that ships ``soname``, from :data:`PACKAGES` or Debian's naming rule.

    The rule (Debian policy 8.1): the library name and its major version, lower case, with a
    hyphen between them when the name ends in a digit (``libfoo-x11.so.0`` -> ``libfoo-x11-0``).
    None for a name that is not ``libNAME.so.VERSION``.
    """
    if soname in PACKAGES:
        return PACKAGES[soname]
    m = _SONAME.match(soname)
    if not m:
        return None
    name, version = m.group(1).lower(), m.group(2).split(".")[0]
    return f"{name}-{version}" if name[-1].isdigit() else f"{name}{version}"


def qt_xcb_libraries() -> list[Path]:
    """PySide6's xcb platform plugin and libQt6XcbQpa, found without importing Qt (empty if absent)."""
    spec = importlib.util.find_spec("PySide6")
    if spec is None or not spec.submodule_search_locations:
        return []
    qt = Path(next(iter(spec.submodule_search_locations))) / "Qt"
    plugin = qt / "plugins" / "platforms" / "libqxcb.so"
    found = [plugin] if plugin.exists() else []
    return found + sorted((qt / "lib").glob("libQt6XcbQpa.so*"))[:1]


def run_ldd(path: Path) -> str:
    """``ldd PATH``'s output (stdout and stderr)."""
    done = subprocess.run(["ldd", str(path)], capture_output=True, text=True, check=False)
    return done.stdout + done.stderr


def missing_libraries(files: list[Path]) -> list[str]:
    """The libraries ``ldd`` cannot find for any of ``files``."""
    missing: list[str] = []
    for path in files:
        missing += [s for s in parse_ldd(run_ldd(path)) if s not in missing]
    return missing


def install_command(packages: list[str]) -> list[str]:
    return ["apt-get", "install", "-y", "--no-install-recommends", *packages]


def _skip_reason() -> str | None:
    if os.environ.get("ECGVIEWER_SKIP_SYSTEM_CHECK") == "1":
        return "ECGVIEWER_SKIP_SYSTEM_CHECK=1"
    if not sys.platform.startswith("linux"):
        return f"not Linux ({sys.platform})"
    platform = os.environ.get("QT_QPA_PLATFORM", "").strip()
    if platform and not platform.startswith("xcb"):
        return f"QT_QPA_PLATFORM={platform}"
    if shutil.which("ldd") is None:
        return "no ldd on this system"
    return None


def main(argv: list[str] | None = None) -> int:
    """Check (and as root install) the xcb plugin's libraries; 0 when all are there."""
    p = argparse.ArgumentParser(prog="python -m ecgviewer._system_check", description=__doc__.split("\n")[0])
    p.add_argument("--no-install", action="store_true", help="only report; never run apt-get")
    args = p.parse_args(argv)
    reason = _skip_reason()
    if reason:
        print(f"system check: skipped ({reason})")
        return 0
    files = qt_xcb_libraries()
    if not files:
        print("system check: PySide6's xcb platform plugin is not installed; nothing to check")
        return 0
    missing = missing_libraries(files)
    if not missing:
        print(f"system check: the libraries of Qt's X11 plugin are installed ({files[0].name})")
        return 0
    packages = sorted({pkg for s in missing if (pkg := package_for(s))})
    unknown = [s for s in missing if package_for(s) is None]
    print(f"system check: Qt's X11 plugin cannot find {', '.join(missing)}", file=sys.stderr)
    command = install_command(packages)
    can_install = os.geteuid() == 0 and shutil.which("apt-get") is not None
    if packages and can_install and not args.no_install:
        print(f"system check: installing {' '.join(packages)} with apt-get ...")
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=False, env=env)
        if subprocess.run(command, check=False, env=env).returncode == 0:
            still = missing_libraries(files)
            if not still:
                print("system check: installed; the libraries of Qt's X11 plugin are there now")
                return 0
            print(f"system check: still missing after the install: {', '.join(still)}", file=sys.stderr)
        else:
            print(f"system check: apt-get failed; the command was:\n  {' '.join(command)}", file=sys.stderr)
        return 1
    if packages:
        how = "install them with" if shutil.which("apt-get") else "on Debian/Ubuntu, install them with"
        sudo = "" if os.geteuid() == 0 else "sudo "
        print(f"system check: {how}:\n  {sudo}{' '.join(command)}", file=sys.stderr)
    if unknown:
        print(f"system check: no package known for {', '.join(unknown)}", file=sys.stderr)
    print("system check: or skip this check with ECGVIEWER_SKIP_SYSTEM_CHECK=1", file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
