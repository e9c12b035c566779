"""One apt client per apt configuration: candidates as apt chooses them, one download path
with a cache that never changes the answer, one library closure.

apt is the oracle for which version of a package is meant. abiguard never re-implements
its choice (pin priorities, the default release, NotAutomatic/ButAutomaticUpgrades suites
such as backports, the installed version): it asks apt, under the configuration in question.

* :class:`AptConfig` names a configuration: the machine's own (apt reads ``APT_CONFIG``
  from the environment, else ``/etc/apt/apt.conf``, exactly as apt-get does), or that plus
  a configuration file abiguard derived (:mod:`abiguard.debian.suites`), read last with
  ``-c FILE`` so that its settings win over every other file.
* :meth:`Apt.candidates` — ``apt-cache show --no-all-versions NAME…``: the record of apt's
  candidate version of each name (with Filename, Size, SHA256 and the relation fields).
  :meth:`Apt.exact` — ``apt-cache show NAME=VERSION``; :meth:`Apt.versions` —
  ``apt-cache madison NAME`` (what apt knows, for error messages).
  :meth:`Apt.dumpavail` — ``apt-cache dumpavail``: the candidate's record of every package
  (it honours pins and the default release: the census index).
* :meth:`Apt.download` — the one download path. The version is chosen first (a
  :class:`Record`), then the cache is looked in: ``<cache>/debs/<SHA-256>/<name>_<version>_
  <arch>.deb``, its content checked against the record's SHA-256 before each use (a file
  that does not match is removed and downloaded again). A download goes to a private
  directory (``apt-get download NAME=VERSION``), is checked, then renamed into place.
* :func:`library_closure` — the library packages (``lib*``) packages depend on, recursively
  (Pre-Depends and Depends; the first alternative that can be had): what their programs load.
"""

from __future__ import annotations

import gzip
import hashlib
import lzma
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Protocol, TypeVar

from ..cachedir import cache_dir
from ..errors import UsageError
from ..notify import Notify, short_list, silent
from . import answers
from .control import iter_paragraphs, parse_relations, source_of


class AptError(UsageError):
    """apt does not know a package or version, or could not download it (one line:
    ``subject: reason``)."""

    def __init__(self, subject: str, reason: str) -> None:
        super().__init__(f"{subject}: {reason}")
        self.subject = subject
        self.reason = reason


@dataclass(frozen=True, slots=True)
class AptConfig:
    """An apt configuration."""

    conf: str | None = None
    """The ``APT_CONFIG`` apt is run with (None: none, apt's default files)."""
    overlay: str | None = None
    """A derived configuration file read last (``-c``); None: the machine's own."""
    label: str = ""
    """What it is, for messages: "" (this machine) or a suite (``trixie``)."""
    derived: bool = False
    """abiguard made it and owns its package lists (may run ``apt-get update`` on them)."""

    @classmethod
    def machine(cls) -> AptConfig:
        """This machine's configuration, pinned to the ``APT_CONFIG`` in force now (so that
        worker processes started elsewhere use the same one)."""
        return cls(os.environ.get("APT_CONFIG") or None)

    def env(self) -> dict[str, str]:
        env = {**os.environ, "LC_ALL": "C"}
        env.pop("APT_CONFIG", None)
        if self.conf:
            env["APT_CONFIG"] = self.conf
        return env

    def args(self) -> list[str]:
        """The options every apt command of this configuration gets (after its name)."""
        return ["-c", self.overlay] if self.overlay else []

    def describe(self) -> str:
        if self.label:
            return f"suite {self.label}"
        return f"apt configuration {self.conf}" if self.conf else "this machine's apt"


RECORD_FIELDS = ("package", "version", "architecture", "filename", "size", "sha256", "source",
                 "depends", "pre-depends", "recommends", "suggests", "enhances", "provides")


@dataclass(frozen=True, slots=True)
class Record:
    """One version of a binary package as apt's lists describe it."""

    name: str
    version: str
    arch: str
    sha256: str | None = None
    size: int = 0
    filename: str | None = None
    """The archive's pool path; None for a version known only as installed."""
    source: str = ""
    source_version: str = ""
    depends: str = ""
    pre_depends: str = ""
    recommends: str = ""
    suggests: str = ""
    enhances: str = ""
    provides: str = ""

    @classmethod
    def from_fields(cls, f: dict[str, str]) -> Record | None:
        if not f.get("package") or not f.get("version"):
            return None
        try:
            size = int(f.get("size", "0"))
        except ValueError:
            size = 0
        source, source_version = source_of(f)
        return cls(f["package"], f["version"], f.get("architecture", ""),
                   f.get("sha256") or None, size, f.get("filename") or None, source,
                   source_version, f.get("depends", ""), f.get("pre-depends", ""),
                   f.get("recommends", ""), f.get("suggests", ""), f.get("enhances", ""),
                   f.get("provides", ""))

    @property
    def deb_filename(self) -> str:
        """The file name apt-get download gives it (the epoch's ':' quoted as %3a)."""
        return deb_filename(self.name, self.version, self.arch)

    def __str__(self) -> str:
        return f"{self.name} {self.version} {self.arch}".strip()


def deb_filename(name: str, version: str, arch: str) -> str:
    return f"{name}_{version.replace(':', '%3a')}_{arch}.deb"


class Downloadable(Protocol):
    """What a download needs to know (a :class:`Record`, a census PackageRef)."""

    @property
    def name(self) -> str: ...
    @property
    def version(self) -> str: ...
    @property
    def arch(self) -> str: ...
    @property
    def sha256(self) -> str | None: ...


def native_arch() -> str:
    if shutil.which("dpkg"):
        proc = subprocess.run(["dpkg", "--print-architecture"], check=False,
                              capture_output=True, text=True)
        if proc.returncode == 0 and proc.stdout.strip():
            return proc.stdout.strip()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)


def sha256_file(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(1 << 20):
            h.update(chunk)
    return h.hexdigest()


DPKG_STATUS = "/var/lib/dpkg/status"


def installed_versions() -> dict[str, str]:
    """name -> version of the packages installed on this machine (dpkg status 'ii'); kept
    in the cache for as long as dpkg's status file is unchanged (abiguard.debian.answers)."""
    if not shutil.which("dpkg-query"):
        return {}
    return answers.installed(answers_dir(), DPKG_STATUS, _query_installed)


def answers_dir() -> Path:
    """Where apt's and dpkg's answers are kept (abiguard.debian.answers)."""
    return cache_dir() / "apt-answers"


def _query_installed() -> dict[str, str]:
    proc = subprocess.run(["dpkg-query", "-W", "-f",
                           "${Package}\\t${Version}\\t${db:Status-Abbrev}\\n"],
                          check=False, capture_output=True, text=True)
    out = {}
    for ln in proc.stdout.splitlines():
        parts = ln.split("\t")
        if len(parts) == 3 and parts[2].startswith("ii"):
            out[parts[0]] = parts[1]
    return out


APT_HELPER = "/usr/lib/apt/apt-helper"


def read_index_file(path: str) -> str:
    """The text of a Packages (or Sources) file in any compression apt uses (``.lz4`` and
    ``.zst`` through ``apt-helper cat-file``)."""
    if path.endswith(".gz"):
        with gzip.open(path, "rt", encoding="utf-8", errors="replace") as fh:
            return fh.read()
    if path.endswith((".xz", ".lzma")):
        with lzma.open(path, "rt", encoding="utf-8", errors="replace") as fh:
            return fh.read()
    if path.endswith((".lz4", ".zst")):
        if not os.path.exists(APT_HELPER):
            raise AptError(path, f"cannot decompress without {APT_HELPER}")
        proc = subprocess.run([APT_HELPER, "cat-file", path], check=False, capture_output=True)
        if proc.returncode != 0:
            raise AptError(path, "apt-helper cat-file failed: "
                                 f"{proc.stderr.decode(errors='replace').strip()}")
        return proc.stdout.decode("utf-8", errors="replace")
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.read()


def _answered(proc: subprocess.CompletedProcess[str]) -> bool:
    """apt-cache show answered (exit 0; or 100 with only "No packages found": none of the
    names is known), rather than failed."""
    if proc.returncode == 0:
        return True
    errors = [ln.strip() for ln in proc.stderr.splitlines() if ln.startswith("E:")]
    return proc.returncode == 100 and errors == ["E: No packages found"]


def _fields(rec: Record | None) -> dict[str, object] | None:
    return asdict(rec) if rec is not None else None


def _record(fields: object) -> tuple[bool, Record | None]:
    """A kept answer read back: (readable, the Record or None: apt knew none)."""
    if fields is None:
        return True, None
    if not isinstance(fields, dict):
        return False, None
    try:
        return True, Record(**fields)
    except TypeError:
        return False, None


def _error_line(text: str, default: str) -> str:
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return next((ln for ln in lines if ln.startswith("E:")), lines[-1] if lines else default)


class Apt:
    """apt under one configuration. Answers are remembered for the life of the object (use
    :func:`client` for the shared one of a configuration)."""

    def __init__(self, config: AptConfig | None = None, debs: Path | None = None) -> None:
        self.config = config if config is not None else AptConfig.machine()
        self.debs = debs
        """Where downloads are kept (default: ``<cache>/debs``)."""
        self._arch: str | None = None
        self._candidates: dict[str, Record | None] = {}
        self._exact: dict[tuple[str, str], Record | None] = {}
        self._kept: answers.Answers | None = None

    @property
    def arch(self) -> str:
        if self._arch is None:
            self._arch = native_arch()
        return self._arch

    # -- running apt -------------------------------------------------------------------------

    def _run(self, args: list[str], cwd: str | Path | None = None
             ) -> subprocess.CompletedProcess[str]:
        if shutil.which(args[0]) is None:
            raise AptError(args[0], "not found (abiguard asks apt which package version "
                           "is meant): give .deb files instead of package names")
        return subprocess.run([args[0], *self.config.args(), *args[1:]], cwd=cwd,
                              capture_output=True, text=True, check=False,
                              env=self.config.env())

    def run(self, args: list[str], what: str, cwd: str | Path | None = None) -> str:
        """Run an apt command; AptError with apt's own error line when it fails."""
        proc = self._run(args, cwd)
        if proc.returncode != 0:
            err = _error_line(proc.stderr or proc.stdout, f"exit status {proc.returncode}")
            where = f" ({self.config.label})" if self.config.label else ""
            raise AptError(f"{what}{where}", err)
        return proc.stdout

    def update(self) -> None:
        """``apt-get update`` of a derived configuration's own lists (never the machine's)."""
        if not self.config.derived:
            raise AptError("apt-get update", "abiguard never updates this machine's lists")
        self.run(["apt-get", "-q", "update"], "apt-get update")
        self._candidates.clear()
        self._exact.clear()
        self._kept = None

    def _records(self, text: str) -> Iterable[Record]:
        for f in iter_paragraphs(text, RECORD_FIELDS):
            rec = Record.from_fields(f)
            if rec is not None and rec.arch in (self.arch, "all"):
                yield rec

    # -- which version -----------------------------------------------------------------------

    def kept(self) -> answers.Answers:
        """apt's answers kept for the present state of its files (abiguard.debian.answers)."""
        if self._kept is None:
            ident = answers.identity(self._run, (self.config.conf, self.config.overlay),
                                     self.arch) if shutil.which("apt-config") else None
            self._kept = answers.answers(answers_dir(), ident)
        return self._kept

    def candidates(self, names: Iterable[str]) -> dict[str, Record | None]:
        """apt's candidate of each name (None: unknown, virtual, or no candidate): kept
        answers for the present state of apt's files, else one ``apt-cache show
        --no-all-versions`` for those not asked before."""
        names = list(dict.fromkeys(names))
        todo = [n for n in names if n not in self._candidates]
        if todo:
            known = self.kept().get("candidates")
            for n in todo:
                if n in known:
                    ok, rec = _record(known[n])
                    if ok:
                        self._candidates[n] = rec
            todo = [n for n in todo if n not in self._candidates]
        if todo:
            proc = self._run(["apt-cache", "show", "--no-all-versions", *todo])
            found: dict[str, Record] = {}
            for rec in self._records(proc.stdout):
                found.setdefault(rec.name, rec)
            for n in todo:
                self._candidates[n] = found.get(n)
            if _answered(proc):
                self.kept().put("candidates", {n: _fields(self._candidates[n]) for n in todo})
        return {n: self._candidates[n] for n in names}

    def exact(self, name: str, version: str) -> Record | None:
        """The record of ``name`` at exactly ``version`` (None: apt does not know it)."""
        key = (name, version)
        if key not in self._exact:
            spec = f"{name}={version}"
            known = self.kept().get("exact")
            ok, rec = _record(known[spec]) if spec in known else (False, None)
            if not ok:
                proc = self._run(["apt-cache", "show", f"{name}={version}"])
                rec = next((r for r in self._records(proc.stdout)
                            if r.name == name and r.version == version), None)
                if _answered(proc):
                    self.kept().put("exact", {spec: _fields(rec)})
            self._exact[key] = rec
        return self._exact[key]

    def versions(self, name: str) -> list[str]:
        """Every version of ``name`` apt knows (``apt-cache madison``), newest first."""
        proc = self._run(["apt-cache", "madison", name])
        out = []
        for ln in proc.stdout.splitlines():
            parts = [p.strip() for p in ln.split("|")]
            if len(parts) >= 3 and parts[0] == name:
                out.append(parts[1])
        return list(dict.fromkeys(out))

    def resolve(self, specs: Iterable[str]) -> dict[str, Record | AptError]:
        """``NAME`` -> apt's candidate; ``NAME=VERSION`` -> exactly that version. What apt
        cannot give is an AptError naming the versions it knows."""
        specs = list(dict.fromkeys(specs))
        cands = self.candidates([s for s in specs if "=" not in s])
        out: dict[str, Record | AptError] = {}
        for spec in specs:
            name, _, version = spec.partition("=")
            rec = self.exact(name, version) if version else cands[name]
            out[spec] = rec if rec is not None else self._not_found(name, version)
        return out

    def _not_found(self, name: str, version: str) -> AptError:
        known = self.versions(name)
        where = self.config.describe()
        if not known:
            return AptError(name, f"no such package in the package lists of {where}")
        listed = ", ".join(known)
        if version:
            return AptError(f"{name}={version}", f"no such version in {where}; apt knows "
                                                 f"{listed}")
        return AptError(name, f"apt has no candidate version in {where} (pinned away?); it "
                              f"knows {listed}")

    def dumpavail(self) -> list[Record]:
        """The candidate version's record of every package (native architecture and all)."""
        return list(self._records(self.run(["apt-cache", "dumpavail"], "apt-cache dumpavail")))

    # -- downloads ---------------------------------------------------------------------------

    @property
    def debs_dir(self) -> Path:
        return self.debs if self.debs is not None else cache_dir() / "debs"

    def deb_path(self, item: Downloadable) -> Path:
        return self.debs_dir / (item.sha256 or "unknown") / deb_filename(
            item.name, item.version, item.arch)

    def cached(self, item: Downloadable) -> Path | None:
        """The cached .deb of exactly this item, its content checked against the SHA-256
        (a file that does not match is removed). A file checked once is not hashed again
        while its size, modification time and inode stay those it had when checked (noted
        next to it in ``.<file name>.checked``)."""
        if not item.sha256:
            return None
        path = self.deb_path(item)
        stamp = path.with_name(f".{path.name}.checked")
        try:
            st = os.stat(path)
            seen = f"{item.sha256} {st.st_size} {st.st_mtime_ns} {st.st_ino}"
            if stamp.is_file() and stamp.read_text(encoding="ascii") == seen:
                return path
            if sha256_file(path) == item.sha256:
                try:
                    stamp.write_text(seen, encoding="ascii")
                except OSError:
                    pass
                return path
        except OSError:
            return None
        path.unlink(missing_ok=True)
        stamp.unlink(missing_ok=True)
        return None

    def download(self, items: Iterable[Downloadable], *, fetch: bool = True,
                 notify: Notify = silent) -> dict[str, Path | AptError]:
        """A local .deb of each item (by name): the cache, else ``apt-get download``, one
        call for all that are missing (then one by one when that call fails). ``notify``
        hears ("download", …) before apt-get runs (abiguard.notify)."""
        out: dict[str, Path | AptError] = {}
        todo = []
        for it in items:
            hit = self.cached(it)
            if hit is not None:
                out[it.name] = hit
            elif not it.sha256:
                out[it.name] = AptError(f"{it.name} {it.version}", "no archive record with "
                                        "a SHA-256 (installed only?): cannot download it")
            elif not fetch:
                out[it.name] = AptError(f"{it.name} {it.version}", f"not in {self.debs_dir} "
                                        "and downloads are off (--no-fetch)")
            else:
                todo.append(it)
        if not todo:
            return out
        root = self.debs_dir
        root.mkdir(parents=True, exist_ok=True)
        where = f" from {self.config.label}" if self.config.label else ""
        notify("download", f"downloading {len(todo)} package(s){where} with apt-get: "
                           f"{short_list([t.name for t in todo])}")
        batches = [todo] if len(todo) == 1 else [todo, *[[r] for r in todo]]
        for batch in batches:
            batch = [r for r in batch if r.name not in out]
            if not batch:
                continue
            tmp = tempfile.mkdtemp(prefix=".fetch-", dir=root)
            try:
                proc = self._run(["apt-get", "download", "-q",
                                  *[f"{r.name}={r.version}" for r in batch]], cwd=tmp)
                if proc.returncode != 0 and len(batch) > 1:
                    continue  # one bad spec fails the lot: retry one by one
                for r in batch:
                    out[r.name] = self._take(r, tmp, proc)
            finally:
                shutil.rmtree(tmp, ignore_errors=True)
        return out

    def _take(self, r: Downloadable, tmp: str, proc: subprocess.CompletedProcess[str]
              ) -> Path | AptError:
        what = f"apt-get download {r.name}={r.version}"
        if self.config.label:
            what += f" ({self.config.label})"
        path = os.path.join(tmp, deb_filename(r.name, r.version, r.arch))
        if not os.path.isfile(path):
            found = [f for f in os.listdir(tmp) if f.startswith(r.name + "_")]
            path = os.path.join(tmp, found[0]) if len(found) == 1 else ""
        if not path:
            return AptError(what, _error_line(proc.stderr, "no .deb appeared"))
        if sha256_file(path) != r.sha256:
            return AptError(what, "SHA-256 does not match the index")
        dest = self.deb_path(r)
        dest.parent.mkdir(parents=True, exist_ok=True)
        os.replace(path, dest)
        return dest

    def fetch(self, items: Iterable[Downloadable]) -> dict[str, Path]:
        """:meth:`download`, raising the first error."""
        got = self.download(items)
        for v in got.values():
            if isinstance(v, AptError):
                raise v
        return {k: v for k, v in got.items() if isinstance(v, Path)}

    # -- closure -----------------------------------------------------------------------------

    def closure(self, packages: Iterable[Related], *, exclude: Iterable[str] = (),
                max_packages: int = 600) -> list[Record]:
        """:func:`library_closure` with apt's candidates."""
        return library_closure(packages, self.candidates, exclude=exclude, arch=self.arch,
                               max_packages=max_packages)


class Related(Protocol):
    """Anything with the two fields a closure follows (a Record, DebInfo, PackageRef)."""

    @property
    def depends(self) -> str: ...
    @property
    def pre_depends(self) -> str: ...


class Package(Related, Protocol):
    @property
    def name(self) -> str: ...


P = TypeVar("P", bound=Package)


def library_closure(packages: Iterable[Related],
                    lookup: Callable[[list[str]], Mapping[str, P | None]], *,
                    exclude: Iterable[str] = (), arch: str | None = None,
                    max_packages: int = 600) -> list[P]:
    """The library packages (``lib*``) the packages depend on through Pre-Depends and
    Depends, recursively, breadth first: what their programs load. Of alternatives, the
    first that ``lookup`` knows is taken (``lookup`` answers a list of names at once: one
    apt call, or an index, per level). Names in ``exclude`` (the packages themselves) are
    never followed."""
    seen = set(exclude)
    out: list[P] = []
    level: list[Related] = list(packages)
    while level and len(out) < max_packages:
        groups = [alts for p in level
                  for alts in parse_relations(p.pre_depends, arch) + parse_relations(
                      p.depends, arch)]
        known = lookup(list(dict.fromkeys(r.name for alts in groups for r in alts)))
        level = []
        for alts in groups:
            rec = next((hit for r in alts if (hit := known.get(r.name)) is not None), None)
            if rec is None or rec.name in seen or not rec.name.startswith("lib"):
                continue
            seen.add(rec.name)
            out.append(rec)
            level.append(rec)
    return out


_CLIENTS: dict[AptConfig, Apt] = {}


def client(config: AptConfig | None = None) -> Apt:
    """The shared client of a configuration (default: this machine's)."""
    config = config if config is not None else AptConfig.machine()
    hit = _CLIENTS.get(config)
    if hit is None:
        hit = _CLIENTS[config] = Apt(config)
    return hit


__all__ = ["Apt", "AptConfig", "AptError", "Downloadable", "Record", "Related", "client",
           "deb_filename", "installed_versions", "library_closure", "native_arch",
           "read_index_file", "sha256_file"]
