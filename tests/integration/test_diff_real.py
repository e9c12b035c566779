"""Integration: Debian bookworm's qemu-system-xen 7.2 + Xen 4.17 against trixie's
qemu-system-xen 10.0 + Xen 4.20 (diff, trend), and the impact of the Xen 4.17 -> 4.20
libraries and headers (libxen-dev of both suites) on qemu 7.2.

Trixie packages come from a private apt configuration derived from this machine's sources
(abiguard.debian.suites); the .debs are cached under abiguard's cache dir (~/.cache/abiguard),
the unpacked trees are this run's (tests/helpers/realdata.py).

Expected sets, computed by hand (readelf --dyn-syms -W on both binaries, UND xc_* entries;
readelf on libxenctrl.so.4.20; diff -u of the two /usr/include/xenctrl.h):

* qemu 7.2 imports the 16 QEMU_72_XC symbols, all @VERS_4.17.0 from libxenctrl.so.4.17;
* qemu 10.0.13 imports 18, all @libxenctrl_4.20.0 from libxenctrl.so.4.20: the 16 plus
  xc_pcidev_get_gsi and xc_physdev_map_pirq_gsi (new in Xen 4.20); none was dropped;
* libxenctrl.so.4.20 still defines all 16 (@@libxenctrl_4.20.0); of their declarations in
  xenctrl.h only xc_physdev_map_pirq_msi changed: its 6th parameter ``int bus`` is now
  ``int segbus`` (same type). Elsewhere in xenctrl.h, xc_domain_getinfo is gone and
  xc_microcode_update / xc_livepatch_upload gained a parameter (qemu uses none of them).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from abiguard.cli import main
from abiguard.jsonform import to_json
from abiguard.model import SCHEMA_VERSION
from helpers.realdata import QEMU_72_XC, QEMU_BINARY, deb, unpacked

pytestmark = pytest.mark.integration

ADDED = {"xc_pcidev_get_gsi", "xc_physdev_map_pirq_gsi"}
REMOVED: set[str] = set()
QEMU_100_XC = QEMU_72_XC | ADDED


def readelf_imports(package: Path, prefix: str = "xc_") -> dict[str, str]:
    """name -> version of the UND imports of the qemu binary in a .deb (dpkg-deb + readelf)."""
    root = unpacked(package)
    out = subprocess.run(["readelf", "--dyn-syms", "-W", str(root) + QEMU_BINARY],
                         capture_output=True, text=True, check=True).stdout
    got = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[6] == "UND" and parts[7].startswith(prefix):
            name, _, ver = parts[7].partition("@")
            got[name] = ver
    return got


@pytest.fixture(scope="module")
def saved(tmp_path_factory) -> dict[str, Path]:
    """Both sides scanned once and saved as JSON results."""
    from abiguard.pipeline import ScanOptions
    from abiguard.results import load_or_scan

    d = tmp_path_factory.mktemp("diffreal")
    out = {}
    for side, spec in (("old", "qemu-system-xen"), ("new", "qemu-system-xen/trixie")):
        audit = load_or_scan([spec], ScanOptions(with_deps=True))
        assert not audit.errors, audit.errors
        out[side] = d / f"{side}.json"
        out[side].write_text(to_json(audit))
    return out


def test_hand_computed_sets_match_readelf() -> None:
    old, new = readelf_imports(deb("qemu-system-xen")), readelf_imports(
        deb("qemu-system-xen", "trixie"))
    assert old == {s: "VERS_4.17.0" for s in QEMU_72_XC}
    assert new == {s: "libxenctrl_4.20.0" for s in QEMU_100_XC}
    assert set(new) - set(old) == ADDED and set(old) - set(new) == REMOVED


def test_diff_bookworm_vs_trixie_end_to_end(capsys) -> None:
    """The headline command: apt names, the new side from trixie, libraries fetched."""
    rc = main(["diff", "--with-deps", "-f", "json", "--fail-on-new", "qemu-system-xen",
               "qemu-system-xen/trixie"])
    data = json.loads(capsys.readouterr().out)
    assert rc == 1  # two unstable symbols were added
    assert data["kind"] == "diff" and data["schema"] == SCHEMA_VERSION and not data["errors"]
    assert data["old"].startswith("1:7.2+dfsg") and data["new"].startswith("1:10.0.")
    (c,) = data["consumers"]
    assert c["consumer"] == QEMU_BINARY and c["matched_by"] == "path"
    assert c["old_package"].startswith("qemu-system-xen 1:7.2")
    assert c["new_package"].startswith("qemu-system-xen 1:10.0.")
    assert (c["old_count"], c["new_count"]) == (16, 18)
    assert {x["name"] for x in c["added"]} == ADDED
    assert {x["name"] for x in c["removed"]} == REMOVED
    assert c["moved"] == []
    for x in c["added"]:
        assert (x["new_library"], x["new_version"], x["new_stability"]) == (
            "libxenctrl.so.4.20", "libxenctrl_4.20.0", "unstable")
    # The version-node rename is recognised: all 16 unchanged, none removed and re-added.
    assert {x["name"] for x in c["unchanged"]} == QEMU_72_XC
    for x in c["unchanged"]:
        assert x["change"] == "renamed-node"
        assert (x["old_library"], x["new_library"]) == ("libxenctrl.so.4.17",
                                                        "libxenctrl.so.4.20")
        assert (x["old_version"], x["new_version"]) == ("VERS_4.17.0", "libxenctrl_4.20.0")


def test_diff_of_saved_results_text(saved, capsys) -> None:
    assert main(["diff", str(saved["old"]), str(saved["new"])]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "+2 added, -0 removed, 0 moved, 16 unchanged (16 with a renamed version node)" in out
    assert "added xc_pcidev_get_gsi libxenctrl.so.4.20 libxenctrl_4.20.0" in out
    assert "added xc_physdev_map_pirq_gsi libxenctrl.so.4.20 libxenctrl_4.20.0" in out
    assert ("unchanged, renamed node (16): libxenctrl.so.4.17 -> libxenctrl.so.4.20 @ "
            "VERS_4.17.0 -> libxenctrl_4.20.0") in out
    # Reversed: the two are removed, the 16 still unchanged.
    assert main(["diff", "-f", "json", "--fail-on-new", str(saved["new"]),
                 str(saved["old"])]) == 0
    data = json.loads(capsys.readouterr().out)
    assert {x["name"] for x in data["consumers"][0]["removed"]} == ADDED


def test_trend_table_and_chart(saved, tmp_path: Path, capsys) -> None:
    chart = tmp_path / "trend.svg"
    assert main(["diff", "--trend", "-f", "json", "--chart", str(chart), str(saved["old"]),
                 str(saved["new"])]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "trend"
    (row,) = data["rows"]
    assert row["consumer"] == QEMU_BINARY and row["counts"] == [16, 18]
    assert set(row["symbols"][1]) - set(row["symbols"][0]) == ADDED
    svg = chart.read_text()
    assert svg.startswith("<svg xmlns=") and ">16<" in svg and ">18<" in svg


def test_impact_of_xen_417_to_420_on_qemu_72(capsys) -> None:
    rc = main(["impact", "qemu-system-xen", "--from", "libxenmisc4.17",
               "--to", "libxenmisc4.20", "--to-suite", "trixie",
               "--headers-from", "libxen-dev", "--headers-to", "libxen-dev",
               "--fail-on", "needs-source-changes", "-f", "json"])
    data = json.loads(capsys.readouterr().out)
    assert rc == 0 and not data["errors"]
    assert data["old"].startswith("libxenmisc4.17 4.17.") and \
        data["new"].startswith("libxenmisc4.20 4.20.")
    assert data["old_headers"].startswith("libxen-dev 4.17.")
    assert data["new_headers"].startswith("libxen-dev 4.20.")
    (c,) = data["consumers"]
    assert c["consumer"] == QEMU_BINARY
    assert c["verdict"] == "needs-rebuild"
    assert c["source_changes"] == []
    assert c["libraries"] == [{"family": "libxenctrl", "old_soname": "libxenctrl.so.4.17",
                               "new_soname": "libxenctrl.so.4.20"}]
    syms = {s["name"]: s for s in c["symbols"]}
    assert set(syms) == QEMU_72_XC
    gone = {n for n, s in syms.items() if s["status"] == "gone"}
    assert gone == set()
    for s in syms.values():
        assert (s["status"], s["old_version"], s["new_library"], s["new_version"]) == (
            "rebuild", "VERS_4.17.0", "libxenctrl.so.4.20", "libxenctrl_4.20.0")
    changed = {n: s["prototype"] for n, s in syms.items()
               if s["prototype"]["status"] != "same"}
    assert set(changed) == {"xc_physdev_map_pirq_msi"}
    p = changed["xc_physdev_map_pirq_msi"]
    assert p["status"] == "compatible"
    assert p["changes"] == ["parameter 6 renamed: bus -> segbus"]
    assert "int bus" in p["old"] and "int segbus" in p["new"]
    assert p["old_location"].startswith("xenctrl.h:") and p["new_location"].startswith(
        "xenctrl.h:")
    assert ("soname changes libxenctrl.so.4.17 -> libxenctrl.so.4.20: the binary must be "
            "relinked") in c["reasons"]
    # Needs a rebuild: --fail-on needs-rebuild rejects it.
    assert main(["impact", "qemu-system-xen", "--from", "libxenmisc4.17",
                 "--to", "libxenmisc4.20/trixie", "--fail-on", "needs-rebuild", "-q"]) == 1


def test_header_changes_elsewhere_in_xenctrl(tmp_path: Path) -> None:
    """The header comparison itself on the real xenctrl.h of both suites."""
    from abiguard.compare.libsets import Sets
    from abiguard.headers import compare

    sets = Sets()
    try:
        old, _ = sets.headers(["libxen-dev"], None)
        new, _ = sets.headers(["libxen-dev"], "trixie")
    finally:
        sets.close()
    assert compare(old["xc_domain_getinfo"], new.get("xc_domain_getinfo")).status == "gone"
    c = compare(old["xc_microcode_update"], new["xc_microcode_update"])
    assert (c.status, c.changes) == ("changed",
                                     ("parameter added: unsigned int flags (position 4)",))
    c = compare(old["xc_livepatch_upload"], new["xc_livepatch_upload"])
    assert (c.status, c.changes) == ("changed", ("parameter added: bool force (position 5)",))
    assert compare(None, new["xc_pcidev_get_gsi"]).status == "unknown"
    assert str(new["xc_pcidev_get_gsi"]) == "int xc_pcidev_get_gsi(xc_interface *xch, " \
                                            "uint32_t sbdf)"
