"""abiguard impact on gcc-built library versions: runs as is, needs rebuild only, needs
source changes (gone symbols, changed prototypes), moved symbols; libraries and headers from
directories and from .deb packages."""

from __future__ import annotations

import json
import subprocess
import textwrap
from pathlib import Path

import pytest

from abiguard.cli import main
from abiguard.model import SCHEMA_VERSION
from helpers.cfixtures import program, shared_lib, write

V417 = """
    int xu_open(void) { return 1; }
    int xu_map(int domid, int bus) { return domid + bus; }
    int xu_update(int domid, int value) { return domid + value; }
    int xu_retired(void) { return 4; }
    int xu_moving(void) { return 5; }
"""
H417 = """
    int xu_open(void);
    int xu_map(int domid, int bus);
    int xu_update(int domid, int value);
    int xu_retired(void);
    int xu_moving(void);
"""
# 4.17.1: same soname and node, one more function (an ABI-compatible update).
V4171 = V417 + "    int xu_extra(void) { return 6; }\n"
# 4.20 with only a parameter renamed: rebuild only.
H420_COMPAT = H417.replace("int bus", "int segbus")
# 4.20 with real changes: xu_update grows a parameter, xu_retired is gone, xu_moving moved to
# the stable libxs.so.1.
V420 = """
    int xu_open(void) { return 1; }
    int xu_map(int domid, int segbus) { return domid + segbus; }
    int xu_update(int domid, int value, unsigned int flags) { return domid + value + flags; }
"""
H420 = """
    int xu_open(void);
    int xu_map(int domid, int segbus);
    int xu_update(int domid, int value, unsigned int flags);
"""


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("impact")
    shared_lib(d / "v417", "libxu.so.4.17", V417,
               version_script="VERS_4.17.0 { global: xu_*; local: *; };")
    shared_lib(d / "v4171", "libxu.so.4.17", V4171,
               version_script="VERS_4.17.0 { global: xu_*; local: *; };")
    shared_lib(d / "v420c", "libxu.so.4.20", V417,
               version_script="libxu_4.20.0 { global: xu_*; local: *; };")
    shared_lib(d / "v420", "libxu.so.4.20", V420,
               version_script="libxu_4.20.0 { global: xu_*; local: *; };")
    shared_lib(d / "v420", "libxs.so.1", "int xu_moving(void) { return 5; }",
               version_script="XS_1.0 { global: xu_moving; local: *; };")
    write(d / "inc417" / "xu.h", H417)
    write(d / "inc420c" / "xu.h", H420_COMPAT)
    write(d / "inc420" / "xu.h", H420)
    app = program(d / "app", "app", """
        int xu_open(void); int xu_map(int, int); int xu_update(int, int);
        int xu_retired(void); int xu_moving(void);
        int main(void) {
            return xu_open() + xu_map(1, 2) + xu_update(3, 4) + xu_retired() + xu_moving();
        }
    """, link=(f"-L{d / 'v417'}", "-lxu"))
    return {"d": d, "app": app}


def impact(world, new: str, *extra: str, headers: str | None = None, capsys=None) -> dict:
    d = world["d"]
    args = ["impact", str(world["app"]), "--from", str(d / "v417"), "--to", str(d / new),
            "-f", "json", *extra]
    if headers:
        args += ["--headers-from", str(d / "inc417"), "--headers-to", str(d / headers)]
    rc = main(args)
    data = json.loads(capsys.readouterr().out)
    data["rc"] = rc
    return data


def test_same_soname_and_node_runs_as_is(world, capsys) -> None:
    data = impact(world, "v4171", headers="inc417", capsys=capsys)
    assert data["kind"] == "impact" and data["schema"] == SCHEMA_VERSION and data["rc"] == 0
    (c,) = data["consumers"]
    assert c["verdict"] == "runs-as-is"
    assert {s["status"] for s in c["symbols"]} == {"same"}
    assert {s["prototype"]["status"] for s in c["symbols"]} == {"same"}
    assert c["libraries"] == [{"family": "libxu", "old_soname": "libxu.so.4.17",
                               "new_soname": "libxu.so.4.17"}]


def test_soname_change_with_compatible_headers_needs_rebuild_only(world, capsys) -> None:
    data = impact(world, "v420c", "--fail-on", "needs-source-changes", headers="inc420c",
                  capsys=capsys)
    assert data["rc"] == 0
    (c,) = data["consumers"]
    assert c["verdict"] == "needs-rebuild"
    assert c["source_changes"] == []
    syms = {s["name"]: s for s in c["symbols"]}
    assert set(syms) == {"xu_open", "xu_map", "xu_update", "xu_retired", "xu_moving"}
    for s in syms.values():
        assert (s["status"], s["old_library"], s["old_version"], s["new_library"],
                s["new_version"]) == ("rebuild", "libxu.so.4.17", "VERS_4.17.0",
                                      "libxu.so.4.20", "libxu_4.20.0")
    assert syms["xu_map"]["prototype"]["status"] == "compatible"
    assert syms["xu_map"]["prototype"]["changes"] == ["parameter 2 renamed: bus -> segbus"]
    assert ("soname changes libxu.so.4.17 -> libxu.so.4.20: the binary must be relinked"
            in c["reasons"])
    assert impact(world, "v420c", "--fail-on", "needs-rebuild", capsys=capsys)["rc"] == 1


def test_gone_moved_and_changed_need_source_changes(world, capsys) -> None:
    data = impact(world, "v420", "--fail-on", "needs-source-changes", headers="inc420",
                  capsys=capsys)
    assert data["rc"] == 1
    (c,) = data["consumers"]
    assert c["verdict"] == "needs-source-changes"
    syms = {s["name"]: s for s in c["symbols"]}
    assert syms["xu_retired"]["status"] == "gone"
    assert syms["xu_retired"]["prototype"]["status"] == "gone"
    assert (syms["xu_moving"]["status"], syms["xu_moving"]["new_library"],
            syms["xu_moving"]["new_version"]) == ("moved", "libxs.so.1", "XS_1.0")
    assert syms["xu_update"]["prototype"]["changes"] == [
        "parameter added: unsigned int flags (position 3)"]
    assert syms["xu_update"]["status"] == "rebuild"
    assert syms["xu_open"]["prototype"]["status"] == "same"
    # xu_moving is no longer declared in the new headers either.
    assert c["source_changes"] == ["xu_moving", "xu_retired", "xu_update"]
    assert "1 symbol(s) gone: xu_retired" in c["reasons"]
    assert "xu_moving now only in libxs.so.1: link it" in c["reasons"]


def test_without_headers_prototypes_are_unknown(world, capsys) -> None:
    data = impact(world, "v420c", capsys=capsys)
    (c,) = data["consumers"]
    assert c["verdict"] == "needs-rebuild"
    assert {s["prototype"]["status"] for s in c["symbols"]} == {"unknown"}
    assert "prototypes not compared (give --headers-from and --headers-to)" in c["reasons"]
    assert data["headers_checked"] is False


def test_text_and_markdown(world, capsys) -> None:
    d = world["d"]
    base = ["impact", str(world["app"]), "--from", str(d / "v417"), "--to", str(d / "v420"),
            "--headers-from", str(d / "inc417"), "--headers-to", str(d / "inc420")]
    assert main(base) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "verdict: needs source changes" in out
    assert "xu_update rebuild VERS_4.17.0 -> libxu_4.20.0 changed: parameter added" in out
    assert "- int xu_update(int domid, int value); (xu.h:3)" in out
    assert "+ int xu_update(int domid, int value, unsigned int flags); (xu.h:3)" in out
    assert main([*base, "-f", "markdown"]) == 0
    md = capsys.readouterr().out
    assert "**Verdict: needs source changes.**" in md
    assert "| `xu_retired` | gone | VERS_4.17.0 -> - | gone: no longer declared" in md


def test_usage_errors(world, capsys) -> None:
    d = world["d"]
    assert main(["impact", str(world["app"]), "--from", str(d / "v417"), "--to",
                 str(d / "nowhere")]) == 2
    assert "nowhere: no such file, directory or package" in capsys.readouterr().err
    assert main(["impact", str(world["app"]), "--from", str(d / "v417"), "--to",
                 str(d / "v420"), "--headers-from", str(d / "inc417")]) == 2
    assert "give both --headers-from and --headers-to" in capsys.readouterr().err


def _deb(root: Path, name: str, version: str, files: dict[str, Path | str]) -> Path:
    pkg = root / f"{name}-pkg"
    for rel, src in files.items():
        dest = pkg / rel.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_bytes(src.read_bytes() if isinstance(src, Path) else src.encode())
    write(pkg / "DEBIAN" / "control", textwrap.dedent(f"""\
        Package: {name}
        Version: {version}
        Architecture: amd64
        Maintainer: t <t@example.org>
        Description: test
    """))
    out = root / f"{name}_{version}_amd64.deb"
    subprocess.run(["dpkg-deb", "--root-owner-group", "-Zgzip", "-b", str(pkg), str(out)],
                   check=True, capture_output=True)
    return out


def test_library_sets_and_headers_from_debs(world, tmp_path: Path, capsys) -> None:
    d = world["d"]
    lib = "/usr/lib/x86_64-linux-gnu"
    old = _deb(tmp_path, "libxu4.17", "4.17-1", {f"{lib}/libxu.so.4.17": d / "v417" /
                                                 "libxu.so.4.17"})
    new = _deb(tmp_path, "libxu4.20", "4.20-1", {f"{lib}/libxu.so.4.20": d / "v420c" /
                                                 "libxu.so.4.20"})
    hold = _deb(tmp_path, "libxu-dev", "4.17-1", {"/usr/include/xu.h": d / "inc417" / "xu.h"})
    (tmp_path / "n").mkdir()
    hnew = _deb(tmp_path / "n", "libxu-dev", "4.20-1", {"/usr/include/xu.h":
                                                        d / "inc420c" / "xu.h"})
    assert main(["impact", str(world["app"]), "--from", str(old), "--to", str(new),
                 "--headers-from", str(hold), "--headers-to", str(hnew), "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["old"] == "libxu4.17 4.17-1" and data["new"] == "libxu4.20 4.20-1"
    assert data["old_headers"] == "libxu-dev 4.17-1"
    (c,) = data["consumers"]
    assert c["verdict"] == "needs-rebuild"
    xu_map = next(s for s in c["symbols"] if s["name"] == "xu_map")
    assert xu_map["prototype"]["new_location"] == "xu.h:2"


def test_consumer_not_using_the_libraries_is_not_affected(world, tmp_path: Path,
                                                          capsys) -> None:
    d = world["d"]
    other = program(tmp_path, "plain", "int main(void) { return 0; }")
    assert main(["impact", str(other), "--from", str(d / "v417"), "--to", str(d / "v420"),
                 "-f", "json"]) == 0
    (c,) = json.loads(capsys.readouterr().out)["consumers"]
    assert c["verdict"] == "not-affected" and c["symbols"] == []
