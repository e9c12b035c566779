"""Fetch and unpack a Debian source package without touching the system's apt state.

``apt-get source`` needs ``deb-src`` entries, which many systems (containers in particular)
do not have. We derive them from the machine's own binary entries — the deb822 files in
``/etc/apt/sources.list.d/*.sources`` and one-line ``deb`` lines in ``/etc/apt/sources.list``
(and ``sources.list.d/*.list``) — so no mirror is ever named here, and run apt with a private
configuration (source list, lists, package caches) under a cache directory::

    apt-get -o Dir::Etc::sourcelist=<cache>/sources.sources -o Dir::Etc::sourceparts=- \\
            -o Dir::State::Lists=<cache>/lists -o Dir::Cache=<cache>/cache update
    apt-get ... source --download-only qemu
    dpkg-source -x qemu_*.dsc

A previous download and extraction is reused. Needs ``apt-get`` and ``dpkg-source``
(Debian package ``dpkg-dev``).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from ..errors import AbiguardError

APT_SOURCES_DIR = Path("/etc/apt/sources.list.d")
APT_SOURCES_LIST = Path("/etc/apt/sources.list")


class SourcePackageError(AbiguardError):
    """The source package could not be found, downloaded or unpacked."""


def default_cache_dir() -> Path:
    """abiguard's cache: ``$ABIGUARD_CACHE``, else ``$XDG_CACHE_HOME/abiguard`` or
    ``~/.cache/abiguard`` (the same as :func:`abiguard.inputs.cache_dir`)."""
    if os.environ.get("ABIGUARD_CACHE"):
        return Path(os.environ["ABIGUARD_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "abiguard"


# --------------------------------------------------------------------------------------------
# deb-src entries from the machine's deb entries
# --------------------------------------------------------------------------------------------


def _deb822_stanzas(text: str) -> list[list[str]]:
    stanzas: list[list[str]] = []
    cur: list[str] = []
    for line in text.splitlines():
        if not line.strip():
            if cur:
                stanzas.append(cur)
                cur = []
            continue
        cur.append(line)
    if cur:
        stanzas.append(cur)
    return stanzas


def deb_src_stanzas_from_deb822(text: str) -> list[str]:
    """Each stanza whose ``Types`` include ``deb``, copied with ``Types: deb-src``.

    Comments are dropped; disabled stanzas (``Enabled: no``) are skipped.
    """
    out: list[str] = []
    for stanza in _deb822_stanzas(text):
        lines = [ln for ln in stanza if not ln.lstrip().startswith("#")]
        fields = {}
        for ln in lines:
            m = re.match(r"([A-Za-z0-9-]+):\s*(.*)", ln)
            if m:
                fields[m.group(1).lower()] = m.group(2).strip()
        types = fields.get("types", "").split()
        if "deb" not in types and "deb-src" not in types:
            continue
        if fields.get("enabled", "yes").lower() == "no":
            continue
        new = []
        for ln in lines:
            if re.match(r"(?i)types:", ln):
                new.append("Types: deb-src")
            else:
                new.append(ln)
        out.append("\n".join(new))
    return out


def deb_src_stanzas_from_one_line(text: str) -> list[str]:
    """``deb [opts] URI SUITE COMPONENT…`` lines rewritten as deb822 ``deb-src`` stanzas."""
    out: list[str] = []
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        m = re.match(r"(deb|deb-src)\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*(.*)", line)
        if not m:
            continue
        _typ, opts, uri, suite, comps = m.groups()
        lines = ["Types: deb-src", f"URIs: {uri}", f"Suites: {suite}"]
        if comps.strip():
            lines.append(f"Components: {comps.strip()}")
        for opt in (opts or "").split():
            k, _, v = opt.partition("=")
            if k == "signed-by":
                lines.append(f"Signed-By: {v}")
            elif k == "trusted":
                lines.append(f"Trusted: {v}")
        out.append("\n".join(lines))
    return out


def system_deb_src_stanzas(
    sources_dir: Path = APT_SOURCES_DIR, sources_list: Path = APT_SOURCES_LIST
) -> list[str]:
    stanzas: list[str] = []
    if sources_list.is_file():
        stanzas += deb_src_stanzas_from_one_line(sources_list.read_text(errors="replace"))
    if sources_dir.is_dir():
        for p in sorted(sources_dir.iterdir()):
            if p.suffix == ".sources":
                stanzas += deb_src_stanzas_from_deb822(p.read_text(errors="replace"))
            elif p.suffix == ".list":
                stanzas += deb_src_stanzas_from_one_line(p.read_text(errors="replace"))
    # keep order, drop duplicates
    return list(dict.fromkeys(stanzas))


# --------------------------------------------------------------------------------------------
# apt-get with a private configuration
# --------------------------------------------------------------------------------------------


def _apt_options(root: Path) -> list[str]:
    return [
        "-o", f"Dir::Etc::sourcelist={root / 'sources.sources'}",
        "-o", "Dir::Etc::sourceparts=-",
        "-o", f"Dir::State::Lists={root / 'lists'}",
        "-o", f"Dir::Cache={root / 'cache'}",
        "-o", "APT::Sandbox::User=root" if os.geteuid() == 0 else "Debug::NoLocking=1",
        "-o", "Acquire::Languages=none",
        "-o", "APT::Get::List-Cleanup=0",
    ]


def _run(cmd: list[str], cwd: Path | None, what: str) -> str:
    try:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    except FileNotFoundError:
        hint = " (install the Debian package dpkg-dev)" if cmd[0] == "dpkg-source" else ""
        raise SourcePackageError(f"{cmd[0]}: not found{hint}") from None
    if proc.returncode != 0:
        lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
        tail = lines[-1] if lines else f"exit status {proc.returncode}"
        raise SourcePackageError(f"{what} failed: {tail}")
    return proc.stdout


def _find_unpacked(pkg_dir: Path, name: str) -> Path | None:
    marker = pkg_dir / ".unpacked"
    if marker.is_file():
        d = pkg_dir / marker.read_text().strip()
        if d.is_dir():
            return d
    return None


def fetch_source_package(
    name: str,
    cache_dir: Path | str | None = None,
    *,
    refresh: bool = False,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Download and unpack the Debian source package ``name``; return its source tree.

    Reuses a previous extraction under ``cache_dir/source/<name>/`` unless ``refresh``.
    Raises :class:`SourcePackageError` with one line saying what failed.
    """
    if not re.fullmatch(r"[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?", name):
        raise SourcePackageError(f"{name!r} is not a Debian source package name")
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    apt_root = root / "apt"
    pkg_dir = root / "source" / name.split("=")[0]
    if not refresh:
        found = _find_unpacked(pkg_dir, name)
        if found:
            return found
    say = log or (lambda _m: None)
    if shutil.which("apt-get") is None:
        raise SourcePackageError("apt-get: not found (fetching a source package needs apt)")
    stanzas = system_deb_src_stanzas()
    if not stanzas:
        raise SourcePackageError(
            f"no apt sources found in {APT_SOURCES_LIST} or {APT_SOURCES_DIR} to derive "
            "deb-src entries from")
    for sub in ("lists/partial", "cache/archives/partial"):
        (apt_root / sub).mkdir(parents=True, exist_ok=True)
    src_file = apt_root / "sources.sources"
    text = "\n\n".join(stanzas) + "\n"
    if not src_file.is_file() or src_file.read_text() != text:
        src_file.write_text(text)
    opts = _apt_options(apt_root)
    lists_present = any((apt_root / "lists").glob("*Sources*"))
    if refresh or not lists_present:
        say("apt-get update (deb-src entries derived from the system's sources)")
        _run(["apt-get", *opts, "-q", "update"], None, "apt-get update")
    pkg_dir.mkdir(parents=True, exist_ok=True)
    if not list(pkg_dir.glob("*.dsc")) or refresh:
        say(f"apt-get source --download-only {name}")
        _run(["apt-get", *opts, "-q", "source", "--download-only", name], pkg_dir,
             f"apt-get source {name}")
    dscs = sorted(pkg_dir.glob("*.dsc"))
    if not dscs:
        raise SourcePackageError(f"apt-get source {name}: no .dsc downloaded into {pkg_dir}")
    dsc = dscs[-1]
    target = pkg_dir / "src"
    if target.exists():
        shutil.rmtree(target)
    say(f"dpkg-source -x {dsc.name}")
    _run(["dpkg-source", "--no-check", "-x", dsc.name, "src"], pkg_dir,
         f"dpkg-source -x {dsc.name}")
    (pkg_dir / ".unpacked").write_text("src\n")
    return target


__all__ = [
    "SourcePackageError",
    "deb_src_stanzas_from_deb822",
    "deb_src_stanzas_from_one_line",
    "default_cache_dir",
    "fetch_source_package",
    "system_deb_src_stanzas",
]
