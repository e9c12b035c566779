"""Integration: no identifier broken in the text of the real qemu plan, where and census, at
80, 100 and 120 columns, piped.

Debian bookworm's qemu-system-xen with its Xen 4.17 libraries (tests/helpers/realdata.py), the qemu
source (``apt-get source qemu``, as tests/integration/test_qemu_source.py gets it) and the census of every
package depending on a libxen* package. Every symbol and function name must appear whole at
least once; no line may end in the first part of a name whose rest starts the next line (how
a folding table splits ``xendevicemodel_populate_physmap`` into ``…_phy``/``smap``); no lone
comma may start a cell; no line may be wider than the width unless it is one unbreakable unit.
"""

from __future__ import annotations

import itertools
import re

import pytest

from abiguard.census.aggregate import CensusData, aggregate
from abiguard.census.store import Store
from abiguard.cli import build_parser, main
from abiguard.commands.where import search
from abiguard.render import render
from abiguard.render.text.census import render_summary
from helpers.realdata import QEMU_72_XC, QEMU_BINARY, qemu_debs, qemu_root, xen_census_store

pytestmark = pytest.mark.integration

WIDTHS = (80, 100, 120)
WORD = re.compile(r"\w+")


def check(text: str, names: set[str], width: int) -> None:
    assert names, "nothing to check"
    lines = text.splitlines()
    for n in sorted(names):
        assert re.search(rf"(?<!\w){re.escape(n)}(?!\w)", text), f"{n} not whole at {width}"
    for a, b in itertools.pairwise(lines):
        ends = {m.group() for m in WORD.finditer(a) if a[m.end():m.end() + 1] in ("", " ")}
        starts = {m.group() for m in WORD.finditer(b)
                  if m.start() == 0 or b[m.start() - 1] == " "}
        for t in ends:
            for s in starts:
                assert t + s not in names, f"{t + s} split at {width}:\n{a}\n{b}"
    for line in lines:
        assert not re.search(r"(^|\s),", line), f"lone comma at {width}: {line!r}"
        assert len(line) <= width or " " not in line.strip(), f"{len(line)} > {width}: {line!r}"


def test_plan_text(monkeypatch, capsys):
    deb, deps = qemu_debs()
    args = ["plan", "-q", str(deb)] + [x for d in deps for x in ("--provider", str(d))]
    assert main([*args, "-f", "json", "-o", "/dev/null"]) == 0
    from abiguard.pipeline import ScanOptions, plan_paths

    plan = plan_paths([str(deb)], ScanOptions(provider_debs=[str(d) for d in deps]))
    names = set(QEMU_72_XC)
    for cp in plan.plans:
        for step in cp.steps:
            for it in step.items:
                names.add(it.symbol.name)
                names.update(v.symbol for v in it.verifications)
                names.update(k.rsplit(":", 1)[-1] for k in it.known_call_sites[:3])
    assert "xendevicemodel_populate_physmap" in names and "destroy_hvm_domain" in names
    names |= {"symbol", "remedy", "verified"}
    capsys.readouterr()
    for w in WIDTHS:
        monkeypatch.setenv("COLUMNS", str(w))
        assert main(args) == 0
        check(capsys.readouterr().out, names, w)


@pytest.fixture(scope="module")
def where_result():
    root = qemu_root()
    args = build_parser("where").parse_args([
        "where", "-q", str(root) + QEMU_BINARY, "--lib-path",
        str(root / "usr/lib/x86_64-linux-gnu"), "--source-package", "qemu",
        "-D", "CONFIG_XEN_CTRL_INTERFACE_VERSION=41700", "--without", "hw/xen/xen_pt*"])
    return search(args)


def test_where_text(where_result):
    r = where_result
    assert {s.method for s in r.callsites} == {"source", "binary"}
    names = set(r.targets) | {s.function for s in r.callsites if s.function} \
        | {s.via for s in r.callsites if s.via} | {w.name for w in r.wrappers}
    assert set(QEMU_72_XC) <= names and len(names) > 30
    names |= {"symbol", "function", "via", "compiled", "condition"}  # the headers too
    for w in WIDTHS:
        check(render(r, "text", width=w), names, w)


def test_census_text():
    with Store(str(xen_census_store()), create=False) as st:
        data = CensusData.from_store(st)
        counts = st.counts()
    agg = aggregate(data)
    top = 40
    names = {x.symbol for x in agg.symbols[:top]}
    assert set(QEMU_72_XC) & names
    for w in WIDTHS:
        text = render_summary(agg, None, counts, "xen.sqlite", top=top, width=w)
        check(text, names, w)
