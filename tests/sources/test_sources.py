"""Input sources: the registry's precedence rules, and a kind added through the registry alone
(tests/helpers/toykind.py: a tar archive of a package tree) that scan, census and impact then take."""

from __future__ import annotations

import json
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from abiguard.census.store import Store
from abiguard.cli import main
from abiguard.jsonform import audit_from_json
from abiguard.model import Audit
from abiguard.sources import (
    REGISTRY,
    Collected,
    RootSource,
    Source,
    collect,
    collect_sources,
    recognise,
    unregister,
)
from helpers.cfixtures import program, shared_lib
from helpers.debbuild import build_deb

# --------------------------------------------------------------------------------------------
# Precedence
# --------------------------------------------------------------------------------------------


def kind(spec: str, suite: str | None = None) -> str:
    return recognise(spec, suite).kind


def test_package_names_suites_and_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert REGISTRY.kinds()[:6] == ["suite", "apt", "directory", "deb", "file", "missing"]
    assert kind("qemu-system-xen") == kind("libfoo=1.2-3") == "apt"
    src = recognise("apt:libx=1.2/trixie")
    assert (src.kind, getattr(src, "name", None), src.suite) == ("suite", "libx=1.2", "trixie")
    assert recognise("qemu-system-xen", "trixie").suite == "trixie"  # --suite for plain names
    # an existing path wins over a package name (and over NAME/SUITE) ...
    Path("qemu-system-xen").write_bytes(b"\x7fELF")
    (tmp_path / "pkg" / "trixie").mkdir(parents=True)
    assert kind("qemu-system-xen") == "file" and kind("pkg/trixie") == "directory"
    assert recognise("pkg/trixie", "trixie").suite is None  # paths have no suite
    # ... except that apt: forces a name
    assert kind("apt:qemu-system-xen") == "apt"
    assert kind("./no-such-file") == kind("No_Such_Name") == "missing"
    os.mkfifo("fifo")
    assert kind("fifo") == "missing"
    shutil.copy("/bin/true", "true.deb")  # a .deb by name only: a file (and its error)
    assert kind("true.deb") == "file"


def test_registering(tmp_path):
    class Early(Source):
        kind = "early"

        @classmethod
        def recognise(cls, spec: str, suite: str | None) -> Early | None:
            return cls(spec) if spec.startswith("early:") else None

        def collect(self, ctx) -> None:
            ctx.error(self.spec, "collected by the early kind")

    REGISTRY.register(Early, before="suite")
    try:
        assert REGISTRY.register(Early) is Early and REGISTRY.kinds()[0] == "early"
        with pytest.raises(ValueError, match="already registered"):
            REGISTRY.register(type("Other", (Early,), {}))
        with collect(["early:x", str(tmp_path / "gone")]) as c:
            assert [(e.path, e.message) for e in c.errors] == [
                ("early:x", "collected by the early kind"),
                (str(tmp_path / "gone"), "no such file or directory")]
    finally:
        unregister("early")
    assert "early" not in REGISTRY.kinds() and kind("early:x") == "missing"
    with pytest.raises(ValueError, match="no input kind named"):
        REGISTRY.register(Early, before="nothing")


# --------------------------------------------------------------------------------------------
# A kind added through the registry only
# --------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> dict[str, Path]:
    """One package, three ways: a tree, its .deb (dpkg-deb) and its tar archive."""
    d = tmp_path_factory.mktemp("toytar")
    root = d / "tool"
    lib = root / "usr/lib/x86_64-linux-gnu"
    shared_lib(lib, "libunst.so.4.17", "int unst_open(void) { return 3; }",
               version_script="VERS_4.17.0 { global: unst_*; local: *; };")
    program(root / "usr/bin", "tool", "int unst_open(void); int main(void){return unst_open();}",
            link=(f"-L{lib}", "-l:libunst.so.4.17"))
    for extra in ("usr/bin/tool.c", f"{lib.relative_to(root)}/libunst.c",
                  f"{lib.relative_to(root)}/libunst.map", f"{lib.relative_to(root)}/libunst.so"):
        (root / extra).unlink()
    deb = build_deb(root, d / "pool", "tool", "1.2-3")
    tar = d / "tool.tar"
    with tarfile.open(tar, "w") as t:
        t.add(root, arcname=".")
    return {"root": root, "deb": deb, "tar": tar, "d": d}


@pytest.fixture
def toy_kind():
    from helpers import toykind

    toykind.register_kind()
    yield toykind
    unregister(toykind.KIND)


def view(audit: Audit) -> list[tuple]:
    """What a scan found, apart from where the inputs came from."""
    return sorted((c.path, c.package, tuple(sorted(
        (b.symbol.name, b.symbol.version, b.status, b.provider, b.provider_path,
         str(b.stability)) for b in c.bindings))) for c in audit.consumers)


def scan_json(capsys, *args: str) -> tuple[int, Audit]:
    rc = main(["scan", "-f", "json", *args])
    return rc, audit_from_json(capsys.readouterr().out)


def test_without_the_kind_a_tar_archive_is_an_input_error(package, capsys):
    assert "toytar" not in REGISTRY.kinds()
    rc, audit = scan_json(capsys, str(package["tar"]))
    assert rc == 2 and not audit.consumers
    assert [(e.path, e.message) for e in audit.errors] == [
        (str(package["tar"]), "not an ELF file, ar archive or .deb package")]


def test_toy_kind_scans_like_the_deb_of_the_same_package(package, toy_kind, capsys):
    rc, from_tar = scan_json(capsys, str(package["tar"]))
    assert rc == 0 and not from_tar.errors
    rc, from_deb = scan_json(capsys, str(package["deb"]))
    assert rc == 0
    assert view(from_tar) == view(from_deb)
    tool = next(c for c in from_tar.consumers if c.path == "/usr/bin/tool")
    assert tool.origin == str(package["tar"]) and tool.package == "tool 1.2-3 amd64"
    b = next(b for b in tool.bindings if b.symbol.name == "unst_open")
    assert (b.status, b.provider_path, str(b.stability)) == (
        "bound", "/usr/lib/x86_64-linux-gnu/libunst.so.4.17", "unstable")


def test_toy_kind_in_a_census(package, toy_kind, tmp_path, capsys):
    stores = {}
    for name in ("tar", "deb"):
        stores[name] = tmp_path / f"{name}.sqlite"
        assert main(["census", "-q", "-j", "1", "--no-fetch", str(package[name]),
                     "--store", str(stores[name])]) == 0
    capsys.readouterr()
    audits = {}
    for name, path in stores.items():
        with Store(str(path), create=False) as st:
            (pkg,) = st.packages()
            assert (pkg.name, pkg.version, pkg.arch, pkg.status) == (
                "tool", "1.2-3", "amd64", "ok")
            audits[name] = st.audit(pkg.id)
            if name == "tar":
                assert pkg.sha256.startswith("tar:")
    assert view(audits["tar"]) == view(audits["deb"]) and audits["tar"].consumers
    # a second run knows the archive from the file table: nothing to do
    assert main(["census", "-j", "1", "--no-fetch", str(package["tar"]),
                 "--store", str(stores["tar"]), "-f", "json"]) == 0
    run = json.loads(capsys.readouterr().out)["run"]
    assert (run["skipped"], run["done"]) == (1, 0)


def test_toy_kind_as_an_impact_library_set(package, toy_kind, capsys):
    rc = main(["impact", str(package["deb"]), "--from", str(package["tar"]),
               "--to", str(package["tar"]), "-f", "json"])
    data = json.loads(capsys.readouterr().out)
    assert rc == 0, data
    assert data["old"] == "tool 1.2-3 amd64"
    (c,) = [c for c in data["consumers"] if c["consumer"] == "/usr/bin/tool"]
    assert c["verdict"] == "runs-as-is"
    assert [s["name"] for s in c["symbols"]] == ["unst_open"]


# --------------------------------------------------------------------------------------------
# Unpacked roots
# --------------------------------------------------------------------------------------------


def test_unpacked_root_scans_like_its_deb(package, capsys):
    with collect_sources([RootSource(str(package["root"]))]) as c:
        assert isinstance(c, Collected) and not c.errors
        assert c.overlays == [str(package["root"])]
        targets = sorted(t.installed for t in c.targets)
        assert {t.package for t in c.targets} == {"tool 1.2-3 amd64"}
    with collect([str(package["deb"])]) as c:
        assert targets == sorted(t.installed for t in c.targets)
    with collect_sources([RootSource(str(package["d"] / "pool"))]) as c:
        assert [e.message for e in c.errors] == ["no unpacked package root"]


def test_census_inputs_by_kind(package, tmp_path, monkeypatch):
    from abiguard.census.sources import census_inputs, classify_inputs
    from abiguard.errors import UsageError

    monkeypatch.chdir(tmp_path)
    roots = tmp_path / "roots"
    roots.mkdir()
    shutil.copytree(package["root"], roots / "tool")
    pool = str(package["d"] / "pool")
    assert classify_inputs(["qemu-system-xen", "apt:libx=1.2", pool, str(roots)]) == (
        ["qemu-system-xen", "libx=1.2"], [str(package["deb"])], [str(roots)])
    found = census_inputs(["qemu-system-xen", pool], [str(roots)])
    assert found.names == ["qemu-system-xen"]
    assert [(r.name, r.kind, r.path) for r in found.refs] == [
        ("tool", "deb", str(package["deb"])), ("tool", "root", str(roots / "tool"))]
    assert found.packages == {"tool": str(package["deb"])}  # the .deb first
    empty = tmp_path / "empty"
    empty.mkdir()
    assert census_inputs([str(empty)]).notes == [f"{empty}: no unpacked package roots found"]
    with pytest.raises(UsageError, match="qemu-system-xen/trixie: a census takes the packages "
                                         "of one suite: give qemu-system-xen with --suite"):
        census_inputs(["qemu-system-xen/trixie"])
    with pytest.raises(UsageError, match="nope/: no such file, directory or package name"):
        census_inputs(["nope/"])
