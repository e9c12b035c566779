"""A small, safe evaluator of C preprocessor ``#if`` expressions.

It understands what ``#if`` lines in real projects use: ``defined NAME`` / ``defined(NAME)``,
integer and character literals (with u/l suffixes), identifiers (expanded from the given
macros, recursively), ``! ~ + -`` (unary), ``* / % + - << >> < <= > >= == != & ^ | && ||``,
``?:`` and parentheses. Nothing is ever passed to ``eval``.

The result is three-valued: an ``int``, or ``None`` when the value cannot be known — an
identifier that is not among the given macros while ``unknown_is_zero`` is false (no
configuration was given), a function-like macro call such as ``__has_include(<x>)``, a string,
a division by zero, or text that is not an expression. ``&&``, ``||`` and ``?:`` short-circuit
as cpp does, so ``0 && UNKNOWN`` is ``0`` and ``1 || UNKNOWN`` is ``1``.

With ``unknown_is_zero`` (the user gave ``-D``/``--config-header`` values), an identifier that
is not defined evaluates to 0, exactly as cpp does.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ..errors import DataFileError, UsageError

Value = int | None

_MASK = (1 << 64) - 1
_MAX_LEN = 10_000
_MAX_DEPTH = 200

_TOKEN = re.compile(
    r"""
    (?P<ws>\s+)
  | (?P<num>(?:0[xX][0-9a-fA-F]+|0[bB][01]+|[0-9]+)[uUlL]*)
  | (?P<char>[LuU]?'(?:\\.|[^'\\])+')
  | (?P<str>[LuU]?"(?:\\.|[^"\\])*")
  | (?P<ident>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\|\||&&|<<|>>|<=|>=|==|!=|[-+*/%<>!~&|^?:(),])
    """,
    re.VERBOSE,
)


class _Unparsable(Exception):
    pass


@dataclass(frozen=True)
class Macros:
    """The macro environment an expression is evaluated in."""

    defines: Mapping[str, str] = field(default_factory=dict)
    """NAME -> replacement text (``""`` for ``#define NAME`` with no value)."""
    undefined: frozenset[str] = frozenset()
    """Names explicitly undefined (``-U NAME``, ``#undef NAME``)."""
    unknown_is_zero: bool = False
    """True once the user gave any configuration: undefined identifiers are 0, as in cpp."""

    @property
    def configured(self) -> bool:
        return self.unknown_is_zero

    def is_defined(self, name: str) -> bool | None:
        if name in self.defines:
            return True
        if name in self.undefined or self.unknown_is_zero:
            return False
        return None


def _to_signed(v: int) -> int:
    v &= _MASK
    return v - (1 << 64) if v >> 63 else v


def _char_value(lit: str) -> int:
    body = lit[lit.index("'") + 1:-1]
    escapes = {"n": 10, "t": 9, "r": 13, "0": 0, "\\": 92, "'": 39, '"': 34, "a": 7, "b": 8,
               "f": 12, "v": 11, "?": 63}
    if body.startswith("\\"):
        rest = body[1:]
        if rest[:1] in ("x", "X"):
            return int(rest[1:], 16)
        if rest[:1].isdigit():
            return int(rest, 8)
        if rest in escapes:
            return escapes[rest]
        raise _Unparsable(lit)
    if len(body) != 1:
        raise _Unparsable(lit)
    return ord(body)


def tokenize(text: str) -> list[tuple[str, str]]:
    """(kind, text) tokens; raises _Unparsable for characters that are not cpp tokens."""
    out: list[tuple[str, str]] = []
    pos = 0
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m:
            raise _Unparsable(text[pos:pos + 10])
        pos = m.end()
        kind = m.lastgroup or ""
        if kind != "ws":
            out.append((kind, m.group()))
    return out


class _Evaluator:
    def __init__(self, macros: Macros) -> None:
        self.macros = macros
        self.toks: list[tuple[str, str]] = []
        self.i = 0

    # -- macro expansion (object-like macros only, recursively, each name once per chain)
    def expand(self, toks: list[tuple[str, str]], active: frozenset[str], depth: int = 0
               ) -> list[tuple[str, str]]:
        if depth > _MAX_DEPTH:
            raise _Unparsable("macro expansion too deep")
        out: list[tuple[str, str]] = []
        i = 0
        while i < len(toks):
            kind, text = toks[i]
            if kind == "ident" and text == "defined":
                # keep `defined NAME` / `defined ( NAME )` unexpanded
                j = i + 1
                if j < len(toks) and toks[j] == ("op", "("):
                    end = j + 3
                    out.extend(toks[i:end])
                    i = end
                else:
                    out.extend(toks[i:j + 1])
                    i = j + 1
                continue
            if kind == "ident" and text in self.macros.defines and text not in active:
                body = tokenize(self.macros.defines[text])
                out.extend(self.expand(body, active | {text}, depth + 1))
                i += 1
                continue
            out.append(toks[i])
            i += 1
        if len(out) > _MAX_LEN:
            raise _Unparsable("expansion too long")
        return out

    # -- parser
    def peek(self) -> tuple[str, str] | None:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def take(self, text: str | None = None) -> tuple[str, str]:
        tok = self.peek()
        if tok is None or (text is not None and tok[1] != text):
            raise _Unparsable(f"expected {text or 'a token'}")
        self.i += 1
        return tok

    def evaluate(self, toks: list[tuple[str, str]]) -> Value:
        self.toks = toks
        self.i = 0
        if not toks:
            raise _Unparsable("empty expression")
        v = self.conditional(0)
        rest = self.peek()
        if rest is not None:
            raise _Unparsable(f"unexpected {rest[1]!r}")
        return v

    def conditional(self, depth: int) -> Value:
        if depth > _MAX_DEPTH:
            raise _Unparsable("expression too deep")
        cond = self.binary(0, depth + 1)
        if self.peek() == ("op", "?"):
            self.take("?")
            a = self.conditional(depth + 1)
            self.take(":")
            b = self.conditional(depth + 1)
            if cond is None:
                return a if a == b else None
            return a if cond else b
        return cond

    _PREC: tuple[tuple[str, ...], ...] = (
        ("||",), ("&&",), ("|",), ("^",), ("&",), ("==", "!="), ("<", "<=", ">", ">="),
        ("<<", ">>"), ("+", "-"), ("*", "/", "%"),
    )

    def binary(self, level: int, depth: int) -> Value:
        if level == len(self._PREC):
            return self.unary(depth)
        left = self.binary(level + 1, depth)
        ops = self._PREC[level]
        while (tok := self.peek()) is not None and tok[0] == "op" and tok[1] in ops:
            self.take()
            right = self.binary(level + 1, depth)
            left = self.apply(tok[1], left, right)
        return left

    @staticmethod
    def apply(op: str, a: Value, b: Value) -> Value:
        if op == "&&":
            if a == 0 or b == 0:
                return 0
            return None if a is None or b is None else 1
        if op == "||":
            if (a is not None and a != 0) or (b is not None and b != 0):
                return 1
            return None if a is None or b is None else 0
        if a is None or b is None:
            return None
        if op in ("/", "%"):
            if b == 0:
                return None
            q = abs(a) // abs(b) * (1 if (a >= 0) == (b >= 0) else -1)  # C truncates
            return _to_signed(q if op == "/" else a - q * b)
        if op in ("<<", ">>"):
            if b < 0 or b >= 64:
                return None
            return _to_signed(a << b if op == "<<" else a >> b)
        result = {
            "*": lambda: a * b, "+": lambda: a + b, "-": lambda: a - b,
            "<": lambda: int(a < b), "<=": lambda: int(a <= b), ">": lambda: int(a > b),
            ">=": lambda: int(a >= b), "==": lambda: int(a == b), "!=": lambda: int(a != b),
            "&": lambda: a & b, "^": lambda: a ^ b, "|": lambda: a | b,
        }[op]()
        return _to_signed(result)

    def unary(self, depth: int) -> Value:
        if depth > _MAX_DEPTH:
            raise _Unparsable("expression too deep")
        tok = self.take()
        kind, text = tok
        if kind == "op" and text in ("!", "~", "-", "+"):
            v = self.unary(depth + 1)
            if v is None:
                return None
            return {"!": int(not v), "~": _to_signed(~v), "-": _to_signed(-v), "+": v}[text]
        if kind == "op" and text == "(":
            v = self.conditional(depth + 1)
            self.take(")")
            return v
        if kind == "num":
            digits = text.rstrip("uUlL")
            if digits[:2] in ("0x", "0X"):
                return _to_signed(int(digits, 0))
            if digits[:2] in ("0b", "0B"):
                return _to_signed(int(digits, 0))
            if len(digits) > 1 and digits.startswith("0"):
                if not re.fullmatch(r"[0-7]+", digits):
                    raise _Unparsable(text)
                return _to_signed(int(digits, 8))
            return _to_signed(int(digits))
        if kind == "char":
            return _char_value(text)
        if kind == "ident" and text == "defined":
            paren = self.peek() == ("op", "(")
            if paren:
                self.take("(")
            name = self.take()
            if name[0] != "ident":
                raise _Unparsable("defined without a name")
            if paren:
                self.take(")")
            d = self.macros.is_defined(name[1])
            return None if d is None else int(d)
        if kind == "ident":
            if self.peek() == ("op", "("):
                # a function-like macro (or __has_include & co.): skip its arguments
                self.take("(")
                level = 1
                while level:
                    t = self.take()
                    if t == ("op", "("):
                        level += 1
                    elif t == ("op", ")"):
                        level -= 1
                return None
            if text in ("true", "false"):  # C23 / C++
                return int(text == "true")
            if self.macros.is_defined(text) is False:
                return 0
            return None  # defined to an empty/unexpandable value, or not configured
        if kind == "str":
            return None
        raise _Unparsable(f"unexpected {text!r}")


def evaluate(expression: str, macros: Macros) -> Value:
    """Evaluate one ``#if`` expression; None when its value cannot be known."""
    if len(expression) > _MAX_LEN:
        return None
    ev = _Evaluator(macros)
    try:
        toks = ev.expand(tokenize(expression), frozenset())
        return ev.evaluate(toks)
    except (_Unparsable, ValueError, IndexError, RecursionError):
        return None


def evaluate_all(conjuncts: tuple[str, ...], macros: Macros) -> bool | None:
    """Kleene AND of several expressions: False if any is 0, True if all are non-zero."""
    result: bool | None = True
    for c in conjuncts:
        v = evaluate(c, macros)
        if v == 0:
            return False
        if v is None:
            result = None
    return result


# --------------------------------------------------------------------------------------------
# Building a macro environment from -D/-U options and config headers
# --------------------------------------------------------------------------------------------

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def parse_define(option: str) -> tuple[str, str]:
    """``NAME`` -> (NAME, "1"); ``NAME=VALUE`` -> (NAME, VALUE). UsageError otherwise."""
    name, eq, value = option.partition("=")
    name = name.strip()
    if not _IDENT.fullmatch(name):
        raise UsageError(f"-D {option!r}: expected NAME or NAME=VALUE with NAME a C identifier")
    return name, (value.strip() if eq else "1")


_DEFINE_LINE = re.compile(r"^\s*#\s*define\s+([A-Za-z_]\w*)(\()?\s*(.*?)\s*$")
_UNDEF_LINE = re.compile(r"^\s*#\s*undef\s+([A-Za-z_]\w*)\s*$")


def _strip_comments(line: str, in_comment: bool) -> tuple[str, bool]:
    out: list[str] = []
    i = 0
    while i < len(line):
        if in_comment:
            end = line.find("*/", i)
            if end < 0:
                return "".join(out), True
            i = end + 2
            in_comment = False
            out.append(" ")
            continue
        if line.startswith("/*", i):
            in_comment = True
            i += 2
            continue
        if line.startswith("//", i):
            break
        if line[i] in "\"'":
            q = line[i]
            j = i + 1
            while j < len(line) and line[j] != q:
                j += 2 if line[j] == "\\" else 1
            out.append(line[i:j + 1])
            i = j + 1
            continue
        out.append(line[i])
        i += 1
    return "".join(out), in_comment


def read_config_header(path: str) -> tuple[dict[str, str], set[str]]:
    """The ``#define NAME VALUE`` and ``#undef NAME`` lines of a config-host.h style file.

    Function-like macros are skipped; anything else that is not a directive must be blank or a
    comment, otherwise DataFileError (so a wrong file is noticed).
    """
    try:
        with open(path, encoding="utf-8", errors="replace") as fh:
            raw = fh.read()
    except OSError as exc:
        raise DataFileError(path, f"cannot read config header: {exc.strerror}") from None
    defines: dict[str, str] = {}
    undefined: set[str] = set()
    in_comment = False
    joined = raw.replace("\\\n", " ")
    for lineno, line in enumerate(joined.splitlines(), 1):
        text, in_comment = _strip_comments(line, in_comment)
        if not text.strip():
            continue
        m = _DEFINE_LINE.match(text)
        if m:
            if m.group(2):  # function-like
                continue
            defines[m.group(1)] = m.group(3)
            undefined.discard(m.group(1))
            continue
        m = _UNDEF_LINE.match(text)
        if m:
            defines.pop(m.group(1), None)
            undefined.add(m.group(1))
            continue
        if re.match(r"^\s*#\s*(if|ifdef|ifndef|elif|else|endif|pragma|include|error|warning)\b",
                    text):
            continue
        raise DataFileError(path, f"line {lineno}: not a #define/#undef line: {line.strip()[:60]}")
    return defines, undefined


def build_macros(defines: Sequence[str] = (), undefines: Sequence[str] = (),
                 config_headers: Sequence[str] = ()) -> Macros:
    """The macro environment for -D/-U options and --config-header files (later wins)."""
    d: dict[str, str] = {}
    u: set[str] = set()
    for path in config_headers:
        hd, hu = read_config_header(path)
        for k in hu:
            d.pop(k, None)
        d.update(hd)
        u |= hu
        u -= set(hd)
    for opt in defines:
        name, value = parse_define(opt)
        d[name] = value
        u.discard(name)
    for name in undefines:
        if not _IDENT.fullmatch(name):
            raise UsageError(f"-U {name!r}: expected a C identifier")
        d.pop(name, None)
        u.add(name)
    configured = bool(defines or undefines or config_headers)
    return Macros(defines=d, undefined=frozenset(u), unknown_is_zero=configured)


__all__ = [
    "Macros",
    "Value",
    "build_macros",
    "evaluate",
    "evaluate_all",
    "parse_define",
    "read_config_header",
    "tokenize",
]
