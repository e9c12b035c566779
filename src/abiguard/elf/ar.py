"""``ar`` archives: static libraries (GNU/SysV and BSD member names)."""

from __future__ import annotations

import mmap
from collections.abc import Iterator

from .. import limits
from ..errors import ElfError
from .constants import AR_MAGIC, THIN_AR_MAGIC
from .loading import decode, load


def _ar_int(field: bytes, what: str, where: str) -> int:
    text = field.strip()
    if not text.isdigit():
        raise ElfError(where, f"corrupt ar archive: bad {what} field {field!r}")
    return int(text)


def iter_archive_members(source: str | bytes | bytearray | memoryview,
                         path: str | None = None) -> Iterator[tuple[str, bytes]]:
    """Yield (name, data) for each real member of an ``ar`` archive (GNU/SysV or BSD names;
    the symbol index and the long-name table are not members). ``source`` is a path or the
    archive bytes (``path`` then names it in errors)."""
    mm: mmap.mmap | None = None
    if isinstance(source, str):
        where = path or source
        buf, mm, _mtime = load(source)
    else:
        where = path or "<bytes>"
        buf = source if isinstance(source, bytes) else bytes(source)
    try:
        size = len(buf)
        magic = buf[:8]
        if magic == THIN_AR_MAGIC:
            raise ElfError(where, "thin ar archive: its members are stored outside it")
        if magic != AR_MAGIC:
            raise ElfError(where, f"not an ar archive (magic {magic.hex(' ') or 'empty'})")
        pos = 8
        longnames = b""
        cap = limits.current().max_archive_members
        members = 0
        while pos < size:
            if pos + 60 > size:
                if buf[pos:].strip(b"\n") == b"":  # trailing padding
                    break
                raise ElfError(where, f"truncated: ar member header at {pos:#x} ends past end "
                                      f"of file (size {size:#x})")
            hdr = buf[pos:pos + 60]
            if hdr[58:60] != b"`\n":
                raise ElfError(where, f"corrupt ar archive: bad member header magic at {pos:#x}")
            raw_name = hdr[:16].rstrip(b" ")
            msize = _ar_int(hdr[48:58], "size", where)
            start = pos + 60
            end = start + msize
            if end > size:
                raise ElfError(where, f"truncated: ar member {decode(raw_name)!r} (offset "
                                      f"{start:#x}, size {msize:#x}) ends past end of file "
                                      f"(size {size:#x})")
            pos = end + (end & 1)
            body_start = start
            if raw_name in (b"/", b"/SYM64/", b"__.SYMDEF", b"__.SYMDEF SORTED"):
                continue
            if raw_name == b"//":
                longnames = bytes(buf[start:end])
                continue
            if raw_name.startswith(b"#1/"):  # BSD: name stored at the start of the data
                nlen = _ar_int(raw_name[3:], "BSD name length", where)
                if nlen > msize:
                    raise ElfError(where, f"corrupt ar archive: BSD name length {nlen} exceeds "
                                          f"member size {msize}")
                name = decode(bytes(buf[start:start + nlen]).rstrip(b"\0"))
                body_start = start + nlen
                if name in ("__.SYMDEF", "__.SYMDEF SORTED", "__.SYMDEF_64",
                            "__.SYMDEF_64 SORTED"):
                    continue
            elif raw_name.startswith(b"/") and raw_name[1:].isdigit():  # GNU long name
                off = int(raw_name[1:])
                if off >= len(longnames):
                    raise ElfError(where, f"corrupt ar archive: long name offset {off} past the "
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
                raise ElfError(where, limits.message(f"more than {cap} members",
                                                     "max_archive_members", cap))
            yield name, bytes(buf[body_start:end])
    finally:
        if mm is not None:
            mm.close()

