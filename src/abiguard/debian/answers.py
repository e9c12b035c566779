"""apt's answers kept across commands, valid only for the state of the files apt read.

Asking apt which version a name means (``apt-cache show``) costs a second or more: apt reads
every package list of its configuration each time. The answers are kept in
``<cache>/apt/answers/<identity>.json``, where the identity is a SHA-256 over everything
apt's choice reads: the configuration (``APT_CONFIG``, the derived ``-c`` file), where apt
looks for its files (``apt-config shell``, run every time: one small process), and the path,
size and modification time of each of those files -- the package lists, the dpkg status file
(installed versions), sources.list(.d), preferences(.d) (pins), apt.conf(.d) -- and of the
apt-cache program itself. A changed list, pin or installed package is another identity: its
answers are asked of apt again. An answer is therefore what apt says now, never what an
earlier command left behind.

The dpkg status (installed versions, ``dpkg-query``) is kept the same way, keyed by the
status file's path, size and modification time.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

_SHELL = ("LISTS", "Dir::State::lists/d", "STATUS", "Dir::State::status/f",
          "MAIN", "Dir::Etc::main/f", "PARTS", "Dir::Etc::parts/d",
          "SOURCES", "Dir::Etc::sourcelist/f", "SOURCEPARTS", "Dir::Etc::sourceparts/d",
          "PREFS", "Dir::Etc::preferences/f", "PREFPARTS", "Dir::Etc::preferencesparts/d")

Run = Callable[[list[str]], "subprocess.CompletedProcess[str]"]


def _stat(path: str) -> list[Any]:
    try:
        st = os.stat(path)
    except OSError:
        return [path, None]
    return [path, st.st_size, st.st_mtime_ns]


def _tree(directory: str) -> list[Any]:
    """The directory and each file directly in it (names, sizes, modification times)."""
    out: list[Any] = [_stat(directory)]
    try:
        names = sorted(os.listdir(directory))
    except OSError:
        return out
    for n in names:
        p = os.path.join(directory, n)
        if os.path.isfile(p):
            out.append(_stat(p))
    return out


def _shell_paths(text: str) -> dict[str, str]:
    out = {}
    for line in text.splitlines():
        name, sep, value = line.partition("=")
        if sep:
            out[name.strip()] = value.strip().strip("'")
    return out


def identity(run: Run, config: Iterable[str | None], arch: str) -> str | None:
    """The identity of apt's state under a configuration (``run`` runs an apt command under
    it; ``config``: what names the configuration). None when apt cannot say where its
    files are (then nothing is kept)."""
    try:
        proc = run(["apt-config", "shell", *_SHELL])
    except OSError:
        return None
    if proc.returncode != 0 or not proc.stdout.strip():
        return None
    paths = _shell_paths(proc.stdout)
    state: list[Any] = [list(config), arch, proc.stdout]
    for name in ("STATUS", "MAIN", "SOURCES", "PREFS"):
        if paths.get(name):
            state.append(_stat(paths[name]))
    for name in ("LISTS", "PARTS", "SOURCEPARTS", "PREFPARTS"):
        if paths.get(name):
            state.append(_tree(paths[name]))
    for c in config:
        if c and os.path.isfile(c):
            state.append(_stat(c))
    tool = shutil.which("apt-cache")
    if tool:
        state.append(_stat(tool))
    return hashlib.sha256(json.dumps(state).encode()).hexdigest()


def _load(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def _save(path: Path, data: dict[str, Any]) -> None:
    """Write atomically (a concurrent command reads the old or the new file whole)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".answers-", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump(data, fh)
        os.replace(tmp, path)
    except OSError:
        return  # a cache that cannot be written is no cache


class Answers:
    """The kept answers of one identity: ``kind`` ("candidates", "exact") -> key -> the
    record's fields (None: apt knows no such package or version)."""

    def __init__(self, path: Path | None) -> None:
        self.path = path
        self.data: dict[str, Any] = _load(path) if path is not None else {}

    def get(self, kind: str) -> dict[str, Any]:
        got = self.data.get(kind)
        return got if isinstance(got, dict) else {}

    def put(self, kind: str, items: dict[str, Any]) -> None:
        if self.path is None or not items:
            return
        data = _load(self.path)  # what other commands added meanwhile
        data.setdefault(kind, {}).update(items)
        self.data = data
        _save(self.path, data)


def answers(base: Path, ident: str | None) -> Answers:
    return Answers(base / "answers" / f"{ident}.json" if ident else None)


def installed(base: Path, status: str, query: Callable[[], dict[str, str]]) -> dict[str, str]:
    """``query()`` (the installed versions, dpkg-query), kept by the status file's path,
    size and modification time."""
    before = _stat(status)
    key = hashlib.sha256(json.dumps(before).encode()).hexdigest()
    path = base / "installed" / f"{key}.json"
    data = _load(path)
    if isinstance(data.get("versions"), dict):
        return {str(k): str(v) for k, v in data["versions"].items()}
    versions = query()
    if before[1] is not None and _stat(status) == before:  # (not changed meanwhile)
        _save(path, {"versions": versions})
    return versions


__all__ = ["Answers", "answers", "identity", "installed"]
