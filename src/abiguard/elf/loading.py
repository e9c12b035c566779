"""Loading files (read or mapped, never blocking) and string tables."""

from __future__ import annotations

import codecs
import mmap
import os
import stat
from collections.abc import Callable

from ..errors import ElfError
from .constants import AR_MAGIC, ELF_MAGIC, Buffer, Bytes

_latin1 = codecs.latin_1_decode

# Files at least this large are mapped; smaller ones are read (one syscall beats mmap+munmap).
MMAP_THRESHOLD = 1 << 16

# --------------------------------------------------------------------------------------------
# String tables
# --------------------------------------------------------------------------------------------


def decode(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")


class StrTab:
    """A string table with bounds-checked lookups.

    ``text`` is the table decoded as latin-1 (straight from the file's buffer), so that string
    indices are byte offsets and ``text.find``/slicing run in C; names that are not ASCII are
    re-decoded as UTF-8 (with surrogateescape), which only happens when ``ascii`` is False.
    """

    __slots__ = ("ascii", "error", "text", "what")

    def __init__(self, raw: Bytes, what: str, error: Callable[[str], ElfError]) -> None:
        self.text = text = _latin1(raw)[0]
        self.ascii = text.isascii()
        self.what = what
        self.error = error

    def bad(self, off: int) -> ElfError:
        """The error for a string offset that does not name a NUL-terminated string."""
        if off >= len(self.text):
            return self.error(f"string offset {off:#x} past the end of {self.what} "
                              f"(size {len(self.text):#x})")
        return self.error(f"string at offset {off:#x} of {self.what} is not NUL-terminated")

    def get(self, off: int) -> str:
        text = self.text
        end = text.find("\0", off)
        if end < 0:
            raise self.bad(off)
        if self.ascii:
            return text[off:end]
        return fix_name(text[off:end])


def fix_name(name: str) -> str:
    """A name sliced from a latin-1 decoded table, re-decoded as UTF-8."""
    return name.encode("latin-1").decode("utf-8", "surrogateescape")


# --------------------------------------------------------------------------------------------
# File loading
# --------------------------------------------------------------------------------------------


_OPEN_FLAGS = os.O_RDONLY | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NONBLOCK", 0)


def load(path: str) -> tuple[Buffer, mmap.mmap | None, int]:
    """The file's contents (read when small, mapped when large) and its modification time.
    Opened non-blocking (a FIFO must not hang a census) and rejected unless it is a regular
    file."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except OSError as exc:
        raise ElfError(path, f"cannot open: {exc.strerror or exc}") from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise ElfError(path, "not a regular file")
        size = st.st_size
        if size >= MMAP_THRESHOLD:
            mm = mmap.mmap(fd, 0, access=mmap.ACCESS_READ)
            return mm, mm, st.st_mtime_ns
        data = os.read(fd, size + 1)
        if len(data) > size:  # grew while we read it: read the rest
            chunks = [data]
            while chunk := os.read(fd, 1 << 20):
                chunks.append(chunk)
            data = b"".join(chunks)
        return data, None, st.st_mtime_ns
    except OSError as exc:
        raise ElfError(path, f"cannot read: {exc.strerror or exc}") from None
    finally:
        os.close(fd)


def read_head(path: str, n: int) -> bytes:
    """The first n bytes of a regular file (b"" for anything else or on any error)."""
    try:
        fd = os.open(path, _OPEN_FLAGS)
    except (OSError, ValueError):
        return b""
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            return b""
        return os.read(fd, n)
    except OSError:
        return b""
    finally:
        os.close(fd)


def is_elf(path: str) -> bool:
    """True if the file starts with the ELF magic (False for unreadable files)."""
    return read_head(path, 4) == ELF_MAGIC


def is_ar_archive(path: str) -> bool:
    """True if the file starts with the ``!<arch>\\n`` magic of an ar archive."""
    return read_head(path, 8) == AR_MAGIC

