"""abiguard.tarstream: the streaming tar reader of .deb packages, checked against tarfile on
valid archives (every format, compression and chunking) and on its stricter answers."""

from __future__ import annotations

import bz2
import gzip
import io
import lzma
import tarfile

import pytest
import zstandard

from abiguard.tarstream import (
    LimitExceeded,
    Refused,
    TarError,
    TarStream,
    decompressed,
)

BIG = 1 << 20
_PATTERN = bytes((i * 7) % 251 for i in range(251))


def payload(n: int) -> bytes:
    """n bytes that differ between sizes (a member read at the wrong offset shows)."""
    start = n % 251
    return (_PATTERN * (n // 251 + 2))[start:start + n]


def entries() -> list[tuple[tarfile.TarInfo, bytes]]:
    out = []

    def add(name, kind=tarfile.REGTYPE, data=b"", link=""):
        info = tarfile.TarInfo(name)
        info.type, info.linkname, info.size = kind, link, len(data)
        out.append((info, data))

    add("./usr/", tarfile.DIRTYPE)
    add("./usr/lib/", tarfile.DIRTYPE)
    for n in (0, 1, 511, 512, 513, 3 * BIG + 17):
        add(f"./usr/lib/f{n}", data=payload(n))
    add("./usr/lib/" + "long-directory-name/" * 8 + "libdeep.so.1", data=b"\x7fELF deep")
    add("./usr/lib/libz.so", tarfile.SYMTYPE, link="libz.so.1")
    add("./usr/lib/lnk", tarfile.SYMTYPE, link="../" + "x" * 150)
    add("./usr/lib/hard", tarfile.LNKTYPE, link="./usr/lib/f1")
    add("./usr/share/doc/caf\u00e9/README", data=b"unicode name\n")
    return out


def tar_of(items, fmt: int) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for info, data in items:
            tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
    return buf.getvalue()


def by_tarfile(raw: bytes) -> list[tuple]:
    out = []
    with tarfile.open(fileobj=io.BytesIO(raw), mode="r:") as tar:
        for info in tar:
            data = tar.extractfile(info).read() if info.isreg() else b""
            out.append((info.name, info.type[0], info.size if info.isreg() else 0,
                        info.linkname, data))
    return out


def by_stream(chunks, **kw) -> list[tuple]:
    kw.setdefault("max_member", 1 << 30)
    kw.setdefault("limit_name", "max_unpacked_bytes")
    tar = TarStream(iter(chunks), **kw)
    out = []
    for m in tar:
        data = tar.read() if m.isreg() else b""
        out.append((m.name, m.type, m.size if m.isreg() else 0, m.linkname, data))
    tar.finish()
    return out


def pieces(raw: bytes, size: int) -> list[bytes]:
    return [raw[i:i + size] for i in range(0, len(raw), size)]


@pytest.mark.parametrize("fmt", [tarfile.GNU_FORMAT, tarfile.PAX_FORMAT, tarfile.USTAR_FORMAT])
@pytest.mark.parametrize("chunk", [1 << 20, 4096, 511, 7])
def test_same_members_as_tarfile(fmt, chunk):
    items = entries()
    if fmt == tarfile.USTAR_FORMAT:  # ustar has no long link names
        items = [(i, d) for i, d in items if len(i.linkname) <= 100]
    raw = tar_of(items, fmt)
    if chunk == 7:  # byte-sized pieces of a smaller archive: every boundary falls somewhere
        raw = tar_of([(i, d) for i, d in items if i.size < 4096], fmt)
    want = by_tarfile(raw)
    assert len(want) == len(items) - (3 * BIG + 17 > 4096 and chunk == 7)
    assert by_stream(pieces(raw, chunk)) == want


@pytest.mark.parametrize("name, compress", [
    ("data.tar.xz", lzma.compress),
    ("data.tar.lzma", lambda b: lzma.compress(b, format=lzma.FORMAT_ALONE)),
    ("data.tar.gz", gzip.compress),
    ("data.tar.bz2", bz2.compress),
    ("data.tar.zst", lambda b: zstandard.ZstdCompressor().compress(b)),
    ("data.tar", lambda b: b),
])
def test_every_compression(name, compress):
    raw = tar_of(entries(), tarfile.GNU_FORMAT)
    chunks = decompressed(io.BytesIO(compress(raw)), name, 1 << 30, "max_unpacked_bytes", 1)
    assert by_stream(chunks) == by_tarfile(raw)


def test_concatenated_streams_and_trailing_zeros():
    raw = tar_of(entries(), tarfile.GNU_FORMAT)
    half = len(raw) // 2
    two = gzip.compress(raw[:half]) + gzip.compress(raw[half:]) + bytes(100)
    got = decompressed(io.BytesIO(two), "data.tar.gz", 1 << 30, "x", 1)
    assert b"".join(got) == raw
    two = lzma.compress(raw[:half]) + lzma.compress(raw[half:])
    got = decompressed(io.BytesIO(two), "data.tar.xz", 1 << 30, "x", 1)
    assert b"".join(got) == raw


def test_unsupported_compression():
    with pytest.raises(TarError, match="unsupported compression of data.tar.rar"):
        decompressed(io.BytesIO(b""), "data.tar.rar", 1, "x", 1)


def second_header_offset(raw: bytes) -> int:
    first_size = int(raw[124:136].split(b"\0")[0] or b"0", 8)
    return 512 + -(-first_size // 512) * 512


def test_a_bad_checksum_anywhere_is_an_error():
    """tarfile ends the archive quietly at a bad header after the first member (a package
    would lose its files without a word); the reader says where the damage is."""
    raw = bytearray(tar_of(entries(), tarfile.GNU_FORMAT))
    at = second_header_offset(raw)
    raw[at + 10] ^= 0x55
    assert len(by_tarfile(bytes(raw))) == 1
    with pytest.raises(TarError, match=f"bad tar header checksum at {at:#x}"):
        by_stream([bytes(raw)])


def test_truncation_is_an_error():
    raw = tar_of(entries(), tarfile.GNU_FORMAT)
    cut = raw[:len(raw) // 2]  # inside the large member
    with pytest.raises(TarError, match="ends inside a member"):
        by_stream([cut])
    xz = lzma.compress(raw)
    with pytest.raises(TarError, match="compressed stream ends early"):
        by_stream(decompressed(io.BytesIO(xz[:-30]), "data.tar.xz", 1 << 30, "x", 1))
    with pytest.raises(lzma.LZMAError):
        damaged = bytearray(xz)
        damaged[len(xz) // 2] ^= 0xFF
        by_stream(decompressed(io.BytesIO(bytes(damaged)), "data.tar.xz", 1 << 30, "x", 1))
    with pytest.raises(TarError, match="truncated tar header"):
        by_stream([raw[:second_header_offset(raw) + 100]])


def test_a_stream_ending_on_a_block_boundary_ends_the_archive():
    raw = tar_of(entries(), tarfile.GNU_FORMAT)
    end = second_header_offset(raw)
    assert len(by_stream([raw[:end]])) == 1


def test_limits():
    raw = tar_of(entries(), tarfile.GNU_FORMAT)
    with pytest.raises(LimitExceeded, match="member './usr/lib/f3145745' of 3145745 bytes"):
        by_stream([raw], max_member=BIG)
    with pytest.raises(LimitExceeded, match="decompressed data.tar.gz exceeds 5 bytes"):
        by_stream(decompressed(io.BytesIO(gzip.compress(raw)), "data.tar.gz", BIG, "lim", 5))
    pax = tar_of(entries(), tarfile.PAX_FORMAT)
    with pytest.raises(LimitExceeded, match="extended header or long name of .* bytes"):
        by_stream([pax], header_cap=64)
    gnu_long = tar_of(entries(), tarfile.GNU_FORMAT)
    with pytest.raises(LimitExceeded, match="max_tar_header_bytes"):
        by_stream([gnu_long], header_cap=64)


def test_sparse_members_are_refused():
    info = tarfile.TarInfo("./usr/sparse")
    info.type = tarfile.GNUTYPE_SPARSE
    with pytest.raises(Refused, match="'./usr/sparse' is a GNU sparse file"):
        by_stream([tar_of([(info, b"")], tarfile.GNU_FORMAT)])
    info = tarfile.TarInfo("./usr/sparse1")
    info.pax_headers = {"GNU.sparse.major": "1", "GNU.sparse.minor": "0"}
    with pytest.raises(Refused, match="GNU sparse file"):
        by_stream([tar_of([(info, b"")], tarfile.PAX_FORMAT)])


def header(name: bytes, size_field: bytes, kind: bytes = b"0") -> bytes:
    block = bytearray(512)
    block[0:len(name)] = name
    block[100:108] = b"0000644\0"
    block[124:136] = size_field.ljust(12, b"\0")
    block[156:157] = kind
    block[257:265] = b"ustar\x0000"
    block[148:156] = b" " * 8
    block[148:156] = b"%06o\0 " % sum(block)
    return bytes(block)


def test_numbers_base256_and_bad_fields():
    base256 = b"\x80" + (5).to_bytes(11, "big")
    raw = header(b"./a", base256) + b"hello".ljust(512, b"\0") + bytes(1024)
    assert by_stream([raw]) == by_tarfile(raw) == [("./a", 0x30, 5, "", b"hello")]
    negative = b"\xff" * 12
    with pytest.raises(TarError, match="negative member size"):
        by_stream([header(b"./a", negative) + bytes(1024)])
    with pytest.raises(TarError, match="bad size field"):
        by_stream([header(b"./a", b"12x4\0") + bytes(1024)])


def test_v7_directory_and_pax_records():
    raw = header(b"./old/", b"0\0", b"\0") + bytes(1024)
    assert by_stream([raw]) == by_tarfile(raw) == [("./old", 0x35, 0, "", b"")]
    body = b"29 path=./usr/lib/renamed.so\n"
    pax = header(b"././@PaxHeader", b"%o\0" % len(body), b"x") + body.ljust(512, b"\0")
    raw = pax + header(b"./short", b"1\0") + b"z".ljust(512, b"\0") + bytes(1024)
    assert by_stream([raw]) == by_tarfile(raw) == [("./usr/lib/renamed.so", 0x30, 1, "", b"z")]
    bad = header(b"././@PaxHeader", b"5\0", b"x") + b"99 p=".ljust(512, b"\0") + bytes(1024)
    with pytest.raises(TarError, match="bad pax extended header"):
        by_stream([bad])
    with pytest.raises(TarError, match="ends after an extended header"):
        by_stream([pax])


def test_head_does_not_consume():
    raw = tar_of(entries(), tarfile.GNU_FORMAT)
    tar = TarStream(iter(pieces(raw, 3)), max_member=1 << 30, limit_name="x")
    for m in tar:
        if m.name == "./usr/lib/f513":
            want = payload(513)
            assert tar.head(8) == want[:8]
            assert tar.read() == want
            return
    raise AssertionError("member not found")


def test_a_garbage_numeric_field_is_an_error():
    """A mode field that is not a number (fuzzing found tarfile ending such archives
    quietly where the reader went on): the header is damaged, as dpkg would say too."""
    raw = bytearray(tar_of(entries(), tarfile.GNU_FORMAT))
    at = second_header_offset(raw)
    raw[at + 100:at + 108] = b"x000644\0"
    raw[at + 148:at + 156] = b" " * 8
    raw[at + 148:at + 156] = b"%06o\0 " % sum(raw[at:at + 512])
    assert len(by_tarfile(bytes(raw))) == 1
    with pytest.raises(TarError, match=f"bad mode field b'x000644.*' in the tar header at {at:#x}"):
        by_stream([bytes(raw)])


def test_the_first_of_several_extended_headers_wins_as_in_tarfile():
    """Two GNU long links before a member, a long name before a pax path (fuzzing found the
    reader taking the last where tarfile takes the first)."""

    def ext(kind: bytes, body: bytes) -> bytes:
        return header(b"././@LongLink", b"%o\0" % len(body), kind) + \
            body.ljust(-(-len(body) // 512) * 512, b"\0")

    link = header(b"./a/hard", b"0\0", b"1")
    raw = ext(b"K", b"first-target\0") + ext(b"K", b"\0") + link + bytes(1024)
    assert by_stream([raw]) == by_tarfile(raw) == [("./a/hard", 0x31, 0, "first-target", b"")]
    long_name, pax = ext(b"L", b"./from-long-name.so\0"), ext(b"x", b"22 path=./from-pax.so\n")
    member = header(b"./short", b"1\0") + b"z".ljust(512, b"\0") + bytes(1024)
    raw = long_name + pax + member
    assert by_stream([raw]) == by_tarfile(raw) == [("./from-long-name.so", 0x30, 1, "", b"z")]
    raw = pax + long_name + member
    assert by_stream([raw]) == by_tarfile(raw) == [("./from-pax.so", 0x30, 1, "", b"z")]
