"""Source packages: ``apt-get source`` of the version the machine's binary candidate was
built from, without touching the system's apt state.

``apt-get source`` needs ``deb-src`` entries, which many systems (containers in particular)
do not have: they are derived from the machine's own entries
(:func:`abiguard.debian.suites.sources`). Which version: the one apt's candidates were built
from, under the machine's configuration (``apt-cache show``'s Source field, which names the
source version of a binNMU; for a source name, the version most of its binaries' candidates
come from), so a machine that also lists a newer suite at a low pin gets the source of the
binaries it would install::

    apt-cache show --no-all-versions <binaries of NAME>      -> Source: qemu (1:7.2+dfsg-7+deb12u18)
    apt-get -c <cache>/apt-suites/deb-src-<hash>/apt.conf source --download-only qemu=1:7.2+dfsg-7+deb12u18
    dpkg-source -x qemu_7.2+dfsg-7+deb12u18.dsc src

The unpacked tree is kept in ``<cache>/source/<name>_<version>/src`` (the version is chosen
first, so a kept tree never changes the answer). Needs ``apt-get`` and ``dpkg-source``
(Debian package ``dpkg-dev``).
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from ..cachedir import cache_dir as default_cache_dir
from ..errors import AbiguardError
from . import suites
from .apt import Apt, AptError, client
from .control import iter_paragraphs, newest

_NAME = re.compile(r"[a-z0-9][a-z0-9+.-]+(=[A-Za-z0-9.+~:-]+)?")


class SourcePackageError(AbiguardError):
    """The source package could not be found, downloaded or unpacked."""


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


def binaries_of(source: str, src_apt: Apt) -> list[str]:
    """The binary packages a source package builds, every version (``apt-cache showsrc``)."""
    text = src_apt.run(["apt-cache", "showsrc", source], f"apt-cache showsrc {source}")
    names: list[str] = []
    for f in iter_paragraphs(text, ("package", "binary")):
        if f.get("package") == source:
            names += [b.strip() for b in f.get("binary", "").split(",") if b.strip()]
    return list(dict.fromkeys(names))


def source_version(name: str, apt: Apt, src_apt: Apt | None = None) -> tuple[str, str]:
    """(source name, version) meant by ``name`` under ``apt``: a binary package's candidate
    gives its source; for a source package, the version most of the candidates of its
    binaries were built from (the newest of a tie). On a machine that also lists the next
    release at a low pin, the binaries only that release has are candidates from it, while
    all the others come from the machine's release: it is the machine's version of the
    source that is meant (apt-get source itself would take the newest)."""
    rec = apt.candidates([name])[name]
    if rec is not None:
        return rec.source, rec.source_version
    if src_apt is None:
        src_apt = suites.sources().apt
    votes = Counter(r.source_version for r in apt.candidates(binaries_of(name, src_apt)).values()
                    if r is not None and r.source == name)
    top = max(votes.values(), default=0)
    best = newest(v for v, n in votes.items() if n == top)
    if best is None:
        raise SourcePackageError(
            f"{name}: no binary package built from source {name} has a candidate in "
            f"{apt.config.describe()}; give {name}=VERSION (apt-cache showsrc {name})")
    return name, best


def fetch_source_package(
    name: str,
    cache_dir: Path | str | None = None,
    *,
    refresh: bool = False,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Download and unpack the Debian source package ``name`` (or ``NAME=VERSION``, or a
    binary package's name: its source) of the machine's candidate; return its source tree.

    Reuses an extraction of that exact version under ``cache_dir/source/`` unless
    ``refresh``. Raises :class:`SourcePackageError` with one line saying what failed.
    """
    if not _NAME.fullmatch(name):
        raise SourcePackageError(f"{name!r} is not a Debian source package name")
    root = Path(cache_dir) if cache_dir else default_cache_dir()
    say = log or (lambda _m: None)
    if shutil.which("apt-get") is None:
        raise SourcePackageError("apt-get: not found (fetching a source package needs apt)")
    src, _, version = name.partition("=")
    try:
        if version:
            derived = None
        else:
            derived = suites.sources()
            src, version = source_version(src, client(), derived.apt)
            say(f"source package {src} {version} (of the candidates of "
                f"{client().config.describe()})")
        pkg_dir = root / "source" / f"{src}_{version.replace(':', '%3a')}"
        target = pkg_dir / "src"
        if not refresh and (pkg_dir / ".unpacked").is_file() and target.is_dir():
            return target
        derived = derived or suites.sources()
        if refresh:
            derived.update(force=True)
        shutil.rmtree(pkg_dir, ignore_errors=True)
        pkg_dir.mkdir(parents=True)
        say(f"apt-get source --download-only {src}={version}")
        try:
            derived.apt.run(["apt-get", "-q", "source", "--download-only",
                             f"{src}={version}"], f"apt-get source {src}={version}", pkg_dir)
        except AptError:
            if (derived.lists_age() or 0) < 60:
                raise
            derived.update(force=True)  # the archive moved on since the lists were fetched
            derived.apt.run(["apt-get", "-q", "source", "--download-only",
                             f"{src}={version}"], f"apt-get source {src}={version}", pkg_dir)
    except AptError as exc:
        raise SourcePackageError(str(exc)) from None
    dscs = sorted(pkg_dir.glob(f"{src}_*.dsc"))
    if len(dscs) != 1:
        raise SourcePackageError(f"apt-get source {src}={version}: expected one .dsc in "
                                 f"{pkg_dir}, found {len(dscs)}")
    say(f"dpkg-source -x {dscs[0].name}")
    _run(["dpkg-source", "--no-check", "-x", dscs[0].name, "src"], pkg_dir,
         f"dpkg-source -x {dscs[0].name}")
    (pkg_dir / ".unpacked").write_text(f"{src} {version}\n")
    return target


__all__ = ["SourcePackageError", "binaries_of", "fetch_source_package", "source_version"]
