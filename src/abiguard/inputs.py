"""Inputs: ELF files, ar archives, directories, .deb packages and apt package names.

``collect(specs, ...)`` turns what the user named into *targets* (the ELF objects to scan,
each with its installed path and origin), *overlays* (unpacked package roots the resolver
looks into before the sysroot) and *errors* (inputs that could not be read: reported, never
dropped). Nothing is executed: .deb files are read by our own strict ar and tar readers
(abiguard.tarstream), and unpacking keeps every path inside a private temporary directory.
"""

from __future__ import annotations

import errno
import io
import os
import re
import shutil
import stat
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from . import limits
from .elf import read_archive, read_elf
from .errors import ElfError, InputFileError, UsageError
from .model import ElfObject, InputError
from .notify import Notify, short_list, silent
from .tarstream import LimitExceeded, Refused, TarError, TarStream, decompressed

ELF_MAGIC = b"\x7fELF"
AR_MAGIC = b"!<arch>\n"

# Limits (issue #7: hostile inputs) live in abiguard.limits (configurable with --limit); these
# names are their defaults, kept for callers of the past.
MAX_UNPACKED_BYTES = limits.DEFAULTS.max_unpacked_bytes
MAX_MEMBERS = limits.DEFAULTS.max_tar_members

_PACKAGE_NAME = re.compile(r"^(apt:)?([a-z0-9][a-z0-9+.-]+)(=[A-Za-z0-9.+~:-]+)?$")


@dataclass(frozen=True, slots=True)
class Target:
    """One ELF object to scan."""

    elf: ElfObject
    installed: str
    """The path it has (or would have) once installed; what the report shows."""
    origin: str
    """What the user named: a file, a directory, a .deb or apt:NAME."""
    package: str | None = None
    """'name version arch' for objects from a package."""


@dataclass
class Collected:
    targets: list[Target] = field(default_factory=list)
    overlays: list[str] = field(default_factory=list)
    errors: list[InputError] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    _tmp: list[str] = field(default_factory=list)

    def cleanup(self) -> None:
        for d in self._tmp:
            shutil.rmtree(d, ignore_errors=True)
        self._tmp.clear()

    def __enter__(self) -> Collected:  # noqa: PYI034 - final class
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()


def _open_regular(path: str):
    """A binary file object for a regular file; OSError for anything else. Opened without
    blocking, so that a fifo among the inputs does not hang the scan."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def _magic(path: str, n: int = 8) -> bytes:
    try:
        with _open_regular(path) as fh:
            return fh.read(n)
    except OSError:
        return b""


def is_deb(path: str) -> bool:
    head = _magic(path, 72)
    return head.startswith(AR_MAGIC) and head[8:24].rstrip(b" ").rstrip(b"/") == b"debian-binary"


# --------------------------------------------------------------------------------------------
# .deb
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DebInfo:
    package: str
    version: str
    architecture: str
    depends: str = ""
    pre_depends: str = ""

    def __str__(self) -> str:
        return f"{self.package} {self.version} {self.architecture}"


class _Window(io.RawIOBase):
    """A read-only window [start, start + size) of an open file: one ar member."""

    def __init__(self, fh, start: int, size: int) -> None:
        super().__init__()
        self.fh, self.pos, self.end = fh, start, start + size

    def readable(self) -> bool:
        return True

    def readinto(self, b) -> int:
        n = min(len(b), self.end - self.pos)
        if n <= 0:
            return 0
        self.fh.seek(self.pos)
        got = self.fh.readinto(memoryview(b)[:n]) or 0
        self.pos += got
        return got


class _Deb:
    """The ar layer of a .deb, read strictly (positive decimal sizes, members inside the
    file, at most max_archive_members members): name -> (offset, size)."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self.fh = _open_regular(path)
        except OSError as exc:
            raise InputFileError(path, f"cannot open: {exc.strerror or exc}") from None
        try:
            self.members = self._index()
        except BaseException:
            self.fh.close()
            raise

    def _bad(self, why: str) -> InputFileError:
        return InputFileError(self.path, f"not a valid .deb package ({why})")

    def _index(self) -> list[tuple[str, int, int]]:
        fh = self.fh
        size = os.fstat(fh.fileno()).st_size
        if fh.read(8) != AR_MAGIC:
            raise self._bad("not an ar archive")
        cap = limits.current().max_archive_members
        out: list[tuple[str, int, int]] = []
        pos = 8
        while pos < size:
            fh.seek(pos)
            hdr = fh.read(60)
            if len(hdr) < 60:
                if hdr.strip(b"\n") == b"":
                    break
                raise self._bad(f"truncated ar member header at {pos:#x}")
            if hdr[58:60] != b"`\n":
                raise self._bad(f"bad ar member header at {pos:#x}")
            field = hdr[48:58].strip()
            if not field.isdigit():
                raise self._bad(f"bad ar member size {hdr[48:58]!r} at {pos:#x}")
            n = int(field)
            name = hdr[:16].rstrip(b" ").removesuffix(b"/").decode("latin-1")
            start = pos + 60
            if start + n > size:
                raise self._bad(f"truncated: ar member {name!r} ends past the end of the file")
            out.append((name, start, n))
            if len(out) > cap:
                raise limits.exceeded(self.path, f"more than {cap} ar members",
                                      "max_archive_members", cap)
            pos = start + n + (n & 1)
        names = [m[0] for m in out]
        if "debian-binary" not in names:
            raise self._bad(f"no debian-binary member; has {', '.join(names) or 'nothing'}")
        return out

    def member(self, prefix: str) -> tuple[str, io.BufferedReader]:
        """The first member named prefix or prefix.EXT, as a buffered reader."""
        for name, start, n in self.members:
            if name == prefix or name.startswith(prefix + "."):
                return name, io.BufferedReader(_Window(self.fh, start, n), 1 << 16)
        raise self._bad(f"no {prefix} member; has "
                        f"{', '.join(m[0] for m in self.members) or 'nothing'}")

    def close(self) -> None:
        self.fh.close()

    def __enter__(self) -> _Deb:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _open_tar(member, name: str, path: str, limit: int, limit_name: str,
              budget: int | None = None) -> TarStream:
    """The tar in ar member ``name``, streamed: no member over ``limit`` bytes, at most
    ``budget`` (default: ``limit``) decompressed bytes in all."""
    budget = limit if budget is None else budget
    try:
        chunks = decompressed(member, name, budget, limit_name, limit)
    except TarError as exc:
        raise InputFileError(path, str(exc)) from None
    return TarStream(chunks, max_member=limit, limit_name=limit_name)


def _parse_control(text: str) -> dict[str, str]:
    """The first paragraph of a deb822 control file (fields we use are single-line or
    folded; continuation lines are joined with a space)."""
    fields: dict[str, str] = {}
    key = None
    for line in text.splitlines():
        if not line.strip():
            if fields:
                break
            continue
        if line[0] in " \t":
            if key is not None:
                fields[key] += " " + line.strip()
            continue
        if line.startswith("#"):
            continue
        name, sep, value = line.partition(":")
        if not sep or not name.strip():
            key = None
            continue
        key = name.strip().lower()
        fields.setdefault(key, value.strip())
    return fields


def read_deb_control(path: str) -> DebInfo:
    """Package, version, architecture and dependencies of a .deb (its control file), read
    without running anything (no python-debian subprocess for zstd) and within limits."""
    cap = limits.current().max_control_bytes
    try:
        with _Deb(path) as deb:
            name, member = deb.member("control.tar")
            text = None
            tar = _open_tar(member, name, path, cap, "max_control_bytes")
            for info in tar:
                if info.name.removeprefix("./").lstrip("/") == "control" and info.isreg():
                    text = tar.read()
                    break
    except InputFileError:
        raise
    except LimitExceeded as exc:
        raise InputFileError(path, str(exc)) from None
    except Exception as exc:  # noqa: BLE001 - OSError, zstandard/lzma/zlib's own types
        raise InputFileError(path, f"not a valid .deb package (corrupt control.tar: "
                                   f"{_reason(exc)})") from None
    if text is None:
        raise InputFileError(path, "not a valid .deb package (no control file in control.tar)")
    control = _parse_control(text.decode("utf-8", "replace"))
    if not control.get("package"):
        raise InputFileError(path, "not a valid .deb package (control has no Package field)")
    return DebInfo(control["package"], control.get("version", "?"),
                   control.get("architecture", "?"), control.get("depends", ""),
                   control.get("pre-depends", ""))


def _reason(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def _safe_target(root: str, name: str) -> str | None:
    """The path inside root for a tar member name, or None if it would escape."""
    norm = os.path.normpath(name.removeprefix("./"))
    if norm.startswith(("/", "../")) or norm == ".." or "\0" in norm:
        return None
    return os.path.join(root, norm) if norm != "." else root


def _link_target(inst_dir: str, target: str) -> str | None:
    """The installed path a symlink points to, or None when '..' climbs above the root."""
    parts: list[str] = [] if target.startswith("/") else inst_dir.strip("/").split("/")
    for part in target.split("/"):
        if part in ("", "."):
            continue
        if part == "..":
            if not parts or parts == [""]:
                return None
            parts.pop()
        else:
            parts.append(part)
    return "/" + "/".join(p for p in parts if p)


# Errors of the machine rather than of the input: unpacking raises them as they are (a
# census records them as retryable failures; a corrupt package is recorded for good).
_MACHINE_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EIO, errno.ENOMEM,
                             errno.EMFILE, errno.ENFILE, errno.EACCES, errno.EPERM})


def _inside(real_root: str, p: str) -> bool:
    return p == real_root or p.startswith(real_root.rstrip("/") + "/")


class _Placer:
    """Where the members of one package land: the real path of a directory (made on first
    use) and its installed path, or None when it lies outside the root. A directory is
    resolved from its parent's answer (one mkdir, or one lstat when it exists): only an
    existing symlink on the way costs a realpath. Answers hold until a symlink or file
    replaces an existing entry (:meth:`changed`); a new symlink cannot change them (every
    answer is made of entries that existed then)."""

    def __init__(self, root: str, real_root: str) -> None:
        self.root = os.path.normpath(root)
        self.real_root = real_root
        self.changed()

    def changed(self) -> None:
        self._dirs: dict[str, tuple[str, str] | None] = {self.root: (self.real_root, "/")}

    def _resolved(self, real: str) -> tuple[str, str] | None:
        real = os.path.realpath(real)
        if not _inside(self.real_root, real):
            return None
        os.makedirs(real, exist_ok=True)  # a symlink to a directory made for no member yet
        rel = os.path.relpath(real, self.real_root)
        return real, "/" if rel == "." else "/" + rel

    def directory(self, path: str) -> tuple[str, str] | None:
        """Make a directory below the root (``path`` as joined to it); (its real path,
        installed path), or None when it lies outside the root."""
        todo = []
        while path not in self._dirs:
            parent, base = os.path.split(path)
            if parent == path:  # not below the root (callers pass _safe_target paths)
                return None
            todo.append((path, base))
            path = parent
        hit = self._dirs[path]
        for path, base in reversed(todo):
            if hit is not None:
                real = os.path.join(hit[0], base)
                try:
                    os.mkdir(real)
                except FileExistsError:
                    if os.path.islink(real):
                        hit = self._resolved(real)
                        self._dirs[path] = hit
                        continue
                    if not os.path.isdir(real):
                        raise
                hit = (real, hit[1].rstrip("/") + "/" + base)
            self._dirs[path] = hit
        return hit

    def place(self, dest: str) -> tuple[str, str] | None:
        """(real path, installed directory) of a member's destination, or None when its
        parent lies outside the root (reached through a symlink an earlier member planted)."""
        parent, base = os.path.split(dest)
        hit = self.directory(parent)
        return None if hit is None else (os.path.join(hit[0], base), hit[1])


def unpack_deb(path: str, root: str, *, wanted: Callable[[str, bytes], bool] | None = None,
               max_bytes: int | None = None) -> list[str]:
    """Unpack the ELF files, symlinks and ld.so.conf files of a .deb into root.

    Member names that are absolute or contain '..', members reached through a symlink
    pointing elsewhere, devices, fifos and sparse files are refused with an InputFileError.
    Symlinks are rewritten relative to where they land, so they never point at the host;
    links escaping the root are refused. Decompressed size, member count and tar header
    sizes are limited (abiguard.limits). Nothing is executed. Returns notes (skipped entries).
    """
    lim = limits.current()
    if max_bytes is None:
        max_bytes = lim.max_unpacked_bytes
    max_members = lim.max_tar_members
    real_root = os.path.realpath(root)
    os.makedirs(real_root, exist_ok=True)
    dirs = _Placer(root, real_root)
    notes: list[str] = []
    total = 0
    count = 0
    name = "data.tar"

    def count_bytes(n: int) -> None:  # what is written: members and hard-link copies
        nonlocal total
        total += n
        if total > max_bytes:
            raise LimitExceeded(limits.message(
                f"unpacked size exceeds {max_bytes} bytes in {name} (decompression bomb?)",
                "max_unpacked_bytes", max_bytes))

    try:
        with _Deb(path) as deb:
            name, member = deb.member("data.tar")
            # the stream also carries tar headers and padding: a little room for them
            budget = max_bytes + (max_bytes >> 6) + (64 << 10)
            tar = _open_tar(member, name, path, max_bytes, "max_unpacked_bytes", budget)
            for info in tar:
                count += 1
                if count > max_members:
                    raise limits.exceeded(path, f"more than {max_members} members in "
                                                f"{name}", "max_tar_members", max_members)
                dest = _safe_target(root, info.name)
                if dest is None:
                    raise InputFileError(path, f"refused: member {info.name!r} of {name} "
                                               "points outside the package root")
                if info.isdev():
                    raise InputFileError(path, f"refused: member {info.name!r} is a device "
                                               "or fifo")
                if info.isdir():
                    continue  # directories are made for the members kept, when placed
                # A regular file is looked at (its first bytes) before anything touches
                # the disk, and most are not kept: only ELF files, ar archives, ld.so.conf.
                head = b""
                if info.isreg():
                    count_bytes(info.size)
                    head = tar.head(8)
                    rel = "/" + dest[len(root):].lstrip("/")
                    keep = head.startswith((ELF_MAGIC, AR_MAGIC)) or \
                        rel.startswith("/etc/ld.so.conf")
                    if wanted is not None:
                        keep = wanted(rel, head)
                    if not keep:
                        continue
                elif not (info.issym() or info.islnk()):
                    continue
                where = dirs.place(dest)
                if where is None:
                    raise InputFileError(path, f"refused: member {info.name!r} of {name} "
                                               "is reached through a symlink pointing "
                                               "outside the package root")
                dest, inst_dir = where
                if info.issym():
                    target = info.linkname
                    absolute = _link_target(inst_dir, target)
                    if absolute is None:
                        raise InputFileError(path, f"refused: symlink {info.name!r} -> "
                                                   f"{target!r} points outside the package")
                    rel = os.path.relpath(absolute, inst_dir)
                    if os.path.lexists(dest):
                        os.unlink(dest)
                        dirs.changed()
                    os.symlink(rel, dest)
                elif info.islnk():
                    src = _safe_target(root, info.linkname)
                    if src is None or not _inside(real_root, os.path.realpath(src)):
                        raise InputFileError(path, f"refused: hard link {info.name!r} -> "
                                                   f"{info.linkname!r} points outside")
                    if os.path.isfile(src) and os.path.realpath(src) != dest:
                        count_bytes(os.path.getsize(src))
                        if os.path.islink(dest):
                            os.unlink(dest)
                            dirs.changed()
                        shutil.copyfile(src, dest)
                else:
                    if os.path.islink(dest):
                        os.unlink(dest)
                        dirs.changed()
                    with open(dest, "wb") as out:
                        tar.copy(out.write)
                    os.chmod(dest, 0o644)
            tar.finish()  # the compressed stream's own checks, to its end
    except InputFileError:
        raise
    except LimitExceeded as exc:
        raise InputFileError(path, str(exc)) from None
    except Refused as exc:
        raise InputFileError(path, f"refused: {exc}") from None
    except OSError as exc:
        if exc.errno in _MACHINE_ERRNOS:
            raise  # the machine's fault (disk full, ...), not the package's: not "corrupt"
        raise InputFileError(path, f"corrupt {name}: {_reason(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - zstandard/lzma/zlib raise their own types
        raise InputFileError(path, f"corrupt {name}: {_reason(exc)}") from None
    return notes


# --------------------------------------------------------------------------------------------
# apt
# --------------------------------------------------------------------------------------------


def cache_dir() -> Path:
    base = os.environ.get("ABIGUARD_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "abiguard")
    return Path(base)


def apt_download(names: list[str], dest: Path, notify: Notify = silent) -> dict[str, Path]:
    """Download packages with ``apt-get download`` into dest (reusing earlier downloads).

    Returns name -> .deb path. Raises UsageError naming the package apt does not know.
    ``notify`` hears ("download", …) before apt-get runs (abiguard.notify).
    """
    dest.mkdir(parents=True, exist_ok=True)
    out: dict[str, Path] = {}
    todo = []
    candidates = apt_candidates([s.partition("=")[0] for s in names if "=" not in s])
    for spec in names:
        name, _, version = spec.partition("=")
        cand = version or candidates.get(name)
        pattern = f"{name}_{_deb_quote(cand.split(':', 1)[-1])}_*.deb" if cand else None
        existing = sorted(dest.glob(pattern)) if pattern else []
        if existing:
            out[spec] = existing[0]
        else:
            todo.append(spec)
    if todo:
        if not shutil.which("apt-get"):
            raise UsageError("apt-get is not available: give .deb files instead of package names")
        known = [s for s in todo if "=" in s or candidates.get(s) is not None]
        if known:  # (a name apt does not know fails at once, with its own error)
            notify("download", f"downloading {len(known)} package(s) with apt-get: "
                               f"{short_list(known)}")
        proc = subprocess.run(["apt-get", "download", "-q", *todo], cwd=dest, check=False,
                              capture_output=True, text=True, env={**os.environ, "LC_ALL": "C"})
        if proc.returncode != 0:
            msg = next((ln for ln in proc.stderr.splitlines() if ln.startswith("E:")),
                       proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else "failed")
            raise UsageError(f"apt-get download {' '.join(todo)}: {msg}")
        for spec in todo:
            name = spec.partition("=")[0]
            found = sorted(dest.glob(f"{name}_*.deb"), key=lambda p: p.stat().st_mtime)
            if not found:
                raise UsageError(f"apt-get download {spec}: no .deb appeared")
            out[spec] = found[-1]
    return out


def _deb_quote(version: str) -> str:
    return version.replace(":", "%3a")


_CANDIDATES: dict[tuple[str, ...], dict[str, str | None]] = {}


def apt_candidates(names: list[str], apt_options: tuple[str, ...] = ()
                   ) -> dict[str, str | None]:
    """Candidate version of each package (None: apt does not know it), one apt-cache call.

    ``apt_options`` select another apt configuration (abiguard.aptsuite); results are
    remembered per configuration until ``forget_candidates``."""
    known = _CANDIDATES.setdefault(apt_options, {})
    todo = [n for n in dict.fromkeys(names) if n not in known]
    if todo and shutil.which("apt-cache"):
        proc = subprocess.run(["apt-cache", *apt_options, "policy", *todo],
                              capture_output=True, text=True, check=False,
                              env={**os.environ, "LC_ALL": "C"})
        current = None
        for line in proc.stdout.splitlines():
            if line and not line[0].isspace() and line.endswith(":"):
                current = line[:-1]
                known.setdefault(current, None)
            elif current and line.strip().startswith("Candidate:"):
                value = line.split(":", 1)[1].strip()
                known[current] = None if value == "(none)" else value
    for n in todo:
        known.setdefault(n, None)
    return {n: known.get(n) for n in names}


def forget_candidates(apt_options: tuple[str, ...] = ()) -> None:
    """Drop remembered candidates (after the package lists were updated)."""
    _CANDIDATES.pop(apt_options, None)


def _apt_candidate(name: str) -> str | None:
    return apt_candidates([name])[name]


def _parse_depends(field_text: str) -> list[str]:
    """Package names of a Depends field (first alternative of each)."""
    names = []
    for part in field_text.split(","):
        part = part.strip()
        if not part:
            continue
        first = part.split("|")[0].strip()
        name = re.split(r"[\s(:\[]", first, maxsplit=1)[0]
        if name:
            names.append(name)
    return names


def _installed_packages() -> set[str]:
    if not shutil.which("dpkg-query"):
        return set()
    proc = subprocess.run(["dpkg-query", "-W", "-f", "${Package}\\t${db:Status-Abbrev}\\n"],
                          capture_output=True, text=True, check=False)
    return {ln.split("\t")[0] for ln in proc.stdout.splitlines()
            if "\t" in ln and ln.split("\t")[1].startswith("ii")}


def library_dependencies(debs: list[str], max_packages: int = 400,
                         notify: Notify = silent) -> dict[str, Path]:
    """Download the library packages (lib*) the given .debs depend on, recursively, that are
    not installed on this machine (installed ones are found in the sysroot).

    Returns package name -> downloaded .deb. Level by level, one apt-get call per level."""
    installed = _installed_packages()
    infos = [read_deb_control(p) for p in debs]
    seen = {i.package for i in infos}
    fetched: dict[str, Path] = {}
    while infos and len(fetched) < max_packages:
        names = []
        for info in infos:
            for name in _parse_depends(info.pre_depends) + _parse_depends(info.depends):
                if name in seen or not name.startswith("lib"):
                    continue
                seen.add(name)
                if name not in installed:
                    names.append(name)
        candidates = apt_candidates(names)
        level = [n for n in names if candidates[n] is not None]
        if not level:
            break
        got = apt_download(level, cache_dir() / "debs", notify)
        fetched.update(got)
        infos = [read_deb_control(str(p)) for p in got.values()]
    return fetched


# --------------------------------------------------------------------------------------------
# Collecting
# --------------------------------------------------------------------------------------------


def _elf_targets(path: str, installed: str, origin: str, package: str | None,
                 out: Collected, head: bytes | None = None) -> None:
    if head is None:
        head = _magic(path)
    try:
        if head.startswith(ELF_MAGIC):
            out.targets.append(Target(read_elf(path), installed, origin, package))
        elif head.startswith(AR_MAGIC):
            for member in read_archive(path):
                out.targets.append(Target(member, installed, origin, package))
        else:
            raise ElfError(path, "not an ELF file, ar archive or .deb package")
    except ElfError as exc:
        out.errors.append(InputError(installed if package else path, exc.message))


def walk(root: str) -> Iterator[str]:
    """Regular files below root, following symlinks but each real file and directory once."""
    seen_dirs: set[tuple[int, int]] = set()
    seen_files: set[tuple[int, int]] = set()
    stack = [root]
    while stack:
        d = stack.pop()
        try:
            st = os.stat(d)
        except OSError:
            continue
        if (st.st_dev, st.st_ino) in seen_dirs:
            continue
        seen_dirs.add((st.st_dev, st.st_ino))
        try:
            entries = sorted(os.scandir(d), key=lambda e: e.name)
        except OSError:
            continue
        subdirs = []
        for e in entries:
            try:
                est = os.stat(e.path)
            except OSError:
                continue  # dangling symlink
            if stat.S_ISDIR(est.st_mode):
                subdirs.append(e.path)
            elif stat.S_ISREG(est.st_mode) and (est.st_dev, est.st_ino) not in seen_files:
                seen_files.add((est.st_dev, est.st_ino))
                yield e.path
        stack.extend(reversed(subdirs))


def _scan_dir(d: str, origin: str, out: Collected, root: str | None = None,
              package: str | None = None) -> None:
    for p in walk(d):
        head = _magic(p, 72)
        if head.startswith(ELF_MAGIC) or (head.startswith(AR_MAGIC) and not is_deb(p)):
            installed = "/" + os.path.relpath(p, root) if root else p
            _elf_targets(p, installed, origin, package, out, head)
        elif head.startswith(AR_MAGIC):
            _add_deb(p, out, origin=p)


def _add_deb(path: str, out: Collected, origin: str | None = None,
             consumers: bool = True) -> bool:
    try:
        info = read_deb_control(path)
        tmp = tempfile.mkdtemp(prefix="abiguard-deb-")
        out._tmp.append(tmp)
        os.chmod(tmp, 0o700)
        unpack_deb(path, tmp)
    except InputFileError as exc:
        out.errors.append(InputError(exc.path, exc.message))
        return False
    out.overlays.append(tmp)
    if consumers:
        before = len(out.targets)
        _scan_dir(tmp, origin or path, out, root=tmp, package=str(info))
        if len(out.targets) == before:
            out.notes.append(f"{info}: no ELF files in the package")
    return True


def collect(specs: list[str], *, with_deps: bool = False, provider_debs: list[str] = (),
            notify: Notify = silent) -> Collected:
    """Turn inputs into targets, overlays and errors. Call ``cleanup()`` (or use ``with``).

    Positional inputs are consumers; ``provider_debs`` and, with ``with_deps``, the library
    packages the consumer packages depend on are unpacked as overlays only. The temporary
    directories are removed by ``cleanup()``, and right away when collecting fails.
    ``notify`` hears the download and unpack phases (abiguard.notify)."""
    out = Collected()
    try:
        _collect(out, specs, with_deps, provider_debs, notify)
    except BaseException:
        out.cleanup()
        raise
    return out


def _collect(out: Collected, specs: list[str], with_deps: bool, provider_debs: list[str],
             notify: Notify = silent) -> None:
    apt_names: list[str] = []
    consumer_debs: list[str] = []
    for spec in specs:
        if spec.startswith("apt:") or (not os.path.exists(spec) and _PACKAGE_NAME.match(spec)):
            apt_names.append(spec.removeprefix("apt:"))
            continue
        if not os.path.exists(spec):
            out.errors.append(InputError(spec, "no such file or directory"))
            continue
        if os.path.isdir(spec):
            before = len(out.targets), len(out.errors)
            _scan_dir(spec, spec, out)
            if (len(out.targets), len(out.errors)) == before:
                out.notes.append(f"{spec}: no ELF files found")
        elif not os.path.isfile(spec):
            out.errors.append(InputError(spec, "not a regular file"))
        elif is_deb(spec):
            if _add_deb(spec, out):
                consumer_debs.append(spec)
        else:
            _elf_targets(spec, spec, spec, None, out)
    for deb in provider_debs:
        _add_deb(deb, out, consumers=False)
    if apt_names:
        try:
            debs = apt_download(apt_names, cache_dir() / "debs", notify)
        except UsageError as exc:
            out.errors.append(InputError(" ".join(apt_names), str(exc)))
            debs = {}
        if debs:
            notify("unpack", f"unpacking {len(debs)} package(s)")
        for spec, deb in debs.items():
            if _add_deb(str(deb), out, origin=f"apt:{spec}"):
                consumer_debs.append(str(deb))
    if with_deps and consumer_debs:
        try:
            dep_debs = library_dependencies(consumer_debs, notify=notify)
        except (UsageError, InputFileError) as exc:
            out.errors.append(InputError("--with-deps", str(exc)))
            dep_debs = {}
        if dep_debs:
            notify("unpack", f"unpacking {len(dep_debs)} library package(s) for resolution")
        for deb in dep_debs.values():
            _add_deb(str(deb), out, consumers=False)
        if dep_debs:
            out.notes.append("library packages fetched for resolution: "
                             + ", ".join(sorted(dep_debs)))
