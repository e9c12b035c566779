"""What a file is, from its first bytes: asked of every input of every command (a .deb, an
ELF object, an ar archive), so that it needs nothing else of abiguard.debian (whose
:mod:`.deb` names these functions too)."""

from __future__ import annotations

import errno
import io
import os
import stat

from ..elf import AR_MAGIC


def _regular_fd(path: str) -> int:
    """A read-only descriptor of a regular file, opened without blocking (so that a fifo
    among the inputs does not hang the scan); OSError for anything else."""
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise OSError(errno.EINVAL, "not a regular file", path)
    except BaseException:
        os.close(fd)
        raise
    return fd


def open_regular(path: str) -> io.BufferedReader:
    """A binary file object for a regular file; OSError for anything else (:func:`_regular_fd`)."""
    return os.fdopen(_regular_fd(path), "rb")


def file_magic(path: str, n: int = 8) -> bytes:
    """The first ``n`` bytes of a regular file (fewer: it is shorter); b"" for anything
    else or an error. (Without a file object: this is asked of every input, for its kind.)"""
    try:
        fd = _regular_fd(path)
    except OSError:
        return b""
    try:
        head = b""
        while len(head) < n:
            chunk = os.read(fd, n - len(head))
            if not chunk:
                break
            head += chunk
        return head
    except OSError:
        return b""
    finally:
        os.close(fd)


def is_deb(path: str) -> bool:
    head = file_magic(path, 72)
    return head.startswith(AR_MAGIC) and head[8:24].rstrip(b" ").rstrip(b"/") == b"debian-binary"


__all__ = ["file_magic", "is_deb", "open_regular"]
