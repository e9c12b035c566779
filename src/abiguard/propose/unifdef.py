"""Retire preprocessor branches below a minimum library version, as ``unifdef`` would.

A consumer that encodes the library version it is built against in a macro (qemu:
``CONFIG_XEN_CTRL_INTERFACE_VERSION``, 40600 for Xen 4.6) keeps compatibility code under
``#if MACRO < 40600`` and the like. Given a lower bound — the macro is defined and at least
the minimum — :func:`unifdef` removes the branches that can no longer be compiled and the
directives that no longer decide anything, and leaves every other directive as it is.

Unlike ``unifdef -DMACRO=40600`` it does not fix the value: ``MACRO < 41000`` stays, because
builds against Xen 4.10 and later still take the other branch. A condition is *decided* when
it has the same value for every value of the macro from the minimum up. The macro may only
appear compared with integer literals (``MACRO >= 40500``, ``40500 <= MACRO``) or in
``defined(MACRO)``; such a condition is piecewise constant between the literals, so evaluating
it (with :mod:`abiguard.callsites.cpp_expr`, other macros unknown) at the minimum and at each
literal and its neighbours decides it exactly. Anything else about the macro (arithmetic, a
macro expanding to it) is left undecided, like a condition on other macros.

A condition of several ``&&`` (or ``||``) terms at its top level loses the terms that are
decided (``#if MACRO >= 40500 && defined(X)`` becomes ``#if defined(X)``), as unifdef does.
The directive lines are found by :func:`abiguard.callsites.conditions.directives` (the same
scanner ``where`` uses for conditions: block comments and continuation lines honoured).
"""

from __future__ import annotations

from dataclasses import dataclass

from ..callsites.conditions import directives
from ..callsites.cpp_expr import Macros, evaluate, tokenize

_CMP = {"<", "<=", ">", ">=", "==", "!="}
_ARITH = {"*", "/", "%", "+", "-", "<<", ">>"}
_BIG = (1 << 62)


@dataclass(frozen=True, slots=True)
class Bound:
    """The macro ``name`` is defined and at least ``minimum``."""

    name: str
    minimum: int


@dataclass(frozen=True, slots=True)
class Unifdefed:
    text: bytes
    removed: frozenset[int]
    """0-based line numbers of the original that are gone (code and directives)."""
    balanced: bool = True
    """False when the file's #if/#endif do not match: it is then left unchanged."""


def _tokens(expr: str) -> list[tuple[str, str]] | None:
    try:
        return tokenize(expr)
    except Exception:  # noqa: BLE001 - tokenize raises its private _Unparsable
        return None


def _safe_uses(toks: list[tuple[str, str]], name: str) -> bool:
    """True when every use of ``name`` is ``defined(name)`` or a comparison with a literal."""
    n = len(toks)
    for i, (kind, text) in enumerate(toks):
        if kind != "ident" or text != name:
            continue
        before = toks[i - 1][1] if i > 0 else ""
        if before == "defined" or (before == "(" and i > 1 and toks[i - 2][1] == "defined"):
            continue

        def literal_operand(op_at: int, lit_at: int, beyond: int) -> bool:
            if not (0 <= op_at < n and 0 <= lit_at < n):
                return False
            if toks[op_at][1] not in _CMP or toks[lit_at][0] != "num":
                return False
            return not (0 <= beyond < n and toks[beyond][1] in _ARITH)

        right = literal_operand(i + 1, i + 2, i + 3)
        left = literal_operand(i - 1, i - 2, i - 3)
        if not (right or left):
            return False
        # the macro itself must not be an operand of arithmetic on its other side
        if right and i > 0 and toks[i - 1][1] in _ARITH | _CMP:
            return False
        if left and i + 1 < n and toks[i + 1][1] in _ARITH | _CMP:
            return False
    return True


def _literals(toks: list[tuple[str, str]]) -> list[int]:
    out = []
    for kind, text in toks:
        if kind == "num":
            digits = text.rstrip("uUlL")
            try:
                out.append(int(digits, 0) if not (len(digits) > 1 and digits[0] == "0" and
                                                 digits[1] not in "xXbB") else int(digits, 8))
            except ValueError:
                continue
    return out


def decide(expr: str, bound: Bound) -> bool | None:
    """The value of ``#if expr`` for every value of the macro from the minimum up, or None
    when it is not the same for all of them (or depends on something else)."""
    toks = _tokens(expr)
    if toks is None or not any(k == "ident" and t == bound.name for k, t in toks):
        return None
    if not _safe_uses(toks, bound.name):
        return None
    points = {bound.minimum, _BIG}
    for c in _literals(toks):
        points.update(v for v in (c - 1, c, c + 1) if v >= bound.minimum)
    seen: set[bool] = set()
    for v in sorted(points):
        r = evaluate(expr, Macros(defines={bound.name: str(v)}))
        if r is None:
            return None
        seen.add(r != 0)
        if len(seen) > 1:
            return None
    return seen.pop()


def _split_top(expr: str, op: str) -> list[str] | None:
    """The terms of ``expr`` joined by ``op`` (``&&`` or ``||``) at its top level, or None
    when something of lower precedence (``||``/``?:`` for ``&&``; ``?:`` for ``||``) is there
    too."""
    depth = 0
    parts: list[str] = []
    start = 0
    i = 0
    lower = {"&&": ("||", "?"), "||": ("?",)}[op]
    while i < len(expr):
        ch = expr[i]
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif depth == 0:
            if expr.startswith(op, i):
                parts.append(expr[start:i].strip())
                i += 2
                start = i
                continue
            if any(expr.startswith(x, i) for x in lower):
                return None
        i += 1
    parts.append(expr[start:].strip())
    return parts if len(parts) > 1 and all(parts) else None


def simplify(expr: str, bound: Bound) -> tuple[bool | None, str | None]:
    """(value, simpler text): the value when decided; else the condition without its decided
    top-level terms (None when nothing could be dropped)."""
    value = decide(expr, bound)
    if value is not None:
        return value, None
    for op, absorbing in (("&&", False), ("||", True)):
        terms = _split_top(expr, op)
        if terms is None:
            continue
        keep = []
        for t in terms:
            v = decide(t, bound)
            if v is None:
                keep.append(t)
            elif v is absorbing:
                return absorbing, None
        if len(keep) < len(terms):
            return None, f" {op} ".join(keep)
    return None, None


@dataclass
class _Frame:
    parent_out: bool
    emitted: bool = False
    taken: bool = False
    out: bool = True


def _condition(name: str, arg: str) -> str:
    word = arg.split()[0] if arg.split() else ""
    if name in ("ifdef", "elifdef"):
        return f"defined({word})"
    if name in ("ifndef", "elifndef"):
        return f"!defined({word})"
    return arg


def _rewrite(first_line: bytes, keyword: str, condition: str | None) -> list[bytes]:
    """A directive line with another keyword and condition, keeping its indentation."""
    indent = first_line[:len(first_line) - len(first_line.lstrip(b" \t"))]
    hash_part = first_line.lstrip(b" \t")
    gap = hash_part[1:len(hash_part) - len(hash_part[1:].lstrip(b" \t"))]
    text = indent + b"#" + gap + keyword.encode()
    if condition:
        text += b" " + condition.encode("utf-8", "surrogateescape")
    eol = b"\r" if first_line.endswith(b"\r") else b""
    return [text + eol]


def unifdef(src: bytes, bound: Bound) -> Unifdefed:
    """The source with the branches that ``bound`` decides retired (see the module doc)."""
    lines = src.split(b"\n")
    found = directives(src)
    by_line = {d[0]: d for d in found}
    out: list[bytes] = []
    removed: set[int] = set()
    stack: list[_Frame] = []

    def active() -> bool:
        return all(f.out and f.parent_out for f in stack)

    i = 0
    n = len(lines)
    while i < n:
        d = by_line.get(i)
        if d is None:
            if active():
                out.append(lines[i])
            else:
                removed.add(i)
            i += 1
            continue
        first, last, name, arg = d
        span = lines[first:last + 1]
        keep_verbatim = True
        emit: list[bytes] | None = None
        if name in ("if", "ifdef", "ifndef"):
            f = _Frame(parent_out=active())
            stack.append(f)
            if f.parent_out:
                value, simpler = simplify(_condition(name, arg), bound)
                if value is None:
                    f.emitted = True
                    if simpler is not None:
                        emit = _rewrite(span[0], "if", simpler)
                else:
                    f.taken = f.out = value
                    keep_verbatim = False
            else:
                f.out = keep_verbatim = False
        elif name in ("elif", "elifdef", "elifndef", "else"):
            if not stack:
                return Unifdefed(src, frozenset(), balanced=False)
            f = stack[-1]
            if not f.parent_out or f.taken:
                f.out = keep_verbatim = False
            elif name == "else":
                f.out = True
                if not f.emitted:  # every branch before was decided false
                    f.taken = True
                    keep_verbatim = False
            else:
                value, simpler = simplify(_condition(name, arg), bound)
                if value is None:
                    f.out = True
                    if not f.emitted:  # the first branch left: it opens the #if
                        emit = _rewrite(span[0], "if", simpler or _condition(name, arg))
                        f.emitted = True
                    elif simpler is not None:
                        emit = _rewrite(span[0], "elif", simpler)
                elif value:
                    f.out = f.taken = True
                    keep_verbatim = False
                    if f.emitted:
                        emit = _rewrite(span[0], "else", None)
                else:
                    f.out = keep_verbatim = False
        elif name == "endif":
            if not stack:
                return Unifdefed(src, frozenset(), balanced=False)
            f = stack.pop()
            keep_verbatim = f.parent_out and f.emitted
        else:
            keep_verbatim = active()
        if emit is not None:
            keep_verbatim = False
        if keep_verbatim:
            out.extend(span)
        else:
            removed.update(range(first, last + 1))
            if emit is not None:
                out.extend(emit)
        i = last + 1
    if stack:
        return Unifdefed(src, frozenset(), balanced=False)
    return Unifdefed(b"\n".join(out), frozenset(removed))


__all__ = ["Bound", "Unifdefed", "decide", "simplify", "unifdef"]
