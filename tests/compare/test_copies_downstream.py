"""Copy relocations and declared imports downstream of the resolver: the scan's text,
Markdown and JSON; ``abiguard diff`` and ``abiguard impact`` with two gcc-built versions of a
library whose copied data object changes size; schema-1 JSON written before these fields.

ld.so is the oracle for the bindings themselves (resolve/test_bindings_ldso.py): here its warning
("has different size in shared object") is checked to agree with what the reports call
breaking.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest

from abiguard.cli import main
from abiguard.jsonform import audit_from_json, to_json
from abiguard.model import CopyRelocation, to_dict
from abiguard.pipeline import ScanOptions, scan_paths
from helpers.cfixtures import program, shared_lib
from helpers.ldso_oracle import trace

STATE_V1 = """
    struct state { int version; int flags; };
    struct state xs_state = { 1, 0 };
    int xs_tick = 7;
    int xs_get(void) { return xs_state.version + xs_tick; }
"""
# v2 grows the struct (an ABI break for programs holding a copy); xs_tick unchanged.
STATE_V2 = STATE_V1.replace("int flags; }", "int flags; long more[2]; }").replace(
    "{ 1, 0 }", "{ 2, 0, { 0, 0 } }")
MAP = "XS_1 { global: xs_*; local: *; };"
USES = """
    struct state { int version; int flags; };
    extern struct state xs_state; extern int xs_tick;
    int xs_get(void);
    int main(void) { return xs_state.version + xs_tick + xs_get(); }
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("copies")
    for v, src in (("v1", STATE_V1), ("v2", STATE_V2)):
        shared_lib(d / v, "libxs.so.1", src, version_script=MAP)
    # Linked against v1, with no RUNPATH: --lib-path picks the library version.
    app = program(d / "app", "app", USES, link=(f"-L{d / 'v1'}", "-lxs", "-no-pie",
                                                 "-fno-pic"))
    return {"d": d, "app": app}


def flat(text: str) -> str:
    """The output with its line wrapping undone (tables and paragraphs wrap by width)."""
    return " ".join(text.split())


def scan_json(world, version: str, tmp_path: Path, capsys) -> Path:
    out = tmp_path / f"{version}.json"
    assert main(["scan", str(world["app"]), "--lib-path", str(world["d"] / version),
                 "-f", "json", "-o", str(out)]) == 0
    capsys.readouterr()
    return out


def test_scan_shows_copies_in_text_json_markdown(world, capsys):
    app, lib2 = str(world["app"]), str(world["d"] / "v2")
    assert main(["scan", app, "--lib-path", lib2]) == 0
    text = flat(capsys.readouterr().out)
    assert "(2 copied)" in text
    assert "copied object" in text and "xs_state" in text and "8 -> 24" in text
    assert ("warning: copy relocation of xs_state@XS_1: the program reserved 8 bytes, "
            "libxs.so.1 defines 24") in text
    assert "1 copied object(s) of another size" in text
    # ld.so warns about the same object, and only that one.
    t = trace(app, env={"LD_LIBRARY_PATH": lib2})
    assert t.size_warnings == {"xs_state"}
    assert main(["scan", app, "--lib-path", lib2, "-f", "markdown"]) == 0
    md = capsys.readouterr().out
    assert "| `xs_state` | XS_1 | libxs.so.1 | 8 -> 24 |" in md
    assert "| `xs_tick` | XS_1 | libxs.so.1 | 4 |" in md
    assert "**Warning:** copy relocation of xs_state@XS_1" in md
    assert main(["scan", app, "--lib-path", lib2, "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    b = {x["symbol"]["name"]: x for x in data["consumers"][0]["bindings"]}
    assert b["xs_state"]["copy"] == {"program_size": 8, "library_size": 24}
    # (status and copy: absent means bound, and not a copy)
    assert "status" not in b["xs_state"] and "copy" not in b["xs_get"]


def test_declared_imports_are_listed_not_counted(tmp_path, capsys):
    lib = tmp_path / "lib"
    shared_lib(lib, "libq.so.1", "int q_used(void) { return 1; } int q_spare(void) { return 2; }")
    app = program(tmp_path, "app", """
        __asm__(".globl q_spare");
        int q_used(void);
        int main(void) { return q_used(); }
    """, link=(f"-L{lib}", "-lq", f"-Wl,-rpath,{lib}"))
    assert main(["scan", str(app), "--fail-on", "unresolved"]) == 0
    text = flat(capsys.readouterr().out)
    assert "1 declared only" in text
    assert "declared only (no relocation uses them, ld.so never looks them up): q_spare" in text
    assert main(["scan", str(app), "-f", "markdown"]) == 0
    assert "declared only (no relocation uses them, ld.so never looks them up): q_spare" in \
        flat(capsys.readouterr().out)


def test_json_round_trip_and_results_written_before(world, tmp_path, capsys):
    path = scan_json(world, "v2", tmp_path, capsys)
    text = path.read_text()
    audit = audit_from_json(text, str(path))
    b = next(x for x in audit.consumers[0].bindings if x.symbol.name == "xs_state")
    assert b.copy == CopyRelocation(8, 24) and b.copy.size_differs
    assert to_json(audit) == text
    # A schema-1 result, as its release wrote it (every field, no "copy": written before
    # copies existed), still reads, without copies.
    data = to_dict(dataclasses.replace(audit, schema=1))
    for c in data["consumers"]:
        for x in c["bindings"]:
            assert x.pop("copy") is None or x["symbol"]["name"] in ("xs_state", "xs_tick")
    old = audit_from_json(json.dumps(data), "old.json")
    assert all(x.copy is None for x in old.consumers[0].bindings)
    assert [x.symbol for x in old.consumers[0].bindings] == \
        [x.symbol for x in audit.consumers[0].bindings]


def test_diff_reports_a_copied_object_that_changed_size_as_breaking(world, tmp_path, capsys):
    old = scan_json(world, "v1", tmp_path, capsys)
    new = scan_json(world, "v2", tmp_path, capsys)
    assert main(["diff", str(old), str(new)]) == 0
    text = flat(capsys.readouterr().out)
    assert "1 copied object(s) resized (breaking)" in text
    assert "resized" in text and "xs_state" in text and "8 -> 24 bytes (program: 8)" in text
    assert "xs_tick" not in text  # same size on both sides
    assert main(["diff", str(old), str(new), "--fail-on-new"]) == 1
    assert "1 copied object(s) resized" in capsys.readouterr().err
    assert main(["diff", str(old), str(old), "--fail-on-new"]) == 0
    assert "0 consumer(s) compared" in capsys.readouterr().out
    assert main(["diff", str(old), str(new), "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    (c,) = data["consumers"]
    (d,) = c["resized"]
    assert (d["name"], d["change"], d["old_size"], d["new_size"], d["program_size"]) == \
        ("xs_state", "resized", 8, 24, 8)
    assert main(["diff", str(old), str(new), "-f", "markdown"]) == 0
    md = capsys.readouterr().out
    assert "**1 copied object(s) resized (breaking)**" in md
    assert "| resized | `xs_state` |" in md


def test_diff_of_a_rebuilt_program_still_flags_the_resized_object(world, tmp_path, capsys):
    """Program and library both new (relinked: it reserves 24 bytes): consistent, but the
    object changed size, so binaries linked against v1 break."""
    new_app = program(tmp_path / "app2", "app", USES, link=(f"-L{world['d'] / 'v2'}", "-lxs",
                                                            "-no-pie", "-fno-pic"))
    old = scan_json(world, "v1", tmp_path, capsys)
    a = scan_paths([str(new_app)], ScanOptions(lib_paths=[str(world["d"] / "v2")]))
    b = next(x for x in a.consumers[0].bindings if x.symbol.name == "xs_state")
    assert b.copy == CopyRelocation(24, 24)
    new = tmp_path / "rebuilt.json"
    new.write_text(to_json(a))
    assert main(["diff", str(old), str(new), "-f", "json"]) == 0
    (d,) = json.loads(capsys.readouterr().out)["consumers"][0]["resized"]
    assert (d["old_size"], d["new_size"], d["program_size"]) == (8, 24, 24)
    assert "a program linked against the old library reserved 8" in d["detail"]


def test_impact_reports_the_resized_copy_as_breaking(world, capsys):
    d = world["d"]
    rc = main(["impact", str(world["app"]), "--from", str(d / "v1"), "--to", str(d / "v2"),
               "-f", "json", "--fail-on", "needs-rebuild"])
    assert rc == 1
    data = json.loads(capsys.readouterr().out)
    (c,) = data["consumers"]
    assert c["verdict"] == "needs-rebuild"
    s = {x["name"]: x for x in c["symbols"]}
    assert set(s) == {"xs_state"}  # xs_tick keeps its size; stable functions do not matter
    assert (s["xs_state"]["status"], s["xs_state"]["copy_size"], s["xs_state"]["new_size"]) \
        == ("resized", 8, 24)
    assert any("xs_state: copied data object changes size 8 -> 24 bytes" in r
               for r in c["reasons"])
    assert main(["impact", str(world["app"]), "--from", str(d / "v1"), "--to",
                 str(d / "v2")]) == 0
    text = flat(capsys.readouterr().out)
    assert "resized 8 -> 24 bytes" in text and "needs rebuild only" in text
    # Same library version on both sides: nothing changes size.
    assert main(["impact", str(world["app"]), "--from", str(d / "v1"), "--to", str(d / "v1"),
                 "-f", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["consumers"][0]["verdict"] == "not-affected"
