"""Integration: abiguard propose on Debian bookworm's qemu-system-xen 7.2 + Xen 4.17.

Everything real: the binary and its libraries (apt-get download), libxen-dev 4.17 for the
headers, `apt-get source qemu` for the patches. Oracles: gcc -fsyntax-only on the generated
header and skeleton against libxen-dev unpacked into the test's own temporary directory; ld
linking the skeleton against the real libxenctrl.so.4.17 with the version script (the
library's own nodes read by readelf, then the proposed one), readelf on the result; GNU patch
--dry-run on the unpacked source; abiguard where on a patched copy.

What the qemu 7.2 sources show (checked by hand in include/hw/xen/xen_common.h): the only
`#if CONFIG_XEN_CTRL_INTERFACE_VERSION` branch below 4.6 that reaches xc_get_hvm_param is the
'< 40500' definition of xen_get_ioreq_server_info (xen_common.h:480-498, the use at 486). The
three calls in xen_get_default_ioreq_server_info (395, 403, 411) and its use in the '>= 40500'
definition (638) are a run-time fallback under no version condition: they stay, and the
patch says so. xc_domain_shutdown is called once, in destroy_hvm_domain (xen-hvm.c:1549).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from abiguard.cli import main
from helpers.cfixtures import gcc
from helpers.realdata import deb

pytestmark = pytest.mark.integration

PIRQ_ALLOCATE = ["xc_physdev_map_pirq", "xc_physdev_map_pirq_msi", "xc_physdev_unmap_pirq"]
PIRQ_BIND = ["xc_domain_bind_pt_pci_irq", "xc_domain_update_msi_irq",
             "xc_domain_unbind_msi_irq", "xc_domain_unbind_pt_irq"]
MACRO = "CONFIG_XEN_CTRL_INTERFACE_VERSION"


def unpack(package: str, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    subprocess.run(["dpkg-deb", "-x", str(deb(package)), str(into)], check=True)
    return into


def readelf(*args: str | Path) -> str:
    return subprocess.run(["readelf", *map(str, args)], capture_output=True, text=True,
                          check=True).stdout


@pytest.fixture(scope="module")
def proposal(tmp_path_factory, qemu_src) -> tuple[Path, dict]:
    out = tmp_path_factory.mktemp("propose")
    js = out / "proposal.json"
    code = main(["propose", "--with-deps", "qemu-system-xen", "--headers", "libxen-dev",
                 "--source-package", "qemu", "--min-version", "4.6", "-d", str(out / "d"),
                 "-f", "json", "-o", str(js), "-q"])
    assert code == 0
    data = json.loads(js.read_text())
    assert data["source_root"] == str(qemu_src.resolve())
    return out / "d", data


def test_header_skeleton_compile_and_version_script_links(proposal, tmp_path):
    out, data = proposal
    (a,) = data["additions"]
    assert (a["library"], a["header_include"]) == ("libxendevicemodel.so.1", "xendevicemodel.h")
    assert (a["node"], a["previous_node"]) == ("VERS_1.5", "VERS_1.4")
    assert a["handle"] == "xendevicemodel_handle *dmod"
    assert a["unstable_handle"] == "xc_interface *xch"
    root = unpack("libxen-dev", tmp_path / "xen-dev")
    inc = root / "usr" / "include"
    assert (inc / "xendevicemodel.h").is_file()
    flags = ("-fsyntax-only", "-Wall", "-Wextra", "-Werror", "-std=gnu11", f"-I{inc}")
    gcc(*flags, "-x", "c", out / a["header_file"])
    gcc(*flags, f"-I{out}", out / a["skeleton_file"])
    text = a["skeleton_text"]
    assert "/* DECIDE:" in text or "DECIDE:" in text
    assert not re.search(r"\b(TODO|FIXME)\b", text + a["header_text"])
    # the library's nodes, from readelf on the real libxendevicemodel.so.1
    libs = unpack("libxendevicemodel1", tmp_path / "dm") / "usr" / "lib" / "x86_64-linux-gnu"
    defs = readelf("-V", "-W", libs / "libxendevicemodel.so.1")
    defs = defs[defs.index(".gnu.version_d"):defs.index(".gnu.version_r")]
    nodes = re.findall(r"Name: (VERS_[\d.]+)", defs)
    assert nodes == ["VERS_1.0", "VERS_1.1", "VERS_1.2", "VERS_1.3", "VERS_1.4"]
    script = ["VERS_1.0 { local: *; };"] + [f"{n} {{ }} {p};" for p, n in itertools.pairwise(nodes)]
    full = tmp_path / "full.map"
    full.write_text("\n".join(script) + "\n" + (out / a["version_script_file"]).read_text())
    # link against the real libxenctrl.so.4.17: every forwarded call must exist there
    ctrl = unpack("libxenmisc4.17", tmp_path / "misc") / "usr" / "lib" / "x86_64-linux-gnu"
    so = tmp_path / "libxendevicemodel-proposed.so"
    gcc("-shared", "-fPIC", "-o", so, f"-I{inc}", f"-I{out}", out / a["skeleton_file"],
        f"-Wl,--version-script={full}", "-Wl,-z,defs", f"-L{ctrl}", "-l:libxenctrl.so.4.17",
        f"-Wl,-rpath-link,{ctrl}:{libs}")
    syms = readelf("--dyn-syms", "-W", so)
    assert len(a["functions"]) == 11
    for name in a["functions"]:
        assert re.search(rf"\b{name}@@VERS_1\.5\b", syms), name
    assert re.search(r"Name: VERS_1\.5\s+0x[0-9a-f]+: Parent 1: VERS_1\.4", readelf("-V", "-W",
                                                                                   so))


def test_passthrough_group(proposal):
    out, data = proposal
    g = next(g for g in data["groups"] if g["id"] == "pirq-handles")
    symbols = [s["symbol"] for s in g["symbols"]]
    assert sorted(symbols) == sorted(PIRQ_ALLOCATE + PIRQ_BIND)
    assert 5 <= len(symbols) <= 8
    parts = {p["id"]: p for p in g["parts"]}
    assert parts["allocate"]["title"] == "Allocate and free a pirq handle"
    assert parts["bind"]["title"] == "Bind and unbind a handle to a guest vector"
    assert sorted(parts["allocate"]["symbols"]) == sorted(PIRQ_ALLOCATE)
    assert sorted(parts["bind"]["symbols"]) == sorted(PIRQ_BIND)
    assert parts["allocate"]["functions"] == ["xendevicemodel_map_pirq",
                                              "xendevicemodel_map_pirq_msi",
                                              "xendevicemodel_unmap_pirq"]
    assert len(parts["bind"]["functions"]) == 4
    # the qemu functions that change, found in the sources
    assert all(s["functions_from"] == "source" for s in g["symbols"])
    assert g["changed_functions"] == [
        "hw/xen/xen_pt.c:xen_pt_destroy", "hw/xen/xen_pt.c:xen_pt_realize",
        "hw/xen/xen_pt_msi.c:msi_msix_disable", "hw/xen/xen_pt_msi.c:msi_msix_setup",
        "hw/xen/xen_pt_msi.c:msi_msix_update", "hw/xen/xen_pt_msi.c:xen_pt_msix_update_remap"]
    f = {x["name"]: x for x in g["functions"]}["xendevicemodel_map_pirq"]
    assert f["prototype"] == ("int xendevicemodel_map_pirq(xendevicemodel_handle *dmod, "
                              "domid_t domid, int index, int *pirq)")
    assert f["old_prototype"] == ("int xc_physdev_map_pirq(xc_interface *xch, uint32_t domid, "
                                  "int index, int *pirq)")
    md = (out / "proposal.md").read_text()
    section = md.split("Passthrough interrupt mapping: a stable pirq-handle API")[2]
    assert "### Allocate and free a pirq handle" in section
    assert "### Bind and unbind a handle to a guest vector" in section
    for fn in ("xen_pt_realize", "xen_pt_destroy", "msi_msix_setup", "msi_msix_update",
               "msi_msix_disable", "xen_pt_msix_update_remap"):
        assert f"`{fn}`" in section


def test_patches_apply_and_where_finds_the_retired_sites_gone(proposal, qemu_src, tmp_path,
                                                               capsys):
    out, data = proposal
    retire, replace = data["patches"]
    assert retire["kind"] == "retire" and replace["kind"] == "replace"
    assert retire["files"] == ["include/hw/xen/xen_common.h", "scripts/xen-detect.c"]
    gone = [(c["symbol"], c["file"], c["function"], c["condition"]) for c in retire["removed"]
            if c["symbol"] == "xc_get_hvm_param"]
    assert gone == [("xc_get_hvm_param", "include/hw/xen/xen_common.h",
                     "xen_get_ioreq_server_info", f"{MACRO} < 40500")]
    left = sorted((c["file"], c["line"], c["function"]) for c in retire["remaining"]
                  if c["symbol"] == "xc_get_hvm_param")
    assert [x[2] for x in left] == ["xen_map_ioreq_server", "xen_get_default_ioreq_server_info",
                                    "xen_get_default_ioreq_server_info",
                                    "xen_get_default_ioreq_server_info",
                                    "xen_get_ioreq_server_info"]
    assert any("xc_get_hvm_param: 5 reference(s) stay" in n for n in data["notes"])
    # every patch applies to apt-get source qemu as it is
    for p in data["patches"]:
        proc = subprocess.run(["patch", "-p1", "--dry-run", "--batch", "-d", str(qemu_src),
                               "-i", str(out / p["file"])], capture_output=True,
                              text=True, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
    # apply them to a copy (hard links; patch replaces the files it changes)
    copy = tmp_path / "qemu"
    subprocess.run(["cp", "-al", str(qemu_src), str(copy)], check=True)
    for p in data["patches"]:
        for rel in p["files"]:
            (copy / rel).unlink()
            shutil.copyfile(qemu_src / rel, copy / rel)
        subprocess.run(["patch", "-p1", "--batch", "-d", str(copy), "-i", str(out / p["file"])],
                       check=True, capture_output=True)
    assert os.stat(qemu_src / "hw/i386/xen/xen-hvm.c").st_ino != \
        os.stat(copy / "hw/i386/xen/xen-hvm.c").st_ino
    capsys.readouterr()
    assert main(["where", "--source", str(copy), "--symbol", ("xc_get_hvm_param,"
                 "xc_domain_shutdown,xendevicemodel_shutdown"), "-f", "json"]) == 0
    sites = json.loads(capsys.readouterr().out)["callsites"]
    # xc_domain_shutdown is gone from destroy_hvm_domain, which now calls the stable function
    assert not [s for s in sites if s["symbol"] == "xc_domain_shutdown"]
    assert sum(1 for s in sites if s["symbol"] == "xendevicemodel_shutdown"
               and s["function"] == "destroy_hvm_domain") == 2
    # the '< 40500' definition's use is gone; what remains is what the patch said remains
    hvm = [s for s in sites if s["symbol"] == "xc_get_hvm_param"]
    assert not [s for s in hvm if MACRO in (s["condition"] or "")]
    assert sorted(s["function"] for s in hvm) == sorted(x[2] for x in left)
    assert sum(1 for s in hvm if s["function"] == "xen_get_ioreq_server_info") == 1


def test_markdown_and_json_agree(proposal):
    out, data = proposal
    md = (out / "proposal.md").read_text()
    assert md.startswith("# RFC: new entry points in libxendevicemodel.so.1 for the "
                         "ABI-unstable calls of qemu-system-xen")
    for g in data["groups"]:
        assert g["title"] in md
        for f in g["functions"]:
            assert f["doc"] in md
    for p in data["patches"]:
        assert (out / p["file"]).read_text().endswith(p["diff"])
    from markdown_it import MarkdownIt

    html = MarkdownIt("commonmark").enable("table").render(md)
    # summary, three groups' uses, the retire patch's removed/remaining, the replaced call
    assert html.count("<table>") == 7
    assert html.count('<code class="language-c">') == 11
    assert "|---" not in html


def test_headers_without_the_xen_420_calls(tmp_path, capsys):
    """trixie's qemu 10.0 imports two calls new in Xen 4.20; bookworm's libxen-dev (4.17)
    does not declare them: they are named, the rest is still proposed."""
    out = tmp_path / "o"
    assert main(["propose", "--with-deps", "qemu-system-xen/trixie", "--headers", "libxen-dev",
                 "-d", str(out), "-q", "-f", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["not_declared"] == ["xc_pcidev_get_gsi", "xc_physdev_map_pirq_gsi"]
    funcs = [f for g in data["groups"] for f in g["functions"]]
    bad = {f["replaces"]: f for f in funcs if f["status"] != "proposed"}
    assert set(bad) == {"xc_pcidev_get_gsi", "xc_physdev_map_pirq_gsi"}
    assert all("not declared in the headers given (libxen-dev 4.17" in f["detail"]
               for f in bad.values())
    assert len([f for f in funcs if f["status"] == "proposed"]) == 11
    # trixie's libxendevicemodel.so.1 has the same nodes: the new one is still VERS_1.5
    assert data["additions"][0]["node"] == "VERS_1.5"
