"""Structure-aware mutators. Each takes a ``random.Random`` and a seed and returns new bytes.

Byte-level mutation alone mostly produces inputs that die at the first check (a bad magic, a
bad tar checksum, a corrupt xz stream). These mutators know where the structures are:

* ELF: the header, program and section header tables and every section's table, mutated a
  field at a time with "interesting" values (0, 1, -1, the file size, offsets of other
  tables, entry sizes, counts that almost fit);
* ar: member headers (size fields such as ``-60`` or ``99999999999``, GNU ``/N`` and BSD
  ``#1/N`` names, symbol tables), members added, dropped or mutated as ELF;
* .deb: the data and control tars are decompressed, mutated as *entries* (hostile names,
  ``..``, absolute paths, symlinks and hard links out of the package, devices, fifos, huge
  sizes, pax and GNU long-name headers) or as header bytes with a fixed-up checksum, and
  re-compressed with any of the formats dpkg knows (or a wrong one);
* TOML/JSON: the parsed tree is mutated (types swapped, keys dropped or added, deep nesting)
  and written back, or the text is mutated token-wise.
"""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import math
import random
import struct
import tarfile
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# --------------------------------------------------------------------------------------------
# Bytes
# --------------------------------------------------------------------------------------------

INTERESTING_8 = [0, 1, 2, 0x7F, 0x80, 0xFF, 16, 32, 64]
INTERESTING_32 = [0, 1, 2, 3, 4, 8, 16, 20, 24, 40, 56, 64, 0x7F, 0x80, 0xFF, 0x100, 0x7FFF,
                  0x8000, 0xFFFF, 0x10000, 0x7FFFFFFF, 0x80000000, 0xFFFFFFFE, 0xFFFFFFFF]
INTERESTING_64 = INTERESTING_32 + [0x100000000, 0x7FFFFFFFFFFFFFFF, 0xFFFFFFFFFFFFFFFF,
                                   0x8000000000000000]


def _pos(r: random.Random, n: int, ranges: list[tuple[int, int]] | None) -> int:
    if ranges and r.random() < 0.85:
        lo, hi = r.choice(ranges)
        if hi > lo:
            return min(r.randrange(lo, hi), n - 1)
    return r.randrange(n)


def mutate_bytes(r: random.Random, data: bytes, *, ops: int | None = None,
                 ranges: list[tuple[int, int]] | None = None,
                 dictionary: list[bytes] = (), others: list[bytes] = (),
                 max_size: int = 64 << 20) -> bytes:
    """Classic byte mutations (AFL-like), preferring positions inside ``ranges``."""
    buf = bytearray(data)
    for _ in range(ops or r.choice((1, 1, 2, 2, 3, 4, 8))):
        if not buf:
            buf.extend(r.randbytes(r.randrange(1, 64)))
            continue
        n = len(buf)
        op = r.randrange(14)
        p = _pos(r, n, ranges)
        if op == 0:
            buf[p] ^= 1 << r.randrange(8)
        elif op == 1:
            buf[p] = r.choice(INTERESTING_8) if r.random() < 0.5 else r.randrange(256)
        elif op in (2, 3):
            width, fmt = r.choice(((2, "H"), (4, "I"), (8, "Q")))
            p -= p % width
            vals = INTERESTING_64 if width == 8 else INTERESTING_32
            v = r.choice(vals) if r.random() < 0.6 else r.choice([n, n - 1, n + 1, p, n // 2])
            v &= (1 << (8 * width)) - 1
            raw = struct.pack(("<" if r.random() < 0.7 else ">") + fmt, v)
            buf[p:p + width] = raw[:max(0, n - p)]
        elif op == 4:  # add a small delta to an aligned word
            width, fmt = r.choice(((4, "I"), (8, "Q")))
            p -= p % width
            if p + width <= n:
                e = "<" if r.random() < 0.7 else ">"
                (v,) = struct.unpack_from(e + fmt, buf, p)
                v = (v + r.choice((-16, -8, -4, -2, -1, 1, 2, 4, 8, 16, 24))) % (1 << (8 * width))
                struct.pack_into(e + fmt, buf, p, v)
        elif op == 5:
            buf[p:p] = r.randbytes(r.randrange(1, 16))
        elif op == 6:
            del buf[p:p + r.randrange(1, 64)]
        elif op == 7:  # copy a chunk somewhere else
            q = r.randrange(n)
            ln = r.randrange(1, 128)
            buf[p:p + ln] = buf[q:q + ln]
        elif op == 8:  # duplicate a chunk
            ln = r.randrange(1, 256)
            buf[p:p] = buf[p:p + ln]
        elif op == 9:
            del buf[p:]
        elif op == 10 and dictionary:
            tok = r.choice(dictionary)
            if r.random() < 0.5:
                buf[p:p + len(tok)] = tok
            else:
                buf[p:p] = tok
        elif op == 11 and others:  # splice with another seed
            other = r.choice(others)
            if other:
                q = r.randrange(len(other))
                buf[p:] = other[q:q + r.randrange(1, 4096)]
        elif op == 12:
            ln = r.randrange(1, 64)
            buf[p:p + ln] = bytes([r.choice((0, 0xFF))]) * ln
        else:
            buf[p] = (buf[p] + r.choice((-1, 1))) & 0xFF
        if len(buf) > max_size:
            del buf[max_size:]
    return bytes(buf)


# --------------------------------------------------------------------------------------------
# ELF
# --------------------------------------------------------------------------------------------


@dataclass
class ElfShape:
    """Where the structures of an ELF seed are (computed once per seed)."""

    big: bool = False
    is64: bool = True
    ranges: list[tuple[int, int]] = field(default_factory=list)
    """(start, end, field width) of headers and tables."""
    fields: list[tuple[int, int]] = field(default_factory=list)
    """(offset, width) of individual header fields."""
    offsets: list[int] = field(default_factory=list)
    """Offsets/addresses worth writing (table starts)."""


def elf_shape(data: bytes) -> ElfShape:
    from abiguard.elf import ElfFile
    from abiguard.errors import ElfError

    shape = ElfShape()
    if len(data) < 64 or data[:4] != b"\x7fELF":
        return shape
    shape.big = data[5] == 2
    shape.is64 = data[4] == 2
    w = 8 if shape.is64 else 4
    # ELF header fields
    layout64 = [(16, 2), (18, 2), (20, 4), (24, 8), (32, 8), (40, 8), (48, 4), (52, 2), (54, 2),
                (56, 2), (58, 2), (60, 2), (62, 2)]
    layout32 = [(16, 2), (18, 2), (20, 4), (24, 4), (28, 4), (32, 4), (36, 4), (40, 2), (42, 2),
                (44, 2), (46, 2), (48, 2), (50, 2)]
    shape.fields += layout64 if shape.is64 else layout32
    shape.ranges.append((0, 64 if shape.is64 else 52))
    try:
        f = ElfFile("seed", data)
        h = f.header
        shape.ranges.append((h.phoff, h.phoff + h.phnum * h.phentsize))
        for i in range(h.phnum):
            base = h.phoff + i * h.phentsize
            shape.fields += [(base, 4), (base + 4, 4)] + [
                (base + 8 + k * w, w) for k in range(6)] if shape.is64 else [
                (base + k * 4, 4) for k in range(8)]
        shape.offsets += [h.phoff, h.shoff]
        try:
            secs = f.sections
        except ElfError:
            secs = []
        if h.shnum:
            shape.ranges.append((h.shoff, h.shoff + h.shnum * h.shentsize))
        for s in secs:
            base = h.shoff + s.index * h.shentsize
            if shape.is64:
                shape.fields += [(base, 4), (base + 4, 4), (base + 8, 8), (base + 16, 8),
                                 (base + 24, 8), (base + 32, 8), (base + 40, 4), (base + 44, 4),
                                 (base + 48, 8), (base + 56, 8)]
            else:
                shape.fields += [(base + k * 4, 4) for k in range(10)]
            if s.type != 8 and s.size and s.offset + s.size <= len(data):
                # tables of the dynamic view: weight them by listing them twice
                heavy = s.type in (2, 4, 5, 6, 9, 11, 18, 0x6FFFFFFD, 0x6FFFFFFE, 0x6FFFFFFF,
                                   0x6FFFFEF6)
                span = (s.offset, s.offset + min(s.size, 1 << 16))
                shape.ranges += [span] * (3 if heavy else 1)
                shape.offsets += [s.offset, s.addr]
        for seg in f.segments:
            if seg.type == 2 and seg.filesz:  # PT_DYNAMIC
                shape.ranges += [(seg.offset, seg.offset + seg.filesz)] * 3
            shape.offsets += [seg.offset, seg.vaddr]
        f.close()
    except ElfError:
        pass
    return shape


def mutate_elf(r: random.Random, data: bytes, shape: ElfShape, others: list[bytes] = ()
               ) -> bytes:
    """Field-aware ELF mutation; one time in five plain byte mutation of the tables."""
    if not shape.fields or r.random() < 0.2:
        return mutate_bytes(r, data, ranges=shape.ranges, others=others,
                            dictionary=[b"\x7fELF", b"\0", b"GLIBC_2.2.5\0", b"$ORIGIN"])
    buf = bytearray(data)
    n = len(buf)
    e = ">" if shape.big else "<"
    for _ in range(r.choice((1, 1, 1, 2, 2, 3))):
        kind = r.random()
        if kind < 0.55 and shape.fields:
            off, width = r.choice(shape.fields)
        else:  # an aligned word inside a table (symbol, dynamic entry, version entry, ...)
            lo, hi = r.choice(shape.ranges) if shape.ranges else (0, n)
            width = r.choice((2, 4, 4, 8 if shape.is64 else 4))
            if hi - lo < width:
                continue
            off = lo + r.randrange(0, hi - lo - width + 1)
            off -= (off - lo) % width
        if off + width > n:
            continue
        fmt = {2: "H", 4: "I", 8: "Q"}[width]
        (old,) = struct.unpack_from(e + fmt, buf, off)
        choice = r.random()
        if choice < 0.35:
            v = r.choice(INTERESTING_64 if width == 8 else INTERESTING_32)
        elif choice < 0.55:
            v = old + r.choice((-64, -24, -16, -8, -4, -2, -1, 1, 2, 4, 8, 16, 24, 64))
        elif choice < 0.7:
            v = r.choice([n, n - 1, n - 8, n + 1, n // 2, old * 2, old // 2, old * 0x100 + 1])
        elif choice < 0.85 and shape.offsets:
            v = r.choice(shape.offsets) + r.choice((0, 0, 4, 8, -8))
        else:
            v = r.getrandbits(8 * width)
        struct.pack_into(e + fmt, buf, off, v % (1 << (8 * width)))
    if r.random() < 0.08:
        del buf[r.randrange(len(buf)):]
    return bytes(buf)


# --------------------------------------------------------------------------------------------
# ar archives
# --------------------------------------------------------------------------------------------


def parse_ar(data: bytes) -> list[list[bytes]] | None:
    """Members as [header(60 bytes), body] (lenient; None when it is not an archive)."""
    if not data.startswith(b"!<arch>\n"):
        return None
    out = []
    pos = 8
    while pos + 60 <= len(data):
        hdr = data[pos:pos + 60]
        try:
            size = int(hdr[48:58])
        except ValueError:
            return out
        if size < 0:
            return out
        out.append([hdr, data[pos + 60:pos + 60 + size]])
        pos += 60 + size + (size & 1)
    return out


def ar_header(name: bytes, size: int | bytes) -> bytes:
    sz = size if isinstance(size, bytes) else str(size).encode()
    return (name[:16].ljust(16) + b"0".ljust(12) + b"0".ljust(6) + b"0".ljust(6)
            + b"100644".ljust(8) + sz[:10].ljust(10) + b"`\n")


def build_ar(members: list[list[bytes]], *, fix_sizes: bool = True) -> bytes:
    out = bytearray(b"!<arch>\n")
    for hdr, body in members:
        if fix_sizes:
            hdr = hdr[:48] + str(len(body)).encode().ljust(10) + hdr[58:60]
        out += hdr + body
        if len(body) & 1:
            out += b"\n"
    return bytes(out)


AR_NAMES = [b"/", b"//", b"/0", b"/4", b"/99999", b"/-1", b"#1/20", b"#1/0", b"#1/999999",
            b"#1/x", b"__.SYMDEF", b"/SYM64/", b"debian-binary", b"control.tar.gz",
            b"data.tar.xz", b"data.tar.zst", b"data.tar", b"control.tar.zst", b"a.o/",
            b"data.tar.lzma", b"data.tar.bz2", b"data.tar.gz", b"control.tar"]
AR_SIZES = [b"-60", b"-1", b"0", b"1", b"99999999999", b"  12", b"1e3", b"0x10", b"",
            b"4294967296", b"18446744073709551616"]


def mutate_ar(r: random.Random, data: bytes, elf: Callable[[bytes], bytes] | None = None
              ) -> bytes:
    members = parse_ar(data)
    if not members or r.random() < 0.15:
        return mutate_bytes(r, data, dictionary=[b"!<arch>\n", b"`\n", *AR_NAMES, *AR_SIZES],
                            ranges=[(0, min(len(data), 200))])
    fix = True
    for _ in range(r.choice((1, 1, 2, 3))):
        op = r.randrange(8)
        i = r.randrange(len(members)) if members else 0
        if not members:
            members.append([ar_header(b"x/", 0), b""])
            continue
        hdr, body = members[i]
        if op == 0:
            members[i][0] = ar_header(r.choice(AR_NAMES), len(body))
        elif op == 1:
            members[i][0] = hdr[:48] + r.choice(AR_SIZES)[:10].ljust(10) + hdr[58:]
            fix = False
        elif op == 2 and body[:4] == b"\x7fELF" and elf is not None:
            members[i][1] = elf(body)
        elif op == 3:
            members[i][1] = mutate_bytes(r, body) if body else r.randbytes(8)
        elif op == 4:
            del members[i]
        elif op == 5:
            members.insert(r.randrange(len(members) + 1), [hdr, body])
        elif op == 6:
            r.shuffle(members)
        else:
            name = r.choice(AR_NAMES)
            payload = r.choice([b"", b"x" * r.randrange(100), b"\x7fELF" + r.randbytes(60),
                                b"a.o/\nlong_member_name.o/\n", body[:64]])
            members.insert(r.randrange(len(members) + 1), [ar_header(name, len(payload)),
                                                           payload])
    return build_ar(members, fix_sizes=fix)


# --------------------------------------------------------------------------------------------
# tar and .deb
# --------------------------------------------------------------------------------------------

COMPRESSIONS = ["gz", "xz", "zst", "bz2", "lzma", "tar"]


def decompress(name: str, data: bytes, limit: int = 256 << 20) -> bytes | None:
    ext = name.rsplit(".", 1)[-1]
    try:
        if ext == "gz":
            return gzip.decompress(data)[:limit]
        if ext in ("xz", "lzma"):
            return lzma.LZMADecompressor().decompress(data, max_length=limit)
        if ext == "bz2":
            return bz2.BZ2Decompressor().decompress(data, max_length=limit)
        if ext == "zst":
            import zstandard

            return zstandard.ZstdDecompressor().stream_reader(io.BytesIO(data)).read(limit)
        if ext == "tar":
            return data
    except Exception:  # noqa: BLE001 - a corrupt seed: no structure to mutate
        return None
    return None


def compress(ext: str, data: bytes) -> bytes:
    if ext == "gz":
        return gzip.compress(data, compresslevel=1, mtime=0)
    if ext == "xz":
        return lzma.compress(data, preset=0)
    if ext == "lzma":
        return lzma.compress(data, format=lzma.FORMAT_ALONE, preset=0)
    if ext == "bz2":
        return bz2.compress(data, 1)
    if ext == "zst":
        import zstandard

        return zstandard.ZstdCompressor(level=1).compress(data)
    return data


HOSTILE_NAMES = ["../escape", "/etc/passwd", "./../x", "./usr/../../x", "usr/lib/../../../y",
                 ".", "./", "..", "./usr/lib/x86_64-linux-gnu/", "usr//lib///z", "./a/b/c/d/e/f",
                 "./usr/bin/" + "x" * 300, "./\u00e9t\u00e9", "./usr/lib/libdup.so",
                 "./usr/lib/libdup.so", "./etc/ld.so.conf", "./etc/ld.so.conf.d/x.conf",
                 "./usr/x", "./usr/x/y", "./usr/x/y/evil", "./y/evil", "./usr/lib/d/f"]
HOSTILE_LINKS = ["..", "../..", "../../..", "/", "/etc/shadow", "../../../../etc/passwd",
                 ".", "./", "x", "usr/lib", "/usr/lib/x86_64-linux-gnu/libc.so.6", "../x/../..",
                 "", "/..", "a/b/../../..", "self", "./usr/lib/libdup.so", "../../tmp",
                 "usr/x", "/proc/self/root"]
TAR_TYPES = [tarfile.REGTYPE, tarfile.REGTYPE, tarfile.SYMTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE,
             tarfile.DIRTYPE, tarfile.CHRTYPE, tarfile.BLKTYPE, tarfile.FIFOTYPE,
             tarfile.CONTTYPE, b"7", b"Z", b"V"]


def parse_tar(data: bytes) -> list[tuple[tarfile.TarInfo, bytes | None]] | None:
    try:
        out = []
        with tarfile.open(fileobj=io.BytesIO(data), mode="r:") as tar:
            for info in tar:
                body = None
                if info.isreg():
                    fh = tar.extractfile(info)
                    body = fh.read(1 << 20) if fh else b""
                    info.size = len(body)
                out.append((info, body))
        return out
    except Exception:  # noqa: BLE001
        return None


def write_tar(entries: list[tuple[tarfile.TarInfo, bytes | None]], fmt: int) -> bytes | None:
    buf = io.BytesIO()
    try:
        with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
            for info, body in entries:
                if body is not None and info.type in (tarfile.REGTYPE, tarfile.AREGTYPE,
                                                      tarfile.CONTTYPE):
                    info.size = len(body)
                    tar.addfile(info, io.BytesIO(body))
                else:
                    info.size = 0
                    tar.addfile(info)
    except Exception:  # noqa: BLE001 - e.g. a name the format cannot hold
        return None
    return buf.getvalue()


def fix_tar_checksums(buf: bytearray) -> None:
    """Recompute the checksum of every 512-byte block that looks like a ustar header."""
    for off in range(0, len(buf) - 511, 512):
        block = buf[off:off + 512]
        if block[257:262] != b"ustar":
            continue
        block[148:156] = b" " * 8
        chk = sum(block)
        buf[off + 148:off + 156] = b"%06o\0 " % chk


def mutate_tar_entries(r: random.Random, entries: list[tuple[tarfile.TarInfo, bytes | None]],
                       elf: Callable[[bytes], bytes] | None) -> None:
    for _ in range(r.choice((1, 1, 2, 3, 4))):
        op = r.randrange(10)
        if op == 9:  # a chain: a symlink, a symlink planted through it, a file through both
            d = r.choice(("./usr/x", "./a/b/c", "./usr/lib"))
            depth = d.count("/")
            chain = [(d, r.choice(("..", ".", "../..", "/"))),
                     (d + "/y", "/".join([".."] * r.randrange(1, depth + 3))),
                     (d + "/y/z", r.choice(("..", "../../..", "/etc")))]
            for name, link in chain[:r.randrange(1, 4)]:
                info = tarfile.TarInfo(name)
                info.type = r.choice((tarfile.SYMTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE))
                info.linkname = link
                entries.append((info, None))
            info = tarfile.TarInfo(d + r.choice(("/y/evil", "/y/z/evil", "/evil")))
            entries.append((info, b"\x7fELF" + r.randbytes(16)))
            continue
        if op <= 2 or not entries:  # add a hostile entry
            info = tarfile.TarInfo(r.choice(HOSTILE_NAMES))
            info.type = r.choice(TAR_TYPES)
            info.linkname = r.choice(HOSTILE_LINKS)
            info.mode = r.choice((0o644, 0o755, 0o4755, 0o777, 0))
            body = None
            if info.type in (tarfile.REGTYPE, tarfile.CONTTYPE):
                body = r.choice([b"\x7fELF" + r.randbytes(60), b"include /etc/ld.so.conf\n",
                                 b"include *\n/opt/lib\n", b"", b"!<arch>\n"])
            if info.type in (tarfile.CHRTYPE, tarfile.BLKTYPE):
                info.devmajor, info.devminor = 8, 0
            entries.insert(r.randrange(len(entries) + 1), (info, body))
            continue
        i = r.randrange(len(entries))
        info, body = entries[i]
        if op == 3:
            info.name = r.choice(HOSTILE_NAMES) if r.random() < 0.6 else info.name + "/../x"
        elif op == 4:
            info.type = r.choice(TAR_TYPES)
            info.linkname = r.choice(HOSTILE_LINKS + [e[0].name for e in entries])
        elif op == 5 and body is not None and body[:4] == b"\x7fELF" and elf is not None:
            entries[i] = (info, elf(body))
        elif op == 6:
            entries.append((info, body))
        elif op == 7:
            del entries[i]
        else:
            r.shuffle(entries)


def mutate_tar(r: random.Random, tar: bytes, elf: Callable[[bytes], bytes] | None = None
               ) -> bytes:
    choice = r.random()
    if choice < 0.55:
        entries = parse_tar(tar)
        if entries is not None:
            mutate_tar_entries(r, entries, elf)
            fmt = r.choice((tarfile.GNU_FORMAT, tarfile.GNU_FORMAT, tarfile.PAX_FORMAT,
                            tarfile.USTAR_FORMAT))
            out = write_tar(entries, fmt) or write_tar(entries, tarfile.PAX_FORMAT)
            if out is not None:
                return out
    # header bytes, checksum fixed most of the time
    headers = [(o, o + 512) for o in range(0, len(tar) - 511, 512)
               if tar[o + 257:o + 262] == b"ustar"] or [(0, min(len(tar), 512))]
    fields = [(0, 100), (100, 108), (124, 136), (156, 157), (157, 257), (345, 500)]
    buf = bytearray(tar)
    for _ in range(r.choice((1, 2, 3))):
        lo, _hi = r.choice(headers)
        flo, fhi = r.choice(fields)
        val = r.choice([b"../../x\0", b"/etc/x\0", b"99999999999\0", b"0\0", b"7777777\0",
                        b"-1\0", b"L", b"K", b"x", b"g", b"S", b"1", b"2", b"3", b"4",
                        b"\x80\0\0\0\0\0\0\0\0\0\0\xff", b"\xff" * 12, b"..\0", r.randbytes(8)])
        buf[lo + flo:lo + min(fhi, flo + len(val))] = val[:fhi - flo]
    if r.random() < 0.9:
        fix_tar_checksums(buf)
    if r.random() < 0.1:
        del buf[r.randrange(len(buf) or 1):]
    return bytes(buf)


def pax_bomb(r: random.Random, size: int) -> bytes:
    """A tar whose first entry is a pax extended header (or GNU long name) of ``size`` bytes."""
    kind = r.choice((tarfile.XHDTYPE, tarfile.GNUTYPE_LONGNAME, tarfile.XGLTYPE))
    info = tarfile.TarInfo("././@PaxHeader")
    info.type = kind
    info.size = size
    hdr = bytearray(info.tobuf(tarfile.USTAR_FORMAT if kind != tarfile.GNUTYPE_LONGNAME
                               else tarfile.GNU_FORMAT))
    body = (b"%d path=" % size) if kind != tarfile.GNUTYPE_LONGNAME else b"a"
    return bytes(hdr) + body + bytes(size - len(body) + (-size) % 512) + bytes(1024)


def zero_bomb(size: int) -> bytes:
    info = tarfile.TarInfo("./usr/bin/bomb")
    info.size = size
    return info.tobuf(tarfile.GNU_FORMAT) + b"\x7fELF" + bytes(size - 4 + (-size) % 512) + \
        bytes(1024)


@dataclass
class DebShape:
    members: list[list[bytes]]
    control_name: str = ""
    control_tar: bytes | None = None
    data_name: str = ""
    data_tar: bytes | None = None


def deb_shape(data: bytes) -> DebShape:
    members = parse_ar(data) or []
    shape = DebShape(members)
    for hdr, body in members:
        name = hdr[:16].rstrip(b" ").rstrip(b"/").decode("latin-1")
        if name.startswith("control.tar") and shape.control_tar is None:
            shape.control_name, shape.control_tar = name, decompress(name, body)
        elif name.startswith("data.tar") and shape.data_tar is None:
            shape.data_name, shape.data_tar = name, decompress(name, body, 64 << 20)
    return shape


CONTROL_TEXTS = [b"", b"Package: x\n", b"Version: 1\n", b"Package: \xff\xfe\n",
                 b"Package: a\nPackage: b\n", b"Package: a\n Description continued\n",
                 b"Package: a\nDepends: " + b"libx (>= 1), " * 2000 + b"\n",
                 b"\n\n\nPackage: late\n", b"#comment\nPackage: a\n", b"Package: " + b"a" * 70000,
                 b"Package: a\r\nVersion: 1\r\n"]


def mutate_deb(r: random.Random, data: bytes, shape: DebShape,
               elf: Callable[[bytes], bytes] | None = None, bomb_size: int = 8 << 20) -> bytes:
    choice = r.random()
    if choice < 0.08 or not shape.members:
        return mutate_bytes(r, data, ranges=[(0, min(len(data), 400))])
    if choice < 0.2:
        return mutate_ar(r, data)
    members = [list(m) for m in shape.members]
    data_tar, control_tar = shape.data_tar, shape.control_tar
    data_name, control_name = shape.data_name or "data.tar.gz", shape.control_name or \
        "control.tar.gz"
    what = r.random()
    if what < 0.55 and data_tar is not None:
        data_tar = mutate_tar(r, data_tar, elf)
    elif what < 0.7 and control_tar is not None:
        entries = parse_tar(control_tar)
        if entries is not None and r.random() < 0.6:
            for i, (info, body) in enumerate(entries):
                if info.name.endswith("control") and body is not None:
                    body = r.choice(CONTROL_TEXTS) if r.random() < 0.4 else mutate_bytes(r, body)
                    entries[i] = (info, body)
            if r.random() < 0.3:
                mutate_tar_entries(r, entries, None)
            control_tar = write_tar(entries, tarfile.GNU_FORMAT) or control_tar
        else:
            control_tar = mutate_tar(r, control_tar)
    elif what < 0.76:
        which = r.random() < 0.7
        bomb = pax_bomb(r, bomb_size) if r.random() < 0.5 else zero_bomb(bomb_size)
        if which:
            data_tar = bomb
        else:
            control_tar = bomb
    new_members = []
    for hdr, body in members:
        name = hdr[:16].rstrip(b" ").rstrip(b"/").decode("latin-1")
        if name.startswith("data.tar") and data_tar is not None:
            ext = r.choice(COMPRESSIONS) if r.random() < 0.3 else data_name.rsplit(".", 1)[-1]
            label = ext if r.random() < 0.9 else r.choice(COMPRESSIONS)
            new = "data.tar" if label == "tar" else f"data.tar.{label}"
            body = compress(ext if ext != "tar" else "", data_tar)
            if r.random() < 0.05:
                body = mutate_bytes(r, body)
            hdr = ar_header(new.encode() + b"/", len(body))
        elif name.startswith("control.tar") and control_tar is not None:
            ext = r.choice(COMPRESSIONS) if r.random() < 0.3 else control_name.rsplit(".", 1)[-1]
            new = "control.tar" if ext == "tar" else f"control.tar.{ext}"
            body = compress(ext if ext != "tar" else "", control_tar)
            hdr = ar_header(new.encode() + b"/", len(body))
        new_members.append([hdr, body])
    if r.random() < 0.05:
        r.shuffle(new_members)
    return build_ar(new_members)


# --------------------------------------------------------------------------------------------
# TOML and JSON
# --------------------------------------------------------------------------------------------

TOML_TOKENS = [b"[[library]]\n", b"[[symbol]]\n", b"[[remedy]]\n", b"[[group]]\n",
               b"[[remedy.replacement]]\n", b"[consumers]\n", b'[consumers."x"]\n',
               b"schema = 1\n", b"schema = 2\n", b'schema = "1"\n', b"match = ", b'"', b"'''",
               b'"""', b"=", b"[", b"]", b"{", b"}", b",", b"\n", b"1979-05-27T07:32:00Z",
               b"inf", b"nan", b"true", b"0x7fffffffffffffff", b"1e999", b"\\u0000", b"\\",
               b'stability = "unstable"\n', b'kind = "replace"\n', b"difficulty = 9\n",
               b'symbols = []\n', b'a.b.c = 1\n', b"# comment\n", b"\xff", b"\r\n", b"\t"]


def toml_dump(obj: Any, depth: int = 0) -> str:
    """A small TOML writer for mutated trees (tables, arrays of tables, inline values)."""

    def key(k: str) -> str:
        return json.dumps(k)

    def val(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, (int, float)):
            if isinstance(v, float) and not math.isfinite(v):
                return "nan" if math.isnan(v) else ("inf" if v > 0 else "-inf")
            return repr(v)
        if isinstance(v, str):
            return json.dumps(v)
        if isinstance(v, list):
            return "[" + ", ".join(val(x) for x in v) + "]"
        if isinstance(v, dict):
            return "{" + ", ".join(f"{key(k)} = {val(x)}" for k, x in v.items()) + "}"
        return json.dumps(str(v))

    lines: list[str] = []
    tables: list[tuple[str, Any]] = []
    for k, v in obj.items():
        if isinstance(v, dict) and v and depth < 4 or isinstance(v, list) and v and all(isinstance(x, dict) for x in v) and depth < 4:
            tables.append((k, v))
        else:
            lines.append(f"{key(k)} = {val(v)}")
    out = "\n".join(lines) + ("\n" if lines else "")

    def emit(prefix: str, v: Any) -> str:
        if isinstance(v, dict):
            inner = {k: x for k, x in v.items()}
            return f"\n[{prefix}]\n" + _table_body(inner)
        return "".join(f"\n[[{prefix}]]\n" + _table_body(x) for x in v)

    def _table_body(t: dict) -> str:
        return "".join(f"{key(k)} = {val(x)}\n" for k, x in t.items())

    for k, v in tables:
        out += emit(key(k), v)
    return out


def _random_value(r: random.Random, depth: int = 0) -> Any:
    c = r.randrange(9 if depth < 3 else 6)
    if c == 0:
        return r.choice(["", "x", "*", "[", "lib*.so.*", "\x00", "\ud800", "é", "a" * 1000,
                         "unstable", "stable", "private", "unknown", "replace", "redesign"])
    if c == 1:
        return r.choice([0, 1, -1, 2, 3, 5, 6, 2**63 - 1, -2**63, 10**30])
    if c == 2:
        return r.choice([0.5, float("inf"), float("nan"), -0.0, 1e308])
    if c == 3:
        return r.choice([True, False])
    if c == 4:
        return None
    if c == 5:
        return []
    if c == 6:
        return [_random_value(r, depth + 1) for _ in range(r.randrange(4))]
    if c == 7:
        return {r.choice(["a", "match", "name", "schema", "kind", "x"]): _random_value(r, depth + 1)
                for _ in range(r.randrange(3))}
    return {}


def mutate_tree(r: random.Random, obj: Any, keys: list[str]) -> Any:
    """Mutate a parsed JSON/TOML tree in place-ish (returns the new root)."""
    paths: list[tuple[Any, Any]] = []  # (container, key/index)

    def walk(o: Any, depth: int) -> None:
        if depth > 30 or len(paths) > 20000:
            return
        if isinstance(o, dict):
            for k in list(o):
                paths.append((o, k))
                walk(o[k], depth + 1)
        elif isinstance(o, list):
            for i in range(len(o)):
                paths.append((o, i))
                walk(o[i], depth + 1)

    walk(obj, 0)
    for _ in range(r.choice((1, 1, 2, 3, 5))):
        if not paths:
            return _random_value(r)
        cont, k = r.choice(paths)
        try:
            cur = cont[k]
        except (KeyError, IndexError):
            continue
        op = r.randrange(10)
        if op <= 2:
            cont[k] = _random_value(r)
        elif op == 3 and isinstance(cont, dict):
            del cont[k]
        elif op == 3 and isinstance(cont, list):
            cont.pop(k) if k < len(cont) else None
        elif op == 4 and isinstance(cont, dict):
            cont[r.choice(keys + ["unexpected", ""])] = _random_value(r)
        elif op == 5 and isinstance(cur, list) and cur:
            cur.append(json.loads(json.dumps(r.choice(cur), default=str)))
        elif op == 6 and isinstance(cur, str):
            cont[k] = r.choice([cur + "*", cur[:1], cur * 3, cur.upper(), "", cur + "\ud800"])
        elif op == 7 and isinstance(cur, (int, float)) and not isinstance(cur, bool):
            cont[k] = r.choice([-cur, cur + 1, str(cur), float(cur), [cur], None])
        elif op == 8:  # deep nesting
            depth = r.choice((10, 100, 900, 1100, 5000, 30000))
            v: Any = cur
            for _ in range(depth):
                v = [v] if r.random() < 0.5 else {"a": v}
            cont[k] = v
        else:
            try:
                cont[k] = str(cur)[:50]
            except RecursionError:
                cont[k] = "deep"
    return obj


def mutate_toml(r: random.Random, data: bytes, keys: list[str]) -> bytes:
    import tomllib

    c = r.random()
    if c < 0.45:
        from abiguard.limits import toml_key_parts

        try:
            text = data.decode("utf-8")
            # (tomllib is quadratic in dotted keys: parse only what abiguard would parse)
            tree = tomllib.loads(text) if len(data) < (1 << 20) and \
                toml_key_parts(text) <= 64 else None
        except (UnicodeDecodeError, tomllib.TOMLDecodeError, RecursionError, MemoryError):
            tree = None
        if tree is not None:
            tree = mutate_tree(r, tree, keys)
            try:
                if isinstance(tree, dict):
                    return toml_dump(tree).encode("utf-8", "surrogatepass")
            except (RecursionError, ValueError):
                pass
    if c < 0.55:
        depth = r.choice((50, 500, 999, 1000, 2000, 50000))
        which = r.choice(("array", "inline", "key"))
        if which == "array":
            return data + b"\nx = " + b"[" * depth + b"]" * depth + b"\n"
        if which == "inline":
            return data + b"\ny = " + b"{a = " * depth + b"1" + b"}" * depth + b"\n"
        return data + b"\n" + b"a." * depth + b"b = 1\n"
    if c < 0.75:  # line-level
        lines = data.split(b"\n")
        for _ in range(r.choice((1, 2, 3))):
            if not lines:
                lines = [r.choice(TOML_TOKENS)]
            i = r.randrange(len(lines))
            op = r.randrange(4)
            if op == 0:
                del lines[i]
            elif op == 1:
                lines.insert(r.randrange(len(lines) + 1), lines[i])
            elif op == 2:
                j = r.randrange(len(lines))
                lines[i], lines[j] = lines[j], lines[i]
            else:
                lines.insert(i, r.choice(TOML_TOKENS).rstrip(b"\n"))
        return b"\n".join(lines)
    return mutate_bytes(r, data, dictionary=TOML_TOKENS)


JSON_TOKENS = [b"{", b"}", b"[", b"]", b",", b":", b'"', b"null", b"true", b"1e999", b"-0",
               b"NaN", b"Infinity", b'"\\ud800"', b'"schema": 1', b'"schema": 2', b'"kind": "plan"',
               b'"status": "bound"', b'"stability": "weird"', b"\xff", b"1" * 400]


def mutate_json(r: random.Random, data: bytes, keys: list[str]) -> bytes:
    c = r.random()
    if c < 0.6:
        try:
            tree = json.loads(data)
        except (ValueError, RecursionError):
            tree = None
        if tree is not None:
            tree = mutate_tree(r, tree, keys)
            try:
                return json.dumps(tree, indent=r.choice((None, 1))).encode("utf-8",
                                                                           "surrogatepass")
            except (RecursionError, ValueError):
                pass
    if c < 0.7:
        depth = r.choice((100, 999, 1000, 5000, 100000))
        return b'{"schema": 1, "consumers": ' + b"[" * depth + b"]" * depth + b"}"
    return mutate_bytes(r, data, dictionary=JSON_TOKENS)
