"""The text renderers' console: the width text is laid out for, and line helpers.

Text is laid out for ``COLUMNS`` (else the terminal's width when stdout is one, else 120)
and written to an in-memory rich console (colour only when asked: a terminal, not
``NO_COLOR``); lines are prepared by :mod:`abiguard.render.table` (identifiers never break).
"""

from __future__ import annotations

import io
import os
import shutil
import sys

from rich.console import Console
from rich.text import Text

from ..table import paragraph, print_lines, warning_lines


def terminal_width(default: int = 120) -> int:
    """COLUMNS when set, else the terminal's width when stdout is one, else ``default``."""
    value = os.environ.get("COLUMNS", "")
    if value.strip().isdigit() and int(value) > 0:
        return int(value)
    if hasattr(sys.stdout, "isatty") and sys.stdout.isatty():
        return shutil.get_terminal_size((default, 24)).columns
    return default


def console(color: bool, width: int | None = None) -> Console:
    width = width or terminal_width()
    return Console(file=io.StringIO(), width=max(width, 40), force_terminal=color,
                   no_color=not color, color_system="standard" if color else None,
                   highlight=False, emoji=False, soft_wrap=True)


def print_indented(con: Console, text: Text, indent: int, hanging: int | None = None) -> None:
    """A Text wrapped between words at the console width, every line indented, the lines
    after the first by ``hanging`` (no trailing padding; identifiers are never broken)."""
    print_lines(con, [Text(line, text.style) for line in
                      paragraph(text.plain, con.width, indent, hanging)])


def warn(con: Console, message: str) -> None:
    """A warning line (e.g. libraries not found), wrapped between words."""
    print_lines(con, warning_lines(message, con.width))


def on_console(con: Console) -> str:
    """What was printed on a console made by :func:`console`."""
    out = con.file
    assert isinstance(out, io.StringIO)
    return out.getvalue()


__all__ = ["console", "on_console", "print_indented", "terminal_width", "warn"]
