"""Fixtures of the integration tests: real Debian data (helpers.realdata: apt's candidates,
downloaded once into abiguard's cache and checked by SHA-256) and the two-suite apt machine
(helpers.aptmachine)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from abiguard.debian.srcpkg import fetch_source_package
from helpers import aptmachine
from helpers.realdata import QEMU_BINARY, qemu_debs, unpacked


@pytest.fixture(scope="session")
def qemu_binary() -> Path:
    """Debian's qemu-system-xen program, its package alone unpacked with dpkg-deb -x into this
    run's directory (none of the libraries it needs next to it)."""
    assert shutil.which("apt-get") and shutil.which("dpkg-deb"), "needs apt-get and dpkg-deb"
    path = unpacked(qemu_debs()[0]) / QEMU_BINARY.lstrip("/")
    assert path.is_file()
    return path


@pytest.fixture(scope="session")
def qemu_src() -> Path:
    """The qemu source (7.2) the machine's qemu-system-xen was built from (``apt-get source``,
    kept in abiguard's cache; see abiguard.debian.srcpkg)."""
    assert shutil.which("apt-get") and shutil.which("dpkg-source"), \
        "needs apt-get and dpkg-source (Debian package dpkg-dev)"
    root = fetch_source_package("qemu")
    assert (root / "hw" / "i386" / "xen" / "xen-hvm.c").is_file()
    assert (root / "VERSION").read_text().startswith("7.2")
    return root


@pytest.fixture(scope="module")
def two_suite() -> Iterator[dict]:
    """APT_CONFIG set to the two-suite machine (bookworm, trixie pinned at 100) for the tests
    of the module that uses it."""
    conf, release, other = aptmachine.two_suite_config()
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("APT_CONFIG", str(conf))
        yield {"conf": conf, "release": release, "other": other}
