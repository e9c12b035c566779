"""Hostile inputs and faults (issue #7): limits with clear errors, cycles that end, nothing
executed, nothing unpacked outside its directory, temporary directories private and removed.

Every limit is tested through its configuration (``--limit NAME=VALUE``, the
``ABIGUARD_LIMIT_*`` environment or ``abiguard.limits.override``) with a small value, so the
inputs stay small; the default values are far above what real files need."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import shutil
import signal
import struct
import subprocess
import sys
import tarfile
import tempfile
import time
from pathlib import Path

import pytest

from abiguard import limits
from abiguard.cli import main
from abiguard.debian.deb import read_deb_control, unpack_deb
from abiguard.elf import ElfFile, read_archive, read_elf
from abiguard.errors import DataFileError, ElfError, InputFileError, UsageError
from abiguard.inputs import collect
from abiguard.jsonform import audit_from_json
from abiguard.model import SchemaError
from abiguard.policy import parse_policy
from abiguard.resolve import Layers, read_ld_so_conf
from helpers.cfixtures import gcc, program, shared_lib, write
from helpers.debbuild import ar_pack, fake_deb, tar_bytes
from helpers.paths import DATA
from helpers.toycensus import ALL_TOY, census, expected_matrix, matrix, store_rows


def scan_json(*args: str, capsys) -> tuple[int, dict]:
    rc = main(["scan", "--format", "json", *map(str, args)])
    return rc, json.loads(capsys.readouterr().out)


def entry(name: str, kind: bytes = tarfile.REGTYPE, link: str = "", data: bytes | None = None
          ) -> tarfile.TarInfo | tuple[tarfile.TarInfo, bytes]:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, link
    if data is None:
        return info
    info.size = len(data)
    return info, data


@pytest.fixture(scope="module")
def libs(tmp_path_factory) -> dict[str, Path]:
    """A versioned library, a program using it, an object file and an archive."""
    d = tmp_path_factory.mktemp("hostile-libs")
    lib = shared_lib(d, "libv.so.1", """
        int v1(void) { return 1; }
        int v2(void) { return 2; }
        int v3(void) { return 3; }
    """, version_script="V_1 { global: v1; local: *; };\nV_2 { global: v2; } V_1;\n"
                        "V_3 { global: v3; } V_2;\n")
    prog = program(d, "prog", "int v1(void); int v3(void); int main(void) "
                   "{ return v1() + v3(); }", link=(f"-L{d}", "-lv", "-Wl,-rpath,$ORIGIN"))
    obj = d / "obj.o"
    write(d / "obj.c", "extern int ext(int); int f(int x) { return ext(x) + 1; }\n"
                       "int g(int x) { return ext(x) * 2; }\n")
    gcc("-c", "-fPIC", "-o", obj, d / "obj.c")
    archive = d / "libobjs.a"
    subprocess.run(["ar", "rcs", str(archive), str(obj)], check=True, cwd=d)
    for i in range(3):
        shutil.copy(obj, d / f"m{i}.o")
        subprocess.run(["ar", "rs", str(archive), f"m{i}.o"], check=True, cwd=d,
                       capture_output=True)
    return {"dir": d, "lib": lib, "prog": prog, "obj": obj, "archive": archive}


# --------------------------------------------------------------------------------------------
# Limits of the ELF reader (each configurable, each an ElfError naming the file)
# --------------------------------------------------------------------------------------------


def test_limit_configuration_and_messages(monkeypatch):
    assert limits.current() == limits.Limits()
    assert limits.parse_assignments(["max_unpacked-bytes=16M", "MAX_ELF_SYMBOLS = 1k"]) == {
        "max_unpacked_bytes": 16 << 20, "max_elf_symbols": 1024}
    with limits.override(max_elf_symbols=5) as lim:
        assert lim.max_elf_symbols == 5 and limits.current().max_elf_symbols == 5
    assert limits.current().max_elf_symbols == limits.DEFAULTS.max_elf_symbols
    monkeypatch.setenv("ABIGUARD_LIMIT_MAX_LOAD_ORDER", "7")
    assert limits.current().max_load_order == 7
    for bad in (["nope=1"], ["max_load_order"], ["max_load_order=-1"], ["max_load_order=x"]):
        with pytest.raises(UsageError, match="limit|NAME=VALUE"):
            limits.parse_assignments(bad)
    with pytest.raises(UsageError, match="must not be negative"), \
            limits.override(max_load_order=-1):
        pass
    monkeypatch.setenv("ABIGUARD_LIMIT_MAX_TAR_MEMBERS", "lots")
    with pytest.raises(UsageError, match="max_tar_members"):
        limits.check_environment()
    msg = limits.exceeded("f.deb", "9 things", "max_things", 8)
    assert str(msg) == ("f.deb: limit exceeded: 9 things (limit max_things = 8; raise it with "
                        "--limit max_things=N)")


@pytest.mark.parametrize("name, value, call, what", [
    ("max_elf_sections", 3, "read", "section headers"),
    ("max_elf_symbols", 2, "read", "symbols in .dynsym"),
    ("max_version_entries", 2, "read", "entries in .gnu.version_"),
    ("max_elf_relocations", 1, "relocations", "relocations"),
    ("max_archive_members", 2, "archive", "members"),
])
def test_elf_limits_are_errors_naming_the_file(libs, name, value, call, what):
    with limits.override(**{name: value}), pytest.raises(ElfError) as exc:
        if call == "read":
            read_elf(str(libs["lib"]))
        elif call == "relocations":
            with ElfFile.open(str(libs["obj"])) as f:
                list(f.relocations())
        else:
            read_archive(str(libs["archive"]))
    text = str(exc.value)
    path = libs["archive"] if call == "archive" else libs["lib"] if call == "read" else libs["obj"]
    assert text.startswith(f"{path}: limit exceeded: ") and what in text, text
    assert f"--limit {name}=N" in text and "\n" not in text


def _overlapping_relocation_sections(obj: bytes, copies: int) -> bytes:
    """The object with ``copies`` more section headers all describing its first RELA
    section (and its symbol table): a small file that multiplies the relocations read."""
    f = ElfFile("obj", obj)
    rela = next(s for s in f.sections if s.type == 4)
    h = f.header
    shdrs = bytearray(obj[h.shoff:h.shoff + h.shnum * h.shentsize])
    extra = bytes(obj[h.shoff + rela.index * h.shentsize:
                      h.shoff + (rela.index + 1) * h.shentsize]) * copies
    shoff = len(obj) + (-len(obj)) % 8
    data = bytearray(obj) + bytes(shoff - len(obj)) + shdrs + extra
    struct.pack_into("<Q", data, 0x28, shoff)
    struct.pack_into("<H", data, 0x3C, h.shnum + copies)
    return bytes(data)


def test_overlapping_relocation_sections_hit_the_limit_quickly(libs):
    obj = libs["obj"].read_bytes()
    with ElfFile("obj.o", obj) as f:
        rela = sum(1 for s in f.sections if s.type == 4)
    data = _overlapping_relocation_sections(obj, 3000)
    with ElfFile("amplified.o", data) as f:
        assert sum(1 for s in f.sections if s.type == 4) == rela + 3000
    t = time.monotonic()
    with limits.override(max_elf_relocations=5000), pytest.raises(ElfError) as exc, \
            ElfFile("amplified.o", data) as f:
        for _ in f.relocations():
            pass
    assert time.monotonic() - t < 5
    assert "amplified.o: limit exceeded: more than 5000 relocations" in str(exc.value)


# --------------------------------------------------------------------------------------------
# Cycles: version chains, DT_NEEDED loops, ld.so.conf include loops, symlink loops
# --------------------------------------------------------------------------------------------


def _section(data: bytes, name: str):
    with ElfFile("x", data) as f:
        return f.section_by_name(name)


@pytest.mark.parametrize("table, field, value, message", [
    # vd_next of the first entry 0 (the chain stops before vd count): a loop to nowhere
    (".gnu.version_d", 16, 0, "chain ends after 1 of"),
    # vd_next pointing back at the entry itself (-20 as a 32-bit C reader would add it)
    (".gnu.version_d", 16, 0xFFFFFFEC, "runs past the end of the table"),
    # vn_next pointing back at the entry itself
    (".gnu.version_r", 12, 0xFFFFFFF0, "runs past the end of the table"),
    # vn_next 0 although vn count says there are more: chain ends
    (".gnu.version_r", 12, 0, "chain ends after 1 of"),
])
def test_version_chain_loops_are_elf_errors(libs, table, field, value, message):
    data = bytearray(libs["prog"].read_bytes() if table.endswith("_r")
                     else libs["lib"].read_bytes())
    sec = _section(bytes(data), table)
    if table.endswith("_r") and value == 0:
        assert sec.info >= 2, "the fixture program must need versions from two libraries"
    struct.pack_into("<I", data, sec.offset + field, value)
    t = time.monotonic()
    with pytest.raises(ElfError) as exc:
        read_elf("looped.so", bytes(data))
    assert time.monotonic() - t < 1
    assert str(exc.value).startswith("looped.so: ") and message in str(exc.value), exc.value


def test_version_aux_chain_loop(libs):
    """The second vda_next of V_2 (which has a parent) set to 0: the aux chain loops."""
    data = bytearray(libs["lib"].read_bytes())
    sec = _section(bytes(data), ".gnu.version_d")
    pos = sec.offset
    for _ in range(sec.info):
        _ver, _flags, _ndx, cnt, _hash, aux, nxt = struct.unpack_from("<HHHHIII", data, pos)
        if cnt == 2:
            struct.pack_into("<I", data, pos + aux + 4, 0)
            break
        pos += nxt
    else:
        pytest.fail("no version definition with a parent")
    with pytest.raises(ElfError, match="auxiliary chain ends or loops"):
        read_elf("aux.so", bytes(data))


@pytest.fixture(scope="module")
def needed_cycle(tmp_path_factory) -> dict[str, Path]:
    """liba.so.1 needs libb.so.1 and libb.so.1 needs liba.so.1 (and two libraries without a
    soname needing each other); a program needs libb."""
    d = tmp_path_factory.mktemp("needed-cycle")
    write(d / "a.c", "int a_fn(void) { return 1; }\n")
    write(d / "b.c", "int a_fn(void); int b_fn(void) { return a_fn() + 1; }\n")
    common = ("-shared", "-fPIC", "-Wl,--no-as-needed", f"-L{d}")
    gcc(*common, "-o", d / "liba.so.1", d / "a.c", "-Wl,-soname,liba.so.1")
    gcc(*common, "-o", d / "libb.so.1", d / "b.c", "-Wl,-soname,libb.so.1", "-l:liba.so.1",
        "-Wl,-rpath,$ORIGIN")
    gcc(*common, "-o", d / "liba.so.1", d / "a.c", "-Wl,-soname,liba.so.1", "-l:libb.so.1",
        "-Wl,-rpath,$ORIGIN")
    prog = program(d, "prog", "int b_fn(void); int main(void) { return b_fn(); }",
                   link=("-Wl,--no-as-needed", f"-L{d}", "-l:libb.so.1", "-Wl,-rpath,$ORIGIN"))
    # no sonames: libx.so needs liby.so, liby.so needs libx.so (found through RUNPATH)
    gcc(*common, "-o", d / "libx.so", d / "a.c")
    gcc(*common, "-o", d / "liby.so", d / "b.c", "-l:libx.so", "-Wl,-rpath,$ORIGIN")
    gcc(*common, "-o", d / "libx.so", d / "a.c", "-l:liby.so", "-Wl,-rpath,$ORIGIN")
    return {"dir": d, "prog": prog, "liba": d / "liba.so.1", "libx": d / "libx.so"}


def test_dt_needed_cycle_resolves_without_hang(needed_cycle, capsys):
    assert "libb.so.1" in read_elf(str(needed_cycle["liba"])).needed
    assert "liba.so.1" in read_elf(str(needed_cycle["dir"] / "libb.so.1")).needed
    t = time.monotonic()
    rc, data = scan_json(needed_cycle["prog"], needed_cycle["liba"], needed_cycle["libx"],
                         capsys=capsys)
    assert time.monotonic() - t < 20
    assert rc == 0, data["errors"]
    audit = audit_from_json(json.dumps(data))
    by_path = {Path(c.path).name: c for c in audit.consumers}
    prog = by_path["prog"]
    names = [lib.name for lib in prog.libraries]
    assert names.count("libb.so.1") == 1 and names.count("liba.so.1") == 1
    assert {b.symbol.name: b.provider for b in prog.bindings}["b_fn"] == "libb.so.1"
    # the consumer is not loaded again as its own dependency (soname or file identity)
    assert "liba.so.1" not in [lib.name for lib in by_path["liba.so.1"].libraries]
    libx = by_path["libx.so"]
    assert [lib.name for lib in libx.libraries if lib.name in ("libx.so", "liby.so")
            ] == ["liby.so"]


def test_load_order_limit_is_an_input_error(needed_cycle, capsys):
    rc = main(["--limit", "max_load_order=2", "scan", "-q", str(needed_cycle["prog"])])
    err = capsys.readouterr().err
    assert rc == 2
    assert f"{needed_cycle['prog']}: limit exceeded: more than 2 objects in the load order" \
        in err and "--limit max_load_order=N" in err


def test_ld_so_conf_include_loop_and_limit(tmp_path):
    etc = tmp_path / "etc"
    write(etc / "ld.so.conf", "include /etc/ld.so.conf.d/*.conf\n/opt/top\n")
    write(etc / "ld.so.conf.d" / "a.conf", "include ../ld.so.conf\ninclude a.conf\n/opt/a\n")
    write(etc / "ld.so.conf.d" / "b.conf", "include /etc/ld.so.conf.d/*.conf\n/opt/b\n")
    t = time.monotonic()
    assert read_ld_so_conf(Layers(str(tmp_path))) == ["/opt/a", "/opt/b", "/opt/top"]
    assert time.monotonic() - t < 2
    with limits.override(max_ld_so_conf_files=2), pytest.raises(InputFileError) as exc:
        read_ld_so_conf(Layers(str(tmp_path)))
    assert "limit exceeded: more than 2 ld.so.conf files" in str(exc.value)
    assert str(exc.value).startswith("/etc/ld.so.conf.d/")


def test_symlink_loops_in_a_directory_input(libs, tmp_path, capsys):
    inner = tmp_path / "top" / "inner"
    inner.mkdir(parents=True)
    shutil.copy(libs["prog"], inner / "prog")
    shutil.copy(libs["lib"], inner / "libv.so.1")
    (inner / "self").symlink_to(".")
    (inner / "up").symlink_to("..")
    (inner / "a").symlink_to("b")
    (inner / "b").symlink_to("a")  # a <-> b: ELOOP
    (inner / "deep").mkdir()
    (inner / "deep" / "again").symlink_to("../../inner")
    t = time.monotonic()
    rc, data = scan_json(inner, capsys=capsys)
    assert time.monotonic() - t < 20
    assert rc == 0
    assert sorted(Path(c["path"]).name for c in data["consumers"]) == ["libv.so.1", "prog"]


def test_fifos_among_the_inputs_do_not_block(libs, tmp_path, capsys):
    fifo = tmp_path / "fifo.deb"
    os.mkfifo(fifo)
    d = tmp_path / "dir"
    d.mkdir()
    os.mkfifo(d / "pipe")
    shutil.copy(libs["prog"], d / "prog")
    t = time.monotonic()
    rc, data = scan_json(fifo, d, "--provider", fifo, capsys=capsys)
    assert time.monotonic() - t < 20 and rc == 2
    assert [Path(c["path"]).name for c in data["consumers"]] == ["prog"]
    assert sorted(e["message"] for e in data["errors"]) == ["cannot open: not a regular file",
                                                            "not a regular file"]


# --------------------------------------------------------------------------------------------
# .deb: bombs, limits, hostile entries
# --------------------------------------------------------------------------------------------


def _tar(entries, fmt: int = tarfile.GNU_FORMAT) -> bytes:
    return tar_bytes(entries, fmt=fmt)


def _deb(path: Path, data_tar: bytes, data_name: str = "data.tar.gz",
         control: bytes | None = None) -> Path:
    text = b"Package: bomb\nVersion: 1\nArchitecture: amd64\n"
    control_tar = control or _tar([entry("./control", data=text)])
    return ar_pack(path, [("debian-binary", b"2.0\n"), ("control.tar.gz", control_tar),
                          (data_name, data_tar)])


def _zeros_member(name: str, size: int) -> bytes:
    """A gzip'd tar with one member of ``size`` bytes (ELF magic, then zeros), streamed."""
    info = tarfile.TarInfo(name)
    info.size = size
    out = io.BytesIO()
    with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=1, mtime=0) as gz:
        gz.write(info.tobuf(tarfile.GNU_FORMAT))
        gz.write(b"\x7fELF" + bytes((1 << 20) - 4))
        chunk = bytes(1 << 20)
        for _ in range(size // (1 << 20) - 1):
            gz.write(chunk)
        gz.write(bytes(size % (1 << 20) + (-size) % 512 + 1024))
    return out.getvalue()


def test_decompression_bomb_is_a_limit_error(tmp_path, capsys):
    deb = _deb(tmp_path / "bomb.deb", _zeros_member("./usr/bin/bomb", 64 << 20))
    assert deb.stat().st_size < 1_000_000
    t = time.monotonic()
    rc = main(["--limit", "max_unpacked_bytes=16M", "scan", "--format", "json", str(deb)])
    data = json.loads(capsys.readouterr().out)
    assert time.monotonic() - t < 10
    assert rc == 2
    (err,) = data["errors"]
    assert err["path"] == str(deb)
    assert err["message"].startswith("limit exceeded: unpacked size exceeds 16777216 bytes")
    assert "--limit max_unpacked_bytes=N" in err["message"]


def test_bomb_in_tar_headers_stops_at_the_decompressed_budget(tmp_path):
    """40 pax headers of 900 KB: no member is big, the decompressed stream is."""
    entries = []
    for i in range(40):
        info = tarfile.TarInfo(f"./usr/share/f{i}")
        info.pax_headers = {"comment": "x" * 900_000}
        entries.append((info, b""))
    deb = _deb(tmp_path / "pax.deb", _tar(entries, fmt=tarfile.PAX_FORMAT))
    with limits.override(max_unpacked_bytes=16 << 20), pytest.raises(InputFileError) as exc:
        unpack_deb(str(deb), str(tmp_path / "root"))
    assert "limit exceeded: decompressed data.tar.gz exceeds" in str(exc.value)
    assert "max_unpacked_bytes" in str(exc.value)


def test_huge_pax_header_is_refused_before_it_is_read(tmp_path):
    info = tarfile.TarInfo("./usr/bin/x")
    info.pax_headers = {"comment": "x" * (3 << 20)}
    deb = _deb(tmp_path / "bigpax.deb", _tar([(info, b"")], fmt=tarfile.PAX_FORMAT))
    with pytest.raises(InputFileError) as exc:
        unpack_deb(str(deb), str(tmp_path / "root"))
    assert "tar extended header or long name of" in str(exc.value)
    assert "max_tar_header_bytes" in str(exc.value)


def test_hard_links_count_towards_the_unpacked_size(tmp_path):
    body = b"\x7fELF" + bytes((1 << 20) - 4)
    entries = [entry("./usr/lib/libbig.so.1", data=body)]
    entries += [entry(f"./usr/lib/copy{i}.so", tarfile.LNKTYPE, "./usr/lib/libbig.so.1")
                for i in range(40)]
    deb = _deb(tmp_path / "links.deb", _tar(entries))
    with limits.override(max_unpacked_bytes=16 << 20), pytest.raises(InputFileError) as exc:
        unpack_deb(str(deb), str(tmp_path / "root"))
    assert "unpacked size exceeds 16777216 bytes" in str(exc.value)
    assert sum(f.stat().st_size for f in (tmp_path / "root").rglob("*") if f.is_file()) \
        <= 17 << 20


def test_member_count_and_control_size_limits(tmp_path):
    many = _deb(tmp_path / "many.deb", _tar([entry(f"./usr/share/doc/f{i}", data=b"x")
                                            for i in range(30)]))
    with limits.override(max_tar_members=10), pytest.raises(InputFileError) as exc:
        unpack_deb(str(many), str(tmp_path / "root"))
    assert "more than 10 members in data.tar.gz" in str(exc.value)
    big = b"Package: big\nDescription: x\n" + b" " + b"y" * (3 << 20) + b"\n"
    deb = _deb(tmp_path / "bigcontrol.deb", _tar([]),
               control=_tar([entry("./control", data=big)]))
    with limits.override(max_control_bytes=1 << 20), pytest.raises(InputFileError) as exc:
        read_deb_control(str(deb))
    assert "exceeds 1048576 bytes" in str(exc.value) and "max_control_bytes" in str(exc.value)
    assert read_deb_control(str(deb)).package == "big"  # default limit: fine


def test_negative_ar_member_size_is_an_error_not_a_hang(tmp_path, capsys):
    """python-debian's ArFile seeks back by a negative size and reads the same header
    forever: abiguard reads the ar layer itself (fuzzing found it)."""
    deb = DATA / "fuzz-regressions" / "deb" / "ar-member-size-minus-60.deb"
    t = time.monotonic()
    rc, data = scan_json(deb, capsys=capsys)
    assert time.monotonic() - t < 10 and rc == 2
    assert "bad ar member size b'-60" in data["errors"][0]["message"]


@pytest.mark.parametrize("entries, message", [
    ([entry("./usr/lib/x", tarfile.LNKTYPE, "../../etc/passwd")], "hard link './usr/lib/x'"),
    ([entry("./usr/lib/x", tarfile.LNKTYPE, "/etc/passwd")], "hard link './usr/lib/x'"),
    # nested: a symlink to the root, a symlink planted through it that climbs out of the
    # root, a file written through both (this escaped before)
    ([entry("./usr/", tarfile.DIRTYPE), entry("./usr/x", tarfile.SYMTYPE, ".."),
      entry("./usr/x/y", tarfile.SYMTYPE, "../.."),
      entry("./usr/x/y/evil", data=b"\x7fELF evil")],
     "symlink './usr/x/y' -> '../..' points outside"),
    # the same with a directory entry and a hard link through the planted symlink
    ([entry("./a", tarfile.SYMTYPE, "."), entry("./a/a/a/b", tarfile.SYMTYPE, "../../.."),
      entry("./a/b/evil", data=b"\x7fELF")], "symlink './a/a/a/b' -> '../../..' points"),
    ([entry("./usr/sparse", tarfile.GNUTYPE_SPARSE)], "GNU sparse file"),
    ([entry("./dev/null", tarfile.CHRTYPE)], "is a device or fifo"),
    ([entry("./run/fifo", tarfile.FIFOTYPE)], "is a device or fifo"),
    ([entry("./../etc/passwd", data=b"x")], "points outside the package root"),
    ([entry(".//etc/passwd", data=b"x")], "points outside the package root"),
])
def test_nested_and_link_tricks_are_refused(tmp_path, entries, message):
    base = tmp_path / "a" / "b"
    root = base / "root"
    root.mkdir(parents=True)
    deb = fake_deb(tmp_path / "trick.deb", entries)
    with pytest.raises(InputFileError) as exc:
        unpack_deb(str(deb), str(root))
    assert message in str(exc.value)
    assert sorted(os.listdir(base)) == ["root"] and sorted(os.listdir(tmp_path / "a")) == ["b"]
    assert sorted(os.listdir(tmp_path)) == ["a", "trick.deb"]
    for p in root.rglob("*"):
        if p.is_symlink():
            assert os.path.realpath(p).startswith(str(root.resolve()))


def test_links_inside_the_package_still_work(tmp_path):
    """Legitimate layouts: a directory symlink, a file through it, a hard link, a file
    replacing an earlier symlink (written in place, not through the link)."""
    elf = b"\x7fELF" + bytes(60)
    deb = fake_deb(tmp_path / "ok.deb", [
        entry("./usr/lib/x86_64-linux-gnu/", tarfile.DIRTYPE),
        entry("./usr/lib64", tarfile.SYMTYPE, "lib/x86_64-linux-gnu"),
        entry("./usr/lib64/libz.so.1", data=elf),
        entry("./usr/lib/x86_64-linux-gnu/libz-copy.so.1", tarfile.LNKTYPE,
              "./usr/lib64/libz.so.1"),
        entry("./usr/lib/x86_64-linux-gnu/victim.so", data=elf),
        entry("./usr/lib/x86_64-linux-gnu/r.so", tarfile.SYMTYPE, "victim.so"),
        entry("./usr/lib/x86_64-linux-gnu/r.so", data=b"\x7fELF other"),
        entry("./usr/bin/", tarfile.DIRTYPE),
        entry("./usr/bin/abs", tarfile.SYMTYPE, "/"),
    ])
    root = tmp_path / "root"
    root.mkdir()
    unpack_deb(str(deb), str(root))
    lib = root / "usr/lib/x86_64-linux-gnu"
    assert (lib / "libz.so.1").read_bytes() == elf
    assert (lib / "libz-copy.so.1").read_bytes() == elf
    assert (lib / "victim.so").read_bytes() == elf  # not written through r.so
    assert not (lib / "r.so").is_symlink() and (lib / "r.so").read_bytes() == b"\x7fELF other"
    assert os.readlink(root / "usr/bin/abs") == "../.."
    assert os.path.realpath(root / "usr/bin/abs") == str(root.resolve())


def test_temp_dirs_private_and_removed_even_on_error(libs, tmp_path, monkeypatch, empty_cache):
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    good = fake_deb(tmp_path / "good.deb", [entry("./usr/bin/prog",
                                                  data=libs["prog"].read_bytes())])
    evil = fake_deb(tmp_path / "evil.deb", [entry("../escape", data=b"x")])
    # default limits: the good package's tree is kept in the cache (private), the refused
    # one leaves nothing behind, here or there
    with collect([str(good), str(evil)]) as c:
        assert [e.path for e in c.errors] == [str(evil)]
        assert list(tmp.iterdir()) == []
    kept = list((empty_cache / "unpacked").iterdir())
    assert len(kept) == 1 and kept[0].stat().st_mode & 0o777 == 0o700
    assert (kept[0] / "root" / "usr/bin/prog").is_file()
    # other limits: private temporary directories, removed
    with limits.override(max_unpacked_bytes=1 << 30), collect([str(good), str(evil)]) as c:
        assert [e.path for e in c.errors] == [str(evil)]
        dirs = list(tmp.iterdir())
        assert dirs and all(d.stat().st_mode & 0o777 == 0o700 for d in dirs)
    assert list(tmp.iterdir()) == []
    assert len(list((empty_cache / "unpacked").iterdir())) == 1
    # an exception in the middle of collecting (Ctrl-C while unpacking)
    import abiguard.debian.deb as deb_mod  # (sources.deb looks it up there when it unpacks)
    import abiguard.debian.unpacked as unpacked_mod

    calls = []

    def interrupted(path, root, **kw):
        calls.append(root)
        raise KeyboardInterrupt

    monkeypatch.setattr(deb_mod, "unpack_deb", interrupted)
    with limits.override(max_unpacked_bytes=1 << 30), pytest.raises(KeyboardInterrupt):
        collect([str(good)])
    assert calls and list(tmp.iterdir()) == []
    monkeypatch.setattr(unpacked_mod, "unpack_deb", interrupted)
    shutil.rmtree(empty_cache)
    with pytest.raises(KeyboardInterrupt):
        collect([str(good)])
    assert list(tmp.iterdir()) == [] and list((empty_cache / "unpacked").iterdir()) == []


# --------------------------------------------------------------------------------------------
# Data files: TOML and JSON
# --------------------------------------------------------------------------------------------


def test_toml_and_json_nesting_and_dotted_keys(tmp_path, capsys):
    t = time.monotonic()
    with pytest.raises(DataFileError, match="dotted key of 30001 parts.*max_toml_key_parts"):
        parse_policy("schema = 1\n" + "a." * 30000 + "b = 1\n", "deep.toml")
    with pytest.raises(DataFileError, match="nested too deeply"):
        parse_policy("schema = 1\nx = " + "[" * 5000 + "]" * 5000 + "\n", "deep.toml")
    assert parse_policy('schema = 1\n"a.b.c.d" = 1\n'.replace('"a.b.c.d" = 1\n', ""),
                        "ok.toml").libraries == ()
    with pytest.raises(SchemaError, match="nested too deeply"):
        audit_from_json('{"schema": 1, "consumers": ' + "[" * 100000 + "]" * 100000 + "}")
    assert time.monotonic() - t < 5
    deep = tmp_path / "deep.json"
    deep.write_text('{"schema": 1, "consumers": ' + "[" * 100000 + "]" * 100000 + "}")
    rc = main(["diff", str(deep), str(deep)])
    err = capsys.readouterr().err
    assert rc == 2 and err.count("\n") == 1 and "nested too deeply" in err


# --------------------------------------------------------------------------------------------
# Nothing executed: scanned programs, maintainer scripts, ld.so, tools on PATH
# --------------------------------------------------------------------------------------------

MARKER_C = r"""
#include <stdio.h>
static void mark(const char *what) {
    FILE *f = fopen(MARKER, "a");
    if (f) { fputs(what, f); fclose(f); }
}
__attribute__((constructor)) static void ctor(void) { mark("constructor\n"); }
int v1(void);
int main(void) { mark("main\n"); return v1() - 1; }
"""

SCRIPT = "#!/bin/sh\necho \"$0 $*\" >> {marker}\nexit 0\n"
TOOLS = ["ld.so", "ldd", "ld-linux-x86-64.so.2", "ld-linux.so.2", "unzstd", "zstd", "zstdcat",
         "xz", "unxz", "xzcat", "gzip", "gunzip", "zcat", "bzip2", "tar", "dpkg", "dpkg-deb",
         "dpkg-query", "apt-get", "readelf", "objdump", "nm", "file", "strings", "ar",
         "ldconfig", "python3"]


@pytest.fixture(scope="module")
def trap(tmp_path_factory, libs) -> dict[str, Path]:
    """A program whose constructor and main write a marker, .debs holding it with maintainer
    scripts that write markers (zstd and xz compressed), fake tools and a fake ld.so."""
    d = tmp_path_factory.mktemp("trap")
    marks = d / "marks"
    marks.mkdir()
    prog_marker = marks / "program-ran"
    src = write(d / "trap.c", MARKER_C)
    prog = d / "trap"
    gcc("-o", prog, src, f'-DMARKER="{prog_marker}"', f"-L{libs['dir']}", "-lv",
        f"-Wl,-rpath,{libs['dir']}")
    # the marker mechanism works: running it writes both lines (then remove them)
    subprocess.run([str(prog)], check=True)
    assert prog_marker.read_text() == "constructor\nmain\n"
    prog_marker.unlink()
    debs = []
    for comp in ("zstd", "xz"):
        root = d / f"pkg-{comp}"
        (root / "usr/bin").mkdir(parents=True)
        shutil.copy(prog, root / "usr/bin/trap")
        shutil.copy(libs["lib"], root / "usr/bin/libv.so.1")
        (root / "DEBIAN").mkdir()
        (root / "DEBIAN/control").write_text(
            "Package: trap\nVersion: 1\nArchitecture: amd64\nMaintainer: t <t@e.org>\n"
            "Description: t\n")
        for script in ("preinst", "postinst", "prerm", "postrm", "config"):
            p = root / "DEBIAN" / script
            p.write_text(SCRIPT.format(marker=marks / f"{script}-ran"))
            p.chmod(0o755)
        out = d / f"trap-{comp}.deb"
        subprocess.run(["dpkg-deb", "--root-owner-group", f"-Z{comp}", "--build", str(root),
                        str(out)], check=True, capture_output=True)
        debs.append(out)
    tools = d / "fakebin"
    tools.mkdir()
    for name in TOOLS:
        p = tools / name
        p.write_text(SCRIPT.format(marker=marks / "tool-ran"))
        p.chmod(0o755)
    sysroot = d / "sysroot"
    for ld in ("lib64/ld-linux-x86-64.so.2", "lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"):
        p = sysroot / ld
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(SCRIPT.format(marker=marks / "interpreter-ran"))
        p.chmod(0o755)
    (sysroot / "etc").mkdir()
    (sysroot / "etc/ld.so.conf").write_text(f"{libs['dir']}\n")
    shutil.copy(libs["lib"], sysroot / "lib/x86_64-linux-gnu" / "libv.so.1")
    return {"dir": d, "marks": marks, "prog": prog, "debs": debs, "tools": tools,
            "sysroot": sysroot}


def test_scanning_never_executes_anything(trap):
    env = {**os.environ, "PATH": f"{trap['tools']}:{os.environ.get('PATH', '')}",
           "PYTHONPATH": os.pathsep.join(sys.path)}
    inputs = [str(trap["prog"]), *map(str, trap["debs"]), str(trap["dir"] / "pkg-xz")]
    runs = [["scan", "-q", *inputs],
            ["plan", "-q", *inputs],
            ["scan", "-q", "--sysroot", str(trap["sysroot"]), str(trap["prog"])],
            ["where", "-q", str(trap["prog"])]]
    for args in runs:
        proc = subprocess.run([sys.executable, "-m", "abiguard.cli", *args], env=env,
                              capture_output=True, text=True, timeout=120, check=False)
        assert proc.returncode in (0, 1), (args, proc.stderr)
        assert "Traceback" not in proc.stderr
    # the .debs were read (the zstd one has control.tar.zst) and the program scanned
    proc = subprocess.run([sys.executable, "-m", "abiguard.cli", "scan", "--format", "json",
                           *map(str, trap["debs"])], env=env, capture_output=True, text=True,
                          timeout=120, check=False)
    data = json.loads(proc.stdout)
    assert data["errors"] == []
    assert sorted(c["package"] for c in data["consumers"] if c["path"] == "/usr/bin/trap") \
        == ["trap 1 amd64", "trap 1 amd64"]
    assert sorted(os.listdir(trap["marks"])) == []  # no program, script, tool or ld.so ran


# --------------------------------------------------------------------------------------------
# Faults in the census: a worker killed, a full disk, apt failing midway, a Dask worker lost.
# After a restart the store holds each package exactly once, equal to a clean run.
# (The toy distribution and the clean reference run: the fixtures toy and reference of
# tests/conftest.py, shared with tests/census/test_census.py.)
# --------------------------------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    out = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            out.append(int(stat.parent.name))
    return out


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def test_census_worker_killed_with_sigkill(toy, reference, tmp_path, capsys):
    store = tmp_path / "sigkill.sqlite"
    env = {**os.environ, "ABIGUARD_CENSUS_SLEEP": "0.4"}
    proc = subprocess.Popen([sys.executable, "-m", "abiguard.cli", "census", "-q", "--no-fetch",
                             str(toy["pool"]), "--store", str(store), "-j", "2"], env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    victim = None
    deadline = time.monotonic() + 30
    while victim is None and time.monotonic() < deadline:
        time.sleep(0.1)
        for child in _children(proc.pid):
            if "forkserver" in _cmdline(child):
                workers = _children(child)
                if workers:
                    victim = workers[0]
    assert victim is not None, "no census worker process found"
    time.sleep(0.2)  # busy with a package (each one sleeps 0.4 s first)
    os.kill(victim, signal.SIGKILL)
    assert proc.wait(60) == 2  # a package failed: it is listed
    rows = {r[0]: r for r in store_rows(store)}
    assert set(rows) == ALL_TOY  # the run went on with a new worker
    crashed = [r for r in rows.values() if r[4] == "failed"]
    assert len(crashed) == 1 and crashed[0][5] == "crash"
    assert "worker process died (killed by signal 9)" in crashed[0][6]
    capsys.readouterr()
    assert main(["census", "--store", str(store), "--failures"]) == 0
    assert "[crash] worker process died (killed by signal 9)" in capsys.readouterr().out
    assert census(toy["pool"], "--store", store, "-j", "2") == 0  # restart: the rest
    assert store_rows(store) == store_rows(reference)


@pytest.fixture
def tiny_disk(tmp_path):
    """A 1 MiB tmpfs (root only), unmounted afterwards."""
    d = tmp_path / "tiny"
    d.mkdir()
    assert os.geteuid() == 0 and shutil.which("mount"), "mounting a tmpfs needs root"
    proc = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(d)],
                          capture_output=True, text=True, check=False)
    assert proc.returncode == 0, f"cannot mount a tmpfs: {proc.stderr.strip()}"
    try:
        yield d
    finally:
        subprocess.run(["umount", "-l", str(d)], check=False)


def _fill(d: Path, leave: int) -> Path:
    st = os.statvfs(d)
    filler = d / "filler"
    filler.write_bytes(bytes(max(0, st.f_bavail * st.f_frsize - leave)))
    return filler


def test_census_full_disk_for_unpacking(toy, reference, tiny_disk, tmp_path):
    from abiguard.census.engine import Config, LocalEngine, run_census
    from abiguard.census.sources import deb_refs, find_debs, set_index
    from abiguard.census.store import TRANSIENT, Store

    refs = deb_refs(find_debs(str(toy["pool"])))
    work = tiny_disk / "work"
    work.mkdir()
    filler = _fill(tiny_disk, 12 << 10)
    store = tmp_path / "full.sqlite"
    cfg = Config(packages=set_index(refs), fetch=False, workdir=str(work), scratch=str(work))
    with Store(str(store)) as st:
        counts = run_census(refs, st, LocalEngine(2), cfg)
        failures = st.failures()
    assert counts["done"] == len(ALL_TOY) and failures  # the run went on, failures listed
    for f in failures:
        assert f.error_kind in TRANSIENT and "No space left on device" in f.error, f.error
    filler.unlink()  # space again: the restart retries them (no --retry-failed needed)
    with Store(str(store)) as st:
        counts = run_census(refs, st, LocalEngine(2), cfg)
        assert not st.failures() and counts["done"] == len(failures)
    assert matrix(store) == matrix(reference)
    assert len(store_rows(store)) == len(ALL_TOY)


def test_census_full_disk_for_the_store(toy, reference, tiny_disk):
    store = tiny_disk / "store.sqlite"
    filler = _fill(tiny_disk, 200 << 10)
    proc = subprocess.run([sys.executable, "-m", "abiguard.cli", "census", "-q", "--no-fetch",
                           str(toy["pool"]), "--store", str(store), "-j", "2"],
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    assert proc.stderr.count("\n") == 1
    assert "database or disk is full" in proc.stderr and "run again to resume" in proc.stderr
    partial = store_rows(store)
    assert len(partial) < len(ALL_TOY)
    filler.unlink()
    assert census(toy["pool"], "--store", store, "-j", "2") == 0
    assert store_rows(store) == store_rows(reference)


FAKE_APT = """#!/bin/sh
# apt-get download served from a pool; after LIMIT downloads it fails midway
[ "$1" = download ] || exec {real} "$@"
shift
[ "$1" = -q ] && shift
n=$(cat {counter} 2>/dev/null || echo 0)
for spec in "$@"; do
  name=${{spec%%=*}}
  n=$((n + 1)); echo $n > {counter}
  f=$(ls {pool}/${{name}}_*.deb 2>/dev/null | head -1)
  [ -n "$f" ] || {{ echo "E: Unable to locate package $name" >&2; exit 100; }}
  if [ $n -gt $(cat {limit}) ]; then
    head -c 100 "$f" > "$(basename "$f")"
    echo "E: Failed to fetch http://deb.example.org/$(basename "$f")  Connection reset" >&2
    exit 100
  fi
  cp "$f" .
done
"""


def test_census_apt_download_failing_midway(toy, tmp_path):
    from abiguard.census.store import Store
    from helpers.debbuild import packages_file

    index = packages_file(toy["debs"], toy["dir"], tmp_path / "Packages")
    fakebin = tmp_path / "bin"
    fakebin.mkdir()
    limit = tmp_path / "limit"
    limit.write_text("3\n")
    apt = fakebin / "apt-get"
    apt.write_text(FAKE_APT.format(real=shutil.which("apt-get") or "false",
                                   counter=tmp_path / "counter", pool=toy["pool"], limit=limit))
    apt.chmod(0o755)
    env = {**os.environ, "PATH": f"{fakebin}:{os.environ.get('PATH', '')}",
           "ABIGUARD_CACHE": str(tmp_path / "cache")}
    store = tmp_path / "apt.sqlite"
    cmd = [sys.executable, "-m", "abiguard.cli", "census", "-q", "--rdepends", "libtoy*",
           "--packages-file", str(index), "--store", str(store), "-j", "2"]
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 2, proc.stderr
    with Store(str(store), create=False) as st:
        failures = st.failures()
        assert failures and all(f.error_kind == "fetch" for f in failures)
        # the cause: apt's error, or the half-downloaded file failing its SHA-256 check
        assert all("Failed to fetch" in f.error or "SHA-256 does not match" in f.error
                   for f in failures), [f.error for f in failures]
    # nothing half-downloaded went into the cache
    from abiguard.debian.apt import sha256_file

    shas = {p.name: sha256_file(str(p)) for p in toy["pool"].iterdir()}
    for p in (tmp_path / "cache" / "debs").rglob("*.deb"):  # debs/<SHA-256>/<name>.deb
        assert sha256_file(str(p)) == shas[p.name] == p.parent.name
    limit.write_text("1000\n")  # the network is back: the restart fetches the rest
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120,
                          check=False)
    assert proc.returncode == 0, proc.stderr
    with Store(str(store), create=False) as st:
        pkgs = st.packages()
        assert not st.failures() and all(p.status == "ok" for p in pkgs)
        assert sorted(p.name for p in pkgs) == ["toy-doc", "toy-emu", "toy-kexec", "toy-utils",
                                                "toy-virt"]
    kept = {p.name for p in (tmp_path / "cache" / "debs").rglob("*.deb")}
    assert {"toy-emu_2.0-1_amd64.deb", "libtoy4.17_4.17.1-1_amd64.deb"} <= kept
    # no consumer kept a result made without a library that failed to download
    rdeps = {"toy-emu", "toy-virt", "toy-utils", "toy-kexec", "toy-doc"}
    assert matrix(store) == {n: s for n, s in expected_matrix().items() if n in rdeps}


def test_census_dask_worker_lost(toy, reference, tmp_path, monkeypatch):
    import threading

    import distributed

    store = tmp_path / "dask.sqlite"
    monkeypatch.setenv("ABIGUARD_CENSUS_SLEEP", "0.5")
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  host="127.0.0.1", dashboard_address=None,
                                  silence_logs=50) as cluster, \
            distributed.Client(cluster) as client:
        pids = client.run(os.getpid)
        killed = []

        def kill_one() -> None:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                time.sleep(0.1)
                with contextlib.suppress(Exception):  # the store is being created
                    if store.exists() and len(store_rows(store)) >= 1:
                        break
            time.sleep(0.2)
            pid = min(pids.values())
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

        th = threading.Thread(target=kill_one)
        th.start()
        rc = census(toy["pool"], "--store", store, "--scheduler", cluster.scheduler_address)
        th.join(60)
    assert killed
    assert rc == 0  # the lost worker's task ran again elsewhere
    assert store_rows(store) == store_rows(reference)
