"""Integration: the stability verdicts on real Debian programs (issue 15's list).

Small tools are scanned where they are installed (scripts/setup-debian.sh installs them);
systemd, llvm-14 and heaptrack are scanned from their .debs (downloaded once with apt-get
download, with the library packages they need: --with-deps), so no big install is needed.
"""

from __future__ import annotations

import json

import pytest

from abiguard.cli import main
from abiguard.jsonform import audit_from_json
from abiguard.model import to_dict

pytestmark = pytest.mark.integration


def scan(capsys, *args: str) -> dict:
    """The scan's JSON read through the model (schema 2 leaves derived fields out), as a
    dict with every field."""
    assert main(["scan", "-q", "-f", "json", *args]) == 0
    return to_dict(audit_from_json(capsys.readouterr().out))


def consumer(data: dict, path: str) -> dict:
    (c,) = [c for c in data["consumers"] if c["path"] == path]
    return c


def library(c: dict, key: str) -> dict:
    (lib,) = [x for x in c["libraries"] if (x.get("soname") or x["name"]) == key]
    return lib


def test_busctl_imports_a_private_library(capsys):
    c = consumer(scan(capsys, "--with-deps", "systemd"), "/usr/bin/busctl")
    lib = library(c, "libsystemd-shared-252.so")
    assert lib["found_via"] == "RUNPATH"
    assert lib["stability"] == "private"
    head = lib["evidence"][0]
    assert head["source"] == "location"
    assert "/usr/lib/x86_64-linux-gnu/systemd" in head["detail"]
    assert "also: naming: -release name (release 252)" in head["detail"]
    # the evidence is true of the file: it has the version node SD_SHARED
    nodes = [e for e in lib["evidence"] if e["source"] == "version-node"]
    assert nodes and "SD_SHARED" in nodes[0]["detail"]
    assert "no symbol versions" not in json.dumps(lib["evidence"])
    private = {b["symbol"]["name"] for b in c["bindings"] if b.get("stability") == "private"}
    assert len(private) > 100


def test_llc_14_imports_unstable_llvm(capsys):
    c = consumer(scan(capsys, "--with-deps", "llvm-14"), "/usr/bin/llc-14")
    lib = library(c, "libLLVM-14.so.1")
    assert lib["stability"] == "unstable"
    assert lib["evidence"][0]["source"] == "policy"  # LLVM's own developer policy
    assert "llvm.org/docs/DeveloperPolicy" in lib["evidence"][0]["detail"]
    assert "history" in lib["evidence"][0]["detail"] or any(
        e["source"] == "history" for e in lib["evidence"])
    assert any(e["source"] == "version-node" and "LLVM_14" in e["detail"]
               for e in lib["evidence"])


def test_heaptrack_print_imports_unstable_boost(capsys):
    c = consumer(scan(capsys, "--with-deps", "heaptrack"), "/usr/bin/heaptrack_print")
    boost = [x for x in c["libraries"] if (x.get("soname") or "").startswith("libboost_")]
    assert boost and all(x["stability"] == "unstable" for x in boost)
    assert {x["soname"] for x in boost} >= {"libboost_iostreams.so.1.74.0",
                                            "libboost_program_options.so.1.74.0"}
    assert any(b.get("provider", "").startswith("libboost_") and b["stability"] == "unstable"
               for b in c["bindings"])


def test_bzip2_and_dmsetup_import_stable_libraries(capsys):
    c = consumer(scan(capsys, "/usr/bin/bzip2"), "/usr/bin/bzip2")
    lib = library(c, "libbz2.so.1.0")
    assert lib["stability"] == "stable" and lib["evidence"][0]["source"] == "history"
    assert "overrides: soname: soname has 2 numbers (1.0)" in lib["evidence"][0]["detail"]
    c = consumer(scan(capsys, "/usr/sbin/dmsetup"), "/usr/sbin/dmsetup")
    lib = library(c, "libdevmapper.so.1.02.1")
    assert lib["stability"] == "stable"
    assert lib["evidence"][0]["detail"].startswith(
        "Debian bullseye, bookworm, trixie: libdevmapper1.02.1 unchanged across 3 releases "
        "while upstream moved 1.02.175 → 1.02.205")
    assert "overrides: soname: soname has 3 numbers (1.02.1)" in lib["evidence"][0]["detail"]


@pytest.mark.parametrize("program", ["/usr/bin/openssl", "/usr/bin/curl", "/usr/bin/ssh",
                                     "/usr/bin/git"])
def test_common_tools_import_nothing_unstable_or_private(capsys, program):
    c = consumer(scan(capsys, program), program)
    bad = [(b["symbol"]["name"], b["provider"], b["stability"]) for b in c["bindings"]
           if b.get("stability") in ("unstable", "private")]
    assert bad == []
    direct = [(x["name"], x["stability"]) for x in c["libraries"] if x["depth"] == 1]
    assert direct and all(st == "stable" for _, st in direct), direct
