"""Where a census gets its packages: apt's package lists, a directory of .debs, unpacked roots.

Every source yields :class:`PackageRef` objects (one consumer package each). For packages
from apt's lists, everything the store key needs (name, version, architecture, SHA-256) is
known before anything is downloaded, so a re-run skips stored packages without a download;
the library packages each consumer depends on (its *closure*) are computed here too.

apt's lists are read directly (``/var/lib/apt/lists/*_Packages*``, decompressed by
``apt-helper cat-file``, which knows every compression apt uses) rather than through
``apt-cache rdepends``: one pass gives the whole index, reverse dependencies are then a
dictionary lookup, and a ``Packages`` file of another release or a local mirror works the
same way (``--packages-file``).
"""

from __future__ import annotations

import fnmatch
import glob
import gzip
import lzma
import os
import re
import shutil
import subprocess
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..errors import UsageError

APT_LISTS = "/var/lib/apt/lists"
APT_HELPER = "/usr/lib/apt/apt-helper"

_FIELDS = {"Package", "Version", "Architecture", "Depends", "Pre-Depends", "Provides",
           "Filename", "Size", "SHA256", "Source"}
_DEB_NAME = re.compile(r"^([a-z0-9][a-z0-9+.-]+)_([^_/]+)_([a-z0-9-]+)\.deb$")


@dataclass(frozen=True, slots=True)
class PackageRef:
    """One binary package: from apt's lists, a .deb file or an unpacked root."""

    name: str
    version: str = ""
    arch: str = ""
    sha256: str | None = None
    """Content hash of the .deb; None until read (local files, roots)."""
    size: int = 0
    path: str | None = None
    """A local .deb or root directory; None: download ``filename`` with apt."""
    filename: str | None = None
    """The archive's pool path (Filename field)."""
    depends: str = ""
    pre_depends: str = ""
    provides: str = ""
    kind: str = "deb"
    """deb (a .deb file, local or to download) | root (an unpacked directory)."""
    deps: tuple[PackageRef, ...] = ()
    """Library packages to resolve against (the consumer's closure), when known up front."""

    @property
    def key(self) -> tuple[str, str, str, str] | None:
        if self.sha256 is None:
            return None
        return (self.name, self.version, self.arch, self.sha256)

    @property
    def deb_filename(self) -> str:
        """The file name apt-get download gives it (the epoch's ':' quoted as %3a)."""
        return f"{self.name}_{self.version.replace(':', '%3a')}_{self.arch}.deb"

    def __str__(self) -> str:
        return f"{self.name} {self.version} {self.arch}".strip()


# --------------------------------------------------------------------------------------------
# Depends fields
# --------------------------------------------------------------------------------------------


def parse_relations(text: str) -> list[list[str]]:
    """A Depends-like field as a list of alternatives, each a list of package names."""
    out = []
    for part in text.split(","):
        alts = []
        for alt in part.split("|"):
            name = re.split(r"[\s(\[<]", alt.strip(), maxsplit=1)[0].split(":", 1)[0]
            if name:
                alts.append(name)
        if alts:
            out.append(alts)
    return out


def relation_names(text: str) -> set[str]:
    return {n for alts in parse_relations(text) for n in alts}


def version_key(version: str):
    """A sort key comparing Debian versions as dpkg does."""
    from debian.debian_support import Version

    return Version(version)


# --------------------------------------------------------------------------------------------
# apt's package lists
# --------------------------------------------------------------------------------------------


def native_arch() -> str:
    if shutil.which("dpkg"):
        proc = subprocess.run(["dpkg", "--print-architecture"], check=False, capture_output=True, text=True)
        if proc.returncode == 0 and proc.stdout.strip():
            return proc.stdout.strip()
    return {"x86_64": "amd64", "aarch64": "arm64"}.get(os.uname().machine, os.uname().machine)


def _read_list(path: str) -> str:
    """The text of a Packages file in any compression apt uses."""
    if path.endswith(".gz"):
        return gzip.open(path, "rt", encoding="utf-8", errors="replace").read()
    if path.endswith((".xz", ".lzma")):
        return lzma.open(path, "rt", encoding="utf-8", errors="replace").read()
    if path.endswith((".lz4", ".zst")) or not os.path.isfile(path):
        if not os.path.exists(APT_HELPER):
            raise UsageError(f"{path}: cannot decompress without {APT_HELPER}")
        proc = subprocess.run([APT_HELPER, "cat-file", path], check=False, capture_output=True)
        if proc.returncode != 0:
            raise UsageError(f"{path}: apt-helper cat-file failed: "
                             f"{proc.stderr.decode(errors='replace').strip()}")
        return proc.stdout.decode("utf-8", errors="replace")
    with open(path, encoding="utf-8", errors="replace") as fh:
        return fh.read()


read_list = _read_list
"""Public name of the Packages (or Contents) reader: any compression apt uses."""


def iter_stanzas(text: str) -> Iterator[dict[str, str]]:
    """The stanzas of a Packages (deb822) file, with only the fields a census needs."""
    cur: dict[str, str] = {}
    last = None
    for line in text.splitlines():
        if not line:
            if cur:
                yield cur
            cur, last = {}, None
            continue
        if line[0] in " \t":
            if last is not None:
                cur[last] += " " + line.strip()
            continue
        k, _, v = line.partition(":")
        if k in _FIELDS:
            cur[k] = v.strip()
            last = k
        else:
            last = None
    if cur:
        yield cur


def _ref(st: dict[str, str], base: str | None) -> PackageRef | None:
    if "Package" not in st or "Version" not in st:
        return None
    filename = st.get("Filename")
    path = None
    if base and filename:
        cand = os.path.join(base, filename)
        path = cand if os.path.isfile(cand) else None
    try:
        size = int(st.get("Size", "0"))
    except ValueError:
        size = 0
    return PackageRef(st["Package"], st["Version"], st.get("Architecture", ""),
                      st.get("SHA256") or None, size, path, filename, st.get("Depends", ""),
                      st.get("Pre-Depends", ""), st.get("Provides", ""))


@dataclass
class AptIndex:
    """The newest version of every package for the native architecture (and ``all``)."""

    packages: dict[str, PackageRef] = field(default_factory=dict)
    providers: dict[str, list[str]] = field(default_factory=dict)
    """Virtual package name -> real packages that Provide it."""
    files: list[str] = field(default_factory=list)
    arch: str = ""

    @classmethod
    def load(cls, files: Iterable[str] | None = None, *, arch: str | None = None,
             archive: str | None = None) -> AptIndex:
        """Read Packages files (default: apt's lists). ``archive`` is a local mirror root
        against which Filename fields are looked up (so no download is needed)."""
        arch = arch or native_arch()
        use_cache = files is None  # apt's own lists: parsed once, kept until they change
        if files is None:
            files = sorted(p for p in glob.glob(os.path.join(APT_LISTS, "*_Packages*"))
                           if f"binary-{arch}_" in os.path.basename(p)
                           or "binary-all_" in os.path.basename(p))
            if not files:
                raise UsageError(f"no package lists in {APT_LISTS} for {arch} "
                                 "(run apt-get update, or give --packages-file)")
        files = list(files)
        for f in files:
            if not os.path.exists(f):
                raise UsageError(f"{f}: no such Packages file")
        cached = _cached_index(files, arch, archive) if use_cache else None
        if cached is not None:
            return cached
        index = cls(arch=arch, files=files)
        for f in index.files:
            for st in iter_stanzas(_read_list(f)):
                ref = _ref(st, archive)
                if ref is None or ref.arch not in (arch, "all"):
                    continue
                old = index.packages.get(ref.name)
                if old is None or (old.version != ref.version and
                                   version_key(ref.version) > version_key(old.version)):
                    index.packages[ref.name] = ref
        for ref in index.packages.values():
            for virt in relation_names(ref.provides):
                index.providers.setdefault(virt, []).append(ref.name)
        if use_cache:
            _save_index(index, files, arch, archive)
        return index

    def get(self, name: str) -> PackageRef | None:
        """A package by name, or the first real package providing the virtual name."""
        ref = self.packages.get(name)
        if ref is None and name in self.providers:
            ref = self.packages.get(min(self.providers[name]))
        return ref

    def match(self, patterns: Iterable[str]) -> list[str]:
        """Package names matching any of the globs (exact names included)."""
        pats = list(patterns)
        return sorted(n for n in self.packages if any(fnmatch.fnmatchcase(n, p) for p in pats))

    def rdepends(self, patterns: Iterable[str]) -> tuple[list[str], list[PackageRef]]:
        """(the library packages the globs match, every package depending on one of them
        through Depends or Pre-Depends, any alternative, directly or via Provides)."""
        libs = self.match(patterns)
        if not libs:
            raise UsageError(f"--rdepends {' '.join(patterns)}: no package in the lists "
                             "matches")
        wanted = set(libs)
        for n in libs:
            wanted |= relation_names(self.packages[n].provides)
        out = [ref for ref in self.packages.values()
               if wanted & (relation_names(ref.depends) | relation_names(ref.pre_depends))]
        return libs, sorted(out, key=lambda r: r.name)

    def closure(self, ref: PackageRef, max_packages: int = 600) -> tuple[PackageRef, ...]:
        """The library packages (lib*) ref depends on, recursively, breadth first: what its
        programs load. The first alternative apt knows is taken."""
        seen = {ref.name}
        out: list[PackageRef] = []
        level = [ref]
        while level and len(out) < max_packages:
            nxt = []
            for r in level:
                for alts in parse_relations(r.pre_depends) + parse_relations(r.depends):
                    dep = next((d for d in (self.get(a) for a in alts) if d is not None), None)
                    if dep is None or dep.name in seen or not dep.name.startswith("lib"):
                        continue
                    seen.add(dep.name)
                    out.append(dep)  # the index's own object: closures share them
                    nxt.append(dep)
            level = nxt
        return tuple(out)

    def with_closure(self, ref: PackageRef) -> PackageRef:
        return replace(ref, deps=self.closure(ref))


def _index_cache_path(files: list[str], arch: str, archive: str | None) -> Path | None:
    import hashlib

    from ..inputs import cache_dir

    h = hashlib.sha256(f"{arch}\0{archive}\0".encode())
    for f in files:
        st = os.stat(f)
        h.update(f"{os.path.abspath(f)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return cache_dir() / "apt-index" / f"{h.hexdigest()[:32]}.pickle"


def _cached_index(files: list[str], arch: str, archive: str | None) -> AptIndex | None:
    """The parsed index of these exact list files (same sizes and mtimes), if cached."""
    import pickle

    path = _index_cache_path(files, arch, archive)
    try:
        with open(path, "rb") as fh:
            index = pickle.load(fh)
    except (OSError, EOFError, pickle.UnpicklingError, AttributeError, TypeError):
        return None
    return index if isinstance(index, AptIndex) else None


def _save_index(index: AptIndex, files: list[str], arch: str, archive: str | None) -> None:
    """Keep the parsed index (apt's lists take ~2 s to parse; the pickle ~0.3 s to load)."""
    import pickle

    path = _index_cache_path(files, arch, archive)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob("*.pickle"):  # one index per machine is plenty
            old.unlink(missing_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        with open(tmp, "wb") as fh:
            pickle.dump(index, fh, protocol=pickle.HIGHEST_PROTOCOL)
        os.replace(tmp, path)
    except OSError:
        pass


# --------------------------------------------------------------------------------------------
# Local files
# --------------------------------------------------------------------------------------------


def parse_deb_filename(path: str) -> tuple[str, str, str] | None:
    """(name, version, arch) from a pool file name ``name_version_arch.deb``."""
    m = _DEB_NAME.match(os.path.basename(path))
    if not m:
        return None
    return m.group(1), m.group(2).replace("%3a", ":").replace("%3A", ":"), m.group(3)


def find_debs(directory: str) -> list[str]:
    """The .deb files below a directory, sorted."""
    out = []
    for dirpath, dirnames, filenames in os.walk(directory):
        dirnames.sort()
        out += [os.path.join(dirpath, f) for f in sorted(filenames) if f.endswith(".deb")]
    return out


def deb_refs(paths: Iterable[str]) -> list[PackageRef]:
    """Refs for local .deb files (name/version/arch from the file name when it follows the
    pool convention; the worker reads the control file and hashes the content either way)."""
    out = []
    for p in paths:
        p = os.path.abspath(p)
        parsed = parse_deb_filename(p)
        name, version, arch = parsed if parsed else (os.path.basename(p), "", "")
        try:
            size = os.path.getsize(p)
        except OSError:
            size = 0
        out.append(PackageRef(name, version, arch, None, size, p, kind="deb"))
    return out


def set_index(refs: Iterable[PackageRef]) -> dict[str, str]:
    """Package name -> .deb path of a set of local packages (what deps are looked up in)."""
    out: dict[str, str] = {}
    for r in refs:
        if r.path and r.kind == "deb" and parse_deb_filename(r.path):
            out.setdefault(r.name, r.path)
    return out


_ROOT_MARKERS = ("usr", "lib", "lib64", "bin", "sbin", "opt", "etc", "DEBIAN")


def is_root(d: str) -> bool:
    """Whether a directory looks like an unpacked package (has usr/, lib/, DEBIAN/, ...)."""
    return os.path.isdir(d) and any(os.path.isdir(os.path.join(d, s)) for s in _ROOT_MARKERS)


def root_ref(d: str) -> PackageRef:
    """One unpacked root. Name, version and architecture come from DEBIAN/control
    (``dpkg-deb -R``) when there is one, else the directory name."""
    d = os.path.abspath(d)
    control = os.path.join(d, "DEBIAN", "control")
    st: dict[str, str] = {}
    if os.path.isfile(control):
        with open(control, encoding="utf-8", errors="replace") as fh:
            st = next(iter_stanzas(fh.read()), {})
    return PackageRef(st.get("Package", os.path.basename(d)), st.get("Version", ""),
                      st.get("Architecture", ""), None, 0, d, None, st.get("Depends", ""),
                      st.get("Pre-Depends", ""), st.get("Provides", ""), kind="root")


def root_refs(directory: str) -> list[PackageRef]:
    """The unpacked package roots of a directory: the directory itself if it is one, else
    each of its subdirectories that is one."""
    directory = os.path.abspath(directory)
    if is_root(directory):
        return [root_ref(directory)]
    return [root_ref(os.path.join(directory, s)) for s in sorted(os.listdir(directory))
            if is_root(os.path.join(directory, s))]


def tree_signature(root: str) -> str:
    """A cheap signature of a directory tree (paths, sizes, mtimes): whether it changed."""
    import hashlib

    h = hashlib.sha256()
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for f in sorted(filenames):
            p = os.path.join(dirpath, f)
            try:
                st = os.lstat(p)
            except OSError:
                continue
            h.update(f"{os.path.relpath(p, root)}\0{st.st_size}\0{st.st_mtime_ns}\n".encode())
    return h.hexdigest()


def installed_versions() -> dict[str, str]:
    """name -> version of the packages installed on this machine (dpkg status 'ii')."""
    if not shutil.which("dpkg-query"):
        return {}
    proc = subprocess.run(["dpkg-query", "-W", "-f",
                           "${Package}\\t${Version}\\t${db:Status-Abbrev}\\n"],
                          check=False, capture_output=True, text=True)
    out = {}
    for ln in proc.stdout.splitlines():
        parts = ln.split("\t")
        if len(parts) == 3 and parts[2].startswith("ii"):
            out[parts[0]] = parts[1]
    return out


def classify_inputs(inputs: Iterable[str]) -> tuple[list[str], list[str], list[str]]:
    """Split positional inputs into (apt package names, .deb files, root directories).
    A directory holding .deb files contributes them; any other directory is a tree of roots."""
    names, debs, roots = [], [], []
    for spec in inputs:
        if os.path.isdir(spec):
            found = find_debs(spec)
            if found:
                debs += found
            else:
                roots.append(spec)
        elif os.path.isfile(spec):
            debs.append(spec)
        elif spec.startswith("apt:") or re.match(r"^[a-z0-9][a-z0-9+.-]+(=\S+)?$", spec):
            names.append(spec.removeprefix("apt:"))
        else:
            raise UsageError(f"{spec}: no such file, directory or package name")
    return names, debs, roots


def path_of(p: str | Path) -> str:
    return os.path.abspath(str(p))
