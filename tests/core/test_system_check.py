"""``make run``'s system check (ecgviewer._system_check): ldd output, packages, install or advice."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from ecgviewer import _system_check as sc

REPO = Path(__file__).resolve().parents[2]

#: ``ldd libqxcb.so`` on a fresh Debian 12 with libxcb-cursor0 but neither libxcb-icccm4 nor
#: libxcb-keysyms1 (the issue's machine); shortened.
LDD_FRESH = """\
\tlinux-vdso.so.1 (0x00007ffd4d7f2000)
\tlibQt6XcbQpa.so.6 => /venv/lib/python3.11/site-packages/PySide6/Qt/plugins/platforms/../../lib/libQt6XcbQpa.so.6 (0x00007f6955747000)
\tlibQt6Gui.so.6 => /venv/lib/python3.11/site-packages/PySide6/Qt/plugins/platforms/../../lib/libQt6Gui.so.6 (0x00007f6954c00000)
\tlibxkbcommon-x11.so.0 => /lib/x86_64-linux-gnu/libxkbcommon-x11.so.0 (0x00007f6955731000)
\tlibxcb-cursor.so.0 => /lib/x86_64-linux-gnu/libxcb-cursor.so.0 (0x00007f695572a000)
\tlibxcb-icccm.so.4 => not found
\tlibxcb-util.so.1 => /lib/x86_64-linux-gnu/libxcb-util.so.1 (0x00007f695571b000)
\tlibxcb-keysyms.so.1 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-randr.so.0 => /lib/x86_64-linux-gnu/libxcb-randr.so.0 (0x00007f6954b68000)
\tlibfoo-bar2.so.7 => not found
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f6953a1e000)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f6955817000)
"""  # noqa: E501


def test_ldd_output_parsed_to_the_missing_sonames():
    assert sc.parse_ldd(LDD_FRESH) == ["libxcb-icccm.so.4", "libxcb-keysyms.so.1", "libfoo-bar2.so.7"]
    assert sc.parse_ldd(LDD_FRESH.replace("not found", "/usr/lib/x.so (0x1)")) == []
    assert sc.parse_ldd("\tnot a dynamic executable\n") == []


@pytest.mark.parametrize(
    ("soname", "package"),
    [
        ("libxcb-icccm.so.4", "libxcb-icccm4"),
        ("libxcb-keysyms.so.1", "libxcb-keysyms1"),
        ("libxcb-cursor.so.0", "libxcb-cursor0"),
        ("libxkbcommon-x11.so.0", "libxkbcommon-x11-0"),
        ("libxcb-render-util.so.0", "libxcb-render-util0"),
        ("libEGL.so.1", "libegl1"),
        ("libGL.so.1", "libgl1"),
        ("libfontconfig.so.1", "libfontconfig1"),
        ("libdbus-1.so.3", "libdbus-1-3"),
        ("libglib-2.0.so.0", "libglib2.0-0"),  # listed: the naming rule would be wrong here
        ("libGLdispatch.so.0", "libglvnd0"),
        ("libz.so.1", "zlib1g"),
        ("libxcb-xinput.so.0", "libxcb-xinput0"),
        ("libfoo-bar2.so.7", "libfoo-bar2-7"),  # not listed: Debian's rule, hyphen after a digit
        ("libXfoo.so.3.1", "libxfoo3"),
        ("ld-linux-x86-64.so.2", None),
    ],
)
def test_soname_to_debian_package(soname, package):
    assert sc.package_for(soname) == package


@pytest.fixture
def fresh_machine(monkeypatch, tmp_path):
    """A Linux machine whose xcb plugin lacks libxcb-icccm4 and libxcb-keysyms1; commands recorded."""
    plugin = tmp_path / "libqxcb.so"
    plugin.write_bytes(b"")
    state = {"installed": False, "commands": []}

    def fake_run(cmd, **kwargs):
        state["commands"].append(list(cmd))
        if cmd[:2] == ["apt-get", "install"]:
            state["installed"] = True
        return subprocess.CompletedProcess(cmd, 0, "", "")

    monkeypatch.setattr(sc, "qt_xcb_libraries", lambda: [plugin])
    monkeypatch.setattr(sc, "run_ldd", lambda path: LDD_FRESH.replace("not found", "/x (0x1)") if
                        state["installed"] else LDD_FRESH)  # fmt: skip
    monkeypatch.setattr(sc.subprocess, "run", fake_run)
    monkeypatch.setattr(sc.sys, "platform", "linux")
    monkeypatch.setattr(sc.shutil, "which", lambda name: f"/usr/bin/{name}")
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.delenv("ECGVIEWER_SKIP_SYSTEM_CHECK", raising=False)
    return state


def test_not_root_prints_the_exact_command_and_fails(fresh_machine, monkeypatch, capsys):
    monkeypatch.setattr(sc.os, "geteuid", lambda: 1000)
    assert sc.main([]) == 1
    err = capsys.readouterr().err
    assert "cannot find libxcb-icccm.so.4, libxcb-keysyms.so.1, libfoo-bar2.so.7" in err
    assert (
        "sudo apt-get install -y --no-install-recommends libfoo-bar2-7 libxcb-icccm4 libxcb-keysyms1" in err
    )
    assert fresh_machine["commands"] == []  # nothing run


def test_root_installs_the_missing_packages(fresh_machine, monkeypatch, capsys):
    monkeypatch.setattr(sc.os, "geteuid", lambda: 0)
    assert sc.main([]) == 0
    assert fresh_machine["commands"] == [
        ["apt-get", "update", "-qq"],
        [
            "apt-get",
            "install",
            "-y",
            "--no-install-recommends",
            "libfoo-bar2-7",
            "libxcb-icccm4",
            "libxcb-keysyms1",
        ],
    ]
    assert "installing libfoo-bar2-7 libxcb-icccm4 libxcb-keysyms1 with apt-get" in capsys.readouterr().out


def test_root_with_no_install_only_reports(fresh_machine, monkeypatch, capsys):
    monkeypatch.setattr(sc.os, "geteuid", lambda: 0)
    assert sc.main(["--no-install"]) == 1
    assert fresh_machine["commands"] == []
    assert "\n  apt-get install -y" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("env", "value"), [("QT_QPA_PLATFORM", "offscreen"), ("ECGVIEWER_SKIP_SYSTEM_CHECK", "1")]
)
def test_skipped_offscreen_or_when_asked(fresh_machine, monkeypatch, capsys, env, value):
    monkeypatch.setenv(env, value)
    assert sc.main([]) == 0
    assert "skipped" in capsys.readouterr().out


def test_skipped_off_linux(fresh_machine, monkeypatch):
    monkeypatch.setattr(sc.sys, "platform", "darwin")
    assert sc.main([]) == 0


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="the check runs on Linux only")
def test_the_check_passes_on_this_machine():
    if not sc.qt_xcb_libraries():
        pytest.skip("PySide6's xcb plugin is not installed")
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "ECGVIEWER_SKIP_SYSTEM_CHECK")}
    command = [sys.executable, "-m", "ecgviewer._system_check", "--no-install"]
    done = subprocess.run(command, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "libraries of Qt's X11 plugin are installed" in done.stdout
    # and ldd itself says nothing is missing for the real plugin
    assert sc.missing_libraries(sc.qt_xcb_libraries()) == []
