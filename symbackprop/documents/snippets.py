"""One formula of the derivation, ready to paste into someone else's slides.

    >>> from symbackprop.engine.solution import solve
    >>> snippet(solve(), "dE/dw5").latex
    '\\\\boxed{\\\\frac{\\\\partial E}{\\\\partial w_{5}} = \\\\frac{\\\\partial E}{\\\\partial z_{o}} h_{1}}'

Forms (what is shown):

* ``symbolic``: the quantity's formula, boxed, as the lecture boxes it;
* ``chain``: the product of local derivatives along its path up to the loss;
* ``expanded``: the same with each factor's formula under a brace (``chains.py``);
* ``numeric``: the formula with the spec's numbers, operands shown with the
  digits that reproduce the result (``notation/lines.py``), result boxed.

Formats (how): ``tex`` (a fragment for inside ``\\[ \\]``), ``md``
(``$$ ... $$``), ``svg``/``png`` (a picture through a ``standalone`` page).
Words and the expanded chain's look are the template's (``templates/snippets.tex.j2``);
``tex`` and ``md`` need no TeX.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..engine.numbers import significant
from ..engine.printer import partial, with_condition
from ..engine.solution import Solution
from ..errors import UsageError
from ..hints import expected, quoted
from ..io.files import write_atomic
from ..layout import brace_rows, display_width, line_rows
from ..notation.chains import Factor, chain_for
from ..notation.lines import LEAF_KINDS, Line, exact_text, quantity_line, result_latex
from .render import Tex, latex_macros

FORMS = ("symbolic", "chain", "expanded", "numeric")
FORMATS = ("tex", "md", "svg", "png")
#: quantities that are a product of local derivatives up to the loss
CHAIN_KINDS = ("d_act", "d_pre", "grad")
#: an expanded chain's row (pt, about a 16:9 slide's text width) at the standalone page's 10 pt, an em of its
#: display maths and of a subscript, a ``tex_width`` character of display maths, the room around a braced
#: factor in its box and a ``\cdot`` between two boxes (pt)
ROW_PT = 400
EM = 10
SCRIPT_EM = 7
UNIT = 5.5
BRACE_GAP = 6
BRACE_DOT = 8

_KIND_WORDS = {"d_act": "a derivative of the loss", "d_pre": "a delta", "grad": "a gradient",
               "input": "an input", "target": "a target", "weight": "a weight", "bias": "a bias",
               "learning_rate": "the learning rate", "pre": "a pre-activation", "act": "an activation",
               "loss": "the loss", "updated": "an updated parameter", "post_pre": "a pre-activation after the update",
               "post_act": "an activation after the update", "post_loss": "the loss after the update"}


class FormError(UsageError):
    """A form that does not apply to the quantity (``expanded`` for an input value)."""


@dataclass(frozen=True)
class Snippet:
    """One formula: ``latex`` is the body of a display (no ``\\[ \\]``, no ``$$``)."""

    name: str
    form: str
    latex: str
    #: the body for KaTeX and MathJax (Markdown, Jupyter) where it differs: they have no ``\makebox``
    web: str = ""

    def tex(self) -> str:
        return self.latex + "\n"

    def markdown(self) -> str:
        return f"$$\n{self.web or self.latex}\n$$\n"

    def text(self, fmt: str) -> str:
        """The ``tex`` or ``md`` text."""
        if fmt == "tex":
            return self.tex()
        if fmt == "md":
            return self.markdown()
        raise UsageError(f"format: {quoted(fmt)} is not a text format (tex or md)", setting="format")

    def standalone(self) -> str:
        """A complete ``standalone`` LaTeX page holding just this formula (for svg/png)."""
        from .render import header_comment, render_tex

        return render_tex("snippet_standalone.tex.j2", header=Tex(header_comment()), formula=Tex(self.latex))

    def _repr_latex_(self) -> str:
        return f"$${self.web or self.latex}$$"

    def _repr_markdown_(self) -> str:
        return self.markdown()


def explain(solution: Solution, name: str) -> QuantityView:
    """One quantity for Jupyter: its formula, chain and value render themselves."""
    return QuantityView(solution, name)


class QuantityView:
    """A quantity in Jupyter: its formula, its expanded chain (for a derivative) and its value.

        >>> explain(solve(), "dE/dw1")   # in a notebook: renders itself
    """

    def __init__(self, solution: Solution, name: str):
        solution.quantity(name)
        self.solution = solution
        self.name = name

    def snippets(self) -> list[Snippet]:
        forms = forms_of(self.solution, self.name)
        chosen = [f for f in ("symbolic", "expanded", "numeric") if f in forms]
        return [snippet(self.solution, self.name, form) for form in chosen]

    def _repr_markdown_(self) -> str:
        q = self.solution.quantity(self.name)
        value = self.solution.value(self.name)
        head = words().head(Tex(self.name), q.kind, Tex(self.solution.display(self.name)), self.solution.spec.decimals,
                            Tex(significant(value, 6)))
        return head + "\n".join(s.markdown() for s in self.snippets())

    def _repr_latex_(self) -> str:
        return r"$$\begin{gathered}" + r" \\ ".join(s.web or s.latex for s in self.snippets()) + r"\end{gathered}$$"

    def __repr__(self) -> str:
        return f"<{self.name} = {self.solution.display(self.name)}>"


@dataclass(frozen=True)
class LocalChain:
    """``lhs = f1 . f2 . ...``: the local derivatives of one path (the first of ``n_paths``)."""

    lhs: str
    factors: list[Factor]
    n_paths: int
    condition: str = ""  # the condition the output delta's closed form (a factor) uses


# -- the chain of any backward quantity --------------------------------------------------

def local_chain(solution: Solution, name: str) -> LocalChain:
    """The chain of ``dE/d<anything>``: a parameter's from ``chains.chain_for``; a delta's is
    the chain of a weight into its unit without the last links."""
    q = solution.quantity(name)
    net = solution.network
    if q.kind == "grad":
        c = chain_for(solution, q.of)
        return LocalChain(q.latex, c.factors, c.n_paths, c.condition)
    assert q.kind in ("d_act", "d_pre") and q.layer is not None and q.unit is not None
    layer, unit, example = q.layer, q.unit, q.example or 1
    above = 1
    for upper in net.layers[layer:]:
        above *= upper.size
    if q.kind == "d_act" and layer == net.n_layers:
        # the loss's own derivative: one link
        a = net[net.unit_name("act", layer, unit, example)]
        assert q.definition is not None
        factor = Factor(partial(net[net.loss_name].latex, a.latex), solution.printer.doprint(q.definition),
                        solution.value(name), False)
        return LocalChain(q.latex, [factor], 1)
    c = chain_for(solution, net.weight_name(layer, unit, 1), example)
    drop = 1 if q.kind == "d_pre" else 2  # dz/dw, and da/dz for an activation
    return LocalChain(q.latex, c.factors[:-drop], above, c.condition)


# -- the four forms -----------------------------------------------------------------------

def _not_applicable(solution: Any, name: str, form: str, why: str, instead: str) -> FormError:
    return FormError(f"form {form} does not apply to {quoted(name)}: {why}; use the {instead} form", setting="form")


def _kind_word(kind: str) -> str:
    return _KIND_WORDS.get(kind, kind)


def words() -> Any:
    """The snippets' words and look (``templates/snippets.tex.j2``, a teacher's copy first)."""
    return latex_macros("snippets.tex.j2")


def _multi(chain: LocalChain, body: str) -> str:
    """``body + ...  (1 of N path terms)`` when the derivative sums several paths."""
    if chain.n_paths == 1:
        return body
    return body + words().path_terms(chain.n_paths)


def symbolic(solution: Solution, name: str) -> str:
    q = solution.quantity(name)
    if q.kind in LEAF_KINDS:
        raise _not_applicable(solution, name, "symbolic", f"it is {_kind_word(q.kind)}, spec data with no formula",
                              "numeric")
    return words().boxed(Tex(f"{q.latex} = {solution.formula(name, explicit=True)}")) + with_condition(
        solution.condition(name))


def _chain_of(solution: Solution, name: str, form: str) -> LocalChain:
    q = solution.quantity(name)
    if q.kind not in CHAIN_KINDS:
        instead = "numeric" if q.kind in LEAF_KINDS else "symbolic or numeric"
        raise _not_applicable(solution, name, form,
                              f"it is {_kind_word(q.kind)}, not a derivative of the loss", instead)
    c = local_chain(solution, name)
    if len(c.factors) == 1 and c.factors[0].partial == q.latex:
        why = ("it is the loss's own derivative, a single link" if q.kind == "d_act" else  # dE/dyhat
               # softmax with cross-entropy: dE/dz_o1 = yhat1 - t1, the loss and the softmax (its Jacobian) at once
               "its chain is a single link, taken from the loss through the output's activation at once")
        raise _not_applicable(solution, name, form, why, "symbolic")
    return c


def chain(solution: Solution, name: str) -> str:
    c = _chain_of(solution, name, "chain")
    return _multi(c, f"{c.lhs} = " + r" \cdot ".join(f.partial for f in c.factors))


def expanded(solution: Solution, name: str) -> tuple[str, str]:
    """The chain with every factor's formula under its brace, each factor in a box of one width (evenly
    spaced, as in the handout) for LaTeX; the same rows without the boxes for KaTeX and MathJax."""
    c = _chain_of(solution, name, "expanded")
    room = ROW_PT - (display_width(c.lhs) + 2) * UNIT - EM  # a row after the first: \quad
    chunks, widths = brace_rows([(f.partial, f.formula) for f in c.factors], room, EM, UNIT, BRACE_GAP, BRACE_DOT,
                                label_em=SCRIPT_EM, even=True)
    factors = [{"partial": Tex(f.partial), "formula": Tex(f.formula), "width": f"{w:.1f}"}
               for f, w in zip(c.factors, widths, strict=True)]
    braces = {"lhs": Tex(c.lhs), "rows": [[factors[i] for i in chunk] for chunk in chunks]}
    condition = Tex(with_condition(c.condition))
    return tuple(str(words().expanded(braces, c.n_paths, condition, boxes=boxes))  # type: ignore[return-value]
                 for boxes in (True, False))


def numeric(solution: Solution, name: str) -> str:
    """``symbol = numbers = \\boxed{result}``: every line reproduces with the numbers shown."""
    q = solution.quantity(name)
    if q.kind in LEAF_KINDS:
        return f"{q.latex} = {exact_text(solution.value(name))}"
    return boxed_line(quantity_line(solution, name, explicit=True))


def boxed_line(line: Line) -> str:
    """A line of arithmetic, its result boxed, on as many aligned rows as a slide needs."""
    rows = line_rows(line)
    if len(rows) == 1:
        rows = [line.latex()]
    result = result_latex(line.result)
    assert rows[-1].endswith(result), rows[-1]
    rows[-1] = rows[-1][:-len(result)] + words().boxed(Tex(result))  # the box is the template's
    return rows[0] if len(rows) == 1 else r"\begin{aligned}" + " \\\\\n".join(rows) + r"\end{aligned}"


_BUILDERS: dict[str, Callable[[Solution, str], str | tuple[str, str]]] = {
    "symbolic": symbolic, "chain": chain, "expanded": expanded, "numeric": numeric}


def snippet(solution: Solution, name: str, form: str = "symbolic") -> Snippet:
    """One form of one quantity (``UnknownQuantity`` with a did-you-mean, ``FormError``)."""
    if form not in FORMS:
        raise UsageError(f"form: unknown form {quoted(form)}{expected(form, FORMS)}", setting="form")
    solution.quantity(name)  # unknown names fail first, with a did-you-mean
    body = _BUILDERS[form](solution, name)
    return Snippet(name, form, *body) if isinstance(body, tuple) else Snippet(name, form, body)


def forms_of(solution: Solution, name: str) -> list[str]:
    """The forms that apply to a quantity."""
    kind = solution.quantity(name).kind
    if kind in LEAF_KINDS:
        return ["numeric"]
    try:
        _chain_of(solution, name, "chain")
    except FormError:
        return ["symbolic", "numeric"]
    return list(FORMS)


# -- writing ------------------------------------------------------------------------------

def default_filename(name: str, form: str, fmt: str) -> str:
    """``dE/dw5`` -> ``dE_dw5-symbolic.svg``: a safe file name for a picture."""
    safe = re.sub(r"[^A-Za-z0-9_-]+", "_", name.replace("'", "_prime")).strip("_") or "snippet"
    return f"{safe}-{form}.{fmt}"


def write_snippet(snip: Snippet, fmt: str, output: str | Path | None) -> tuple[str | None, Path | None]:
    """Render ``snip`` as ``fmt``; return ``(text for stdout, written path)``.

    Pictures are compiled before anything is written: an error leaves no file.
    """
    if fmt not in FORMATS:
        raise UsageError(f"format: unknown format {quoted(fmt)}{expected(fmt, FORMATS)}", setting="format")
    if fmt in ("tex", "md"):
        text = snip.text(fmt)
        if output is None:
            return text, None
        return None, write_atomic(Path(output), text)
    path = Path(output) if output is not None else Path(default_filename(snip.name, snip.form, fmt))
    from ..io import pdf

    if fmt == "svg":
        return None, pdf.svg_from_tex(snip.standalone(), path)
    return None, pdf.png_from_tex(snip.standalone(), path)
