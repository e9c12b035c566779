"""abiguard report: one self-contained HTML file, rendered in headless Chromium.

Needs Debian's ``chromium`` package (scripts/setup-debian.sh installs it); without it the
Chromium test fails. Each page is opened once: ``--screenshot`` (decoded here with
zlib + struct: the screenshot must not be blank), ``--dump-dom`` (the key sections must be
there and the inline script must have run: ``<body data-ready="yes">``) and
``--enable-logging=stderr`` (no console message at all: no script error, no failed load).
"""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pytest

from abiguard.census.engine import Config, LocalEngine, run_census
from abiguard.census.overview import report as census_report
from abiguard.census.sources import deb_refs, find_debs, set_index
from abiguard.census.store import Store
from abiguard.cli import main
from helpers.debbuild import TOY_EXPECTED, corrupt_deb, toy_archive

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SECTIONS = ("summary", "heatmap", "ranking", "libraries", "groups", "consumers", "failures")

TOY_REMEDIES = """
schema = 1
name = "toy"
library = "libtoy.so*"

[[remedy]]
symbols = ["toy_open", "toy_close"]
kind = "keep"
difficulty = 1
rationale = "Only needed while other toy_* calls remain."

[[remedy]]
symbols = ["toy_map"]
kind = "replace"
difficulty = 2
rationale = "libstab has the stable equivalent."
  [[remedy.replacement]]
  symbol = "stab_put"
  library = "libstab.so*"
  since = "STAB_1.0"
"""


@pytest.fixture(scope="module")
def toy(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("toyreport")
    debs = toy_archive(d)
    corrupt_deb(d / "pool")
    store = d / "census.sqlite"
    refs = deb_refs(find_debs(str(d / "pool")))
    with Store(str(store)) as st:
        run_census(refs, st, LocalEngine(2), Config(packages=set_index(refs), fetch=False))
    remedies = d / "toy-remedies.toml"
    remedies.write_text(TOY_REMEDIES)
    plan = d / "plan.json"
    assert main(["plan", "-q", str(debs["toy-emu"]), str(debs["toy-utils"]), "--provider",
                 str(debs["libtoy4.17"]), "--provider", str(debs["libstab1"]), "--remedies",
                 str(remedies), "-f", "json", "-o", str(plan)]) == 0
    return {"dir": d, "store": store, "plan": plan, "debs": debs}


# --------------------------------------------------------------------------------------------
# PNG decoding (zlib + struct) and Chromium
# --------------------------------------------------------------------------------------------


def read_png(path: Path) -> tuple[int, int, int, list[bytes]]:
    """(width, height, bytes per pixel, rows) of an 8-bit non-interlaced PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG file"
    pos, idat = 8, []
    w = h = bpp = 0
    while pos < len(data):
        n, typ = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if typ == b"IHDR":
            w, h, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and interlace == 0, "unsupported PNG"
            bpp = {0: 1, 2: 3, 4: 2, 6: 4}[ctype]
        elif typ == b"IDAT":
            idat.append(body)
    raw = zlib.decompress(b"".join(idat))
    stride = w * bpp
    prev = bytearray(stride)
    rows = []
    for y in range(h):
        f = raw[y * (stride + 1)]
        line = bytearray(raw[y * (stride + 1) + 1:(y + 1) * (stride + 1)])
        if f == 1:  # Sub
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 255
        elif f == 2:  # Up
            line = bytearray((a + b) & 255 for a, b in zip(line, prev))
        elif f == 3:  # Average
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 255
        elif f == 4:  # Paeth
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = prev[i]
                c = prev[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return w, h, bpp, rows


def non_white_pixels(path: Path) -> tuple[int, int]:
    w, h, bpp, rows = read_png(path)
    ch = min(bpp, 3)
    white = b"\xff" * ch
    n = 0
    for row in rows:
        if row.count(255) == len(row):
            continue
        n += sum(1 for x in range(0, len(row), bpp) if row[x:x + ch] != white)
    return n, w * h


def chromium(page: Path, tmp: Path) -> tuple[Path, str, list[str]]:
    """Open a page once: (screenshot, DOM after scripts ran, console messages)."""
    shot = tmp / (page.stem + ".png")
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--no-first-run", "--disable-extensions", f"--user-data-dir={tmp / 'chromium'}",
         "--enable-logging=stderr", "--v=0", f"--screenshot={shot}", "--dump-dom",
         "--window-size=1280,2000", page.resolve().as_uri()],
        check=False, capture_output=True, text=True, timeout=120)
    console = [ln for ln in proc.stderr.splitlines() if ":CONSOLE" in ln]
    assert shot.exists(), f"no screenshot (exit {proc.returncode}): {proc.stderr[-2000:]}"
    return shot, proc.stdout, console


def assert_self_contained(text: str) -> None:
    """Nothing is loaded from elsewhere when the page is viewed."""
    assert not re.search(r"<script[^>]+src=", text)
    assert not re.search(r"<link[^>]+href=\"(?!data:)", text)
    assert not re.search(r"<img[^>]+src=\"(?!data:)", text)
    assert "@import" not in text and "url(http" not in text
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", text)


# --------------------------------------------------------------------------------------------


def test_report_from_a_census_store(toy, tmp_path):
    out = tmp_path / "census.html"
    assert main(["report", "-q", str(toy["store"]), "-o", str(out)]) == 0
    text = out.read_text()
    assert_self_contained(text)
    for sid in SECTIONS:
        assert f'<section id="{sid}">' in text
    assert text.count("<svg") >= 3  # heatmap, ranking, libraries
    for name, used in TOY_EXPECTED.items():
        if used:
            assert f'data-name="{name}"' in text
    # every cell of the matrix is a rect with a tooltip naming consumer and symbol
    for name, used in TOY_EXPECTED.items():
        for sym in used:
            assert f"{name} imports {sym}@libtoy.so.4.17" in text
    assert "toy-broken" in text and "not a valid .deb package" in text
    assert "G1" in text and "always together" not in text  # average linkage: "often"


def test_report_json_of_a_store(toy, capsys):
    assert main(["report", str(toy["store"]), "-f", "json"]) == 0
    import json

    data = json.loads(capsys.readouterr().out)
    assert data["summary"]["with_findings"] == 4 and data["summary"]["failed"] == 1


def test_report_keeps_internal_packages_apart(toy, tmp_path, capsys):
    """Packages a census marked internal (built from its --source-package) are listed apart,
    not in the heatmap or the ranking, as census shows them; --include-internal ranks them."""
    import json

    store = tmp_path / "internal.sqlite"
    shutil.copy(toy["store"], store)
    with Store(str(store), create=False) as st:
        st.mark_internal({"toy-utils": "toy"})
    out = tmp_path / "r.html"
    assert main(["report", "-q", str(store), "-o", str(out)]) == 0
    text = out.read_text()
    assert '<section id="internal">' in text and "built from toy" in text
    assert 'data-name="toy-utils"' not in text and "toy-utils imports" not in text
    assert "toy_sysctl" not in text  # only toy-utils imports it: not ranked
    assert 'data-name="toy-emu"' in text
    assert main(["report", "-q", str(store), "-o", str(out), "--include-internal"]) == 0
    text = out.read_text()
    assert '<section id="internal">' not in text and 'data-name="toy-utils"' in text
    assert "toy-utils imports toy_sysctl@libtoy.so.4.17" in text
    capsys.readouterr()
    assert main(["report", str(store), "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [c["name"] for c in data["internal"]["consumers"]] == ["toy-utils"]
    assert "toy-utils" not in {c["name"] for c in data["consumers"]}


def test_source_package_store_ranks_its_own_libraries(toy, tmp_path, capsys):
    """A store of a --source-package census ranks the symbols of the libraries built from
    it (here: source 'stab' ships libstab.so.1, which no consumer uses unstably: nothing is
    ranked, the toy_* symbols of libtoy are not); --all-libraries ranks every library, and
    --library chooses as asked."""
    import json

    store = tmp_path / "own.sqlite"
    shutil.copy(toy["store"], store)
    with Store(str(store), create=False) as st:
        st.mark_internal({"libstab1": "stab"})
    assert main(["census", "--store", str(store), "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["own_libraries"] == {"sources": ["stab"], "sonames": ["libstab.so.1"]}
    assert data["symbols"] == []
    assert main(["census", "--store", str(store)]) == 0
    text = capsys.readouterr().out
    assert "toy_map" not in text and "No package imports" in text
    for args in (["--all-libraries"], ["--library", "libtoy.so*"]):
        assert main(["census", "--store", str(store), "-f", "json", *args]) == 0
        data = json.loads(capsys.readouterr().out)
        assert "own_libraries" not in data
        assert {s["symbol"] for s in data["symbols"]} == set().union(*TOY_EXPECTED.values())
    out = tmp_path / "own.html"
    assert main(["report", "-q", str(store), "-o", str(out)]) == 0
    page = out.read_text()
    assert "libraries built from stab" in page and "toy-emu imports" not in page
    assert main(["report", "-q", str(store), "-o", str(out), "--all-libraries"]) == 0
    assert "toy-emu imports toy_map@libtoy.so.4.17" in out.read_text()


def test_report_from_a_plan_has_the_plan(toy, tmp_path):
    out = tmp_path / "plan.html"
    assert main(["report", "-q", str(toy["plan"]), "-o", str(out)]) == 0
    text = out.read_text()
    assert_self_contained(text)
    assert "migration plan" in text and "Migration plan, easy to hard" in text
    assert 'data-name="/usr/bin/toy-emu"' in text and 'data-name="/usr/bin/toy-utils"' in text
    assert "Replace with the stable API that exists" in text  # toy_map -> stab_put, verified
    assert "stab_put: available" in text
    assert "replace → <code>stab_put</code>" in text  # the plan's remedy in the ranking
    assert "keep" in text


def test_report_errors(tmp_path, capsys):
    assert main(["report", str(tmp_path / "nope.json")]) == 2
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["report", str(bad)]) == 2
    assert "not valid JSON" in capsys.readouterr().err


@pytest.mark.parametrize("which", ["store", "plan"])
def test_report_renders_in_chromium(toy, tmp_path, which):
    assert CHROMIUM, "chromium is not installed (scripts/setup-debian.sh installs it)"
    page = tmp_path / f"{which}.html"
    assert main(["report", "-q", str(toy[which]), "-o", str(page)]) == 0
    shot, dom, console = chromium(page, tmp_path)
    assert console == [], "console messages:\n" + "\n".join(console)
    assert 'data-ready="yes"' in dom  # the inline script ran to its end
    for sid in SECTIONS:
        assert f'id="{sid}"' in dom
    assert "heatmap-svg" in dom and "ranking-svg" in dom
    n, total = non_white_pixels(shot)
    assert total == 1280 * 2000
    assert n > 0.03 * total, f"screenshot nearly blank: {n} non-white pixels of {total}"


# --------------------------------------------------------------------------------------------
# Layout: no overlapping or clipped chart text, a page of sane height (the Xen census)
# --------------------------------------------------------------------------------------------

LAYOUT_SCRIPT = r"""
<script>
(function () {
  function corners(el) {
    var b = el.getBBox(), m = el.getScreenCTM();
    if (!m || b.width === 0 || b.height === 0) { return null; }
    var pts = [[b.x, b.y], [b.x + b.width, b.y], [b.x + b.width, b.y + b.height],
               [b.x, b.y + b.height]];
    return pts.map(function (p) {
      return [m.a * p[0] + m.c * p[1] + m.e + window.scrollX,
              m.b * p[0] + m.d * p[1] + m.f + window.scrollY];
    });
  }
  function box(poly) {
    var xs = poly.map(function (p) { return p[0]; }), ys = poly.map(function (p) { return p[1]; });
    return [Math.min.apply(null, xs), Math.min.apply(null, ys),
            Math.max.apply(null, xs), Math.max.apply(null, ys)];
  }
  function separated(a, b) {  // separating axis theorem for two convex quadrilaterals
    var polys = [a, b];
    for (var k = 0; k < 2; k++) {
      var p = polys[k];
      for (var i = 0; i < p.length; i++) {
        var q = p[(i + 1) % p.length];
        var nx = q[1] - p[i][1], ny = p[i][0] - q[0];
        var len = Math.sqrt(nx * nx + ny * ny) || 1; nx /= len; ny /= len;
        var amin = Infinity, amax = -Infinity, bmin = Infinity, bmax = -Infinity;
        a.forEach(function (v) { var d = v[0] * nx + v[1] * ny; amin = Math.min(amin, d); amax = Math.max(amax, d); });
        b.forEach(function (v) { var d = v[0] * nx + v[1] * ny; bmin = Math.min(bmin, d); bmax = Math.max(bmax, d); });
        if (amax <= bmin + 0.5 || bmax <= amin + 0.5) { return true; }
      }
    }
    return false;
  }
  var report = {overlaps: [], clipped: [], texts: 0,
                height: document.documentElement.scrollHeight,
                width: document.documentElement.scrollWidth};
  Array.prototype.forEach.call(document.querySelectorAll('svg'), function (svg) {
    var r = svg.getBoundingClientRect();
    var frame = [r.left + window.scrollX, r.top + window.scrollY,
                 r.right + window.scrollX, r.bottom + window.scrollY];
    var items = [];
    Array.prototype.forEach.call(svg.querySelectorAll('text'), function (t) {
      var poly = corners(t);
      if (!poly) { return; }
      var label = (t.childNodes[0] && t.childNodes[0].nodeValue) || t.textContent;
      var bb = box(poly);
      items.push({poly: poly, box: bb, label: label});
      if (bb[0] < frame[0] - 0.5 || bb[1] < frame[1] - 0.5 || bb[2] > frame[2] + 0.5 ||
          bb[3] > frame[3] + 0.5) {
        report.clipped.push(label);
      }
    });
    report.texts += items.length;
    for (var i = 0; i < items.length; i++) {
      for (var j = i + 1; j < items.length; j++) {
        var a = items[i].box, b = items[j].box;
        if (a[2] <= b[0] || b[2] <= a[0] || a[3] <= b[1] || b[3] <= a[1]) { continue; }
        if (!separated(items[i].poly, items[j].poly)) {
          report.overlaps.push([items[i].label, items[j].label]);
        }
      }
    }
  });
  var pre = document.createElement('pre');
  pre.id = 'layout-report';
  pre.textContent = JSON.stringify(report);
  document.body.appendChild(pre);
})();
</script>
"""


def run_in_chromium(page: Path, tmp: Path, script: str, report_id: str) -> dict:
    """Open a copy of the page with ``script`` at its end in headless Chromium at 1280 pixels
    and return the JSON the script leaves in ``<pre id=report_id>``."""
    import html as html_module
    import json

    probe = tmp / f"{page.stem}-{report_id}.html"
    probe.write_text(page.read_text().replace("</body>", script + "</body>"))
    proc = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-extensions", f"--user-data-dir={tmp / ('chromium-' + report_id)}",
         "--window-size=1280,900", "--dump-dom", probe.resolve().as_uri()],
        check=False, capture_output=True, text=True, timeout=180)
    m = re.search(rf'<pre id="{report_id}">(.*?)</pre>', proc.stdout, re.DOTALL)
    assert m, f"no {report_id} (exit {proc.returncode}): {proc.stderr[-1500:]}"
    return json.loads(html_module.unescape(m.group(1)))


def layout(page: Path, tmp: Path) -> dict:
    """Every SVG text's rotated box (getBBox through getScreenCTM), the pairs that overlap,
    the texts that stick out of their chart, the page's height."""
    return run_in_chromium(page, tmp, LAYOUT_SCRIPT, "layout-report")


MAX_HEIGHT = 7000
"""Pixels at 1280 wide for the Xen census (the users of libxen* packages: about 25 packages,
1,400 symbols): every section visible at once, the long lists behind toggles."""


@pytest.mark.integration
def test_xen_census_report_layout(tmp_path):
    from helpers.realdata import xen_census_store

    assert CHROMIUM, "chromium is not installed (scripts/setup-debian.sh installs it)"
    page = tmp_path / "xen.html"
    assert main(["report", "-q", str(xen_census_store()), "-o", str(page)]) == 0
    got = layout(page, tmp_path)
    assert got["texts"] > 150  # the charts were measured
    assert got["overlaps"] == [], f"{len(got['overlaps'])} overlapping labels, e.g. " \
        f"{got['overlaps'][:5]}"
    assert got["clipped"] == [], f"labels outside their chart: {got['clipped'][:5]}"
    assert got["height"] <= MAX_HEIGHT, f"page is {got['height']} px tall"
    assert got["width"] <= 1280, f"page is {got['width']} px wide"
    # the ranking: the first rows, the rest behind the toggle, the filter finds hidden rows
    ui = interact(page, tmp_path)
    assert ui["total"] == len(census_report(str(xen_census_store())).aggregate.symbols) \
        > ui["first"] == 25
    assert ui["after_toggle"] == ui["total"] and ui["after_second_toggle"] == ui["first"]
    assert ui["filtered"] == 1 and ui["filtered_rank"] > 25  # a row the toggle hid
    assert ui["after_clear"] == ui["first"]


INTERACT_SCRIPT = r"""
<script>
(function () {
  function visible() {
    return Array.prototype.filter.call(document.querySelectorAll('#ranking-table tbody tr'),
      function (r) { return r.getClientRects().length > 0; });
  }
  var out = {total: document.querySelectorAll('#ranking-table tbody tr').length};
  out.first = visible().length;
  var toggle = document.getElementById('rank-toggle'), rf = document.getElementById('rank-filter');
  toggle.click(); out.after_toggle = visible().length;
  toggle.click(); out.after_second_toggle = visible().length;
  var last = document.querySelectorAll('#ranking-table tbody tr');
  var target = last[last.length - 1].cells[1].textContent;
  rf.value = target; rf.dispatchEvent(new Event('input'));
  var hits = visible(); out.filtered = hits.length;
  out.filtered_rank = hits.length ? parseInt(hits[0].cells[0].textContent, 10) : -1;
  rf.value = ''; rf.dispatchEvent(new Event('input')); out.after_clear = visible().length;
  var pre = document.createElement('pre'); pre.id = 'ui-report';
  pre.textContent = JSON.stringify(out); document.body.appendChild(pre);
})();
</script>
"""


def interact(page: Path, tmp: Path) -> dict:
    """Click the ranking's toggle and use its filter in headless Chromium."""
    return run_in_chromium(page, tmp, INTERACT_SCRIPT, "ui-report")


def test_toy_report_layout(toy, tmp_path):
    assert CHROMIUM, "chromium is not installed (scripts/setup-debian.sh installs it)"
    for which in ("store", "plan"):
        page = tmp_path / f"{which}.html"
        assert main(["report", "-q", str(toy[which]), "-o", str(page)]) == 0
        got = layout(page, tmp_path)
        assert got["texts"] > 20
        assert got["overlaps"] == [] and got["clipped"] == [], got
