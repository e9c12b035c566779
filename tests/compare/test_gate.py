"""abiguard gate against gcc-built fixtures: the ratchet, --update-baseline, malformed
baselines (exit 2, one line), SARIF 2.1.0 valid against the OASIS schema."""

from __future__ import annotations

import json
import shutil
import tomllib
from pathlib import Path

import pytest

from abiguard.cli import main
from abiguard.compare import Baseline, baseline_text, family, parse_baseline, updated_baseline
from abiguard.errors import DataFileError
from abiguard.model import SCHEMA_VERSION
from helpers.cfixtures import program, shared_lib
from helpers.paths import DATA

SCHEMA = DATA / "sarif-schema-2.1.0.json"

LIB = """
    int unst_a(void) { return 1; }
    int unst_b(void) { return 2; }
    int unst_c(void) { return 3; }
"""


def build_libs(lib: Path) -> None:
    shared_lib(lib, "libunst.so.4.17", LIB,
               version_script="VERS_4.17.0 { global: unst_*; local: *; };")
    shared_lib(lib, "libstab.so.1", "int stab_ok(void) { return 0; }",
               version_script="STAB_1.0 { global: stab_ok; local: *; };")


@pytest.fixture(scope="module")
def libs(tmp_path_factory) -> Path:
    lib = tmp_path_factory.mktemp("gatelibs") / "lib"
    build_libs(lib)
    return lib


def build_app(root: Path, uses: tuple[str, ...], libs: Path | None = None) -> None:
    """build/app using the given unst_* functions of libunst.so.4.17 (unstable: release
    soname, VERS_4.17.0 node) and stab_ok of libstab.so.1 (stable)."""
    lib = root / "build" / "lib"
    if not (lib / "libunst.so.4.17").exists():
        if libs is not None:
            shutil.copytree(libs, lib, symlinks=True)
        else:
            build_libs(lib)
    decls = " ".join(f"int {u}(void);" for u in uses)
    calls = " + ".join(f"{u}()" for u in uses)
    program(root / "build", "app", f"""
        {decls} int stab_ok(void);
        int main(void) {{ return stab_ok() + {calls}; }}
    """, link=(f"-L{lib}", "-lunst", "-lstab", "-Wl,-rpath,$ORIGIN/lib"))


@pytest.fixture()
def project(tmp_path: Path, monkeypatch, libs: Path) -> Path:
    monkeypatch.chdir(tmp_path)
    build_app(tmp_path, ("unst_a", "unst_b"), libs)
    return tmp_path


@pytest.fixture()
def empty(tmp_path: Path, monkeypatch) -> Path:
    """No build: a malformed baseline is reported before any input is read."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def gate(*args: str) -> int:
    return main(["gate", "--baseline", "abi-baseline.toml", "--lib-path", "build/lib", *args,
                 "build/app"])


def test_create_then_pass(project: Path, capsys) -> None:
    assert gate() == 2
    err = capsys.readouterr().err
    assert err.startswith("abiguard: error: abi-baseline.toml: no such baseline file")
    assert gate("--update-baseline") == 0
    text = (project / "abi-baseline.toml").read_text()
    data = tomllib.loads(text)
    assert data == {"schema": 1, "consumers": {"build/app": {"libunst": ["unst_a", "unst_b"]}}}
    assert "VERS_4.17.0" not in text and "4.17" not in text.split("schema")[1]
    assert gate() == 0
    out = capsys.readouterr().out
    assert "gate passed" in out


def test_new_unstable_symbol_fails_with_a_clear_message(project: Path, capsys) -> None:
    assert gate("--update-baseline") == 0
    build_app(project, ("unst_a", "unst_b", "unst_c"))
    capsys.readouterr()
    assert gate() == 1
    out = capsys.readouterr().out
    assert ("FAIL build/app: new unstable symbol unst_c from libunst.so.4.17 (family libunst) "
            "is not in the baseline abi-baseline.toml") in " ".join(out.split())
    assert "gate failed" in out
    # --update-baseline alone does not accept it (only shrinks) and still fails.
    before = (project / "abi-baseline.toml").read_text()
    assert gate("--update-baseline") == 1
    assert (project / "abi-baseline.toml").read_text() == before
    # --allow-growth accepts it.
    assert gate("--update-baseline", "--allow-growth") == 0
    data = tomllib.loads((project / "abi-baseline.toml").read_text())
    assert data["consumers"]["build/app"]["libunst"] == ["unst_a", "unst_b", "unst_c"]


def test_json_and_markdown_failures_are_on_stderr_too(project: Path, capsys) -> None:
    assert gate("--update-baseline") == 0
    build_app(project, ("unst_a", "unst_c"))
    capsys.readouterr()
    assert gate("--format", "json") == 1
    cap = capsys.readouterr()
    data = json.loads(cap.out)
    assert data["kind"] == "gate" and data["schema"] == SCHEMA_VERSION and data["passed"] is False
    assert [(e["symbol"], e["library"], e["family"]) for e in data["new"]] == [
        ("unst_c", "libunst.so.4.17", "libunst")]
    assert [e["symbol"] for e in data["removed"]] == ["unst_b"]
    assert "abiguard: gate: build/app: new unstable symbol unst_c" in cap.err


def test_removed_symbol_passes_and_update_shrinks(project: Path, capsys) -> None:
    assert gate("--update-baseline") == 0
    build_app(project, ("unst_a",))
    capsys.readouterr()
    assert gate() == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "gone build/app: unst_b (family libunst) is no longer used" in out
    assert "baseline can shrink: run with --update-baseline" in out
    assert gate("--update-baseline") == 0
    assert "shrunk by 1 symbol" in capsys.readouterr().out
    data = tomllib.loads((project / "abi-baseline.toml").read_text())
    assert data["consumers"]["build/app"] == {"libunst": ["unst_a"]}


def test_baseline_keys_by_name_and_an_unmatched_key_is_an_error(project: Path, capsys) -> None:
    text = ('schema = 1\n[consumers.app]\nlibunst = ["unst_a", "unst_b"]\n'
            '[consumers."/usr/bin/other"]\nlibxenctrl = ["xc_interface_open"]\n')
    (project / "abi-baseline.toml").write_text(text)
    # A key that names no scanned consumer (a wrong path, a consumer not built) is an error,
    # and the baseline is not touched, even by --update-baseline.
    for extra in ((), ("--update-baseline",), ("--format", "json")):
        assert gate(*extra) == 2
        cap = capsys.readouterr()
        assert cap.out == "" and cap.err.count("\n") == 1
        assert cap.err.startswith("abiguard: error: abi-baseline.toml: baseline key(s) "
                                  "'/usr/bin/other' match no scanned consumer (scanned: "
                                  "build/app)")
        assert (project / "abi-baseline.toml").read_text() == text
    (project / "abi-baseline.toml").write_text(
        'schema = 1\n[consumers.app]\nlibunst = ["unst_a", "unst_b"]\n')
    assert gate() == 0  # the file name still names it
    build_app(project, ("unst_a",))
    assert gate("--update-baseline") == 0
    data = tomllib.loads((project / "abi-baseline.toml").read_text())
    assert data["consumers"] == {"app": {"libunst": ["unst_a"]}}


def test_keys_are_the_path_relative_to_the_baseline_file(project: Path, capsys,
                                                         monkeypatch) -> None:
    """build/app, ./build/app, its absolute path, and app seen from build/ are one key."""
    assert gate("--update-baseline") == 0
    text = (project / "abi-baseline.toml").read_text()
    assert '[consumers."build/app"]' in text
    for spec in ("./build/app", "build//app", str(project / "build" / "app")):
        assert main(["gate", "--baseline", "abi-baseline.toml", spec]) == 0, spec
        assert "0 new, 0 gone, 2 in the baseline" in capsys.readouterr().out
    monkeypatch.chdir(project / "build")
    for spec in ("app", "./app", str(project / "build" / "app")):
        assert main(["gate", "--baseline", "../abi-baseline.toml", spec]) == 0, spec
        assert "0 new, 0 gone, 2 in the baseline" in capsys.readouterr().out
    # Written from another directory: the same key.
    assert main(["gate", "--baseline", str(project / "new.toml"), "--update-baseline",
                 "-q", "./app"]) == 0
    assert tomllib.loads((project / "new.toml").read_text())["consumers"] == {
        "build/app": {"libunst": ["unst_a", "unst_b"]}}
    # A baseline written by an older abiguard with the path as typed is still read.
    monkeypatch.chdir(project)
    old = 'schema = 1\n[consumers."./build/app"]\nlibunst = ["unst_a", "unst_b", "unst_c"]\n'
    (project / "old.toml").write_text(old)
    assert main(["gate", "--baseline", "old.toml", "build/app"]) == 0
    assert "gone build/app: unst_c" in " ".join(capsys.readouterr().out.split())
    assert main(["gate", "--baseline", "old.toml", "--update-baseline", "build/app"]) == 0
    assert tomllib.loads((project / "old.toml").read_text())["consumers"] == {
        "./build/app": {"libunst": ["unst_a", "unst_b"]}}
    # Outside the baseline's directory: the absolute path.
    other = project.parent / f"{project.name}-elsewhere"
    shutil.copytree(project / "build", other / "build", symlinks=True)
    assert main(["gate", "--baseline", "x.toml", "--update-baseline", "-q",
                 str(other / "build" / "app")]) == 0
    assert list(tomllib.loads((project / "x.toml").read_text())["consumers"]) == [
        str(other / "build" / "app")]


def test_no_consumer_is_an_error(project: Path, capsys) -> None:
    """A wrong build path (a directory without ELF files) must not turn CI green."""
    (project / "empty").mkdir()
    (project / "empty" / "README").write_text("no ELF here\n")
    (project / "abi-baseline.toml").write_text("schema = 1\n")
    for baseline, extra in (("abi-baseline.toml", ()), ("new.toml", ("--update-baseline",))):
        assert main(["gate", "--baseline", baseline, *extra, "empty"]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "gate: no consumer to check in empty" in err
        assert "no ELF files found" in err
    assert not (project / "new.toml").exists()


def test_missing_library_gate_refuses_and_leaves_the_baseline(project: Path, capsys,
                                                              fixture_policy) -> None:
    """Without its libraries the program's unresolved imports are not a pass, and never
    shrink (before: "0 new, 2 gone ... baseline can shrink", and --update-baseline emptied
    the baseline)."""
    assert gate("--update-baseline") == 0
    text = (project / "abi-baseline.toml").read_text()
    (project / "build" / "lib").rename(project / "lib.off")
    capsys.readouterr()
    for extra in ((), ("--update-baseline",), ("--format", "json"),
                  ("--update-baseline", "--allow-growth")):
        assert gate(*extra) == 2, extra
        cap = capsys.readouterr()
        assert cap.out == "" and cap.err.count("\n") == 1
        assert "abiguard: error: gate: libraries not found: libunst.so.4.17, libstab.so.1 (2)" \
            in cap.err
        assert all(r in cap.err for r in ("--with-deps", "--sysroot", "--lib-path",
                                          "--allow-unresolved"))
        assert (project / "abi-baseline.toml").read_text() == text
    # Told to: the imports of libunst.so.4.17 (named by their version node) count as its
    # unstable symbols: the same answer as with the library.
    assert gate("--allow-unresolved") == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "gate passed: 1 consumer(s), 0 new, 0 gone, 2 in the baseline" in out
    assert "warning: libraries not found: libunst.so.4.17" in out
    assert gate("--allow-unresolved", "--update-baseline") == 0
    assert (project / "abi-baseline.toml").read_text() == text
    capsys.readouterr()
    assert gate("--allow-unresolved", "--format", "json") == 0
    data = json.loads(capsys.readouterr().out)
    assert data["notes"][0].startswith("libraries not found: libunst.so.4.17")
    # A baseline symbol the program no longer imports is gone, also then.
    (project / "abi-baseline.toml").write_text(
        'schema = 1\n[consumers."build/app"]\nlibunst = ["unst_a", "unst_b", "unst_c"]\n')
    assert gate("--allow-unresolved", "--update-baseline") == 0
    data2 = tomllib.loads((project / "abi-baseline.toml").read_text())
    assert data2["consumers"]["build/app"] == {"libunst": ["unst_a", "unst_b"]}


def test_saved_json_result_as_input(project: Path, capsys) -> None:
    assert main(["scan", "--lib-path", "build/lib", "-f", "json", "-o", "scan.json", "-q",
                 "build/app"]) == 0
    assert main(["gate", "--baseline", "abi-baseline.toml", "--update-baseline", "-q",
                 "scan.json"]) == 0
    assert main(["gate", "--baseline", "abi-baseline.toml", "scan.json"]) == 0


# --------------------------------------------------------------------------------------------
# Malformed baselines: exit 2, one line naming the file and what is wrong
# --------------------------------------------------------------------------------------------

BAD = {
    "not toml": ("schema = 1\n[consumers\n", "invalid TOML: "),
    "line": ("schema = 1\n\nfoo = = 2\n", "(at line 3"),
    "unknown key": ("schema = 1\nconsumer = {}\n", "unknown key(s) consumer"),
    "schema": ("schema = 2\n", "schema version 2 is not supported (this abiguard reads 1)"),
    "no schema": ("[consumers]\n", "missing 'schema = 1'"),
    "schema type": ('schema = "1"\n', "schema: expected an integer, got a string"),
    "symbols type": ('schema = 1\n[consumers.app]\nlibx = "x"\n',
                     'consumers."app".libx: expected a list of symbol names, got a string'),
    "symbol type": ('schema = 1\n[consumers.app]\nlibx = ["a", 2]\n',
                    'consumers."app".libx[1]: expected a symbol name (string), got an integer'),
    "version node": ('schema = 1\n[consumers.app]\nlibx = ["a@VERS_1"]\n',
                     "no version nodes in a baseline"),
    "consumer type": ('schema = 1\nconsumers = ["a"]\n', "consumers: expected a table"),
    "library table": ('schema = 1\n[consumers]\napp = 3\n',
                      'consumers."app": expected a table of library families, got an integer'),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_malformed_baseline_exit_2_one_line(empty: Path, capsys, case: str) -> None:
    text, expected = BAD[case]
    (empty / "abi-baseline.toml").write_text(text)
    assert gate() == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert err.startswith("abiguard: error: abi-baseline.toml: ")
    assert expected in err


def test_malformed_baseline_is_not_overwritten_by_update(empty: Path, capsys) -> None:
    (empty / "abi-baseline.toml").write_text("schema = 1\n[consumers\n")
    assert gate("--update-baseline") == 2
    assert (empty / "abi-baseline.toml").read_text() == "schema = 1\n[consumers\n"


def test_allow_growth_needs_update(empty: Path, capsys) -> None:
    assert gate("--allow-growth") == 2
    assert "--allow-growth needs --update-baseline" in capsys.readouterr().err


# --------------------------------------------------------------------------------------------
# Baseline file format
# --------------------------------------------------------------------------------------------


def test_baseline_text_is_sorted_and_round_trips() -> None:
    b = Baseline({"/usr/libexec/xen-qemu-system-i386": {"libxenctrl": ("xc_b", "xc_a")},
                  'we"ird\\key': {"ld-linux-x86-64": ("_dl_x",)}, "a": {}})
    text = baseline_text(b)
    again = parse_baseline(text, "x.toml")
    assert again.consumers["/usr/libexec/xen-qemu-system-i386"] == {
        "libxenctrl": ("xc_a", "xc_b")}
    assert again.consumers['we"ird\\key'] == {"ld-linux-x86-64": ("_dl_x",)}
    assert again.consumers["a"] == {}
    assert baseline_text(again) == text
    assert text.index('"/usr') < text.index('"a"') < text.index('"we')
    lines = text.splitlines()
    assert lines[lines.index("libxenctrl = [") + 1] == '  "xc_a",'


def test_family_drops_the_release() -> None:
    assert family("libxenctrl.so.4.17") == family("libxenctrl.so.4.20") == "libxenctrl"
    assert family("libc.so.6") == "libc"
    assert family("ld-linux-x86-64.so.2") == "ld-linux-x86-64"
    assert family("libfoo.so") == "libfoo"
    assert family("libpython3.11.so.1.0") == "libpython3.11"
    assert family(None) == "?"


def test_updated_baseline_keeps_unrelated_keys() -> None:
    from abiguard.compare import GateEntry, GateResult

    b = Baseline({"app": {"libx": ("a", "b")}, "other": {"liby": ("c",)}})
    r = GateResult("f", False, new=(GateEntry("app", "app", "n", "libx", "libx.so.1"),),
                   removed=(GateEntry("app", "app", "b", "libx"),))
    assert updated_baseline(b, r, False).consumers == {"app": {"libx": ("a",)},
                                                       "other": {"liby": ("c",)}}
    assert updated_baseline(b, r, True).consumers["app"] == {"libx": ("a", "n")}


def test_bad_baseline_raises_data_file_error() -> None:
    with pytest.raises(DataFileError) as exc:
        parse_baseline("schema = 1\nx = 1\n", "b.toml")
    assert str(exc.value) == "b.toml: unknown key(s) x (expected schema, consumers)"


# --------------------------------------------------------------------------------------------
# SARIF
# --------------------------------------------------------------------------------------------


def validate(log: dict) -> None:
    import jsonschema

    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft4Validator(schema).validate(log)


def test_sarif_one_error_per_new_symbol_at_the_consumer(project: Path, capsys) -> None:
    assert gate("--update-baseline") == 0
    build_app(project, ("unst_a", "unst_b", "unst_c"))
    (project / "abi-baseline.toml").write_text(
        'schema = 1\n[consumers."build/app"]\nlibunst = ["unst_a"]\n')
    capsys.readouterr()
    assert gate("--format", "sarif", "-o", "gate.sarif") == 1
    log = json.loads((project / "gate.sarif").read_text())
    validate(log)
    assert log["version"] == "2.1.0"
    (run,) = log["runs"]
    results = run["results"]
    assert [r["properties"]["symbol"] for r in results] == ["unst_b", "unst_c"]
    for r in results:
        assert r["level"] == "error" and r["ruleId"] == "new-unstable-symbol"
        phys = r["locations"][0]["physicalLocation"]
        assert phys["artifactLocation"] == {"uri": "build/app", "uriBaseId": "SRCROOT"}
        assert phys["region"] == {"startLine": 1}
        assert "build/app: new unstable symbol" in r["message"]["text"]
        assert "libunst.so.4.17" in r["message"]["text"]
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"].startswith("file:///")
    # A passing gate is an empty, still valid, log.
    (project / "abi-baseline.toml").write_text(
        'schema = 1\n[consumers."build/app"]\nlibunst = ["unst_a", "unst_b", "unst_c"]\n')
    assert gate("--format", "sarif", "-o", "gate.sarif") == 0
    log = json.loads((project / "gate.sarif").read_text())
    validate(log)
    assert log["runs"][0]["results"] == []


def test_sarif_absolute_consumer_is_a_file_uri(tmp_path: Path, capsys, libs: Path) -> None:
    build_app(tmp_path, ("unst_a",), libs)
    app = tmp_path / "build" / "app"
    (tmp_path / "b.toml").write_text("schema = 1\n")
    rc = main(["gate", "--baseline", str(tmp_path / "b.toml"), "-f", "sarif", str(app)])
    assert rc == 1
    log = json.loads(capsys.readouterr().out)
    validate(log)
    loc = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert loc == {"uri": app.as_uri()}
