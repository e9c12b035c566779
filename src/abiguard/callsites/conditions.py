"""Preprocessor conditions, line by line: the condition each line of a C source sits under
(nested ``#if``s joined with ``&&``, ``#else``/``#elif`` branches negated, ``#ifdef X`` as
``defined(X)``, include guards left out), as disjunctive normal forms that are simplified,
rendered and evaluated under a macro environment (:mod:`.cpp_expr`). Used by the source call
sites (:mod:`.source`) and by propose's patches (``unifdef``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from .cpp_expr import Macros, evaluate_all

Term = tuple[str, ...]
"""A conjunction of preprocessor conditions (empty: unconditional)."""
Dnf = tuple[Term, ...]
"""A disjunction of terms."""


# --------------------------------------------------------------------------------------------
# Preprocessor conditions, line by line
# --------------------------------------------------------------------------------------------

_COMPARE_FLIP = {"<": ">=", ">=": "<", ">": "<=", "<=": ">", "==": "!=", "!=": "=="}
_SIMPLE_COMPARE = re.compile(r"^([A-Za-z_]\w*|\d\w*)\s*(<=|>=|==|!=|<|>)\s*([A-Za-z_]\w*|\d\w*)$")
_DEFINED = re.compile(r"\bdefined\s*\(\s*([A-Za-z_]\w*)\s*\)|\bdefined\s+([A-Za-z_]\w*)")


def normalize_expression(expr: str) -> str:
    """Collapse whitespace and write ``defined X`` as ``defined(X)``."""
    expr = " ".join(expr.split())
    return _DEFINED.sub(lambda m: f"defined({m.group(1) or m.group(2)})", expr)


def _balanced(expr: str) -> bool:
    """True when the whole expression is wrapped by one pair of parentheses."""
    if not (expr.startswith("(") and expr.endswith(")")):
        return False
    level = 0
    for i, ch in enumerate(expr):
        level += ch == "("
        level -= ch == ")"
        if level == 0 and i != len(expr) - 1:
            return False
    return True


def negate(expr: str) -> str:
    """The negation of a condition, written the way a person would."""
    expr = expr.strip()
    m = re.fullmatch(r"!\s*(defined\([A-Za-z_]\w*\)|[A-Za-z_]\w*)", expr)
    if m:
        return m.group(1)
    if re.fullmatch(r"defined\([A-Za-z_]\w*\)|[A-Za-z_]\w*|\d+", expr):
        return f"!{expr}"
    m = _SIMPLE_COMPARE.match(expr)
    if m:
        return f"{m.group(1)} {_COMPARE_FLIP[m.group(2)]} {m.group(3)}"
    if expr.startswith("!") and _balanced(expr[1:].strip()):
        return expr[1:].strip()[1:-1].strip()
    return f"!({expr})"


def _wrap(expr: str) -> str:
    """Parenthesize an expression that would bind looser than ``&&``."""
    if _balanced(expr):
        return expr
    if "||" in expr or "?" in expr:
        return f"({expr})"
    return expr


def render_term(term: Term) -> str | None:
    if not term:
        return None
    if len(term) == 1:
        return term[0]
    return " && ".join(_wrap(c) for c in term)


def render_dnf(dnf: Dnf) -> str | None:
    """Human form of a disjunction; None when it is always true."""
    if not dnf or any(not t for t in dnf):
        return None if dnf else "0"
    if len(dnf) == 1:
        return render_term(dnf[0])
    return " || ".join(f"({render_term(t)})" if len(t) > 1 else _wrap(t[0]) for t in dnf)


def conjoin(a: Term, b: Term) -> Term:
    return tuple(dict.fromkeys(a + b))


def _contradictory(term: Term) -> bool:
    s = set(term)
    return any(negate(c) in s for c in term)


def simplify(dnf: Iterable[Term], limit: int = 32) -> Dnf:
    """Drop contradictions, duplicates and absorbed terms; merge ``A&&c`` with ``A&&!c``."""
    terms = [t for t in dict.fromkeys(dnf) if not _contradictory(t)]
    changed = True
    while changed:
        changed = False
        sets = [frozenset(t) for t in terms]
        # absorption
        keep = []
        for i, s in enumerate(sets):
            if any((o < s) or (o == s and j < i) for j, o in enumerate(sets) if j != i):
                changed = True
                continue
            keep.append(terms[i])
        terms = keep
        sets = [frozenset(t) for t in terms]
        # complement merge
        done = False
        for i in range(len(terms)):
            for j in range(i + 1, len(terms)):
                diff_i, diff_j = sets[i] - sets[j], sets[j] - sets[i]
                if len(diff_i) == 1 and len(diff_j) == 1:
                    (ci,), (cj,) = diff_i, diff_j
                    if negate(ci) == cj or negate(cj) == ci:
                        merged = tuple(c for c in terms[i] if c != ci)
                        terms = [t for k, t in enumerate(terms) if k not in (i, j)] + [merged]
                        changed = done = True
                        break
            if done:
                break
    return tuple(terms[:limit])


def evaluate_dnf(dnf: Dnf, macros: Macros | None) -> bool | None:
    """Kleene OR of the terms' values; None when unknown.

    Without a configured environment only conditions made of constants are decided
    (``#if 0`` is never compiled); everything else is None.
    """
    if macros is None:
        macros = Macros()
    if not macros.configured:
        # only constants can be decided: say "not compiled" when they prove it, else unknown
        return False if _kleene_or(dnf, Macros()) is False else None
    return _kleene_or(dnf, macros)


def _kleene_or(dnf: Dnf, macros: Macros) -> bool | None:
    result: bool | None = False
    for t in dnf:
        v = evaluate_all(t, macros)
        if v is True:
            return True
        if v is None:
            result = None
    return result


@dataclass
class _Frame:
    previous: list[str] = field(default_factory=list)
    current: Term = ()
    guard: bool = False
    start: int = 0


_DIRECTIVE = re.compile(rb"^[ \t]*#[ \t]*([A-Za-z_]+)\b(.*)$", re.DOTALL)


def _strip_c_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", " ", text, flags=re.DOTALL)
    return re.sub(r"//.*", "", text)


def _directives(src: bytes) -> list[tuple[int, int, str, str]]:
    """(first line, last line, directive, argument) for each directive (0-based lines).

    Block comments spanning lines are honoured; continuation lines are joined.
    """
    lines = src.split(b"\n")
    out: list[tuple[int, int, str, str]] = []
    in_comment = False
    i = 0
    n = len(lines)
    while i < n:
        line = lines[i]
        start = i
        if not in_comment:
            m = _DIRECTIVE.match(line)
            if m:
                parts = [line]
                while parts[-1].rstrip(b"\r").endswith(b"\\") and i + 1 < n:
                    parts[-1] = parts[-1].rstrip(b"\r")[:-1]
                    i += 1
                    parts.append(lines[i])
                full = b" ".join(parts)
                m = _DIRECTIVE.match(full) or m
                name = m.group(1).decode("ascii", "replace")
                arg = m.group(2).decode("utf-8", "replace")
                # a block comment opened on the directive line and not closed
                stripped = re.sub(r"/\*.*?\*/", " ", arg, flags=re.DOTALL)
                if "/*" in stripped:
                    in_comment = True
                    stripped = stripped[:stripped.index("/*")]
                out.append((start, i, name, re.sub(r"//.*", "", stripped).strip()))
                i += 1
                continue
        # track block comments on ordinary lines (strings are rare enough to ignore here,
        # but skip "/*" inside double-quoted strings)
        text = re.sub(rb'"(?:\\.|[^"\\])*"', b'""', line)
        pos = 0
        while True:
            if in_comment:
                end = text.find(b"*/", pos)
                if end < 0:
                    break
                in_comment = False
                pos = end + 2
            else:
                sl = text.find(b"//", pos)
                st = text.find(b"/*", pos)
                if st < 0 or (0 <= sl < st):
                    break
                in_comment = True
                pos = st + 2
        i += 1
    return out


def directives(src: bytes) -> list[tuple[int, int, str, str]]:
    """The preprocessor directives of a source: (first line, last line, directive name,
    argument without comments), 0-based lines; continuation lines joined, directives inside
    block comments skipped (what :func:`line_conditions` reads)."""
    return _directives(src)


def line_conditions(src: bytes) -> list[Term]:
    """The condition term of every line (0-based), include guards left out."""
    directives = _directives(src)
    nlines = src.count(b"\n") + 1
    guard_index = _include_guard(directives, src)
    result: list[Term] = [()] * nlines
    stack: list[_Frame] = []
    current: Term = ()
    pos = 0

    def fill(upto: int) -> None:
        nonlocal pos
        if upto > pos:
            result[pos:upto] = [current] * (upto - pos)
            pos = upto

    def recompute() -> Term:
        t: list[str] = []
        for f in stack:
            if not f.guard:
                t.extend(f.current)
        return tuple(dict.fromkeys(t))

    for k, (first, last, name, arg) in enumerate(directives):
        fill(first)
        expr = normalize_expression(arg)
        if name in ("if", "ifdef", "ifndef"):
            cond = expr if name == "if" else (
                f"defined({expr.split()[0]})" if name == "ifdef" and expr
                else f"!defined({expr.split()[0]})" if expr else "1")
            stack.append(_Frame(previous=[cond], current=(cond,), guard=(k == guard_index)))
        elif name in ("elif", "elifdef", "elifndef") and stack:
            f = stack[-1]
            cond = expr if name == "elif" else (
                f"defined({expr.split()[0]})" if name == "elifdef"
                else f"!defined({expr.split()[0]})")
            f.current = tuple(negate(p) for p in f.previous if not _excludes(cond, p)) + (cond,)
            f.previous.append(cond)
        elif name == "else" and stack:
            f = stack[-1]
            f.current = tuple(negate(p) for p in f.previous)
        elif name == "endif" and stack:
            stack.pop()
        else:
            # the directive's own lines (a #define body) belong to the current condition
            continue
        # the directive line itself belongs to the enclosing condition
        fill(last + 1)
        current = recompute()
    fill(nlines)
    return result


_EQUALS = re.compile(r"^([A-Za-z_]\w*)\s*==\s*(\d+)[uUlL]*$")


def _excludes(cond: str, other: str) -> bool:
    """True when ``cond`` already implies ``!other`` (``X == 1`` excludes ``X == 2``)."""
    a, b = _EQUALS.match(cond), _EQUALS.match(other)
    return bool(a and b and a.group(1) == b.group(1) and int(a.group(2)) != int(b.group(2)))


def _include_guard(directives: list[tuple[int, int, str, str]], src: bytes) -> int | None:
    """Index of the ``#ifndef X`` / ``#define X`` … ``#endif`` guard directive, if any."""
    if len(directives) < 3:
        return None
    first, second = directives[0], directives[1]
    name = None
    if first[2] == "ifndef":
        name = first[3].split()[0] if first[3] else None
    elif first[2] == "if":
        m = re.fullmatch(r"!\s*defined\s*\(?\s*([A-Za-z_]\w*)\s*\)?", first[3])
        name = m.group(1) if m else None
    if not name or second[2] != "define" or (second[3].split() or [""])[0] != name:
        return None
    # the matching #endif must be the last directive and nothing but comments may follow
    level = 0
    for k, d in enumerate(directives):
        if d[2] in ("if", "ifdef", "ifndef"):
            level += 1
        elif d[2] == "endif":
            level -= 1
            if level == 0:
                if k != len(directives) - 1:
                    return None
                tail = b"\n".join(src.split(b"\n")[d[1] + 1:]).decode("utf-8", "replace")
                return 0 if not _strip_c_comments(tail).strip() else None
    return None


__all__ = ["Dnf", "Term", "conjoin", "directives", "evaluate_dnf", "line_conditions",
           "negate", "normalize_expression", "render_dnf", "render_term", "simplify"]
