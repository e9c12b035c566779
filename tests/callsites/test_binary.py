"""where --binary: call sites of imported symbols in linked programs (x86-64, AArch64)."""

from __future__ import annotations

import shutil
import struct
from collections import Counter
from pathlib import Path

import pytest

from abiguard.callsites.binary import binary_reference_counts, find_binary_callsites
from abiguard.errors import ElfError
from abiguard.jsonform import from_dict
from abiguard.model import CallSite, to_dict
from helpers.xcproject import (
    EXPECTED_BINARY_COUNTS,
    EXPECTED_BINARY_FUNCTIONS,
    build_aarch64,
    build_project,
    run,
)

XC = {"xc_a", "xc_b", "xc_c"}
VARIANTS = ["plt", "now", "noplt", "nopie"]



def expected_counts(variant: str) -> dict[tuple[str, str], int]:
    exp = dict(EXPECTED_BINARY_COUNTS)
    if variant == "nopie":
        # A non-PIC program takes the address of the canonical PLT entry: mov $stub / adrp+add.
        exp[("xc_c", "address")] = exp.pop(("xc_c", "got-load"))
    return exp


def counts(sites: list[CallSite]) -> dict[tuple[str, str], int]:
    return dict(Counter((s.symbol, s.kind) for s in sites))


CCS = ["gcc", "aarch64"]  # AArch64 needs binutils-aarch64-linux-gnu (scripts/setup-debian.sh)


def build(xc_base: Path, cc: str, variant: str) -> Path:
    return build_aarch64(xc_base, variant) if cc == "aarch64" else build_project(
        xc_base, variant=variant)


@pytest.mark.parametrize("cc", CCS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_counts_unstripped_and_stripped(xc_base, cc, variant):
    d = build(xc_base, cc, variant)
    full = find_binary_callsites(str(d / "prog"), XC)
    stripped = find_binary_callsites(str(d / "prog.stripped"), XC)
    assert counts(full) == expected_counts(variant)
    # Same sites, same kinds, same addresses: only the attribution differs.
    assert [(s.symbol, s.kind, s.address) for s in full] == \
        [(s.symbol, s.kind, s.address) for s in stripped]
    code = [s for s in full if s.kind != "reference"]
    assert {(s.symbol, s.function) for s in code} == EXPECTED_BINARY_FUNCTIONS
    assert {s.attribution for s in code} == {"symtab"}
    assert {s.attribution for s in stripped} == {"none"}     # the program exports nothing
    assert all(s.method == "binary" and s.file == str(d / "prog") for s in full)


@pytest.mark.parametrize("cc", CCS)
@pytest.mark.parametrize("variant", VARIANTS)
def test_every_relocated_symbol_has_a_site(xc_base, cc, variant):
    d = build(xc_base, cc, variant)
    for prog in ("prog", "prog.stripped"):
        rel = binary_reference_counts(str(d / prog))
        assert XC <= set(rel)
        sites = find_binary_callsites(str(d / prog), None)
        with_sites = {s.symbol for s in sites}
        # Every symbol with a JUMP_SLOT/GLOB_DAT relocation (libc's too) is used somewhere.
        assert set(rel) <= with_sites, set(rel) - with_sites


def test_plt_sec_is_used_with_ibt(xc_base):
    from elftools.elf.elffile import ELFFile

    d = build_project(xc_base, variant="now")
    with open(d / "prog", "rb") as f:
        names = {s.name for s in ELFFile(f).iter_sections()}
    assert ".plt.sec" in names


def test_reference_counts(xc_base):
    d = build_project(xc_base, variant="plt")
    rel = binary_reference_counts(str(d / "prog"))
    assert rel["xc_a"] == 1 and rel["xc_b"] == 1 and rel["xc_c"] == 1   # JUMP_SLOT, GLOB_DAT
    d = build_project(xc_base, variant="noplt")
    assert binary_reference_counts(str(d / "prog"))["xc_a"] == 1          # GLOB_DAT only


def test_symbol_filter(xc_base):
    d = build_project(xc_base)
    sites = find_binary_callsites(str(d / "prog"), {"xc_b"})
    assert counts(sites) == {("xc_b", "call"): 1, ("xc_b", "jump"): 1}
    assert find_binary_callsites(str(d / "prog"), {"no_such_symbol"}) == []


def test_nearest_export_for_stripped_export_dynamic(xc_base, tmp_path):
    d = build_project(xc_base)
    for f in ("main.o", "util.o", "libstuff.a", "libxc.so"):
        shutil.copy(d / f, tmp_path / f)
    run(["gcc", "-rdynamic", "-o", "prog", "main.o", "util.o", "libstuff.a", "-L.", "-lxc"],
        tmp_path)
    run(["strip", "prog"], tmp_path)
    sites = [s for s in find_binary_callsites(str(tmp_path / "prog"), XC) if s.kind != "reference"]
    assert {s.attribution for s in sites} == {"nearest-export"}
    fns = {(s.symbol, s.function) for s in sites}
    # Exported functions are found exactly; the static helper is named after the export
    # below it with an offset.
    assert {("xc_a", "main"), ("xc_a", "util_fn"), ("xc_b", "wrap_b"), ("xc_b", "lib_fn"),
            ("xc_c", "main")} <= fns
    (helper,) = [f for s, f in fns if s == "xc_a" and f not in ("main", "util_fn")]
    assert "+0x" in helper


def _separate_debug(d: Path, tmp: Path) -> Path:
    shutil.copy(d / "prog", tmp / "prog")
    run(["objcopy", "--only-keep-debug", "prog", "prog.debug"], tmp)
    run(["strip", "prog"], tmp)
    run(["objcopy", "--add-gnu-debuglink=prog.debug", "prog"], tmp)
    return tmp / "prog"


def test_debuglink_in_debug_dir(xc_base, tmp_path):
    d = build_project(xc_base)
    prog = _separate_debug(d, tmp_path)
    debug_dir = tmp_path / "debug"
    debug_dir.mkdir()
    (tmp_path / "prog.debug").rename(debug_dir / "prog.debug")
    sites = find_binary_callsites(str(prog), XC)
    assert {s.attribution for s in sites if s.kind != "reference"} == {"none"}
    sites = find_binary_callsites(str(prog), XC, debug_dirs=[str(debug_dir)])
    code = [s for s in sites if s.kind != "reference"]
    assert {(s.symbol, s.function) for s in code} == EXPECTED_BINARY_FUNCTIONS
    assert {s.attribution for s in code} == {"symtab"}


def test_debuglink_crc_mismatch_is_ignored(xc_base, tmp_path):
    d = build_project(xc_base)
    prog = _separate_debug(d, tmp_path)
    debug_dir = tmp_path / "debug"
    debug_dir.mkdir()
    (debug_dir / "prog.debug").write_bytes((tmp_path / "prog.debug").read_bytes() + b"x")
    (tmp_path / "prog.debug").unlink()
    sites = find_binary_callsites(str(prog), XC, debug_dirs=[str(debug_dir)])
    assert {s.attribution for s in sites} == {"none"}


def test_build_id_debug_file(xc_base, tmp_path):
    from elftools.elf.elffile import ELFFile

    d = build_project(xc_base)
    prog = _separate_debug(d, tmp_path)
    with open(prog, "rb") as f:
        elf = ELFFile(f)
        note = next(n for s in elf.iter_sections() if s["sh_type"] == "SHT_NOTE"
                    for n in s.iter_notes() if n["n_type"] == "NT_GNU_BUILD_ID")
        build_id = note["n_desc"]
    target = tmp_path / "dbg" / ".build-id" / build_id[:2] / f"{build_id[2:]}.debug"
    target.parent.mkdir(parents=True)
    (tmp_path / "prog.debug").rename(target)
    sites = find_binary_callsites(str(prog), XC, debug_dirs=[str(tmp_path / "dbg")])
    assert {s.attribution for s in sites if s.kind != "reference"} == {"symtab"}


def _hide_symtab(src: Path, dst: Path) -> None:
    """Turn .symtab into an anonymous PROGBITS section: DWARF is all that is left."""
    from elftools.elf.elffile import ELFFile

    data = bytearray(src.read_bytes())
    with open(src, "rb") as f:
        elf = ELFFile(f)
        shoff, shentsize = elf["e_shoff"], elf["e_shentsize"]
        idx = elf.get_section_index(".symtab")
    struct.pack_into("<I", data, shoff + idx * shentsize + 4, 1)    # sh_type = SHT_PROGBITS
    dst.write_bytes(bytes(data))


def test_dwarf_attribution_without_symtab(xc_base, tmp_path):
    d = build_project(xc_base)
    _hide_symtab(d / "prog", tmp_path / "prog")
    sites = find_binary_callsites(str(tmp_path / "prog"), XC)
    by = {(s.symbol, s.address): (s.function, s.attribution) for s in sites}
    full = find_binary_callsites(str(d / "prog"), XC)
    # main.c is compiled with -g: its sites come from DW_TAG_subprogram; util.c and lib.c
    # have no debug information and fall back to 'none' (nothing exported).
    for s in full:
        if s.function in ("main", "helper"):
            assert by[(s.symbol, s.address)] == (s.function, "dwarf")
        elif s.kind != "reference":
            assert by[(s.symbol, s.address)] == (None, "none")


def test_callsite_json_round_trip(xc_base):
    d = build_project(xc_base)
    for s in find_binary_callsites(str(d / "prog"), XC):
        assert from_dict(CallSite, to_dict(s)) == s


# ------------------------------------------------------------------------------------------
# Bad inputs: ElfError naming the file
# ------------------------------------------------------------------------------------------


def test_truncated_binary(xc_base, tmp_path):
    d = build_project(xc_base)
    bad = tmp_path / "prog"
    bad.write_bytes((d / "prog").read_bytes()[:3000])
    with pytest.raises(ElfError) as exc:
        find_binary_callsites(str(bad), XC)
    assert exc.value.path == str(bad)
    with pytest.raises(ElfError):
        binary_reference_counts(str(bad))


def test_not_elf(tmp_path):
    bad = tmp_path / "script.sh"
    bad.write_text("#!/bin/sh\necho hi\n")
    with pytest.raises(ElfError, match="not an ELF file"):
        find_binary_callsites(str(bad), None)


def test_missing_binary(tmp_path):
    with pytest.raises(ElfError) as exc:
        find_binary_callsites(str(tmp_path / "nope"), None)
    assert exc.value.path == str(tmp_path / "nope")


def test_object_file_is_refused(xc_base):
    d = build_project(xc_base)
    with pytest.raises(ElfError, match="where --objects"):
        find_binary_callsites(str(d / "main.o"), None)


def test_garbage_after_header(xc_base, tmp_path):
    d = build_project(xc_base)
    data = bytearray((d / "prog").read_bytes())
    data[0x28:0x30] = (len(data) - 10).to_bytes(8, "little")      # e_shoff near the end
    bad = tmp_path / "prog"
    bad.write_bytes(bytes(data))
    with pytest.raises(ElfError) as exc:
        find_binary_callsites(str(bad), XC)
    assert exc.value.path == str(bad)
