""".deb packages: the ar layer, the control file and unpacking, read by abiguard itself.

Nothing is executed: the ar layer is read strictly here, the tar members by
:mod:`abiguard.tarstream` (no python-debian subprocess for zstd), and unpacking keeps every
path inside a private directory (member names with ``..`` or absolute, links leading out,
planted symlink chains and devices are refused). Decompressed sizes, member counts and header
sizes are limited (:mod:`abiguard.limits`).
"""

from __future__ import annotations

import errno
import io
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from _typeshed import WriteableBuffer

from .. import limits
from ..elf import AR_MAGIC, ELF_MAGIC, ar_headers
from ..errors import InputFileError
from ..tarstream import LimitExceeded, Refused, TarError, TarStream, decompressed
from .control import first_paragraph, source_of
from .magic import file_magic, is_deb, open_regular


@dataclass(frozen=True, slots=True)
class DebInfo:
    package: str
    version: str
    architecture: str
    depends: str = ""
    pre_depends: str = ""
    source: str = ""
    """The source package it was built from (the Source field's name, else itself)."""

    def __str__(self) -> str:
        return f"{self.package} {self.version} {self.architecture}"


class Window(io.RawIOBase):
    """A read-only window [start, start + size) of an open file: one ar member."""

    def __init__(self, fh: io.BufferedReader, start: int, size: int) -> None:
        super().__init__()
        self.fh, self.pos, self.end = fh, start, start + size

    def readable(self) -> bool:
        return True

    def readinto(self, b: WriteableBuffer) -> int:
        view = memoryview(b)
        n = min(len(view), self.end - self.pos)
        if n <= 0:
            return 0
        self.fh.seek(self.pos)
        got = self.fh.readinto(view[:n]) or 0
        self.pos += got
        return got


class Deb:
    """The ar layer of a .deb, read strictly (positive decimal sizes, members inside the
    file, at most max_archive_members members): name -> (offset, size)."""

    def __init__(self, path: str) -> None:
        self.path = path
        try:
            self.fh = open_regular(path)
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

        def read(pos: int, n: int) -> bytes:
            fh.seek(pos)
            got: bytes = fh.read(n)
            return got

        cap = limits.current().max_archive_members
        out: list[tuple[str, int, int]] = []
        for name, start, n in ar_headers(read, size, self._bad):
            out.append((name.removesuffix(b"/").decode("latin-1"), start, n))
            if len(out) > cap:
                raise limits.exceeded(self.path, f"more than {cap} ar members",
                                      "max_archive_members", cap)
        names = [m[0] for m in out]
        if "debian-binary" not in names:
            raise self._bad(f"no debian-binary member; has {', '.join(names) or 'nothing'}")
        return out

    def member(self, prefix: str) -> tuple[str, io.BufferedReader]:
        """The first member named prefix or prefix.EXT, as a buffered reader."""
        for name, start, n in self.members:
            if name == prefix or name.startswith(prefix + "."):
                return name, io.BufferedReader(Window(self.fh, start, n), 1 << 16)
        raise self._bad(f"no {prefix} member; has "
                        f"{', '.join(m[0] for m in self.members) or 'nothing'}")

    def close(self) -> None:
        self.fh.close()

    def __enter__(self) -> Deb:  # noqa: PYI034
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_tar(member: IO[bytes], name: str, path: str, limit: int, limit_name: str,
              budget: int | None = None) -> TarStream:
    """The tar in ar member ``name``, streamed: no member over ``limit`` bytes, at most
    ``budget`` (default: ``limit``) decompressed bytes in all."""
    budget = limit if budget is None else budget
    try:
        chunks = decompressed(member, name, budget, limit_name, limit)
    except TarError as exc:
        raise InputFileError(path, str(exc)) from None
    return TarStream(chunks, max_member=limit, limit_name=limit_name)




def read_deb_control(path: str) -> DebInfo:
    """Package, version, architecture and dependencies of a .deb (its control file), read
    without running anything (no python-debian subprocess for zstd) and within limits."""
    cap = limits.current().max_control_bytes
    try:
        with Deb(path) as deb:
            name, member = deb.member("control.tar")
            text = None
            tar = open_tar(member, name, path, cap, "max_control_bytes")
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
                                   f"{reason(exc)})") from None
    if text is None:
        raise InputFileError(path, "not a valid .deb package (no control file in control.tar)")
    control = first_paragraph(text.decode("utf-8", "replace"))
    if not control.get("package"):
        raise InputFileError(path, "not a valid .deb package (control has no Package field)")
    return DebInfo(control["package"], control.get("version", "?"),
                   control.get("architecture", "?"), control.get("depends", ""),
                   control.get("pre-depends", ""), source_of(control)[0])


def reason(exc: BaseException) -> str:
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


class Placer:
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
    dirs = Placer(root, real_root)
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
        with Deb(path) as deb:
            name, member = deb.member("data.tar")
            # the stream also carries tar headers and padding: a little room for them
            budget = max_bytes + (max_bytes >> 6) + (64 << 10)
            tar = open_tar(member, name, path, max_bytes, "max_unpacked_bytes", budget)
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
        raise InputFileError(path, f"corrupt {name}: {reason(exc)}") from None
    except Exception as exc:  # noqa: BLE001 - zstandard/lzma/zlib raise their own types
        raise InputFileError(path, f"corrupt {name}: {reason(exc)}") from None
    return notes


__all__ = ["AR_MAGIC", "ELF_MAGIC", "Deb", "DebInfo", "Placer", "file_magic", "is_deb",
           "open_regular", "open_tar", "read_deb_control", "unpack_deb"]
