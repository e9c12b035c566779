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
from abiguard.census.sources import deb_refs, find_debs, set_index
from abiguard.census.store import Store
from abiguard.cli import main
from debbuild import TOY_EXPECTED, corrupt_deb, toy_archive

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
