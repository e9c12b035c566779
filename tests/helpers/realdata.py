"""Real Debian packages for integration tests.

Which version: apt's candidate (or exactly the version asked for), through abiguard's own
apt client (abiguard.debian.apt) under the apt configuration in force (``APT_CONFIG``
honoured). The .debs are downloaded once into abiguard's cache (``$ABIGUARD_CACHE`` or
``~/.cache/abiguard``), kept by SHA-256 and checked against apt's record before each use.

Derived trees (packages unpacked with ``dpkg-deb -x``) are made in a temporary directory of
this test run, removed when it ends: a tree one test made never changes what another finds.
"""

from __future__ import annotations

import atexit
import hashlib
import shutil
import subprocess
import tempfile
from functools import cache
from pathlib import Path

from abiguard.debian.apt import client, installed_versions
from abiguard.debian.suites import apt_for, fetch

QEMU = "qemu-system-xen"
QEMU_BINARY = "/usr/libexec/xen-qemu-system-i386"

# The 16 libxenctrl symbols Debian bookworm's qemu 7.2 imports (readelf --dyn-syms).
QEMU_72_XC = frozenset(["xc_domain_bind_pt_pci_irq", "xc_domain_iomem_permission", "xc_domain_ioport_mapping", "xc_domain_memory_mapping", "xc_domain_populate_physmap_exact", "xc_domain_shutdown", "xc_domain_unbind_msi_irq", "xc_domain_unbind_pt_irq", "xc_domain_update_msi_irq", "xc_get_hvm_param", "xc_interface_close", "xc_interface_open", "xc_physdev_map_pirq", "xc_physdev_map_pirq_msi", "xc_physdev_unmap_pirq", "xc_set_hvm_param"])


@cache
def run_dir() -> Path:
    """This test run's directory of derived trees (removed at exit)."""
    d = Path(tempfile.mkdtemp(prefix="abiguard-test-run-"))
    atexit.register(shutil.rmtree, d, ignore_errors=True)
    return d


def deb(spec: str, suite: str | None = None) -> Path:
    """The .deb of ``NAME`` (apt's candidate) or ``NAME=VERSION``, of this machine or of
    another suite."""
    apt, derived = apt_for(suite)
    return fetch(apt, [spec], derived)[spec]


@cache
def unpacked(*debs: Path) -> Path:
    """The packages unpacked with dpkg-deb -x into one tree of this run."""
    key = hashlib.sha256("\0".join(map(str, debs)).encode()).hexdigest()[:16]
    root = run_dir() / f"root-{key}"
    root.mkdir()
    for d in debs:
        subprocess.run(["dpkg-deb", "-x", str(d), str(root)], check=True)
    return root


@cache
def qemu_debs() -> tuple[Path, list[Path]]:
    """(qemu-system-xen .deb, the library .debs it needs that this machine lacks)."""
    apt = client()
    rec = apt.candidates([QEMU])[QEMU]
    assert rec is not None, f"apt has no candidate for {QEMU}"
    installed = installed_versions()
    deps = [d for d in apt.closure([rec], exclude=[QEMU]) if installed.get(d.name) != d.version]
    return apt.fetch([rec])[QEMU], sorted(apt.fetch(deps).values())


@cache
def qemu_root() -> Path:
    """qemu-system-xen and its library packages unpacked with dpkg-deb into one tree."""
    qemu, deps = qemu_debs()
    return unpacked(qemu, *deps)


@cache
def xen_census_store() -> Path:
    """A census of every package using a libxen* package (abiguard census --rdepends
    'libxen*'), made once per test run in this run's directory (the downloaded .debs come
    from the cache, the results do not)."""
    from abiguard.cli import main

    store = run_dir() / "xen-census" / "xen.sqlite"
    store.parent.mkdir()
    assert main(["census", "--rdepends", "libxen*", "-q", "--store", str(store), "-j", "2"]) == 0
    return store
