"""Text tables and paragraphs that never break an identifier.

Every text renderer lays out its tables here instead of letting the terminal library fold
cells at arbitrary characters (which split ``xendevicemodel_populate_physmap`` into
``xendevicemodel_populate_phy``/``smap`` and left lone commas). The rules:

* a cell is cut into *units* that are never broken: an ``id`` cell (a symbol, a path, a
  version node) is one unit, except that a C++ signature may wrap after the ``", "`` between
  its parameters; a ``list`` cell wraps between its comma-separated items (an item too wide
  for the column wraps at its own spaces); a ``text`` cell wraps between words;
* a column is never narrower than its widest unit (nor its header);
* when the columns do not fit the width: the text and list columns shrink first, then the
  ``heading`` columns (if the table has some: e.g. library, version node and class of a
  list of symbols) become a heading line above their rows, then C++ signatures wrap, then
  the columns that may be dropped are dropped (highest ``drop`` first), then the rightmost
  columns are *folded* onto indented ``header: value`` lines below each row.

A line is only wider than the width when a single unit (with its indent) is: an identifier
longer than the screen. Lines carry no trailing blanks. ``Table.lines(width)`` gives rich ``Text`` lines,
``print_lines`` prints them without any further wrapping.
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from rich.text import Text

Cell = str | tuple[str, str]
"""A cell's text, or (text, rich style)."""

_AFTER_COMMA = re.compile(r"(?<=,) +")


@dataclass
class Column:
    header: str
    kind: str = "id"
    """id | list | text | num (num: right-justified, one unit)."""
    drop: int = 0
    """0: always shown; columns with a higher value are dropped first when narrow."""
    max_lines: int | None = None
    """text: at most this many lines, cut after a word with "…"."""
    min_width: int = 0
    """A wrapping column is folded rather than made narrower than this."""
    style: str = ""
    hide_empty: bool = True
    """Leave the column out when no row has a value in it."""


def _signature_units(text: str) -> list[str]:
    """A C++ signature: a break after the ``(`` that opens the parameters and after each
    ``", "`` (the name itself, ``ns::Class::method(``, stays whole)."""
    head, rest = "", text
    if "operator" not in text:
        depth = 0
        for k, ch in enumerate(text):
            if ch == "<":
                depth += 1
            elif ch == ">":
                depth -= 1
            elif ch == "(" and depth == 0:
                if k + 1 < len(text) and text[k + 1] != ")":
                    head, rest = text[: k + 1], text[k + 1:]
                break
    parts = _AFTER_COMMA.split(rest)
    return [head, *parts] if head else parts


def units(text: str, kind: str) -> list[str]:
    """The pieces a cell may be wrapped between."""
    if not text:
        return [""]
    if kind == "num":
        return [text]
    if kind == "id":
        return _signature_units(text) if "(" in text else [text]
    if kind == "list":
        return _AFTER_COMMA.split(text)
    return text.split()


def _min_width(text: str, kind: str) -> int:
    if kind == "list":
        return max((len(w) for w in text.split()), default=0)
    parts = units(text, kind)
    if kind == "id" and len(parts) > 1:  # continuation lines are indented by 2
        return max([len(parts[0])] + [len(u) + 2 for u in parts[1:]])
    return max((len(u) for u in parts), default=0)


def wrap(text: str, width: int, kind: str = "text") -> list[str]:
    """The lines of a cell at ``width``; never breaks a unit (see the module docstring).
    The continuation lines of a C++ signature are indented by two."""
    if not text:
        return [""]
    parts = units(text, kind)
    if kind == "id" and len(parts) > 1:
        if len(text) <= width:
            return [text]
        lines = [parts[0]]
        for unit in parts[1:]:
            joiner = "" if lines[-1].endswith("(") else " "
            if len(lines[-1]) + len(joiner) + len(unit) <= width:
                lines[-1] += joiner + unit
            else:
                lines.append("  " + unit)
        return lines
    lines = []
    line = ""
    for unit in parts:
        if len(unit) > width and kind == "list" and " " in unit:
            pieces = wrap(unit, width, "text")
        else:
            pieces = [unit]
        for piece in pieces:
            if not line:
                line = piece
            elif len(line) + 1 + len(piece) <= width:
                line += " " + piece
            else:
                lines.append(line)
                line = piece
    lines.append(line)
    return lines


def _cut(lines: list[str], n: int, width: int) -> list[str]:
    if len(lines) <= n:
        return lines
    kept = lines[:n]
    last = kept[-1]
    while last and len(last) + 2 > width:
        last = last.rsplit(" ", 1)[0] if " " in last else ""
    kept[-1] = (last + " …") if last else "…"
    return kept


def _text(cell: Cell) -> tuple[str, str]:
    if isinstance(cell, tuple):
        return cell
    return cell, ""


class Table:
    """Rows of cells under headers.

    ``heading``: the indices of columns that may become a heading line above their rows
    when the table is too wide (e.g. the library, version node and class of a list of
    symbols); a row whose heading cells are all blank continues the heading above."""

    def __init__(self, columns: Sequence[Column], *, indent: int = 1, gap: int = 2,
                 heading: Sequence[int] = (), show_header: bool = True) -> None:
        self.columns = list(columns)
        self.rows: list[list[tuple[str, str]]] = []
        self.indent = indent
        self.gap = gap
        self.heading = tuple(heading)
        self.show_header = show_header

    def add_row(self, *cells: Cell) -> None:
        if len(cells) != len(self.columns):
            raise ValueError(f"{len(cells)} cells for {len(self.columns)} columns")
        self.rows.append([_text(c) for c in cells])

    def __len__(self) -> int:
        return len(self.rows)

    # ----------------------------------------------------------------------------------------

    def _natural(self, i: int) -> int:
        col = self.columns[i]
        cells = max((len(r[i][0]) for r in self.rows), default=0)
        return max(len(col.header) if self.show_header else 0, cells)

    def _minimum(self, i: int, ids: bool) -> int:
        """The narrowest the column may be: its widest unit (an id column: its natural
        width unless ``ids``, when signatures may wrap too)."""
        col = self.columns[i]
        head = len(col.header) if self.show_header else 0
        if col.kind == "num" or (col.kind == "id" and not ids):
            return self._natural(i)
        cells = max((_min_width(r[i][0], col.kind) for r in self.rows), default=0)
        if col.kind != "id":
            cells = max(cells, min(col.min_width, self._natural(i)))
        return max(head, cells)

    def layout(self, width: int) -> tuple[list[int], dict[int, int], list[int], bool]:
        """(columns shown in the table, their widths, folded columns, heading hoisted).

        In order until it fits: natural widths; wrapping text/list columns narrowed; the
        heading columns hoisted; signatures wrapped; columns dropped; columns folded."""
        shown = [i for i, c in enumerate(self.columns)
                 if not (c.hide_empty and all(not r[i][0] for r in self.rows))]
        folded: list[int] = []
        hoisted = False
        while True:
            cols = [i for i in shown if not (hoisted and i in self.heading)]
            indent = self.indent + (2 if hoisted else 0)
            avail = width - indent - self.gap * (len(cols) - 1)
            nat = {i: self._natural(i) for i in cols}
            if sum(nat.values()) <= avail:
                return cols, nat, folded, hoisted
            mins = {i: self._minimum(i, False) for i in cols}
            if sum(mins.values()) <= avail:
                return cols, _shrink(nat, mins, avail), folded, hoisted
            heads = [i for i in self.heading if i in shown]
            if heads and not hoisted and len(cols) > len(heads):
                hoisted = True
                continue
            mins = {i: self._minimum(i, True) for i in cols}
            if sum(mins.values()) <= avail:
                return cols, _shrink(nat, mins, avail), folded, hoisted
            droppable = [i for i in cols if self.columns[i].drop > 0]
            if droppable:
                worst = max(droppable, key=lambda i: (self.columns[i].drop, i))
                shown.remove(worst)
                continue
            if len(cols) <= 1:
                return cols, {i: max(mins[i], min(nat[i], avail)) for i in cols}, folded, \
                    hoisted
            last = cols[-1]
            shown.remove(last)
            folded.insert(0, last)

    def _heading_line(self, row: list[tuple[str, str]]) -> tuple[str, str]:
        cells = [row[i] for i in self.heading]
        text = "  ".join(t for t, _ in cells if t)
        style = next((st for t, st in cells if t and st), "")
        return text, style

    def lines(self, width: int) -> list[Any]:
        if not self.rows:
            return []
        cols, widths, folded, hoisted = self.layout(width)
        pad = " " * (self.indent + (2 if hoisted else 0))
        sep = " " * self.gap
        out: list[Text] = []
        if self.show_header and cols:
            head = Text(pad)
            for n, i in enumerate(cols):
                col = self.columns[i]
                h = col.header.rjust(widths[i]) if col.kind == "num" else col.header
                if n < len(cols) - 1:
                    h = h.ljust(widths[i])
                head.append(h, "bold")
                if n < len(cols) - 1:
                    head.append(sep)
            out.append(_rstrip(head))
        current = None
        for row in self.rows:
            if hoisted:
                value, style = self._heading_line(row)
                if value and value != current:
                    current = value
                    for piece in wrap(value, max(10, width - self.indent), "list"):
                        out.append(Text(" " * self.indent + piece, "bold"))
            cells = []
            for i in cols:
                col = self.columns[i]
                text, style = row[i]
                lines = wrap(text, widths[i], col.kind)
                if col.max_lines:
                    lines = _cut(lines, col.max_lines, widths[i])
                cells.append((lines, style or col.style, col.kind == "num"))
            height = max((len(c[0]) for c in cells), default=1)
            for k in range(height):
                line = Text(pad)
                for n, (i, (lines, style, right)) in enumerate(zip(cols, cells)):
                    piece = lines[k] if k < len(lines) else ""
                    last = n == len(cols) - 1
                    if right:
                        piece = piece.rjust(widths[i])
                    elif not last:
                        piece = piece.ljust(widths[i])
                    line.append(piece, style if piece.strip() else "")
                    if not last:
                        line.append(sep)
                out.append(_rstrip(line))
            for i in folded:
                col = self.columns[i]
                text, style = row[i]
                if not text:
                    continue
                label = f"{col.header}: "
                lead = pad + "  "
                inner = width - len(lead) - len(label)
                if _min_width(text, col.kind) > inner:  # the value under its label
                    out.append(Text(lead + label.rstrip(), "dim"))
                    lead, label = lead + "  ", ""
                    inner = width - len(lead)
                lines = wrap(text, max(inner, 1), col.kind)
                if col.max_lines:
                    lines = _cut(lines, col.max_lines, inner)
                for k, piece in enumerate(lines):
                    line = Text(lead)
                    line.append(label if k == 0 else " " * len(label), "dim")
                    line.append(piece, style or col.style)
                    out.append(_rstrip(line))
        return out


def _shrink(nat: dict[int, int], mins: dict[int, int], avail: int) -> dict[int, int]:
    """Narrow the columns with the most room, one character at a time, down to their
    minimum."""
    widths = dict(nat)
    excess = sum(widths.values()) - avail
    while excess > 0:
        flexible = [i for i in widths if widths[i] > mins[i]]
        if not flexible:
            break
        widest = max(flexible, key=lambda i: (widths[i] - mins[i], widths[i]))
        widths[widest] -= 1
        excess -= 1
    return widths


def _rstrip(text: Any) -> Any:
    text.rstrip()
    return text


def paragraph(text: str, width: int, indent: int = 0, hanging: int | None = None
              ) -> list[str]:
    """Prose wrapped between words (identifiers, paths and URLs stay whole), indented;
    ``hanging``: the indent of the lines after the first (default: the same)."""
    first = " " * indent
    rest = " " * (indent if hanging is None else hanging)
    return textwrap.wrap(" ".join(text.split()), max(width, len(first) + 10),
                         initial_indent=first, subsequent_indent=rest,
                         break_long_words=False, break_on_hyphens=False) or [first.rstrip()]


def item_lines(prefix: str, items: Iterable[str], width: int, indent: int = 0) -> list[str]:
    """``prefix`` (wrapped between words) then the items separated by commas, wrapped
    between items (an item wider than the line wraps at its own spaces); continuation lines
    indented by ``indent`` + 2."""
    items = list(items)
    pieces = prefix.split()
    if prefix.endswith(" ") and pieces:
        pieces[-1] += " "
    units = [p + " " if not p.endswith(" ") else p for p in pieces]
    units += [item + (", " if k < len(items) - 1 else "") for k, item in enumerate(items)]
    lines: list[str] = []
    line = ""
    for unit in units:
        avail = width - indent - (2 if lines else 0)
        if line and len(line) + len(unit.rstrip()) > avail:
            lines.append(line.rstrip())
            line = ""
            avail = width - indent - 2
        if not line and len(unit.rstrip()) > avail and " " in unit.strip():
            parts = wrap(unit.rstrip(), avail, "text")
            lines += parts[:-1]
            line = parts[-1] + unit[len(unit.rstrip()):]
            continue
        line += unit
    if line.strip() or not lines:
        lines.append(line.rstrip())
    return [" " * (indent if k == 0 else indent + 2) + ln for k, ln in enumerate(lines)]


def title(name: str, detail: str, width: int, style: str = "bold", lead: str = "") -> list[Any]:
    """``lead`` + ``name`` in ``style`` and ``  (detail)`` on one line when it fits, else the
    detail on the next lines, indented by two (the name, often a path, stays whole)."""
    head = Text(lead, style)
    head.append(name, style)
    tail = f"  ({detail})" if detail else ""
    if len(lead) + len(name) + len(tail) <= width:
        head.append(tail)
        return [head]
    return [head] + [Text(line) for line in paragraph(f"({detail})", width, 2, 3)]


def warning_lines(message: str, width: int) -> list[Any]:
    """``warning: message`` wrapped between words, in yellow."""
    lines = paragraph(f"warning: {message}", width, 0, 2)
    first = Text("warning:", "bold yellow")
    first.append(lines[0][len("warning:"):], "yellow")
    return [first] + [Text(line, "yellow") for line in lines[1:]]


def print_lines(con: Any, lines: Iterable[Any]) -> None:
    """Print prepared lines as they are (no wrapping, no cropping)."""
    for line in lines:
        if not isinstance(line, Text):
            line = Text(line)
        con.print(line, no_wrap=True, overflow="ignore", crop=False, soft_wrap=True)


__all__ = ["Column", "Table", "item_lines", "paragraph", "print_lines", "title", "units",
           "warning_lines", "wrap"]
