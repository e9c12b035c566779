"""Trees of files: walking a directory, and the ELF objects (files and ar archive members)
found in it. Shared by the kinds that end up as a directory (a directory, an unpacked .deb, an
unpacked root) and by the census task."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator

from ..debian.magic import file_magic, is_deb
from ..elf import AR_MAGIC, ELF_MAGIC, read_archive, read_elf
from ..errors import ElfError
from ..model import ElfObject
from .base import Collected, Context, Pending, Target, unreadable


def shared_objects(root: str) -> Iterator[tuple[str, ElfObject]]:
    """(path, dynamic view) of every shared library below root: an ELF file of type DYN with a
    soname or ``.so`` in its name (an unreadable or broken file is passed over: this is a
    search for libraries, not a scan)."""
    for path in walk(root):
        try:
            with open(path, "rb") as fh:
                if fh.read(4) != ELF_MAGIC:
                    continue
            elf = read_elf(path, relocations=False)
        except (OSError, ElfError):
            continue
        if elf.kind == "DYN" and (elf.soname is not None or ".so" in os.path.basename(path)):
            yield path, elf


def elf_targets(path: str, installed: str, origin: str, package: str | None,
                out: Collected, head: bytes | None = None) -> None:
    """The targets of one file: an ELF object, or each member of an ar archive; anything
    else is an input error (named by its installed path when it comes from a package). An
    ELF file is only listed as pending when ``out.defer``."""
    if head is None:
        head = file_magic(path)
    try:
        if head.startswith(ELF_MAGIC):
            out.found += 1
            if out.defer:
                out.pending.append(Pending(path, installed, origin, package, len(out.targets),
                                           len(out.errors)))
            else:
                out.targets.append(Target(read_elf(path), installed, origin, package))
        elif head.startswith(AR_MAGIC):
            members = read_archive(path)
            out.found += len(members)
            for member in members:
                out.targets.append(Target(member, installed, origin, package))
        else:
            raise ElfError(path, "not an ELF file, ar archive or .deb package")
    except ElfError as exc:
        out.errors.append(unreadable(path, installed, package, exc.message))


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


def scan_tree(d: str, origin: str, ctx: Context, root: str | None = None,
              package: str | None = None) -> None:
    """The ELF objects below ``d`` as targets of ``origin``. With ``root`` (an unpacked
    package), each is known by its installed path (``/`` + its path below root). A .deb found
    in the tree is an input of its own (its kind in the registry collects it)."""
    for p in walk(d):
        head = file_magic(p, 72)
        if head.startswith(ELF_MAGIC) or (head.startswith(AR_MAGIC) and not is_deb(p)):
            installed = "/" + os.path.relpath(p, root) if root else p
            elf_targets(p, installed, origin, package, ctx.out, head)
        elif head.startswith(AR_MAGIC):
            inner = ctx.registry.recognise(p)
            inner.named = False
            inner.collect(ctx)


__all__ = ["elf_targets", "scan_tree", "walk"]
