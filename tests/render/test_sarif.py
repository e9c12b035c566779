"""SARIF 2.1.0 output of abiguard where: valid against the OASIS schema, one rule per remedy kind,
results at the exact source locations with the remedy as the message."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import jsonschema
import pytest
import tree_sitter_c  # noqa: F401  (the 'where' extra)

from abiguard.callsites.result import SymbolRemedy, WhereResult
from abiguard.cli import main
from abiguard.model import CallSite
from abiguard.render.sarif import RULE_IDS, render, sarif_log
from helpers.paths import DATA

SCHEMA = DATA / "sarif-schema-2.1.0.json"
KINDS = ("replace", "retire", "new-entry-point", "redesign", "keep", "unknown")


def validate(log: dict) -> None:
    schema = json.loads(SCHEMA.read_text())
    jsonschema.Draft4Validator.check_schema(schema)
    jsonschema.Draft4Validator(schema).validate(log)


@pytest.fixture()
def project(tmp_path: Path) -> Path:
    (tmp_path / "hw dir").mkdir()
    (tmp_path / "hw dir" / "x.c").write_text(textwrap.dedent("""\
        int xc_domain_shutdown(void *x, int d, int r);
        int xc_totally_unknown(void);
        #define SHUTDOWN(x) xc_domain_shutdown(x, 0, 0)
        static int destroy(void *h)
        {
        #if XEN_VERSION < 41000
            return SHUTDOWN(h);
        #else
            return xc_totally_unknown();
        #endif
        }
        int (*fp)(void) = xc_totally_unknown;
        """))
    return tmp_path


def test_rules_are_the_remedy_kinds():
    assert RULE_IDS == KINDS
    log = sarif_log([], lambda s: None)
    validate(log)
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == list(KINDS)
    assert log["runs"][0]["results"] == []


def test_where_sarif_validates(project, capsys):
    rc = main(["where", "--source", str(project), "--symbol",
               "xc_domain_shutdown,xc_totally_unknown", "-f", "sarif", "-q"])
    out, err = capsys.readouterr()
    assert rc == 0, err
    log = json.loads(out)
    validate(log)
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == list(KINDS)
    assert run["originalUriBaseIds"]["SRCROOT"]["uri"] == project.resolve().as_uri() + "/"
    results = run["results"]
    got = sorted((r["properties"]["symbol"],
                  r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
                  r["locations"][0]["physicalLocation"]["region"]["startLine"],
                  r["locations"][0]["physicalLocation"]["region"]["startColumn"])
                 for r in results)
    assert got == [("xc_domain_shutdown", "hw%20dir/x.c", 3, 21),
                   ("xc_domain_shutdown", "hw%20dir/x.c", 7, 12),
                   ("xc_totally_unknown", "hw%20dir/x.c", 9, 12),
                   ("xc_totally_unknown", "hw%20dir/x.c", 12, 19)]
    by = {(r["properties"]["symbol"], r["locations"][0]["physicalLocation"]["region"]
           ["startLine"]): r for r in results}
    unknown = by[("xc_totally_unknown", 9)]
    assert unknown["ruleId"] == "unknown"
    assert unknown["ruleIndex"] == KINDS.index("unknown")
    assert unknown["properties"]["condition"] == "XEN_VERSION >= 41000"
    assert unknown["locations"][0]["logicalLocations"] == [{"name": "destroy",
                                                            "kind": "function"}]
    use = by[("xc_domain_shutdown", 7)]
    assert use["properties"]["via"] == "SHUTDOWN"
    assert "through SHUTDOWN" in use["message"]["text"]
    # the kind comes from abiguard.remedies when it is there (xc_domain_shutdown is known)
    try:
        from abiguard import remedies
    except ImportError:
        assert use["ruleId"] == "unknown"
    else:
        r = remedies.load_knowledge().lookup("xc_domain_shutdown", None)
        expected = r.kind if r is not None else "unknown"
        assert use["ruleId"] == expected
        if r is not None and r.replacements:
            assert r.replacements[0].symbol in use["message"]["text"]


def test_every_remedy_kind_renders_valid(tmp_path):
    sites = [CallSite(symbol=f"s_{k}", method="source", file=f"d/{k}.c", line=i + 1,
                      column=3, function="f", condition="A && B", compiled=False)
             for i, k in enumerate(KINDS)]
    sites.append(CallSite(symbol="s_replace", method="object", file="x.o", address=16))

    def remedy(symbol):
        kind = symbol[2:]
        return SymbolRemedy(symbol, "libx.so.1", kind, "why",
                            ("stable_fn (libstable.so.1)",) if kind == "replace" else ())

    log = sarif_log(sites, remedy, str(tmp_path), "1.2.3")
    validate(log)
    results = log["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == list(KINDS)  # the object site has no source line
    assert results[0]["message"]["text"].startswith("s_replace (libx.so.1) is ABI-unstable")
    assert "stable_fn (libstable.so.1)" in results[0]["message"]["text"]
    assert results[KINDS.index("keep")]["level"] == "note"
    assert log["runs"][0]["tool"]["driver"]["version"] == "1.2.3"


def test_render_sites_without_remedies():
    text = render(WhereResult(callsites=(CallSite(symbol="a", method="source", file="a.c",
                                                  line=1, column=1),)))
    log = json.loads(text)
    validate(log)
    assert log["runs"][0]["results"][0]["ruleId"] == "unknown"
