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
