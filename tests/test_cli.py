"""abiguard.cli's own pieces (the commands' options: tests/commands/test_options.py)."""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys

import pytest

from abiguard.cli import build_parser, terminal_columns
from helpers.paths import SRC


@pytest.mark.parametrize("columns", [None, "120", "0", "-3", "wide", ""])
def test_terminal_columns_are_shutils(columns, monkeypatch):
    """The help's width, as shutil.get_terminal_size (which the start-up no longer imports)
    tells it: COLUMNS when it is a positive number, else the terminal's, else 80."""
    if columns is None:
        monkeypatch.delenv("COLUMNS", raising=False)
    else:
        monkeypatch.setenv("COLUMNS", columns)
    assert terminal_columns() == shutil.get_terminal_size().columns
    formatter = build_parser()._get_formatter()
    assert formatter._width == argparse.HelpFormatter("abiguard")._width  # (argparse's own)


def test_a_scan_of_files_imports_no_package_machinery():
    """What a scan of files imports: none of apt, .deb reading, the census's package kinds,
    and none of the modules it needs only for them (or for text output)."""
    code = ("import sys, abiguard.cli, abiguard.commands.scan, abiguard.pipeline, "
            "abiguard.render.json; from abiguard.cli import build_parser; "
            "build_parser('scan'); print(' '.join(sorted(sys.modules)))")
    loaded = set(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                                check=True, env={"PYTHONPATH": str(SRC)}).stdout.split())
    assert "abiguard.pipeline" in loaded
    unwanted = {"abiguard.debian.apt", "abiguard.debian.deb", "abiguard.debian.control",
                "abiguard.debian.suites", "abiguard.tarstream", "abiguard.elf.dwarf",
                "abiguard.sources.package",
                "hashlib", "subprocess", "tempfile", "shutil", "ctypes", "pathlib",
                "importlib.resources"}
    assert sorted(loaded & unwanted) == []


def test_a_scan_of_files_loads_only_what_it_needs(tmp_path):
    """What a whole scan of a file loads (its run included, not only its imports): none of
    the plan's and call sites' types, the JSON reader, the census's and impact's faces of the
    sources and indexed layers, a history's releases, apt's answers; no tomllib (the built-in
    policy is read from its compiled form) and no threading (issue #17: a scan's start-up is
    serial time). Every dataclass it makes has a docstring (else Python 3.11 computes its
    signature for one)."""
    out = tmp_path / "scan.json"
    code = ("import dataclasses, sys\n"
            "from abiguard.cli import main\n"
            f"rc = main(['scan', '-q', '--format', 'json', '-o', {str(out)!r}, sys.executable])\n"
            "assert rc in (0, 1), rc\n"
            "undocumented = [f'{m.__name__}.{k}' for m in list(sys.modules.values())\n"
            "                if m.__name__.startswith('abiguard') for k, c in vars(m).items()\n"
            "                if isinstance(c, type) and dataclasses.is_dataclass(c)\n"
            "                and c.__module__ == m.__name__\n"
            "                and (c.__doc__ or '').startswith(c.__name__ + '(')]\n"
            "print(' '.join(sorted(sys.modules)))\n"
            "print(' '.join(undocumented) or 'none')\n")
    lines = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                           check=True, env={"PYTHONPATH": str(SRC)}).stdout.splitlines()
    loaded = set(lines[0].split())
    assert {"abiguard.pipeline", "abiguard.model.core", "abiguard.policy.builtin"} <= loaded
    assert out.read_text(encoding="utf-8").startswith("{")
    unwanted = {"abiguard.model.plan", "abiguard.jsonform.read", "abiguard.remedies",
                "abiguard.sources.faces", "abiguard.sources.fetched", "abiguard.sources.package",
                "abiguard.resolve.indexed", "abiguard.policy.releases", "abiguard.debian.apt",
                "abiguard.debian.deb", "tomllib", "threading", "datetime", "hashlib",
                "subprocess", "tempfile", "pathlib"}
    assert sorted(loaded & unwanted) == []
    assert lines[1] == "none"


def test_the_start_up_imports_make_no_garbage_collection():
    """The command's modules are imported with the cyclic collector paused, and what they
    made is then frozen (gc.freeze): no collection walks it, during the start-up or after;
    the collector is on again afterwards."""
    code = ("import gc, sys\n"
            "from abiguard import cli\n"
            "runs = []\n"
            "gc.callbacks.append(lambda phase, info: runs.append(info['generation'])"
            " if phase == 'start' else None)\n"
            "assert 'abiguard.pipeline' not in sys.modules\n"
            "cli.start('scan')\n"
            "assert 'abiguard.pipeline' in sys.modules\n"
            "print(len(runs), gc.isenabled(), gc.get_freeze_count() > 10000)\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True, env={"PYTHONPATH": str(SRC)}).stdout.split()
    assert out == ["0", "True", "True"]


def test_the_collector_stays_off_when_it_was():
    import gc

    from abiguard import cli

    gc.disable()
    try:
        assert cli.start("scan").commands["scan"] is not None
        assert not gc.isenabled()
    finally:
        gc.enable()
