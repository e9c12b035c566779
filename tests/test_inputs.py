""".deb inputs, directories and hostile packages."""

from __future__ import annotations

import json
import os
import subprocess
import tarfile
from pathlib import Path

import pytest

from abiguard import limits
from abiguard.cli import main
from abiguard.debian.deb import unpack_deb
from abiguard.errors import InputFileError
from abiguard.inputs import collect, walk
from abiguard.jsonform import audit_from_json
from helpers.cfixtures import program, shared_lib, write
from helpers.debbuild import ar_pack, fake_deb, file_entry


@pytest.fixture(scope="module")
def built_deb(tmp_path_factory) -> Path:
    """A real .deb built with dpkg-deb: a program and its unstable library."""
    d = tmp_path_factory.mktemp("deb")
    pkg = d / "pkg"
    lib = pkg / "usr/lib/x86_64-linux-gnu"
    shared_lib(lib, "libunst.so.4.17", "int unst_open(void) { return 3; }",
               version_script="VERS_4.17.0 { global: unst_*; local: *; };")
    (lib / "libunst.so").unlink()
    program(pkg / "usr/bin", "tool", "int unst_open(void); int main(void){return unst_open();}",
            link=(f"-L{lib}", "-l:libunst.so.4.17"))
    (pkg / "usr/bin/tool.c").unlink()
    (lib / "libunst.c").unlink()
    (lib / "libunst.map").unlink()
    write(pkg / "DEBIAN/control", """
        Package: tool
        Version: 1.2-3
        Architecture: amd64
        Maintainer: t <t@example.org>
        Description: test
    """)
    out = d / "tool_1.2-3_amd64.deb"
    subprocess.run(["dpkg-deb", "-Zxz", "--root-owner-group", "--build", pkg, out], check=True,
                   capture_output=True)
    return out


def test_deb_is_unpacked_scanned_and_its_libraries_resolve(built_deb, capsys):
    assert main(["scan", "--format", "json", str(built_deb)]) == 0
    by_path = {c.path: c for c in audit_from_json(capsys.readouterr().out).consumers}
    assert set(by_path) == {"/usr/bin/tool", "/usr/lib/x86_64-linux-gnu/libunst.so.4.17"}
    tool = by_path["/usr/bin/tool"]
    assert tool.package == "tool 1.2-3 amd64"
    b = next(b for b in tool.bindings if b.symbol.name == "unst_open")
    assert (b.stability, b.provider, b.provider_path) == (
        "unstable", "libunst.so.4.17", "/usr/lib/x86_64-linux-gnu/libunst.so.4.17")


def test_unpacked_temp_dirs_are_private_and_removed(built_deb, tmp_path, empty_cache):
    with limits.override(max_unpacked_bytes=1 << 30), collect([str(built_deb)]) as c:
        (root,) = c.overlays  # (other limits than the defaults: a private temporary tree)
        assert os.stat(root).st_mode & 0o777 == 0o700
        assert os.path.isfile(os.path.join(root, "usr/bin/tool"))
    assert not os.path.exists(root)
    with collect([str(built_deb)]) as c:
        (root,) = c.overlays  # (the defaults: the tree kept by content, in a private place)
        assert os.stat(os.path.dirname(root)).st_mode & 0o777 == 0o700
        assert os.path.isfile(os.path.join(root, "usr/bin/tool"))
        assert root.startswith(str(empty_cache / "unpacked"))
    assert os.path.isfile(os.path.join(root, "usr/bin/tool"))


@pytest.mark.parametrize("entry, message", [
    (file_entry("../escape", b"x"), "refused: member '../escape' of data.tar.gz points outside"),
    (file_entry("/etc/passwd", b"x"), "refused: member '/etc/passwd' of data.tar.gz points"),
    ("link-out", "refused: symlink './usr/lib/evil' -> '../../../../etc/shadow' points outside"),
    ("device", "refused: member './dev/sda' is a device or fifo"),
])
def test_hostile_members_are_refused(tmp_path, entry, message):
    if entry == "link-out":
        entry = tarfile.TarInfo("./usr/lib/evil")
        entry.type, entry.linkname = tarfile.SYMTYPE, "../../../../etc/shadow"
    elif entry == "device":
        entry = tarfile.TarInfo("./dev/sda")
        entry.type = tarfile.BLKTYPE
    deb = fake_deb(tmp_path / "evil.deb", [entry])
    root = tmp_path / "root"
    root.mkdir()
    with pytest.raises(InputFileError) as exc:
        unpack_deb(str(deb), str(root))
    assert str(exc.value).startswith(f"{deb}: {message}")
    assert not (tmp_path / "escape").exists()


def test_absolute_symlinks_stay_inside_the_package(tmp_path):
    link = tarfile.TarInfo("./usr/lib/libx.so")
    link.type, link.linkname = tarfile.SYMTYPE, "/usr/lib/libx.so.1"
    deb = fake_deb(tmp_path / "ok.deb", [file_entry("./usr/lib/libx.so.1", b"\x7fELF junk"),
                                         link])
    root = tmp_path / "root"
    root.mkdir()
    unpack_deb(str(deb), str(root))
    assert os.readlink(root / "usr/lib/libx.so") == "libx.so.1"


def test_decompression_bomb_stops_at_the_limit(tmp_path):
    deb = fake_deb(tmp_path / "bomb.deb", [file_entry("./usr/bin/a", b"\x7fELF" + bytes(4000)),
                                           file_entry("./usr/bin/b", b"\x7fELF" + bytes(4000))])
    with pytest.raises(InputFileError, match="unpacked size exceeds 5000 bytes"):
        unpack_deb(str(deb), str(tmp_path), max_bytes=5000)


def test_corrupt_and_fake_debs_are_input_errors(tmp_path, capsys):
    good = fake_deb(tmp_path / "good.deb", [file_entry("./usr/share/doc/x", b"text")], "docs")
    corrupt = tmp_path / "corrupt.deb"
    corrupt.write_bytes(good.read_bytes()[:-40])
    nodata = ar_pack(tmp_path / "nodata.deb", [("debian-binary", b"2.0\n")])
    rc = main(["scan", "--format", "json", str(good), str(corrupt), str(nodata)])
    captured = capsys.readouterr()
    assert rc == 2
    data = json.loads(captured.out)
    errors = {e["path"]: e["message"] for e in data["errors"]}
    assert set(errors) == {str(corrupt), str(nodata)}
    assert errors[str(nodata)].startswith("not a valid .deb package")
    assert data["notes"] == ["docs 1.0 amd64: no ELF files in the package"]
    assert "Traceback" not in captured.err


def test_unknown_package_name_is_an_input_error(capsys, tmp_path, empty_cache):
    rc = main(["scan", "apt:no-such-package-abiguard-test"])
    captured = capsys.readouterr()
    assert rc == 2
    assert "no-such-package-abiguard-test" in captured.err
    assert len(captured.err.strip().splitlines()) == 1


def test_directory_walk_follows_symlinks_once(tmp_path):
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "f").write_bytes(b"x")
    (tmp_path / "a" / "loop").symlink_to(tmp_path)
    (tmp_path / "alias").symlink_to(tmp_path / "a" / "f")
    (found,) = walk(str(tmp_path))  # a/f and its alias are one file; the loop ends
    assert os.path.samefile(found, tmp_path / "a" / "f")


def _dpkg_build(pkg: Path, name: str, out: Path) -> Path:
    write(pkg / "DEBIAN/control", f"""
        Package: {name}
        Version: 1.0
        Architecture: amd64
        Maintainer: t <t@example.org>
        Description: test
    """)
    subprocess.run(["dpkg-deb", "--root-owner-group", "--build", pkg, out], check=True,
                   capture_output=True)
    return out


def test_provider_package_shipping_under_slash_lib(tmp_path, capsys):
    """A library package that installs into /lib/<triplet> (not /usr/lib) still provides."""
    lib = tmp_path / "libpkg/lib/x86_64-linux-gnu"
    shared_lib(lib, "libmu.so.1", "int mu(void) { return 1; }")
    for extra in ("libmu.c", "libmu.so"):
        (lib / extra).unlink()
    app = tmp_path / "apppkg/usr/bin"
    program(app, "app", "int mu(void); int main(void) { return mu(); }",
            link=(f"-L{lib}", "-l:libmu.so.1"))
    (app / "app.c").unlink()
    libdeb = _dpkg_build(tmp_path / "libpkg", "libmu1", tmp_path / "libmu1.deb")
    appdeb = _dpkg_build(tmp_path / "apppkg", "app", tmp_path / "app.deb")
    assert main(["scan", "--format", "json", str(appdeb), "--provider", str(libdeb)]) == 0
    (c,) = audit_from_json(capsys.readouterr().out).consumers
    b = next(b for b in c.bindings if b.symbol.name == "mu")
    assert (b.status, b.provider_path) == ("bound", "/lib/x86_64-linux-gnu/libmu.so.1")
