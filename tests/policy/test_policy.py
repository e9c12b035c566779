"""The stability model: each evidence source, the decision rule, policy files, missing
libraries. Libraries are built with gcc and version scripts; readelf is the oracle for what
the evidence texts say about a file."""

from __future__ import annotations

import fnmatch
import json
import subprocess
from pathlib import Path

import pytest

from abiguard.cli import main
from abiguard.elf import read_elf
from abiguard.errors import DataFileError
from abiguard.model import Stability
from abiguard.pipeline import ScanOptions, scan_paths
from abiguard.policy import (
    HISTORY,
    NAMING,
    NODES,
    WEAK,
    LibraryFacts,
    Location,
    Policy,
    Signal,
    decide,
    naming,
    nodes,
    parse_policy,
    soname,
)
from helpers.cfixtures import program, shared_lib, write

S, U, P, K = Stability.STABLE, Stability.UNSTABLE, Stability.PRIVATE, Stability.UNKNOWN


def readelf_nodes(path: Path) -> list[str]:
    """Version definitions (base excluded) as readelf -V shows them: the oracle."""
    out = subprocess.run(["readelf", "-V", "-W", str(path)], capture_output=True, text=True,
                         check=True).stdout
    names = []
    section = False
    for line in out.splitlines():
        if "Version definition section" in line:
            section = True
        elif "Version needs section" in line or "Version symbols section" in line:
            section = False
        elif section and "Name:" in line and "Flags: BASE" not in line:
            names.append(line.split("Name:")[1].split()[0])
    return names


@pytest.fixture(scope="module")
def libs(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("libs")
    shared_lib(d, "libllvmish-14.so.1", "int f(void){return 1;}",
               version_script="LLVMISH_14 { global: f; local: *; };")
    shared_lib(d, "libacc.so.3", "int a(void){return 1;} int b(void){return 2;}",
               version_script="ACC_3.2 { global: a; local: *; };\nACC_3.4 { global: b; } ACC_3.2;")
    shared_lib(d, "libshared-252.so", "int g(void){return 1;}",
               version_script="SD_SHARED { global: g; local: *; };")
    shared_lib(d, "libnover.so.1.0", "int h(void){return 1;}")
    shared_lib(d, "libone.so.2", "int i(void){return 1;}",
               version_script="ONE_2.0 { global: i; local: *; };")
    shared_lib(d, "libsnap_base.so.20220623", "int j(void){return 1;}")
    shared_lib(d, "libthing_internal.so.0", "int k(void){return 1;}")
    return d


def facts(libs: Path, name: str, location: Location | None = None) -> LibraryFacts:
    elf = read_elf(str(libs / name))
    return LibraryFacts(elf.soname or name, elf, location)


def no_builtin() -> Policy:
    return Policy.load(builtin=False)


# ---- the sources ------------------------------------------------------------------------------


def test_version_nodes_as_readelf_shows_them(libs):
    assert readelf_nodes(libs / "libshared-252.so") == ["SD_SHARED"]
    (s,) = nodes.signals(facts(libs, "libshared-252.so"))
    # the old bug: "no symbol versions" on a library with a version node
    assert s.stability == K and "SD_SHARED" in s.detail and "no symbol versions" not in s.detail
    assert readelf_nodes(libs / "libnover.so.1.0") == []
    (s,) = nodes.signals(facts(libs, "libnover.so.1.0"))
    assert s.detail == "libnover.so.1.0 defines no symbol versions"
    (s,) = nodes.signals(facts(libs, "libllvmish-14.so.1"))
    assert (s.stability, s.strength) == (U, NODES) and "LLVMISH_14" in s.detail
    assert "release 14" in s.detail
    assert readelf_nodes(libs / "libacc.so.3") == ["ACC_3.2", "ACC_3.4"]
    (s,) = nodes.signals(facts(libs, "libacc.so.3"))
    assert (s.stability, s.strength) == (S, NODES) and "ACC_3.2 .. ACC_3.4" in s.detail
    (s,) = nodes.signals(facts(libs, "libone.so.2"))
    assert (s.stability, s.strength) == (S, WEAK)


def test_naming(libs):
    def sig(name: str) -> list[tuple[Stability, int]]:
        return [(s.stability, s.strength) for s in naming.signals(LibraryFacts(name))]

    assert sig("libbfd-2.40-system.so") == [(U, NAMING)]
    assert sig("libsystemd-shared-252.so") == [(U, NAMING)]
    assert sig("libgettextlib-0.21.so") == [(U, NAMING)]
    assert sig("libabsl_base.so.20220623") == [(U, NAMING)]
    assert sig("libapt-private.so.0.0") == [(P, NAMING)]
    assert sig("libabsl_strings_internal.so.20220623") == [(P, NAMING), (U, NAMING)]
    # a number in the name is weak: LLVM's release or GLib's API series
    assert sig("libLLVM-14.so.1") == [(U, WEAK)]
    assert sig("libglib-2.0.so.0") == [(U, WEAK)]
    assert sig("libpython3.11.so.1.0") == [(U, WEAK)]
    # nothing to say
    assert sig("libz.so.1") == [] and sig("libnss3.so") == [] and sig("libsqlite3.so.0") == []
    assert sig("libdw.so.1") == []


def test_soname_shape_is_weak():
    s = soname.signal(LibraryFacts("libbz2.so.1.0"))
    assert s is not None and (s.stability, s.strength) == (U, WEAK)
    s = soname.signal(LibraryFacts("libz.so.1"))
    assert s is not None and (s.stability, s.strength) == (S, WEAK)
    assert soname.signal(LibraryFacts("libnss3.so")) is None
    assert soname.split_soname("libdevmapper.so.1.02.1") == ("libdevmapper", ("1", "02", "1"))


# ---- the decision rule ------------------------------------------------------------------------


def test_weak_signals_never_decide_alone():
    f = LibraryFacts("libx.so.1.0", read_elf("/bin/true"))
    weak = [Signal("soname", WEAK, U, "two numbers", brief="soname has two numbers"),
            Signal("naming", WEAK, U, "a number", brief="number in the name")]
    stab, ev = decide(weak, f)
    assert stab == K
    assert ev[0].source == "default" and ev[0].detail.startswith("only weak signals")
    assert "soname has two numbers" in ev[0].detail
    stab, ev = decide([], f)
    assert stab == K and "speaks" in ev[0].detail


def test_strongest_wins_and_names_what_it_overrode():
    f = LibraryFacts("libdevmapper.so.1.02.1", read_elf("/bin/true"))
    sigs = [Signal("history", HISTORY, S, "unchanged across 3 releases", brief="history"),
            Signal("version-node", NODES, S, "23 nodes", brief="23 accumulating nodes"),
            Signal("soname", WEAK, U, "3 numbers", brief="soname has 3 numbers (1.02.1)")]
    stab, ev = decide(sigs, f)
    assert stab == S
    assert ev[0].source == "history"
    assert ev[0].detail == ("unchanged across 3 releases; also: version-node: 23 accumulating "
                            "nodes; overrides: soname: soname has 3 numbers (1.02.1)")
    assert [e.source for e in ev[1:]] == ["soname", "version-node"]  # overridden first
    # private and unstable agree (both a problem for a consumer): "also", not "overrides"
    sigs = [Signal("location", 40, P, "RUNPATH", brief="RUNPATH"),
            Signal("naming", NAMING, U, "-release", brief="-release name")]
    stab, ev = decide(sigs, f)
    assert stab == P and ev[0].detail == "RUNPATH; also: naming: -release name"


# ---- libraries that were not found -----------------------------------------------------------


def test_missing_library_is_judged_by_its_name():
    pol = Policy.load()
    stab, ev = pol.classify_library("libxenctrl.so.4.17", None)
    assert stab == U and ev[0].source == "policy"
    assert ev[1].source == "not-found" and "library not found" in ev[1].detail
    # no declaration for this release, but the archive's history knows its family
    stab, ev = pol.classify_library("libxenctrl.so.4.99", None)
    assert stab == U and ev[0].source == "policy"  # xen.toml's glob
    stab, ev = pol.classify_library("libicuuc.so.99", None)
    assert stab == U and ev[0].source == "history" and "libicu" in ev[0].detail
    stab, ev = pol.classify_library("libfoo-3.2.so", None)
    assert stab == U and ev[0].source == "naming"
    stab, ev = pol.classify_library("libnothing.so.1", None)
    assert stab == K and any("library not found" in e.detail for e in ev)


# ---- location ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sysroot(tmp_path_factory) -> Path:
    """A sysroot with /usr/bin/tool whose RUNPATH is /usr/lib/x86_64-linux-gnu/tool, where
    libtoolpriv.so.1 lives (a package-private directory), and libpub.so.1 in the default
    directory."""
    root = tmp_path_factory.mktemp("root")
    priv = root / "usr/lib/x86_64-linux-gnu/tool"
    pub = root / "usr/lib/x86_64-linux-gnu"
    shared_lib(priv, "libtoolpriv.so.1", "int tp(void){return 1;}",
               version_script="TP_1.0 { global: tp; local: *; };\nTP_1.1 { } TP_1.0;")
    shared_lib(pub, "libpub.so.1", "int pu(void){return 1;}",
               version_script="PU_1.0 { global: pu; local: *; };\nPU_1.1 { } PU_1.0;")
    program(root / "usr/bin", "tool", "int tp(void); int pu(void); int main(void)"
            "{return tp()+pu();}",
            link=(f"-L{priv}", f"-L{pub}", "-ltoolpriv", "-lpub",
                  "-Wl,--enable-new-dtags,-rpath,/usr/lib/x86_64-linux-gnu/tool"))
    # the machine's libc for the consumer (the program's other needs)
    return root


def test_runpath_into_a_private_directory_makes_a_library_private(sysroot):
    audit = scan_paths([str(sysroot / "usr/bin/tool")],
                       ScanOptions(sysroot=str(sysroot), lib_paths=["/lib/x86_64-linux-gnu"]))
    libs = {lib.key: lib for lib in audit.consumers[0].libraries}
    lp = libs["libtoolpriv.so.1"]
    assert lp.found_via == "RUNPATH" and lp.path == "/usr/lib/x86_64-linux-gnu/tool/libtoolpriv.so.1"
    assert lp.stability == P and lp.evidence[0].source == "location"
    assert "/usr/lib/x86_64-linux-gnu/tool" in lp.evidence[0].detail
    assert "overrides: version-node" in lp.evidence[0].detail
    assert libs["libpub.so.1"].stability == S  # default directory: location says nothing
    b = {x.symbol.name: x for x in audit.consumers[0].bindings}
    assert b["tp"].stability == P and b["pu"].stability == S


def test_a_build_tree_is_not_a_package_directory(tmp_path):
    lib = tmp_path / "build" / "lib"
    shared_lib(lib, "libown.so.1", "int o(void){return 1;}",
               version_script="OWN_1.0 { global: o; local: *; };\nOWN_1.1 { } OWN_1.0;")
    program(tmp_path / "build", "app", "int o(void); int main(void){return o();}",
            link=(f"-L{lib}", "-lown", "-Wl,--enable-new-dtags,-rpath,$ORIGIN/lib"))
    audit = scan_paths([str(tmp_path / "build" / "app")])
    (own,) = [x for x in audit.consumers[0].libraries if x.key == "libown.so.1"]
    assert own.found_via == "RUNPATH" and own.stability == S
    assert all(e.source != "location" for e in own.evidence)


def test_location_interface():
    from abiguard.policy import location

    system = ("/usr/lib/x86_64-linux-gnu", "/lib/x86_64-linux-gnu", "/usr/lib", "/lib")
    assert location.is_package_private("/usr/lib/x86_64-linux-gnu/systemd", system)
    assert not location.is_package_private("/lib/x86_64-linux-gnu", ("/usr/lib/x86_64-linux-gnu",))
    assert not location.is_package_private("/home/u/proj/lib", system)
    assert location.is_package_private("/opt/app/lib", system)
    f = LibraryFacts("libx.so.1", None, Location("LD_LIBRARY_PATH", "/opt/app/lib/libx.so.1",
                                                  system))
    assert location.signal(f) is None  # only RUNPATH/RPATH, the package's own choice


# ---- policy files -----------------------------------------------------------------------------


HISTORY_TOML = """
schema = 1
suites = ["old", "new"]

[[history]]
family = "libwidget"
stability = "stable"
verdict = "stable"
reason = "libwidget1 unchanged across 2 releases while upstream moved 1.2 → 1.5"
match = ["libwidget.so.1"]
releases = [
  { suite = "old", package = "libwidget1", version = "1.2-1", upstream = "1.2", sonames = ["libwidget.so.1"] },
  { suite = "new", package = "libwidget1", version = "1.5-1", upstream = "1.5", sonames = ["libwidget.so.1"] },
]

[[history]]
family = "libgadget"
stability = "unstable"
verdict = "release-locked"
reason = "each soname is its upstream release"
match = ["libgadget.so.2.1", "libgadget.so.[0-9]*"]
"""


def test_history_entries_in_a_user_file(tmp_path):
    pf = parse_policy(HISTORY_TOML, "h.toml")
    assert [e.family for e in pf.history] == ["libwidget", "libgadget"]
    assert pf.history[0].releases[1].upstream == "1.5"
    pol = Policy([pf])
    stab, ev = pol.classify_library("libwidget.so.1", None)
    assert stab == S and ev[0].source == "history" and ev[0].origin == "h.toml"
    assert ev[0].detail.startswith("Debian old, new: libwidget1 unchanged")
    stab, ev = pol.classify_library("libgadget.so.3.0", None)  # through the family's glob
    assert stab == U and ev[0].source == "history"
    # the same structure in JSON
    data = {"schema": 1, "history": [{"family": "x", "stability": "stable", "reason": "r",
                                      "match": ["libx.so.1"]}]}
    assert parse_policy(json.dumps(data), "p.json").history[0].family == "x"


@pytest.mark.parametrize(("text", "message"), [
    ('schema = 1\n[[history]]\nfamily = "x"\nstability = "stable"\nreason = "r"\nmatch = []\n',
     "[[history]] #1: 'match' must name at least one soname"),
    (('schema = 1\n[[history]]\nfamily = "x"\nstability = "wobbly"\nreason = "r"\n'
     'match = ["a"]\n'), "[[history]] #1: stability 'wobbly' is not one of"),
    (('schema = 1\n[[history]]\nfamily = "x"\nstability = "stable"\nreason = "r"\n'
     'match = ["a"]\nreleases = [{ suite = 1, package = "p", version = "1" }]\n'),
     "[[history]] #1 releases #1: 'suite' must be a string"),
    (('schema = 1\n[[history]]\nfamily = "x"\nstability = "stable"\nreason = "r"\n'
     'match = ["a"]\ncolour = 1\n'), "[[history]] #1: unknown key(s) colour"),
])
def test_bad_history_entries(text, message):
    with pytest.raises(DataFileError) as exc:
        parse_policy(text, "p.toml")
    assert message in str(exc.value)


def test_a_policy_that_contradicts_the_history_is_one_note(tmp_path, capsys):
    pol = write(tmp_path / "p.toml", """
        schema = 1
        [[library]]
        match = "libbz2.so.*"
        stability = "unstable"
        reason = "we think so"
    """)
    rc = main(["scan", "--policy", str(pol), "-f", "json", "/usr/bin/bzip2"])
    out, _err = capsys.readouterr()
    assert rc == 0
    notes = [n for n in json.loads(out)["notes"] if "history says" in n]
    assert notes == [(f"{pol}: library rule #1 'libbz2.so.*' says unstable, the Debian "
                     "archive's history says stable for libbz2 (libbz2-1.0 unchanged in all 3 "
                     "suites (upstream 1.0.8)); the declaration wins")]
    a = scan_paths(["/usr/bin/bzip2"], ScanOptions(policies=[str(pol)]))
    (lib,) = [x for x in a.consumers[0].libraries if x.key == "libbz2.so.1.0"]
    assert lib.stability == U and "overrides: history" in lib.evidence[0].detail


def test_builtin_data_is_valid_and_consistent():
    pol = Policy.load()
    entries = [e for f in pol.files for e in f.history]
    assert len(entries) > 3000
    for e in entries:
        assert e.verdict in ("stable", "release-locked") and e.stability in (S, U)
    # the built-in declarations and the built-in history agree where both speak
    assert pol.notes == []
    names = pol.history.exact
    for f in pol.files:
        for rule in f.libraries:
            for n in fnmatch.filter(names, rule.match):
                assert names[n].stability == rule.stability, (rule.match, n, names[n].family)


def test_one_line_releases():
    text = json.dumps({"schema": 1, "history": [{
        "family": "libw", "stability": "stable", "reason": "r", "match": ["libw.so.1"],
        "releases": ["old libw1 1.2-1 1.2 libw.so.1,libw.so.1.2", "new libw1 1.5-1 1.5 - derived"]}]})
    (e,) = parse_policy(text, "h.json").history
    old, new = e.releases
    assert (old.suite, old.package, old.version, old.upstream, old.sonames, old.derived) == \
        ("old", "libw1", "1.2-1", "1.2", ("libw.so.1", "libw.so.1.2"), False)
    assert new.sonames == () and new.derived
    bad = text.replace("1.5 - derived", "1.5 - maybe")
    with pytest.raises(DataFileError, match=r"releases #2: 'new libw1 1.5-1 1.5 - maybe' is not"):
        parse_policy(bad, "h.json")
    # the built-in file, checked like a user's (a scan skips its releases)
    from importlib import resources

    data = (resources.files("abiguard") / "data/policies/debian-history.json").read_text()
    pf = parse_policy(data, "debian-history.json")
    assert pf.suites == ("bullseye", "bookworm", "trixie")
    assert all(r.suite in pf.suites for e in pf.history for r in e.releases)
