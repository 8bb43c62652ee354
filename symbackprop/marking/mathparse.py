"""A safe parser for the formulas and numbers students type in an answers file.

Nothing here ever hands user text to ``eval``, ``exec``, ``sympify``,
``parse_expr`` or ``S(...)``.  A formula goes through four steps:

1. *Tokenize*: every known quantity name (``w5``, ``dE/dz_o``, ``w(1)[2,3]'``,
   ``z_h1@2`` ...), every number and every other word is replaced by a
   placeholder identifier, so Python's tokenizer never sees a quantity name or a
   number literal.  Whitelisted function names, ``pi``, ``e`` and Python keywords
   stay as they are (keywords so that ``lambda``/``if``/``for`` give a clear
   error below).  Any character outside a small ASCII set is refused here.
2. *Limit*: length, bracket depth, node count and tree depth are checked before
   and right after :func:`ast.parse` (which only builds a syntax tree).
3. *Whitelist*: only ``+ - * / ** ^``, unary ``+ -``, calls of the given
   functions with positional arguments, names and numbers are accepted; any
   other construct is an :class:`AnswerError` naming it.
4. *Build*: SymPy objects are built by hand with ``evaluate=True``; numbers are
   exact Rationals made from the digits as written; every power, function call
   and result is checked against size limits *before* SymPy gets a chance to
   compute something huge (``9**9**9``, ``sqrt`` of a 10,000-digit integer,
   ``exp(10**6*log(10**6))``, products of many square roots ...).
"""

from __future__ import annotations

import ast
import inspect
import keyword
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache

import sympy

from symbackprop.errors import AnswerError
from symbackprop.hints import count, did_you_mean, quoted

__all__ = [
    "MAX_DEPTH",
    "MAX_EXPONENT",
    "MAX_NODES",
    "MAX_NUMBER_DIGITS",
    "MAX_TEXT_LENGTH",
    "ParsedNumber",
    "parse_formula",
    "parse_number",
    "NUMBER_EXAMPLES",
    "NumberProblem",
]

MAX_TEXT_LENGTH = 2000  # characters of one formula
MAX_DEPTH = 100  # nesting of brackets ( [ {
MAX_TREE_DEPTH = 200  # nesting of operators (a chain a+b-c+... or a*b/c*... is one level)
MAX_NODES = 500  # expression nodes of the syntax tree
MAX_NUMBER_DIGITS = 100  # digits of one number as written
MAX_LITERAL_EXPONENT = 1000  # |k| in 1.5e-k or 1.5 x 10^-k
MAX_EXPONENT = 100  # |n| of a power whose exponent is a number (integer or half-integer)
MAX_RESULT_DIGITS = 4000  # digits of any number built (below Python's 4300-digit str() limit)
MAX_RESULT_EXPONENT = 10_000  # |n| of any x**n in a built expression
MAX_SMALL = 10_000  # |value| of numbers inside function arguments and symbolic exponents
MAX_ROOT_DIGITS = 200  # total digits of the numbers under square roots in one formula
MAX_NUMBER_TEXT = 200  # characters of a text given to parse_number

_SHOW = 40  # characters of user text quoted in a message

_CONSTANTS: dict[str, sympy.Expr] = {"pi": sympy.pi, "e": sympy.E}

# Unicode the students' keyboards produce, mapped to the ASCII operators.
_UNICODE_OPERATORS = str.maketrans(
    {
        "\u2212": "-",  # minus sign
        "\u2013": "-",  # en dash
        "\u00b7": "*",  # middle dot
        "\u22c5": "*",  # dot operator
        "\u2219": "*",  # bullet operator
        "\u00d7": "*",  # multiplication sign
        "\u2217": "*",  # asterisk operator
        "\u00f7": "/",  # division sign
    }
)

# Characters that may stand between the tokens of a formula.  Some of them only
# exist so that the whitelist can name the construct ("comparisons are not allowed").
_GAP_CHARS = frozenset(" +-*/^().,{}[]<>=!%&|~:@")

_NUMBER = r"(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
# A word that is not a known name; it takes the shape of a quantity name (an
# optional dX/d prefix, an index, primes, an example suffix) so that the error
# quotes what the student meant: unknown name 'dE/dwq', 'w(1)[2,4]'.
_WORD = (
    r"(?:d[A-Za-z_][A-Za-z0-9_]*/d(?=[A-Za-z_]))?[A-Za-z_][A-Za-z0-9_]*"
    r"(?:\(\s*[0-9]+\s*\)(?=\[))?(?:\[[0-9\s,]*\])?'*(?:@[0-9]+)?"
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
# After a name: a character that would make it part of a longer name.
_NAME_END = r"(?![A-Za-z0-9_'@\[])"

_OPERATORS: dict[type, str] = {
    ast.Add: "+",
    ast.Sub: "-",
    ast.Mult: "*",
    ast.Div: "/",
    ast.Pow: "**",
    ast.Mod: "%",
    ast.FloorDiv: "//",
    ast.MatMult: "@",
    ast.BitAnd: "&",
    ast.BitOr: "|",
    ast.BitXor: "^",
    ast.LShift: "<<",
    ast.RShift: ">>",
    ast.Not: "not",
    ast.Invert: "~",
}
_ALLOWED_BINARY = (ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Pow)
_ALLOWED_UNARY = (ast.USub, ast.UAdd)

_CONSTRUCTS: dict[type, str] = {
    ast.Attribute: "attribute access (.name)",
    ast.Subscript: "subscripts [...]",
    ast.Slice: "slices",
    ast.Lambda: "lambda expressions",
    ast.ListComp: "list comprehensions",
    ast.SetComp: "set comprehensions",
    ast.DictComp: "dict comprehensions",
    ast.GeneratorExp: "generator expressions",
    ast.Compare: "comparisons (< > == ...)",
    ast.BoolOp: "'and'/'or'",
    ast.IfExp: "conditional expressions (if/else)",
    ast.List: "lists [...]",
    ast.Tuple: "tuples (commas outside a function call)",
    ast.Set: "sets",
    ast.Dict: "dicts",
    ast.Starred: "starred arguments (*args)",
    ast.NamedExpr: "assignment expressions (:=)",
    ast.JoinedStr: "f-strings",
    ast.FormattedValue: "f-strings",
    ast.Await: "'await'",
    ast.Yield: "'yield'",
    ast.YieldFrom: "'yield'",
    ast.keyword: "keyword arguments",
}


def _show(text: str) -> str:
    """``text`` quoted for a one-line message (control characters escaped, a backslash as is)."""
    return quoted(text, _SHOW)


def _char(c: str) -> str:
    if c.isprintable() and c.isascii():
        return quoted(c)
    return f"U+{ord(c):04X}"


def _digits(n: int) -> int:
    """An upper bound (exact or one more) on the decimal digits of ``n``, without str()."""
    n = abs(n)
    return 1 if n == 0 else (n.bit_length() * 30103) // 100000 + 1


def _rationals(expr: sympy.Basic) -> Iterable[sympy.Rational]:
    return expr.atoms(sympy.Rational)


def _max_digits(expr: sympy.Basic) -> int:
    return max((max(_digits(r.p), _digits(r.q)) for r in _rationals(expr)), default=0)


def _root_digits(expr: sympy.Basic) -> int:
    """Digits of the numbers under roots in ``expr`` (sqrt(2)*sqrt(3) makes SymPy factor 6)."""
    return sum(
        _digits(p.base.p) + _digits(p.base.q)
        for p in expr.atoms(sympy.Pow)
        if p.base.is_Rational and p.exp.is_Rational and not p.exp.is_Integer
    )


# --------------------------------------------------------------------------------------
# Numbers


@dataclass(frozen=True)
class ParsedNumber:
    """A number as a student wrote it.

    ``value`` is exact.  ``decimals`` counts the digits written after the decimal
    point, trailing zeros included (``0.030`` -> 3, ``5`` and ``5.`` -> 0); it is
    ``None`` in scientific notation.  ``significant`` counts the significant
    digits written (of the mantissa in scientific notation; leading zeros do not
    count, trailing zeros do; a zero has 1); ``places`` the decimal place of the last
    digit written.
    """

    value: sympy.Rational
    decimals: int | None
    scientific: bool
    significant: int
    #: the decimal place of the last digit written, the exponent applied (``0e-3`` -> 3, ``2.5e1`` -> 0)
    places: int = field(default=0, compare=False)


_SCIENTIFIC_TIMES = r"(?:[xX*]|\\times|\\cdot)"
_EXPONENT_VALUE = r"[+-]?[0-9]+"
_NUMBER_TEXT = re.compile(
    rf"""
    (?P<sign>[+-]?)
    (?P<int>[0-9]*)(?:(?P<point>\.)(?P<frac>[0-9]*))?
    (?:
        [eE](?P<e1>{_EXPONENT_VALUE})
      | \s*{_SCIENTIFIC_TIMES}\s*10\s*(?:\*\*|\^)\s*
        (?:\{{\s*(?P<e2>{_EXPONENT_VALUE})\s*\}}
          |\(\s*(?P<e3>{_EXPONENT_VALUE})\s*\)
          |(?P<e4>{_EXPONENT_VALUE}))
    )?
    """,
    re.VERBOSE,
)


def _normalize(text: str) -> str:
    text = text.translate(_UNICODE_OPERATORS)
    return "".join(" " if c.isspace() else c for c in text)


def _rational(int_digits: str, frac_digits: str, exponent: int) -> sympy.Rational:
    """(int_digits.frac_digits) * 10**exponent exactly, from ASCII digit strings."""
    mantissa = int(int_digits + frac_digits or "0")
    shift = exponent - len(frac_digits)
    if shift >= 0:
        return sympy.Rational(mantissa * 10**shift, 1)
    return sympy.Rational(mantissa, 10**-shift)


def _exponent_value(text: str, shown: str) -> int:
    digits = text.lstrip("+-").lstrip("0")
    if len(digits) > len(str(MAX_LITERAL_EXPONENT)) or abs(int(text)) > MAX_LITERAL_EXPONENT:
        raise AnswerError(
            f"exponent out of range in {shown} (allowed: -{MAX_LITERAL_EXPONENT} to "
            f"{MAX_LITERAL_EXPONENT})"
        )
    return int(text)


def _check_mantissa(int_digits: str, frac_digits: str, shown: str) -> None:
    if len(int_digits) + len(frac_digits) > MAX_NUMBER_DIGITS:
        raise AnswerError(f"number {shown} has more than {MAX_NUMBER_DIGITS} digits")


def _significant(digits: str) -> int:
    return max(len(digits.lstrip("0")), 1)


def parse_number(text: str) -> ParsedNumber:
    """Parse a decimal number (``0.030``, ``-.5``, ``5.``) or scientific notation
    (``2.26e-4``, ``2.26 x 10^-4``, ``2.26*10^(-4)``, ``2.26 × 10^{-4}``) exactly.

    Fractions, hexadecimal, digit separators, ``nan``/``inf`` and numbers with more
    than 100 digits or an exponent beyond +-1000 are an :class:`AnswerError`.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_number expects str, got {type(text).__name__}")
    if len(text) > MAX_NUMBER_TEXT:
        raise AnswerError(f"number too long ({len(text)} characters, at most {MAX_NUMBER_TEXT})")
    s = _normalize(text).strip()
    shown = _show(s)
    if not s:
        raise AnswerError("empty number")
    if _DECIMAL_COMMA.fullmatch(s):  # 0,378: a decimal comma, read as Moodle reads it (digits on both sides)
        s = s.replace(",", ".")
    m = _NUMBER_TEXT.fullmatch(s)
    if m is None or not (m["int"] or m["frac"]):
        raise _number_problem(s, shown)
    int_digits, frac_digits = m["int"], m["frac"] or ""
    _check_mantissa(int_digits, frac_digits, shown)
    exponent_text = m["e1"] or m["e2"] or m["e3"] or m["e4"]
    scientific = exponent_text is not None
    exponent = _exponent_value(exponent_text, shown) if exponent_text is not None else 0
    value = _rational(int_digits, frac_digits, exponent)
    if m["sign"] == "-":
        value = -value
    return ParsedNumber(
        value=value,
        decimals=None if scientific else len(frac_digits),
        scientific=scientific,
        significant=_significant(int_digits + frac_digits),
        places=len(frac_digits) - exponent,
    )


class NumberProblem(AnswerError):
    """A text that is not a number, and why: ``key`` names the problem (a macro ``number_<key>`` of the marking
    words, which a marked sheet says it in), ``params`` its parameters; the message is the English one."""

    def __init__(self, key: str, **params: str):
        super().__init__(_NUMBER_PROBLEMS[key].format(**params, examples=", ".join(NUMBER_EXAMPLES[:-1])
                                                      + " or " + NUMBER_EXAMPLES[-1]))
        self.key, self.params = key, params


#: a decimal number written with a comma (0,378; -1,5): one comma, digits on both sides, no exponent
_DECIMAL_COMMA = re.compile(r"[+-]?[0-9]+,[0-9]+")

#: numbers as a student may type them (what a "not a number" message suggests)
NUMBER_EXAMPLES = ("0.25", "-1.5", "2.26e-4", "2.26 x 10^-4")
_NUMBER_PROBLEMS = {
    "not_finite": "{shown} is not a finite number",
    "separators": "digit separators '_' are not allowed in {shown}",
    "formula": "{shown} is a formula; a number is asked here",
    "base": "{shown}: only decimal numbers are allowed (no hex, octal or binary)",
    "comma": "{shown}: use a decimal point, not a comma",
    "fraction": "{shown}: fractions are not allowed here; give a decimal number",
    "character": "{shown} is not a number (unexpected character {char})",
    "not_a_number": "{shown} is not a number (expected e.g. {examples})",
}


#: a letter other than an exponent's e or x, or two letters in a row: a name, so a formula ("1e" is a number gone wrong)
_FORMULA_LIKE = re.compile(r"[^\W\d_eExX]|[^\W\d_]{2}")
#: what a formula is written with (a backslash or a brace is no formula: the reason is the character)
_FORMULA_TEXT = re.compile(r"[\w\s+\-*/^().,'\u00b7\u00d7\u2212]*")


def _number_problem(s: str, shown: str) -> NumberProblem:
    """The error for a text that is not a number: name the problem if we can."""
    bare = s.lstrip("+-").strip().lower()
    if bare in ("nan", "inf", "infinity", "\u221e"):
        return NumberProblem("not_finite", shown=shown)
    if re.match(r"0[xob][0-9a-f]", bare):
        return NumberProblem("base", shown=shown)
    if _FORMULA_LIKE.search(s) and _FORMULA_TEXT.fullmatch(s):  # sigma(z_o), z_h1, σ: a formula, not a number
        return NumberProblem("formula", shown=shown)
    if "_" in s:
        return NumberProblem("separators", shown=shown)
    if re.fullmatch(r"[+-]?[0-9]*,[0-9]+", s):
        return NumberProblem("comma", shown=shown)
    if re.fullmatch(r"[+-]?[0-9.]+\s*/\s*[+-]?[0-9.]+", s):
        return NumberProblem("fraction", shown=shown)
    bad = next((c for c in s if not (c.isascii() and c.isprintable())), None)
    if bad is not None:
        return NumberProblem("character", shown=shown, char=_char(bad))
    return NumberProblem("not_a_number", shown=shown)


# --------------------------------------------------------------------------------------
# Formulas: tokenizing


def _name_pattern(name: str) -> str:
    """A regex for ``name``; spaces are allowed around the commas and brackets of an index."""
    parts = []
    for c in name:
        if c == ",":
            parts.append(r"\s*,\s*")
        elif c == "[":
            parts.append(r"\[\s*")
        elif c == "]":
            parts.append(r"\s*\]")
        else:
            parts.append(re.escape(c))
    return "".join(parts)


@lru_cache(maxsize=32)
def _tokenizer(names: tuple[str, ...]) -> re.Pattern[str]:
    """One regex: the known names (longest first), then numbers, then any other word."""
    alternation = "|".join(_name_pattern(n) for n in names) if names else "(?!)"
    return re.compile(
        rf"(?P<name>(?:{alternation}){_NAME_END})|(?P<num>{_NUMBER})|(?P<word>{_WORD})"
    )


@dataclass(frozen=True)
class _Token:
    kind: str  # "name", "number" or "unknown"
    text: str  # as the user wrote it
    value: sympy.Expr | None = None


def _formula_number(text: str) -> sympy.Rational:
    m = re.fullmatch(r"([0-9]*)(?:\.([0-9]*))?(?:[eE]([+-]?[0-9]+))?", text)
    assert m is not None  # the tokenizer only hands over texts of this shape
    int_digits, frac_digits = m[1], m[2] or ""
    shown = _show(text)
    _check_mantissa(int_digits, frac_digits, shown)
    exponent = _exponent_value(m[3], shown) if m[3] is not None else 0
    return _rational(int_digits, frac_digits, exponent)


def _check_gap(gap: str) -> None:
    for c in gap:
        if c in "'\"":
            raise AnswerError(
                "quotes are not allowed (no strings; a prime ' is only valid as part of a "
                "known name such as w5')"
            )
        if c not in _GAP_CHARS:
            raise AnswerError(f"unexpected character {_char(c)} in the formula")


def _tokenize(
    text: str,
    names: Mapping[str, sympy.Expr],
    ordered: tuple[str, ...],
    functions: Mapping[str, object],
) -> tuple[str, dict[str, _Token]]:
    """Replace names, numbers and unknown words by placeholders ``_sbpN``.

    Placeholders are padded with spaces so that two of them never merge; a user who
    types ``_sbp0`` gets an unknown word, never someone else's placeholder.
    """
    index = _name_index(ordered)
    out: list[str] = []
    tokens: dict[str, _Token] = {}
    position = 0

    def placeholder(token: _Token) -> str:
        key = f"_sbp{len(tokens)}"
        tokens[key] = token
        return f" {key} "

    for m in _tokenizer(ordered).finditer(text):
        gap = text[position : m.start()]
        _check_gap(gap)
        out.append(gap)
        position = m.end()
        word = m.group()
        if m["name"] is not None:
            name = index[_name_key(word)]
            out.append(placeholder(_Token("name", name, names[name])))
        elif m["num"] is not None:
            after = text[m.end() : m.end() + 1]
            if after and (after.isalnum() or after in "_."):
                tail = re.match(r"[A-Za-z0-9_.]*", text[m.end() :])
                bad = word + (tail.group() if tail else "")
                raise AnswerError(
                    f"malformed number {_show(bad)} (write 2*x1 for a product; hex, '_' "
                    "separators and complex numbers are not allowed)"
                )
            out.append(placeholder(_Token("number", word, _formula_number(word))))
        elif _IDENTIFIER.fullmatch(word) and (
            keyword.iskeyword(word) or word in functions or word in _CONSTANTS
        ):
            out.append(f" {word} ")
        else:
            out.append(placeholder(_Token("unknown", word)))
    gap = text[position:]
    _check_gap(gap)
    out.append(gap)
    return "".join(out), tokens


@lru_cache(maxsize=32)
def _longest_first(names: tuple[str, ...]) -> tuple[str, ...]:
    """The names, longest first (so w(1)[2,3]' matches before w(1)[2,3]); cached: a marked sheet
    parses thousands of formulas over one network's names."""
    return tuple(sorted(names, key=lambda n: (-len(n), n)))


@lru_cache(maxsize=32)
def _name_index(ordered: tuple[str, ...]) -> dict[str, str]:
    return {_name_key(n): n for n in ordered}


def _name_key(text: str) -> str:
    """Names compare without the spaces the index pattern tolerates."""
    return re.sub(r"\s+", "", text)


def _check_brackets(text: str) -> None:
    """Brackets as the student wrote them (``{}`` too), reported by character and position."""
    stack: list[tuple[str, int]] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for position, c in enumerate(text, start=1):
        if c in "([{":
            stack.append((c, position))
            if len(stack) > MAX_DEPTH:
                raise AnswerError(f"formula nested too deeply (more than {MAX_DEPTH} brackets)")
        elif c in ")]}":
            if not stack:
                raise AnswerError(f"unbalanced brackets: unexpected '{c}' at position {position}")
            opened, where = stack.pop()
            if opened != pairs[c]:
                raise AnswerError(f"unbalanced brackets: '{c}' at position {position} closes "
                                  f"'{opened}' at position {where}")
    if stack:
        opened, where = stack[-1]
        raise AnswerError(f"unbalanced brackets: '{opened}' at position {where} is not closed"
                          + (f" ({len(stack)} not closed)" if len(stack) > 1 else ""))


# --------------------------------------------------------------------------------------
# Formulas: checking the syntax tree


def _check_tree(tree: ast.Expression) -> None:
    """Refuse every construct outside the whitelist, then check size and depth."""
    for node in ast.walk(tree):
        if isinstance(node, ast.Expression | ast.Load | ast.Name):
            continue
        if isinstance(node, ast.BinOp):
            if not isinstance(node.op, _ALLOWED_BINARY):
                raise AnswerError(f"operator {_OPERATORS.get(type(node.op), '?')!r} is not allowed")
        elif isinstance(node, ast.UnaryOp):
            if not isinstance(node.op, _ALLOWED_UNARY):
                raise AnswerError(f"operator {_OPERATORS.get(type(node.op), '?')!r} is not allowed")
        elif isinstance(node, ast.Call):
            if node.keywords:
                raise AnswerError("keyword arguments are not allowed in function calls")
            if not isinstance(node.func, ast.Name):
                raise AnswerError("only the listed functions can be called")
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, str | bytes):
                raise AnswerError("string literals are not allowed")
            raise AnswerError(f"{node.value!r} is not allowed in a formula")
        elif isinstance(node, _ALLOWED_BINARY + _ALLOWED_UNARY):
            continue
        else:
            what = _CONSTRUCTS.get(type(node), f"{type(node).__name__} expressions")
            raise AnswerError(f"not allowed in a formula: {what}")
    nodes = 0
    stack: list[tuple[ast.AST, int]] = [(tree.body, 1)]
    while stack:
        node, depth = stack.pop()
        nodes += 1
        if nodes > MAX_NODES:
            raise AnswerError(f"formula too large (more than {MAX_NODES} terms and operators)")
        if depth > MAX_TREE_DEPTH:
            raise AnswerError(f"formula nested too deeply (more than {MAX_TREE_DEPTH} levels)")
        for c in ast.iter_child_nodes(node):
            if isinstance(c, ast.expr):  # a chain a*b*c (Python's left spine) is one level, its operators flat
                chained = isinstance(node, ast.BinOp) and c is node.left and _same_chain(c, node.op)
                stack.append((c, depth if chained else depth + 1))


def _chain(op: ast.operator) -> str | None:
    """The chain an operator extends: + and - a sum, * and / a product; a power nests."""
    return "sum" if isinstance(op, ast.Add | ast.Sub) else "product" if isinstance(op, ast.Mult | ast.Div) else None


def _same_chain(node: ast.expr, op: ast.operator) -> bool:
    """Whether ``node`` goes on the chain of ``op`` (``a*b`` under ``*c``)."""
    chain = _chain(op)
    return chain is not None and isinstance(node, ast.BinOp) and _chain(node.op) == chain


# --------------------------------------------------------------------------------------
# Formulas: building SymPy objects


def _arity(function: Callable[..., sympy.Expr]) -> Callable[[int], bool]:
    """Which argument counts ``function`` accepts (SymPy's nargs, else its signature)."""
    if isinstance(function, sympy.FunctionClass):
        nargs = function.nargs
        return lambda n: bool(sympy.Integer(n) in nargs)
    try:
        parameters = inspect.signature(function).parameters.values()
    except (TypeError, ValueError):
        return lambda n: n == 1
    if any(p.kind is p.VAR_POSITIONAL for p in parameters):
        return lambda n: True
    required = sum(
        1
        for p in parameters
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    )
    return lambda n: n == required


class _Builder:
    def __init__(
        self,
        tokens: Mapping[str, _Token],
        names: Mapping[str, sympy.Expr],
        functions: Mapping[str, Callable[..., sympy.Expr]],
    ):
        self.tokens = tokens
        self.names = names
        self.functions = functions
        self.root_digits = 0  # digits of numbers that SymPy might take a root of

    # -- guards -------------------------------------------------------------------------

    def _spend_root_digits(self, digits: int) -> None:
        """Numbers under roots cost factoring whenever SymPy multiplies them together."""
        self.root_digits += digits
        if self.root_digits > MAX_ROOT_DIGITS:
            raise AnswerError(
                f"numbers under square roots too large (more than {MAX_ROOT_DIGITS} digits)"
            )

    @staticmethod
    def _check_small(expr: sympy.Basic, what: str) -> None:
        for r in _rationals(expr):
            if abs(r.p) > MAX_SMALL * r.q or _digits(r.q) > MAX_NUMBER_DIGITS:
                raise AnswerError(f"number too large {what} (at most {MAX_SMALL} in size here)")

    @staticmethod
    def _check_result(expr: sympy.Basic) -> None:
        if _max_digits(expr) > MAX_RESULT_DIGITS:
            raise AnswerError(f"number too large (more than {MAX_RESULT_DIGITS} digits)")
        for p in expr.atoms(sympy.Pow):
            if p.exp.is_Rational and abs(p.exp) > MAX_RESULT_EXPONENT:
                raise AnswerError("exponent too large")
        for f in expr.atoms(sympy.exp):
            _Builder._check_small(f.args[0], "in an exponent")

    def power(self, base: sympy.Expr, exponent: sympy.Expr) -> sympy.Expr:
        if exponent.is_Rational:
            if abs(exponent) > MAX_EXPONENT:
                raise AnswerError(f"exponent too large (at most {MAX_EXPONENT} in size)")
            if exponent.q not in (1, 2):
                raise AnswerError(f"exponent {exponent} is not an integer or a half-integer")
            if base.is_zero and exponent < 0:
                raise AnswerError("division by zero")
            if _max_digits(base) * abs(exponent) > MAX_RESULT_DIGITS:
                raise AnswerError(
                    f"number too large: the power would exceed {MAX_RESULT_DIGITS} digits"
                )
            if exponent.q != 1:
                self._spend_root_digits(sum(_digits(r.p) + _digits(r.q) for r in _rationals(base)))
        elif exponent.is_Number:
            raise AnswerError("exponent is not an exact number")  # pragma: no cover (no floats)
        else:
            self._check_small(base, "in the base of a non-numeric exponent")
            self._check_small(exponent, "in an exponent")
        result = sympy.Pow(base, exponent, evaluate=True)
        self._check_result(result)
        return result

    def call(self, name: str, args: list[sympy.Expr]) -> sympy.Expr:
        function = self.functions[name]
        if not _arity(function)(len(args)):
            raise AnswerError(f"{name}() does not take {count(len(args), 'argument')}")
        for arg in args:
            self._check_small(arg, f"in the argument of {name}()")
        try:
            result = function(*args)
        except AnswerError:
            raise
        except Exception as exc:  # a user-supplied function refusing its arguments
            raise AnswerError(f"{name}() cannot take these arguments ({type(exc).__name__})") from None
        if not isinstance(result, sympy.Basic):
            raise AnswerError(f"{name}() did not give a SymPy expression")
        self._spend_root_digits(_root_digits(result))
        self._check_result(result)
        return result

    # -- the tree -----------------------------------------------------------------------

    def binary(self, op: ast.operator, left: sympy.Expr, right: sympy.Expr) -> sympy.Expr:
        """``left op right`` for + - * / (a power is :meth:`power`)."""
        if isinstance(op, ast.Add):
            return sympy.Add(left, right, evaluate=True)
        if isinstance(op, ast.Sub):
            return sympy.Add(left, sympy.Mul(sympy.S.NegativeOne, right, evaluate=True), evaluate=True)
        if isinstance(op, ast.Mult):
            return sympy.Mul(left, right, evaluate=True)
        if right.is_zero:
            raise AnswerError("division by zero")
        return sympy.Mul(left, sympy.Pow(right, sympy.S.NegativeOne, evaluate=True), evaluate=True)

    def build(self, node: ast.expr) -> sympy.Expr:
        chain = _chain(node.op) if isinstance(node, ast.BinOp) else None
        if chain is not None:
            spine = []  # a chain a - b + c ... built left to right in a loop: its length is not nesting
            while isinstance(node, ast.BinOp) and _chain(node.op) == chain:
                spine.append((node.op, node.right))
                node = node.left
            result = self.build(node)
            for op, right in reversed(spine):
                result = self.binary(op, result, self.build(right))
            return result
        if isinstance(node, ast.BinOp):
            return self.power(self.build(node.left), self.build(node.right))
        if isinstance(node, ast.UnaryOp):
            operand = self.build(node.operand)
            if isinstance(node.op, ast.USub):
                return sympy.Mul(sympy.S.NegativeOne, operand, evaluate=True)
            return operand
        if isinstance(node, ast.Call):
            assert isinstance(node.func, ast.Name)  # _check_tree made sure
            name = self._callee(node.func.id)
            return self.call(name, [self.build(a) for a in node.args])
        if isinstance(node, ast.Name):
            return self._name(node.id)
        raise AnswerError(f"{type(node).__name__} is not allowed in a formula")  # pragma: no cover

    def _name(self, identifier: str) -> sympy.Expr:
        token = self.tokens.get(identifier)
        if token is not None:
            if token.kind == "unknown":
                raise AnswerError(
                    f"unknown name {_show(token.text)}{did_you_mean(token.text, self.names)}"
                )
            assert token.value is not None
            return token.value
        if identifier in self.functions:
            raise AnswerError(f"function {identifier!r} needs an argument: {identifier}(...)")
        if identifier in _CONSTANTS:
            return _CONSTANTS[identifier]
        raise AnswerError(f"{identifier!r} is not allowed in a formula")

    def _callee(self, identifier: str) -> str:
        token = self.tokens.get(identifier)
        if token is None:
            if identifier in self.functions:
                return identifier
            raise AnswerError(f"{identifier!r} is not a function")
        if token.kind == "unknown":
            listed = ", ".join(sorted(self.functions)) or "none"
            raise AnswerError(
                f"unknown function {_show(token.text)}"
                f"{did_you_mean(token.text, self.functions)} (allowed: {listed})"
            )
        raise AnswerError(
            f"{_show(token.text)} is not a function; write {token.text}*(...) for a product"
        )


_UNDEFINED = (sympy.S.NaN, sympy.S.ComplexInfinity, sympy.S.Infinity, sympy.S.NegativeInfinity)


def parse_formula(
    text: str,
    names: Mapping[str, sympy.Expr],
    functions: Mapping[str, Callable[..., sympy.Expr]],
) -> sympy.Expr:
    """Parse a formula a student typed into a SymPy expression, safely.

    ``names`` maps the quantity names the student may type (``w5``, ``dE/dz_o``,
    ``w(1)[2,3]'`` ...) to SymPy expressions; ``functions`` maps the function names
    that may be called (``sigma``, ``exp`` ...) to SymPy callables.  ``pi`` and
    ``e`` (unless ``e`` is a name) are the constants.  ``^`` is a power, ``{}``
    are brackets, ``·``/``×`` multiply and ``−`` subtracts.  Every problem is an
    :class:`AnswerError` with a one-line message.
    """
    if not isinstance(text, str):
        raise TypeError(f"parse_formula expects str, got {type(text).__name__}")
    if len(text) > MAX_TEXT_LENGTH:
        raise AnswerError(f"formula too long ({len(text)} characters, at most {MAX_TEXT_LENGTH})")
    for f in functions:
        if not _IDENTIFIER.fullmatch(f) or keyword.iskeyword(f):
            raise ValueError(f"function name {f!r} is not an identifier")
    normalized = _normalize(text).strip()
    if not normalized:
        raise AnswerError("empty formula")
    ordered = _longest_first(tuple(names))
    substituted, tokens = _tokenize(normalized, names, ordered, functions)
    _check_brackets(normalized)  # names carry balanced brackets of their own: w(1)[2,3]
    substituted = substituted.replace("^", "**").replace("{", "(").replace("}", ")").strip()
    _check_brackets(substituted)
    try:
        tree = ast.parse(substituted, mode="eval")
    except SyntaxError as exc:
        message = (exc.msg or "invalid syntax").splitlines()[0] if exc.msg else "invalid syntax"
        raise AnswerError(f"syntax error in formula {_show(normalized)}: {message}") from None
    except (RecursionError, MemoryError, ValueError):
        raise AnswerError("formula too complex to parse") from None
    _check_tree(tree)
    builder = _Builder(tokens, names, functions)
    try:
        with sympy.evaluate(True):
            result = builder.build(tree.body)
    except RecursionError:
        raise AnswerError("formula too complex to evaluate") from None
    builder._check_result(result)
    if result.has(*_UNDEFINED):
        raise AnswerError("the formula is undefined (division by zero?)")
    return result
