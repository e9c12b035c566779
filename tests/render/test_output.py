"""Output people read: the summary of a directory scan, C++ names demangled, tables that never
break identifiers, input errors once, no progress left on the terminal, phases on stderr.

Fixtures are built with gcc/g++: an unstable library (release soname, VERS_4.17.0 node), a
library with a PRIVATE node, one of unknown stability (no soname version, no symbol versions),
a stable one and a C++ library, and eight programs using them. Counts are held against
readelf's view of the programs.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from abiguard.cli import main
from abiguard.render.table import Column, Table, item_lines, paragraph, units
from helpers.cfixtures import program, shared_lib, write

UNST = ("unst_a", "unst_b", "unst_c", "unst_d")
PROGRAMS = {  # name -> functions used (C)
    "prog0": ("unst_a",),
    "prog1": ("unst_a", "unst_b"),
    "prog2": ("unst_a", "unst_b", "unst_c", "priv_internal"),
    "prog3": ("stab_ok",),
    "prog4": ("odd_x",),
    "prog5": ("unst_d", "odd_x"),
    "prog6": ("priv_internal", "priv_pub"),
}
CXX_LIB = r"""
namespace toyxx {
struct Widget { int size; int draw(int scale) const; static Widget *make(const char *name, int n); };
int Widget::draw(int scale) const { return size * scale; }
Widget *Widget::make(const char *, int) { return nullptr; }
}
"""
CXX_PROG = r"""
namespace toyxx { struct Widget { int size; int draw(int scale) const;
  static Widget *make(const char *name, int n); }; }
extern "C" int unst_a(void);
int main() { toyxx::Widget w{2}; return w.draw(3) + (toyxx::Widget::make("x", 1) ? 1 : 0)
  + unst_a(); }
"""


@pytest.fixture(scope="module")
def tree(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("outtree")
    lib = root / "lib"
    shared_lib(lib, "libunst.so.4.17", "\n".join(f"int {u}(void) {{ return 1; }}" for u in UNST),
               version_script="VERS_4.17.0 { global: unst_*; local: *; };")
    # (two interface nodes: stable by its version nodes; one alone is a weak signal)
    shared_lib(lib, "libstab.so.1", "int stab_ok(void) { return 0; }",
               version_script="STAB_1.0 { global: stab_ok; local: *; };\nSTAB_1.1 { } STAB_1.0;")
    shared_lib(lib, "libpriv.so.1", "int priv_pub(void) { return 0; }\n"
               "int priv_internal(void) { return 0; }",
               version_script="PRIV_1.0 { global: priv_pub; local: *; };\n"
                              "PRIV_PRIVATE { global: priv_internal; } PRIV_1.0;")
    shared_lib(lib, "libodd.so", "int odd_x(void) { return 0; }")
    src = write(lib / "toyxx.cc", CXX_LIB)
    vs = write(lib / "toyxx.map", 'TOYXX_4.17.0 { global: extern "C++" { toyxx::*; }; '
                                  'local: *; };')
    subprocess.run(["g++", "-shared", "-fPIC", "-o", str(lib / "libtoyxx.so.4.17"), str(src),
                    "-Wl,-soname,libtoyxx.so.4.17", f"-Wl,--version-script={vs}"], check=True)
    (lib / "libtoyxx.so").symlink_to("libtoyxx.so.4.17")
    link = (f"-L{lib}", "-lunst", "-lstab", "-lpriv", "-l:libodd.so",
            "-Wl,--no-as-needed", "-Wl,-rpath,$ORIGIN/../lib")
    for name, uses in PROGRAMS.items():
        decls = " ".join(f"int {u}(void);" for u in uses)
        calls = " + ".join(f"{u}()" for u in uses)
        program(root / "bin", name, f"{decls}\nint main(void) {{ return {calls}; }}\n",
                link=link)
    src = write(root / "bin" / "progxx.cc", CXX_PROG)
    subprocess.run(["g++", "-o", str(root / "bin" / "progxx"), str(src), f"-L{lib}", "-ltoyxx",
                    "-lunst", "-Wl,-rpath,$ORIGIN/../lib"], check=True)
    os.unlink(src)
    for c in (root / "bin").glob("*.c"):
        c.unlink()
    return root


def readelf_imports(path: Path) -> dict[str, str]:
    """name -> version node of the program's versioned undefined dynamic symbols (readelf)."""
    out = subprocess.run(["readelf", "--dyn-syms", "-W", str(path)], capture_output=True,
                         text=True, check=True).stdout
    got = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[6] == "UND" and "@" in parts[7]:
            name, _, ver = parts[7].partition("@")
            got[name] = ver.split(" ")[0]
    return got


def run(capsys, *args: str) -> tuple[int, str, str]:
    rc = main(list(args))
    out, err = capsys.readouterr()
    return rc, out, err


def row(out: str, first: str) -> list[str]:
    for line in out.splitlines():
        if line.split()[:1] == [first]:
            return line.split()
    raise AssertionError(f"no row for {first} in:\n{out}")


# --------------------------------------------------------------------------------------------
# Directory scans: the answer first
# --------------------------------------------------------------------------------------------


def test_directory_scan_answers_first(tree, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "120")
    rc, out, err = run(capsys, "scan", str(tree / "bin"))
    assert rc == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].startswith("Libraries with unstable, private or unknown-stability imports")
    assert len(lines) <= 40
    # nothing per file: no consumer headers, no empty table headers
    assert not [ln for ln in lines if ln.startswith(str(tree / "bin")) and "(DYN" in ln]
    assert "library  stability  imports" not in out
    # consumers and distinct symbols per library, against readelf
    views = {p.name: readelf_imports(p) for p in (tree / "bin").iterdir()}
    expect: dict[str, tuple[set[str], set[str]]] = {}
    for prog, imports in views.items():
        for name, ver in imports.items():
            lib = {"VERS_4.17.0": "libunst.so.4.17", "PRIV_PRIVATE": "libpriv.so.1",
                   "TOYXX_4.17.0": "libtoyxx.so.4.17"}.get(ver)
            if lib:
                users, syms = expect.setdefault(lib, (set(), set()))
                users.add(prog)
                syms.add(name)
    assert set(expect) == {"libunst.so.4.17", "libpriv.so.1", "libtoyxx.so.4.17"}
    for lib, (users, syms) in expect.items():
        cells = row(out, lib)
        assert cells[1] == ("private" if lib == "libpriv.so.1" else "unstable")
        assert (int(cells[2]), int(cells[3])) == (len(users), len(syms)), lib
    # unknown stability: no versions at all (libodd-2.1.so would be a libtool -release name)
    odd = row(out, "libodd.so")
    assert odd[1] == "unknown" and (odd[2], odd[3]) == ("2", "1")
    assert "libstab.so.1" not in out
    # the consumer importing the most unstable/private symbols comes first
    assert "Consumers importing the most of them" in out
    top = out.split("Consumers importing the most of them")[1].splitlines()[2].split()
    assert top[0] == str(tree / "bin" / "prog2") and top[1:4] == ["3", "1", "0"]
    assert "8 consumer(s): 6 import unstable/private symbols" in " ".join(out.split())
    assert "per-file detail: -v, or --consumer GLOB" in out


def test_verbose_gives_the_per_file_detail(tree, capsys):
    rc, out, _ = run(capsys, "scan", "-v", str(tree / "bin"))
    assert rc == 0
    assert out.startswith("Libraries with unstable")  # still the answer first
    for name in (*PROGRAMS, "progxx"):
        assert f"{tree / 'bin' / name}  (DYN" in out or f"{tree / 'bin' / name}  (EXEC" in out


def test_consumer_glob_selects(tree, capsys):
    rc, out, _ = run(capsys, "scan", "--consumer", "prog2", str(tree / "bin"))
    assert rc == 0
    assert str(tree / "bin" / "prog2") in out and str(tree / "bin" / "prog1") not in out
    assert "unst_c" in out and "priv_internal" in out
    assert "1 of 8 consumer(s) shown in full" in out
    rc, out, _ = run(capsys, "scan", "--consumer", "nothing*", str(tree / "bin"))
    assert "no consumer matches --consumer nothing*" in out


def test_a_few_consumers_keep_the_detailed_form(tree, capsys):
    rc, out, _ = run(capsys, "scan", str(tree / "bin" / "prog2"), str(tree / "bin" / "prog3"))
    assert rc == 0
    assert "Libraries with unstable" not in out
    assert out.startswith(str(tree / "bin" / "prog2"))
    assert "unstable/private symbol" in out and "2 consumer(s), 4 unstable/private" in out


def test_markdown_summary_first(tree, capsys):
    rc, out, _ = run(capsys, "scan", "-f", "markdown", str(tree / "bin"))
    assert rc == 0
    heads = [ln for ln in out.splitlines() if ln.startswith("## ")]
    assert heads[0] == "## Libraries with unstable, private or unknown-stability imports"
    assert "| `libunst.so.4.17` | unstable | 5 | 4 |" in out
    assert not [h for h in heads if str(tree) in h]  # no per-file sections without -v
    rc, out, _ = run(capsys, "scan", "-f", "markdown", "-v", str(tree / "bin"))
    assert f"## `{tree / 'bin' / 'prog2'}`" in out


# --------------------------------------------------------------------------------------------
# C++ names
# --------------------------------------------------------------------------------------------


def test_cxx_names_are_demangled(tree, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    prog = str(tree / "bin" / "progxx")
    raw = [n for n in readelf_imports(tree / "bin" / "progxx") if "5toyxx" in n]
    assert len(raw) == 2
    rc, out, _ = run(capsys, "scan", prog)
    assert rc == 0
    assert "toyxx::Widget::draw(int) const" in out
    assert "toyxx::Widget::make(char const*, int)" in out
    assert "5toyxx" not in out
    assert max(len(ln) for ln in out.splitlines()) <= 100
    rc, out, _ = run(capsys, "scan", "--no-demangle", prog)
    assert all(r in out for r in raw) and "toyxx::" not in out
    rc, out, _ = run(capsys, "scan", "-f", "markdown", prog)
    assert "`toyxx::Widget::draw(int) const`" in out
    rc, out, _ = run(capsys, "scan", "-f", "json", prog)  # JSON keeps the raw names
    names = {b["symbol"]["name"] for c in json.loads(out)["consumers"] for b in c["bindings"]}
    assert set(raw) <= names and not [n for n in names if "::" in n]


# --------------------------------------------------------------------------------------------
# Tables never break identifiers
# --------------------------------------------------------------------------------------------

IDENT = st.from_regex(r"[a-z_][a-z0-9_]{0,40}", fullmatch=True)


@settings(max_examples=int(os.environ.get("ABIGUARD_TABLE_EXAMPLES", "150")), deadline=None)
@given(rows=st.lists(st.tuples(IDENT, IDENT, st.lists(IDENT, max_size=6),
                               st.lists(IDENT, max_size=12)), min_size=1, max_size=8),
       width=st.integers(40, 160))
def test_table_units_stay_whole(rows, width):
    t = Table([Column("symbol"), Column("library", drop=1), Column("used in", "list"),
               Column("note", "text", min_width=12)], heading=(1,))
    for sym, lib, used, words in rows:
        t.add_row(sym, lib, ", ".join(used), " ".join(words))
    text = "\n".join(line.plain for line in t.lines(width))
    tokens = re.findall(r"[a-z0-9_]+", text)
    # every identifier appears whole as often as it was given, nothing else appears
    given_tokens = sorted(x for sym, lib, used, words in rows
                          for x in [sym, *used, *words] + ([lib] if f" {lib}" in text
                                                           or text.startswith(lib) else [])
                          if x)
    for tok in set(tokens):
        assert tok in given_tokens or tok in {"symbol", "library", "used", "in", "note"}
    for x in {s for s, *_ in rows} | {u for r in rows for u in r[2]}:
        assert re.search(rf"(?<![a-z0-9_]){x}(?![a-z0-9_])", text), x
    for line in text.splitlines():
        assert not re.match(r"^\s*,", line), "a lone comma"
        if len(line) > width:  # only a unit too wide for the width, with its indent (at
            # most 7 for a folded cell under a heading) and comma, may stick out
            longest = max(len(u) for r in rows for u in [r[0], r[1], *r[2], *r[3]])
            assert longest + 8 > width, (width, line)


def test_cxx_signature_wraps_between_parameters():
    sig = ("ParseCommandLine(CommandLine&, APT_CMD, Configuration* const*, pkgSystem**, int, "
           "char const**, bool (*)(CommandLine&))")
    assert units(sig, "id")[0] == "ParseCommandLine("
    t = Table([Column("symbol"), Column("library")])
    t.add_row(sig, "libapt-private.so.0.0")
    lines = [ln.plain for ln in t.lines(60)]
    assert all(len(ln) <= 60 for ln in lines)
    joined = " ".join(ln.strip() for ln in lines)
    assert "ParseCommandLine(CommandLine&," in joined and "pkgSystem**," in joined


def test_paragraph_and_item_lines_keep_words():
    long = "xendevicemodel_populate_physmap"
    for w in (20, 33, 40):
        assert all(long in ln or long not in " ".join(paragraph(f"see {long} here", w))
                   for ln in paragraph(f"see {long} here", w) if "xendevice" in ln)
        lines = item_lines("uses: ", [long, "xc_a", "xc_b"], w)
        assert sum(ln.count(long) for ln in lines) == 1
        assert not [ln for ln in lines if ln.strip().startswith(",")]


# --------------------------------------------------------------------------------------------
# Messages once; nothing left on the terminal
# --------------------------------------------------------------------------------------------


def test_input_error_once_on_stderr(tree, tmp_path, capsys):
    broken = tmp_path / "broken.so"
    broken.write_bytes(b"\x7fELF\x02\x01\x01" + b"\0" * 20)
    rc, out, err = run(capsys, "scan", str(tree / "bin" / "prog0"), str(broken))
    assert rc == 2
    assert "broken.so" not in out and "input error" not in out.replace("input error(s)", "")
    assert "1 input error(s)" in out  # the totals still count it
    assert [ln for ln in err.splitlines() if "broken.so" in ln] == [err.strip()]
    rc, out, err = run(capsys, "plan", str(tree / "bin" / "prog0"), str(broken))
    assert rc == 2 and "broken.so" not in out and err.count("broken.so") == 1


def screen(data: bytes, cols: int) -> list[str]:
    """What a terminal of ``cols`` columns shows after ``data``: carriage return, line feed,
    automatic wrap at the right margin, cursor up (CSI A), erase line (CSI K), column (CSI G);
    other escape sequences (colours, cursor visibility) change no text."""
    rows: list[list[str]] = [[]]
    r = c = 0
    text = data.decode("utf-8", "replace")
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\x1b":
            m = re.match(r"\x1b\[([?0-9;]*)([A-Za-z])", text[i:])
            if m:
                arg, cmd = m.groups()
                n = int(arg) if arg.isdigit() else None
                if cmd == "A":
                    r = max(0, r - (n or 1))
                elif cmd == "K":
                    line = rows[r]
                    rows[r] = [] if n == 2 else line[:c]
                elif cmd == "G":
                    c = (n or 1) - 1
                i += m.end()
                continue
            i += 2
            continue
        if ch == "\r":
            c = 0
        elif ch == "\n":
            r += 1
        else:
            if c >= cols:
                r, c = r + 1, 0
            while len(rows) <= r:
                rows.append([])
            line = rows[r]
            line.extend(" " * (c - len(line) + 1)) if len(line) <= c else None
            line[c] = ch
            c += 1
        while len(rows) <= r:
            rows.append([])
        i += 1
    return ["".join(x).rstrip() for x in rows]


def in_terminal(cmd: list[str], cols: int, timeout: float = 300,
                columns_env: str | None = None) -> tuple[bytes, bytes]:
    """Run cmd with stdin and stderr on a pseudo-terminal of ``cols`` columns, stdout piped:
    (what the terminal received, stdout). ``columns_env``: a COLUMNS variable that disagrees
    with the terminal (exported by a shell or a user who wants wide piped output)."""
    import fcntl
    import pty
    import struct
    import termios

    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, cols, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES", "NO_COLOR")}
    env["TERM"] = "xterm"
    if columns_env is not None:
        env["COLUMNS"] = columns_env
    proc = subprocess.Popen(cmd, stdin=slave, stdout=subprocess.PIPE, stderr=slave, env=env)
    os.close(slave)
    got = b""
    while True:
        try:
            chunk = os.read(master, 65536)
        except OSError:
            break
        if not chunk:
            break
        got += chunk
    out = proc.stdout.read() if proc.stdout else b""
    proc.wait(timeout=timeout)
    os.close(master)
    return got, out


def test_terminal_emulation_sees_a_leftover():
    """The emulator itself: a line longer than the terminal, cleared as one line, leaves its
    first row behind (what a progress bar wider than the terminal did)."""
    bar = "resolving " + "━" * 40 + " 0/0   0% " + "x" * 40
    assert screen((bar + "\r\x1b[2K").encode(), 80) == [bar[:80], ""]
    assert screen((bar[:70] + "\r\n\r\x1b[1A\x1b[2K").encode(), 80) == ["", ""]


def test_progress_bar_leaves_nothing(tmp_path):
    script = tmp_path / "bar.py"
    script.write_text(
        "import sys, time\n"
        "from abiguard.render.progress import Progress\n"
        "p = Progress('resolving', delay=0)\n"
        "p(0, 0, '')\n"  # nothing to count: no bar
        "for i in range(30):\n"
        "    p(i, 30, '/usr/lib/x86_64-linux-gnu/' + 'very-long-directory-name/' * 4 + str(i))\n"
        "    time.sleep(0.02)\n"
        "p(30, 30, '')\n"
        "p.close()\n"
        "sys.stderr.write('done\\n')\n")
    for cols, columns_env in ((40, None), (80, None), (80, "200")):
        raw, _ = in_terminal([sys.executable, str(script)], cols, columns_env=columns_env)
        assert b"resolving" in raw, "the bar was never drawn"
        shown = [ln for ln in screen(raw, cols) if ln]
        assert shown == ["done"], (cols, columns_env, shown)


def test_scan_in_a_terminal_leaves_only_the_error(tmp_path):
    raw, out = in_terminal([sys.executable, "-m", "abiguard.cli", "scan",
                            str(tmp_path / "nonexistent")], 200)
    shown = [ln for ln in screen(raw, 200) if ln]
    assert shown == [f"abiguard: error: {tmp_path / 'nonexistent'}: no such file or directory"]
    assert b"0/0" not in raw and b"input error" not in out.replace(b"input error(s)", b"")


def test_scan_of_usr_bin_in_a_terminal_leaves_no_bar():
    raw, out = in_terminal([sys.executable, "-m", "abiguard.cli", "scan", "/usr/bin"], 80)
    assert b"resolving" in raw  # the bar was shown while it worked
    assert [ln for ln in screen(raw, 80) if ln] == []
    assert out.decode().startswith("Libraries with unstable")


def test_phase_lines_only_after_a_download(tree, capsys):
    from abiguard.commands._common import PhaseLines

    class Args:
        quiet = False

    p = PhaseLines(Args())
    p("unpack", "unpacking 1 package(s)")
    p("resolve", "resolving 3 consumer(s)")
    assert capsys.readouterr().err == ""
    p("download", "downloading 2 package(s) with apt-get: a, b")
    p("unpack", "unpacking 2 package(s)")
    assert capsys.readouterr().err.splitlines() == [
        "abiguard: downloading 2 package(s) with apt-get: a, b",
        "abiguard: unpacking 2 package(s)"]
    Args.quiet = True
    q = PhaseLines(Args())
    q("download", "downloading 1 package(s)")
    assert capsys.readouterr().err == ""


@pytest.mark.integration
def test_first_download_says_what_it_does_when_piped(tmp_path):
    env = {**os.environ, "ABIGUARD_CACHE": str(tmp_path)}
    cmd = [sys.executable, "-m", "abiguard.cli", "scan", "--with-deps", "apt:libxentoolcore1"]
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert lines[0] == "abiguard: downloading 1 package(s) with apt-get: libxentoolcore1"
    assert "abiguard: unpacking 1 package(s)" in lines
    assert lines[-1] == "abiguard: resolving 1 consumer(s)"
    proc = subprocess.run(cmd[:4] + ["-q"] + cmd[4:], capture_output=True, text=True,
                          env={**env, "ABIGUARD_CACHE": str(tmp_path / "again")}, check=False)
    assert proc.returncode == 0 and proc.stderr == ""


def test_html_report_of_a_scan_shows_cxx_names(tree, tmp_path, capsys):
    result = tmp_path / "scan.json"
    assert main(["scan", "-q", "-f", "json", "-o", str(result), str(tree / "bin")]) == 0
    page = tmp_path / "scan.html"
    assert main(["report", "-q", str(result), "-o", str(page)]) == 0
    text = page.read_text()
    raw = [n for n in readelf_imports(tree / "bin" / "progxx") if "5toyxx" in n]
    assert "toyxx::Widget::draw(int) const" in text
    for r in raw:  # the raw name only in tooltips and data, never as the shown text
        assert f">{r}<" not in text and f'title="{r}"' in text
    assert main(["report", "-q", "--no-demangle", str(result), "-o", str(page)]) == 0
    assert "toyxx::" not in page.read_text()


def test_scan_of_usr_bin_fits_a_screen(capsys, monkeypatch):
    """A whole system directory answers in about 60 lines by default (the libraries with
    unstable, private or unknown imports, the top consumers, the totals); -v has the rest."""
    monkeypatch.setenv("COLUMNS", "120")
    rc, out, _ = run(capsys, "scan", "/usr/bin")
    assert rc == 0
    lines = out.splitlines()
    assert lines[0].startswith("Libraries with unstable, private or unknown-stability imports")
    assert len(lines) <= 60, len(lines)
    rc, verbose, _ = run(capsys, "scan", "-v", "/usr/bin")
    assert len(verbose.splitlines()) > len(lines)
