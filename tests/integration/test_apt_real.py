"""Integration: the right package on a real machine (issue #13). apt is the oracle.

Under this machine's own apt configuration and under a private one for "a bookworm machine
whose sources also list trixie pinned at 100" (tests/helpers/aptmachine.py, given with
``APT_CONFIG``): a package name is apt's candidate, ``NAME=VERSION`` exactly that version,
``NAME/SUITE`` the newest of that suite (with its -updates and -security), whatever an
earlier command left in the cache; a census takes apt's candidates, ``--rdepends`` finds what
``apt-cache rdepends`` lists, ``--source-package xen`` every consumer of the binaries of source xen.
Version strings come from apt at run time, never from this file.
"""

from __future__ import annotations

import json
import re
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from abiguard.cli import main
from abiguard.debian import suites
from abiguard.jsonform import audit_from_json
from helpers import aptmachine as am
from helpers.realdata import QEMU, QEMU_72_XC, QEMU_BINARY

pytestmark = pytest.mark.integration

ADDED = {"xc_pcidev_get_gsi", "xc_physdev_map_pirq_gsi"}  # trixie's qemu 10.0 (Xen 4.20)


def run_json(capsys, *argv: str) -> tuple[int, dict]:
    rc = main([*argv, "-f", "json", "-q"])
    out, err = capsys.readouterr()
    return rc, (json.loads(out) if out.strip() else {"stderr": err})


def xc_findings(audit: dict) -> set[str]:
    (c,) = audit_from_json(json.dumps(audit)).consumers
    return {b.symbol.name for b in c.bindings if b.stability == "unstable"}


def suite_newest(name: str, suite: str) -> str:
    """The newest version apt lists for name in suite, -updates and -security (apt-cache
    madison under the suite's configuration, compared by dpkg)."""
    derived = suites.suite(suite)
    return am.newest(am.versions(name, extra=derived.config.args()))


# --------------------------------------------------------------------------------------------
# The fixture is what it claims to be
# --------------------------------------------------------------------------------------------


def test_two_suite_machine_is_a_bookworm_machine_listing_trixie_at_100(two_suite):
    conf = two_suite["conf"]
    table = am.version_table(QEMU, conf)
    other = [v for v, where in table.items() if any(f" {two_suite['other']}/" in w
                                                   for w in where)]
    assert other, table  # trixie is listed ...
    raw = am.apt_cache(["policy", QEMU], conf)
    assert all(f"     {v} 100" in raw for v in other), raw  # ... at priority 100
    cand = am.candidate(QEMU, conf)
    assert cand == am.candidate(QEMU) and cand not in other  # apt still takes bookworm's


# --------------------------------------------------------------------------------------------
# scan: the candidate, exactly a version, the cache never changes the answer
# --------------------------------------------------------------------------------------------


def test_scan_is_apts_candidate_before_and_after_another_suite_filled_the_cache(
        two_suite, capsys, tmp_path):
    cand = am.candidate(QEMU, two_suite["conf"])
    assert cand == am.candidate(QEMU)
    rc, before = run_json(capsys, "scan", "--with-deps", QEMU)
    assert rc == 0, before
    (c,) = before["consumers"]
    assert (c["path"], c["package"]) == (QEMU_BINARY, f"{QEMU} {cand} amd64")
    assert xc_findings(before) == set(QEMU_72_XC)
    # the other suite's qemu and its libraries fill the cache: diff, then a census
    newest = suite_newest(QEMU, two_suite["other"])
    rc, diff = run_json(capsys, "diff", "--with-deps", QEMU, f"{QEMU}/{two_suite['other']}")
    assert rc == 0, diff
    assert (diff["old"], diff["new"]) == (cand, newest)
    (d,) = diff["consumers"]
    assert {x["name"] for x in d["added"]} == ADDED and d["removed"] == []
    store = tmp_path / "other.sqlite"
    assert main(["census", "-q", "--suite", two_suite["other"], QEMU, "--store",
                 str(store), "-j", "1"]) == 0
    capsys.readouterr()
    with sqlite3.connect(store) as db:
        assert db.execute("SELECT version, status FROM package").fetchall() == [(newest, "ok")]
    # the same question, the same answer
    rc, after = run_json(capsys, "scan", "--with-deps", QEMU)
    assert rc == 0 and after == before
    rc, exact = run_json(capsys, "scan", "--with-deps", f"{QEMU}={cand}")
    assert rc == 0
    assert exact["consumers"][0]["package"] == f"{QEMU} {cand} amd64"
    assert exact["consumers"][0]["origin"] == f"apt:{QEMU}={cand}"
    assert xc_findings(exact) == set(QEMU_72_XC)


def test_exact_version_even_when_pinned_away_and_unknown_versions_named(two_suite, capsys):
    conf = two_suite["conf"]
    listed = [v for v in am.versions(QEMU, conf) if v != am.candidate(QEMU, conf)]
    pinned = am.newest(listed)  # the other release's, at priority 100
    rc, audit = run_json(capsys, "scan", f"{QEMU}={pinned}")
    assert rc == 0
    assert audit["consumers"][0]["package"] == f"{QEMU} {pinned} amd64"
    rc = main(["scan", "-q", f"{QEMU}=0.1-1"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1, err
    assert err[0].startswith(f"abiguard: error: {QEMU}=0.1-1: no such version")
    for v in am.versions(QEMU, two_suite["conf"]):
        assert v in err[0]


def test_name_slash_suite_is_the_newest_of_the_suite_with_its_updates_and_security(
        two_suite, capsys):
    other = two_suite["other"]
    newest = suite_newest(QEMU, other)
    rc, audit = run_json(capsys, "scan", f"{QEMU}/{other}")
    assert rc == 0
    assert audit["consumers"][0]["package"] == f"{QEMU} {newest} amd64"
    assert audit["consumers"][0]["origin"] == f"apt:{QEMU}/{other}"


def test_source_package_is_the_version_the_candidates_were_built_from(two_suite):
    from abiguard.debian.srcpkg import fetch_source_package

    fields = am.shown([QEMU], two_suite["conf"])[QEMU]
    m = re.fullmatch(r"qemu(?: \((\S+)\))?", fields["Source"])
    assert m, fields["Source"]
    version = m.group(1) or fields["Version"]
    tree = fetch_source_package("qemu")
    assert tree.parent.name == "qemu_" + version.replace(":", "%3a")
    # dpkg-source unpacked exactly that version (its changelog's first entry)
    assert (tree / "debian" / "changelog").read_text().startswith(f"qemu ({version}) ")


# --------------------------------------------------------------------------------------------
# census: apt's candidates, rdepends as apt lists them, consumers of a source package
# --------------------------------------------------------------------------------------------


def stored(store: Path) -> dict[str, str]:
    with sqlite3.connect(store) as db:
        rows = db.execute("SELECT name, version, status FROM package").fetchall()
    assert all(r[2] == "ok" for r in rows), rows
    return {r[0]: r[1] for r in rows}


def test_census_rdepends_finds_what_apt_cache_rdepends_lists(two_suite, tmp_path):
    lib = "libxenmisc4.17"
    expected = am.rdepends([lib], two_suite["conf"])
    assert len(expected) > 1
    store = tmp_path / "r.sqlite"
    assert main(["census", "-q", "--rdepends", lib, "--store", str(store), "-j", "2"]) == 0
    got = stored(store)
    assert set(got) == expected
    assert got == am.candidates(sorted(expected), two_suite["conf"])
    assert got == am.candidates(sorted(expected))  # bookworm's, not trixie's


@pytest.fixture(scope="module")
def xen_census(two_suite, tmp_path_factory):
    store = tmp_path_factory.mktemp("xen") / "xen.sqlite"
    proc = subprocess.run([sys.executable, "-m", "abiguard.cli", "census", "--source-package",
                           "xen", "--store", str(store), "-j", "2"], capture_output=True, text=True,
                          check=False, env=am.apt_env(two_suite["conf"]))
    assert proc.returncode == 0, proc.stderr
    return store, proc.stdout


def test_census_source_xen_lists_every_consumer_with_bookworm_versions(two_suite, xen_census):
    store, text = xen_census
    conf = two_suite["conf"]
    got = stored(store)
    binaries, provided = am.binaries_of("xen", conf)
    assert set(got) == am.rdepends(sorted(binaries | provided), conf)  # whichever field
    assert got == am.candidates(sorted(got), conf)  # apt's candidates ...
    mine = {n: v for n, v in am.candidates(sorted(got)).items() if v is not None}
    assert mine and all(got[n] == v for n, v in mine.items())  # ... bookworm's where it has one
    outside = set(got) - binaries
    assert {QEMU, "kexec-tools", "libvirt-daemon-driver-xen", "collectd-core"} <= outside
    # who links a library built from xen: the resolved DT_NEEDED of the stored audits
    sonames = set()
    with sqlite3.connect(store) as db:
        from abiguard.census.store import decompress_json

        audits = {n: audit_from_json(decompress_json(a)) for n, a in db.execute(
            "SELECT name, audit FROM package")}
    for name in binaries & set(audits):
        sonames |= {c.soname for c in audits[name].consumers if c.soname}
    linking = {n for n in outside for c in audits[n].consumers if set(c.needed) & sonames}
    assert {QEMU, "kexec-tools", "libvirt-daemon-driver-xen", "collectd-core"} <= linking
    # internal: shown apart, not ranked
    head, _, internal = text.partition("\nInternal: ")
    assert internal and "xen-utils-4.17" in internal and QEMU not in internal
    assert "xentoolcore__" not in head
    ranked = head.split("Stabilise these first", 1)[1]
    assert "xc_interface_open" in ranked
    # the ranking is about the libraries built from xen: no other library's symbols
    assert "libraries built from xen" in ranked and "cpuDecode" not in ranked
    libraries = ranked.split("\nLibraries:\n", 1)[1].split("\n\n", 1)[0]
    assert libraries and all(line.strip().startswith(("libxen", "libxl"))
                             for line in libraries.splitlines() if not line.startswith("    "))


def test_census_source_internal_ranked_when_asked(xen_census, capsys):
    store, _ = xen_census
    assert main(["census", "--store", str(store), "--include-internal", "--top", "0"]) == 0
    out = capsys.readouterr().out
    assert "xentoolcore__register_active_handle" in out and "\nInternal: " not in out
    # the libraries built from xen, read from its library packages (libxentoolcore1 is no
    # consumer: its soname comes from the package itself), as readelf gives their sonames
    assert main(["census", "--store", str(store), "-f", "json"]) == 0
    own = json.loads(capsys.readouterr().out)["own_libraries"]
    assert own["sources"] == ["xen"]
    assert {"libxentoolcore.so.1", "libxenctrl.so.4.17", "libxenstore.so.4"} <= set(own["sonames"])
    assert all(s.startswith(("libxen", "libxl")) for s in own["sonames"])
