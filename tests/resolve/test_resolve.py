"""The resolver against gcc-built fixtures: search order, versions, classification."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from abiguard.cli import main
from abiguard.model import ElfSymbol, Stability
from abiguard.pipeline import ScanOptions, scan_paths
from abiguard.resolve import match
from helpers.cfixtures import program, shared_lib, write


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    """A program linking a stable versioned lib, a release-versioned (unstable) lib and an
    unversioned lib through RUNPATH $ORIGIN/lib."""
    d = tmp_path_factory.mktemp("world")
    lib = d / "app" / "lib"
    shared_lib(lib, "libstab.so.1", """
        int stab_old(void) { return 1; }
        int stab_new(void) { return 2; }
        int shared_name(void) { return 10; }
    """, version_script="""
        VERS_1.0 { global: stab_old; shared_name; local: *; };
        VERS_1.1 { global: stab_new; } VERS_1.0;
    """)
    shared_lib(lib, "libunst.so.4.17", """
        int unst_open(void) { return 3; }
        int unst_close(void) { return 4; }
        int shared_name(void) { return 20; }
    """, version_script="VERS_4.17.0 { global: unst_*; shared_name; local: *; };")
    shared_lib(lib, "libplain.so.0", "int plain_fn(void) { return 5; }")
    glibc_private = shared_lib(lib, "libpriv.so.2", """
        int priv_pub(void) { return 6; }
        int priv_internal(void) { return 7; }
    """, version_script="""
        PRIV_2.0 { global: priv_pub; local: *; };
        PRIV_PRIVATE { global: priv_internal; } PRIV_2.0;
    """)
    assert glibc_private.exists()
    app = program(d / "app", "app", """
        int stab_old(void); int stab_new(void); int unst_open(void); int unst_close(void);
        int plain_fn(void); int shared_name(void); int priv_pub(void); int priv_internal(void);
        extern int weak_missing(void) __attribute__((weak));
        int main(void) {
            int r = stab_old() + stab_new() + unst_open() + unst_close() + plain_fn()
                  + shared_name() + priv_pub() + priv_internal();
            if (weak_missing) r += weak_missing();
            return r;
        }
    """, link=(f"-L{lib}", "-lstab", "-lunst", "-lplain", "-lpriv",
               "-Wl,-rpath,$ORIGIN/lib", "-Wl,--enable-new-dtags"))
    return {"dir": d, "app": app, "lib": lib}


def bindings(audit, consumer=0):
    return {b.symbol.name: b for b in audit.consumers[consumer].bindings}


def test_classifies_versioned_release_and_plain_libraries(world):
    audit = scan_paths([str(world["app"])], ScanOptions(policies=[]))
    assert not audit.errors
    b = bindings(audit)
    assert b["stab_old"].provider == "libstab.so.1"
    assert b["stab_old"].provided_version == "VERS_1.0"
    assert b["stab_new"].provided_version == "VERS_1.1"
    assert b["stab_old"].stability == Stability.STABLE
    assert b["unst_open"].stability == Stability.UNSTABLE
    assert b["unst_open"].provided_version == "VERS_4.17.0"
    assert any(e.source == "version-node" and "VERS_4.17.0" in e.detail
               for e in b["unst_open"].evidence)
    # A plain soname major alone is a weak signal: it never decides (docs/policy.md).
    assert b["plain_fn"].stability == Stability.UNKNOWN
    assert b["plain_fn"].evidence[0].detail.startswith("only weak signals (soname: plain")
    assert b["priv_internal"].stability == Stability.PRIVATE
    assert b["priv_pub"].stability == Stability.STABLE
    # shared_name is imported with the version node of the library the static linker chose
    # (the first one on the link line: libstab); it must bind there.
    assert b["shared_name"].provider == "libstab.so.1"
    assert b["weak_missing"].status == "unresolved" and b["weak_missing"].weak
    assert b["printf" if "printf" in b else "stab_old"].status == "bound"
    libs = {lib.key: lib for lib in audit.consumers[0].libraries}
    assert libs["libstab.so.1"].found_via == "RUNPATH"
    assert libs["libc.so.6"].found_via in ("ld.so.conf", "default")
    findings = {x.symbol.name for x in audit.consumers[0].findings}
    assert findings == {"unst_open", "unst_close", "priv_internal"}


def test_runpath_is_not_inherited_but_rpath_is(tmp_path):
    # app -> liba.so.1 (no path of its own) -> libb.so.1, both only in app's $ORIGIN/lib.
    lib = tmp_path / "lib"
    shared_lib(lib, "libb.so.1", "int b_fn(void) { return 1; }")
    shared_lib(lib, "liba.so.1", "int b_fn(void); int a_fn(void) { return b_fn(); }",
               libs=(f"-L{lib}", "-lb"))
    src = "int a_fn(void); int main(void) { return a_fn(); }"
    common = (f"-L{lib}", "-la", "-Wl,-rpath,$ORIGIN/lib", "-Wl,-rpath-link," + str(lib))
    runpath = program(tmp_path, "with_runpath", src, link=(*common, "-Wl,--enable-new-dtags"))
    rpath = program(tmp_path, "with_rpath", src, link=(*common, "-Wl,--disable-new-dtags"))
    a = scan_paths([str(runpath), str(rpath)])
    run_libs = {lib.name: lib for lib in a.consumers[0].libraries}
    rp_libs = {lib.name: lib for lib in a.consumers[1].libraries}
    assert run_libs["liba.so.1"].found_via == "RUNPATH"
    assert run_libs["libb.so.1"].path is None  # DT_RUNPATH applies to direct needs only
    assert rp_libs["liba.so.1"].found_via == "RPATH"
    assert rp_libs["libb.so.1"].found_via == "RPATH"  # DT_RPATH of the loader chain
    assert rp_libs["libb.so.1"].needed_by == "liba.so.1"
    # LD_LIBRARY_PATH comes before RUNPATH (and after RPATH).
    other = tmp_path / "other"
    shared_lib(other, "liba.so.1", "int a_fn(void) { return 2; }")
    a2 = scan_paths([str(runpath), str(rpath)], ScanOptions(ld_library_path=[str(other)]))
    assert {x.name: x for x in a2.consumers[0].libraries}["liba.so.1"].found_via == \
        "LD_LIBRARY_PATH"
    assert {x.name: x for x in a2.consumers[1].libraries}["liba.so.1"].found_via == "RPATH"


def test_first_definition_in_breadth_first_order_wins(tmp_path):
    lib = tmp_path / "lib"
    shared_lib(lib, "libdeep.so.1", "int dup(void) { return 1; }")
    shared_lib(lib, "libmid.so.1", "int mid(void) { return 0; }",
               libs=(f"-L{lib}", "-Wl,--no-as-needed", "-ldeep"))
    shared_lib(lib, "libshallow.so.1", "int dup(void) { return 2; }")
    app = program(tmp_path, "app", "int dup(void); int mid(void);"
                  "int main(void) { return dup() + mid(); }",
                  link=(f"-L{lib}", "-lmid", "-lshallow", "-Wl,-rpath," + str(lib),
                        "-Wl,--disable-new-dtags", "-Wl,--no-as-needed"))
    a = scan_paths([str(app)])
    order = [x.name for x in a.consumers[0].libraries]
    assert order.index("libshallow.so.1") < order.index("libdeep.so.1")  # breadth first
    assert bindings(a)["dup"].provider == "libshallow.so.1"


def test_bindings_are_shared_only_between_consumers_of_the_same_scope(tmp_path):
    """Programs resolving to the same libraries share Binding objects; a program whose
    RPATH finds another liba.so.1 (same soname, another version node) binds to that one."""
    one, two = tmp_path / "one", tmp_path / "two"
    shared_lib(one, "liba.so.1", "int a_fn(void) { return 1; }",
               version_script="VERS_1.0 { global: a_fn; local: *; };")
    shared_lib(two, "liba.so.1", "int a_fn(void) { return 2; }",
               version_script="LIBA_4.17.0 { global: a_fn; local: *; };")
    src = "int a_fn(void); int main(void) { return a_fn(); }"
    apps = [program(tmp_path, name, src, link=(f"-L{d}", "-la", f"-Wl,-rpath,{d}",
                                               "-Wl,--disable-new-dtags"))
            for name, d in (("p1", one), ("p2", one), ("p3", two))]
    a = scan_paths([str(x) for x in apps])
    b1, b2, b3 = (next(b for b in c.bindings if b.symbol.name == "a_fn") for c in a.consumers)
    assert b1 is b2  # one scope: one object
    assert (b1.provider_path, b1.provided_version) == (str(one / "liba.so.1"), "VERS_1.0")
    assert (b3.provider_path, b3.provided_version) == (str(two / "liba.so.1"), "LIBA_4.17.0")


def test_missing_library_and_missing_version(tmp_path):
    lib = tmp_path / "lib"
    shared_lib(lib, "libv.so.1", "int v1(void) { return 1; } int v2(void) { return 2; }",
               version_script="V_1 { global: v1; local: *; }; V_2 { global: v2; } V_1;")
    shared_lib(lib, "libgone.so.3", "int gone(void) { return 3; }",
               version_script="G_3 { global: gone; local: *; };")
    app = program(tmp_path, "app", "int v1(void); int v2(void); int gone(void);"
                  "int main(void) { return v1() + v2() + gone(); }",
                  link=(f"-L{lib}", "-lv", "-lgone", "-Wl,-rpath," + str(lib)))
    # Downgrade libv to one that only has V_1, and remove libgone.
    shared_lib(lib, "libv.so.1", "int v1(void) { return 1; }",
               version_script="V_1 { global: v1; local: *; };")
    (lib / "libgone.so.3").unlink()
    a = scan_paths([str(app)])
    b = bindings(a)
    assert b["v1"].status == "bound"
    assert b["v2"].status == "unresolved"
    assert b["v2"].reason.startswith("version missing: libv.so.1 does not define version V_2")
    assert b["gone"].reason == "library not found: libgone.so.3"
    libs = {x.name: x for x in a.consumers[0].libraries}
    assert libs["libgone.so.3"].path is None


def test_unversioned_import_binding_rules():
    def d(version, index, hidden=False):
        return ElfSymbol("f", version, hidden, defined=True, version_index=index)

    ref = ElfSymbol("f")
    # base/oldest definitions are taken directly
    assert match(ref, [d("V_1", 2)], True).version == "V_1"
    # a single non-hidden newer version is accepted, two are ambiguous, hidden never
    assert match(ref, [d("V_2", 3)], True).version == "V_2"
    assert match(ref, [d("V_2", 3), d("V_3", 4)], True) is None
    assert match(ref, [d("V_2", 3, hidden=True)], True) is None
    vref = ElfSymbol("f", "V_2")
    assert match(vref, [d("V_1", 2, True), d("V_2", 3)], True).version == "V_2"
    assert match(vref, [d("V_1", 2)], True) is None
    assert match(vref, [ElfSymbol("f", defined=True)], False) is not None


def test_relocatable_objects_and_archives_resolve_against_needed(world, tmp_path):
    obj = tmp_path / "user.o"
    src = write(tmp_path / "user.c", "int unst_open(void); int stab_old(void);"
                "int use(void) { return unst_open() + stab_old(); }")
    subprocess.run(["gcc", "-c", "-o", obj, src], check=True)
    arc = tmp_path / "libuser.a"
    subprocess.run(["ar", "rcs", arc, obj], check=True)
    opts = ScanOptions(lib_paths=[str(world["lib"])], needed=["libunst.so.4.17",
                                                               "libstab.so.1"])
    a = scan_paths([str(obj), str(arc)], opts)
    assert [c.kind for c in a.consumers] == ["REL", "REL"]
    assert a.consumers[1].member == "user.o"
    for i in (0, 1):
        b = bindings(a, i)
        assert b["unst_open"].stability == Stability.UNSTABLE
        assert b["stab_old"].stability == Stability.STABLE


def test_stripped_binary_gives_the_same_bindings(world, tmp_path):
    stripped = tmp_path / "app"
    shutil.copy(world["app"], stripped)
    subprocess.run(["strip", "--strip-all", stripped], check=True)
    (tmp_path / "lib").symlink_to(world["lib"])
    a = scan_paths([str(world["app"]), str(stripped)])
    key = [(b.symbol.name, b.provider, b.provided_version, b.stability)
           for b in a.consumers[0].bindings]
    assert key == [(b.symbol.name, b.provider, b.provided_version, b.stability)
                   for b in a.consumers[1].bindings]


def test_32bit_program(tmp_path):
    # gcc -m32 needs gcc-multilib, which scripts/setup-debian.sh installs.
    lib = tmp_path / "lib"
    shared_lib(lib, "libunst.so.4.17", "int unst_open(void) { return 3; }",
               version_script="VERS_4.17.0 { global: unst_*; local: *; };", extra=("-m32",))
    app = program(tmp_path, "app32", "int unst_open(void); int main(void){return unst_open();}",
                  link=(f"-L{lib}", "-lunst", "-m32", "-Wl,-rpath,$ORIGIN/lib"))
    a = scan_paths([str(app)])
    c = a.consumers[0]
    assert c.elf_class == 32 and c.machine == "i386"
    assert bindings(a)["unst_open"].stability == Stability.UNSTABLE
    libc = {x.name: x for x in c.libraries}["libc.so.6"]
    # The 64-bit libc of the default directories was skipped, as ld.so does.
    assert libc.path in ("/lib32/libc.so.6", "/usr/lib32/libc.so.6", "/lib/i386-linux-gnu/libc.so.6")


def test_cli_scan_reports_corrupt_input_and_still_scans_others(world, tmp_path, capsys):
    bad = tmp_path / "broken.so"
    bad.write_bytes(world["app"].read_bytes()[:200])
    notelf = tmp_path / "notes.txt"
    notelf.write_text("hello\n")
    rc = main(["scan", "--format", "json", str(world["app"]), str(bad), str(notelf),
               str(tmp_path / "missing")])
    out, err = capsys.readouterr()
    assert rc == 2
    data = json.loads(out)
    assert [c["path"] for c in data["consumers"]] == [str(world["app"])]
    errors = {e["path"]: e["message"] for e in data["errors"]}
    assert set(errors) == {str(bad), str(notelf), str(tmp_path / "missing")}
    assert "Traceback" not in err
    assert all(line.startswith("abiguard: error: ") for line in err.strip().splitlines())


def test_cli_fail_on_and_exit_codes(world, capsys):
    assert main(["scan", str(world["app"])]) == 0
    assert main(["scan", "--fail-on", "unstable", str(world["app"])]) == 1
    assert main(["scan", "--fail-on", "private", str(world["app"])]) == 1
    assert main(["scan", "--fail-on", "bogus", str(world["app"])]) == 2
    capsys.readouterr()
    main(["scan", str(world["app"])])
    out = capsys.readouterr().out
    assert "unst_open" in out and "libunst.so.4.17" in out and "VERS_4.17.0" in out
    assert "stab_old" not in out  # stable symbols are summarised, not listed


def test_user_policy_overrides_and_bad_policy_is_an_input_error(world, tmp_path, capsys):
    pol = write(tmp_path / "p.toml", """
        schema = 1
        [[library]]
        match = "libplain.so.*"
        stability = "unstable"
        reason = "we know better"
        [[symbol]]
        library = "libunst.so.*"
        match = "unst_close"
        stability = "stable"
        reason = "this one is frozen"
    """)
    a = scan_paths([str(world["app"])], ScanOptions(policies=[str(pol)]))
    b = bindings(a)
    assert b["plain_fn"].stability == Stability.UNSTABLE
    assert b["plain_fn"].evidence[0].origin == str(pol)
    assert b["unst_close"].stability == Stability.STABLE
    assert b["unst_open"].stability == Stability.UNSTABLE
    bad = write(tmp_path / "bad.toml", """
        schema = 1
        [[library]]
        match = "x"
        stability = "wobbly"
        reason = "?"
    """)
    rc = main(["scan", "--policy", str(bad), str(world["app"])])
    err = capsys.readouterr().err
    assert rc == 2
    assert err.strip() == (f"abiguard: error: {bad}: [[library]] #1: stability 'wobbly' is "
                           "not one of private, stable, unknown, unstable")
