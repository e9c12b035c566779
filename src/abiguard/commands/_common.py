"""Options and output handling shared by the commands."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from ..errors import UsageError


def add_output_options(parser: argparse.ArgumentParser, formats: tuple[str, ...]) -> None:
    """--format/--output/--quiet/--verbose, the same for every command."""
    g = parser.add_argument_group("output")
    g.add_argument("-f", "--format", choices=formats, default=formats[0],
                   help=f"output format (default: {formats[0]})")
    g.add_argument("-o", "--output", metavar="FILE",
                   help="write the result to FILE instead of standard output")
    g.add_argument("-q", "--quiet", action="store_true", help="no progress or notes on stderr")
    g.add_argument("-v", "--verbose", action="count", default=0,
                   help="more detail (stable libraries' symbols, evidence)")


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


def error_line(err) -> None:
    """An input error, one line on stderr (always shown: it changes the exit code)."""
    sys.stderr.write(f"abiguard: error: {err}\n")
