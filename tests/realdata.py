"""Real Debian packages for integration tests, fetched with apt-get download and cached.

The cache is abiguard's own (``$ABIGUARD_CACHE`` or ``~/.cache/abiguard``), so a second
run, or CI on a machine that ran the tests before, does not download again.
"""

from __future__ import annotations

import subprocess
from functools import cache
from pathlib import Path

from abiguard.inputs import apt_download, cache_dir, library_dependencies

QEMU = "qemu-system-xen"
QEMU_BINARY = "/usr/libexec/xen-qemu-system-i386"

# The 16 libxenctrl symbols Debian bookworm's qemu 7.2 imports (readelf --dyn-syms).
QEMU_72_XC = frozenset(["xc_domain_bind_pt_pci_irq", "xc_domain_iomem_permission", "xc_domain_ioport_mapping", "xc_domain_memory_mapping", "xc_domain_populate_physmap_exact", "xc_domain_shutdown", "xc_domain_unbind_msi_irq", "xc_domain_unbind_pt_irq", "xc_domain_update_msi_irq", "xc_get_hvm_param", "xc_interface_close", "xc_interface_open", "xc_physdev_map_pirq", "xc_physdev_map_pirq_msi", "xc_physdev_unmap_pirq", "xc_set_hvm_param"])


@cache
def qemu_debs() -> tuple[Path, list[Path]]:
    """(qemu-system-xen .deb, the library .debs it needs that this machine lacks)."""
    got = apt_download([QEMU], cache_dir() / "debs")
    deps = library_dependencies([str(got[QEMU])])
    return got[QEMU], sorted(deps.values())


@cache
def qemu_root() -> Path:
    """qemu-system-xen and its library packages unpacked with dpkg-deb into one root."""
    deb, deps = qemu_debs()
    root = cache_dir() / "test-roots" / deb.stem
    done = root / ".complete"
    if not done.exists():
        root.mkdir(parents=True, exist_ok=True)
        for d in [deb, *deps]:
            subprocess.run(["dpkg-deb", "-x", str(d), str(root)], check=True)
        done.write_text("ok\n")
    return root


@cache
def xen_census_store() -> Path:
    """A census of every bookworm package depending on a libxen* package (abiguard census
    --rdepends 'libxen*'), made once per test session in a fresh temporary directory (the
    downloaded .debs come from the cache, the results do not)."""
    import atexit
    import shutil
    import tempfile

    from abiguard.cli import main

    d = Path(tempfile.mkdtemp(prefix="abiguard-xen-census-"))
    atexit.register(shutil.rmtree, d, True)
    store = d / "xen.sqlite"
    assert main(["census", "--rdepends", "libxen*", "-q", "--store", str(store), "-j", "2"]) == 0
    return store
