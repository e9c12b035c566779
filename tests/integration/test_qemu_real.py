"""Integration: Debian bookworm's real qemu-system-xen and Xen 4.17 libraries."""

from __future__ import annotations

import json
import subprocess

import pytest

from abiguard.cli import main
from abiguard.jsonform import audit_from_json
from abiguard.model import SCHEMA_VERSION, Stability
from abiguard.pipeline import ScanOptions, plan_paths, scan_paths
from helpers.realdata import QEMU_72_XC, QEMU_BINARY, qemu_debs, qemu_root

pytestmark = pytest.mark.integration

XEN_STABLE_PREFIXES = ("xendevicemodel_", "xenevtchn_", "xengnttab_", "xenforeignmemory_",
                       "xentoolcore_", "xs_")


@pytest.fixture(scope="module")
def audit():
    deb, deps = qemu_debs()
    return scan_paths([str(deb)], ScanOptions(provider_debs=[str(d) for d in deps]))


def test_exactly_the_16_xc_symbols_are_unstable(audit):
    assert not audit.errors
    (c,) = audit.consumers
    assert c.path == QEMU_BINARY
    assert c.package.startswith("qemu-system-xen 1:7.2")
    findings = c.findings
    assert {b.symbol.name for b in findings} == QEMU_72_XC
    for b in findings:
        assert b.stability == Stability.UNSTABLE
        assert b.provider == "libxenctrl.so.4.17"
        assert b.provided_version == "VERS_4.17.0"
        assert b.provider_path == "/usr/lib/x86_64-linux-gnu/libxenctrl.so.4.17"
    # Every other Xen symbol is stable; nothing else (libc, glib, ...) is a false positive.
    xen_other = [b for b in c.bindings if b.symbol.name.startswith(XEN_STABLE_PREFIXES)]
    assert len(xen_other) > 50
    assert all(b.status == "bound" and b.stability == Stability.STABLE for b in xen_other)
    assert {b.provider for b in xen_other} == {
        "libxendevicemodel.so.1", "libxenevtchn.so.1", "libxengnttab.so.1",
        "libxenforeignmemory.so.1", "libxentoolcore.so.1", "libxenstore.so.4"}
    assert not [b for b in c.bindings if b.status == "unresolved" and not b.weak]
    # __udivti3@GCC_3.0 is in .dynsym but no relocation uses it (readelf -r): ld.so never
    # looks it up, and it is the only such import.
    assert [str(b.symbol) for b in c.bindings if b.status == "declared"] == ["__udivti3@GCC_3.0"]
    assert {b.symbol.name for b in c.bindings if b.stability.is_problem} == QEMU_72_XC


def test_bindings_match_readelf(audit):
    """Every versioned import binds to the node readelf shows for it."""
    out = subprocess.run(["readelf", "--dyn-syms", "-W", str(qemu_root()) + QEMU_BINARY],
                         capture_output=True, text=True, check=True).stdout
    expected = {}
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 8 and parts[6] == "UND" and "@" in parts[7]:
            name, _, ver = parts[7].partition("@")
            expected[name] = ver
    got = {b.symbol.name: b.symbol.version for b in audit.consumers[0].bindings}
    assert {k: got.get(k) for k in expected} == expected


def test_scan_of_unpacked_tree_with_sysroot_equals_deb_scan(audit):
    root = qemu_root()
    a2 = scan_paths([str(root) + QEMU_BINARY], ScanOptions(lib_paths=[
        str(root / "usr/lib/x86_64-linux-gnu")]))
    key = lambda a: sorted((b.symbol.name, b.provider, b.provided_version, b.stability)
                           for b in a.consumers[0].bindings if b.status == "bound"
                           and b.provider and b.provider.startswith("libxen"))
    assert key(a2) == key(audit)


def test_cli_json_is_the_documented_schema(tmp_path, capsys):
    deb, deps = qemu_debs()
    args = ["scan", "--format", "json", str(deb)]
    for d in deps:
        args += ["--provider", str(d)]
    assert main(args) == 0
    text = capsys.readouterr().out
    data = json.loads(text)
    assert data["schema"] == SCHEMA_VERSION and data["kind"] == "scan"
    (c,) = audit_from_json(text).consumers
    xc = [b for b in c.bindings if b.stability == "unstable"]
    assert {b.symbol.name for b in xc} == QEMU_72_XC
    assert main([*args, "--fail-on", "unstable"]) == 1


def test_plan_easy_to_hard_on_real_qemu():
    deb, deps = qemu_debs()
    plan = plan_paths([str(deb)], ScanOptions(provider_debs=[str(d) for d in deps]))
    (cp,) = plan.plans
    items = [i for s in cp.steps for i in s.items]
    assert {i.symbol.name for i in items} == QEMU_72_XC
    first = cp.steps[0].items[0]
    assert first.symbol.name == "xc_domain_shutdown"
    (v,) = first.verifications
    assert (v.symbol, v.status, v.version, v.library) == (
        "xendevicemodel_shutdown", "already-used", "VERS_1.1", "libxendevicemodel.so.1")
    assert all(i.kind != "unknown" and i.rationale and i.references for i in items)
    assert cp.steps[-1].kind == "redesign" and cp.steps[-1].group == "pirq-handles"
