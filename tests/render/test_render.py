"""The renderers' one dispatch: every result type has its renderer in each format it is
offered in, each returns text, and a type a format does not know is a TypeError (no silent
fallback)."""

from __future__ import annotations

import importlib
import json

import pytest

from abiguard.callsites.link import LinkResult
from abiguard.callsites.result import WhereResult
from abiguard.census.aggregate import CensusData, aggregate
from abiguard.census.overview import CensusFailures, CensusOverview, Report
from abiguard.compare.diff import ConsumerDiff, DiffResult, SymbolDelta
from abiguard.compare.gate import GateEntry, GateResult
from abiguard.compare.impact import ConsumerImpact, ImpactResult
from abiguard.compare.trend import TrendResult, TrendRow
from abiguard.model import Audit, CallSite, Consumer, ConsumerPlan, Plan, Stability
from abiguard.policy import archive
from abiguard.policy.collect import HistoryRun
from abiguard.propose.result import Proposal
from abiguard.render import FORMATS, render
from abiguard.render.dispatch import renderer_for, resolve, type_name

AGG = aggregate(CensusData())


def samples() -> dict[type, object]:
    delta = SymbolDelta("xc_new", "added", None, "libxenctrl.so.4.20", None, "V_4.20",
                        None, Stability.UNSTABLE, detail="newly imported")
    return {
        Audit: Audit(),
        Plan: Plan(audit=Audit(consumers=(Consumer("/bin/p", "EXEC", "x86_64"),)),
                   plans=(ConsumerPlan("/bin/p"),)),
        DiffResult: DiffResult("1.0", "2.0", (ConsumerDiff("/bin/p", "path", "/bin/p",
                                                         "/bin/p", added=(delta,),
                                                         new_count=1),)),
        TrendResult: TrendResult(("1.0", "2.0"), (TrendRow("/bin/p", (1, 2)),)),
        GateResult: GateResult("b.toml", False, (GateEntry("/bin/p", "bin/p", "xc_new",
                                                            "libxenctrl", "libxenctrl.so.4.20",
                                                            "V_4.20", Stability.UNSTABLE),)),
        ImpactResult: ImpactResult("libxen 4.17", "libxen 4.20",
                                   (ConsumerImpact("/bin/p", "not-affected", ("none",)),)),
        WhereResult: WhereResult(targets=("xc_a",), callsites=(
            CallSite("xc_a", "source", "a.c", line=3, column=5, function="main"),)),
        LinkResult: LinkResult("xc", ("cc",), ("cc",), ("-lxc",), 0, linked=True),
        CensusOverview: CensusOverview(AGG, "s.sqlite", {"packages": 0, "bytes": 0}),
        CensusFailures: CensusFailures(AGG),
        Report: Report(AGG),
        Proposal: Proposal(nothing="nothing to propose"),
        HistoryRun: HistoryRun({**archive.policy_data([], ["a", "b"], "none"), "history": [
            {"family": "libx", "stability": "stable", "verdict": "stable", "reason": "kept",
             "match": ["libx.so.1"], "releases": [{"suite": "a", "package": "libx1",
                                                    "version": "1.0-1", "upstream": "1.0",
                                                    "sonames": ["libx.so.1"]}]}]},
                               ["a", "b"]),
    }


OFFERED = {
    "text": {Audit, Plan, DiffResult, TrendResult, GateResult, ImpactResult, WhereResult,
             LinkResult, CensusOverview, CensusFailures, Proposal, HistoryRun},
    "markdown": {Audit, Plan, DiffResult, TrendResult, GateResult, ImpactResult, WhereResult,
                 LinkResult, Proposal},
    "json": {Audit, Plan, DiffResult, TrendResult, GateResult, ImpactResult, WhereResult,
             LinkResult, CensusOverview, CensusFailures, Report, Proposal, HistoryRun},
    "sarif": {WhereResult, GateResult},
    "html": {Report, Audit, Plan},
    "svg": {TrendResult},
    "toml": {HistoryRun},
}


def test_the_tables_are_what_is_offered():
    for fmt in FORMATS:
        table = importlib.import_module(f"abiguard.render.{fmt}").RENDERERS
        assert set(table) - {type_name(type(AGG))} == {type_name(c) for c in OFFERED[fmt]}, fmt


def test_every_entry_names_a_type_and_a_function():
    for fmt in FORMATS:
        for key, target in importlib.import_module(f"abiguard.render.{fmt}").RENDERERS.items():
            module, _, name = key.rpartition(".")
            assert isinstance(getattr(importlib.import_module(module), name), type), key
            assert callable(resolve(target)), target


def test_a_scan_imports_only_its_renderer():
    """Rendering an Audit as text or JSON does not import the census, the proposal, the
    call sites or the comparisons (abiguard scan stays quick to start)."""
    import subprocess
    import sys

    code = ("import sys; from abiguard.model import Audit; from abiguard.render import render; "
            "render(Audit(), 'text'); render(Audit(), 'json'); "
            "print(sorted(m for m in sys.modules if m.startswith(('abiguard.census', "
            "'abiguard.propose', 'abiguard.callsites', 'abiguard.compare'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_renderer_returns_text(fmt):
    for cls, obj in samples().items():
        if cls not in OFFERED[fmt]:
            with pytest.raises(TypeError, match=f"no {fmt} renderer for {cls.__name__}"):
                render(obj, fmt)
            continue
        out = render(obj, fmt)
        assert isinstance(out, str) and out.strip(), (fmt, cls.__name__)
        if fmt in ("json", "sarif"):
            json.loads(out)


def test_a_subclass_takes_its_base_renderer():
    class MyAudit(Audit):
        pass

    table = importlib.import_module("abiguard.render.text").RENDERERS
    assert renderer_for(table, MyAudit(), "text") is resolve(table[type_name(Audit)])


def test_unknown_format_is_an_error():
    with pytest.raises(ValueError, match="unknown output format"):
        render(Audit(), "pdf")


def test_trend_markdown_and_svg():
    t = samples()[TrendResult]
    md = render(t, "markdown")
    assert "| `/bin/p` | 1 | 2 |" in md
    assert render(t, "svg").startswith("<svg")
