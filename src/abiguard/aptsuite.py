"""Binary packages from another Debian suite (e.g. trixie on a bookworm machine).

The machine's apt configuration is never touched and no mirror is named here: the entries
are derived at run time from the machine's own sources (``/etc/apt/sources.list.d/*.sources``
and one-line ``deb`` entries, read by :mod:`abiguard.callsites.aptsource`), the same URIs,
components and keyrings with other suites (``bookworm`` -> ``trixie``, ``bookworm-updates`` ->
``trixie-updates``, ``bookworm-security`` -> ``trixie-security``), and apt runs with a
private configuration under ``<cache>/apt-suites/<suite>/``::

    apt-get -o Dir::Etc::sourcelist=<root>/sources.sources -o Dir::Etc::sourceparts=- \\
            -o Dir::State::Lists=<root>/lists -o Dir::Cache=<root>/cache update
    apt-get ... download qemu-system-xen

Spelling: an apt package input ``NAME/SUITE`` (apt's own syntax, e.g.
``qemu-system-xen/trixie``) or ``NAME=VERSION/SUITE`` picks the suite; :func:`split_spec`
parses it. Downloads are cached in ``<cache>/debs-<suite>/`` and reused.

For a foreign suite, the library dependencies of a package are fetched whether or not a
package of that name is installed here (the installed one is from the machine's suite).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from .errors import UsageError

SUITE_RE = re.compile(r"^[a-z][a-z0-9-]*$")
_SPEC_RE = re.compile(r"^(apt:)?([a-z0-9][a-z0-9+.-]+)(=[A-Za-z0-9.+~:-]+)?/([a-z][a-z0-9-]*)$")

LISTS_MAX_AGE = 7 * 86400
"""Package lists older than this (seconds) are refreshed before a download."""


class SuiteError(UsageError):
    """A suite could not be configured or a package could not be fetched from it."""


def split_spec(spec: str) -> tuple[str, str | None]:
    """``'qemu-system-xen/trixie'`` -> ``('qemu-system-xen', 'trixie')``;
    ``'apt:libx=1.2/trixie'`` -> ``('libx=1.2', 'trixie')``; anything else -> ``(spec, None)``.

    Existing paths are never split (``dir/sub`` stays a path)."""
    if os.path.exists(spec):
        return spec, None
    m = _SPEC_RE.match(spec)
    if not m:
        return spec, None
    return m.group(2) + (m.group(3) or ""), m.group(4)


def cache_root() -> Path:
    from .inputs import cache_dir

    return cache_dir()


def machine_codename() -> str | None:
    try:
        text = Path("/etc/os-release").read_text()
    except OSError:
        return None
    m = re.search(r"^VERSION_CODENAME=\"?([a-z]+)\"?$", text, re.MULTILINE)
    return m.group(1) if m else None


def retarget_suites(suites: str, suite: str) -> str:
    """Replace the release part of each suite name: ``bookworm bookworm-updates`` ->
    ``trixie trixie-updates``; ``stable-security`` -> ``trixie-security``."""
    out = []
    for s in suites.split():
        _base, dash, rest = s.partition("-")
        out.append(suite + (dash + rest if dash else ""))
    return " ".join(dict.fromkeys(out))


def suite_stanzas(suite: str, stanzas: list[str] | None = None) -> list[str]:
    """deb822 ``Types: deb`` stanzas for ``suite`` derived from the machine's apt sources."""
    if stanzas is None:
        from .callsites.aptsource import system_deb_src_stanzas

        stanzas = system_deb_src_stanzas()
    out = []
    for stanza in stanzas:
        lines = []
        for ln in stanza.splitlines():
            key, _, value = ln.partition(":")
            k = key.strip().lower()
            if k == "types":
                lines.append("Types: deb")
            elif k == "suites":
                lines.append(f"Suites: {retarget_suites(value, suite)}")
            else:
                lines.append(ln)
        out.append("\n".join(lines))
    return list(dict.fromkeys(out))


@dataclass
class Suite:
    """apt with a private configuration for one suite."""

    name: str
    root: Path = field(default=Path())

    def __post_init__(self) -> None:
        if not SUITE_RE.match(self.name):
            raise SuiteError(f"{self.name!r} is not a Debian suite name")
        if self.root == Path():
            self.root = cache_root() / "apt-suites" / self.name
        self._updated = False

    # -- configuration -----------------------------------------------------------------------

    @property
    def debs_dir(self) -> Path:
        return cache_root() / f"debs-{self.name}"

    def options(self) -> list[str]:
        r = self.root
        return [
            "-o", f"Dir::Etc::sourcelist={r / 'sources.sources'}",
            "-o", "Dir::Etc::sourceparts=-",
            "-o", f"Dir::State::Lists={r / 'lists'}",
            "-o", f"Dir::Cache={r / 'cache'}",
            "-o", "APT::Sandbox::User=root" if os.geteuid() == 0 else "Debug::NoLocking=1",
            "-o", "Acquire::Languages=none",
            "-o", "APT::Get::List-Cleanup=0",
        ]

    def configure(self) -> None:
        if shutil.which("apt-get") is None:
            raise SuiteError(f"apt-get is not available: cannot fetch packages from {self.name}")
        stanzas = suite_stanzas(self.name)
        if not stanzas:
            raise SuiteError("no apt sources on this machine to derive "
                             f"{self.name} entries from")
        for sub in ("lists/partial", "cache/archives/partial"):
            (self.root / sub).mkdir(parents=True, exist_ok=True)
        text = "\n\n".join(stanzas) + "\n"
        src = self.root / "sources.sources"
        if not src.is_file() or src.read_text() != text:
            src.write_text(text)
            for f in (self.root / "lists").glob("*_Packages*"):
                f.unlink()

    def _lists_age(self) -> float | None:
        files = list((self.root / "lists").glob("*_Packages*"))
        if not files:
            return None
        return time.time() - min(f.stat().st_mtime for f in files)

    def update(self, force: bool = False) -> None:
        """apt-get update of the private lists, when missing, old, or forced."""
        self.configure()
        age = self._lists_age()
        if not force and age is not None and (age < LISTS_MAX_AGE or self._updated):
            return
        self._run(["apt-get", *self.options(), "-q", "update"], None, "apt-get update")
        self._updated = True
        from .inputs import forget_candidates

        forget_candidates(tuple(self.options()))

    def _run(self, cmd: list[str], cwd: Path | None, what: str) -> str:
        proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False,
                              env={**os.environ, "LC_ALL": "C"})
        if proc.returncode != 0:
            lines = [ln for ln in (proc.stderr or proc.stdout).splitlines() if ln.strip()]
            err = next((ln for ln in lines if ln.startswith("E:")), lines[-1] if lines else
                       f"exit status {proc.returncode}")
            raise SuiteError(f"{what} ({self.name}): {err}")
        return proc.stdout

    def index_files(self, kind: str = "Packages") -> list[Path]:
        """The suite's index files of one kind in the private lists (Packages, Contents)."""
        return sorted(self.root.joinpath("lists").glob(f"*_{kind}-*" if kind == "Contents"
                                                       else f"*_{kind}*"))

    def fetch_contents(self, arch: str) -> list[Path]:
        """``apt-get update`` with the Contents-deb index target (what apt-file adds) for
        ``arch``; the Contents files fetched (an error line when the archive refuses them)."""
        self.update()
        have = [p for p in self.index_files("Contents") if f"Contents-{arch}." in p.name]
        if have:
            return have
        meta = "Acquire::IndexTargets::deb::Contents-abiguard::"
        self._run(["apt-get", *self.options(),
                   "-o", f"{meta}MetaKey=$(COMPONENT)/Contents-{arch}",
                   "-o", f"{meta}ShortDescription=Contents-{arch}",
                   "-o", f"{meta}Description=$(RELEASE)/$(COMPONENT) {arch} Contents",
                   "-o", f"{meta}KeepCompressed=true", "-o", f"{meta}PDiffs=false",
                   "-q", "update"], None, "apt-get update (Contents)")
        return [p for p in self.index_files("Contents") if f"Contents-{arch}." in p.name]

    # -- queries -----------------------------------------------------------------------------

    def candidates(self, names: list[str]) -> dict[str, str | None]:
        """Candidate version of each package in this suite (None: unknown)."""
        from .inputs import apt_candidates

        self.update()
        return apt_candidates(names, tuple(self.options()))

    def download(self, specs: list[str]) -> dict[str, Path]:
        """``apt-get download`` of ``NAME`` or ``NAME=VERSION`` from this suite, cached."""
        dest = self.debs_dir
        dest.mkdir(parents=True, exist_ok=True)
        cands = self.candidates([s.partition("=")[0] for s in specs if "=" not in s])
        out: dict[str, Path] = {}
        todo = []
        for spec in specs:
            name, _, version = spec.partition("=")
            cand = version or cands.get(name)
            if cand is None:
                raise SuiteError(f"package {name} is not in {self.name}")
            pattern = f"{name}_{cand.split(':', 1)[-1].replace(':', '%3a')}_*.deb"
            found = sorted(dest.glob(pattern))
            if found:
                out[spec] = found[0]
            else:
                todo.append(spec)
        if todo:
            cmd = ["apt-get", *self.options(), "download", "-q", *todo]
            try:
                self._run(cmd, dest, f"apt-get download {' '.join(todo)}")
            except SuiteError:
                if self._updated:
                    raise
                self.update(force=True)  # stale lists: the archive moved on
                return self.download(specs)
            for spec in todo:
                name = spec.partition("=")[0]
                got = sorted(dest.glob(f"{name}_*.deb"), key=lambda p: p.stat().st_mtime)
                if not got:
                    raise SuiteError(f"apt-get download {spec} ({self.name}): no .deb appeared")
                out[spec] = got[-1]
        return out

    def library_dependencies(self, debs: list[str], max_packages: int = 400) -> dict[str, Path]:
        """The lib* packages the .debs depend on, recursively, from this suite."""
        from .inputs import _parse_depends, read_deb_control

        infos = [read_deb_control(p) for p in debs]
        seen = {i.package for i in infos}
        fetched: dict[str, Path] = {}
        while infos and len(fetched) < max_packages:
            names = []
            for info in infos:
                for name in _parse_depends(info.pre_depends) + _parse_depends(info.depends):
                    if name not in seen and name.startswith("lib"):
                        seen.add(name)
                        names.append(name)
            cands = self.candidates(names)
            level = [n for n in names if cands[n] is not None]
            if not level:
                break
            got = self.download(level)
            fetched.update(got)
            infos = [read_deb_control(str(p)) for p in got.values()]
        return fetched




@dataclass
class Fetched:
    """What :func:`resolve_specs` made of the inputs."""

    inputs: list[str]
    """The inputs, with every ``NAME/SUITE`` replaced by the downloaded .deb."""
    providers: list[str]
    """Library .debs fetched from the suites (``with_deps``), for resolution only."""
    notes: list[str]


def resolve_specs(specs: list[str], *, with_deps: bool = False,
                  default_suite: str | None = None) -> Fetched:
    """Download the ``NAME/SUITE`` inputs (and, with ``with_deps``, their library packages
    from the same suite); other inputs are returned unchanged. ``default_suite`` applies to
    package names without a suite (a name that is not an existing path)."""
    from .inputs import _PACKAGE_NAME

    out: list[str] = []
    providers: list[str] = []
    notes: list[str] = []
    by_suite: dict[str, list[tuple[int, str]]] = {}
    for i, spec in enumerate(specs):
        name, suite = split_spec(spec)
        if suite is None and default_suite and not os.path.exists(spec) and \
                _PACKAGE_NAME.match(spec):
            name, suite = spec.removeprefix("apt:"), default_suite
        out.append(spec)
        if suite is not None:
            by_suite.setdefault(suite, []).append((i, name))
    for suite_name, items in by_suite.items():
        suite = Suite(suite_name)
        got = suite.download([n for _, n in items])
        for i, n in items:
            out[i] = str(got[n])
        if with_deps:
            deps = suite.library_dependencies([str(got[n]) for _, n in items])
            providers += [str(p) for p in deps.values()]
            if deps:
                notes.append(f"library packages fetched from {suite_name} for resolution: "
                             + ", ".join(sorted(deps)))
    return Fetched(out, providers, notes)


def machine_suite() -> str | None:
    """The suite this machine's apt uses (its codename), for labels."""
    return machine_codename()


__all__ = ["Fetched", "Suite", "SuiteError", "resolve_specs", "retarget_suites",
           "split_spec", "suite_stanzas"]
