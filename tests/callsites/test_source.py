"""abiguard where --source: C source call sites, conditions, wrappers, features (unit tests).

Every C project here is written by the test and, where that means something, compiled with
gcc first, so the sources are real C.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
import tree_sitter  # noqa: F401  (the 'where' extra; make test installs it)
import tree_sitter_c  # noqa: F401

from abiguard.callsites.conditions import line_conditions, negate, render_dnf, simplify
from abiguard.callsites.cpp_expr import (
    Macros,
    build_macros,
    evaluate,
    parse_define,
    read_config_header,
)
from abiguard.callsites.features import feature_impact, load_features, path_matches
from abiguard.callsites.source import declared_functions, root_sites, scan_sources
from abiguard.cli import main
from abiguard.debian import sourceslist, srcpkg
from abiguard.errors import DataFileError, UsageError

HAVE_GCC = shutil.which("gcc") is not None

XENCTRL_H = """\
#ifndef XENCTRL_H
#define XENCTRL_H
typedef struct xc_interface xc_interface;
typedef int (*xc_callback_t)(int);
xc_interface *xc_interface_open(void *logger, void *dombuild_logger, unsigned open_flags);
int xc_interface_close(xc_interface *xch);
int xc_domain_shutdown(xc_interface *xch, int domid, int reason);
int xc_foo(int x);
int xc_bar(int x);
int xc_get_hvm_param(xc_interface *handle, int dom, int param, unsigned long *value);
int xc_physdev_map_pirq(xc_interface *xch, int domid, int index, int *pirq);
static inline int xc_inline_helper(int x) { return x; }
extern int (*xc_hook)(int);
#endif
"""

COMPAT_H = """\
#ifndef COMPAT_H
#define COMPAT_H
#include "xenctrl.h"
extern xc_interface *xen_xc;

/* a static inline wrapper: a reference only where it is used */
static inline int get_param(int d, unsigned long *v)
{
    return xc_get_hvm_param(xen_xc, d, 1, v);
}

#if XEN_VERSION < 40500
static inline int server_info(int d, unsigned long *v)
{
    return get_param(d, v);
}
#else
static inline int server_info(int d, unsigned long *v)
{
    if (d > 1) {
        return get_param(d, v);
    }
    return 0;
}
#endif

static inline int unused_wrapper(void)
{
    return xc_physdev_map_pirq(xen_xc, 0, 0, 0);
}
#endif /* COMPAT_H */
"""

MAIN_C = """\
#include <stdio.h>
#include "compat.h"
#define SHUTDOWN(x) xc_domain_shutdown(x, 0, 0) /* xc_foo in a comment */

xc_interface *xen_xc;
int (*p)(int);
int (*q)(int);

static int helper(int d)
{
    unsigned long v = 0;
    p = &xc_foo;
    q = xc_bar;
    /* xc_foo(1) in a comment */
    puts("xc_foo in a string");
    server_info(d, &v);
    return p(d) + q(d);
}

#ifdef CONFIG_A
void a(void)
{
    SHUTDOWN(xen_xc);
}
#if XEN_VERSION >= 40600
void b(void) { xc_foo(1); }
#elif XEN_VERSION >= 40500
void b(void) { xc_bar(1); }
#else
void b(void) { xc_interface_close(xen_xc); }
#endif
#endif

int main(void)
{
    xen_xc = xc_interface_open(0, 0, 0);
    SHUTDOWN(xen_xc);
    helper(1);
#if 0
    xc_foo(3);
#endif
    return 0;
}
"""

TARGETS = ["xc_interface_open", "xc_interface_close", "xc_domain_shutdown", "xc_foo", "xc_bar",
           "xc_get_hvm_param", "xc_physdev_map_pirq"]


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(textwrap.dedent(text))
    return path


@pytest.fixture(scope="module")
def project(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("proj")
    write(root / "include" / "xenctrl.h", XENCTRL_H)
    write(root / "include" / "compat.h", COMPAT_H)
    write(root / "src" / "main.c", MAIN_C)
    if HAVE_GCC:
        for flags in ([], ["-DCONFIG_A", "-DXEN_VERSION=40700"], ["-DCONFIG_A", "-DXEN_VERSION=40400"]):
            res = subprocess.run(["gcc", "-Wall", "-Werror", "-fsyntax-only", "-Iinclude", *flags,
                                  "src/main.c"], cwd=root, capture_output=True, text=True, check=False)
            assert res.returncode == 0, res.stderr
    return root


def sites_of(scan, symbol):
    return [s for s in scan.callsites if s.symbol == symbol]


def by_line(scan, symbol):
    return {(s.file, s.line): s for s in sites_of(scan, symbol)}


def line_of(text: str, needle: str, nth: int = 1) -> int:
    count = 0
    for i, line in enumerate(text.splitlines(), 1):
        if needle in line:
            count += 1
            if count == nth:
                return i
    raise AssertionError(needle)


# --------------------------------------------------------------------------------------------
# references
# --------------------------------------------------------------------------------------------


def test_direct_calls_pointers_and_static_functions(project):
    scan = scan_sources(project, TARGETS)
    foo = by_line(scan, "xc_foo")
    line_amp = line_of(MAIN_C, "p = &xc_foo;")
    s = foo[("src/main.c", line_amp)]
    assert (s.kind, s.function, s.column) == ("address", "helper", 10)
    bar = by_line(scan, "xc_bar")[("src/main.c", line_of(MAIN_C, "q = xc_bar;"))]
    assert (bar.kind, bar.function, bar.column) == ("address", "helper", 9)
    opened = sites_of(scan, "xc_interface_open")
    assert [(s.file, s.line, s.kind, s.function) for s in opened] == [
        ("src/main.c", line_of(MAIN_C, "xen_xc = xc_interface_open"), "call", "main")]
    # comments, strings and the prototypes in xenctrl.h are not references
    assert not any(s.file == "include/xenctrl.h" for s in scan.callsites)
    assert {s.line for s in sites_of(scan, "xc_foo")} == {
        line_amp, line_of(MAIN_C, "void b(void) { xc_foo(1); }"), line_of(MAIN_C, "xc_foo(3);")}
    assert all(s.method == "source" for s in scan.callsites)


def test_macro_wrapper_used_twice(project):
    scan = scan_sources(project, TARGETS)
    sd = sites_of(scan, "xc_domain_shutdown")
    define = [s for s in sd if s.kind == "macro"]
    assert [(s.line, s.via, s.function) for s in define] == [(3, "SHUTDOWN", None)]
    uses = sorted((s.line, s.function, s.via, s.kind) for s in sd if s.kind != "macro")
    assert uses == [(line_of(MAIN_C, "SHUTDOWN(xen_xc);"), "a", "SHUTDOWN", "call"),
                    (line_of(MAIN_C, "SHUTDOWN(xen_xc);", 2), "main", "SHUTDOWN", "call")]
    assert any(w.name == "SHUTDOWN" and w.kind == "macro" for w in scan.wrappers)


def test_conditions_without_configuration(project):
    scan = scan_sources(project, TARGETS)
    cond = {(s.symbol, s.line): s.condition for s in scan.callsites if s.file == "src/main.c"}
    assert cond[("xc_foo", line_of(MAIN_C, "{ xc_foo(1); }"))] == \
        "defined(CONFIG_A) && XEN_VERSION >= 40600"
    assert cond[("xc_bar", line_of(MAIN_C, "xc_bar(1)"))] == \
        "defined(CONFIG_A) && XEN_VERSION < 40600 && XEN_VERSION >= 40500"
    assert cond[("xc_interface_close", line_of(MAIN_C, "xc_interface_close"))] == \
        "defined(CONFIG_A) && XEN_VERSION < 40600 && XEN_VERSION < 40500"
    assert cond[("xc_domain_shutdown", line_of(MAIN_C, "SHUTDOWN(xen_xc);"))] == \
        "defined(CONFIG_A)"
    assert cond[("xc_foo", line_of(MAIN_C, "xc_foo(3)"))] == "0"
    # include guards are not conditions
    assert cond[("xc_interface_open", line_of(MAIN_C, "xc_interface_open"))] is None
    compiled = {(s.symbol, s.line): s.compiled for s in scan.callsites}
    # without -D only constant conditions are decided
    assert compiled[("xc_foo", line_of(MAIN_C, "xc_foo(3)"))] is False
    assert compiled[("xc_foo", line_of(MAIN_C, "{ xc_foo(1); }"))] is None
    assert compiled[("xc_interface_open", line_of(MAIN_C, "xc_interface_open"))] is None
    assert scan.configured is False


@pytest.mark.parametrize("defines, expect", [
    (["CONFIG_A", "XEN_VERSION=40700"], {"{ xc_foo(1); }": True, "xc_bar(1)": False,
                                         "xc_interface_close": False, "SHUTDOWN(xen_xc);": True}),
    (["CONFIG_A=1", "XEN_VERSION=40500"], {"{ xc_foo(1); }": False, "xc_bar(1)": True,
                                           "xc_interface_close": False}),
    (["CONFIG_A", "XEN_VERSION=0x9c40"], {"{ xc_foo(1); }": False, "xc_bar(1)": False,
                                          "xc_interface_close": True}),
    (["XEN_VERSION=40700"], {"{ xc_foo(1); }": False, "SHUTDOWN(xen_xc);": False,
                             "xen_xc = xc_interface_open": True}),
])
def test_define_evaluation(project, defines, expect):
    scan = scan_sources(project, TARGETS, build_macros(defines))
    compiled = {s.line: s.compiled for s in scan.callsites if s.file == "src/main.c"}
    for needle, value in expect.items():
        assert compiled[line_of(MAIN_C, needle)] is value, needle
    assert compiled[line_of(MAIN_C, "xc_foo(3)")] is False
    assert scan.configured


def test_static_inline_wrapper_attributed_to_users(project):
    scan = scan_sources(project, TARGETS)
    hvm = sites_of(scan, "xc_get_hvm_param")
    table = sorted((s.file, s.line, s.function, s.via, s.condition) for s in hvm)
    assert table == [
        ("include/compat.h", line_of(COMPAT_H, "return xc_get_hvm_param"), "get_param", None,
         None),
        ("include/compat.h", line_of(COMPAT_H, "return get_param(d, v);"), "server_info",
         "get_param", "XEN_VERSION < 40500"),
        ("include/compat.h", line_of(COMPAT_H, "return get_param(d, v);", 2), "server_info",
         "get_param", "XEN_VERSION >= 40500"),
        # the user: both definitions of server_info reach it, so no condition remains
        ("src/main.c", line_of(MAIN_C, "server_info(d, &v);"), "helper", "server_info", None),
    ]
    wrappers = {(w.name, w.line): w for w in scan.wrappers}
    assert wrappers[("server_info", line_of(COMPAT_H, "static inline int server_info"))]\
        .condition == "XEN_VERSION < 40500"
    # a wrapper nobody uses: its site is reported, but it is not a root site
    pirq = sites_of(scan, "xc_physdev_map_pirq")
    assert [(s.file, s.function) for s in pirq] == [("include/compat.h", "unused_wrapper")]
    roots = root_sites(scan)
    assert {s.symbol for s in roots} == {"xc_interface_open", "xc_interface_close",
                                         "xc_domain_shutdown", "xc_foo", "xc_bar",
                                         "xc_get_hvm_param"}
    assert all(s.file == "src/main.c" for s in roots)


def test_wrapper_condition_evaluated(project):
    scan = scan_sources(project, ["xc_get_hvm_param"], build_macros(["XEN_VERSION=40400"]))
    got = {(s.line, s.via): s.compiled for s in scan.callsites if s.file == "include/compat.h"}
    assert got[(line_of(COMPAT_H, "return get_param(d, v);"), "get_param")] is True
    assert got[(line_of(COMPAT_H, "return get_param(d, v);", 2), "get_param")] is False


def test_parse_errors_are_counted_but_scanned(tmp_path):
    write(tmp_path / "bad.c", """\
        int f(void) {
            return xc_foo(1) +;
        }
        int g(void) { @@@ xc_bar(2); }
        """)
    scan = scan_sources(tmp_path, ["xc_foo", "xc_bar"])
    assert scan.parse_error_files == ("bad.c",)
    assert {s.symbol for s in scan.callsites} == {"xc_foo", "xc_bar"}


def test_hidden_dirs_skipped_and_single_file(tmp_path):
    write(tmp_path / ".pc" / "old.c", "void f(void) { xc_foo(1); }\n")
    write(tmp_path / "a.c", "void f(void) { xc_foo(1); }\n")
    scan = scan_sources(tmp_path, ["xc_foo"])
    assert [s.file for s in scan.callsites] == ["a.c"]
    one = scan_sources(tmp_path / "a.c", ["xc_foo"])
    assert [(s.file, s.line, s.column) for s in one.callsites] == [("a.c", 1, 16)]


def test_utf8_columns_are_characters(tmp_path):
    write(tmp_path / "u.c", 'void f(void) { const char *s = "é"; xc_foo(1); }\n')
    scan = scan_sources(tmp_path, ["xc_foo"])
    assert scan.callsites[0].column == 'void f(void) { const char *s = "é"; '.__len__() + 1


def test_missing_source_is_usage_error(tmp_path):
    with pytest.raises(UsageError, match="no such file"):
        scan_sources(tmp_path / "nope", ["xc_foo"])


def test_declared_functions_from_header(project):
    names = declared_functions([str(project / "include" / "xenctrl.h")])
    assert names == ["xc_bar", "xc_domain_shutdown", "xc_foo", "xc_get_hvm_param",
                     "xc_interface_close", "xc_interface_open", "xc_physdev_map_pirq"]
    assert declared_functions([str(project / "include")]) == names


# --------------------------------------------------------------------------------------------
# conditions and the expression evaluator
# --------------------------------------------------------------------------------------------


def test_line_conditions_nesting_else_and_guard():
    src = textwrap.dedent("""\
        #ifndef GUARD_H
        #define GUARD_H
        #ifdef A
        l4
        #if B > 2 || C
        l6
        #elif defined D
        l8
        #else
        l10
        #endif
        #else /* !A */
        l13
        #endif
        /* #if X
        l16 */
        l17
        #endif
        """).encode()
    terms = line_conditions(src)
    assert terms[3] == ("defined(A)",)
    assert terms[5] == ("defined(A)", "B > 2 || C")
    assert terms[7] == ("defined(A)", "!(B > 2 || C)", "defined(D)")
    assert terms[9] == ("defined(A)", "!(B > 2 || C)", "!defined(D)")
    assert terms[12] == ("!defined(A)",)
    assert terms[15] == () and terms[16] == ()
    assert render_dnf((terms[5],)) == "defined(A) && (B > 2 || C)"


def test_negate_and_simplify():
    assert negate("X < 40600") == "X >= 40600"
    assert negate("defined(X)") == "!defined(X)"
    assert negate("!defined(X)") == "defined(X)"
    assert negate("A && B") == "!(A && B)"
    assert negate("!(A && B)") == "A && B"
    assert simplify([("A", "X < 1"), ("A", "X >= 1")]) == (("A",),)
    assert simplify([("A",), ("A", "B")]) == (("A",),)
    assert simplify([("B", "!B")]) == ()


@pytest.mark.parametrize("expr, value", [
    ("1 + 2 * 3", 7), ("(1 + 2) * 3", 9), ("10 / 3", 3), ("-7 / 2", -3), ("-7 % 2", -1),
    ("1 << 4", 16), ("0x10 == 16", 1), ("010", 8), ("0b101", 5), ("40600UL", 40600),
    ("'A'", 65), ("'\\n'", 10), ("!0", 1), ("~0", -1), ("1 ? 2 : 3", 2), ("0 ? 2 : 3", 3),
    ("defined(FOO)", 1), ("defined FOO && FOO == 2", 1), ("BAR", 3), ("BAR > FOO", 1),
    ("defined(NOPE)", 0), ("NOPE", 0), ("NOPE + 1", 1), ("1 / 0", None), ("F(1)", None),
    ("0 && F(1)", 0), ("1 || 1 / 0", 1), ("\"s\"", None), ("1 +", None), ("( 1", None),
    ("SELF", None), ("EMPTY", None), ("defined(EMPTY)", 1), ("__has_include(<x.h>)", None),
])
def test_cpp_expression_configured(expr, value):
    macros = build_macros(["FOO=2", "BAR=FOO+1", "SELF=SELF", "EMPTY="])
    assert evaluate(expr, macros) == value


def test_cpp_expression_unconfigured_is_three_valued():
    m = Macros()
    assert evaluate("UNKNOWN", m) is None
    assert evaluate("defined(UNKNOWN)", m) is None
    assert evaluate("0 && UNKNOWN", m) == 0
    assert evaluate("UNKNOWN || 1", m) == 1
    assert evaluate("1 + 1", m) == 2


def test_define_syntax_and_config_header(tmp_path):
    assert parse_define("A") == ("A", "1")
    assert parse_define("A=") == ("A", "")
    assert parse_define("A=B+1") == ("A", "B+1")
    for bad in ("1A", "=3", "A B=1", "F(x)=x", ""):
        with pytest.raises(UsageError):
            parse_define(bad)
    cfg = write(tmp_path / "config-host.h", """\
        /* Automatically generated by meson */
        #pragma once
        #define CONFIG_XEN_BACKEND 1
        #define CONFIG_XEN_CTRL_INTERFACE_VERSION 41700 // Xen 4.17
        #define HOST_STR "x86_64"
        #define FN(x) (x)
        #undef CONFIG_GONE
        """)
    d, u = read_config_header(str(cfg))
    assert d == {"CONFIG_XEN_BACKEND": "1", "CONFIG_XEN_CTRL_INTERFACE_VERSION": "41700",
                 "HOST_STR": '"x86_64"'}
    assert u == {"CONFIG_GONE"}
    m = build_macros(["CONFIG_XEN_BACKEND=0"], ["X"], [str(cfg)])
    assert evaluate("CONFIG_XEN_CTRL_INTERFACE_VERSION < 40600", m) == 0
    assert evaluate("CONFIG_XEN_BACKEND", m) == 0  # -D wins over the header
    assert evaluate("defined(CONFIG_GONE) || defined(X)", m) == 0
    bad = write(tmp_path / "bad.h", "int x = 3;\n")
    with pytest.raises(DataFileError, match="bad.h"):
        read_config_header(str(bad))
    with pytest.raises(DataFileError, match="nope.h"):
        read_config_header(str(tmp_path / "nope.h"))


# --------------------------------------------------------------------------------------------
# features
# --------------------------------------------------------------------------------------------


def test_path_matches():
    assert path_matches("hw/xen/xen_pt.c", "hw/xen/xen_pt*.c")
    assert path_matches("hw/xen/xen_pt_msi.c", "hw/xen/xen_pt*")
    assert not path_matches("hw/xen/xen-hvm.c", "hw/xen/xen_pt*")
    assert path_matches("hw/xen/xen_pt.c", "xen_pt*.c")  # no slash: any directory
    assert path_matches("hw/xen/xen_pt.c", "hw/")
    assert path_matches("hw/xen/xen_pt.c", "hw/xen")
    assert path_matches("hw/xen/xen_pt.c", "./hw/xen/*.c")


def test_feature_file(tmp_path):
    good = write(tmp_path / "f.toml", """\
        [features]
        pci-passthrough = ["hw/xen/xen_pt*.c"]
        detect = "scripts/xen-detect.c"
        """)
    assert load_features(str(good)) == {"pci-passthrough": ("hw/xen/xen_pt*.c",),
                                        "detect": ("scripts/xen-detect.c",)}
    for text, msg in (("[features\n", "not valid TOML"), ("x = 1\n", "unknown top-level"),
                      ("[features]\na = []\n", "non-empty list"), ("[features]\n", "no \\[features")):
        bad = write(tmp_path / "bad.toml", text)
        with pytest.raises(DataFileError, match=msg):
            load_features(str(bad))
    with pytest.raises(DataFileError, match="cannot read"):
        load_features(str(tmp_path / "missing.toml"))


def test_feature_impact_counts_root_sites_only(project):
    write(project / "hw" / "pt.c", """\
        #include "../include/compat.h"
        int pt(void) { return xc_physdev_map_pirq(xen_xc, 1, 2, 0) + xc_foo(2); }
        """)
    try:
        scan = scan_sources(project, TARGETS)
        imp = feature_impact(root_sites(scan), TARGETS, ["hw/*"])
        assert imp.disappearing == ("xc_physdev_map_pirq",)
        assert "xc_foo" in imp.remaining and "xc_get_hvm_param" in imp.remaining
        assert imp.matched_files == ("hw/pt.c",)
        # with a configuration, sites that are not compiled never keep a symbol
        scan = scan_sources(project, TARGETS, build_macros(["XEN_VERSION=40700"]))
        imp = feature_impact(root_sites(scan), TARGETS, ["hw/*"])
        assert "xc_interface_close" in imp.not_compiled
        assert "xc_bar" in imp.remaining  # q = xc_bar in helper
    finally:
        (project / "hw" / "pt.c").unlink()


# --------------------------------------------------------------------------------------------
# the command
# --------------------------------------------------------------------------------------------


def run_cli(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(["where", *argv])
    out, err = capsys.readouterr()
    return rc, out, err


def test_cli_json(project, capsys):
    rc, out, err = run_cli(capsys, "--source", str(project), "--symbol", "xc_domain_shutdown",
                           "--symbol", "xc_foo,xc_bar", "-D", "CONFIG_A", "-D",
                           "XEN_VERSION=40700", "-f", "json", "-q")
    assert rc == 0, err
    data = json.loads(out)
    from abiguard.model import SCHEMA_VERSION

    assert data["schema"] == SCHEMA_VERSION and data["kind"] == "where"
    assert data["targets"] == ["xc_bar", "xc_domain_shutdown", "xc_foo"]
    sd = [c for c in data["callsites"] if c["symbol"] == "xc_domain_shutdown"]
    assert {(c["function"], c["via"], c["compiled"]) for c in sd} == {
        (None, "SHUTDOWN", True), ("a", "SHUTDOWN", True), ("main", "SHUTDOWN", True)}
    assert data["configuration"] == ["-DCONFIG_A", "-DXEN_VERSION=40700"]
    assert data["wrappers"][0]["name"] == "SHUTDOWN"


def test_cli_text_and_markdown(project, capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "200")
    rc, out, _ = run_cli(capsys, "--source", str(project), "--symbol", "xc_foo")
    assert rc == 0
    assert "symbol" in out and "file:line:col" in out and "condition" in out
    assert f"src/main.c:{line_of(MAIN_C, '{ xc_foo(1); }')}:16" in out
    assert "defined(CONFIG_A) && XEN_VERSION >= 40600" in out
    rc, out, _ = run_cli(capsys, "--source", str(project), "--symbol", "xc_foo", "-f",
                         "markdown")
    assert "| `xc_foo` | `src/main.c:" in out and "| helper |  | address |" in out


def test_cli_without_and_features(project, capsys, tmp_path):
    feats = write(tmp_path / "features.toml", '[features]\nmain-program = ["src/main.c"]\n')
    rc, out, err = run_cli(capsys, "--source", str(project), "--symbol",
                           ",".join(TARGETS), "--features", str(feats), "--without-feature",
                           "main-program", "-f", "json")
    assert rc == 0, err
    imp = json.loads(out)["impact"]
    assert imp["features"] == ["main-program"] and imp["without"] == ["src/main.c"]
    assert imp["remaining"] == []
    assert "xc_physdev_map_pirq" in imp["unreferenced"]  # only in an unused wrapper
    rc, out, _ = run_cli(capsys, "--source", str(project), "--symbol", "xc_foo",
                         "--without", "src/*")
    assert "Without src/*:" in out and "disappear (1):" in out
    rc, _, err = run_cli(capsys, "--source", str(project), "--symbol", "xc_foo",
                         "--features", str(feats), "--without-feature", "nope")
    assert rc == 2 and "nope" in err and "main-program" in err


def test_cli_symbols_from_files(project, capsys, tmp_path):
    lst = write(tmp_path / "syms.txt", "# targets\nxc_foo\nxc_bar@XC_1.0\n\n")
    rc, out, err = run_cli(capsys, "--source", str(project), "--symbols-from", str(lst),
                           "-f", "json")
    assert rc == 0, err
    assert json.loads(out)["targets"] == ["xc_bar", "xc_foo"]
    from abiguard.jsonform import to_json
    from abiguard.model import Audit, Binding, Consumer, Stability, SymbolRef

    audit = Audit(consumers=(Consumer(path="/usr/bin/prog", kind="DYN", machine="x86_64",
                                      bindings=(
        Binding(symbol=SymbolRef("xc_domain_shutdown"), provider="libxenctrl.so.4.17",
                stability=Stability.UNSTABLE),
        Binding(symbol=SymbolRef("puts"), provider="libc.so.6", stability=Stability.STABLE))),))
    aj = write(tmp_path / "scan.json", to_json(audit))
    rc, out, err = run_cli(capsys, "--source", str(project), "--symbols-from", str(aj),
                           "-f", "json")
    assert rc == 0, err
    data = json.loads(out)
    assert data["targets"] == ["xc_domain_shutdown"]
    assert data["remedies"][0]["library"] == "libxenctrl.so.4.17"
    bad = write(tmp_path / "bad.json", '{"schema": 999}')
    rc, _, err = run_cli(capsys, "--source", str(project), "--symbols-from", str(bad))
    assert rc == 2 and "bad.json" in err and err.count("\n") == 1


def test_cli_headers_as_targets(project, capsys):
    rc, out, err = run_cli(capsys, "--source", str(project / "src"), "--headers",
                           str(project / "include" / "xenctrl.h"), "-f", "json")
    assert rc == 0, err
    data = json.loads(out)
    assert "xc_physdev_map_pirq" in data["targets"]
    assert "xc_inline_helper" not in data["targets"] and "xc_hook" not in data["targets"]


@pytest.mark.parametrize("argv, message", [
    (["--source", "/nonexistent/dir", "--symbol", "x"], "/nonexistent/dir"),
    (["--source", ".", "--symbol", "x", "-D", "1BAD"], "-D '1BAD'"),
    (["--source", ".", "--symbol", "x", "--config-header", "/nonexistent/config.h"],
     "/nonexistent/config.h"),
    (["--source", ".", "--symbol", "x", "--features", "/nonexistent/f.toml",
      "--without-feature", "a"], "/nonexistent/f.toml"),
    (["--symbol", "x"], "nothing to search"),
    (["--source", "."], "no target symbols"),
    (["--source", ".", "--source-package", "qemu", "--symbol", "x"], "not both"),
])
def test_cli_usage_errors_one_line(capsys, argv, message):
    rc, out, err = run_cli(capsys, *argv)
    assert rc == 2
    assert message in err and err.count("\n") == 1 and out == ""


def test_cli_objects_and_binaries(tmp_path, capsys):
    """The same small project seen from its sources, objects and linked binary."""
    assert HAVE_GCC, "gcc not available (scripts/setup-debian.sh installs it)"
    from helpers.xcproject import LINE_HELPER_A, LINE_MAIN_A, LINE_MAIN_C, build_project

    d = build_project(tmp_path)
    rc, out, err = run_cli(capsys, "--source", str(d), "--symbol", "xc_a,xc_b,xc_c",
                           "--objects", str(d / "main.o"), str(d / "util.o"),
                           str(d / "libstuff.a"), "-f", "json")
    assert rc == 0, err
    sites = json.loads(out)["callsites"]
    src = {(s["symbol"], s["file"], s["line"], s["function"]) for s in sites
           if s["method"] == "source" and s["file"] == "main.c"}
    assert src == {("xc_a", "main.c", LINE_HELPER_A, "helper"),
                   ("xc_a", "main.c", LINE_MAIN_A, "main"),
                   ("xc_c", "main.c", LINE_MAIN_C, "main")}
    util = {(s["symbol"], s["function"]) for s in sites
            if s["method"] == "source" and s["file"] == "util.c"}
    assert util == {("xc_c", None), ("xc_a", "util_fn"), ("xc_b", "wrap_b")}
    assert any(s["method"] == "object" for s in sites)


def test_without_sources_ignores_binary_sites(tmp_path, capsys):
    """The linked program holds every symbol; --without is answered from the sources."""
    from helpers.xcproject import build_project

    d = build_project(tmp_path)
    (d / "libxc.so.1").symlink_to("libxc.so")  # the soname prog needs
    rc, out, err = run_cli(capsys, str(d / "prog"), "--lib-path", str(d), "--policy",
                           str(_unstable_xc_policy(tmp_path)), "--source", str(d),
                           "--without", "util.c", "--without", "lib.c", "-f", "json")
    assert rc == 0, err
    data = json.loads(out)
    assert {s["method"] for s in data["callsites"]} == {"source", "binary"}
    impact = data["impact"]
    # main.c keeps xc_a and xc_c; xc_b is only in util.c and lib.c
    assert (impact["remaining"], impact["disappearing"]) == (["xc_a", "xc_c"], ["xc_b"])


def _unstable_xc_policy(tmp_path):
    p = tmp_path / "xc-policy.toml"
    p.write_text('schema = 1\n[[library]]\nmatch = "libxc.so*"\nstability = "unstable"\n'
                 'reason = "test"\n')
    return p


# --------------------------------------------------------------------------------------------
# apt source helper (no network)
# --------------------------------------------------------------------------------------------


def test_deb_src_entries_from_system_sources(tmp_path):
    deb822 = textwrap.dedent("""\
        Types: deb
        # a comment
        URIs: http://mirror.invalid/debian
        Suites: bookworm bookworm-updates
        Components: main
        Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

        Types: deb
        URIs: http://mirror.invalid/other
        Suites: x
        Components: main
        Enabled: no
        """)
    out = sourceslist.entries_from_deb822(deb822)
    assert out == [("Types: deb-src\nURIs: http://mirror.invalid/debian\nSuites: bookworm "
                   "bookworm-updates\nComponents: main\nSigned-By: "
                   "/usr/share/keyrings/debian-archive-keyring.gpg")]
    one = sourceslist.entries_from_one_line(
        "deb [arch=amd64 signed-by=/k.gpg] http://mirror.invalid/debian bookworm main contrib\n"
        "# deb http://commented.invalid x y\n")
    assert one == [("Types: deb-src\nURIs: http://mirror.invalid/debian\nSuites: bookworm\n"
                   "Components: main contrib\nSigned-By: /k.gpg")]
    d = tmp_path / "sources.list.d"
    write(d / "debian.sources", deb822)
    got = sourceslist.machine_entries("deb-src", tmp_path / "sources.list", d)
    assert got == out


def test_source_package_name_checked(tmp_path):
    with pytest.raises(srcpkg.SourcePackageError, match="not a Debian source package"):
        srcpkg.fetch_source_package("../etc", tmp_path)
    # an extraction is kept per name and version: the version is chosen before the cache
    cached = tmp_path / "source" / "demo_1%3a1.0-1" / "src"
    cached.mkdir(parents=True)
    (cached.parent / ".unpacked").write_text("demo 1:1.0-1\n")
    assert srcpkg.fetch_source_package("demo=1:1.0-1", tmp_path) == cached


def test_cpp_sources(tmp_path):
    """C++ files: references are found with either grammar; with tree-sitter-cpp installed
    (optional) the enclosing methods are named too."""
    src = write(tmp_path / "dev.cpp", """\
        extern "C" int xc_foo(int);
        namespace ns {
        class Dev {
        public:
            int open() { return xc_foo(1); }
        };
        int Other::close() { auto f = &xc_foo; return f(1); }
        }
        int g() { return ::xc_foo(3); }
        """)
    if HAVE_GCC and shutil.which("g++"):
        subprocess.run(["g++", "-fsyntax-only", "-xc++", "-"], input="int xc_foo(int);\n"
                       "int g() { return ::xc_foo(3); }\n", text=True, check=True)
    scan = scan_sources(tmp_path, ["xc_foo"])
    got = [(s.line, s.kind) for s in scan.callsites]
    assert got == [(5, "call"), (7, "address"), (9, "call")]
    assert src.name == scan.callsites[0].file
    try:
        import tree_sitter_cpp  # noqa: F401
    except ImportError:
        return
    assert [s.function for s in scan.callsites] == ["open", "Other::close", "g"]
    assert scan.parse_error_files == ()


def test_cli_binary_input_sites(tmp_path, capsys, fixture_policy):
    """A positional ELF binary: its call sites come from abiguard.callsites.binary."""
    assert HAVE_GCC, "gcc not available (scripts/setup-debian.sh installs it)"
    from helpers.xcproject import build_project

    d = build_project(tmp_path)
    rc, out, err = run_cli(capsys, str(d / "prog"), "--lib-path", str(d), "--symbol",
                           "xc_a,xc_b,xc_c", "--source", str(d), "-f", "json")
    assert rc == 0, err
    sites = json.loads(out)["callsites"]
    methods = [s["method"] for s in sites if s["symbol"] == "xc_a"]
    assert methods[:3] == ["source"] * 3 and "binary" in methods
    assert {s["function"] for s in sites if s["method"] == "binary" and s["symbol"] == "xc_a"} \
        >= {"main", "helper"}


def test_cli_where_result_feeds_symbols_from(project, capsys, tmp_path):
    rc, out, _ = run_cli(capsys, "--source", str(project), "--symbol", "xc_foo,xc_bar",
                         "-f", "json", "-q")
    saved = write(tmp_path / "where.json", out)
    rc, out, err = run_cli(capsys, "--source", str(project), "--symbols-from", str(saved),
                           "-f", "json", "-q")
    assert rc == 0, err
    assert json.loads(out)["targets"] == ["xc_bar", "xc_foo"]
