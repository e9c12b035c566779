"""Gather the suites ``abiguard history`` compares: through apt (a private configuration per
suite, derived from this machine's sources, as ``NAME/SUITE`` does) or from index files given
offline, then the history of every library family (:mod:`.archive`), cached by the exact
index files it was computed from.

A suite that cannot be read (apt cannot reach it, an index is broken or truncated) is one error
line and is left out; the history is still computed from the others when at least two remain.
A suite without a Contents index is one note: its sonames are derived from package names.
"""

from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from .. import __version__
from ..debian.apt import native_arch
from ..debian.suites import suite
from ..errors import AbiguardError, UsageError
from . import archive

_APT_LIST = re.compile(r"_dists_([a-z][a-z0-9]*)(?:-[a-z]+)?_")
CACHE_FORMAT = 2


@dataclass
class SuiteFiles:
    """The index files of one suite (apt's lists, or files given offline)."""

    name: str
    packages: list[str] = field(default_factory=list)
    contents: list[str] | None = None


@dataclass
class HistoryRun:
    data: archive.PolicyData
    """The policy data of every family (:func:`archive.policy_data`; empty when fewer than
    two suites could be read)."""
    suites: list[str]
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cached: bool = False


def suite_of_file(spec: str) -> tuple[str, str]:
    """``'trixie=/x/Packages.gz'`` -> ('trixie', path); an apt list file name names its suite
    (``…_dists_bookworm-security_main_binary-amd64_Packages.lz4`` -> bookworm)."""
    label, sep, path = spec.partition("=")
    if sep and re.fullmatch(r"[a-z][a-z0-9-]*", label) and not os.path.exists(spec):
        return label, path
    m = _APT_LIST.search(os.path.basename(spec))
    if m:
        return m.group(1), spec
    raise UsageError(f"{spec}: cannot tell its suite from the file name: give it as "
                     f"SUITE={spec}")


def offline_suites(packages: list[str], contents: list[str]) -> dict[str, SuiteFiles]:
    out: dict[str, SuiteFiles] = {}
    for spec in packages:
        name, path = suite_of_file(spec)
        if not os.path.isfile(path):
            raise UsageError(f"--packages-file {path}: no such file")
        out.setdefault(name, SuiteFiles(name)).packages.append(path)
    for spec in contents:
        name, path = suite_of_file(spec)
        if not os.path.isfile(path):
            raise UsageError(f"--contents-file {path}: no such file")
        if name not in out:
            raise UsageError(f"--contents-file {spec}: no --packages-file for suite {name}")
        sf = out[name]
        sf.contents = [*(sf.contents or []), path]
    return out


CONTENTS_TARGET = "Acquire::IndexTargets::deb::Contents-abiguard::"
"""The Contents index target (what apt-file adds to apt's configuration), for one
architecture only."""


def apt_suite(name: str, arch: str, contents: bool, notes: list[str]) -> SuiteFiles:
    """The lists of one suite through its derived apt configuration (``abiguard.debian``:
    fetched when missing or old); its Contents index when the archive gives it."""
    derived = suite(name)
    lists = derived.root / "lists"
    pk = sorted(str(p) for p in lists.glob("*_Packages*") if f"binary-{arch}_" in p.name)
    if not pk:
        raise UsageError(f"suite {name}: apt fetched no Packages index for {arch}")
    sf = SuiteFiles(name, pk)
    if contents:
        got = sorted(lists.glob(f"*_Contents-{arch}.*"))
        if not got:
            try:
                derived.apt.run(["apt-get",
                                 "-o", f"{CONTENTS_TARGET}MetaKey=$(COMPONENT)/Contents-{arch}",
                                 "-o", f"{CONTENTS_TARGET}ShortDescription=Contents-{arch}",
                                 "-o", f"{CONTENTS_TARGET}Description=Contents {arch}",
                                 "-o", f"{CONTENTS_TARGET}KeepCompressed=true",
                                 "-o", f"{CONTENTS_TARGET}PDiffs=false", "-q", "update"],
                                "apt-get update (Contents)")
            except AbiguardError as exc:
                notes.append(f"{name}: no Contents index ({exc}): its sonames are derived "
                             "from package names (Debian Policy 8.1)")
            got = sorted(lists.glob(f"*_Contents-{arch}.*"))
        sf.contents = [str(p) for p in got] or None
    return sf


def _cache_key(files: list[SuiteFiles], arch: str) -> str:
    code = hashlib.sha256(Path(archive.__file__).read_bytes()).hexdigest()
    parts: list[object] = [CACHE_FORMAT, __version__, code, arch]
    for sf in files:
        entry: list[object] = [sf.name]
        for p in [*sf.packages, *(sf.contents or ["-"])]:
            try:
                st = os.stat(p)
                entry.append([os.path.abspath(p), st.st_size, st.st_mtime_ns])
            except OSError:
                entry.append([p])
        parts.append(entry)
    return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


def history(suites: Sequence[str], *, packages_files: Sequence[str] = (),
            contents_files: Sequence[str] = (),
            arch: str | None = None, contents: bool = True,
            cache: Path | None = None) -> HistoryRun:
    """The history of the suites (oldest first), from apt or from the files given."""
    arch = arch or native_arch()
    errors: list[str] = []
    notes: list[str] = []
    offline = offline_suites(list(packages_files), list(contents_files))
    order = list(dict.fromkeys([*suites, *offline]))
    if len(order) < 2:
        raise UsageError("history compares at least two suites (--suites A,B,... or "
                         "--packages-file SUITE=FILE for each)")
    files: list[SuiteFiles] = []
    for name in order:
        try:
            files.append(offline[name] if name in offline else
                         apt_suite(name, arch, contents, notes))
        except AbiguardError as exc:
            errors.append(f"suite {name}: {exc}")
    for sf in files:
        if sf.contents is None and sf.name in offline:
            notes.append(f"{sf.name}: no --contents-file: its sonames are derived from "
                         "package names (Debian Policy 8.1)")
    key = _cache_key(files, arch)
    path = cache / "history" / f"{key}.json" if cache is not None else None
    if path is not None and path.is_file():
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            return HistoryRun(data, [sf.name for sf in files], errors, notes, cached=True)
        except (OSError, ValueError):
            pass  # a damaged cache entry is computed again
    indexes = []
    for sf in files:
        try:
            indexes.append(archive.read_suite(sf.name, sf.packages, sf.contents, arch))
        except AbiguardError as exc:
            errors.append(f"suite {sf.name}: {exc}")
    names = [ix.name for ix in indexes]
    if len(indexes) < 2:
        return HistoryRun({}, names, errors, notes)
    families = archive.analyse(indexes)
    data = archive.policy_data(families, names, f"The Debian archive's history of its shared "
                               f"libraries: {', '.join(names)} ({arch})")
    if path is not None and not errors:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
        tmp.replace(path)
    return HistoryRun(data, names, errors, notes)


def selected(run: HistoryRun, families: Sequence[str] = (), decided: bool = False
             ) -> HistoryRun:
    """The run with only the families matching one of the ``families`` globs (all when none)
    and, with ``decided``, only those with a verdict (stable or release-locked)."""
    data = run.data.copy()
    data["history"] = [e for e in run.data["history"]
                       if (not families or any(fnmatch.fnmatchcase(e["family"], g)
                                               for g in families))
                       and (not decided or e["verdict"] != "undecided")]
    return replace(run, data=data)
