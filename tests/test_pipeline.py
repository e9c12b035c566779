"""The pipeline's deferred reading: a scan lists the ELF files it finds and reads each where it
resolves it (in either process), with the answers of reading every file when found -- the
same consumers, the same input errors at the same places, the same notes -- and each file
read whole once even when an earlier consumer loads it as a library."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from abiguard import pipeline
from abiguard.pipeline import ScanOptions, collect_group, input_groups, scan_paths, scan_targets
from abiguard.render import render
from abiguard.resolve import search
from helpers.cfixtures import gcc, program, shared_lib
from helpers.debbuild import ar_pack


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    """A directory where a library sorts after the program loading it (zlib-like:
    ``b/libz...`` after ``a/prog``), a broken ELF file, a text file, an ar archive of one
    object and an empty ar archive."""
    d = tmp_path_factory.mktemp("tree")
    lib = shared_lib(d / "b", "libzz.so.1", "int zz(void) { return 1; }\n")
    program(d / "a", "prog", "int zz(void); int main(void) { return zz(); }\n",
            link=(str(lib),), extra=(f"-Wl,-rpath,{d / 'b'}",))
    (d / "a" / "broken.so").write_bytes(b"\x7fELF" + b"\0" * 12)
    (d / "a" / "notes.txt").write_text("not an ELF file\n")
    obj = d / "o.o"
    src = d / "o.c"
    src.write_text("int zz(void); int o(void) { return zz(); }\n")
    gcc("-c", "-o", obj, src)
    (d / "c").mkdir()
    (d / "d").mkdir()
    ar_pack(d / "c" / "libo.a", [("o.o", obj.read_bytes())])
    obj.unlink()
    src.unlink()
    ar_pack(d / "d" / "libempty.a", [])
    return d


def _read_when_found(inputs: list[str], jobs: int):  # type: ignore[no-untyped-def]
    """The audit of reading every file when it is found (no deferral)."""
    audits = []
    for sources, opts, _notes in input_groups(inputs, ScanOptions(jobs=jobs)):
        with collect_group(sources, opts) as collected:
            assert not collected.pending
            audits.append(scan_targets(collected, opts, [s.spec for s in sources]))
    return pipeline.merge_audits(audits, inputs)


@pytest.mark.parametrize("jobs", [1, 2])
def test_deferred_reading_answers_as_reading_when_found(tree, jobs, always_fork, tmp_path):
    missing = str(tmp_path / "nowhere")
    bad = tmp_path / "bad.so"
    bad.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 40)
    inputs = [str(tree / "a"), missing, str(bad), str(tree), str(tree / "d"), str(tree / "b")]
    deferred = scan_paths(inputs, ScanOptions(jobs=jobs))
    found = _read_when_found(inputs, jobs)
    assert render(deferred, "json") == render(found, "json")
    errors = [e.path for e in deferred.errors]
    # the unreadable files among the other input errors, where collecting found them
    assert errors == [str(tree / "a" / "broken.so"), missing, str(bad),
                      str(tree / "a" / "broken.so")]
    assert any(c.member == "o.o" for c in deferred.consumers)
    assert f"{tree / 'd'}: no ELF files found" in deferred.notes


def test_a_directory_of_one_broken_elf_file_has_found_one(tmp_path):
    (tmp_path / "x.so").write_bytes(b"\x7fELF" + b"\0" * 12)
    audit = scan_paths([str(tmp_path)])
    assert [e.path for e in audit.errors] == [str(tmp_path / "x.so")]
    assert not any("no ELF files" in n for n in audit.notes)


def test_each_file_is_read_whole_once(tree, monkeypatch):
    """The library sorts after its program: loading it for the program reads it whole (as
    its own scan will need it), and its scan takes that reading."""
    whole: Counter[str] = Counter()
    light: Counter[str] = Counter()
    read = search.read_elf

    def counting(path, data=None, **kw):  # type: ignore[no-untyped-def]
        (whole if kw.get("relocations", True) else light)[str(path)] += 1
        return read(path, data, **kw)

    monkeypatch.setattr(search, "read_elf", counting)
    prog = str(tree / "a" / "prog")
    lib = str(tree / "b" / "libzz.so.1")
    audit = scan_paths([prog, lib], ScanOptions(jobs=1))
    assert [c.path for c in audit.consumers] == [prog, lib]
    assert audit.consumers[0].libraries[0].path == lib
    assert whole == Counter({prog: 1, lib: 1})
    assert not light[lib], "the library was read twice: once as a library, once whole"
