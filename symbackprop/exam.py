"""``symbackprop exam``: fair randomized variants of one exercise, with keys, answers and LMS exports.

The spec's optional ``[exam]`` table says what varies (every value is drawn on
an integer grid, so it is an exact rational: no float anywhere)::

    [exam]
    weights = "[-1, 1] step 0.05"    # each weight: lo + k*step, k uniform
    biases  = "[-1, 1] step 0.05"
    inputs  = "[0, 1] step 0.05"
    targets = "fixed"                # keep the spec's values
    ask = ["forward", "loss", "deltas", "gradients", "update"]
    allow_saturation = false         # reject a unit with f'(z) < saturation_threshold
    saturation_threshold = 0.02
    allow_loss_increase = false      # reject a variant whose update does not lower the loss
    allow_unchanged_loss = false     # reject one whose loss, lowered, displays as before
    tie_margin = 0.02                # in units of the last displayed decimal (see below)
    max_draws = 2000                 # per variant, before giving up

    [exam.vary]                      # per-name overrides of the group ranges
    w5 = "[0.1, 0.9] step 0.1"
    x2 = "fixed"

A drawn variant is *rejected* (and drawn again) when marking it would be
unfair or the exercise trivial:

* **tie**: an asked value lies within ``tie_margin`` units of the last
  displayed decimal of a rounding tie (at 3 decimals with the default 0.02:
  within 0.00002 of ``x.xxx5``; exact ties like the lecture's z = 0.3775 are
  the common case), so a student whose arithmetic differs a little could
  round the other way;
* **early rounding**: the lecture's way of working (every intermediate rounded
  to the displayed decimals, then carried on) displays an asked value
  differently from the exact value, so a careful student would be marked wrong;
* **zero gradients**: every asked gradient of one layer displays as zero;
* **saturation**: some unit's activation slope f'(z) is below the threshold
  (a dead ReLU has slope 0), unless allowed;
* **loss increase**: the loss after the update is not lower, unless allowed;
* **loss unchanged**: the loss after the update is lower but displays the
  same as before at the spec's decimals (0.0316 and 0.0315 both show 0.032),
  so the sheet cannot show the step worked; unless ``allow_unchanged_loss``
  (or ``allow_loss_increase``, which accepts any loss after the step);
* **duplicate**: the same values as an earlier variant.

The set is written into a hidden temporary folder inside the (locked) target
and moved into place at the end, so an error never leaves a half-written set;
an earlier set is recognised by its marker and never loses a file (see examdir).
"""

from __future__ import annotations

import csv
import dataclasses
import io
import os
import random
import re
import sys
import tomllib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Context, Decimal, DecimalException, localcontext
from pathlib import Path
from typing import Any

import sympy

from .context import handout_context
from .errors import OutputError, SymbackpropError
from .examdir import Target, commit, locked_target, staging
from .files import MAX_INPUT_BYTES, read_capped, write_new
from .network import Network
from .numbers import display, parse_decimal_text, round_half_up, to_decimal
from .numeric import Compiler, compile_network, leaf_values
from .render import Tex, header_comment, render_tex, tex_escape
from .solution import Solution, solve
from .spec import Example, Spec, lecture_text, load_spec
from .usertext import csv_text, text_problem

__all__ = ["ASK_GROUPS", "ExamError", "ExamSet", "ExamSettings", "Grid", "PdfJob", "Student", "Variant",
           "asked_names", "pdf_jobs", "build_exam", "exam_settings", "load_roster", "parse_ask", "write_exam"]


class ExamError(SymbackpropError):
    """Bad exam settings, a bad roster, or constraints no draw can meet (one line, exit 2)."""


#: --ask groups -> the kinds of quantity they ask for, in the lecture's order
ASK_GROUPS: dict[str, tuple[str, ...]] = {
    "forward": ("pre", "act"),
    "loss": ("loss", "post_loss"),
    "deltas": ("d_pre",),
    "gradients": ("grad",),
    "update": ("updated",),
}
ASK_TITLES = {"forward": "Forward pass", "loss": "Loss (before and after the update)",
              "deltas": "Deltas (error signals)", "gradients": "Gradients", "update": "Updated parameters"}
#: group defaults of the variation ranges
DEFAULT_RANGES = {"weights": "[-1, 1] step 0.05", "biases": "[-1, 1] step 0.05",
                  "inputs": "[0, 1] step 0.05", "targets": "fixed"}
GROUP_OF_KIND = {"weight": "weights", "bias": "biases", "input": "inputs", "target": "targets"}
REASONS = ("tie", "early rounding", "zero gradients", "saturation", "loss increase", "loss unchanged", "duplicate",
           "undefined")
MAX_VARIANTS = 10_000
#: significant digits of the fairness checks (the chosen variant is then solved at 80)
JUDGE_DIGITS = 34

_NUMBER = r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)"
_GRID = re.compile(rf"\s*\[\s*({_NUMBER})\s*,\s*({_NUMBER})\s*\]\s*step\s+({_NUMBER})\s*")


# -- settings ----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Grid:
    """``[low, high] step s``: the values low + k*s, k = 0..count-1 (exact rationals)."""

    low: sympy.Rational
    high: sympy.Rational
    step: sympy.Rational

    @property
    def count(self) -> int:
        return int((self.high - self.low) / self.step) + 1

    def value(self, k: int) -> sympy.Rational:
        return sympy.Rational(self.low + k * self.step)


def parse_grid(text: Any, field: str) -> Grid | None:
    """``"[-1, 1] step 0.05"`` -> Grid; ``"fixed"`` -> None."""
    if not isinstance(text, str):
        raise ExamError(f"{field}: must be a string like \"[-1, 1] step 0.05\" or \"fixed\", got {text!r}")
    if text.strip() == "fixed":
        return None
    match = _GRID.fullmatch(text)
    if not match:
        raise ExamError(f"{field}: {text[:40]!r} is not a range (write \"[-1, 1] step 0.05\" or \"fixed\")")
    low, high, step = (parse_decimal_text(g) for g in match.groups())
    if step <= 0:
        raise ExamError(f"{field}: the step must be positive, got {match.group(3)}")
    if low > high:
        raise ExamError(f"{field}: the range is empty ({match.group(1)} > {match.group(2)})")
    if ((high - low) / step).q != 1:
        raise ExamError(f"{field}: the step {match.group(3)} does not divide [{match.group(1)}, {match.group(2)}]")
    if (high - low) / step > 10**9:
        raise ExamError(f"{field}: more than a billion grid values; use a coarser step")
    return Grid(low, high, step)


@dataclass(frozen=True)
class ExamSettings:
    #: group ranges (weights, biases, inputs, targets) and per-name overrides; None = fixed
    groups: dict[str, Grid | None]
    overrides: dict[str, Grid | None]
    ask: tuple[str, ...] = tuple(ASK_GROUPS)
    allow_saturation: bool = False
    saturation_threshold: sympy.Rational = sympy.Rational(1, 50)
    allow_loss_increase: bool = False
    allow_unchanged_loss: bool = False
    tie_margin: sympy.Rational = sympy.Rational(1, 50)
    early_rounding: bool = True
    max_draws: int = 2000


_SETTING_FIELDS = ("weights", "biases", "inputs", "targets", "ask", "allow_saturation", "saturation_threshold",
                   "allow_loss_increase", "allow_unchanged_loss", "tie_margin", "early_rounding", "max_draws", "vary")


def exam_settings(spec_path: str | Path | None, text: str | None = None) -> ExamSettings:
    """The ``[exam]`` table of the spec file, or of its ``text`` when read already (defaults when there
    is none)."""
    if spec_path is None:
        text, source = lecture_text(), "built-in lecture network"
    elif text is None:
        try:
            text, source = read_capped(spec_path).decode("utf-8"), str(spec_path)
        except (OSError, UnicodeDecodeError):
            text, source = "", str(spec_path)  # load_spec reports the file problem
    else:
        source = str(spec_path)
    try:
        data = tomllib.loads(text, parse_float=str)
    except tomllib.TOMLDecodeError:
        data = {}
    table = data.get("exam", {})
    return settings_from_table(table, source)


def settings_from_table(table: dict[str, Any], source: str = "<spec>") -> ExamSettings:
    def fail(field: str, problem: str) -> ExamError:
        return ExamError(f"{source}: exam.{field}: {problem}")

    if not isinstance(table, dict):
        raise ExamError(f"{source}: exam: must be a table")
    for key in table:
        if key not in _SETTING_FIELDS:
            raise fail(key, f"unknown field (expected one of: {', '.join(_SETTING_FIELDS)})")
    groups = {}
    for group, default in DEFAULT_RANGES.items():
        try:
            groups[group] = parse_grid(table.get(group, default), group)
        except ExamError as err:
            raise ExamError(f"{source}: exam.{err}") from None
    vary = table.get("vary", {})
    if not isinstance(vary, dict):
        raise fail("vary", "must be a table of name = \"[lo, hi] step s\" (or \"fixed\")")
    overrides = {}
    for name, text in vary.items():
        try:
            overrides[name] = parse_grid(text, f"vary.{name}")
        except ExamError as err:
            raise ExamError(f"{source}: exam.{err}") from None

    def flag(key: str, default: bool) -> bool:
        value = table.get(key, default)
        if not isinstance(value, bool):
            raise fail(key, f"must be true or false, got {value!r}")
        return value

    def rational(key: str, default: sympy.Rational, low: int, high: int) -> sympy.Rational:
        value = table.get(key)
        if value is None:
            return default
        try:
            number = parse_decimal_text(str(value)) if not isinstance(value, bool) else None
        except ValueError:
            number = None
        if number is None or not low <= number <= high:
            raise fail(key, f"must be a number in [{low}, {high}], got {value!r}")
        return number

    ask = table.get("ask", list(ASK_GROUPS))
    if not isinstance(ask, list) or not all(isinstance(a, str) for a in ask):
        raise fail("ask", "must be a list of strings like [\"forward\", \"gradients\"]")
    try:
        asked = parse_ask(ask)
    except ExamError as err:
        raise ExamError(f"{source}: exam.ask: {err}") from None
    max_draws = table.get("max_draws", 2000)
    if isinstance(max_draws, bool) or not isinstance(max_draws, int) or not 1 <= max_draws <= 1_000_000:
        raise fail("max_draws", f"must be a whole number from 1 to 1000000, got {max_draws!r}")
    margin = rational("tie_margin", sympy.Rational(1, 50), 0, 1)
    if margin >= sympy.Rational(1, 2):
        raise fail("tie_margin", f"must be below 0.5 (half a unit would reject every value), got {margin}")
    return ExamSettings(
        groups=groups, overrides=overrides, ask=asked,
        allow_saturation=flag("allow_saturation", False),
        saturation_threshold=rational("saturation_threshold", sympy.Rational(1, 50), 0, 1),
        allow_loss_increase=flag("allow_loss_increase", False),
        allow_unchanged_loss=flag("allow_unchanged_loss", False),
        tie_margin=margin, early_rounding=flag("early_rounding", True), max_draws=max_draws,
    )


def parse_ask(items: str | Sequence[str] | None) -> tuple[str, ...]:
    """``"forward,gradients"`` -> the groups in the lecture's order; None = all."""
    if items is None:
        return tuple(ASK_GROUPS)
    parts = items.split(",") if isinstance(items, str) else list(items)
    names = [p.strip() for p in parts if p.strip()]
    if not names:
        raise ExamError(f"--ask: name at least one of {','.join(ASK_GROUPS)}")
    for name in names:
        if name not in ASK_GROUPS:
            raise ExamError(f"--ask: unknown group {name!r} (expected some of: {','.join(ASK_GROUPS)})")
    return tuple(g for g in ASK_GROUPS if g in names)


def asked_names(network: Network, ask: Sequence[str]) -> list[tuple[str, list[str]]]:
    """[(group, [quantity names])] in the lecture's order; frozen parameters' updates are not asked."""
    out = []
    frozen = network.spec.frozen
    for group in ask:
        kinds = ASK_GROUPS[group]
        names = [q.name for q in network.quantities.values() if q.kind in kinds]
        if group == "update":
            names = [n for n in names if n.rstrip("'") not in frozen]
        if group == "gradients":
            names = [n for n in names if network.namer.grad_ascii(n) and not _frozen_grad(network, n)]
        if names:
            out.append((group, names))
    return out


def _frozen_grad(network: Network, grad_name: str) -> bool:
    return any(network.namer.grad_ascii(p) == grad_name for p in network.spec.frozen)


# -- drawing -----------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Student:
    id: str
    name: str


@dataclass(frozen=True)
class Variant:
    number: int  # 1-based
    label: str  # "007"
    seed: int
    solution: Solution
    student: Student | None
    draws: int  # draws it took (1 = the first was accepted)

    @property
    def stem(self) -> str:
        return f"v{self.label}"


class Drawer:
    """Draws leaf values on their grids and judges them with one compiled program (no re-derivation)."""

    def __init__(self, base: Solution, settings: ExamSettings):
        self.base = base
        self.settings = settings
        network = base.network
        self.network = network
        self.decimals = base.spec.decimals
        self.index, self.steps = compile_network(network)
        self.leaves = leaf_values(network)
        self.varying: list[tuple[str, Grid]] = []
        for name in settings.overrides:
            if name not in self.leaves:
                from .solution import did_you_mean

                raise ExamError(f"exam.vary.{name}: no such input, target or parameter"
                                f"{did_you_mean(name, list(self.leaves))}")
        for name in self.leaves:
            kind = network[name].kind
            if name in settings.overrides:
                grid = settings.overrides[name]
            elif kind in GROUP_OF_KIND:
                grid = settings.groups[GROUP_OF_KIND[kind]]
            else:
                grid = None  # the learning rate: fixed unless named in [exam.vary]
            if grid is not None:
                self._check_grid(name, kind, grid)
                self.varying.append((name, grid))
        self.asked = asked_names(network, settings.ask)
        if not self.asked:
            raise ExamError("exam: nothing to ask (this network has no quantities of the asked groups)")
        self.asked_flat = [n for _, names in self.asked for n in names]
        self.asked_slots = [self.index[n] for n in self.asked_flat]
        self.asked_slot_set = frozenset(self.asked_slots)
        slot_of = {q.symbol: self.index[q.name] for q in network.quantities.values()}
        compiler = Compiler(slot_of)
        self.slopes: list[Callable[[list[Decimal]], Decimal]] = []
        for layer in network.layers:
            fn = layer.elementwise
            if fn is None:
                continue
            for e in range(1, network.n_examples + 1):
                for j in range(1, layer.size + 1):
                    a, z = network.activation_symbol(layer.index, j, e), network.pre_symbol(layer.index, j, e)
                    self.slopes.append(compiler(fn.local_slope(a, z)))
        self.grad_layers: list[list[int]] = []
        asked_grads = {n for group, names in self.asked if group == "gradients" for n in names}
        for layer in network.layers:
            slots = [self.index[network.namer.grad_ascii(p.name)] for p in network.parameters
                     if p.layer == layer.index and network.namer.grad_ascii(p.name) in asked_grads]
            if slots:
                self.grad_layers.append(slots)
        self.loss_slots = (self.index[network.loss_name], self.index[network.loss_name + "'"])
        # drawing and judging thousands of times: grid values and their Decimals computed once
        self._grids: list[tuple[str, Grid, int, dict[int, sympy.Rational]]] = [
            (name, grid, grid.count, {}) for name, grid in self.varying]
        self._decimal_cache: dict[sympy.Rational, Decimal] = {}

    def _check_grid(self, name: str, kind: str, grid: Grid) -> None:
        loss = self.network.spec.loss
        if kind == "target" and loss == "cross_entropy":
            raise ExamError(f"exam: {name}: cross_entropy targets form a distribution; keep targets fixed")
        if kind == "target" and loss == "bce" and (grid.low < 0 or grid.high > 1):
            raise ExamError(f"exam: {name}: bce targets lie in [0, 1]; the range reaches outside")
        if name == "eta" and grid.low <= 0:
            raise ExamError("exam: eta: the learning rate must stay positive")

    @property
    def combinations(self) -> int:
        total = 1
        for _, grid in self.varying:
            total *= grid.count
            if total > 10**12:
                break
        return total

    def draw(self, rng: random.Random) -> dict[str, sympy.Rational]:
        values = dict(self.leaves)
        for name, grid, count, cache in self._grids:
            k = rng.randrange(count)
            value = cache.get(k)
            if value is None:
                value = cache[k] = grid.value(k)
            values[name] = value
        return values

    def _decimal(self, value: sympy.Rational) -> Decimal:
        exact = self._decimal_cache.get(value)
        if exact is None:
            exact = self._decimal_cache[value] = to_decimal(value)
        return exact

    def judge(self, values: dict[str, sympy.Rational]) -> str | None:
        """The first reason to reject these leaf values, or None when they make a fair variant.

        Judged at ``JUDGE_DIGITS`` (enough: a value that close to a tie is rejected anyway), checking
        each asked value for a tie as soon as it is computed, so most rejections cost a partial pass.
        """
        d = self.decimals
        slots = [Decimal(0)] * len(self.index)
        asked = self.asked_slot_set
        half = Decimal("0.5")
        margin = to_decimal(self.settings.tie_margin)
        with localcontext(Context(prec=JUDGE_DIGITS, Emax=999_999, Emin=-999_999)):
            for name, value in values.items():
                slots[self.index[name]] = +self._decimal(value)
            try:
                for step in self.steps:
                    value = slots[step.slot] = step.program(slots)
                    if step.slot in asked and abs(abs(value).scaleb(d) % 1 - half) < margin:
                        return "tie"
            except (DecimalException, ZeroDivisionError, ArithmeticError):
                return "undefined"
            if not self.settings.allow_saturation:
                threshold = to_decimal(self.settings.saturation_threshold)
                if any(abs(slope(slots)) < threshold for slope in self.slopes):
                    return "saturation"
            if not self.settings.allow_loss_increase:
                before, after = self.loss_slots
                if slots[after] >= slots[before]:
                    return "loss increase"
            for layer_slots in self.grad_layers:
                if all(round_half_up(slots[s], d).is_zero() for s in layer_slots):
                    return "zero gradients"
            if not (self.settings.allow_loss_increase or self.settings.allow_unchanged_loss):
                before, after = self.loss_slots
                if round_half_up(slots[after], d) == round_half_up(slots[before], d):
                    return "loss unchanged"  # lower, but the sheet cannot show it
            if self.settings.early_rounding:
                rounded = list(slots)
                try:
                    for step in self.steps:
                        rounded[step.slot] = round_half_up(step.program(rounded), d)
                except (DecimalException, ZeroDivisionError, ArithmeticError):
                    return "undefined"
                for s in self.asked_slots:
                    if rounded[s] != round_half_up(slots[s], d):
                        return "early rounding"
        return None

    def spec_for(self, values: dict[str, sympy.Rational]) -> Spec:
        """The base spec with these leaf values (parameters, examples, learning rate)."""
        spec = self.base.spec
        network = self.network
        examples = []
        for e, example in enumerate(spec.examples, start=1):
            inputs = tuple(values[network.unit_name("act", 0, k, e)] for k in range(1, len(example.inputs) + 1))
            targets = tuple(values[network.example_name(network.namer.target(j), e).ascii]
                            for j in range(1, len(example.targets) + 1))
            examples.append(Example(inputs, targets))
        parameters = {name: values[name] for name in spec.parameters}
        return dataclasses.replace(spec, parameters=parameters, examples=tuple(examples),
                                   learning_rate=values["eta"])


def _rng(seed: int, number: int) -> random.Random:
    # a str seed is hashed with SHA-512: the same stream on every platform and Python run
    return random.Random(f"symbackprop-exam/{seed}/{number}")


def draw_variants(base: Solution, settings: ExamSettings, count: int, seed: int,
                  students: Sequence[Student] | None = None,
                  progress: Callable[[int, int], None] | None = None) -> tuple[list[Variant], Counter[str]]:
    """``count`` fair, distinct variants; the rejected draws counted by reason."""
    drawer = Drawer(base, settings)
    if drawer.combinations < count:
        what = "nothing varies" if not drawer.varying else f"the ranges allow only {drawer.combinations}"
        raise ExamError(f"exam: {count} distinct variants asked for but {what}; widen the ranges in [exam]")
    width = max(3, len(str(count)))
    rejected: Counter[str] = Counter()
    seen: set[tuple[sympy.Rational, ...]] = set()
    variants = []
    for number in range(1, count + 1):
        rng = _rng(seed, number)
        attempt = 0
        while attempt < settings.max_draws:
            attempt += 1
            values = drawer.draw(rng)
            key = tuple(values[name] for name, _ in drawer.varying)
            reason = "duplicate" if key in seen else drawer.judge(values)
            if reason is None:
                break
            rejected[reason] += 1
        else:
            raise ExamError(
                f"exam: variant {number}: no fair variant in {settings.max_draws} draws (rejected: "
                f"{_reasons_text(rejected)}); widen the ranges, ask fewer groups, or allow saturation/"
                "loss increase in [exam]")
        seen.add(key)
        solution = solve(drawer.spec_for(values))
        student = students[number - 1] if students else None
        variants.append(Variant(number, f"{number:0{width}d}", seed, solution, student, attempt))
        if progress:
            progress(number, count)
    return variants, rejected


def _reasons_text(rejected: Counter[str]) -> str:
    parts = [f"{rejected[r]} {r}" for r in REASONS if rejected[r]]
    return ", ".join(parts) if parts else "none"


# -- roster ------------------------------------------------------------------------------------------

MAX_ROSTER_BYTES = MAX_INPUT_BYTES
_NAME_COLUMNS = ("name", "student", "student name", "full name")
_ID_COLUMNS = ("id", "student id", "student_id", "sid", "email", "login")


def load_roster(path: str | Path) -> list[Student]:
    """A CSV with a header row naming a ``name`` column and optionally an ``id`` column."""
    path = Path(path)
    try:
        raw = read_capped(path, MAX_ROSTER_BYTES)
    except OSError as err:
        raise ExamError(f"--roster {path}: cannot read ({err.strerror or err})") from None
    return loads_roster(raw, str(path))


def loads_roster(raw: bytes, source: str = "<roster>") -> list[Student]:
    where = f"--roster {source}"
    if len(raw) > MAX_ROSTER_BYTES:
        raise ExamError(f"{where}: too large (a roster may have at most {MAX_ROSTER_BYTES:,} bytes)")
    if b"\x00" in raw:
        raise ExamError(f"{where}: a binary file, not a CSV roster")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ExamError(f"{where}: not UTF-8 text; save the roster as CSV (UTF-8)") from None
    try:
        rows = [row for row in csv.reader(io.StringIO(text)) if any(cell.strip() for cell in row)]
    except csv.Error as err:
        raise ExamError(f"{where}: not valid CSV: {err}") from None
    if not rows:
        raise ExamError(f"{where}: empty roster")
    header = [cell.strip().lower() for cell in rows[0]]
    name_col = next((i for i, h in enumerate(header) if h in _NAME_COLUMNS), None)
    if name_col is None:
        raise ExamError(f"{where}: the first row must be a header with a name column (e.g. \"id,name\")")
    id_col = next((i for i, h in enumerate(header) if h in _ID_COLUMNS), None)
    students: list[Student] = []
    first_row: dict[str, int] = {}
    for line, row in enumerate(rows[1:], start=2):
        if len(row) != len(header):
            raise ExamError(f"{where}: row {line}: {len(row)} cells, the header has {len(header)}")
        name = " ".join(row[name_col].split())
        if not name:
            raise ExamError(f"{where}: row {line}: empty name")
        ident = " ".join(row[id_col].split()) if id_col is not None else name
        if not ident:
            raise ExamError(f"{where}: row {line}: empty id")
        for what, text in (("name", name), ("id", ident)):
            problem = text_problem(text)
            if problem:
                raise ExamError(f"{where}: row {line}: the {what} {problem}")
        if ident in first_row:
            what = "id" if id_col is not None else "name (add an id column to tell them apart)"
            raise ExamError(f"{where}: row {line}: duplicate {what} {ident[:60]!r} (first on row {first_row[ident]})")
        first_row[ident] = line
        students.append(Student(ident, name))
    if not students:
        raise ExamError(f"{where}: no students below the header")
    if len(students) > MAX_VARIANTS:
        raise ExamError(f"{where}: {len(students)} students; at most {MAX_VARIANTS}")
    return students


# -- documents ---------------------------------------------------------------------------------------

QUESTION_SECTIONS = ("problem", "diagram")


@dataclass(frozen=True)
class Asked:
    name: str
    latex: Tex
    display: str
    group: str


def asked_values(variant: Variant, ask: Sequence[str]) -> list[Asked]:
    s = variant.solution
    return [Asked(name, Tex(s.latex(name)), s.display(name), group)
            for group, names in asked_names(s.network, ask) for name in names]


def _common(variant: Variant, title: str) -> dict[str, Any]:
    student = variant.student
    return {
        "label": variant.label,
        "seed": str(variant.seed),
        "title": title,
        "student_name": tex_escape(student.name) if student else Tex(r"\rule{5cm}{0.4pt}"),
        "student_header": tex_escape(student.name) if student else Tex(r"Name: \rule{4cm}{0.4pt}"),
        "student_id": student.id if student else "",
        "decimals": variant.solution.spec.decimals,
    }


def _groups(items: list[Asked]) -> list[dict[str, Any]]:
    """Asked values by group, packed two per row for the boxes / three per row for the key table."""
    out = []
    for group in ASK_GROUPS:
        members = [a for a in items if a.group == group]
        if members:
            out.append({"title": ASK_TITLES[group], "items": members,
                        "pairs": [members[i:i + 2] for i in range(0, len(members), 2)],
                        "triples": [members[i:i + 3] for i in range(0, len(members), 3)]})
    return out


def question_body(variant: Variant, ask: Sequence[str], early_rounding: bool = True) -> str:
    """One variant's question sheet (no preamble): the problem, the diagram, the boxes. No computed value."""
    s = variant.solution
    ctx = handout_context(s, QUESTION_SECTIONS)
    items = asked_values(variant, ask)
    return render_tex("exam/question_body.tex.j2", problem=ctx["problem"], diagram=ctx["diagram"],
                      groups=_groups(items), early_rounding=early_rounding, **_common(variant, s.spec.title))


def key_body(variant: Variant, ask: Sequence[str]) -> str:
    """One variant's answer key (no preamble): the handout's worked solution, then the table of asked values."""
    from .handout import PARTIALS

    s = variant.solution
    ctx = handout_context(s)
    # the worked solution, the answer table, then the handout's appendix (verification)
    partials = [f"handout/{PARTIALS[name]}.tex.j2" for name in ctx["sections"] if name != "verification"]
    appendix = [f"handout/{PARTIALS[name]}.tex.j2" for name in ctx["sections"] if name == "verification"]
    items = asked_values(variant, ask)
    common = _common(variant, s.spec.title)
    for shared in ("title", "decimals"):
        ctx.pop(shared)
    return render_tex("exam/key_body.tex.j2", partials=partials, appendix=appendix, groups=_groups(items),
                      **common, **ctx)


def document(template: str, bodies: Sequence[str], title: str) -> str:
    return render_tex(template, bodies=[Tex(b) for b in bodies], title=title)


def answers_toml(variant: Variant, ask: Sequence[str]) -> str:
    """The key as an answers file ``symbackprop verify`` reads (every asked value, as displayed)."""
    lines = [header_comment(comment="#").rstrip("\n"),
             f"# answer key of variant {variant.label}, seed {variant.seed}", "[sheet]"]
    student = variant.student
    lines.append(f"student = {_toml_string(student.name if student else '')}")
    lines.append(f"title = {_toml_string(variant.solution.spec.title)}")
    lines.append("")
    lines.append("[values]")
    for item in asked_values(variant, ask):
        lines.append(f"{_toml_string(item.name)} = {_toml_string(item.display)}")
    return "\n".join(lines) + "\n"


def _toml_string(text: str) -> str:
    out = []
    for ch in text:
        if ch in ('"', "\\"):
            out.append("\\" + ch)
        elif ord(ch) < 0x20 or ord(ch) == 0x7F:
            out.append(f"\\u{ord(ch):04X}")
        else:
            out.append(ch)
    return '"' + "".join(out) + '"'


def variant_spec_toml(variant: Variant) -> str:
    """The variant as a complete spec file: ``symbackprop verify variants/v001.toml answers/v001.toml``."""
    spec = variant.solution.spec
    n = spec.notation
    lines = [header_comment(comment="#").rstrip("\n"), f"# exam variant {variant.label}, seed {variant.seed}",
             f"title = {_toml_string(spec.title)}", f"author = {_toml_string(spec.author)}",
             f"decimals = {spec.decimals}", f"learning_rate = {_toml_string(_exact(spec.learning_rate))}",
             f"loss = {_toml_string(spec.loss)}", f"reduction = {_toml_string(spec.reduction)}",
             f"steps = {spec.steps}", "", "[notation]"]
    for key in ("scheme", "pre", "act", "loss", "target", "input"):
        lines.append(f"{key} = {_toml_string(getattr(n, key))}")
    lines += ["", "[network]", f"inputs = {spec.n_inputs}", "layers = ["]
    for layer in spec.layers:
        slope = f", slope = {_toml_string(_exact(layer.slope))}" if layer.slope is not None else ""
        lines.append(f"  {{ units = {layer.units}, activation = {_toml_string(layer.activation)}{slope} }},")
    lines += ["]", f"bias = {_toml_string('shared' if spec.shared_bias else 'per_neuron')}",
              "frozen = [" + ", ".join(_toml_string(f) for f in sorted(spec.frozen)) + "]", "", "[parameters]"]
    for name, value in spec.parameters.items():
        lines.append(f"{_toml_string(name)} = {_toml_string(_exact(value))}")
    namer = spec.namer()
    for example in spec.examples:
        lines += ["", "[[examples]]"]
        for k, x in enumerate(example.inputs, start=1):
            lines.append(f"{_toml_string(namer.input(k).ascii)} = {_toml_string(_exact(x))}")
        for j, t in enumerate(example.targets, start=1):
            lines.append(f"{_toml_string(namer.target(j).ascii)} = {_toml_string(_exact(t))}")
    return "\n".join(lines) + "\n"


def _exact(value: sympy.Rational) -> str:
    """An exact decimal's text (spec values are decimals; other rationals as 40 decimals would lose them)."""
    places = _decimals_of(value)
    if places < 0:
        raise ExamError(f"exam: the value {value} has no finite decimal form")
    return display(value, places)


def _decimals_of(value: sympy.Rational) -> int:
    q = int(sympy.Rational(value).q)
    for places in range(0, 40):
        if (10**places) % q == 0:
            return places
    return -1


# -- the whole set -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class PdfJob:
    """A combined document to compile, then to cut into one PDF per variant at its marked pages."""

    source: str  # LaTeX
    pdf: str  # relative path of the combined PDF
    singles: tuple[tuple[str, str], ...]  # (named destination, relative path of that variant's PDF)


def destination(variant: Variant) -> str:
    """The named destination on a variant's first page (``\\examsetvariant`` in the exam preamble)."""
    return f"symbackprop-v{variant.label}"


def pdf_jobs(files: dict[str, bytes], variants: Sequence[Variant]) -> list[PdfJob]:
    """questions.pdf and keys.pdf, each cut into questions/vNNN.pdf and keys/vNNN.pdf."""
    return [PdfJob(files[f"{kind}.tex"].decode(), f"{kind}.pdf",
                   tuple((destination(v), f"{kind}/{v.stem}.pdf") for v in variants))
            for kind in ("questions", "keys")]


@dataclass
class ExamSet:
    variants: list[Variant]
    rejected: Counter[str]
    ask: tuple[str, ...]
    title: str
    files: dict[str, bytes]  # relative path -> bytes
    pdf_jobs: list[PdfJob]  # what --pdf compiles (and cuts into one PDF per variant)

    @property
    def n_rejected(self) -> int:
        return sum(self.rejected.values())

    def summary(self) -> str:
        draws = len(self.variants) + self.n_rejected
        return (f"{len(self.variants)} variants from {draws} draws; {self.n_rejected} rejected"
                f"{' (' + _reasons_text(self.rejected) + ')' if self.n_rejected else ''}")


def build_exam(spec_path: str | Path | None, variants: int | None = None, seed: int = 0,
               roster: str | Path | None = None, ask: str | Sequence[str] | None = None,
               moodle: bool = False, qti: bool = False, pdf: bool = False, spec: Spec | None = None,
               settings: ExamSettings | None = None, progress: bool = False) -> ExamSet:
    """Draw the variants and render every file in memory (nothing is written)."""
    students = load_roster(roster) if roster is not None else None
    if students is not None and variants is not None and variants != len(students):
        raise ExamError(f"--variants {variants} but the roster has {len(students)} students; drop --variants")
    count = len(students) if students is not None else (1 if variants is None else variants)
    if count < 1:
        raise ExamError(f"--variants must be at least 1, got {count}")
    if count > MAX_VARIANTS:
        raise ExamError(f"--variants: at most {MAX_VARIANTS}, got {count}")
    from .spec import loads_spec, read_spec_text

    text = read_spec_text(spec_path) if spec_path is not None and (spec is None or settings is None) else None
    if spec is None:
        spec = load_spec(None) if spec_path is None else loads_spec(text or "", source=str(spec_path))
    if settings is None:
        settings = exam_settings(spec_path, text)  # the text read once: a pipe gives it only once
    if ask is not None:
        settings = dataclasses.replace(settings, ask=parse_ask(ask))
    show = _progress_printer() if progress else None
    base = solve(spec)
    drawn, rejected = draw_variants(base, settings, count, seed, students, show)
    title = spec.title
    files: dict[str, bytes] = {}
    questions, keys = [], []
    for i, v in enumerate(drawn, start=1):
        q, k = question_body(v, settings.ask, settings.early_rounding), key_body(v, settings.ask)
        questions.append(q)
        keys.append(k)
        files[f"questions/{v.stem}.tex"] = document("exam_questions.tex.j2", [q], title).encode()
        files[f"keys/{v.stem}.tex"] = document("exam_key.tex.j2", [k], title).encode()
        files[f"answers/{v.stem}.toml"] = answers_toml(v, settings.ask).encode()
        files[f"variants/{v.stem}.toml"] = variant_spec_toml(v).encode()
        if show:
            show(i, count, "rendering")
    files["questions.tex"] = document("exam_questions.tex.j2", questions, title).encode()
    files["keys.tex"] = document("exam_key.tex.j2", keys, title).encode()
    files["index.csv"] = index_csv(drawn).encode()
    if moodle:
        from .moodle import moodle_xml

        files["moodle.xml"] = moodle_xml(drawn, settings.ask).encode()
    if qti:
        from .qti import qti_zip

        files["canvas-qti.zip"] = qti_zip(drawn, settings.ask, title)
    return ExamSet(drawn, rejected, settings.ask, title, files, pdf_jobs(files, drawn) if pdf else [])


def index_csv(variants: Sequence[Variant]) -> str:
    """The set's table of contents (names neutralised for spreadsheets: ``=HYPERLINK(...)`` prints as text)."""
    return csv_text(["variant", "seed", "student_id", "student_name", "questions", "key", "answers"],
                    ([v.label, v.seed, v.student.id if v.student else "", v.student.name if v.student else "",
                      f"questions/{v.stem}.tex", f"keys/{v.stem}.tex", f"answers/{v.stem}.toml"] for v in variants))


def write_exam(exam: ExamSet, out_dir: str | Path, workers: int = 2) -> Path:
    """Lock ``out_dir`` and write the set into it (see :func:`write_locked`)."""
    with locked_target(out_dir) as target:
        write_locked(exam, target, workers)
    return target.path


def write_locked(exam: ExamSet, target: Target, workers: int = 2) -> Path | None:
    """Write the set into a locked target folder via a hidden temporary folder inside it (compiling
    the PDFs there first); return where the earlier set was kept, if it was."""
    with staging(target) as tmp:
        try:
            for rel, data in exam.files.items():
                path = tmp / rel
                path.parent.mkdir(parents=True, exist_ok=True)
                write_new(path, data)
            if exam.pdf_jobs:
                _write_pdfs(exam.pdf_jobs, tmp, workers)
            _normalise_modes(tmp)
        except OutputError as err:  # name the file where it was going, not the temporary folder
            raise OutputError(str(err).replace(str(tmp), str(target.path))) from None
        except OSError as err:
            raise OutputError(f"-o {target.path}: cannot write the set ({err.strerror or err})") from None
        return commit(target, tmp)


def _write_pdfs(jobs: Sequence[PdfJob], root: Path, workers: int) -> None:
    """Compile the combined documents in parallel; cut each into its variants as soon as it is done
    (the question sheets finish first, so their cutting overlaps the keys' compile)."""
    from concurrent.futures import ThreadPoolExecutor

    from .pdf import compile_pdf
    from .pdfsplit import split_pdf

    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(compile_pdf, job.source, root / job.pdf) for job in jobs]
        try:
            for job, future in zip(jobs, futures, strict=True):
                split_pdf(future.result(), [(name, root / rel) for name, rel in job.singles])
        finally:
            for future in futures:
                future.cancel()


def _normalise_modes(root: Path) -> None:
    os.chmod(root, 0o755)
    for path in root.rglob("*"):
        os.chmod(path, 0o755 if path.is_dir() else 0o644)


def _progress_printer() -> Callable[..., None] | None:
    if not sys.stderr.isatty():
        return None

    def show(done: int, total: int, what: str = "drawing") -> None:
        end = "\n" if done == total else ""
        print(f"\rexam: {what} {done}/{total}", end=end, file=sys.stderr, flush=True)

    return show


def run_exam(args: Any) -> int:
    """The ``exam`` subcommand: validate everything cheap first, then draw, render, write."""
    if args.variants is not None and args.variants < 1:
        raise ExamError(f"--variants must be at least 1, got {args.variants}")
    ask = parse_ask(args.ask) if args.ask is not None else None
    with locked_target(args.output_dir) as target:  # locked from the first check to the last move
        exam = build_exam(args.spec, variants=args.variants, seed=args.seed, roster=args.roster, ask=ask,
                          moodle=args.moodle, qti=args.qti, pdf=args.pdf, progress=True)
        kept = write_locked(exam, target)
    if kept is not None:
        print(f"{target.path}: the earlier set moved to {kept} (the new set differs from it)")
    print(f"{target.path}: {exam.summary()}")
    return 0
