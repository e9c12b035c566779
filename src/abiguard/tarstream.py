"""A strict, streaming reader of the tar archives inside .deb packages.

``decompressed()`` turns a compressed ar member into chunks of bytes (xz, lzma, gzip, bzip2,
zstd or plain), counting them against a budget; ``TarStream`` walks the members of the tar
in those chunks: a member's data is skipped without being copied unless the caller asks for
it (its first bytes with :meth:`TarStream.head`, all of it with :meth:`TarStream.read` or
:meth:`TarStream.copy`). It replaces tarfile's stream mode, whose layers of Python file
objects cost a census as much CPU as the decompression's tenth part, and it is stricter:

* a header with a bad checksum, a bad number or the stream ending inside a member is an
  error wherever it occurs (tarfile ends the archive quietly after the first member);
* the compressed stream is read to its end after the tar's end, so a damaged or truncated
  stream is an error, not a shorter package;
* GNU sparse files are refused (dpkg writes none; their maps would be read unbounded);
* pax extended headers and GNU long names are limited in size, members in size, and all
  decompressed bytes by the budget (a decompression bomb stops here, in chunks of 1 MiB).

Names follow tarfile's rules (ustar prefix, GNU long names and links, pax ``path``,
``linkpath`` and ``size``, a V7 regular file ending in '/' is a directory, directory names
lose trailing slashes), decoded as UTF-8 with surrogate escapes.
"""

from __future__ import annotations

import bz2
import lzma
import struct
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import IO, Protocol

from . import limits


class _Decompressor(Protocol):
    """lzma's and bz2's decompressor objects."""

    @property
    def needs_input(self) -> bool: ...
    @property
    def eof(self) -> bool: ...
    @property
    def unused_data(self) -> bytes: ...
    def decompress(self, data: bytes, max_length: int = -1, /) -> bytes: ...

BLOCK = 512
CHUNK = 1 << 20

REGULAR = frozenset(b"0\x007")
DATA_LESS = frozenset(b"123456")  # hard link, symlink, devices, directory, fifo: no data
DIRECTORY = ord("5")
LONGNAME, LONGLINK, SPARSE = ord("L"), ord("K"), ord("S")
PAX, PAX_GLOBAL, SOLARIS_PAX = ord("x"), ord("g"), ord("X")
_EXTENDED = frozenset((LONGNAME, LONGLINK, PAX, PAX_GLOBAL, SOLARIS_PAX))
_ZERO_BLOCK = bytes(BLOCK)
_SIGNED = struct.Struct("148b8x356b")
_FIELDS = (("mode", 100, 108), ("uid", 108, 116), ("gid", 116, 124), ("mtime", 136, 148))


class TarError(Exception):
    """The archive is corrupt (the message says where and how)."""


class Refused(Exception):
    """The archive holds something abiguard does not unpack (e.g. a GNU sparse file)."""


class LimitExceeded(Exception):
    """A limit was hit (message from limits.message)."""


# --------------------------------------------------------------------------------------------
# Decompression
# --------------------------------------------------------------------------------------------


def _counted(chunks: Iterator[bytes], budget: int, what: str, limit_name: str, shown: int
             ) -> Iterator[bytes]:
    total = 0
    for chunk in chunks:
        total += len(chunk)
        if total > budget:
            raise LimitExceeded(limits.message(f"{what} exceeds {shown} bytes "
                                               "(decompression bomb?)", limit_name, shown))
        yield chunk


def _bounded(read: Callable[[int], bytes], new: Callable[[], _Decompressor]
             ) -> Iterator[bytes]:
    """Chunks of at most CHUNK bytes from decompressor objects made by ``new`` (lzma, bz2:
    ``needs_input``/``eof``/``unused_data``); concatenated streams are read one after the
    other, trailing bytes that are not a stream are ignored (as lzma/bz2 files do)."""
    d = new()
    data = b""
    while True:
        if d.needs_input and not data:
            data = read(CHUNK)
            if not data:
                raise TarError("compressed stream ends early (truncated?)")
        out = d.decompress(data, CHUNK)
        data = b""
        if out:
            yield out
        if d.eof:
            rest = d.unused_data or read(CHUNK)
            if not rest:
                return
            d = new()
            try:
                out = d.decompress(rest, CHUNK)
            except Exception:  # noqa: BLE001 - trailing garbage after the last stream
                return
            if out:
                yield out


def _gzip(read: Callable[[int], bytes]) -> Iterator[bytes]:
    gzip_window = 16 + zlib.MAX_WBITS
    d = zlib.decompressobj(gzip_window)
    data = b""
    while True:
        if not data:
            data = read(CHUNK)
            if not data:
                if not d.eof:
                    raise TarError("compressed stream ends early (truncated?)")
                return
        out = d.decompress(data, CHUNK)
        data = d.unconsumed_tail
        if out:
            yield out
        if d.eof:
            data = d.unused_data
            if not data:
                data = read(CHUNK)
                if not data:
                    return
            if not data.startswith(b"\x1f\x8b"):
                return  # trailing bytes (zero padding): not another gzip member
            d = zlib.decompressobj(gzip_window)


def _zstd(fh: IO[bytes]) -> Iterator[bytes]:
    import zstandard  # (for the packages that use it: not on every start-up)

    reader = zstandard.ZstdDecompressor().stream_reader(fh, read_across_frames=True)
    while chunk := reader.read(CHUNK):
        yield chunk


def _plain(read: Callable[[int], bytes]) -> Iterator[bytes]:
    while chunk := read(CHUNK):
        yield chunk


def decompressed(fh: IO[bytes], name: str, budget: int, limit_name: str, shown: int) -> Iterator[bytes]:
    """The decompressed bytes of ar member ``name`` (compression by its extension) read from
    ``fh``, in chunks; more than ``budget`` bytes in all raise LimitExceeded."""
    ext = name.rsplit(".", 1)[-1] if name.count(".") >= 2 else "tar"
    if ext in ("xz", "lzma"):
        chunks = _bounded(fh.read, lzma.LZMADecompressor)
    elif ext == "gz":
        chunks = _gzip(fh.read)
    elif ext == "bz2":
        chunks = _bounded(fh.read, bz2.BZ2Decompressor)
    elif ext == "zst":
        chunks = _zstd(fh)
    elif ext == "tar":
        chunks = _plain(fh.read)
    else:
        raise TarError(f"unsupported compression of {name}")
    return _counted(chunks, budget, f"decompressed {name}", limit_name, shown)


# --------------------------------------------------------------------------------------------
# Tar
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Member:
    name: str
    type: int  # the typeflag byte
    size: int
    linkname: str

    def isreg(self) -> bool:
        return self.type in REGULAR

    def isdir(self) -> bool:
        return self.type == DIRECTORY

    def issym(self) -> bool:
        return self.type == 0x32

    def islnk(self) -> bool:
        return self.type == 0x31

    def isdev(self) -> bool:
        """A character or block device or a fifo."""
        return self.type in (0x33, 0x34, 0x36)


def _text(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _number(field: bytes, what: str, offset: int) -> int:
    if field[0] in (0x80, 0xFF):  # GNU base-256
        n = int.from_bytes(field[1:], "big")
        return n - (256 ** (len(field) - 1)) if field[0] == 0xFF else n
    digits = field.split(b"\0", 1)[0].strip()
    try:
        return int(digits or b"0", 8)
    except ValueError:
        raise TarError(f"bad {what} field {bytes(field)!r} in the tar header at "
                       f"{offset:#x}") from None


def _checksum_ok(block: bytes) -> bool:
    try:
        want = int(block[148:156].split(b"\0", 1)[0].strip() or b"-", 8)
    except ValueError:
        return False
    unsigned = sum(block) - sum(block[148:156]) + 256
    return want == unsigned or want == sum(_SIGNED.unpack_from(block)) + 256


def _pax_records(data: bytes, offset: int) -> dict[str, str]:
    """Records ``"%d %s=%s\\n"`` of a pax extended header."""
    out: dict[str, str] = {}
    pos = 0
    while pos < len(data) and data[pos] != 0:
        space = data.find(b" ", pos, pos + 20)
        try:
            length = int(data[pos:space]) if space > pos else 0
        except ValueError:
            length = 0
        end = pos + length
        eq = data.find(b"=", space, end)
        if length <= 0 or end > len(data) or eq < 0 or data[end - 1] != 0x0A:
            raise TarError(f"bad pax extended header at {offset:#x}")
        key = data[space + 1:eq].decode("utf-8", "surrogateescape")
        out[key] = data[eq + 1:end - 1].decode("utf-8", "surrogateescape")
        pos = end
    return out


class TarStream:
    """The members of a tar read from chunks of bytes, in order (see the module docs).

    Iterating yields :class:`Member` objects; between two members, whatever the caller did
    not read of the first one's data is skipped. ``max_member`` caps every member's size,
    ``header_cap`` the size of pax headers and GNU long names.
    """

    def __init__(self, chunks: Iterator[bytes], *, max_member: int, limit_name: str,
                 header_cap: int | None = None) -> None:
        self._chunks = chunks
        self._buf = b""
        self._pos = 0
        self._offset = 0  # of _buf[_pos] in the tar
        self._left = 0  # data bytes of the current member not consumed yet
        self._pad = 0  # padding after them
        self.max_member = max_member
        self.limit_name = limit_name
        self.header_cap = limits.current().max_tar_header_bytes if header_cap is None \
            else header_cap
        self.global_headers: dict[str, str] = {}
        """The pax global headers (``g``) read so far."""

    # -- the byte stream ----------------------------------------------------------------

    def _more(self) -> bool:
        """Append the next chunk to what is left in the buffer; False at the end."""
        for chunk in self._chunks:
            if chunk:
                rest = len(self._buf) - self._pos
                self._offset += self._pos
                self._buf = self._buf[self._pos:] + chunk if rest else chunk
                self._pos = 0
                return True
        return False

    def _take(self, n: int) -> bytes:
        """The next n bytes (fewer only at the end of the stream)."""
        while len(self._buf) - self._pos < n:
            if not self._more():
                break
        out = self._buf[self._pos:self._pos + n]
        self._pos += len(out)
        return out

    def _need(self) -> None:
        """The next chunk, where the tar must go on."""
        if not self._more():
            raise TarError("the tar ends inside a member (truncated?)")

    def _skip(self, n: int) -> None:
        while True:
            have = len(self._buf) - self._pos
            if have >= n:
                self._pos += n
                return
            self._pos += have
            n -= have
            self._need()

    def _data(self, n: int, what: str) -> bytes:
        out = self._take(n)
        if len(out) < n:
            raise TarError(f"the tar ends inside {what} (truncated?)")
        return out

    # -- the current member's data ------------------------------------------------------

    def head(self, n: int) -> bytes:
        """Up to n first bytes of the current member's data, without consuming them."""
        n = min(n, self._left)
        while len(self._buf) - self._pos < n:
            self._need()
        return self._buf[self._pos:self._pos + n]

    def copy(self, write: Callable[[memoryview], object]) -> None:
        """Pass the rest of the current member's data to ``write`` in pieces."""
        while self._left:
            have = len(self._buf) - self._pos
            if not have:
                self._need()
                continue
            k = min(have, self._left)
            write(memoryview(self._buf)[self._pos:self._pos + k])
            self._pos += k
            self._left -= k

    def read(self) -> bytes:
        """The rest of the current member's data."""
        parts: list[bytes] = []
        self.copy(lambda piece: parts.append(bytes(piece)))
        return b"".join(parts)

    # -- headers ------------------------------------------------------------------------

    def _end_member(self) -> None:
        self._skip(self._left + self._pad)
        self._left = self._pad = 0

    def _block(self) -> bytes | None:
        """The next header block; None at the end of the archive."""
        at = self._offset + self._pos
        block = self._take(BLOCK)
        if not block:
            return None  # the stream ended at a block boundary: no end marker, no loss
        if len(block) < BLOCK:
            raise TarError(f"truncated tar header at {at:#x}")
        if block == _ZERO_BLOCK:
            return None
        if not _checksum_ok(block):
            raise TarError(f"bad tar header checksum at {at:#x}")
        return block

    def _extended(self, size: int, at: int) -> bytes:
        if size > self.header_cap:
            raise LimitExceeded(limits.message(
                f"a tar extended header or long name of {size} bytes",
                "max_tar_header_bytes", self.header_cap))
        data = self._data(size, f"the extended header at {at:#x}")
        self._skip(-size % BLOCK)
        return data

    def __iter__(self) -> Iterator[Member]:
        while (m := self.next()) is not None:
            yield m

    def next(self) -> Member | None:
        """The next member, or None at the end of the archive.

        The extended headers before a member (GNU long name ``L`` and link ``K``, pax ``x``)
        give its name, link target and size; where several say the same thing the first
        one wins (tarfile applies them innermost first), and all of them win over the global
        pax headers (``g``) seen so far."""
        self._end_member()
        ext: dict[str, str] = {}
        extended = False
        while True:
            at = self._offset + self._pos
            block = self._block()
            if block is None:
                if extended:
                    raise TarError(f"the tar ends after an extended header at {at:#x}")
                return None
            kind = block[156]
            size = _number(block[124:136], "size", at)
            for what, a, b in _FIELDS:  # read by nobody, but a garbage field is damage
                _number(block[a:b], what, at)
            if size < 0:
                raise TarError(f"negative member size in the tar header at {at:#x}")
            if kind in _EXTENDED:
                data = self._extended(size, at)
                if kind == LONGNAME:
                    ext.setdefault("path", _text(data))
                elif kind == LONGLINK:
                    ext.setdefault("linkpath", _text(data))
                elif kind == PAX_GLOBAL:
                    self.global_headers.update(_pax_records(data, at))
                else:
                    for key, value in _pax_records(data, at).items():
                        ext.setdefault(key, value)
                extended = True
                continue
            if kind == SPARSE:
                raise Refused(f"member {_text(block[0:100])!r} is a GNU sparse file")
            return self._member(block, kind, size, at, {**self.global_headers, **ext})

    def _member(self, block: bytes, kind: int, size: int, at: int, pax: dict[str, str]
                ) -> Member:
        name = _text(block[0:100])
        if kind == 0 and name.endswith("/"):
            kind = DIRECTORY  # V7: a directory is a regular file whose name ends in '/'
        if kind == DIRECTORY:
            name = name.rstrip("/")
        prefix = _text(block[345:500])
        if prefix:
            name = prefix + "/" + name
        if any(k.startswith("GNU.sparse.") for k in pax):
            raise Refused(f"member {pax.get('path', name)!r} is a GNU sparse file")
        if "path" in pax:
            name = pax["path"].rstrip("/") if kind == DIRECTORY else pax["path"]
        linkname = pax.get("linkpath", _text(block[157:257]))
        if "size" in pax:
            try:
                size = int(pax["size"])
            except ValueError:
                raise TarError(f"bad pax size {pax['size']!r} at {at:#x}") from None
            if size < 0:
                raise TarError(f"negative member size in the pax header at {at:#x}")
        has_data = kind not in DATA_LESS
        if has_data and size > self.max_member:
            raise LimitExceeded(limits.message(
                f"unpacked size exceeds {self.max_member} bytes: member {name!r} of "
                f"{size} bytes (decompression bomb?)", self.limit_name, self.max_member))
        self._left = size if has_data else 0
        self._pad = -self._left % BLOCK
        return Member(name, kind, size, linkname)

    def finish(self) -> None:
        """Read the compressed stream to its end (its checks run; trailing zeros are fine)."""
        self._left = self._pad = 0
        self._buf, self._pos = b"", 0
        for _ in self._chunks:
            pass
