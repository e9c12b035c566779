"""abiguard link --without LIB: the link-line experiment."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from abiguard import cli
from abiguard.callsites.link import (
    LinkError,
    library_base,
    parse_link_diagnostics,
    redirect_output,
    run_link_experiment,
    strip_library,
)
from abiguard.callsites.objects import find_object_references
from abiguard.model import SCHEMA_VERSION
from helpers.xcproject import (
    EXPECTED_OBJECT_REFS,
    LINE_HELPER_A,
    LINE_MAIN_A,
    LINE_MAIN_C,
    link_command,
)


def triples(sites) -> set[tuple[str, str, str | None]]:
    return {(s.symbol, s.file, s.function) for s in sites}


# ------------------------------------------------------------------------------------------
# The command line
# ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["xc", "-lxc", "libxc", "libxc.so", "libxc.so.1.2.3",
                                  "/usr/lib/libxc.a", "-l:libxc.so.1"])
def test_library_base(name):
    assert library_base(name) == "xc"


def test_library_base_xen():
    assert library_base("libxenctrl.so.4.17") == "xenctrl"
    assert library_base("xenctrl") == "xenctrl"


def test_strip_library_all_forms():
    argv = ["gcc", "-o", "p", "a.o", "-lxc", "-l", "xc", "-l:libxc.so.1", "--library=xc",
            "/opt/lib/libxc.so.1.2", "libxc.a", "-Wl,--as-needed,-lxc,-lz",
            "-Wl,-l,xc", "-Xlinker", "-lxc", "-lxcx", "-lfoo", "libxcompat.so"]
    out, removed = strip_library(argv, "xc")
    assert out == ["gcc", "-o", "p", "a.o", "-Wl,--as-needed,-lz", "-lxcx", "-lfoo",
                   "libxcompat.so"]
    assert removed == ["-lxc", "-l", "xc", "-l:libxc.so.1", "--library=xc",
                       "/opt/lib/libxc.so.1.2", "libxc.a", "-Wl,-lxc", "-Wl,-l,xc",
                       "-Xlinker", "-lxc"]


def test_strip_library_keeps_the_program_name():
    out, removed = strip_library(["libxc.so", "-lxc"], "xc")
    assert out == ["libxc.so"] and removed == ["-lxc"]


def test_redirect_output_forms():
    assert redirect_output(["cc", "-o", "prog", "a.o"], "/t/x") == (
        ["cc", "-o", "/t/x", "a.o"], "prog")
    assert redirect_output(["cc", "-oprog", "a.o"], "/t/x") == (["cc", "-o/t/x", "a.o"], "prog")
    assert redirect_output(["ld", "--output=prog", "a.o"], "/t/x") == (
        ["ld", "--output=/t/x", "a.o"], "prog")
    assert redirect_output(["cc", "a.o"], "/t/x") == (["cc", "a.o", "-o", "/t/x"], None)


# ------------------------------------------------------------------------------------------
# Diagnostics (real outputs of binutils 2.40 ld and gold, lld 14)
# ------------------------------------------------------------------------------------------

GNU_LD = """\
/usr/bin/ld: main.o: in function `helper':
/tmp/p/main.c:8: undefined reference to `xc_a'
/usr/bin/ld: main.o: in function `main':
/tmp/p/main.c:13: undefined reference to `xc_c'
/usr/bin/ld: /tmp/p/main.c:14: undefined reference to `xc_a'
/usr/bin/ld: d2.o:/tmp/p/d2.c:2: undefined reference to `xc_c'
/usr/bin/ld: util.o: in function `util_fn':
util.c:(.text+0x5): undefined reference to `xc_a'
/usr/bin/ld: util.o: in function `wrap_b':
util.c:(.text+0x21): undefined reference to `xc_b'
/usr/bin/ld: util.o:(.data.rel.ro+0x0): undefined reference to `xc_c'
/usr/bin/ld: libstuff.a(lib.o): in function `lib_fn':
lib.c:(.text+0x5): undefined reference to `xc_b'
/usr/bin/ld: m.o: in function `f':
m.c:(.text+0x11): undefined reference to `xc_d'
/usr/bin/ld: m.o:m.c:(.text+0x52): more undefined references to `xc_d' follow
collect2: error: ld returned 1 exit status
"""


def test_parse_gnu_ld():
    sites, truncated, _notes = parse_link_diagnostics(GNU_LD)
    got = {(s.symbol, s.file, s.function, s.line) for s in sites}
    assert got == {
        ("xc_a", "main.o", "helper", 8), ("xc_c", "main.o", "main", 13),
        ("xc_a", "main.o", "main", 14), ("xc_c", "d2.o", None, 2),
        ("xc_a", "util.o", "util_fn", None), ("xc_b", "util.o", "wrap_b", None),
        ("xc_c", "util.o", None, None), ("xc_b", "libstuff.a(lib.o)", "lib_fn", None),
        ("xc_d", "m.o", "f", None),
    }
    assert truncated == ["xc_d"]
    assert all(s.method == "link" and s.kind == "undefined-reference" for s in sites)


def test_parse_gnu_ld_dso_missing_and_pie_reloc():
    text = ("/usr/bin/ld: main.o: undefined reference to symbol 'xc_a@@XC_1.0'\n"
            "/usr/bin/ld: ./libxc.so.1: error adding symbols: DSO missing from command line\n"
            "/usr/bin/ld: util.o: relocation R_X86_64_32 against undefined symbol `xc_c' can "
            "not be used when making a PIE object; recompile with -fPIE\n")
    sites, _, notes = parse_link_diagnostics(text)
    assert triples(sites) == {("xc_a", "main.o", None), ("xc_c", "util.o", None)}
    assert notes and "DSO missing" in notes[0]


GOLD = """\
/tmp/p/main.c:8: error: undefined reference to 'xc_a'
util.o:util.c:function util_fn: error: undefined reference to 'xc_a'
util.o:util.c:xc_table: error: undefined reference to 'xc_c'
libstuff.a(lib.o):lib.c:function lib_fn: error: undefined reference to 'xc_b'
collect2: error: ld returned 1 exit status
"""


def test_parse_gold():
    sites, _, _ = parse_link_diagnostics(GOLD)
    assert {(s.symbol, s.file, s.function, s.line) for s in sites} == {
        ("xc_a", "/tmp/p/main.c", None, 8), ("xc_a", "util.o", "util_fn", None),
        ("xc_c", "util.o", None, None), ("xc_b", "libstuff.a(lib.o)", "lib_fn", None),
    }


LLD = """\
ld.lld: error: undefined symbol: xc_a
>>> referenced by main.c:8 (/tmp/p/main.c:8)
>>>               main.o:(helper)
>>> referenced by util.c
>>>               util.o:(util_fn)
>>> referenced by m.o:(f)
>>> referenced 6 more times

ld.lld: error: undefined symbol: xc_b
>>> referenced by lib.c
>>>               lib.o:(lib_fn) in archive libstuff.a
>>> referenced by x.o:(.text+0x1c)
collect2: error: ld returned 1 exit status
"""


def test_parse_lld():
    sites, truncated, _ = parse_link_diagnostics(LLD)
    assert {(s.symbol, s.file, s.function, s.line) for s in sites} == {
        ("xc_a", "main.o", "helper", 8), ("xc_a", "util.o", "util_fn", None),
        ("xc_a", "m.o", "f", None), ("xc_b", "libstuff.a(lib.o)", "lib_fn", None),
        ("xc_b", "x.o", None, None),
    }
    assert truncated == ["xc_a"]


# ------------------------------------------------------------------------------------------
# The experiment, for real
# ------------------------------------------------------------------------------------------


def test_link_and_objects_agree(project, monkeypatch):
    """The headline check: `link --without xc` and `where --objects` see the same uses."""
    monkeypatch.chdir(project)
    before = (project / "prog").read_bytes()
    result = run_link_experiment(link_command(), "xc")
    objects, errors = find_object_references(["main.o", "util.o", "libstuff.a"],
                                             {"xc_a", "xc_b", "xc_c"})
    assert errors == []
    assert triples(result.sites) == triples(objects) == EXPECTED_OBJECT_REFS
    assert not result.linked and result.removed == ("-lxc",)
    assert result.symbols == ("xc_a", "xc_b", "xc_c")
    lines = {(s.function, s.symbol): s.line for s in result.sites if s.file == "main.o"}
    assert lines == {("helper", "xc_a"): LINE_HELPER_A, ("main", "xc_a"): LINE_MAIN_A,
                     ("main", "xc_c"): LINE_MAIN_C}
    # The user's output is never touched.
    assert (project / "prog").read_bytes() == before
    assert "-o" in result.ran and "prog" not in result.ran


def test_no_output_file_is_created(project, tmp_path):
    for f in ("main.o", "util.o", "libstuff.a", "libxc.so"):
        shutil.copy(project / f, tmp_path / f)
    run_link_experiment(["gcc", "main.o", "util.o", "libstuff.a", "-L.", "-lxc"], "xc",
                        cwd=str(tmp_path))
    assert not (tmp_path / "a.out").exists()


@pytest.mark.parametrize("linker", ["gold", "lld"])
def test_other_linkers(project, monkeypatch, linker):
    assert shutil.which(f"ld.{linker}"), f"ld.{linker} not installed (scripts/setup-debian.sh)"
    monkeypatch.chdir(project)
    cmd = link_command()
    cmd.insert(1, f"-fuse-ld={linker}")
    result = run_link_experiment(cmd, "xc")
    assert {s.symbol for s in result.sites} == {"xc_a", "xc_b", "xc_c"}
    if linker == "lld":
        # lld names the data object holding a reference (util.o:(xc_table)); abiguard checks
        # the object's .symtab and, like ld, reports no function for it.
        assert triples(result.sites) == EXPECTED_OBJECT_REFS
    else:
        # gold: object and function when there is no line information, else source:line.
        assert ("xc_b", "libstuff.a(lib.o)", "lib_fn") in triples(result.sites)
        assert ("xc_a", str(project / "main.c"), None) in triples(result.sites)


def test_response_file(project, monkeypatch):
    monkeypatch.chdir(project)
    (project / "link.rsp").write_text("main.o 'util.o'\nlibstuff.a -L. -lxc\n")
    result = run_link_experiment(["gcc", "-o", "prog", "@link.rsp"], "xc")
    assert triples(result.sites) == EXPECTED_OBJECT_REFS
    assert result.removed == ("-lxc",)


def test_not_needed(project, monkeypatch):
    monkeypatch.chdir(project)
    result = run_link_experiment(link_command() + ["-lm"], "m")
    assert result.linked and result.sites == ()


def test_shared_library_link_reports_undefined(project, monkeypatch):
    monkeypatch.chdir(project)
    result = run_link_experiment(["gcc", "-shared", "-o", "libu.so", "util.o", "-L.", "-lxc"],
                                 "xc")
    assert triples(result.sites) == {t for t in EXPECTED_OBJECT_REFS if t[1] == "util.o"}
    assert not (project / "libu.so").exists()


def test_truncated_listing(tmp_path):
    calls = "".join(f"    x += xc_a({i});\n" for i in range(8))
    (tmp_path / "m.c").write_text(f"int xc_a(int);\nint main(void)\n{{\n    int x = 0;\n"
                                  f"{calls}    return x;\n}}\n")
    subprocess.run(["gcc", "-c", "m.c"], cwd=tmp_path, check=True)
    result = run_link_experiment(["gcc", "-o", "m", "m.o", "-lxc"], "xc", cwd=str(tmp_path))
    assert result.truncated == ("xc_a",)
    assert len(result.sites) == 5                          # ld lists five, then "more follow"


def test_errors(project, monkeypatch):
    monkeypatch.chdir(project)
    with pytest.raises(LinkError, match="not on the link line"):
        run_link_experiment(link_command(), "foo")
    with pytest.raises(LinkError, match="command not found"):
        run_link_experiment(["no-such-cc-abiguard", "-o", "p", "-lxc"], "xc")
    with pytest.raises(LinkError, match="cannot find missing.o"):
        run_link_experiment(["gcc", "-o", "p", "missing.o", "-lxc"], "xc")
    with pytest.raises(LinkError, match="did not finish"):
        run_link_experiment(["sh", "-c", "sleep 5", "-lxc"], "xc", timeout=0.2)


# ------------------------------------------------------------------------------------------
# CLI
# ------------------------------------------------------------------------------------------


def test_cli_json(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    rc = cli.main(["link", "--without", "xc", "-f", "json", "--", *link_command()])
    assert rc == 0
    data = json.loads(capsys.readouterr().out)
    assert data["schema"] == SCHEMA_VERSION and data["kind"] == "link"
    assert data["library"] == "xc" and data["needed"] is True
    assert {(c["symbol"], c["file"], c["function"]) for c in data["callsites"]} == \
        EXPECTED_OBJECT_REFS
    assert all(c["method"] == "link" for c in data["callsites"])


def test_cli_text_and_markdown(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    assert cli.main(["link", "--without", "libxc.so", "--", *link_command()]) == 0
    out = capsys.readouterr().out
    assert "7 undefined references to 3 symbols" in out
    assert "libstuff.a(lib.o)" in out and "helper" in out
    assert cli.main(["link", "--without", "xc", "-f", "markdown", "--", *link_command()]) == 0
    out = capsys.readouterr().out
    assert "| `xc_b` | libstuff.a(lib.o) | lib_fn | - |" in out


def test_cli_not_needed(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    assert cli.main(["link", "--without", "m", "--", *link_command(), "-lm"]) == 0
    assert "no references: libm is not needed" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["link", "--without", "xc", "--", "no-such-cc-abiguard", "-lxc"], "command not found"),
    (["link", "--without", "foo", "--", "gcc", "-o", "p", "main.o", "-lxc"],
     "libfoo is not on the link line"),
    (["link", "--without", "xc", "--", "gcc", "-o", "p", "nothere.o", "-lxc"],
     "cannot find nothere.o"),
    (["link", "--without", "xc"], "no link command"),
])
def test_cli_errors(project, monkeypatch, capsys, argv, message):
    monkeypatch.chdir(project)
    assert cli.main(argv) == 2
    err = capsys.readouterr().err
    assert message in err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err


# ------------------------------------------------------------------------------------------
# Attribution: only what the suppressed library defines (nm is the oracle)
# ------------------------------------------------------------------------------------------


def nm_defined(path: Path) -> set[str]:
    """The global symbols a library or archive defines, as nm lists them."""
    dyn = ["-D"] if path.suffix != ".a" else []
    out = subprocess.run(["nm", *dyn, "--defined-only", str(path)], capture_output=True,
                         text=True, check=True).stdout
    return {ln.split()[-1].split("@")[0] for ln in out.splitlines()
            if len(ln.split()) == 3 and ln.split()[1].isupper()}


def test_references_missing_anyway_are_listed_apart(project, monkeypatch):
    """util.o and libstuff.a left out too: util_fn, wrap_b and lib_fn are undefined, but
    libxc would not have given them."""
    monkeypatch.chdir(project)
    result = run_link_experiment(["gcc", "-o", "prog", "main.o", "-L.", "-lxc"], "xc")
    exports = nm_defined(project / "libxc.so")
    assert result.attributed and result.library_file == "./libxc.so"
    assert triples(result.sites) == {t for t in EXPECTED_OBJECT_REFS if t[1] == "main.o"}
    assert set(result.symbols) <= exports
    assert result.other_symbols == ("lib_fn", "util_fn", "wrap_b")
    assert not set(result.other_symbols) & exports
    assert {(s.symbol, s.function) for s in result.other_sites} == {
        ("util_fn", "main"), ("wrap_b", "main"), ("lib_fn", "main")}
    assert result.needed and not result.linked


def test_a_static_archive_is_read_member_by_member(project, monkeypatch):
    monkeypatch.chdir(project)
    result = run_link_experiment(link_command(), "libstuff.a")
    assert result.library_file == "libstuff.a"
    assert set(result.symbols) == {"lib_fn"} <= nm_defined(project / "libstuff.a")
    assert result.other_sites == ()


def test_a_linker_script_is_followed(project, monkeypatch, tmp_path):
    """libxs.so is a linker script (as libc.so is) naming libxc.so: its symbols are xc's."""
    for f in ("main.o", "util.o", "libstuff.a", "libxc.so"):
        shutil.copy(project / f, tmp_path / f)
    (tmp_path / "libxs.so").write_text("/* GNU ld script */\nGROUP ( libxc.so )\n")
    monkeypatch.chdir(tmp_path)
    result = run_link_experiment(["gcc", "-o", "prog", "main.o", "-L.", "-lxs"], "xs")
    assert result.attributed and result.library_file == "./libxs.so"
    assert set(result.symbols) == {"xc_a", "xc_c"}
    assert result.other_symbols == ("lib_fn", "util_fn", "wrap_b")


def test_library_not_found_attributes_nothing(tmp_path):
    (tmp_path / "m.c").write_text("int xc_a(int);\nint main(void) { return xc_a(1); }\n")
    subprocess.run(["gcc", "-c", "m.c"], cwd=tmp_path, check=True)
    result = run_link_experiment(["gcc", "-o", "m", "m.o", "-lxc"], "xc", cwd=str(tmp_path))
    assert not result.attributed and result.symbols == ("xc_a",) and result.other_sites == ()
    assert any("libxc was not found on the link line's search path" in n for n in result.notes)


def test_cli_missing_anyway(project, monkeypatch, capsys):
    monkeypatch.chdir(project)
    cmd = ["gcc", "-o", "prog", "main.o", "-L.", "-lxc"]
    assert cli.main(["link", "--without", "xc", "--", *cmd]) == 0
    out = capsys.readouterr().out
    assert "without libxc: 3 undefined references to 2 symbols it defines" in out
    assert "missing anyway (not defined by libxc): 3 undefined references to 3 symbols" in out
    head, tail = out.split("missing anyway")
    assert "util_fn" not in head and "xc_a" not in tail
    assert cli.main(["link", "--without", "xc", "-f", "json", "--", *cmd]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["symbols"] == ["xc_a", "xc_c"] and data["attributed"] is True
    assert data["missing_anyway"]["symbols"] == ["lib_fn", "util_fn", "wrap_b"]
    assert {c["symbol"] for c in data["missing_anyway"]["callsites"]} == {
        "lib_fn", "util_fn", "wrap_b"}
    assert cli.main(["link", "--without", "xc", "-f", "markdown", "--", *cmd]) == 0
    md = capsys.readouterr().out
    assert "## Missing anyway (not defined by libxc)" in md
    assert "| `util_fn` | main.o | main | 16 |" in md
    # Only references missing anyway: libxc is not needed.
    assert cli.main(["link", "--without", "m", "-f", "json", "--", *cmd, "-lm"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["needed"] is False and data["symbols"] == []
    assert data["missing_anyway"]["symbols"] == ["lib_fn", "util_fn", "wrap_b"]
