"""The diff logic on hand-built audits: version-node renames, moved and replaced symbols,
added/removed, consumer matching, trend, the diff command on saved results; the header
prototype parser; the SVG charts."""

from __future__ import annotations

import json
import xml.dom.minidom
from pathlib import Path

import pytest

from abiguard.cli import main
from abiguard.compare import (
    diff_audits,
    diff_consumers,
    knowledge_replacements,
    match_consumers,
    trend,
)
from abiguard.jsonform import to_json
from abiguard.model import SCHEMA_VERSION, Audit, Binding, Consumer, Stability, SymbolRef
from abiguard.render import render

U, S, P = Stability.UNSTABLE, Stability.STABLE, Stability.PRIVATE


def bind(name: str, lib: str | None, node: str | None = None, stab: Stability = U,
         status: str = "bound") -> Binding:
    return Binding(SymbolRef(name, node), type="FUNC", status=status, provider=lib,
                   provider_path=f"/usr/lib/{lib}" if lib else None, provided_version=node,
                   stability=stab)


def cons(path: str, *bindings: Binding, soname: str | None = None,
         package: str | None = None) -> Consumer:
    return Consumer(path=path, kind="EXEC", machine="x86_64", soname=soname, package=package,
                    bindings=bindings)


QEMU = "/usr/libexec/xen-qemu-system-i386"
OLD_XC = ("libxenctrl.so.4.17", "VERS_4.17.0")


def old_qemu(*extra: Binding) -> Consumer:
    return cons(QEMU, bind("xc_interface_open", *OLD_XC), bind("xc_domain_shutdown", *OLD_XC),
                bind("xc_set_hvm_param", *OLD_XC),
                bind("xendevicemodel_shutdown", "libxendevicemodel.so.1", "VERS_1.1", S),
                bind("malloc", "libc.so.6", "GLIBC_2.2.5", S), *extra,
                package="qemu-system-xen 1:7.2 amd64")


# --------------------------------------------------------------------------------------------
# Symbols
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize("new_node", ["libxenctrl_4.20.0", "VERS_4.20.0"])
def test_version_node_rename_is_unchanged_not_remove_add(new_node: str) -> None:
    new = cons(QEMU, bind("xc_interface_open", "libxenctrl.so.4.20", new_node),
               bind("xc_domain_shutdown", "libxenctrl.so.4.20", new_node),
               bind("xc_set_hvm_param", "libxenctrl.so.4.20", new_node))
    d = diff_consumers(old_qemu(), new, "path")
    assert not d.added and not d.removed and not d.moved
    assert [x.name for x in d.unchanged] == ["xc_domain_shutdown", "xc_interface_open",
                                             "xc_set_hvm_param"]
    for x in d.unchanged:
        assert x.change == "renamed-node"
        assert (x.old_library, x.new_library) == ("libxenctrl.so.4.17", "libxenctrl.so.4.20")
        assert (x.old_version, x.new_version) == ("VERS_4.17.0", new_node)
        assert x.family == "libxenctrl"
        assert f"version node VERS_4.17.0 -> {new_node}" in x.detail
    assert len(d.renamed) == 3


def test_same_node_same_library_is_plain_unchanged() -> None:
    d = diff_consumers(old_qemu(), old_qemu(), "path")
    assert {x.change for x in d.unchanged} == {"unchanged"}
    assert not d.changed and d.old_count == d.new_count == 3


def test_unversioned_release_change_is_unchanged() -> None:
    old = cons("/bin/a", bind("f", "libfoo.so.1.2"))
    new = cons("/bin/a", bind("f", "libfoo.so.1.3"))
    (x,) = diff_consumers(old, new, "path").unchanged
    assert x.change == "unchanged" and x.detail == "library libfoo.so.1.2 -> libfoo.so.1.3"


def test_added_and_removed() -> None:
    new = cons(QEMU, bind("xc_interface_open", "libxenctrl.so.4.20", "libxenctrl_4.20.0"),
               bind("xc_domain_shutdown", "libxenctrl.so.4.20", "libxenctrl_4.20.0"),
               bind("xc_pcidev_get_gsi", "libxenctrl.so.4.20", "libxenctrl_4.20.0"),
               bind("__libc_private", "libc.so.6", "GLIBC_PRIVATE", P))
    d = diff_consumers(old_qemu(), new, "path")
    assert [(x.name, x.change, x.new_library, x.new_version, x.new_stability)
            for x in d.added] == [
        ("__libc_private", "added", "libc.so.6", "GLIBC_PRIVATE", P),
        ("xc_pcidev_get_gsi", "added", "libxenctrl.so.4.20", "libxenctrl_4.20.0", U)]
    assert [(x.name, x.old_library, x.old_version, x.detail) for x in d.removed] == [
        ("xc_set_hvm_param", "libxenctrl.so.4.17", "VERS_4.17.0", "no longer imported")]
    assert {x.name for x in d.unchanged} == {"xc_interface_open", "xc_domain_shutdown"}


def test_symbol_now_provided_by_another_library_is_moved() -> None:
    new = cons(QEMU, bind("xc_interface_open", "libxenctrl.so.4.20", "libxenctrl_4.20.0"),
               bind("xc_domain_shutdown", "libxenctrl.so.4.20", "libxenctrl_4.20.0"),
               bind("xc_set_hvm_param", "libxenhvm.so.1", "HVM_1.0", S))
    d = diff_consumers(old_qemu(), new, "path")
    (m,) = d.moved
    assert (m.name, m.change, m.old_library, m.new_library, m.new_stability) == (
        "xc_set_hvm_param", "moved", "libxenctrl.so.4.17", "libxenhvm.so.1", S)
    assert m.replacement is None
    assert "now from another library, libxenhvm.so.1 (stable)" in m.detail
    assert not d.removed and not d.added


def test_symbol_moved_between_unstable_families() -> None:
    new = cons(QEMU, bind("xc_interface_open", "libxenguest.so.4.20", "libxenguest_4.20.0"))
    old = cons(QEMU, bind("xc_interface_open", *OLD_XC))
    (m,) = diff_consumers(old, new, "path").moved
    assert m.new_library == "libxenguest.so.4.20" and m.new_stability == U
    assert m.detail == "now from libxenguest.so.4.20 (unstable)"


def test_symbol_replaced_by_the_remedy_replacement_is_moved() -> None:
    # xc_domain_shutdown's remedy (built-in Xen knowledge) is xendevicemodel_shutdown.
    new = cons(QEMU, bind("xc_interface_open", "libxenctrl.so.4.20", "libxenctrl_4.20.0"),
               bind("xc_set_hvm_param", "libxenctrl.so.4.20", "libxenctrl_4.20.0"),
               bind("xendevicemodel_shutdown", "libxendevicemodel.so.1", "VERS_1.1", S))
    d = diff_consumers(old_qemu(), new, "path", knowledge_replacements())
    (m,) = d.moved
    assert (m.name, m.replacement, m.new_library, m.new_version) == (
        "xc_domain_shutdown", "xendevicemodel_shutdown", "libxendevicemodel.so.1", "VERS_1.1")
    assert m.detail == ("replaced by xendevicemodel_shutdown from libxendevicemodel.so.1 "
                        "(stable)")
    # Without a knowledge base it is simply removed.
    d2 = diff_consumers(old_qemu(), new, "path")
    assert [x.name for x in d2.removed] == ["xc_domain_shutdown"] and not d2.moved


def test_custom_replacement_lookup() -> None:
    old = cons("/bin/a", bind("old_api", "libu.so.2.1", "U_2.1"))
    new = cons("/bin/a", bind("new_api", "libs.so.1", "S_1", S))
    d = diff_consumers(old, new, "path", lambda s, lib: ("new_api",) if s == "old_api" else ())
    assert d.moved[0].replacement == "new_api"


def test_symbol_from_stable_to_unstable_is_added() -> None:
    old = cons("/bin/a", bind("f", "libs.so.1", "S_1", S))
    new = cons("/bin/a", bind("f", "libu.so.2.1", "U_2.1"))
    (a,) = diff_consumers(old, new, "path").added
    assert a.old_library == "libs.so.1" and a.detail == "was from libs.so.1 (stable)"


def test_unresolved_bindings_are_not_findings() -> None:
    old = cons("/bin/a", bind("f", None, None, Stability.UNKNOWN, status="unresolved"))
    new = cons("/bin/a", bind("f", "libu.so.2.1", "U_2.1"))
    d = diff_consumers(old, new, "path")
    assert [x.name for x in d.added] == ["f"] and d.added[0].detail == "newly imported"


def test_consumer_only_on_one_side() -> None:
    d = diff_consumers(None, old_qemu(), "only-new")
    assert len(d.added) == 3 and d.added[0].detail == "new consumer"
    d = diff_consumers(old_qemu(), None, "only-old")
    assert len(d.removed) == 3 and d.removed[0].detail == "consumer gone"


# --------------------------------------------------------------------------------------------
# Consumers
# --------------------------------------------------------------------------------------------


def test_match_consumers_by_path_suffix_basename_soname() -> None:
    old = [cons("/usr/bin/tool"), cons("/tmp/a/usr/lib/x/helper"), cons("/tmp/a/bin/prog"),
           cons("/opt/old/libthing.so.1.2", soname="libthing.so.1"), cons("/usr/bin/gone")]
    new = [cons("/usr/bin/tool"), cons("/tmp/b/usr/lib/x/helper"), cons("/build/prog"),
           cons("/opt/new/libthing-1.3.so", soname="libthing.so.1"), cons("/usr/bin/fresh")]
    got = {(o.path if o else None, n.path if n else None, how)
           for o, n, how in match_consumers(old, new)}
    assert got == {
        ("/usr/bin/tool", "/usr/bin/tool", "path"),
        ("/tmp/a/usr/lib/x/helper", "/tmp/b/usr/lib/x/helper", "suffix"),
        ("/tmp/a/bin/prog", "/build/prog", "basename"),
        ("/opt/old/libthing.so.1.2", "/opt/new/libthing-1.3.so", "soname"),
        ("/usr/bin/gone", None, "only-old"),
        (None, "/usr/bin/fresh", "only-new"),
    }


def test_ambiguous_basename_is_not_matched() -> None:
    old = [cons("/a/x/prog")]
    new = [cons("/b/y/prog"), cons("/c/z/prog")]
    hows = sorted(how for _, _, how in match_consumers(old, new))
    assert hows == ["only-new", "only-new", "only-old"]


def test_longest_suffix_wins_over_basename() -> None:
    old = [cons("/r1/usr/bin/prog"), cons("/r1/usr/sbin/prog")]
    new = [cons("/r2/usr/sbin/prog"), cons("/r2/usr/bin/prog")]
    pairs = {(o.path, n.path) for o, n, _ in match_consumers(old, new)}
    assert pairs == {("/r1/usr/bin/prog", "/r2/usr/bin/prog"),
                     ("/r1/usr/sbin/prog", "/r2/usr/sbin/prog")}


# --------------------------------------------------------------------------------------------
# Audits, JSON, command
# --------------------------------------------------------------------------------------------


def new_qemu() -> Consumer:
    n = "libxenctrl_4.20.0"
    return cons(QEMU, bind("xc_interface_open", "libxenctrl.so.4.20", n),
                bind("xc_domain_shutdown", "libxenctrl.so.4.20", n),
                bind("xc_set_hvm_param", "libxenctrl.so.4.20", n),
                bind("xc_pcidev_get_gsi", "libxenctrl.so.4.20", n),
                package="qemu-system-xen 1:10.0 amd64")


def test_diff_audits_labels_totals_and_plain_consumers_dropped() -> None:
    old = Audit(consumers=(old_qemu(), cons("/usr/bin/plain", bind("malloc", "libc.so.6",
                                                                     "GLIBC_2.2.5", S))))
    new = Audit(consumers=(new_qemu(), cons("/usr/bin/plain")))
    r = diff_audits(old, new)
    assert (r.old, r.new) == ("1:7.2", "1:10.0")
    assert [c.consumer for c in r.consumers] == [QEMU]
    assert r.totals() == {"added": 1, "removed": 0, "moved": 0, "unchanged": 3,
                          "renamed-node": 3, "resized": 0}
    assert len(diff_audits(old, new, only_problems=False).consumers) == 2
    data = json.loads(to_json(r))
    assert data["schema"] == SCHEMA_VERSION and data["kind"] == "diff"
    c = data["consumers"][0]
    assert [x["name"] for x in c["added"]] == ["xc_pcidev_get_gsi"]
    assert {x["change"] for x in c["unchanged"]} == {"renamed-node"}
    assert c["old_package"] == "qemu-system-xen 1:7.2 amd64"


@pytest.fixture()
def saved(tmp_path: Path) -> tuple[Path, Path]:
    a, b = tmp_path / "old.json", tmp_path / "new.json"
    a.write_text(to_json(Audit(consumers=(old_qemu(),), inputs=("old",))))
    b.write_text(to_json(Audit(consumers=(new_qemu(),), inputs=("new",))))
    return a, b


def test_diff_command_on_saved_results(saved, capsys) -> None:
    a, b = saved
    assert main(["diff", str(a), str(b)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "abiguard diff 1:7.2 -> 1:10.0" in out
    assert "+1 added, -0 removed, 0 moved, 3 unchanged (3 with a renamed version node)" in out
    assert "added xc_pcidev_get_gsi libxenctrl.so.4.20 libxenctrl_4.20.0 newly imported" in out
    assert ("unchanged, renamed node (3): libxenctrl.so.4.17 -> libxenctrl.so.4.20 @ "
            "VERS_4.17.0 -> libxenctrl_4.20.0") in out
    assert main(["diff", "--fail-on-new", str(a), str(b)]) == 1
    assert main(["diff", "--fail-on-new", str(b), str(a)]) == 0
    capsys.readouterr()
    assert main(["diff", "-f", "markdown", str(a), str(b)]) == 0
    md = capsys.readouterr().out
    assert md.startswith("# abiguard diff: 1:7.2 → 1:10.0")
    assert "| added | `xc_pcidev_get_gsi` | libxenctrl.so.4.20 | libxenctrl_4.20.0 |" in md
    assert main(["diff", "-f", "json", "--label", "A", "--label", "B", str(a), str(b)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert (data["kind"], data["old"], data["new"]) == ("diff", "A", "B")


def test_diff_command_errors(saved, tmp_path: Path, capsys) -> None:
    a, b = saved
    bad = tmp_path / "bad.json"
    bad.write_text('{"schema": 1, "consumers": [{"path": 3}]}')
    assert main(["diff", str(a), str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"abiguard: error: {bad}")
    assert "consumers[0].path: expected str, got int" in err
    bad.write_text('{"schema": 9}')
    assert main(["diff", str(a), str(bad)]) == 2
    assert "schema version 9 is not supported" in capsys.readouterr().err
    assert main(["diff", str(a)]) == 2
    assert "diff takes OLD and NEW" in capsys.readouterr().err
    assert main(["diff", "-f", "svg", str(a), str(b)]) == 2


def test_trend_counts_and_svg(saved, tmp_path: Path, capsys) -> None:
    a, b = saved
    c = tmp_path / "c.json"
    c.write_text(to_json(Audit(consumers=(cons(QEMU, bind(
        "xc_interface_open", "libxenctrl.so.4.21", "libxenctrl_4.21.0"),
        package="qemu-system-xen 1:11.0 amd64"),))))
    chart = tmp_path / "t.svg"
    assert main(["diff", "--trend", str(a), str(b), str(c), "--chart", str(chart)]) == 0
    out = capsys.readouterr().out
    assert "1:7.2" in out and "1:11.0" in out
    row = next(ln for ln in out.splitlines() if QEMU in ln).split()
    assert row[-3:] == ["3", "4", "1"]
    doc = xml.dom.minidom.parseString(chart.read_text())
    assert doc.documentElement.tagName == "svg"
    assert len(doc.getElementsByTagName("rect")) == 1 + 3  # background + 3 bars
    assert main(["diff", "--trend", "-f", "json", str(a), str(b), str(c)]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "trend" and data["labels"] == ["1:7.2", "1:10.0", "1:11.0"]
    assert data["rows"][0]["counts"] == [3, 4, 1]
    assert main(["diff", "--trend", "-f", "svg", str(a), str(b)]) == 0
    assert capsys.readouterr().out.startswith("<svg xmlns=")


def test_trend_consumer_appearing_later() -> None:
    a1 = Audit(consumers=(cons("/bin/a", bind("f", "libu.so.1.0")),))
    a2 = Audit(consumers=(cons("/bin/a", bind("f", "libu.so.1.1")),
                          cons("/bin/b", bind("g", "libu.so.1.1"), bind("h", "libu.so.1.1"))))
    t = trend([a1, a2], ["v1", "v2"])
    assert [(r.consumer, r.counts) for r in t.rows] == [("/bin/a", (1, 1)),
                                                         ("/bin/b", (None, 2))]
    xml.dom.minidom.parseString(render(t, "svg"))  # several series: a line chart


# --------------------------------------------------------------------------------------------
# Headers
# --------------------------------------------------------------------------------------------

OLD_H = """
#ifndef X_H
#define X_H
typedef struct xc_interface_core xc_interface;
xc_interface *xc_interface_open(void *logger, void *dlogger, unsigned open_flags);
int xc_same(xc_interface *xch, uint32_t domid);
int xc_renamed(xc_interface *xch, int bus);
int xc_retyped(xc_interface *xch, int value);
int xc_grows(xc_interface *xch, const void *buf, size_t len);
int xc_shrinks(xc_interface *xch, int a, int b);
int xc_returns(void);
int xc_gone(xc_interface *xch);
int xc_vararg(const char *fmt, ...);
unsigned long int xc_long(long int a, unsigned b);
#define xc_macro(x) xc_same(x, 0)
#ifdef __linux__
int xc_linux_only(int fd) __attribute__((deprecated));
#endif
static inline int xc_inline(int a) { return a; }
int (*not_a_function)(int);
#endif
"""

NEW_H = """
typedef struct xc_interface_core xc_interface;
xc_interface * xc_interface_open(void * logger, void *dombuild_logger,
                                 unsigned int open_flags);
extern int xc_same(xc_interface *xch,
                   uint32_t domid);
int xc_renamed(xc_interface *xch, int segbus);
int xc_retyped(xc_interface *xch, long value);
int xc_grows(xc_interface *xch, const void *buf, size_t len, unsigned int flags);
int xc_shrinks(xc_interface *xch, int a);
long xc_returns(void);
int xc_vararg(const char *fmt);
unsigned long xc_long(long a, unsigned int b);
int xc_macro(xc_interface *x);
int xc_linux_only(int fd);
int xc_inline(int a);
"""


@pytest.fixture(scope="module")
def protos():
    from abiguard.headers import parse_header_text

    return parse_header_text(OLD_H, "old/x.h"), parse_header_text(NEW_H, "new/x.h")


def test_header_declarations(protos) -> None:
    old, _ = protos
    p = old["xc_interface_open"]
    assert p.returns == "xc_interface *" and p.kind == "declaration"
    assert [(x.type, x.name) for x in p.params] == [("void *", "logger"), ("void *", "dlogger"),
                                                   ("unsigned", "open_flags")]
    assert str(p) == ("xc_interface *xc_interface_open(void *logger, void *dlogger, "
                      "unsigned open_flags)")
    assert (p.file, p.line) == ("old/x.h", 5)
    assert old["xc_vararg"].variadic and old["xc_returns"].params == ()
    assert old["xc_macro"].kind == "macro" and old["xc_inline"].kind == "inline"
    assert old["xc_linux_only"].condition == "#ifdef __linux__"
    assert "not_a_function" not in old and "X_H" in old  # object-like macro recorded


def test_prototype_changes(protos) -> None:
    from abiguard.headers import compare

    old, new = protos

    def ch(name):
        c = compare(old.get(name), new.get(name))
        return c.status, c.changes

    assert ch("xc_interface_open") == (
        "compatible", ("parameter 2 renamed: dlogger -> dombuild_logger",))
    assert ch("xc_same") == ("same", ())
    assert ch("xc_long") == ("same", ())  # unsigned long int == unsigned long
    assert ch("xc_renamed") == ("compatible", ("parameter 2 renamed: bus -> segbus",))
    assert ch("xc_retyped") == ("changed", ("parameter 2 (value) type changed: int -> long",))
    assert ch("xc_grows") == ("changed", ("parameter added: unsigned int flags (position 4)",))
    assert ch("xc_shrinks") == ("changed", ("parameter removed: int b (position 3)",))
    assert ch("xc_returns") == ("changed", ("return type changed: int -> long",))
    assert ch("xc_gone") == ("gone", ("no longer declared in the new headers",))
    assert ch("xc_vararg") == ("changed", ("no longer variadic",))
    assert ch("xc_macro")[0] == "compatible" and "now a function" in ch("xc_macro")[1][0]
    assert ch("xc_linux_only") == ("same", ())
    assert ch("xc_inline") == ("compatible", ("now a declaration in the header",))
    assert compare(None, new["xc_same"]).status == "unknown"
    c = compare(old["xc_grows"], new["xc_grows"])
    assert c.old_location == "old/x.h:9" and c.new_location == "new/x.h:9"


def test_parse_headers_directory(tmp_path: Path) -> None:
    from abiguard.headers import parse_headers

    (tmp_path / "sub").mkdir()
    (tmp_path / "a.h").write_text("int a(void);\n#define b(x) a()\n")
    (tmp_path / "sub" / "b.h").write_text("int b(int x);\n")
    (tmp_path / "c.c").write_text("int c(void);\n")
    got = parse_headers([tmp_path])
    assert set(got) == {"a", "b"}
    assert got["b"].kind == "declaration" and got["b"].file == "sub/b.h"  # beats the macro


# --------------------------------------------------------------------------------------------
# SVG
# --------------------------------------------------------------------------------------------


def test_svg_charts_are_standalone_and_escaped() -> None:
    from abiguard.render.svg import bar_chart, line_chart, nice_ticks

    svg = bar_chart(["a<b", "c&d"], {"x": [1, 16]}, title="t <&>", y_label="n")
    doc = xml.dom.minidom.parseString(svg)
    root = doc.documentElement
    assert root.getAttribute("xmlns") == "http://www.w3.org/2000/svg"
    assert root.getAttribute("viewBox").startswith("0 0 ")
    assert "<script" not in svg and "href" not in svg
    texts = [t.firstChild.data for t in doc.getElementsByTagName("text") if t.firstChild]
    assert "t <&>" in texts and "16" in texts
    svg2 = line_chart(["v1", "v2", "v3"], {"p": [3, None, 5], "q": [0, 1, 2]})
    doc2 = xml.dom.minidom.parseString(svg2)
    assert len(doc2.getElementsByTagName("circle")) == 5
    assert nice_ticks(18) == [0, 5, 10, 15, 20] and nice_ticks(3) == [0, 1, 2, 3]
    assert nice_ticks(0) == [0, 1]


# --------------------------------------------------------------------------------------------
# Another Debian suite (no network: only the derived configuration)
# --------------------------------------------------------------------------------------------


def lines(*parts: str) -> str:
    return "\n".join(parts)


def test_suite_entries_are_derived_from_the_machine_sources() -> None:
    from abiguard.debian.sourceslist import distribution_entries, retarget_suites
    from abiguard.debian.suites import suite_stanzas

    assert retarget_suites("bookworm bookworm-updates", "trixie") == "trixie trixie-updates"
    assert retarget_suites("bookworm-security", "trixie") == "trixie-security"
    assert retarget_suites("stable stable-updates", "trixie") == "trixie trixie-updates"
    assert retarget_suites("bookworm bookworm-updates trixie trixie-updates", "trixie") == \
        "trixie trixie-updates"
    machine = [
        lines("Types: deb", "URIs: http://mirror.invalid/debian",
              "Suites: bookworm bookworm-updates", "Components: main",
              "Signed-By: /usr/share/keyrings/k.gpg"),
        lines("Types: deb", "URIs: http://mirror.invalid/debian-security",
              "Suites: bookworm-security", "Components: main"),
    ]
    third_party = lines("Types: deb", "URIs: https://vendor.invalid/node_20.x",
                        "Suites: nodistro", "Components: main")
    # a vendor's suite has no counterpart in another release: left out
    assert distribution_entries([*machine, third_party], {"bookworm"}) == machine
    assert suite_stanzas("trixie", machine) == [
        lines("Types: deb", "URIs: http://mirror.invalid/debian",
              "Suites: trixie trixie-updates", "Components: main",
              "Signed-By: /usr/share/keyrings/k.gpg"),
        lines("Types: deb", "URIs: http://mirror.invalid/debian-security",
              "Suites: trixie-security", "Components: main"),
    ]


def test_package_suite_spelling(tmp_path: Path) -> None:
    from abiguard.debian.suites import SuiteError, split_spec, suite

    assert split_spec("qemu-system-xen/trixie") == ("qemu-system-xen", "trixie")
    assert split_spec("apt:libxen-dev=4.20.4-1/trixie") == ("libxen-dev=4.20.4-1", "trixie")
    assert split_spec("qemu-system-xen") == ("qemu-system-xen", None)
    d = tmp_path / "lib" / "trixie"
    d.mkdir(parents=True)
    assert split_spec(str(d)) == (str(d), None)  # an existing path is never a package
    with pytest.raises(SuiteError):
        suite("Trixie; rm")
