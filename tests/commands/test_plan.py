"""abiguard plan: remedies schema, verification against gcc-built libraries, ordering, Markdown."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from abiguard.cli import main
from abiguard.errors import DataFileError
from abiguard.pipeline import ScanOptions, plan_paths
from abiguard.remedies import load_knowledge, parse_remedies
from abiguard.render import render
from helpers.cfixtures import program, shared_lib, write
from helpers.paths import DATA

GOLDEN = DATA / "plan-golden.md"

REMEDIES = """
schema = 1
name = "test"
library = "libunst.so*"

[[group]]
id = "irq"
title = "Interrupt binding API"
kind = "redesign"
rationale = "u_bind_a and u_bind_b only make sense together."

[[remedy]]
symbols = ["u_shutdown"]
kind = "replace"
difficulty = 1
rationale = "s_shutdown does the same through the stable library."
references = ["thread"]
call_sites = ["app.c:main"]
  [[remedy.replacement]]
  symbol = "s_shutdown"
  library = "libstable.so*"
  since = "S_1.0"

[[remedy]]
symbols = ["u_other"]
kind = "replace"
difficulty = 2
rationale = "s_other exists."
  [[remedy.replacement]]
  symbol = "s_other"
  library = "libstable.so*"
  since = "S_1.0"

[[remedy]]
symbols = ["u_getparam"]
kind = "replace"
rationale = "s_newer exists, but only since S_1.1."
  [[remedy.replacement]]
  symbol = "s_newer"
  library = "libstable.so*"
  since = "S_1.0"

[[remedy]]
symbols = ["u_map"]
kind = "replace"
rationale = "s_absent was promised."
  [[remedy.replacement]]
  symbol = "s_absent"
  library = "libstable.so*"

[[remedy]]
symbols = ["u_compat*"]
kind = "retire"
rationale = "Only for versions before 4.6."

[[remedy]]
symbols = ["u_pirq"]
kind = "new-entry-point"
rationale = "Could be offered as is."
  [[remedy.replacement]]
  symbol = "s_pirq"
  library = "libstable.so*"
  proposed = true

[[remedy]]
symbols = ["u_bind_a", "u_bind_b"]
kind = "redesign"
group = "irq"
difficulty = 4
rationale = "Needs handles."

[[remedy]]
symbols = ["u_open"]
kind = "keep"
difficulty = 1
rationale = "Needed while any other u_ call remains."
"""

UNSTABLE_FNS = ["u_shutdown", "u_other", "u_getparam", "u_map", "u_compat_old", "u_pirq",
                "u_bind_a", "u_bind_b", "u_open", "u_weird"]


@pytest.fixture(scope="module")
def app(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("plan")
    lib = d / "lib"
    shared_lib(lib, "libunst.so.4.17", "".join(f"int {f}(void) {{ return 0; }}\n"
                                               for f in UNSTABLE_FNS),
               version_script="VERS_4.17.0 { global: u_*; local: *; };")
    shared_lib(lib, "libstable.so.1", """
        int s_shutdown(void) { return 1; }
        int s_other(void) { return 2; }
        int s_newer(void) { return 3; }
    """, version_script="""
        S_1.0 { global: s_shutdown; s_other; local: *; };
        S_1.1 { global: s_newer; } S_1.0;
    """)
    calls = " + ".join(f"{f}()" for f in UNSTABLE_FNS)
    decls = " ".join(f"int {f}(void);" for f in UNSTABLE_FNS)
    program(d, "app", f"{decls} int s_shutdown(void);"
            f"int main(void) {{ return {calls} + s_shutdown(); }}",
            link=(f"-L{lib}", "-lunst", "-lstable", "-Wl,-rpath,$ORIGIN/lib"))
    write(d / "remedies.toml", REMEDIES)
    return d


def _plan(app: Path, monkeypatch):
    monkeypatch.chdir(app)
    return plan_paths(["app"], ScanOptions(), remedies=["remedies.toml"])


def test_order_and_verification(app, monkeypatch):
    plan = _plan(app, monkeypatch)
    (cp,) = plan.plans
    steps = [(s.title, [i.symbol.name for i in s.items]) for s in cp.steps]
    assert steps == [
        ("Replacement already used: drop the unstable call", ["u_shutdown"]),
        ("Replace with the stable API that exists", ["u_other"]),
        ("Replace, after raising the minimum version of the stable library",
         ["u_getparam", "u_map"]),
        ("Retire compatibility code", ["u_compat_old"]),
        ("No action of its own: goes away with the last unstable call", ["u_open"]),
        ("Needs a new stable entry point", ["u_pirq"]),
        ("Needs a new stable API design: Interrupt binding API", ["u_bind_a", "u_bind_b"]),
        ("No remedy known", ["u_weird"]),
    ]
    items = {i.symbol.name: i for s in cp.steps for i in s.items}
    v = {k: [(x.status, x.version) for x in i.verifications] for k, i in items.items()}
    assert v["u_shutdown"] == [("already-used", "S_1.0")]
    assert v["u_other"] == [("available", "S_1.0")]
    assert v["u_getparam"] == [("available-newer", "S_1.1")]
    assert v["u_map"] == [("missing", None)]
    assert v["u_pirq"] == [("missing", None)]
    assert items["u_other"].verifications[0].library == "libstable.so.1"
    assert items["u_weird"].kind == "unknown"
    assert "libunst.so.4.17 is unstable" in items["u_weird"].rationale
    assert items["u_bind_a"].group == "irq"


def test_replacement_in_a_library_the_consumer_does_not_link(app, tmp_path, monkeypatch):
    """The stable library is found where ld.so would search even when not in DT_NEEDED."""
    lib = tmp_path / "lib"
    shared_lib(lib, "libunst.so.4.17", "int u_other(void) { return 0; }",
               version_script="VERS_4.17.0 { global: u_*; local: *; };")
    program(tmp_path, "solo", "int u_other(void); int main(void) { return u_other(); }",
            link=(f"-L{lib}", "-lunst", f"-Wl,-rpath,{lib}"))
    os.link(app / "lib" / "libstable.so.1", lib / "libstable.so.1")
    plan = plan_paths([str(tmp_path / "solo")], ScanOptions(ld_library_path=[str(lib)]),
                      remedies=[str(app / "remedies.toml")])
    (item,) = [i for s in plan.plans[0].steps for i in s.items]
    assert [(x.status, x.version) for x in item.verifications] == [("available", "S_1.0")]
    # Without access to it, the remedy stays a replacement but is reported unverified.
    (tmp_path / "lib" / "libstable.so.1").unlink()
    plan = plan_paths([str(tmp_path / "solo")], ScanOptions(),
                      remedies=[str(app / "remedies.toml")])
    (item,) = [i for s in plan.plans[0].steps for i in s.items]
    assert item.verifications[0].status == "not-scanned"
    assert plan.plans[0].steps[0].title.startswith("Replace with a stable API (library not")


def test_markdown_golden(app, monkeypatch):
    text = render(_plan(app, monkeypatch), "markdown")
    if os.environ.get("ABIGUARD_UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(exist_ok=True)
        GOLDEN.write_text(text)
    assert text == GOLDEN.read_text()


def test_text_and_json_output(app, monkeypatch, capsys):
    monkeypatch.chdir(app)
    assert main(["plan", "--remedies", "remedies.toml", "app"]) == 0
    out = capsys.readouterr().out
    assert out.index("u_shutdown") < out.index("u_other") < out.index("u_weird")
    assert main(["plan", "--remedies", "remedies.toml", "--format", "json", "app"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert data["kind"] == "plan" and data["audit"]["kind"] == "scan"
    assert [s["tier"] for s in data["plans"][0]["steps"]] == [0, 1, 3, 4, 5, 6, 7, 8]


@pytest.mark.parametrize("snippet, message", [
    ('schema = 1\n[[remedy]]\nsymbols = ["a"]\nkind = "fix"\nrationale = "r"',
     ("[[remedy]] #1 (a): kind 'fix' is not one of replace, retire, new-entry-point, "
      "redesign, keep, unknown")),
    ('schema = 1\n[[remedy]]\nsymbols = ["a"]\nkind = "retire"',
     "[[remedy]] #1: missing key(s) rationale"),
    ('schema = 1\n[[remedy]]\nsymbols = ["a"]\nkind = "replace"\nrationale = "r"',
     ("[[remedy]] #1 (a): kind 'replace' needs at least one existing "
      "[[remedy.replacement]] (proposed = false)")),
    ('schema = 1\n[[remedy]]\nsymbols = ["a"]\nkind = "redesign"\ngroup = "g"\nrationale = "r"',
     "[[remedy]] #1 (a): group 'g' is not defined by a [[group]] table"),
    ('schema = 1\n[[remedy]]\nsymbols = ["a"]\nkind = "keep"\ndifficulty = 9\nrationale = "r"',
     "[[remedy]] #1 (a): difficulty must be an integer from 1 to 5, got 9"),
    ('schema = 2', "schema 2 is not supported (expected 1)"),
    ('schema = 1\nremedy = 3', "'remedy' must be an array of tables ([[remedy]])"),
    ('schema = 1\n[[remedy]]\nsymbols = ["a"]\nkind = "keep"\nrationale = "r"\ncolour = 1',
     "[[remedy]] #1: unknown key(s) colour"),
])
def test_schema_validation(snippet, message):
    with pytest.raises(DataFileError) as exc:
        parse_remedies(snippet, "r.toml")
    assert str(exc.value).startswith(f"r.toml: {message}")


def test_bad_remedies_file_is_exit_2_with_one_line(app, tmp_path, capsys):
    bad = write(tmp_path / "bad.toml", "schema = 1\n[[remedy\n")
    assert main(["plan", "--remedies", str(bad), str(app / "app")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"abiguard: error: {bad}: not valid TOML")


def test_builtin_knowledge_loads():
    k = load_knowledge()
    assert any(o.startswith("built-in:") for o in k.origins)


def test_plan_gains_call_sites_from_sources_and_binary(app, monkeypatch, capsys):
    monkeypatch.chdir(app)
    assert main(["plan", "--remedies", "remedies.toml", "--source", str(app),
                 "--binary-sites", "--format", "json", "app"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    items = {i["symbol"]["name"]: i for s in data["plans"][0]["steps"] for i in s["items"]}
    for name in UNSTABLE_FNS:
        methods = sorted(cs["method"] for cs in items[name]["call_sites"])
        assert methods == ["binary", "source"], name
        src = next(cs for cs in items[name]["call_sites"] if cs["method"] == "source")
        assert (src["file"], src["function"]) == ("app.c", "main")
        binsite = next(cs for cs in items[name]["call_sites"] if cs["method"] == "binary")
        assert binsite["function"] == "main"


@pytest.mark.parametrize("options,compiled", [
    (["-U", "USE_SHUTDOWN"], False),
    (["-D", "USE_SHUTDOWN"], True),
    (["--config-header", "config.h"], True),
    ([], None),
])
def test_plan_evaluates_conditions_as_where_does(app, tmp_path, monkeypatch, capsys, options,
                                                 compiled):
    """plan takes where's -D/-U/--config-header: each step's call sites say whether they are
    compiled (None: nothing decides it)."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "extra.c").write_text("int u_shutdown(void);\n#ifdef USE_SHUTDOWN\n"
                                 "int f(void) { return u_shutdown(); }\n#endif\n")
    (tmp_path / "config.h").write_text("#define USE_SHUTDOWN 1\n")
    monkeypatch.chdir(app)
    opts = [str(tmp_path / o) if o == "config.h" else o for o in options]
    assert main(["plan", "--remedies", "remedies.toml", "--source", str(src), *opts,
                 "--format", "json", "app"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    items = {i["symbol"]["name"]: i for s in data["plans"][0]["steps"] for i in s["items"]}
    sites = items["u_shutdown"]["call_sites"]
    assert [(cs["file"], cs["function"], cs.get("compiled")) for cs in sites] == \
        [("extra.c", "f", compiled)]
