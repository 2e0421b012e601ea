"""Helper processes that end when the process that started them dies, whatever killed it.

The batch engine's worker processes must not outlive ``ecgviewer analyze --out``,
not even after a ``SIGKILL`` (no ``finally`` runs then). Three mechanisms:

* :func:`die_with_parent`: Linux ``prctl(PR_SET_PDEATHSIG, SIGKILL)``: the kernel
  kills this process when its parent thread ends. Set in the ``forkserver``
  process (through :mod:`ecgviewer.analysis._forkserver_lifeline`, a preload
  module, when :data:`PARENT_ENV` names its parent) and in every worker (whose
  parent is the forkserver), so a killed run takes the forkserver, then the
  workers with it; the ``multiprocessing`` resource tracker then reads EOF on its
  pipe (all holders of its write end are gone) and exits too.
* :func:`watch_process`: a daemon thread that waits for the run's main process to
  end (``pidfd`` on Linux, else polling) and then ends this process: the portable
  fallback, and on Linux a second line of defence.
* :func:`main_pid_env`: the environment variable the forkserver reads.
* :func:`reap_on_exit`: for helpers that do not die with their parent (Ray's
  agents outlive a killed ``ray.init()`` driver), a small separate process that
  waits for this process to end and then kills the listed ones (by pid and start
  time, so never a recycled pid).

Stdlib only: imported in the forkserver before anything else.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

#: Environment variable holding the pid of the batch run's main process while its pool starts.
PARENT_ENV = "ECGVIEWER_BATCH_MAIN_PID"
_PR_SET_PDEATHSIG = 1


def die_with_parent(expected_parent: int | None = None) -> bool:
    """Ask the kernel to SIGKILL this process when its parent ends (Linux; False elsewhere).

    ``expected_parent``: the parent's pid; if the parent is already gone (this
    process was re-parented before the request took effect), exit now.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        ok = libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) == 0
    except (OSError, AttributeError):
        return False
    if expected_parent is not None and os.getppid() != expected_parent:
        os._exit(1)  # the parent died before the request: do not linger
    return ok


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_for_exit(pid: int, poll_s: float) -> None:
    pidfd_open = getattr(os, "pidfd_open", None)
    if pidfd_open is not None:
        try:
            fd = pidfd_open(pid)
        except OSError:
            fd = None
        if fd is not None:
            try:
                select.select([fd], [], [])  # readable when the process has ended
            finally:
                os.close(fd)
            return
    while _alive(pid):
        time.sleep(poll_s)


def watch_process(pid: int, poll_s: float = 0.5) -> threading.Thread:
    """End this process (``os._exit(1)``) as soon as process ``pid`` ends (a daemon thread)."""
    if not _alive(pid):
        os._exit(1)

    def watch() -> None:
        _wait_for_exit(pid, poll_s)
        os._exit(1)

    thread = threading.Thread(target=watch, name="ecgviewer-lifeline", daemon=True)
    thread.start()
    return thread


@contextlib.contextmanager
def main_pid_env() -> Iterator[None]:
    """Set :data:`PARENT_ENV` to this process's pid for the block (while a forkserver starts)."""
    old = os.environ.get(PARENT_ENV)
    os.environ[PARENT_ENV] = str(os.getpid())
    try:
        yield
    finally:
        if old is None:
            os.environ.pop(PARENT_ENV, None)
        else:
            os.environ[PARENT_ENV] = old


def _start_time(pid: int) -> int | None:
    """The start time of process ``pid`` (clock ticks since boot; Linux), None when it is gone."""
    try:
        return int((Path("/proc") / str(pid) / "stat").read_text().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def descendants(pid: int) -> list[int]:
    """The processes below ``pid`` (Linux ``/proc``; empty elsewhere)."""
    children: dict[int, list[int]] = {}
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            continue
        children.setdefault(ppid, []).append(int(entry.name))
    found, queue = [], [pid]
    while queue:
        kids = children.get(queue.pop(), [])
        found += kids
        queue += kids
    return found


_REAPER = """
import os, select, signal, sys, time
main, grace = int(sys.argv[1]), float(sys.argv[2])
targets = [tuple(int(v) for v in a.split(":")) for a in sys.argv[3:]]
def start(pid):
    try:
        return int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None
try:
    fd = os.pidfd_open(main)
    select.select([fd], [], [])
except (AttributeError, OSError):
    while os.path.exists(f"/proc/{main}"):
        time.sleep(0.5)
time.sleep(grace)
for pid, t in targets:
    if start(pid) == t:
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
"""


def reap_on_exit(pids: list[int], grace_s: float = 2.0) -> subprocess.Popen | None:
    """Kill ``pids`` (if still the same processes) ``grace_s`` after this process ends, however it ends.

    Returns the reaper process (kill it when the helpers have been stopped
    normally), or None where there is no ``/proc`` (not Linux) or nothing to watch.
    """
    targets = [f"{p}:{t}" for p in pids if (t := _start_time(p)) is not None]
    if not targets:
        return None
    cmd = [sys.executable, "-c", _REAPER, str(os.getpid()), str(grace_s), *targets]
    quiet = {"stdin": subprocess.DEVNULL, "stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    return subprocess.Popen(cmd, start_new_session=True, **quiet)
