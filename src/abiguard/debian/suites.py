"""Derived apt configurations: another suite of the machine's distribution (``trixie`` on a
bookworm machine), and the machine's entries as ``deb-src`` (for ``apt-get source``).

The machine's apt configuration is never touched and no mirror is named here: the entries
come from the machine's own sources (:mod:`abiguard.debian.sourceslist`, located as apt
locates them), with the same URIs, components and keyrings and other suites
(``bookworm`` -> ``trixie``, ``bookworm-updates`` -> ``trixie-updates``,
``bookworm-security`` -> ``trixie-security``). Each derived configuration lives in
``<cache>/apt-suites/<name>-<hash of its entries>/`` (machines with other sources never
share one) and is one file of settings that apt reads last
(``apt-get -c <root>/apt.conf …``, so nothing else overrides them)::

    Dir::Etc::sourcelist "<root>/sources.sources";   own entries
    Dir::Etc::preferences "<root>/preferences";      no pins (empty)
    Dir::State::status "<root>/status";              no installed packages (empty)
    Dir::State::Lists "<root>/lists";  Dir::Cache "<root>/cache";

With no pins and no installed versions, apt's candidate in a suite configuration is the
newest version the suite has, counting its -updates and -security: exactly what
``NAME/SUITE`` means. Lists are fetched (``apt-get update``) when missing, older than a
day, or when a download fails.
"""

from __future__ import annotations

import hashlib
import os
import re
import time
from pathlib import Path

from ..cachedir import cache_dir
from .apt import Apt, AptConfig, AptError, Record, client
from .names import is_package_name, split_spec
from .sourceslist import (
    distribution_entries,
    machine_codename,
    machine_entries,
    retarget,
)

SUITE_RE = re.compile(r"^[a-z][a-z0-9-]*$")

LISTS_MAX_AGE = 86400
"""A derived configuration's package lists older than this (seconds) are fetched again."""

RELEASE_ALIASES = {"oldoldstable", "oldstable", "stable", "testing", "unstable", "sid",
                   "experimental"}


class SuiteError(AptError):
    """A suite could not be configured or a package could not be fetched from it."""


def _releases() -> set[str] | None:
    codename = machine_codename()
    return None if codename is None else {codename} | RELEASE_ALIASES


def suite_stanzas(suite: str, stanzas: list[str] | None = None) -> list[str]:
    """deb822 ``Types: deb`` stanzas for ``suite``, derived from the machine's entries of
    its own distribution."""
    if stanzas is None:
        stanzas = distribution_entries(machine_entries("deb"), _releases())
    return list(dict.fromkeys(retarget(s, suite) for s in stanzas))


def source_stanzas() -> list[str]:
    """The machine's entries of its distribution as ``Types: deb-src`` stanzas."""
    return distribution_entries(machine_entries("deb-src"), _releases())


def overlay_text(root: Path) -> str:
    """The one set of apt settings of a derived configuration under ``root``."""
    sandbox = ('APT::Sandbox::User "root";' if os.geteuid() == 0
               else 'Debug::NoLocking "true";')  # private dirs: not _apt's, nor locked
    return "\n".join([
        f'Dir::Etc::sourcelist "{root / "sources.sources"}";',
        f'Dir::Etc::sourceparts "{root / "sources.list.d"}";',
        f'Dir::Etc::preferences "{root / "preferences"}";',
        f'Dir::Etc::preferencesparts "{root / "preferences.d"}";',
        f'Dir::State::Lists "{root / "lists"}";',
        f'Dir::State::status "{root / "status"}";',
        f'Dir::Cache "{root / "cache"}";',
        'Dir::Cache::pkgcache "pkgcache.bin";',  # kept (in the private cache): each apt
        'Dir::Cache::srcpkgcache "srcpkgcache.bin";',  # call then maps it, not the lists
        'Acquire::Languages "none";',
        'APT::Get::List-Cleanup "false";',
        sandbox, ""])


class Derived:
    """A derived configuration: its files under ``root`` and its shared apt client."""

    def __init__(self, name: str, stanzas: list[str], label: str,
                 root: Path | None = None) -> None:
        if not SUITE_RE.match(name):
            raise SuiteError(repr(name), "not a Debian suite name")
        if not stanzas:
            raise SuiteError(label, "no apt sources on this machine to derive its entries from")
        self.name = name
        digest = hashlib.sha256("\n\n".join(stanzas).encode()).hexdigest()[:10]
        self.root = root or cache_dir() / "apt-suites" / f"{name}-{digest}"
        self.stanzas = stanzas
        self.config = AptConfig(os.environ.get("APT_CONFIG") or None,
                                str(self.root / "apt.conf"), label, derived=True)
        self._write()

    @property
    def apt(self) -> Apt:
        return client(self.config)

    def _write(self) -> None:
        r = self.root
        for sub in ("lists/partial", "cache/archives/partial", "sources.list.d",
                    "preferences.d"):
            (r / sub).mkdir(parents=True, exist_ok=True)
        for empty in ("preferences", "status"):
            if not (r / empty).is_file() or (r / empty).stat().st_size:
                (r / empty).write_text("")
        text = "\n\n".join(self.stanzas) + "\n"
        src = r / "sources.sources"
        if not src.is_file() or src.read_text() != text:
            src.write_text(text)
            (r / "updated").unlink(missing_ok=True)  # other entries: fetch the lists again
        conf = overlay_text(r)
        if not (r / "apt.conf").is_file() or (r / "apt.conf").read_text() != conf:
            (r / "apt.conf").write_text(conf)

    def lists_age(self) -> float | None:
        try:
            return time.time() - (self.root / "updated").stat().st_mtime
        except OSError:
            return None

    def update(self, force: bool = False) -> None:
        """``apt-get update`` of the private lists when missing, a day old, or forced."""
        age = self.lists_age()
        if not force and age is not None and age < LISTS_MAX_AGE:
            return
        self.apt.update()
        (self.root / "updated").write_text(f"{time.time()}\n")


def suite(name: str) -> Derived:
    """The configuration of another suite, its lists fetched when needed."""
    if not SUITE_RE.match(name):
        raise SuiteError(repr(name), "not a Debian suite name")
    d = Derived(name, suite_stanzas(name), name)
    d.update()
    return d


def sources() -> Derived:
    """The machine's entries as deb-src (``apt-get source``), its lists fetched when needed."""
    d = Derived("deb-src", source_stanzas(), "deb-src")
    d.update()
    return d


def fetch(apt: Apt, specs: list[str], refresh: Derived | None = None) -> dict[str, Path]:
    """Resolve ``NAME``/``NAME=VERSION`` specs with ``apt`` and download them (one error
    raised for the first that fails). With a derived configuration ``refresh``, a failed
    download fetches its lists again and tries once more (the archive moved on)."""
    try:
        return _fetch(apt, specs)
    except AptError:
        age = None if refresh is None else refresh.lists_age()
        if refresh is None or age is None or age < 60:
            raise
        refresh.update(force=True)
        return _fetch(apt, specs)


def _fetch(apt: Apt, specs: list[str]) -> dict[str, Path]:
    recs = resolved(apt, specs)
    got = apt.fetch(recs.values())
    return {spec: got[rec.name] for spec, rec in recs.items()}


def resolved(apt: Apt, specs: list[str]) -> dict[str, Record]:
    """The records of specs; the first that apt cannot give raises its AptError."""
    out = {}
    for spec, rec in apt.resolve(specs).items():
        if isinstance(rec, AptError):
            raise rec
        out[spec] = rec
    return out


def apt_for(suite_name: str | None) -> tuple[Apt, Derived | None]:
    """The client for package names of a suite (None: this machine's)."""
    if suite_name is None:
        return client(), None
    d = suite(suite_name)
    return d.apt, d


__all__ = ["Derived", "SuiteError", "apt_for", "fetch", "is_package_name", "resolved",
           "sources", "split_spec", "suite", "suite_stanzas"]
