"""Integration: Debian bookworm's real qemu-system-xen extracted WITHOUT its Xen libraries
(issue #13, point 5). Only the qemu .deb is used (downloaded once into the cache), unpacked
into this test's own temporary directory.

Before: "0 unstable, 0 private, 211 unresolved", ``--fail-on unstable`` exit 0, ``gate``
"0 new, 16 gone ... baseline can shrink" with ``--update-baseline`` emptying the baseline,
``where`` "0 target symbol(s), 823 referenced, 26937 site(s)".
"""

from __future__ import annotations

import json

import pytest

from abiguard.cli import main
from abiguard.jsonform import audit_from_json
from helpers.realdata import QEMU_72_XC

pytestmark = pytest.mark.integration

REMEDY = ("--with-deps", "--sysroot", "--lib-path")


def test_missing_xen_libraries_fail_with_the_remedy(qemu_binary, tmp_path, monkeypatch,
                                                    capsys):
    b = str(qemu_binary)
    # scan: the 16 libxenctrl imports are unstable by the library's name, --fail-on fails.
    assert main(["scan", "--fail-on", "unstable", "-f", "json", b]) == 1
    cap = capsys.readouterr()
    data = json.loads(cap.out)
    assert data["notes"][0].startswith("libraries not found: libxenctrl.so.4.17, ")
    presumed = [x for x in audit_from_json(cap.out).consumers[0].bindings
                if x.status == "unresolved" and x.stability == "unstable"]
    assert {x.symbol.name for x in presumed} == QEMU_72_XC
    assert {(x.provider, x.symbol.version) for x in presumed} == {
        ("libxenctrl.so.4.17", "VERS_4.17.0")}
    line = next(ln for ln in cap.err.splitlines() if "libraries not found" in ln)
    assert all(r in line for r in REMEDY)
    # gate: exit 2 with that line; the baseline untouched, also by --update-baseline.
    monkeypatch.chdir(tmp_path)
    baseline = tmp_path / "B.toml"
    text = (f'schema = 1\n[consumers."{b}"]\nlibxenctrl = [\n'
            + "".join(f'  "{s}",\n' for s in sorted(QEMU_72_XC)) + "]\n")
    baseline.write_text(text)
    for extra in ((), ("--update-baseline",)):
        assert main(["gate", "--baseline", str(baseline), *extra, b]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "libraries not found: libxenctrl.so.4.17" in err
        assert all(r in err for r in REMEDY) and "--allow-unresolved" in err
        assert baseline.read_text() == text
    assert main(["gate", "--baseline", str(baseline), "--allow-unresolved", b]) == 0
    assert "0 new, 0 gone, 16 in the baseline" in capsys.readouterr().out
    # where: the targets are what the policy knows: libxenctrl's 16 imports.
    assert main(["where", "-f", "json", b]) == 0
    where = json.loads(capsys.readouterr().out)
    assert set(where["targets"]) == QEMU_72_XC
    assert {s["symbol"] for s in where["callsites"]} == QEMU_72_XC
