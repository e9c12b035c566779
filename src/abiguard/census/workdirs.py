"""The directories of a census run: the work directory its local workers share (library
packages unpacked for this run), the scratch directory packages are unpacked into for their scan
(on a RAM file system when there is one). Named after the coordinator's process, so that a
later run removes those of runs that were killed."""

from __future__ import annotations

import os
import shutil
import tempfile

RUN_PREFIX = "abiguard-census-"


def prune_stale(parent: str) -> None:
    """Remove the run directories of census runs whose coordinator is gone (kill -9)."""
    try:
        names = os.listdir(parent)
    except OSError:
        return
    for name in names:
        if not name.startswith(RUN_PREFIX):
            continue
        pid = name[len(RUN_PREFIX):].split("-", 1)[0]
        if not pid.isdigit() or int(pid) == os.getpid():
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            shutil.rmtree(os.path.join(parent, name), ignore_errors=True)
        except OSError:
            pass


def run_dir(parent: str | None) -> str:
    """A new private directory of this process's run below ``parent`` (default: the temporary
    directory), after removing those of dead runs."""
    parent = parent or tempfile.gettempdir()
    prune_stale(parent)
    d = tempfile.mkdtemp(prefix=f"{RUN_PREFIX}{os.getpid()}-", dir=parent)
    os.chmod(d, 0o700)
    return d


def new_scratch(min_free: int = 2 << 30) -> str | None:
    """A run-scoped directory on a RAM file system (/dev/shm) for unpacking packages, or None
    when there is none with ``min_free`` bytes free. The coordinator removes it at the end
    (and a later run removes those of runs that were killed)."""
    shm = "/dev/shm"
    try:
        st = os.statvfs(shm)
        if not os.access(shm, os.W_OK) or st.f_bavail * st.f_frsize < min_free:
            return None
        return run_dir(shm)
    except OSError:
        return None


def new_workdir() -> str:
    """A run-scoped directory for the local workers (libraries unpacked for this run only,
    packages when there is no RAM scratch); removed by the coordinator at the end."""
    return run_dir(None)


__all__ = ["RUN_PREFIX", "new_scratch", "new_workdir", "prune_stale", "run_dir"]
