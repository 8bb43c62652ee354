"""Widths and line breaks: the one width measure of displayed math and the one greedy packer.

Every document decides what fits a row, a frame or a table through this module: ``tex_width``
measures displayed LaTeX (in characters of body text; ``row_height`` its height in rows), ``pack``
fills rows (or frames) greedily, and the routines built on them break an arithmetic line or an
aligned row, set a chain of braced factors, count columns and wrap a table.
Short labels of the network diagram are measured in em by ``notation.geometry.text_extent``
(the diagram sits below this module); ``label_pt`` is the smaller of the two for a chain's braces.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Callable, Sequence

from .notation.geometry import text_extent
from .notation.lines import Line, result_latex

#: the width of a displayed row, in ``tex_width`` units (about the text width at 11 pt)
ROW_WIDTH = 66

Measure = Callable[[str], float]


# -- measuring -----------------------------------------------------------------------------------

_NAMED = re.compile(r"\\(ln|log|exp|tanh|sinh|cosh|max|min)\b")
_TEXT = re.compile(r"\\text\{([^{}]*)\}")
_INVISIBLE = re.compile(
    r"\\(?:left|right|Bigl|Bigr|boxed|mathrm|text|hat|operatorname|mathbf|boldsymbol|displaystyle)\b")
_FRAC = re.compile(r"\\frac\{([^{}]*)\}\{([^{}]*)\}")
_SCRIPT = re.compile(r"[_^]\{([^{}]*)\}")
_QUAD = re.compile(r"\\q?quad\b")
_COMMAND = re.compile(r"\\[a-zA-Z]+")


@functools.lru_cache(maxsize=8192)  # rows are measured again and again while they are packed
def tex_width(tex: str, display: bool = False) -> float:
    """A rough width of displayed LaTeX in characters of body text (to decide what fits on a row).

    Fractions count as their wider part, sub- and superscripts at 60 %, commands as one glyph,
    relations and operators with their spacing, a number in scientific notation (``1.03 \\times 10^{-8}``) three
    more (typeset: 65 pt, where 10 units of plain numbers are 51).  ``display``: fractions at display size (a slide's
    ``\\frac{\\partial E}{\\partial w}``), two characters wider each.
    """
    t = _NAMED.sub(r"\1", tex)  # named functions: as wide as their letters
    t = _TEXT.sub(lambda m: m.group(1).replace(" ", "~"), t)  # spaces in text are spaces
    t = _INVISIBLE.sub("", t)
    for _ in range(3):  # innermost fractions first (a pass that changes nothing: the later ones neither)
        before = t
        t = _FRAC.sub(lambda m: max(m.group(1), m.group(2), key=len), t)
        t = _SCRIPT.sub(lambda m: "s" * max(1, round(0.6 * len(m.group(1).replace(" ", "")))), t)
        if t == before:
            break
    t = _QUAD.sub("xxxx", t)
    t = _COMMAND.sub("x", t)
    t = t.replace("{", "").replace("}", "").replace("&", "").replace(" ", "")
    width = len(t) + sum(t.count(op) for op in "=+-<>,")
    width += 3 * tex.count(r"\times 10^")  # a number in scientific notation: the spaced times, the raised power
    return width + 2 * tex.count(r"\frac") if display else width


def display_width(tex: str) -> float:
    """``tex_width`` with fractions at display size (slides set their rows so)."""
    return tex_width(tex, display=True)


#: a displayed row's height, in rows of plain display math: with a display fraction, with a fraction
#: and an indexed symbol (``w^{(1)}_{11}``), with a power inside grown brackets
#: (``\\left(1 - \\left(-0.45\\right)^{2}\\right)``); 1.6 had let a frame of six indexed-fraction rows run
#: 0.27 pt below a slide
TALL_ROW = 1.45
TALLER_ROW = 1.64
NESTED_POWER_ROW = 1.35
_NESTED_POWER = re.compile(r"\\right\)\^\{[^{}]*\}\s*\\right\)")


def row_height(row: str) -> float:
    """A displayed row's height in rows: a display fraction makes it taller."""
    if r"\frac" not in row:
        return NESTED_POWER_ROW if _NESTED_POWER.search(row) else 1.0
    return TALLER_ROW if "^{(" in row else TALL_ROW


def align_width(rows: Sequence[str], measure: Measure = tex_width) -> float:
    """The width of an ``align*`` of ``rows``: its widest left side plus its widest right side."""
    sides = [row.split("&", 1) if "&" in row else ["", row] for row in rows]
    return max((measure(lhs) for lhs, _ in sides), default=0) + max((measure(rhs) for _, rhs in sides), default=0)


def label_pt(tex: str, em: float, unit: float) -> float:
    """Width (pt) of a short formula set in text style at an em of ``em`` pt: the smaller of the label
    measure (``text_extent``, generous by design) and ``display_width`` at ``unit`` pt a character,
    since each is far over on some formulas."""
    return min(text_extent(f"${tex}$")[0] * em, display_width(tex) * unit)


# -- packing -------------------------------------------------------------------------------------

def pack(widths: Sequence[float], room: float, first: float = 0.0, then: float = 0.0,
         gap: float = 0.0, most: int | None = None) -> list[list[int]]:
    """Indices of ``widths`` greedily in rows no wider than ``room`` (a row holds at least one item).

    ``first``/``then``: what the first/every later row already holds (a left-hand side, a ``\\quad``);
    ``gap``: the room between two items of a row; ``most``: at most this many items a row.
    """
    rows: list[list[int]] = []
    used = 0.0
    for i, w in enumerate(widths):
        if not rows or len(rows[-1]) == most or used + gap + w > room:
            used = then if rows else first
            rows.append([])
        else:
            used += gap
        rows[-1].append(i)
        used += w
    return rows


def even_pack(widths: Sequence[float], room: float, first: float = 0.0) -> list[list[int]]:
    """:func:`pack`'s rows, as many as it needs, filled evenly: packed into the least room that needs no more
    rows, so that a last row of one item takes its share from the others (frames of 5 + 5 + 4 rows, not
    8 + 5 + 1)."""
    rows = pack(widths, room, first=first)
    if len(rows) < 2:
        return rows
    low, high = 0.0, room  # low: too little; high: enough
    for _ in range(40):
        if high - low < 1e-6:
            break
        middle = (low + high) / 2
        if len(pack(widths, middle, first=first)) <= len(rows):
            high = middle
        else:
            low = middle
    return pack(widths, high, first=first)


def even_rows(n: int, rows: int) -> list[list[int]]:
    """``n`` items over ``rows`` rows whose lengths differ by one at most, the longer first (3 + 2 + 2)."""
    rows = max(1, min(rows, n))
    out, start = [], 0
    for r in range(rows):
        size = n // rows + (1 if r < n % rows else 0)
        out.append(list(range(start, start + size)))
        start += size
    return [row for row in out if row]


def balanced_rows(n: int, rows: int) -> list[list[int]]:
    """``n`` items over ``rows`` rows as even as greedy allows (3 + 3, not 4 + 2)."""
    per_row = -(-n // max(1, rows))
    return [list(range(i, min(i + per_row, n))) for i in range(0, n, per_row)]


def brace_rows(factors: Sequence[tuple[str, str]], room: float, em: float, unit: float, gap: float,
               dot: float, label_em: float | None = None, even: bool = False) -> tuple[list[list[int]], list[float]]:
    """Underbraced factors (each a fraction and the label under its brace) in rows of ``room`` pt, each in
    a box: all of one width (the widest factor's, plus ``gap``) so that they sit evenly spaced, in balanced
    rows (3 + 3, not 4 + 2); each of its own width only where one very wide label would cost a row.
    ``em``/``unit``: the size the fractions and labels are set at (``label_pt``); ``label_em``: the labels' own em
    where they are smaller (a subscript); ``dot``: a ``\\cdot`` between boxes; ``even``: always of one width
    (a page has rows to spare; a slide has not).
    Returns the rows (indices) and every box's width (pt)."""
    small = em if label_em is None else label_em
    own = [max(label_pt(label, small, unit * small / em), label_pt(fraction, em, unit)) + gap
           for fraction, label in factors]
    n = len(own)
    rows = pack([max(own, default=0) + dot] * n, room)
    natural = pack([w + dot for w in own], room)
    if len(natural) < len(rows) and not even:  # one very wide label (a leaky slope)
        return natural, own
    return balanced_rows(n, len(rows)), [max(own)] * n


def fit_columns(groups: Sequence[Sequence[float]], most: int, room: float, gap: float) -> int:
    """How many columns (``most`` down to 1) an ``align`` of entries can have: entry ``i`` of each group
    goes to column ``i % columns``, a column is as wide as its widest entry, with ``gap`` between."""
    for per_row in range(most, 1, -1):
        widest = [0.0] * per_row
        for widths in groups:
            for i, w in enumerate(widths):
                widest[i % per_row] = max(widest[i % per_row], w)
        if sum(widest) + gap * (per_row - 1) <= room:
            return per_row
    return 1


def join_rows(lead: str, pieces: Sequence[str], rows: list[list[int]], sep: str = " ",
              cont: str = r"&\quad ") -> list[str]:
    """Aligned rows of packed pieces: ``lead`` before the first row, ``cont`` before the others."""
    return [(lead if k == 0 else cont) + sep.join(pieces[i] for i in row) for k, row in enumerate(rows)]


# -- breaking an aligned row between terms or factors ---------------------------------------------

_TOKEN = re.compile(r"\\left\(|\\right\)|\\Bigl\(|\\Bigr\)|[{}]| \+ | - | \\cdot | = ")
_OPEN = ("{", r"\left(", r"\Bigl(")
_BRACKET = re.compile(r"((?:[-+] |\\cdot )?-?)\\left\((.*)\\right\)$", re.S)


def _cut(body: str, ops: tuple[str, ...]) -> list[str]:
    """``body`` cut before each of ``ops`` outside brackets and braces (each piece after the first starts with it)."""
    pieces, start, level = [], 0, 0
    for m in _TOKEN.finditer(body):
        token = m.group()
        if token in _OPEN:
            level += 1
        elif token.strip() in ("}", r"\right)", r"\Bigr)"):
            level -= 1
        elif level == 0 and m.start() > start and token.strip() in ops:
            pieces.append(body[start:m.start()])
            start = m.start() + 1
    pieces.append(body[start:])
    return pieces


def balanced(text: str) -> bool:
    """No bracket of ``text`` closes one opened before it (``a\\right) + \\left(b`` is not balanced)."""
    level = 0
    for m in _TOKEN.finditer(text):
        if m.group() in _OPEN:
            level += 1
        elif m.group() in ("}", r"\right)", r"\Bigr)"):
            level -= 1
            if level < 0:
                return False
    return level == 0


def pieces_of(body: str, width: float = 0, measure: Measure = tex_width) -> list[str]:
    """``body`` cut before each `` + ``, `` - `` and `` = `` outside brackets and braces; a piece wider
    than ``width`` is cut again before its `` \\cdot `` (a sum breaks between terms before it breaks a term),
    and a factor that is one big bracket still wider is cut inside it (``\\Bigl( ... \\Bigr)``)."""
    out = []
    for piece in _cut(body, ("+", "-", "=")):
        for part in (_cut(piece, ("\\cdot",)) if measure(piece) > width else [piece]):
            out += _inside(part, width, measure) if measure(part) > width else [part]
    return out


def _inside(piece: str, width: float, measure: Measure) -> list[str]:
    m = _BRACKET.fullmatch(piece)
    if m is None or not balanced(m.group(2)):
        return [piece]
    inner = pieces_of(m.group(2), width, measure)
    if len(inner) == 1:
        return [piece]
    inner[0] = m.group(1) + r"\Bigl(" + inner[0]
    inner[-1] += r"\Bigr)"
    return inner


def break_row(row: str, width: float = ROW_WIDTH, indent: float = 0, measure: Measure = tex_width) -> list[str]:
    """An aligned row too wide for ``width`` over several rows, cut between terms or factors.

    ``lhs &= a \\cdot b \\cdot c = r`` becomes ``lhs &= a \\cdot b`` / ``&\\quad \\cdot c = r``; a row that is
    one big bracket, ``-\\left(t_1 + ... \\right)``, is cut inside it (``\\Bigl( ... \\Bigr)``, which may span
    rows), and so is a factor too wide for a row by itself.  A piece ``= r`` that starts a row is aligned at
    the ``=``.  Rows that fit are kept as they are.  ``indent`` is the width of the left-hand side column,
    which a row starting at ``&`` sits beside too.
    """
    amp = row.find("&")
    if amp < 0 or measure(row) + (indent if amp == 0 else 0) <= width:
        return [row]
    lead, body = row[:amp + 1], row[amp + 1:]
    if body.startswith("= "):
        lead, body = lead + "= ", body[2:]
    room = width - indent - measure(r"\quad")  # what a continuation row holds
    pieces = pieces_of(body, room, measure)
    if len(pieces) == 1:  # one bracket around everything: cut inside it
        m = re.match(r"(-?)\\left\((.*)\\right\)$", body)
        if m is None or not balanced(m.group(2)):
            return [row]
        pieces = pieces_of(m.group(2), room, measure)
        pieces[0] = m.group(1) + r"\Bigl(" + pieces[0]
        pieces[-1] += r"\Bigr)"
    rows = pack([measure(p) for p in pieces], width, first=measure(lead) + (indent if amp == 0 else 0),
                then=indent + measure(r"\quad"))
    texts = [" ".join(pieces[i] for i in row) for row in rows]
    return [lead + texts[0]] + ["&" + t if t.startswith("= ") else r"&\quad " + t for t in texts[1:]]


def line_rows(line: Line, lead: str = "&= ", width: float = ROW_WIDTH) -> list[str]:
    """An arithmetic line as aligned rows: ``label &= t1 + t2 ...`` then ``&\\quad + t5 ...`` when its
    terms are too wide for one row; a product (or a term) still too wide breaks between its factors."""
    head = f"{line.label} {lead}"
    one = head + line.rhs()
    if line.is_trivial() or tex_width(one) <= width:
        return [one]
    terms = line.terms()
    rows = join_rows(head, terms, pack([tex_width(t) for t in terms], width, first=tex_width(head),
                                       then=tex_width(r"\quad")))
    result = result_latex(line.result)
    rows[-1] += f" {line.relation} " + result
    return [piece for row in rows for piece in break_row(row, width)]


def formula_line_rows(head: str, line: Line, width: float = ROW_WIDTH) -> list[str]:
    """``lhs &= formula = numbers = result`` (``head`` is ``lhs &= formula``) on one row when it fits, else
    the formula's rows, then the numbers' rows aligned at their own ``&=``."""
    one = f"{head} = {line.rhs()}"
    if tex_width(one) <= width:
        return [one]
    return break_row(head, width) + line_rows(dataclasses.replace(line, label=""), "&= ", width)


# -- tables --------------------------------------------------------------------------------------

def wrap_table(header: list[str], cells: list[list[str]], width: float, max_rows: int,
               char: float, pad: float) -> list[tuple[int, int, list[list[str]], int]]:
    """``cells`` (one row per unit) as tables no wider than ``width`` pt and no taller than ``max_rows``.

    The rows wrap into as many column groups side by side as fit the width (``j | z | a || j | z | a``,
    a column ``char`` pt a character plus ``pad``), and over several tables when one would be too tall;
    returns (first unit, last unit, the table's rows, its column groups) each.
    """
    cols = [max(tex_width(c.strip("$")) for c in [h] + [r[i] for r in cells]) for i, h in enumerate(header)]
    group = sum(char * w + pad for w in cols) + 1
    groups = max(1, min(len(cells), int(width // group)))
    pages = -(-len(cells) // (groups * max_rows))
    per_page = -(-len(cells) // pages)  # balanced: no page with a few orphan rows
    out = []
    for start in range(0, len(cells), per_page):
        chunk = cells[start:start + per_page]
        used = min(groups, len(chunk))
        rows_n = -(-len(chunk) // used)
        used = -(-len(chunk) // rows_n)  # no empty group
        rows = []
        for i in range(rows_n):
            row: list[str] = []
            for g in range(used):
                k = g * rows_n + i
                row += chunk[k] if k < len(chunk) else [""] * len(header)
            rows.append(row)
        out.append((start + 1, start + len(chunk), rows, used))
    return out

