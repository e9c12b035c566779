"""Integration: abiguard where on the real qemu source of Debian bookworm (qemu 7.2).

The source comes from ``apt-get source qemu=VERSION`` (the version the machine's candidates
were built from) with deb-src entries derived from this machine's own apt sources, into
abiguard's cache (reused by later runs for that version); see abiguard.debian.srcpkg. The expectations below were checked by hand against the
sources (grep and reading include/hw/xen/xen_common.h).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import tree_sitter_c  # noqa: F401  (the 'where' extra; make test installs it)

from abiguard.callsites.cpp_expr import build_macros
from abiguard.callsites.features import feature_impact
from abiguard.callsites.source import root_sites, scan_sources
from abiguard.cli import main
from helpers import realdata

pytestmark = pytest.mark.integration

# The 16 libxenctrl symbols Debian bookworm's qemu-system-xen (7.2) imports, sorted.
QEMU_72_XC = sorted(realdata.QEMU_72_XC)

# What stays referenced when PCI passthrough (hw/xen/xen_pt*) is not built: computed by
# abiguard and checked by hand (grep of the 16 names outside hw/xen/xen_pt*: accel/xen/xen-all.c
# opens/closes xen_xc, hw/i386/xen/xen-hvm.c has set_hvm_param x2, populate_physmap_exact,
# the destroy_hvm_domain open/shutdown/close fallback, and uses xen_get_ioreq_server_info,
# whose xen_common.h definitions reach xc_get_hvm_param).
REMAIN_WITHOUT_PASSTHROUGH = [
    "xc_domain_populate_physmap_exact", "xc_domain_shutdown", "xc_get_hvm_param",
    "xc_interface_close", "xc_interface_open", "xc_set_hvm_param",
]
GONE_WITHOUT_PASSTHROUGH = sorted(set(QEMU_72_XC) - set(REMAIN_WITHOUT_PASSTHROUGH))

XEN_COMMON = "include/hw/xen/xen_common.h"


@pytest.fixture(scope="module")
def scan(qemu_src):
    return scan_sources(qemu_src, QEMU_72_XC)


def test_every_symbol_has_a_site(scan):
    found = {s.symbol for s in scan.callsites}
    assert found == set(QEMU_72_XC)
    # quilt's .pc copies of patched files are not scanned
    assert not any(s.file.startswith(".pc/") for s in scan.callsites)
    assert scan.files_scanned > 5000


def test_destroy_hvm_domain_calls_xc_domain_shutdown(scan):
    sites = [s for s in scan.callsites if s.symbol == "xc_domain_shutdown"]
    assert [(s.file, s.function, s.kind, s.via) for s in sites] == [
        ("hw/i386/xen/xen-hvm.c", "destroy_hvm_domain", "call", None)]
    # the fallback opens and closes a handle of its own
    for sym in ("xc_interface_open", "xc_interface_close"):
        assert any(s.function == "destroy_hvm_domain" for s in scan.callsites
                   if s.symbol == sym)


def test_xc_get_hvm_param_in_default_ioreq_server_info(scan):
    sites = [s for s in scan.callsites if s.symbol == "xc_get_hvm_param"]
    direct = [s for s in sites if s.via is None]
    # three references in the static inline xen_get_default_ioreq_server_info; its
    # definition sits under no #if of its own (the "Xen before 4.6" block above it ends
    # before it; the include guard is not a condition)
    assert [(s.file, s.function, s.condition) for s in direct] == \
        [(XEN_COMMON, "xen_get_default_ioreq_server_info", None)] * 3
    # the compat conditions are those of its two callers, both named
    # xen_get_ioreq_server_info: Xen < 4.5 calls it always, Xen >= 4.5 only when creating
    # an ioreq server failed (use_default_ioreq_server)
    callers = sorted((s.function, s.via, s.condition) for s in sites
                     if s.file == XEN_COMMON and s.via is not None)
    assert callers == [
        ("xen_get_ioreq_server_info", "xen_get_default_ioreq_server_info",
         "CONFIG_XEN_CTRL_INTERFACE_VERSION < 40500"),
        ("xen_get_ioreq_server_info", "xen_get_default_ioreq_server_info",
         "CONFIG_XEN_CTRL_INTERFACE_VERSION >= 40500"),
    ]
    # and the one root site: xen-hvm.c's xen_map_ioreq_server, through the wrapper
    users = [(s.file, s.function, s.via, s.condition) for s in sites
             if not s.file.startswith("include/")]
    assert users == [("hw/i386/xen/xen-hvm.c", "xen_map_ioreq_server",
                      "xen_get_ioreq_server_info", None)]


def test_conditions_evaluated_for_xen_4_17(qemu_src):
    macros = build_macros(["CONFIG_XEN_CTRL_INTERFACE_VERSION=41700"])
    scan = scan_sources(qemu_src, ["xc_get_hvm_param", "xc_interface_open"], macros)
    compiled = {(s.file, s.condition): s.compiled for s in scan.callsites
                if s.symbol == "xc_get_hvm_param"}
    assert compiled[(XEN_COMMON, "CONFIG_XEN_CTRL_INTERFACE_VERSION < 40500")] is False
    assert compiled[(XEN_COMMON, "CONFIG_XEN_CTRL_INTERFACE_VERSION >= 40500")] is True
    assert compiled[("hw/i386/xen/xen-hvm.c", None)] is True
    # scripts/xen-detect.c probes one interface version per #if branch: none is 41700
    detect = [s for s in scan.callsites if s.file == "scripts/xen-detect.c"]
    assert detect and all(s.compiled is False for s in detect)
    assert any(s.condition == "CONFIG_XEN_CTRL_INTERFACE_VERSION == 40800" for s in detect)


def test_without_pci_passthrough(scan):
    impact = feature_impact(root_sites(scan), QEMU_72_XC, ["hw/xen/xen_pt*"])
    assert list(impact.remaining) == REMAIN_WITHOUT_PASSTHROUGH
    assert list(impact.disappearing) == GONE_WITHOUT_PASSTHROUGH
    assert {"xc_physdev_map_pirq", "xc_physdev_map_pirq_msi", "xc_physdev_unmap_pirq",
            "xc_domain_bind_pt_pci_irq", "xc_domain_update_msi_irq",
            "xc_domain_unbind_msi_irq"} <= set(impact.disappearing)
    assert set(impact.matched_files) == {"hw/xen/xen_pt.c", "hw/xen/xen_pt_graphics.c",
                                         "hw/xen/xen_pt_msi.c"}


def test_cli_feature_file_and_sarif(qemu_src, tmp_path, capsys):
    feats = tmp_path / "qemu-features.toml"
    feats.write_text('[features]\npci-passthrough = ["hw/xen/xen_pt*"]\n')
    syms = tmp_path / "syms.txt"
    syms.write_text("\n".join(QEMU_72_XC) + "\n")
    rc = main(["where", "--source", str(qemu_src), "--symbols-from", str(syms), "--features",
               str(feats), "--without-feature", "pci-passthrough", "-f", "json", "-q"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    data = json.loads(out)
    assert data["impact"]["remaining"] == REMAIN_WITHOUT_PASSTHROUGH
    assert data["impact"]["disappearing"] == GONE_WITHOUT_PASSTHROUGH
    rc = main(["where", "--source-package", "qemu", "--symbol", "xc_domain_shutdown", "-f",
               "sarif", "-q"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    (result,) = json.loads(out)["runs"][0]["results"]
    loc = result["locations"][0]["physicalLocation"]
    assert loc["artifactLocation"]["uri"] == "hw/i386/xen/xen-hvm.c"
    assert result["locations"][0]["logicalLocations"][0]["name"] == "destroy_hvm_domain"


@pytest.fixture(scope="module")
def xen_headers() -> Path:
    """Debian bookworm's libxen-dev (Xen 4.17) unpacked for this run: its include dir."""
    from helpers.realdata import deb, unpacked

    return unpacked(deb("libxen-dev")) / "usr" / "include"


def test_all_of_xenctrl_h_compiled_for_xen_4_17_is_the_binarys_16(qemu_src, xen_headers):
    """Every function of xenctrl.h (and xenctrl_compat.h) as a target, conditions evaluated
    for the Xen 4.17 that bookworm builds against: the references that are compiled (outside
    the configure probe scripts/xen-detect.c) are exactly the 16 symbols the real
    qemu-system-xen binary imports from libxenctrl; everything else qemu mentions sits in
    compat code for older Xen."""
    from abiguard.callsites.source import declared_functions

    targets = declared_functions([str(xen_headers / "xenctrl.h"),
                                  str(xen_headers / "xenctrl_compat.h")])
    assert len(targets) > 300 and set(QEMU_72_XC) <= set(targets)
    macros = build_macros(["CONFIG_XEN_CTRL_INTERFACE_VERSION=41700"])
    scan = scan_sources(qemu_src, targets, macros)
    roots = [s for s in root_sites(scan) if s.file != "scripts/xen-detect.c"]
    compiled = {s.symbol for s in roots if s.compiled is not False}
    assert sorted(compiled) == QEMU_72_XC
    compat_only = {s.symbol for s in roots} - compiled
    assert {"xc_evtchn_open", "xc_gnttab_open", "xc_hvm_create_ioreq_server",
            "xc_hvm_set_pci_intx_level", "xc_domain_add_to_physmap"} <= compat_only
    impact = feature_impact(roots, targets, ["hw/xen/xen_pt*"])
    assert list(impact.remaining) == REMAIN_WITHOUT_PASSTHROUGH


def test_binary_input_gives_the_targets(capsys):
    """``where DEB --source-package qemu``: the targets are what scan finds in the real
    qemu-system-xen package, and every one of them is found in the source."""
    from helpers.realdata import qemu_debs

    deb, deps = qemu_debs()
    argv = ["where", str(deb), *[a for d in deps for a in ("--provider", str(d))],
            "--source-package", "qemu", "-D", "CONFIG_XEN_CTRL_INTERFACE_VERSION=41700",
            "-f", "json", "-q"]
    rc = main(argv)
    out, err = capsys.readouterr()
    assert rc == 0, err
    data = json.loads(out)
    assert data["targets"] == QEMU_72_XC
    assert data["audit"]["consumers"][0]["path"].endswith("xen-qemu-system-i386")
    assert {s["symbol"] for s in data["callsites"]} == set(QEMU_72_XC)
    libs = {r["symbol"]: r["library"] for r in data["remedies"]}
    assert set(libs.values()) == {"libxenctrl.so.4.17"}
    kinds = {r["symbol"]: r["kind"] for r in data["remedies"]}
    assert kinds["xc_domain_shutdown"] == "replace"
