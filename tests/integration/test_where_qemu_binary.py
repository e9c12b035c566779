"""Real data: the xc_* call sites in Debian's stripped xen-qemu-system-i386 (qemu-system-xen).

apt's candidate of qemu-system-xen, downloaded into abiguard's cache (tests/helpers/realdata.py), the
binary extracted with ``dpkg-deb -x`` into this run's temporary directory; every one of its
16 libxenctrl imports has at least one call site. Debian's debug symbols (qemu-system-xen-dbgsym) live in the separate
debian-debug archive, which is not configured here, so only the stripped attributions
(nearest-export / none) are checked.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from collections import Counter

import pytest

from abiguard.callsites.binary import binary_reference_counts, find_binary_callsites
from helpers.realdata import QEMU_72_XC

pytestmark = pytest.mark.integration


def test_every_xc_import_has_a_call_site(qemu_binary):
    counts = binary_reference_counts(str(qemu_binary))
    assert QEMU_72_XC <= set(counts)
    start = time.perf_counter()
    sites = find_binary_callsites(str(qemu_binary), set(QEMU_72_XC))
    elapsed = time.perf_counter() - start
    per_symbol = {name: [s for s in sites if s.symbol == name] for name in QEMU_72_XC}
    missing = sorted(n for n, ss in per_symbol.items() if not ss)
    assert missing == []
    assert {s.attribution for s in sites} <= {"nearest-export", "none"}    # stripped
    assert all(s.kind in ("call", "jump", "got-load", "address") for s in sites)
    # Paul Durrant: "There are three references in qemu's xen_get_default_ioreq_server_info"
    assert len(per_symbol["xc_get_hvm_param"]) == 3
    print(f"\n{qemu_binary.name}: {len(sites)} xc_* sites in {elapsed:.2f} s")
    assert elapsed < 60


def test_agrees_with_objdump(qemu_binary):
    """Per symbol, as many PLT call/jump sites as objdump's ``<xc_foo@plt>`` operands."""
    assert shutil.which("objdump"), "needs binutils' objdump"
    dis = subprocess.run(["objdump", "-d", "--no-show-raw-insn", str(qemu_binary)],
                         capture_output=True, text=True, check=True).stdout
    expected = Counter(m.group(1) for m in re.finditer(r"\s[0-9a-f]+ <(xc_\w+)@plt>(?!:)", dis))
    sites = find_binary_callsites(str(qemu_binary), set(QEMU_72_XC))
    got = Counter(s.symbol for s in sites if s.kind in ("call", "jump"))
    assert got == expected
    assert sum(got.values()) == 34          # Debian bookworm's 1:7.2+dfsg-7+deb12u*


def test_all_imports(qemu_binary):
    counts = binary_reference_counts(str(qemu_binary))
    sites = find_binary_callsites(str(qemu_binary), None)
    with_sites = {s.symbol for s in sites}
    assert set(counts) - with_sites == set()
