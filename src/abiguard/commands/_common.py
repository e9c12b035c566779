"""Options and output handling shared by the commands."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import UsageError


def add_output_options(parser: argparse.ArgumentParser, formats: tuple[str, ...],
                       select: bool = False) -> None:
    """--format/--output/--quiet/--verbose/--no-demangle, the same for every command;
    ``select``: also --consumer GLOB (the consumers shown in full)."""
    g = parser.add_argument_group("output")
    g.add_argument("-f", "--format", choices=formats, default=formats[0],
                   help=f"output format (default: {formats[0]})")
    g.add_argument("-o", "--output", metavar="FILE",
                   help="write the result to FILE instead of standard output")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress or notes on stderr")
    g.add_argument("-v", "--verbose", action="count", default=0,
                   help="more detail (stable libraries' symbols, evidence)")
    g.add_argument("--no-demangle", action="store_true",
                   help="show C++ symbol names as they are in the binary (text, Markdown, "
                        "HTML; JSON always has them so)")
    if select:
        g.add_argument("--consumer", action="append", default=[], metavar="GLOB",
                       help="show these consumers in full: path, file name or package name "
                            "matching GLOB (repeatable); a scan of more than a few consumers "
                            "shows a summary otherwise")


def emit(args: argparse.Namespace, text: str) -> None:
    """Write a rendered result to --output or stdout."""
    if getattr(args, "output", None):
        path = Path(args.output)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        except OSError as exc:
            raise UsageError(f"cannot write --output {args.output}: {exc.strerror}") from None
        if not getattr(args, "quiet", False):
            note(args, f"wrote {args.output}")
        return
    sys.stdout.write(text)
    sys.stdout.flush()


def note(args: argparse.Namespace, message: str) -> None:
    """A note for the person at the terminal, on stderr, unless --quiet."""
    if not getattr(args, "quiet", False):
        sys.stderr.write(f"abiguard: {message}\n")


def use_color(stream=None) -> bool:
    stream = stream or sys.stdout
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return hasattr(stream, "isatty") and stream.isatty()


def show_progress(args: argparse.Namespace) -> bool:
    return not getattr(args, "quiet", False) and sys.stderr.isatty()


class PhaseLines:
    """The stages' ``notify`` (abiguard.notify): a line on stderr per phase, unless --quiet.

    A scan of local files stays quiet; once a command waits on a download, that and every
    later phase (unpacking, resolving) gets its line, on a terminal or piped alike."""

    def __init__(self, args: argparse.Namespace) -> None:
        self.quiet = bool(getattr(args, "quiet", False))
        self.loud = False

    def __call__(self, phase: str, message: str) -> None:
        if self.quiet:
            return
        if phase == "download":
            self.loud = True
        if self.loud:
            sys.stderr.write(f"abiguard: {message}\n")
            sys.stderr.flush()


def error_line(err) -> None:
    """An input error, one line on stderr (always shown: it changes the exit code)."""
    sys.stderr.write(f"abiguard: error: {err}\n")
