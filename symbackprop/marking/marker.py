"""The marker of any exercise (an MLP or a computation graph): verdicts on values and formulas, and why.

An `Exercise` says what the marker needs of a solved spec (quantities in topological order with their
definitions, exact values, LaTeX, the leaves' values); a kind's marker adds its own usual slips
(`verify` for the MLP, `graphmarks` for a computation graph).

Values (in the exercise's topological order, so earlier verdicts are known):

1. **correct**: equal to the exact value rounded half-up to the decimals the
   student wrote (or exactly equal); fewer decimals than the spec asks is
   **too few decimals** (STACK's NumDecPlaces);
2. **early rounding**: what comes out when intermediates are rounded to the
   displayed decimals: along the lecture's path (every quantity computed from
   the rounded values of its operands, then rounded), or from the student's
   own right-but-rounded earlier answers;
3. **carried forward**: exactly what the quantity's chain-rule definition gives
   from the student's own earlier *wrong* answers (follow-through);
4. **wrong**, with the expected value and, where one matches, a diagnosis: each
   candidate mistake (a flipped sign, and the kind's own slips) is recomputed
   exactly and compared after rounding to the student's decimals.

Formulas are parsed by :mod:`.mathparse` (an AST whitelist, never ``eval``) and
compared with the quantity's chain-rule definition: first numerically at the
exercise's values and at random points (a cheap, certain way to see a
difference), then symbolically (both sides inlined into leaves and expanded).
When SymPy cannot show the difference is 0 but every point agrees, the formula
is accepted with the note "checked numerically at N random points".  The symbolic work has a
size budget and a time budget per formula and per report (SymPy's factor can take minutes): past
it the numeric verdict stands and the note says the formula was too large (or time ran out).
"""

from __future__ import annotations

import math
import random
import re
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, DecimalException, localcontext
from fractions import Fraction
from functools import cached_property
from typing import Any

import sympy
from sympy import Expr, Symbol

from ..engine import activations
from ..engine.evaluate import Compiler, Program, Step, compile_quantities, run_steps
from ..engine.network import Quantity
from ..engine.numbers import WORK_DIGITS, display, round_half_up, to_decimal, work_context
from ..hints import clip, closest, quoted
from .answers import Answer, Answers, Sheet
from .budget import Allowance, OverBudget
from .mathparse import NUMBER_EXAMPLES, NumberProblem, parse_formula, parse_number
from .words import MarkingWords, Said, marking_words

_EXPO = getattr(activations, "expo", None)

#: (diagnosis, replaced definitions by name): candidate slips, each rerun exactly
Slips = Iterable[tuple[Said, dict[str, Expr]]]

#: Verdicts, in the order of the report's totals, with their English labels (a report's words are the
#: language's: ``lang/marking/<lang>.j2``).
VERDICTS = {
    "correct": "correct",
    "too_few_decimals": "too few decimals",
    "early_rounding": "early rounding",
    "carried_forward": "carried forward",
    "wrong": "wrong",
    "invalid": "invalid",
}
#: Decimals beyond this are not compared (the exact value has WORK_DIGITS significant digits).
MAX_CHECKED_DECIMALS = 40
#: Random points a formula is checked at (besides the exercise's own values), and draws for each at most.
RANDOM_POINTS = 3
DRAWS_PER_POINT = 4
#: Relative agreement that counts as equal at a point (values carry 80 digits).
AGREEMENT = Decimal("1e-40")
#: Formulas whose expansion could have more terms than this are compared numerically only
#: ((w1 + w2 + ... + b3)**100 must not hang the marking).
SYMBOLIC_SIZE_LIMIT = 2000
#: Wrong formulas are factored (to name a missing factor) only within these bounds on each side
#: (terms after expansion, symbols, total degree): factor() on (w1 + x1 + b1)^10 + ... takes minutes.
DIAGNOSIS_SIZE_LIMIT = 40
DIAGNOSIS_SYMBOLS = 16
DIAGNOSIS_DEGREE = 12
#: Seconds of symbolic work (expand, cancel, factor) for one formula, and for one whole report;
#: the safety net behind the size limits (the numeric verdict stands, with a note).
FORMULA_SECONDS = 2.0
REPORT_SECONDS = 20.0
#: What a piece of symbolic work returns when it runs out of time (said: ``out_of_time``).
OUT_OF_TIME = "out_of_time"
#: Slips are looked for in the quantity's own definition and in those up to this many steps back.
SLIP_DEPTH = 3
#: At most this many candidate slips are recomputed for one wrong value.
MAX_MUTATIONS = 100
#: A formula's missing or extra terms are named when there are at most this many.
MAX_NAMED_TERMS = 3
#: Unknown names that get a "did you mean" in one report.
MAX_HINTS = 100
#: Carried-forward messages name at most this many earlier answers.
MAX_NAMED_SOURCES = 3


@dataclass(frozen=True)
class Row:
    """One marked answer."""

    name: str
    form: str  # "value" or "formula"
    given: str
    expected: str
    verdict: str  # a key of VERDICTS
    why: str = ""
    #: LaTeX of the quantity's symbol and of the expected formula ("" for unknown names)
    latex: str = ""
    expected_latex: str = ""
    #: ``why`` in pieces, (text, LaTeX): a formula's piece has its LaTeX, plain words have ""
    why_parts: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        return VERDICTS[self.verdict]

    @property
    def right(self) -> bool:
        return self.verdict == "correct"


@dataclass(frozen=True)
class Report:
    rows: tuple[Row, ...]
    sheet: Sheet = Sheet(source="")
    decimals: int = 3
    #: its words (the language ``why`` is written in, from the templates in use when it was marked)
    words: MarkingWords = field(default_factory=marking_words, compare=False, repr=False)

    @property
    def counts(self) -> dict[str, int]:
        counts = dict.fromkeys(VERDICTS, 0)
        for row in self.rows:
            counts[row.verdict] += 1
        return counts

    @property
    def n_right(self) -> int:
        return self.counts["correct"]

    @property
    def exit_code(self) -> int:
        """0 all correct, 1 something is not, 2 an entry could not be marked (invalid)."""
        if any(row.verdict == "invalid" for row in self.rows):
            return 2
        return 0 if all(row.right for row in self.rows) else 1

    def labelled_counts(self) -> list[tuple[str, int]]:
        """(label, how many) of every verdict given, in the report's words."""
        return [(self.words.verdicts[v], n) for v, n in self.counts.items() if n]

    def totals_text(self) -> str:
        return self.words.totals(self.n_right, len(self.rows), self.labelled_counts())


@dataclass(frozen=True)
class _Given:
    """A value answer, parsed."""

    answer: Answer
    value: Fraction
    decimals: int


@dataclass(frozen=True)
class _Candidate:
    why: Said
    value: Decimal


@dataclass(frozen=True)
class Exercise:
    """What the marker needs of a solved spec, whatever its kind."""

    title: str
    decimals: int
    #: every quantity (leaves, forward, backward) in topological order, by ASCII name
    quantities: Mapping[str, Quantity]
    #: exact values by name, and which are exact rationals (a correct answer equals one exactly)
    values: Mapping[str, Decimal]
    exact: Mapping[str, bool]
    #: the spec's exact value of every leaf, by name
    leaves: Mapping[str, sympy.Rational]
    #: LaTeX of an expression over the quantities' symbols
    latex: Callable[[Expr], str]
    #: the functions a formula may call, by the names typed
    functions: Mapping[str, Callable[..., Expr]]
    #: kinds folded into their names when formulas are compared (sums and activations: forward),
    #: and kinds inlined (backward quantities, polynomial in the forward ones)
    forward_kinds: frozenset[str]
    backward_kinds: frozenset[str]
    #: at most this many rounds of folding (each folds one level of the graph)
    fold_rounds: int

    @cached_property
    def by_symbol(self) -> dict[Symbol, Quantity]:
        return {q.symbol: q for q in self.quantities.values()}


def mark_exercise(marker: Marker, answers: Answers) -> Report:
    """Every answer marked; rows come in the exercise's order (value before formula), unknown names last."""
    rows = marker.mark_all(answers.entries)
    ex = marker.exercise
    return Report(tuple(rows), replace(answers.sheet, title=answers.sheet.title or ex.title), ex.decimals,
                  marker.words)


def allowance(seconds: float) -> Allowance:
    """The symbolic work of a whole report, spent at most FORMULA_SECONDS on one formula."""
    return Allowance(seconds, min(seconds, FORMULA_SECONDS))


@dataclass
class Marker:
    """The generic marking; a kind's subclass names its slips (``_mutations``), the random points its
    leaves may take (``_random_leaves``) and a factor swapped for another (``_swapped_factor``)."""

    exercise: Exercise
    #: quantity name -> the given value's verdict and text (values only), for carried-forward messages
    verdicts: dict[str, str] = field(default_factory=dict)
    given_texts: dict[str, str] = field(default_factory=dict)
    #: slots whose value on the student's path descends from a wrong answer
    tainted: set[int] = field(default_factory=set)
    #: memo of rounded_at, by decimals
    rounded_paths: dict[int, list[Decimal]] = field(default_factory=dict)
    #: memos of _inline_symbol and _backward_symbol
    inlined: dict[Symbol, Expr] = field(default_factory=dict)
    backward_inlined: dict[Symbol, Expr] = field(default_factory=dict)
    #: unknown names still to get a "did you mean" (a file of 5,000 typos gets the first ones)
    hints_left: int = MAX_HINTS
    #: the LaTeX of every formula a diagnosis names, by its ASCII text (see ``_formula``)
    formula_latex: dict[str, str] = field(default_factory=dict)
    #: seconds of symbolic work left for this report
    allowance: Allowance = field(default_factory=lambda: Allowance(REPORT_SECONDS, FORMULA_SECONDS))
    #: the words the diagnoses are said in (the templates in use when the marker is made)
    words: MarkingWords = field(default_factory=marking_words)

    # -- shared, computed once --------------------------------------------------
    @property
    def quantities(self) -> Mapping[str, Quantity]:
        return self.exercise.quantities

    @property
    def by_symbol(self) -> dict[Symbol, Quantity]:
        return self.exercise.by_symbol

    @cached_property
    def decimals(self) -> int:
        return self.exercise.decimals

    @cached_property
    def compiled(self) -> tuple[dict[str, int], list[Step]]:
        return compile_quantities(list(self.quantities.values()))

    @property
    def index(self) -> dict[str, int]:
        return self.compiled[0]

    @property
    def steps(self) -> list[Step]:
        return self.compiled[1]

    @cached_property
    def computed_slots(self) -> frozenset[int]:
        """The slots a step computes (not given data: the leaves)."""
        return frozenset(step.slot for step in self.steps)

    @cached_property
    def step_of(self) -> dict[str, Step]:
        return {step.name: step for step in self.steps}

    @cached_property
    def slot_of(self) -> dict[Symbol, int]:
        return {q.symbol: self.index[q.name] for q in self.quantities.values()}

    @cached_property
    def compiler(self) -> Compiler:
        return Compiler(self.slot_of)

    @cached_property
    def exact(self) -> list[Decimal]:
        values = self.exercise.values
        return [values[name] for name in self.index]

    @property
    def rounded_path(self) -> list[Decimal]:
        return self.rounded_at(self.decimals)

    def rounded_at(self, decimals: int) -> list[Decimal]:
        """The lecture's path: every computed quantity from rounded operands, then rounded to ``decimals``."""
        slots = self.rounded_paths.get(decimals)
        if slots is None:
            slots = list(self.exact)
            with localcontext(work_context()):
                run_steps(self.steps, slots, finish=lambda x, _: _round(x, decimals),
                          failed=lambda step, _: self.exact[step.slot])
            self.rounded_paths[decimals] = slots
        return slots

    def rounded_paths_at(self, decimals: int) -> list[list[Decimal]]:
        """Every way of working that rounds as it goes, to ``decimals``: the lecture's path; a kind whose
        handout rounds more along the way (a graph's local derivatives) adds its own."""
        return [self.rounded_at(decimals)]

    @cached_property
    def symbols(self) -> dict[str, Symbol]:
        return {name: q.symbol for name, q in self.quantities.items()}

    # -- entry point --------------------------------------------------------------
    def mark_all(self, entries: Iterable[Answer]) -> list[Row]:
        order = {name: i for i, name in enumerate(self.index)}
        known = [a for a in entries if a.name in order]
        unknown = [self._unknown(a) for a in entries if a.name not in order]
        known.sort(key=lambda a: (order[a.name], a.form != "value"))
        values = {a.name: a for a in known if a.form == "value"}
        rows = {(r.name, "value"): r for r in self._mark_values(values)}
        for a in known:
            if a.form == "formula":
                rows[(a.name, "formula")] = self._mark_formula(a)
        return [rows[(a.name, a.form)] for a in known] + unknown

    def _unknown(self, answer: Answer) -> Row:
        name = answer.name
        shown = clip(name)
        self.hints_left -= 1
        close = closest(name, self.index) if self.hints_left >= 0 else ""
        why = self.words.say(Said("unknown_name", name=quoted(name), close=repr(close) if close else ""))
        return Row(shown, answer.form, cell_text(answer.text), "", "invalid", why)

    # -- values -------------------------------------------------------------------
    def _mark_values(self, answers: dict[str, Answer]) -> list[Row]:
        """Walk the graph in order: the student's own path (their values where given) is built alongside."""
        rows: list[Row] = []
        given: dict[str, _Given] = {}
        for name, answer in answers.items():
            parsed = _parse_value(answer)
            if isinstance(parsed, NumberProblem):
                rows.append(self._with_quantity(self._not_a_number(answer, parsed)))
            elif isinstance(parsed, Row):
                rows.append(self._with_quantity(parsed))
            else:
                given[name] = parsed
        # the student's path, at full precision and rounded, and which values are tainted by a wrong answer
        own_exact = list(self.exact)
        own_rounded = list(self.exact)
        tainted = self.tainted
        names = list(self.index)
        with localcontext(work_context()):
            for name, i in self.index.items():
                step = self.step_of.get(name)
                if step is not None:
                    try:
                        own_exact[i] = step.program(own_exact)
                        own_rounded[i] = _round(step.program(own_rounded), self.decimals)
                    except (DecimalException, ZeroDivisionError, ValueError):
                        # an absurd earlier answer (1e999 into exp): fall back to the true values
                        own_exact[i], own_rounded[i] = self.exact[i], self.rounded_path[i]
                upstream = {d for d in step.depends if d in tainted} if step is not None else set()
                if name in given:
                    row = self._mark_value(given[name], step, own_exact[i], own_rounded[i], upstream, names)
                    rows.append(row)
                    self.verdicts[name] = row.verdict
                    self.given_texts[name] = cell_text(given[name].answer.text, 30)
                    own_exact[i] = own_rounded[i] = _decimal(given[name].value)
                    if row.verdict in ("wrong", "carried_forward"):
                        tainted.add(i)
                elif upstream:
                    tainted.add(i)
        return rows

    def _mark_value(self, given: _Given, step: Step | None, own_exact: Decimal, own_rounded: Decimal,
                    upstream: set[int], names: list[str]) -> Row:
        name = given.answer.name
        q = self.quantities[name]
        i = self.index[name]
        exact = self.exact[i]
        shown_decimals = min(max(given.decimals, self.decimals), MAX_CHECKED_DECIMALS)
        row = Row(name, "value", given.answer.text, display(exact, shown_decimals), "wrong", latex=q.latex)

        def verdict(v: str, why: Said | None = None) -> Row:
            text, parts = self._said(why)
            return Row(row.name, row.form, row.given, row.expected, v, text, row.latex, why_parts=parts)

        decimals = min(given.decimals, MAX_CHECKED_DECIMALS)
        if Fraction(exact) == given.value and self.exercise.exact.get(name, False):
            return verdict("correct")
        if self._too_coarse(given, exact):  # "1" for 0.751, "0" for 0.386: no credit, nothing to follow through
            return verdict("wrong", Said("too_coarse", given=given.decimals, asked=self.decimals))
        if _matches(exact, given.value, decimals):
            if given.decimals < self.decimals:
                return verdict("too_few_decimals", Said("too_few_decimals", given=given.decimals,
                                                        asked=self.decimals, full=display(exact, self.decimals)))
            if given.decimals > MAX_CHECKED_DECIMALS:
                return verdict("correct", Said("checked_to", decimals=MAX_CHECKED_DECIMALS))
            return verdict("correct")
        full = display(exact, shown_decimals)
        if step is not None and not upstream and step.depends & self.computed_slots:  # given data alone: no
            for places in dict.fromkeys((self.decimals, given.decimals)):         # intermediate to round early
                if 0 <= places <= MAX_CHECKED_DECIMALS and any(
                        _matches(path[i], given.value, decimals) for path in self.rounded_paths_at(places)):
                    return verdict("early_rounding", Said("early_rounding", places=places, full=full))
            for own in (own_rounded, own_exact):
                if _matches(own, given.value, decimals):
                    return verdict("early_rounding", Said("early_rounding_own", full=full))
        elif step is not None and upstream:
            for own in (own_exact, own_rounded):
                if _matches(own, given.value, decimals):
                    sources = self._sources(upstream, names)
                    return verdict("carried_forward", Said("carried_forward", sources=sources, full=full))
        for candidate in self._diagnoses(q):
            if _matches(candidate.value, given.value, decimals):
                if given.decimals < self.decimals:  # "0.5" for -0.450: the slip, and the decimals left out
                    return verdict("wrong", Said("also_few_decimals", why=candidate.why, given=given.decimals,
                                                 asked=self.decimals))
                return verdict("wrong", candidate.why)
        if given.decimals > self.decimals and _matches(exact, Fraction(round_half_up(given.value, self.decimals)),
                                                       self.decimals):
            # the decimals written decide (a slip hides in the 4th as well), but say what is right
            return verdict("wrong", Said("later_digits_off", asked=self.decimals, given=given.decimals,
                                         full=display(exact, decimals)))
        return verdict("wrong")

    def _too_coarse(self, given: _Given, exact: Decimal) -> bool:
        """Whether an answer with fewer decimals than asked is too coarse to earn partial credit: a whole number
        other than 0 where decimals are asked, or a 0 where the value shows a digit at the asked decimals
        (rounded to so few places, almost any small value would "match", and so would a student's every carried
        value)."""
        if given.decimals >= self.decimals or self.decimals == 0:
            return False
        if given.value == 0:  # "0" or "0.0" for a gradient that shows as 0.000 is only short of decimals
            return display(exact, self.decimals).strip("-0.") != ""
        return given.decimals == 0

    def _sources(self, upstream: set[int], names: list[str]) -> list[tuple[str, str]]:
        """The student's wrong given answers that a tainted value descends from: (name, as given)."""
        found: list[tuple[str, str]] = []
        seen: set[int] = set()
        stack = sorted(upstream, reverse=True)
        while stack and len(found) < MAX_NAMED_SOURCES:
            i = stack.pop()
            if i in seen:
                continue
            seen.add(i)
            name = names[i]
            if self.verdicts.get(name) in ("wrong", "carried_forward"):
                found.append((self._name(name), self.given_texts[name]))
                continue
            step = self.step_of.get(name)
            if step is not None:
                stack.extend(d for d in step.depends if d in self.tainted)
        return found

    # -- diagnoses ----------------------------------------------------------------
    def _diagnoses(self, q: Quantity) -> Iterable[_Candidate]:
        """Candidate wrong values for ``q``, most telling first, each computed exactly."""
        i = self.index[q.name]
        exact = self.exact[i]
        yield _Candidate(Said("sign_flipped", expected=display(exact, self.decimals)), -exact)
        if q.definition is None:
            return
        distance = self._ancestors(q)
        chain = [step for step in self.steps if self.quantities[step.name].symbol in distance]
        for n, (why, overrides) in enumerate(self._mutations(q, distance)):
            if n >= MAX_MUTATIONS:
                return
            try:
                value = self._rerun(overrides, chain, i)
            except (DecimalException, TypeError, KeyError, ZeroDivisionError):
                continue
            if value != exact:
                yield _Candidate(why, value)

    def _ancestors(self, q: Quantity) -> dict[Symbol, int]:
        """``q`` and every computed quantity it depends on, with its distance from ``q`` (breadth first)."""
        distance = {q.symbol: 0}
        queue = deque([q.symbol])
        while queue:
            s = queue.popleft()
            d = self.by_symbol[s].definition
            if d is None:
                continue
            for operand in d.free_symbols:
                if operand not in distance and self.by_symbol[operand].definition is not None:
                    distance[operand] = distance[s] + 1
                    queue.append(operand)
        return distance

    def _mutations(self, q: Quantity, distance: dict[Symbol, int]) -> Slips:
        """(diagnosis, replaced definitions): the quantity's own slips first, then those of the quantities
        it is computed from (up to SLIP_DEPTH steps back), then slips made everywhere; each is rerun exactly
        and compared with the student's value."""
        near = sorted((s for s, d in distance.items() if d <= SLIP_DEPTH), key=lambda s: (distance[s], str(s)))
        for s in near:
            yield from self._slips(self.by_symbol[s])
        yield from self._slips_everywhere(distance)

    def _slips(self, a: Quantity) -> Slips:
        """The kind's usual slips in one quantity's own definition."""
        return ()

    def _slips_everywhere(self, distance: dict[Symbol, int]) -> Slips:
        """Slips made in every one of the ancestors (``distance``) at once."""
        return ()

    def _rerun(self, overrides: dict[str, Expr], chain: list[Step], target: int) -> Decimal:
        """The target's value when some definitions are replaced; only the steps of ``chain`` (the
        target's ancestors, in order) that the replacements reach are rerun."""
        programs: dict[int, Program] = {self.index[n]: self.compiler(e) for n, e in overrides.items()}
        affected = set(programs)
        rerun = []
        for step in chain:
            if step.slot in programs:
                rerun.append(replace(step, program=programs[step.slot]))
            elif step.depends & affected:
                rerun.append(step)
                affected.add(step.slot)
        slots = list(self.exact)
        with localcontext(work_context()):
            run_steps(rerun, slots)
        return slots[target]

    # -- formulas -----------------------------------------------------------------
    def _mark_formula(self, answer: Answer) -> Row:
        from ..errors import SymbackpropError

        q = self.quantities[answer.name]
        expected_expr = q.definition if q.definition is not None else self._leaf_constant(q)
        expected = _text(expected_expr)
        expected_latex = self.exercise.latex(expected_expr)
        row = Row(q.name, "formula", cell_text(answer.text), expected, "wrong", latex=q.latex,
                  expected_latex=expected_latex)

        def verdict(v: str, why: Said | str | None = None) -> Row:
            text, parts = self._said(why)
            return Row(row.name, row.form, row.given, row.expected, v, text, row.latex, row.expected_latex, parts)

        try:
            student = parse_formula(answer.text, self.symbols, self.exercise.functions)
        except (SymbackpropError, ValueError, RecursionError) as err:
            return verdict("invalid", _one_line(str(err)))
        circular = self._circular(q, student)
        if circular:
            return verdict("wrong", circular)
        agree = self._agree_numerically(student, expected_expr)
        if agree is None:
            return verdict("wrong", Said("cannot_evaluate"))
        here, everywhere = agree
        if everywhere:
            equal = self._within_budget(self._equal_symbolically, student, expected_expr)
            if equal is True:
                return verdict("correct")
            note = {None: Said("too_large_to_compare"), OUT_OF_TIME: Said("out_of_time")}.get(equal)
            return verdict("correct", Said("checked_numerically", points=len(self.points) - 1, note=note))
        if here:  # a slip that gives the right value here: named when it can be, like any other
            lost = self._within_budget(self._numbers_for_symbols, student, expected_expr)
            lost = [] if lost == OUT_OF_TIME else lost
            why = None if lost else self._diagnosis(q, student, expected_expr)
            if isinstance(why, Said) and why.key not in ("too_large_to_diagnose", "out_of_time"):
                return verdict("wrong", Said("not_general_because", why=why))
            return verdict("wrong", Said("not_general", lost=lost))
        return verdict("wrong", self._diagnosis(q, student, expected_expr))

    def _diagnosis(self, q: Quantity, student: Expr, expected: Expr) -> Said | str:
        """Why a formula differs from the expected one: a slip of the kind's written as such, else the term,
        constant or factor it differs by ("" when nothing is worth saying)."""
        slip = self._within_budget(self._slip_written, q, student)
        if slip is not None and slip != OUT_OF_TIME:
            return slip
        why = self._within_budget(self._formula_difference, q, student, expected)
        if why is None or why == OUT_OF_TIME:
            return Said("too_large_to_diagnose" if why is None else "out_of_time")
        return why

    def _slip_written(self, q: Quantity, student: Expr) -> Said | None:
        """The diagnosis of a slip whose formula the student wrote, as the kind knows them (None: none)."""
        return None

    def _written_as(self, q: Quantity, student: Expr, slips: Slips) -> Said | None:
        """The first of ``slips`` whose replaced definition of ``q`` is the student's formula (symbolically)."""
        if not _small(student, DIAGNOSIS_SIZE_LIMIT):
            return None
        for why, overrides in slips:
            wrong = overrides.get(q.name)
            if wrong is not None and sympy.expand(student - wrong) == 0:
                return why
        return None

    def _within_budget(self, work: Any, *args: Any) -> Any:
        """``work(*args)``, or OUT_OF_TIME when it runs past this formula's (or the report's) time."""
        try:
            with self.allowance.spend():
                return work(*args)
        except OverBudget:
            return OUT_OF_TIME

    def _numbers_for_symbols(self, student: Expr, expected: Expr) -> list[str]:
        """The symbols a formula lost to this exercise's values (a number stands where t belongs)."""
        try:
            lost = self._inline(expected).free_symbols - self._inline(student).free_symbols
        except (RecursionError, ValueError, TypeError):
            return []
        names = sorted((str(s) for s in lost), key=lambda n: self.index[n])[:MAX_NAMED_SOURCES]
        return [self._name(n) for n in names]

    def _leaf_constant(self, q: Quantity) -> Expr:
        return sympy.Rational(self.exercise.leaves[q.name])

    def _circular(self, q: Quantity, student: Expr) -> Said | None:
        used = student.free_symbols
        if q.symbol in used:
            return Said("circular_self", name=self._name(q.name))
        later = self._descendants(q.symbol)
        bad = sorted((str(s) for s in used if s in later), key=lambda n: self.index[n])
        if bad:
            return Said("circular_later", later=self._name(bad[0]), name=self._name(q.name))
        return None

    def _descendants(self, symbol: Symbol) -> set[Symbol]:
        """Every quantity computed (directly or not) from ``symbol``."""
        found: set[Symbol] = set()
        stack = [symbol]
        while stack:
            for user in self._users.get(stack.pop(), ()):
                if user not in found:
                    found.add(user)
                    stack.append(user)
        return found

    @cached_property
    def _users(self) -> dict[Symbol, list[Symbol]]:
        """symbol -> the quantities whose definitions use it."""
        users: dict[Symbol, list[Symbol]] = {}
        for q in self.quantities.values():
            if q.definition is not None:
                for s in q.definition.free_symbols:
                    users.setdefault(s, []).append(q.symbol)
        return users

    @cached_property
    def points(self) -> list[list[Decimal]]:
        """The exercise's own values, then RANDOM_POINTS evaluations at random leaves (seeded); a draw where
        the exercise itself is undefined (a graph's log of a negative number) is drawn again, a few times."""
        rng = random.Random(20240517)
        leaves = self.exercise.leaves
        points = [self.exact]
        for _ in range(RANDOM_POINTS * DRAWS_PER_POINT):
            if len(points) > RANDOM_POINTS:
                break
            slots = list(self.exact)
            for name, value in self._random_leaves(rng, leaves).items():
                slots[self.index[name]] = to_decimal(value)
            try:
                with localcontext(work_context()):
                    run_steps(self.steps, slots)
            except (DecimalException, ZeroDivisionError, ValueError):
                continue
            points.append(slots)
        return points

    def _random_leaves(self, rng: random.Random, leaves: Mapping[str, Any]) -> dict[str, sympy.Rational]:
        """The leaves' values at one random point (a leaf left out keeps its own)."""
        return {}

    def _agree_numerically(self, student: Expr, expected: Expr) -> tuple[bool, bool] | None:
        """(agrees at the exercise's values, agrees at every point); None if it cannot be evaluated there."""
        constants = {c: _rational_constant(c) for c in student.atoms(sympy.NumberSymbol)}
        student = student.xreplace(constants) if constants else student
        try:
            s_program, e_program = self.compiler(student), self.compiler(expected)
        except (TypeError, KeyError, ValueError):
            return None
        results = []
        with localcontext(work_context()):
            for slots in self.points:
                try:
                    s, e = s_program(slots), e_program(slots)
                except (DecimalException, ZeroDivisionError, OverflowError, ValueError):
                    if slots is self.exact:
                        return None
                    results.append(False)
                    continue
                results.append(abs(s - e) <= AGREEMENT * max(Decimal(1), abs(e)))
        return results[0], all(results)

    def _equal_symbolically(self, student: Expr, expected: Expr) -> bool | None:
        """SymPy shows student - expected == 0: as written, then inlined into the leaves, then (for a
        student who wrote exp) with sigma rewritten as 1/(1 + exp(-z)); None when the inlined
        difference is too large to expand (SYMBOLIC_SIZE_LIMIT)."""
        student, expected = _plain_exp(student), _plain_exp(expected)
        try:
            if _small(student - expected) and _is_zero(student - expected):
                return True
            forward = self._forward_form(student) - self._forward_form(expected)
            if _small(forward) and _is_zero(forward):  # (yhat - t) for bce's dE/dyhat yhat (1 - yhat)
                return True
            inlined = self._inline(student) - self._inline(expected)
            if not _small(inlined):
                return None
            difference = sympy.expand(inlined)
            if difference == 0:
                return True
            if student.has(sympy.exp) and _small(difference):
                return bool(sympy.cancel(sympy.expand(difference.rewrite(sympy.exp))) == 0)
        except (RecursionError, ValueError, TypeError, sympy.PolynomialError):
            return False
        return False

    def _inline(self, expr: Expr) -> Expr:
        """``expr`` with every computed quantity replaced by its definition, down to the leaves."""
        need = [s for s in expr.free_symbols if self.by_symbol[s].definition is not None]
        return expr.xreplace({s: self._inline_symbol(s) for s in need})

    def _inline_symbol(self, symbol: Symbol) -> Expr:
        return self._rewritten(symbol, self.inlined, self._inline)

    def _rewritten(self, symbol: Symbol, cache: dict[Symbol, Expr], rewrite: Callable[[Expr], Expr]) -> Expr:
        """``rewrite`` of ``symbol``'s definition, computed once per symbol (``cache``)."""
        done = cache.get(symbol)
        if done is None:
            definition = self.by_symbol[symbol].definition
            assert definition is not None
            done = cache[symbol] = rewrite(definition)
        return done

    @cached_property
    def _folds(self) -> dict[Expr, Symbol]:
        """Forward definitions in SymPy's canonical form -> their symbol (sigma(z_h1) -> h1)."""
        forward = self.exercise.forward_kinds
        return {q.definition.doit(): q.symbol for q in self.quantities.values()
                if q.kind in forward and q.definition is not None}

    def _fold(self, expr: Expr) -> Expr:
        """Forward sub-expressions replaced by their names, innermost first (w1*x1 + w2*x2 + b1 -> z_h1)."""
        for _ in range(self.exercise.fold_rounds):
            folded = expr.xreplace(self._folds)
            if folded == expr:
                break
            expr = folded
        return expr

    def _forward_form(self, expr: Expr) -> Expr:
        """The formula over forward quantities: sums and activations folded into their names, every
        backward quantity (dE/d..., updated parameters) inlined; no activation is re-evaluated."""
        expr = self._fold(expr)
        backward = [s for s in expr.free_symbols if self.by_symbol[s].kind in self.exercise.backward_kinds]
        return expr.xreplace({s: self._backward_symbol(s) for s in backward})

    def _backward_symbol(self, symbol: Symbol) -> Expr:
        return self._rewritten(symbol, self.backward_inlined, self._forward_form)

    def _formula_difference(self, q: Quantity, student: Expr, expected: Expr) -> Said | str | None:
        """Name the term, constant or factor by which a wrong formula differs, when it is a simple one, as
        written and then over the forward quantities: terms first (a bias left out), then a constant ratio
        (the 1/2 of E), then factors; "" rather than a factor that is a whole side or ``q``'s own name
        (E, yhat1); None when the formulas are too large to try (DIAGNOSIS_* limits)."""
        try:
            forward = self._forward_form(student), self._forward_form(expected)
            if forward[1] == 0:
                return ""
            forms = [f for f in dict.fromkeys(((student, expected), forward))
                     if f[1] != 0 and _diagnosable(f[0]) and _diagnosable(f[1])]
            if not forms:
                return None
            for s, e in forms:
                terms = self._terms_differ(s, e)
                if terms is not None:
                    return terms
            for s, e in forms:
                ratio = sympy.cancel(s / e)
                if ratio.is_Number:
                    return self._constant_ratio(ratio, s, e)
            s, e = forms[-1]
            ratio = sympy.factor(sympy.cancel(s / e))
            numerator, denominator = ratio.as_numer_denom()
            sign_n, extra = _factors(numerator)
            sign_d, missing = _factors(denominator)
            if extra is not None and missing is not None:
                if self._swapped_factor(extra, missing):
                    return self._factor_message(extra, missing, sign_n * sign_d)
                if 0 < len(extra) + len(missing) <= 3:
                    restates = self._restates(q, e, extra, missing)
                    return "" if restates else self._factor_message(extra, missing, sign_n * sign_d)
            difference = sympy.expand(s - e)
            if isinstance(difference, sympy.Mul | Symbol):
                return Said("extra_term", term=self._formula(difference))
            if isinstance(-difference, sympy.Mul | Symbol):
                return Said("missing_term", term=self._formula(-difference))
        except (RecursionError, ValueError, TypeError, sympy.PolynomialError):
            return ""
        return ""

    def _terms_differ(self, s: Expr, e: Expr) -> Said | None:
        """Some of the expected sum's terms left out (none added), or some terms added (none left out)."""
        s_terms, e_terms = sympy.Add.make_args(s), sympy.Add.make_args(e)
        missing = [t for t in e_terms if t not in s_terms]
        extra = [t for t in s_terms if t not in e_terms]
        if missing and not extra and len(missing) < len(e_terms) and len(missing) <= MAX_NAMED_TERMS:
            return Said("missing_terms", terms=[self._formula(t) for t in missing])
        if extra and not missing and len(extra) < len(s_terms) and len(extra) <= MAX_NAMED_TERMS:
            return Said("extra_terms", terms=[self._formula(t) for t in extra])
        if (0 < len(missing) < len(e_terms) and len(missing) <= MAX_NAMED_TERMS
                and sorted(map(str, extra)) == sorted(str(-t) for t in missing)):
            return Said("terms_sign_flipped", terms=[self._formula(t) for t in missing])
        return None

    def _constant_ratio(self, ratio: Expr, s: Expr, e: Expr) -> Said:
        """given = ratio x expected: the sign; the expected's constant left out (the 1/2 of E) or one of the
        given's own added (2*dE/dz_o); else the ratio."""
        if ratio == -1:
            return Said("differs_by_sign")
        given, wanted = (abs(sympy.factor_terms(x).as_coeff_Mul()[0]) for x in (s, e))  # 2*yhat - 2*t: 2
        sign_differs = bool(ratio < 0)
        if given == 1 and wanted != 1 and abs(ratio) == 1 / wanted:
            return Said("constant_factor", factor=self._formula(wanted), missing=True, sign_differs=sign_differs)
        if wanted == 1 and given != 1 and abs(ratio) == given:
            return Said("constant_factor", factor=self._formula(given), missing=False, sign_differs=sign_differs)
        return Said("differs_by_factor", factor=self._formula(ratio))

    def _restates(self, q: Quantity, expected: Expr, extra: list[Expr], missing: list[Expr]) -> bool:
        """Whether naming these factors would only restate a side: ``q``'s own name, or nothing in common."""
        if q.symbol in extra or q.symbol in missing:
            return True
        return bool(sympy.cancel(expected / sympy.Mul(*missing)).is_Number)

    def _factor_message(self, extra: list[Expr], missing: list[Expr], sign: int) -> Said:
        """"missing factor h1*(1 - h1)", or sigma'(a) named when it stands where a(1 - a) belongs."""
        swapped = self._swapped_factor(extra, missing)
        missing_f, extra_f = ("", "") if swapped else (self._product(missing), self._product(extra))
        return Said("factors", swapped=swapped, missing=missing_f, extra=extra_f, sign_differs=sign < 0)

    def _product(self, factors: list[Expr]) -> str:
        return self._formula(sympy.Mul(*factors, evaluate=False)) if factors else ""

    def _swapped_factor(self, extra: list[Expr], missing: list[Expr]) -> Said | None:
        """A diagnosis when the ``extra`` factors are a known stand-in for the ``missing`` ones (None else)."""
        return None

    def _not_a_number(self, answer: Answer, problem: NumberProblem) -> Row:
        """An answer that is not a number, said in the report's words; the numbers it suggests as typed (typewriter
        in the tex report)."""
        params: dict[str, Any] = dict(problem.params)
        if problem.key == "formula" and not self._reads_as_formula(answer.text):
            problem = NumberProblem("not_a_number", shown=params["shown"])  # "abc": no formula of this exercise
        if problem.key == "not_a_number":
            params["examples"] = [self._marked(e, r"\texttt{" + e.replace("^", r"\textasciicircum{}") + "}")
                                  for e in NUMBER_EXAMPLES]
        text, parts = self._said(Said(f"number_{problem.key}", **params))
        return Row(answer.name, "value", cell_text(answer.text), "", "invalid", text, why_parts=parts)

    def _reads_as_formula(self, text: str) -> bool:
        """Whether ``text`` is a formula over this exercise's names and functions (``sigma(z_o)``, ``z_h1``), which
        the "a formula; a number is asked here" of a value answer may say; ``abc`` is not."""
        from ..errors import SymbackpropError

        try:
            parse_formula(text, self.symbols, self.exercise.functions)
        except (SymbackpropError, ValueError, RecursionError):
            return False
        return True

    # -- helpers ------------------------------------------------------------------
    def _formula(self, expr: Expr) -> str:
        """A formula inside a diagnosis: its ASCII text between markers, its LaTeX remembered for ``_said``."""
        return self._marked(_text(expr), self.exercise.latex(expr))

    def _name(self, name: str) -> str:
        """A quantity's name inside a diagnosis, printed as its symbol in the tex report."""
        return self._marked(name, self.quantities[name].latex)

    def _marked(self, text: str, latex: str) -> str:
        self.formula_latex[text] = latex
        return f"{_OPEN}{text}{_CLOSE}"

    def _said(self, why: Said | str | None) -> tuple[str, tuple[tuple[str, str], ...]]:
        """A diagnosis in words, as plain text (the markers dropped) and in pieces, each formula with its LaTeX."""
        pieces = re.split(f"[{_OPEN}{_CLOSE}]", self.words.say(why))
        parts = tuple((piece, self.formula_latex.get(piece, "") if i % 2 else "")
                      for i, piece in enumerate(pieces) if piece)
        return "".join(pieces), parts if any(latex for _, latex in parts) else ()

    def _with_quantity(self, row: Row) -> Row:
        q = self.quantities[row.name]
        i = self.index[row.name]
        return Row(row.name, row.form, row.given, display(self.exact[i], self.decimals), row.verdict, row.why,
                   q.latex, why_parts=row.why_parts)


def _parse_value(answer: Answer) -> _Given | Row | NumberProblem:
    from ..errors import SymbackpropError

    try:
        parsed = parse_number(answer.text)
    except NumberProblem as err:  # the marker says it in the report's words
        return err
    except (SymbackpropError, ValueError) as err:
        return Row(answer.name, "value", cell_text(answer.text), "", "invalid", _one_line(str(err)))
    value = Fraction(int(parsed.value.p), int(parsed.value.q))
    return _Given(answer, value, _decimals_written(value, parsed.decimals, parsed.significant, parsed.places))


def _decimals_written(value: Fraction, decimals: int | None, significant: int, places: int) -> int:
    """Decimals as written; in scientific notation, the place of the last significant digit
    (2.26e-4 -> 6, 1.5e3 -> -2), of the last digit written for a zero (0e-3 -> 3, 0.0e0 -> 1)."""
    if decimals is not None:
        return decimals
    if value == 0:
        return max(places, 0)
    with localcontext(work_context()):
        adjusted = to_decimal(abs(value)).adjusted()
    return significant - 1 - adjusted


def _rational_constant(constant: Expr) -> sympy.Rational:
    """pi or e as an exact rational with WORK_DIGITS + 10 correct digits (from its decimal text)."""
    return sympy.Rational(str(sympy.N(constant, WORK_DIGITS + 10)))


def _small(expr: Expr, limit: int = SYMBOLIC_SIZE_LIMIT) -> bool:
    """Whether expanding ``expr`` stays within ``limit`` terms (a quick upper bound)."""
    return _terms(expr) <= limit


def _diagnosable(expr: Expr) -> bool:
    """Whether factoring ``expr`` is cheap enough: few terms, symbols and a low degree."""
    return (_small(expr, DIAGNOSIS_SIZE_LIMIT) and len(expr.free_symbols) <= DIAGNOSIS_SYMBOLS
            and _degree(expr) <= DIAGNOSIS_DEGREE)


def _degree(expr: Expr) -> int:
    """An upper bound on the total degree of ``expr`` expanded (a function call counts as one
    variable), capped just above the limit."""
    cap = DIAGNOSIS_DEGREE + 1
    if isinstance(expr, sympy.Add):
        return max((_degree(a) for a in expr.args), default=0)
    if isinstance(expr, sympy.Mul):
        return min(cap, sum(_degree(a) for a in expr.args))
    if isinstance(expr, sympy.Pow):
        n = expr.exp
        if n.is_Integer:
            return min(cap, _degree(expr.base) * abs(int(n)))
        return cap
    if expr.is_Number:
        return 0
    return 1


def _terms(expr: Expr) -> int:
    """An upper bound on the terms of ``expand(expr)``, capped just above the limit."""
    cap = SYMBOLIC_SIZE_LIMIT + 1
    if isinstance(expr, sympy.Add):
        return min(cap, sum(_terms(a) for a in expr.args))
    if isinstance(expr, sympy.Mul):
        total = 1
        for a in expr.args:
            total = min(cap, total * _terms(a))
        return total
    if isinstance(expr, sympy.Pow):
        base = _terms(expr.base)
        n = expr.exp
        if n.is_Integer and base > 1:  # negative powers: expand() expands the denominator too
            k = abs(int(n))
            return cap if k >= 64 else min(cap, math.comb(base + k - 1, k))
        return base
    if expr.args:  # a function: its argument is expanded too
        return max((_terms(a) for a in expr.args), default=1)
    return 1


def _matches(candidate: Decimal, given: Fraction, decimals: int) -> bool:
    """``candidate`` rounded half-up to ``decimals`` places equals the given value."""
    if abs(given) > 10**30 or abs(candidate) > 10**30:
        return False
    try:
        return Fraction(round_half_up(candidate, decimals)) == given
    except DecimalException:
        return False


def _is_zero(difference: Expr) -> bool:
    """A small difference is 0 by expanding it, or, a rational function, by cancelling it (``(y - t)/(y(1 - y))
    * y(1 - y) - (y - t)``, which expanding leaves as it is)."""
    return bool(sympy.expand(difference) == 0 or sympy.cancel(difference) == 0)


def _round(value: Decimal, decimals: int) -> Decimal:
    if not value.is_finite() or abs(value) > 10**30:
        return value
    return round_half_up(value, decimals)


def _decimal(value: Fraction) -> Decimal:
    with localcontext(work_context()):
        return to_decimal(value)


def _factors(expr: Expr) -> tuple[int, list[Expr] | None]:
    """(sign, factors) of a product, each factor written the way a lecture does (1 - h1, not h1 - 1);
    factors None when one has more than three terms."""
    coeff, factors = sympy.factor_list(expr)
    sign = -1 if coeff < 0 else 1
    out: list[Expr] = []
    for f, power in factors:
        if len(sympy.Add.make_args(f)) > 3:
            return sign, None
        if _reads_better_negated(f):
            f = -f
            sign *= (-1) ** int(power)
        out.extend([f] * int(power))
    out.sort(key=lambda f: (len(sympy.Add.make_args(f)), str(f)))  # h1*(1 - h1), not (1 - h1)*h1
    if abs(coeff) != 1:
        out.insert(0, abs(coeff))
    return sign, out


def _reads_better_negated(f: Expr) -> bool:
    """h1 - 1 -> 1 - h1 (a negative constant term), t - yhat stays, -x -> x."""
    terms = sympy.Add.make_args(f)
    constants = [t for t in terms if t.is_Number]
    if constants:
        return bool(constants[0] < 0)
    return sum(1 for t in terms if t.could_extract_minus_sign()) > len(terms) / 2


#: around a formula inside a diagnosis until ``_Marker._said`` splits it off (never in a student's text:
#: a row's text is split only where the marker put them)
_OPEN, _CLOSE = "\x02", "\x03"


def _text(expr: Expr) -> str:
    """ASCII text of an expression as a student would type it, products flattened: dE/dyhat*yhat*(1 - yhat)."""
    text = sympy.sstr(_flatten(expr), order="none").replace("Max(", "max(")  # a graph's max gate, as typed
    return text.replace("expo(", "exp(") if _EXPO is not None else text


def _plain_exp(expr: Expr) -> Expr:
    """The engine's unevaluated softmax exponential (``expo``) as SymPy's ``exp``, which students write."""
    if _EXPO is None or not expr.has(_EXPO):
        return expr
    return expr.replace(_EXPO, sympy.exp)


def _flatten(expr: Expr) -> Expr:
    if not expr.args:
        return expr
    args = [_flatten(a) for a in expr.args]
    if isinstance(expr, sympy.Mul):
        flat: list[Expr] = []
        for a in args:
            flat.extend(a.args if isinstance(a, sympy.Mul) else [a])
        return sympy.Mul(*flat, evaluate=False)
    return expr.func(*args, evaluate=False) if isinstance(expr, sympy.Add) else expr


def cell_text(text: str, limit: int = 80) -> str:
    """``text`` on one line, at most ``limit`` characters: a cell of the report."""
    text = " ".join(text.split()) if len(text) < 10_000 else text[:200]
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _one_line(text: str, limit: int = 160) -> str:
    return cell_text(text, limit)


__all__ = ["Exercise", "Marker", "Report", "Row", "Slips", "VERDICTS", "WORK_DIGITS", "allowance", "cell_text",
           "mark_exercise"]
