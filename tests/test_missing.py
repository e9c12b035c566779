"""Libraries that are not found never pass silently (issue #13, point 5).

A gcc-built program links a release-versioned (unstable) library, a stable versioned one, a
library with a PRIVATE node and two unversioned ones, through RUNPATH $ORIGIN/lib. Installed
without some of them, every import from a missing library is attributed to it and takes the
class of its name; the oracles are readelf (the version requirement names the library: what
the attribution of a versioned import reads), ld.so's trace mode (which libraries are not
found) and ld.so's own bindings with every library present (LD_DEBUG=bindings: where each
import really goes, what the unversioned attribution presumes).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from abiguard.cli import main
from abiguard.compare import LibraryInfo, LibrarySet, consumer_impact, diff_audits
from abiguard.jsonform import audit_from_json, to_json
from abiguard.missing import PREFIX, missing_libraries
from abiguard.model import Binding, Consumer, Library, Stability, SymbolRef
from abiguard.pipeline import ScanOptions, plan_paths, scan_paths
from helpers.cfixtures import program, shared_lib

U, S, P, UNK = Stability.UNSTABLE, Stability.STABLE, Stability.PRIVATE, Stability.UNKNOWN
# The fixtures' made-up libraries are declared (a soname's shape alone decides nothing).
pytestmark = pytest.mark.usefixtures("fixture_policy")
LD_SO = "/lib64/ld-linux-x86-64.so.2"
REMEDY = ("--with-deps", "--sysroot", "--lib-path")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("missing") / "full"
    lib = d / "lib"
    shared_lib(lib, "libunst.so.4.17", "int unst_open(void) { return 1; }\n"
               "int unst_close(void) { return 2; }",
               version_script="VERS_4.17.0 { global: unst_*; local: *; };")
    shared_lib(lib, "libstab.so.1", "int stab_fn(void) { return 3; }",
               version_script="STAB_1.0 { global: stab_fn; local: *; };")
    shared_lib(lib, "libpriv.so.2", "int priv_pub(void) { return 4; }\n"
               "int priv_internal(void) { return 5; }",
               version_script="PRIV_2.0 { global: priv_pub; local: *; };\n"
                              "PRIV_PRIVATE { global: priv_internal; } PRIV_2.0;")
    shared_lib(lib, "libplain.so.0", "int plain_fn(void) { return 6; }")
    shared_lib(lib, "libplaintoo.so.3", "int plaintoo_fn(void) { return 7; }")
    # unversioned, but a release in its soname: unstable by its name alone
    shared_lib(lib, "libnover.so.2.5", "int nover_fn(void) { return 8; }")
    program(d, "app", """
        int unst_open(void); int unst_close(void); int stab_fn(void); int priv_pub(void);
        int priv_internal(void); int plain_fn(void); int plaintoo_fn(void);
        int nover_fn(void);
        extern int weak_missing(void) __attribute__((weak));
        int main(void) {
            int r = unst_open() + unst_close() + stab_fn() + priv_pub() + priv_internal()
                  + plain_fn() + plaintoo_fn() + nover_fn();
            if (weak_missing) r += weak_missing();
            return r & 1;
        }
    """, link=(f"-L{lib}", "-lunst", "-lstab", "-lpriv", "-lplain", "-lplaintoo", "-lnover",
               "-Wl,-rpath,$ORIGIN/lib", "-Wl,--enable-new-dtags", "-Wl,--no-as-needed"))
    # Two programs with nothing unstable but what their missing libraries would give.
    program(d, "unstonly", "int unst_open(void); int stab_fn(void);"
            "int main(void) { return unst_open() + stab_fn(); }",
            link=(f"-L{lib}", "-lunst", "-lstab", "-Wl,-rpath,$ORIGIN/lib"))
    program(d, "plainonly", "int plain_fn(void); int plaintoo_fn(void); int stab_fn(void);"
            "int main(void) { return plain_fn() + plaintoo_fn() + stab_fn(); }",
            link=(f"-L{lib}", "-lplain", "-lplaintoo", "-lstab", "-Wl,-rpath,$ORIGIN/lib"))
    return d


def install(built: Path, dest: Path, without: tuple[str, ...], prog: str = "app") -> Path:
    """The program with its libraries but ``without`` some: returns the program's path."""
    (dest / "lib").mkdir(parents=True)
    for f in (built / "lib").glob("*.so.*"):
        if f.name not in without:
            shutil.copy(f, dest / "lib" / f.name)
    shutil.copy(built / prog, dest / prog)
    return dest / prog


def bindings(audit) -> dict[str, Binding]:
    (c,) = audit.consumers
    return {b.symbol.name: b for b in c.bindings}


def readelf_version_files(app: Path) -> dict[str, str]:
    """symbol -> the library its version is required from, as readelf shows them."""
    v = subprocess.run(["readelf", "-V", "-W", str(app)], capture_output=True, text=True,
                       check=True).stdout
    files: dict[str, str] = {}
    current = None
    for line in v.splitlines():
        m = re.search(r"File: (\S+)", line)
        if m:
            current = m.group(1)
        m = re.search(r"Name: (\S+)\s+Flags: \S+\s+Version: (\d+)", line)
        if m and current:
            files[m.group(2)] = current
    syms = subprocess.run(["readelf", "--dyn-syms", "-W", str(app)], capture_output=True,
                          text=True, check=True).stdout
    out = {}
    for line in syms.splitlines():
        m = re.search(r"UND (\w+)@\S+ \((\d+)\)", line)
        if m:
            out[m.group(1)] = files[m.group(2)]
    return out


def ld_not_found(app: Path) -> set[str]:
    """The libraries ld.so's trace mode (what ldd runs: the program is not) reports not
    found."""
    res = subprocess.run([LD_SO, str(app)], capture_output=True, text=True, check=False,
                         env=dict(os.environ, LD_TRACE_LOADED_OBJECTS="1"))
    return {m.group(1) for m in re.finditer(r"^\s*(\S+) => not found", res.stdout,
                                            re.MULTILINE)}


def ld_bindings(app: Path) -> dict[str, str]:
    """symbol -> the file name of the library ld.so binds it to (every library present)."""
    env = dict(os.environ, LD_DEBUG="bindings", LD_BIND_NOW="1")
    res = subprocess.run([str(app)], capture_output=True, text=True, env=env, check=False)
    out = {}
    for m in re.finditer(r"binding file (\S+) \[\d+\] to (\S+) \[\d+\]: normal symbol `(\w+)'",
                         res.stderr):
        if m.group(1) == str(app):
            out[m.group(3)] = os.path.basename(m.group(2))
    return out


# --------------------------------------------------------------------------------------------
# The resolver: attribution and class
# --------------------------------------------------------------------------------------------


def test_versioned_imports_take_the_class_of_their_missing_library(built, tmp_path):
    full = bindings(scan_paths([str(built / "app")]))
    app = install(built, tmp_path, ("libunst.so.4.17", "libpriv.so.2"))
    audit = scan_paths([str(app)])
    (c,) = audit.consumers
    assert set(c.missing_libraries) == ld_not_found(app) == {"libunst.so.4.17", "libpriv.so.2"}
    b = bindings(audit)
    files = readelf_version_files(app)
    for name in ("unst_open", "unst_close", "priv_pub", "priv_internal"):
        assert b[name].status == "unresolved"
        assert b[name].provider == files[name] == full[name].provider
        assert b[name].stability == full[name].stability
        assert b[name].evidence[0].source == "unresolved"
        assert "library not found" in b[name].evidence[0].detail
    assert (b["unst_open"].stability, b["priv_internal"].stability, b["priv_pub"].stability) \
        == (U, P, S)
    assert [x.symbol.name for x in c.findings] == ["nover_fn"]  # its library is there
    assert {x.symbol.name for x in c.presumed} == {"unst_open", "unst_close", "priv_internal"}
    assert b["stab_fn"].status == "bound"  # found libraries bind as before


def test_unversioned_imports_only_to_the_one_unversioned_missing_library(built, tmp_path):
    app = install(built, tmp_path / "one", ("libplain.so.0", "libunst.so.4.17"))
    b = bindings(scan_paths([str(app)]))
    # ld.so, with every library there, binds plain_fn to libplain.so.0: what is presumed.
    assert ld_bindings(built / "app")["plain_fn"] == "libplain.so.0"
    assert (b["plain_fn"].status, b["plain_fn"].provider) == ("unresolved", "libplain.so.0")
    assert b["plain_fn"].stability == S
    assert "presumed" in b["plain_fn"].evidence[0].detail
    assert b["unst_open"].provider == "libunst.so.4.17"  # versioned: named by its node
    assert b["weak_missing"].provider is None and b["weak_missing"].stability == UNK
    # An unversioned library with a release in its name: unstable by the name.
    app1 = install(built, tmp_path / "nover", ("libnover.so.2.5",))
    b1 = bindings(scan_paths([str(app1)]))
    assert ld_bindings(built / "app")["nover_fn"] == "libnover.so.2.5"
    assert (b1["nover_fn"].provider, b1["nover_fn"].stability) == ("libnover.so.2.5", U)
    # Two unversioned libraries missing: which one an import came from is unknown.
    app2 = install(built, tmp_path / "two", ("libplain.so.0", "libplaintoo.so.3"))
    audit = scan_paths([str(app2)])
    b2 = bindings(audit)
    assert {n: (b2[n].provider, b2[n].stability) for n in ("plain_fn", "plaintoo_fn")} == {
        "plain_fn": (None, UNK), "plaintoo_fn": (None, UNK)}
    m = missing_libraries(audit.consumers)
    assert m is not None and (m.unresolved, m.presumed, m.unclassified) == (2, 0, 2)


# --------------------------------------------------------------------------------------------
# scan: --fail-on, the one line, text/Markdown/JSON
# --------------------------------------------------------------------------------------------


def test_scan_fail_on_counts_imports_of_a_missing_unstable_library(built, tmp_path, capsys):
    app = str(install(built, tmp_path, ("libunst.so.4.17",), "unstonly"))
    assert main(["scan", "--fail-on", "unstable", str(built / "unstonly")]) == 1
    assert main(["scan", app]) == 0
    out = capsys.readouterr().out
    lines = [ln for ln in out.splitlines() if PREFIX in ln]
    assert len(lines) == 1 and lines[0].startswith("warning: libraries not found: "
                                                   "libunst.so.4.17 (1)")
    joined = " ".join(out.split())
    assert all(r in joined for r in REMEDY)
    assert "1 classified unstable/private from the library's name only" in joined
    assert "unstable (not found)" in out
    # Before: "0 unstable ... 2 unresolved" and exit 0. Now the policy's class counts.
    assert main(["scan", "--fail-on", "unstable", app]) == 1
    err = capsys.readouterr().err
    assert "libraries not found: libunst.so.4.17" in err and all(r in err for r in REMEDY)
    assert main(["scan", "--fail-on", "private", app]) == 0
    capsys.readouterr()
    assert main(["scan", "-f", "json", app]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["notes"][0].startswith(PREFIX + "libunst.so.4.17")
    xs = [b for b in audit_from_json(json.dumps(data)).consumers[0].bindings
          if b.provider == "libunst.so.4.17"]
    assert {(b.status, b.stability) for b in xs} == {("unresolved", "unstable")}
    assert main(["scan", "-f", "markdown", app]) == 0
    md = capsys.readouterr().out
    assert md.count("> **Warning:** libraries not found: libunst.so.4.17") == 1
    assert "| `unst_open` | VERS_4.17.0 | libunst.so.4.17 | unstable (not found) |" in md


def test_scan_fail_on_cannot_be_checked_when_imports_are_unclassified(built, tmp_path,
                                                                      capsys):
    app = str(install(built, tmp_path, ("libplain.so.0", "libplaintoo.so.3"), "plainonly"))
    assert main(["scan", app]) == 0
    capsys.readouterr()
    for what in ("unstable", "private"):
        assert main(["scan", "--fail-on", what, app]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "cannot be checked, 2 import(s) not classified" in err
        assert "libraries not found: libplain.so.0, libplaintoo.so.3 (2)" in err
        assert all(r in err for r in REMEDY)
    # Everything found: no line, the exit codes as before.
    assert main(["scan", "--fail-on", "private", str(built / "app")]) == 1
    assert PREFIX not in capsys.readouterr().out


# --------------------------------------------------------------------------------------------
# where, plan, diff, impact
# --------------------------------------------------------------------------------------------


def where_json(args: list[str], capsys) -> tuple[int, dict | None, str]:
    rc = main(["where", "-f", "json", *args])
    cap = capsys.readouterr()
    return rc, json.loads(cap.out) if cap.out.strip() else None, cap.err


def test_where_binary_uses_what_the_policy_knows(built, tmp_path, capsys):
    app = str(install(built, tmp_path / "a", ("libunst.so.4.17", "libpriv.so.2")))
    rc, full, _ = where_json([str(built / "app")], capsys)
    assert rc == 0 and full["targets"] == ["nover_fn", "priv_internal", "unst_close",
                                           "unst_open"]
    rc, data, err = where_json([app], capsys)
    assert rc == 0 and data["targets"] == full["targets"]
    assert sorted((s["symbol"], s["kind"]) for s in data["callsites"]) == \
        sorted((s["symbol"], s["kind"]) for s in full["callsites"])
    assert len(data["callsites"]) == 4
    assert "libraries not found: libunst.so.4.17, libpriv.so.2" in err
    # Imports that cannot be classified: the targets would be incomplete. Stop.
    app2 = str(install(built, tmp_path / "b", ("libplain.so.0", "libplaintoo.so.3")))
    rc, data, err = where_json([app2], capsys)
    assert rc == 2 and data is None
    assert err.count("\n") == 1 and "target symbols of the BINARY inputs are incomplete" in err
    assert all(r in err for r in REMEDY)


def test_where_binary_without_targets_searches_nothing(built, tmp_path, capsys):
    """Not every import: a binary without unstable imports has no target (before: every
    import of the binary was searched, "0 target symbol(s), 823 referenced")."""
    app = str(install(built, tmp_path, ("libplain.so.0",)))
    only_stable = program(tmp_path, "stable", "int stab_fn(void); int main(void) "
                          "{ return stab_fn(); }", link=(f"-L{built / 'lib'}", "-lstab",
                                                         f"-Wl,-rpath,{built / 'lib'}"))
    rc, data, _ = where_json([str(only_stable)], capsys)
    assert rc == 0 and data["targets"] == [] and data["callsites"] == []
    rc, data, _ = where_json([app], capsys)  # only libplain (stable by its name) missing
    assert rc == 0 and data["targets"] == ["nover_fn", "priv_internal", "unst_close",
                                           "unst_open"]


def test_plan_of_a_consumer_with_missing_libraries(built, tmp_path, capsys):
    app = str(install(built, tmp_path / "a", ("libunst.so.4.17",)))
    plan = plan_paths([app])
    (cp,) = plan.plans
    items = {i.symbol.name: i for s in cp.steps for i in s.items}
    assert set(items) == {"unst_open", "unst_close", "priv_internal", "nover_fn"}
    assert items["unst_open"].library == "libunst.so.4.17"
    assert items["unst_open"].symbol.version == "VERS_4.17.0"
    assert any("library not found" in e.detail for e in items["unst_open"].evidence)
    # Only stable (by name) libraries missing, and nothing else unstable: not "nothing to do".
    lone = program(tmp_path, "lone", "int plain_fn(void); int main(void) { return plain_fn(); }",
                   link=(f"-L{built / 'lib'}", "-lplain"))
    assert main(["plan", str(lone)]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "nothing to do" not in out
    assert "no unstable or private imports found, but 1 of its libraries were not found" in out
    assert "warning: libraries not found: libplain.so.0 (1)" in out


def test_diff_full_against_missing_libraries_changes_nothing(built, tmp_path, capsys):
    full = scan_paths([str(built / "app")])
    app = install(built, tmp_path / "a", ("libunst.so.4.17", "libpriv.so.2"))
    missing = scan_paths([str(app)])
    d = diff_audits(full, missing)
    assert d.totals()["added"] == d.totals()["removed"] == 0
    assert d.totals()["unchanged"] == 4
    assert d.notes[0].startswith(PREFIX)
    # Unclassified on one side (two unversioned libraries missing): a symbol still imported
    # is neither removed nor added.
    app2 = install(built, tmp_path / "b", ("libnover.so.2.5", "libplain.so.0"))
    gone = scan_paths([str(app2)])
    assert bindings(gone)["nover_fn"].stability == UNK
    for d2 in (diff_audits(full, gone), diff_audits(gone, full)):
        assert d2.totals()["removed"] == d2.totals()["added"] == 0
        (cd,) = d2.consumers
        assert next(x.detail for x in cd.unchanged if x.name == "nover_fn").startswith(
            ("still imported, unresolved in new", "imported before too, unresolved in old"))
    tf = tmp_path / "full.json"
    tf.write_text(to_json(full))
    assert main(["diff", str(tf), str(app)]) == 0
    out = capsys.readouterr().out
    assert "+0 added, -0 removed" in out and "warning: libraries not found:" in out


def test_impact_does_not_claim_not_affected_when_imports_are_unclassified():
    lib = LibraryInfo("libunst.so.4.17", "/usr/lib/libunst.so.4.17", {"unst_open": ("V",)})
    old = new = LibrarySet("x", (lib,))
    gone = Binding(SymbolRef("f"), status="unresolved", reason="symbol missing; libraries "
                   "not found: libfoo.so, libbar.so")
    c = Consumer("/bin/p", "EXEC", "x86_64", bindings=(gone,),
                 libraries=(Library("libfoo.so", None), Library("libbar.so", None)))
    r = consumer_impact(c, old, new)
    assert r.verdict == "unknown" and "libraries not found: libfoo.so, libbar.so" in r.reasons[0]
    presumed = Binding(SymbolRef("unst_open", "V"), status="unresolved",
                       provider="libunst.so.4.17", stability=U)
    c2 = Consumer("/bin/p", "EXEC", "x86_64", bindings=(presumed,),
                  libraries=(Library("libunst.so.4.17", None),))
    r2 = consumer_impact(c2, old, new)
    assert r2.verdict == "runs-as-is" and [s.name for s in r2.symbols] == ["unst_open"]
    plain = Consumer("/bin/p", "EXEC", "x86_64")
    assert consumer_impact(plain, old, new).verdict == "not-affected"


def test_scan_options_unchanged_for_found_libraries(built):
    """Everything found: nothing attributed, no line (the path every other test takes)."""
    audit = scan_paths([str(built / "app")], ScanOptions())
    assert not any(PREFIX in n for n in audit.notes)
    (c,) = audit.consumers
    assert c.missing_libraries == () and c.presumed == ()
    assert all(b.provider is None for b in c.bindings if b.status != "bound")
