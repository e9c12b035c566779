"""Integration: a census of Debian bookworm's packages that use Xen's libraries.

``abiguard census --source-package xen`` against apt's candidates on this machine; the packages are
downloaded once into abiguard's cache (``$ABIGUARD_CACHE`` or ``~/.cache/abiguard/debs``,
kept by SHA-256) and reused by later runs. Checks the packages against apt's own answers
(``apt-cache showsrc``, ``rdepends``, ``policy``), the matrix (qemu-system-xen imports
exactly the 16 xc_* symbols), that the Dask engine gives byte-identical results, and that a
run killed midway (kill -9) resumes to exactly the same store.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from abiguard.census.aggregate import CensusData, aggregate
from abiguard.census.store import Store
from abiguard.cli import main
from helpers import aptmachine as am
from helpers.realdata import QEMU_72_XC

pytestmark = pytest.mark.integration

ARGS = ["--source-package", "xen", "-q"]


def rows(path: Path) -> list[tuple]:
    db = sqlite3.connect(path)
    try:
        return list(db.execute("SELECT name, version, arch, sha256, status, error_kind, error, "
                               "audit FROM package ORDER BY name, version, arch, sha256"))
    finally:
        db.close()


@pytest.fixture(scope="module")
def expected() -> set[str]:
    """Every package apt-cache rdepends lists for a binary package of source xen (or a name
    one provides): the packages naming one in Pre-Depends, Depends, Recommends, Suggests
    or Enhances."""
    built, provided = am.binaries_of("xen")
    return am.rdepends(sorted(built | provided))


@pytest.fixture(scope="module")
def xen(tmp_path_factory) -> Path:
    store = tmp_path_factory.mktemp("xen") / "xen.sqlite"
    assert main(["census", *ARGS, "--store", str(store), "-j", "2"]) == 0
    return store


@pytest.fixture(scope="module")
def agg(xen):
    with Store(str(xen), create=False) as st:
        return aggregate(CensusData.from_store(st))


def test_every_package_of_source_xen_and_every_consumer_is_scanned(xen, expected):
    got = rows(xen)
    assert {r[0] for r in got} == expected
    assert len(got) == len(expected)
    assert all(r[4] == "ok" for r in got), [r[:7] for r in got if r[4] != "ok"]
    assert {r[0]: r[1] for r in got} == am.candidates(sorted(expected))


def test_matrix_of_unstable_xen_symbols(agg):
    by = {}
    for (consumer, (lib, sym)) in agg.matrix:
        by.setdefault(consumer, {}).setdefault(lib, set()).add(sym)
    # Debian's qemu: exactly the 16 xc_* functions of libxenctrl (the example)
    assert by["qemu-system-xen"] == {"libxenctrl.so.4.17": set(QEMU_72_XC)}
    # kexec-tools drives kexec through libxenctrl's xc_kexec_* calls
    kexec = by["kexec-tools"]["libxenctrl.so.4.17"]
    assert {"xc_kexec_load", "xc_kexec_unload", "xc_kexec_exec"} <= kexec
    # libvirt's libxl driver: libxenlight and libxlutil (4.17: unstable), libvirt's private node
    assert set(by["libvirt-daemon-driver-xen"]) == {"libxenlight.so.4.17", "libxlutil.so.4.17",
                                                    "libvirt.so.0"}
    assert all(s.startswith("libxl_") for s in by["libvirt-daemon-driver-xen"]
               ["libxenlight.so.4.17"])
    libvirt_private = agg.symbol(("libvirt.so.0", "virFileReadAll"))
    assert libvirt_private is not None and libvirt_private.stability == "private"
    # the stable Xen libraries use only xentoolcore's private registration hooks
    for pkg in ("libxencall1", "libxenevtchn1", "libxengnttab1", "libxenforeignmemory1",
                "libxendevicemodel1", "libxenstore4"):
        assert set(by[pkg]) == {"libxentoolcore.so.1"}
        assert by[pkg]["libxentoolcore.so.1"] <= {"xentoolcore__register_active_handle",
                                                  "xentoolcore__deregister_active_handle",
                                                  "xentoolcore__restrict_by_dup2_null"}
    # no unstable import at all
    for pkg in ("xen-utils-common", "xenstore-utils", "libxen-dev", "libxenhypfs1"):
        assert pkg not in by
    # xc_interface_open/close: the most widely used libxenctrl symbols
    xc = [s for s in agg.symbols if s.library == "libxenctrl.so.4.17"]
    assert {xc[0].symbol, xc[1].symbol} == {"xc_interface_open", "xc_interface_close"}
    assert set(xc[0].consumers) == {"collectd-core", "kexec-tools", "libxenmisc4.17",
                                    "qemu-system-xen", "xen-utils-4.17"}
    assert xc[0].group == xc[1].group is not None


def test_dask_engine_gives_identical_results(xen, tmp_path):
    import distributed

    store = tmp_path / "dask.sqlite"
    with distributed.LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                                  host="127.0.0.1", protocol="tcp", dashboard_address=None,
                                  silence_logs=40) as cluster:
        assert main(["census", *ARGS, "--store", str(store), "--scheduler",
                     cluster.scheduler_address]) == 0
    assert rows(store) == rows(xen)


def test_run_killed_midway_resumes_identically(xen, tmp_path):
    store = tmp_path / "killed.sqlite"
    env = {**os.environ, "ABIGUARD_CENSUS_SLEEP": "0.4"}
    proc = subprocess.Popen([sys.executable, "-m", "abiguard.cli", "census", *ARGS, "--store",
                             str(store), "-j", "1"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    n = 0
    deadline = time.monotonic() + 180
    while n < 5 and time.monotonic() < deadline and proc.poll() is None:
        time.sleep(0.1)
        try:
            n = len(rows(store)) if store.exists() else 0
        except sqlite3.OperationalError:
            n = 0
    proc.send_signal(signal.SIGKILL)
    proc.wait(10)
    assert 5 <= len(rows(store)) < len(rows(xen))
    assert main(["census", *ARGS, "--store", str(store), "-j", "2"]) == 0
    assert rows(store) == rows(xen)
    with Store(str(store), create=False) as st:
        runs = st.runs()
    assert runs[-1]["skipped"] >= 5 and runs[-1]["done"] + runs[-1]["skipped"] == len(
        rows(xen))
