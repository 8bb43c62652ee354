"""Load and validate a network spec (TOML) into frozen dataclasses.

Every problem is reported as one ``SpecError`` line naming the field.  Numbers
are read from their decimal text (``tomllib``'s ``parse_float`` hook hands us
the text) and become exact ``sympy.Rational`` values: no ``float`` anywhere.
The README documents the format; ``symbackprop/data/lecture.toml`` is the
built-in lecture network.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import Any

import sympy

from ..errors import SpecError
from ..hints import clip, did_you_mean, quoted
from ..io.tomltext import TomlProblem, parse_toml
from .activations import ACTIVATION_NAMES, LOSS_NAMES
from .examtable import ExamSettings, settings_from_table
from .fields import MAX_MAGNITUDE, DecimalText, Fields
from .naming import SCHEMES, Namer, Notation
from .optimizer import OptimizerSettings, optimizer_from_table

# -- limits (README "Limits"), checked before any work so every command stays within about a
# minute and a few hundred MB: 16,32,32,8 (1,864 parameters) takes ~20 s to check.
MAX_INPUTS = 64
#: units in one layer (the diagram and the tables stay legible)
MAX_UNITS = 64
#: layers after the inputs
MAX_LAYERS = 10
MAX_PARAMETERS = 2_000
MAX_EXAMPLES = 16
#: parameters x examples: every quantity exists once per example
MAX_WORK = 4_000
MAX_STEPS = 1000
MAX_DECIMALS = 12
@dataclass(frozen=True)
class LayerSpec:
    units: int
    activation: str
    slope: sympy.Rational | None = None  # leaky_relu only


@dataclass(frozen=True)
class Example:
    inputs: tuple[sympy.Rational, ...]
    targets: tuple[sympy.Rational, ...]


@dataclass(frozen=True)
class Spec:
    n_inputs: int
    layers: tuple[LayerSpec, ...]
    loss: str
    examples: tuple[Example, ...]
    #: parameter values by ASCII name, in the network's order
    parameters: dict[str, sympy.Rational]
    learning_rate: sympy.Rational
    frozen: frozenset[str] = frozenset()
    shared_bias: bool = False
    reduction: str = "sum"  # over examples: "sum" or "mean"
    decimals: int = 3
    steps: int = 1
    title: str = "Backpropagation"
    author: str = ""
    notation: Notation = field(default_factory=Notation)
    #: where it came from ("built-in lecture network" or a path), for messages
    source: str = ""
    #: the ``[exam]`` table, validated with the rest
    exam: ExamSettings = field(default_factory=ExamSettings)
    #: ``[templates] dir``: the teacher's templates, in front of the shipped ones (an existing folder)
    templates: Path | None = None
    #: ``[templates] lang``: the handout's language (a words template ``lang/<lang>.j2``; None: English)
    lang: str | None = None
    #: the ``[optimizer]`` table; None (no table): today's plain SGD, every output as it was
    optimizer: OptimizerSettings | None = None

    @property
    def layer_sizes(self) -> list[int]:
        return [layer.units for layer in self.layers]

    def namer(self) -> Namer:
        return Namer(self.n_inputs, self.layer_sizes, self.shared_bias, self.notation)


LECTURE = "lecture.toml"


def lecture_text() -> str:
    return resources.files("symbackprop.data").joinpath(LECTURE).read_text(encoding="utf-8")


def load_spec(path: str | Path | None = None) -> Spec:
    """Load a spec file, or the built-in lecture network when ``path`` is None."""
    if path is None:
        return loads_spec(lecture_text(), source="built-in lecture network")
    return loads_spec(read_spec_text(path), source=str(path), base=Path(path).parent)


def has_the_lectures_values(spec: Spec) -> bool:
    """Whether ``spec`` is the built-in lecture network with the lecture's own numbers (an exam variant of it has
    other weights and inputs: the lecture's printed values are not its values)."""
    lecture = _lecture_spec()
    return (spec.source == lecture.source and spec.parameters == lecture.parameters
            and spec.examples == lecture.examples and spec.learning_rate == lecture.learning_rate)


@functools.cache
def _lecture_spec() -> Spec:
    return load_spec(None)


def read_spec_text(path: str | Path) -> str:
    """A spec file's text, read once and at most ``MAX_INPUT_BYTES`` (a pipe gives its text once)."""
    from ..io.files import InputKind, read_input

    return read_input(path, InputKind("spec file", "TOML", SpecError))


def loads_spec(text: str, source: str = "<spec>", base: Path | None = None) -> Spec:
    """Validate spec text; ``base`` is the folder that ``[templates] dir`` is relative to (default: here)."""
    try:
        data = parse_toml(text, parse_float=DecimalText)
    except TomlProblem as err:
        hint = f" (numbers must lie between -{MAX_MAGNITUDE} and {MAX_MAGNITUDE})" if err.huge_integer else ""
        raise SpecError(f"{source}: malformed TOML: {clip(str(err), 120)}{hint}") from None
    return _Reader(data, source, base or Path()).spec()


def size_problem(n_inputs: int, sizes: list[int], n_examples: int = 1,
                 shared_bias: bool = False) -> tuple[str, str]:
    """(field, problem) for the first size limit a network breaks, ("", "") if none; the problem
    names the limit."""
    limit = "symbackprop's size limit"
    if not 1 <= n_inputs <= MAX_INPUTS:
        return "network.inputs", f"at most {MAX_INPUTS} inputs ({limit}), got {n_inputs}"
    if len(sizes) > MAX_LAYERS:
        return "network.layers", f"at most {MAX_LAYERS} layers ({limit}), got {len(sizes)}"
    for i, units in enumerate(sizes, start=1):
        if not 1 <= units <= MAX_UNITS:
            return f"network.layers[{i}].units", f"at most {MAX_UNITS} units in a layer ({limit}), got {units}"
    n = count_parameters(n_inputs, sizes, shared_bias)
    if n > MAX_PARAMETERS:
        return "network", f"at most {MAX_PARAMETERS} parameters ({limit}), got {n}"
    if n_examples > MAX_EXAMPLES:
        return "examples", f"at most {MAX_EXAMPLES} examples ({limit}), got {n_examples}"
    if n * n_examples > MAX_WORK:
        return "examples", (f"at most {MAX_WORK} parameters x examples ({limit}), "
                            f"got {n} x {n_examples} = {n * n_examples}")
    return "", ""


def count_parameters(n_inputs: int, sizes: list[int], shared_bias: bool = False) -> int:
    fan_in, total = n_inputs, 0
    for units in sizes:
        total += units * fan_in + (1 if shared_bias else units)
        fan_in = units
    return total


class _Reader(Fields):
    """Validates raw TOML data field by field; every error names its field."""

    def __init__(self, data: dict[str, Any], source: str, base: Path = Path()):
        super().__init__(source)
        self.data = data
        self.base = base

    # -- the spec -------------------------------------------------------------
    def spec(self) -> Spec:
        d = self.data
        known = {"title", "author", "decimals", "learning_rate", "loss", "reduction", "steps",
                 "notation", "network", "parameters", "examples", "exam", "templates", "optimizer"}
        if isinstance(d.get("values"), dict) or (isinstance(d.get("sheet"), dict) and "network" not in d):
            raise self.error(f"{self.source}: an answers file ([values], [sheet]), not a spec")
        self.known(d, sorted(known))
        title = self.free_text(d.get("title", "Backpropagation"), "title")
        author = self.free_text(d.get("author", ""), "author")
        decimals = self.integer(d.get("decimals", 3), "decimals", 0, MAX_DECIMALS)
        steps = self.integer(d.get("steps", 1), "steps", 1, MAX_STEPS)
        if "learning_rate" not in d:
            raise self.fail("learning_rate", "missing")
        learning_rate = self.number(d["learning_rate"], "learning_rate")
        if learning_rate <= 0:
            raise self.fail("learning_rate", "must be positive")
        loss = self.text(d.get("loss", "half_sse"), "loss", LOSS_NAMES)
        reduction = self.text(d.get("reduction", "sum"), "reduction", ("sum", "mean"))
        exam_table = self.table(d, "exam", "exam")
        notation = self.notation(self.table(d, "notation", "notation"))
        network = self.table(d, "network", "network")
        n_inputs, layers, shared_bias, frozen_raw = self.network(network, loss)
        raw_examples = d.get("examples")
        n_examples = len(raw_examples) if isinstance(raw_examples, list) else 1
        where, problem = size_problem(n_inputs, [layer.units for layer in layers], n_examples, shared_bias)
        if problem:
            raise self.fail(where, problem)
        namer = Namer(n_inputs, [layer.units for layer in layers], shared_bias, notation)
        if notation.scheme == "sequential" and sum(layer.units for layer in layers) > 64:
            raise self.fail("notation.scheme", "sequential naming is for small networks "
                            "(at most 64 units); use scheme = \"indexed\"")
        parameters = self.parameters(self.table(d, "parameters", "parameters"), namer, layers)
        frozen = self.frozen(frozen_raw, parameters, namer)
        examples = self.examples(d.get("examples"), namer, loss, layers[-1])
        return Spec(
            n_inputs=n_inputs, layers=layers, loss=loss, examples=examples,
            parameters=parameters, learning_rate=learning_rate, frozen=frozen,
            shared_bias=shared_bias, reduction=reduction, decimals=decimals, steps=steps,
            title=title, author=author, notation=notation, source=self.source,
            exam=settings_from_table(exam_table, self.source),
            templates=self.templates(self.table(d, "templates", "templates")),
            lang=self.template_lang(self.table(d, "templates", "templates")),
            optimizer=optimizer_from_table(d.get("optimizer"), self.source),
        )

    def templates(self, table: dict[str, Any]) -> Path | None:
        """``[templates] dir``, relative to the spec file: a folder that exists (checked now, not mid-render)."""
        self.known(table, ("dir", "lang"), "templates")
        if "dir" not in table:
            return None
        raw = self.text(table["dir"], "templates.dir")
        folder = self.base / raw
        if not folder.is_dir():
            where = quoted(str(folder), 120)
            raise self.fail("templates.dir", f"{quoted(raw, 60)} is not a folder (looked for {where})")
        return folder

    def template_lang(self, table: dict[str, Any]) -> str | None:
        """``[templates] lang``: a language code (whether its words exist is known when rendering)."""
        if "lang" not in table:
            return None
        raw = self.text(table["lang"], "templates.lang")
        if not re.fullmatch(r"[a-z]{2,3}(?:[-_][A-Za-z0-9]{1,8})?", raw):
            raise self.fail("templates.lang", f"{quoted(raw, 30)} is not a language code (like en or de)")
        return raw

    def notation(self, table: dict[str, Any]) -> Notation:
        known = {"scheme", "pre", "act", "loss", "target", "input"}
        self.known(table, sorted(known), "notation")
        values: dict[str, str] = {}
        for key in known - {"scheme"}:
            if key in table:
                value = self.text(table[key], f"notation.{key}")
                if not (value.isascii() and value.isalpha() and len(value) <= 8) and not (key == "act" and value == ""):
                    raise self.fail(f"notation.{key}", f"{quoted(value, 20)} must be 1-8 ASCII letters")
                values[key] = value
        scheme = self.text(table.get("scheme", "sequential"), "notation.scheme", SCHEMES)
        return Notation(scheme=scheme, **values)

    def network(self, table: dict[str, Any], loss: str) -> tuple[int, tuple[LayerSpec, ...], bool, Any]:
        known = {"inputs", "layers", "bias", "frozen"}
        self.known(table, sorted(known), "network")
        if "inputs" not in table:
            raise self.fail("network.inputs", "missing (the number of inputs)")
        n_inputs = self.integer(table["inputs"], "network.inputs", 1, None)
        if n_inputs > MAX_INPUTS:
            raise self.fail(*size_problem(n_inputs, []))
        raw_layers = table.get("layers")
        if not isinstance(raw_layers, list) or not raw_layers:
            raise self.fail("network.layers", "must be a non-empty list of {units, activation} tables")
        if len(raw_layers) > MAX_LAYERS:
            raise self.fail(*size_problem(n_inputs, [1] * len(raw_layers)))
        layers = []
        for i, raw in enumerate(raw_layers, start=1):
            where = f"network.layers[{i}]"
            if not isinstance(raw, dict):
                raise self.fail(where, "must be a table like { units = 2, activation = \"sigmoid\" }")
            self.known(raw, ("units", "activation", "slope"), where)
            if "units" not in raw:
                raise self.fail(f"{where}.units", "missing")
            if isinstance(raw["units"], int) and not isinstance(raw["units"], bool) and raw["units"] < 1:
                raise self.fail(f"{where}.units", "a layer needs at least one unit (empty layer)")
            units = self.integer(raw["units"], f"{where}.units", 1, None)
            if units > MAX_UNITS:
                raise self.fail(*size_problem(n_inputs, [1] * (i - 1) + [units]))
            name = self.text(raw.get("activation", "sigmoid"), f"{where}.activation", ACTIVATION_NAMES)
            slope = None
            if name == "leaky_relu":
                slope = self.number(raw.get("slope", "0.01"), f"{where}.slope")
                if not 0 < slope < 1:
                    raise self.fail(f"{where}.slope", "must lie in (0, 1)")
            elif "slope" in raw:
                raise self.fail(f"{where}.slope", "only leaky_relu takes a slope")
            if name == "softmax" and i != len(raw_layers):
                raise self.fail(f"{where}.activation", "softmax is allowed on the output layer only")
            layers.append(LayerSpec(units, name, slope))
        output = layers[-1]
        where = f"network.layers[{len(layers)}].activation"
        if loss == "cross_entropy" and output.activation != "softmax":
            raise self.fail("loss", f"cross_entropy needs a softmax output layer (got {output.activation}); "
                            "use bce for sigmoid outputs")
        if loss == "bce" and output.activation != "sigmoid":
            raise self.fail(where, f"bce needs outputs in (0, 1): use sigmoid, not {output.activation}")
        if output.activation == "softmax" and output.units < 2:
            raise self.fail(where, "softmax needs at least two output units")
        bias = self.text(table.get("bias", "per_neuron"), "network.bias", ("per_neuron", "shared"))
        return n_inputs, tuple(layers), bias == "shared", table.get("frozen", [])

    def parameters(
        self, table: dict[str, Any], namer: Namer, layers: tuple[LayerSpec, ...]
    ) -> dict[str, sympy.Rational]:
        expected: dict[str, None] = {}  # ordered, and a fast "in"
        fan_in = namer.n_inputs
        for l_index, layer in enumerate(layers, start=1):
            for j in range(1, layer.units + 1):
                expected.update(dict.fromkeys(namer.weight(l_index, j, k).ascii for k in range(1, fan_in + 1)))
                expected.setdefault(namer.bias(l_index, j).ascii)
            fan_in = layer.units
        # indexed names contain brackets, so TOML needs them quoted: accept both.
        for key in table:
            if key not in expected:
                hint = did_you_mean(key, expected)
                raise self.fail(f"parameters.{key}", f"no such parameter in this network{hint}")
        missing = [name for name in expected if name not in table]
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise self.fail(f"parameters.{missing[0]}", f"missing value{more}")
        return {name: self.number(table[name], f"parameters.{name}") for name in expected}

    def frozen(self, raw: Any, parameters: dict[str, sympy.Rational], namer: Namer) -> frozenset[str]:
        if not isinstance(raw, list):
            raise self.fail("network.frozen", "must be a list of parameter names (or \"biases\", \"weights\")")
        names: set[str] = set()
        for item in raw:
            name = self.text(item, "network.frozen")
            if name == "biases":
                names.update(p for p in parameters if p.startswith("b"))
            elif name == "weights":
                names.update(p for p in parameters if p.startswith("w"))
            elif name in parameters:
                names.add(name)
            else:
                raise self.fail("network.frozen", f"no parameter {quoted(name)}{did_you_mean(name, list(parameters))}")
        return frozenset(names)

    def examples(self, raw: Any, namer: Namer, loss: str, output: LayerSpec) -> tuple[Example, ...]:
        if not isinstance(raw, list) or not raw:
            raise self.fail("examples", "need at least one [[examples]] table with inputs and targets")
        input_names = [namer.input(k).ascii for k in range(1, namer.n_inputs + 1)]
        target_names = [namer.target(j).ascii for j in range(1, namer.n_outputs + 1)]
        examples = []
        for e, table in enumerate(raw, start=1):
            where = f"examples[{e}]"
            if not isinstance(table, dict):
                raise self.fail(where, "must be a table of input and target values")
            for key in table:
                if key not in input_names and key not in target_names:
                    hint = did_you_mean(key, input_names + target_names)
                    raise self.fail(f"{where}.{key}", f"no such input or target{hint}")
            for name in input_names + target_names:
                if name not in table:
                    raise self.fail(f"{where}.{name}", "missing value")
            inputs = tuple(self.number(table[n], f"{where}.{n}") for n in input_names)
            targets = tuple(self.number(table[n], f"{where}.{n}") for n in target_names)
            if loss == "bce":
                for name, t in zip(target_names, targets, strict=True):
                    if not 0 <= t <= 1:
                        raise self.fail(f"{where}.{name}", f"bce needs targets in [0, 1], got {_decimal_text(t)}")
            if loss == "cross_entropy":
                for name, t in zip(target_names, targets, strict=True):
                    if not 0 <= t <= 1:
                        raise self.fail(f"{where}.{name}", "cross_entropy needs each target in [0, 1] and "
                                        f"the targets summing to 1; got {_decimal_text(t)}")
                if sum(targets) != 1:
                    raise self.fail(where, "cross_entropy needs targets that form a distribution "
                                    f"(each in [0, 1], summing to 1); they sum to {_decimal_text(sum(targets))}")
            examples.append(Example(inputs, targets))
        return tuple(examples)


def _decimal_text(value: sympy.Rational) -> str:
    """A spec number as decimal text (-1/2 -> -0.5); spec numbers are terminating decimals."""
    return format(Decimal(int(value.p)) / Decimal(int(value.q)), "f")
