"""``ar`` archives: static libraries (GNU/SysV and BSD member names, GNU thin archives) and
the outer layer of a .deb.

:func:`ar_headers` is the one reader of member headers, strict for every user (the header
magic, a size of decimal digits only, every member inside the file, nothing after the last
member but newline padding); it reads through a ``read(offset, n)`` function, so that a .deb
is indexed through its file handle without loading it (:class:`abiguard.debian.deb.Deb`).
:func:`iter_archive_members` adds member names (the GNU long-name table, BSD ``#1/len``
names), leaves out the symbol index and the long-name table, and reads the members of thin
archives from their own files when asked.
"""

from __future__ import annotations

import mmap
import os
from collections.abc import Callable, Iterator
from typing import NamedTuple

from .. import limits
from ..errors import ElfError
from .constants import AR_MAGIC, THIN_AR_MAGIC
from .loading import decode, load

_SYMBOL_INDEX = (b"/", b"/SYM64/", b"__.SYMDEF", b"__.SYMDEF SORTED")
_BSD_SYMBOL_INDEX = ("__.SYMDEF", "__.SYMDEF SORTED", "__.SYMDEF_64", "__.SYMDEF_64 SORTED")


class ArHeader(NamedTuple):
    """One member header: its name field (trailing spaces removed), where its data starts
    and its size."""

    name: bytes
    start: int
    size: int


def ar_headers(read: Callable[[int, int], bytes], size: int, fail: Callable[[str], Exception],
               *, thin: bool = False) -> Iterator[ArHeader]:
    """The member headers of an ar archive of ``size`` bytes whose magic was checked.

    ``read(offset, n)`` gives up to n bytes at an offset; ``fail(message)`` makes the
    exception raised for a corrupt archive (the message says what and where). In a thin
    archive (``thin``) only the symbol index and the long-name table have their data stored
    after their header."""
    pos = 8
    while pos < size:
        hdr = read(pos, 60)
        if len(hdr) < 60:
            if hdr.strip(b"\n") == b"":  # trailing padding
                return
            raise fail(f"truncated: ar member header at {pos:#x} ends past the end of the "
                       f"file (size {size:#x})")
        if hdr[58:60] != b"`\n":
            raise fail(f"bad ar member header at {pos:#x}")
        field = hdr[48:58].strip()
        if not field.isdigit():
            raise fail(f"bad ar member size {hdr[48:58]!r} at {pos:#x}")
        n = int(field)
        name = hdr[:16].rstrip(b" ")
        start = pos + 60
        stored = not thin or name in (b"/", b"//", b"/SYM64/")
        if stored and start + n > size:
            raise fail(f"truncated: ar member {decode(name)!r} (offset {start:#x}, size "
                       f"{n:#x}) ends past the end of the file (size {size:#x})")
        yield ArHeader(name, start, n)
        pos = start + n + (n & 1) if stored else start


def iter_archive_members(source: str | bytes | bytearray | memoryview,
                         path: str | None = None, *, thin: bool = False
                         ) -> Iterator[tuple[str, bytes]]:
    """Yield (name, data) for each real member of an ``ar`` archive (GNU/SysV or BSD names;
    the symbol index and the long-name table are not members). ``source`` is a path or the
    archive bytes (``path`` then names it in errors). A thin archive's members are read from
    the files they name (relative to the archive's directory) when ``thin`` is true, and it is
    an error otherwise."""
    mm: mmap.mmap | None = None
    if isinstance(source, str):
        where = path or source
        buf, mm, _mtime = load(source)
    else:
        where = path or "<bytes>"
        buf = source if isinstance(source, bytes) else bytes(source)
    try:
        magic = buf[:8]
        is_thin = magic == THIN_AR_MAGIC
        if is_thin and not thin:
            raise ElfError(where, "thin ar archive: its members are stored outside it")
        if magic != AR_MAGIC and not is_thin:
            raise ElfError(where, f"not an ar archive (magic {magic.hex(' ') or 'empty'})")
        base = os.path.dirname(where)

        def fail(message: str) -> ElfError:
            return ElfError(where, message)

        longnames = b""
        cap = limits.current().max_archive_members
        members = 0
        for raw_name, start, msize in ar_headers(lambda at, n: bytes(buf[at:at + n]),
                                                 len(buf), fail, thin=is_thin):
            end = start + msize
            body_start = start
            if raw_name in _SYMBOL_INDEX:
                continue
            if raw_name == b"//":
                longnames = bytes(buf[start:end])
                continue
            if raw_name.startswith(b"#1/"):  # BSD: name stored at the start of the data
                nfield = raw_name[3:].strip()
                if not nfield.isdigit():
                    raise fail(f"corrupt ar archive: bad BSD name length field {raw_name!r}")
                nlen = int(nfield)
                if nlen > msize:
                    raise fail(f"corrupt ar archive: BSD name length {nlen} exceeds member "
                               f"size {msize}")
                name = decode(bytes(buf[start:start + nlen]).rstrip(b"\0"))
                body_start = start + nlen
                if name in _BSD_SYMBOL_INDEX:
                    continue
            elif raw_name.startswith(b"/") and raw_name[1:].isdigit():  # GNU long name
                off = int(raw_name[1:])
                if off >= len(longnames):
                    raise fail(f"corrupt ar archive: long name offset {off} past the "
                               f"long-name table (size {len(longnames)})")
                stop = longnames.find(b"/\n", off)
                if stop < 0:
                    stop = longnames.find(b"\n", off)
                if stop < 0:
                    stop = len(longnames)
                name = decode(longnames[off:stop])
            else:
                name = decode(raw_name[:-1] if raw_name.endswith(b"/") else raw_name)
            members += 1
            if members > cap:
                raise fail(limits.message(f"more than {cap} members", "max_archive_members",
                                          cap))
            if is_thin:
                yield name, _thin_member(where, base, name, msize)
            else:
                yield name, bytes(buf[body_start:end])
    finally:
        if mm is not None:
            mm.close()


def _thin_member(where: str, base: str, name: str, size: int) -> bytes:
    """The data of a thin archive's member: the regular file it names (relative to the
    archive), which must have the size the archive gives it."""
    member = name if os.path.isabs(name) else os.path.join(base, name)
    try:
        data, mm, _mtime = load(member)
    except ElfError as exc:
        raise ElfError(where, f"thin archive member {name}: {exc.message}") from None
    try:
        if len(data) != size:
            raise ElfError(where, f"thin archive member {name}: the file has {len(data)} bytes, "
                                  f"the archive says {size} (changed since it was archived?)")
        return bytes(data)
    finally:
        if mm is not None:
            mm.close()
