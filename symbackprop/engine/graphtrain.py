"""k steps of a graph-kind spec's update rule on its parameter leaves, every value exact or certified.

The rule is `update.rule_definition`'s, the same definitions the MLP's update runs (PyTorch's SGD,
momentum/Nesterov, RMSprop, Adam, coupled L2 or AdamW's decoupled decay).  One program over slots (the
graph's leaves, nodes and gradients, then the rule's hyperparameters, states and new values) runs step
after step: forward and backward at the current parameters, then the rule, then the new parameters and
states carried into the next step (inputs and targets stay).  The whole run is repeated finer when a
rounding asks (`evaluate.certified_value`), so a value after a square root is a certified ball and every
value the arithmetic keeps rational is exact.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import flint
from flint import arb, fmpq
from sympy import Expr, Symbol

from .evaluate import BALL, MAX_EXACT_BITS, Compiler, EvaluationError, certified_value, exact_input
from .graph import GraphSolution
from .graphspec import GraphSpec
from .naming import HYPERPARAMETERS, LEARNING_RATE, STEP, Name, Namer
from .optimizer import Training
from .update import STATES, rule_definition, state_kinds


@dataclass(frozen=True)
class GraphTraining:
    """The run's values: per step each parameter's gradient, the rule's states and its new value (by
    name), and the output before the first step and after each step."""

    training: Training
    parameters: tuple[str, ...]
    #: per parameter: its gradient's name, then the names of `state_kinds` in order, then the new value's
    names: dict[str, tuple[str, ...]]
    #: LaTeX of every symbol the run adds (hyperparameters, states before and after, new values)
    latex: dict[Symbol, str]
    #: each computed name's definition, over the run's symbols and the graph's own
    definitions: dict[str, Expr]
    #: every column's symbol (a gradient's is the graph's own)
    where: dict[str, Symbol]
    #: the rule's exact leaves at the first step: hyperparameters, t = 1, every state before it 0
    given: dict[Symbol, Any]
    steps: list[dict[str, Decimal]]
    history: list[Decimal]

    @property
    def kinds(self) -> tuple[str, ...]:
        return state_kinds(self.training.optimizer)

    @property
    def hyper(self) -> list[tuple[str, str, Any]]:
        """(ASCII, LaTeX, exact value) of eta and each hyperparameter the rule uses."""
        settings = self.training.optimizer
        names = [(HYPERPARAMETERS[f], getattr(settings, f)) for f in settings.hyperparameters]
        return [(n.ascii, n.latex, v) for n, v in [(LEARNING_RATE, self.training.learning_rate), *names]]


def _symbol(name: Name) -> Symbol:
    """A symbol no graph name can be (graph names are letters, digits and _)."""
    return Symbol("~" + name.ascii, real=True)


class _Program:
    """The graph and the rule compiled once over slots; `run` does all k steps at the current precision."""

    def __init__(self, solution: GraphSolution, training: Training, name_latex: Mapping[str, str]):
        spec, gradients = solution.spec, solution.gradients
        self.spec, self.training = spec, training
        settings = training.optimizer
        graph = [leaf.symbol for leaf in spec.leaves] + [n.symbol for n in spec.nodes] + \
            [g.symbol for g in gradients.values()]
        pass_defs = [(n.symbol, n.definition) for n in spec.nodes] + [(g.symbol, g.formula) for g in gradients.values()]
        hyper_names = [LEARNING_RATE] + [HYPERPARAMETERS[f] for f in settings.hyperparameters] + \
            ([STEP] if settings.name == "adam" else [])
        hyper = {name.ascii: _symbol(name) for name in hyper_names}
        self.latex = {s: n.latex for n, s in zip(hyper_names, hyper.values(), strict=True)}
        by_field = {f: hyper[HYPERPARAMETERS[f].ascii] for f in settings.hyperparameters}
        by_field["step"] = hyper.get(STEP.ascii, Symbol("~unused"))
        self.parameters = tuple(leaf for leaf in spec.leaves if leaf.kind == "parameter")
        rule_defs: list[tuple[Symbol, Expr]] = []
        self.previous: list[Symbol] = []
        self.names: dict[str, tuple[str, ...]] = {}
        self.where: dict[str, Symbol] = {}  # a column's name -> its symbol
        self.moves: list[tuple[Symbol, Symbol]] = []  # (slot the next step reads, slot this step wrote)
        for leaf in self.parameters:
            of = Name(leaf.name, name_latex.get(leaf.name, solution.symbol_latex[leaf.name]))
            states: dict[str, Symbol] = {}

            def state(kind: str, definition: Expr, of: Name = of, states: dict[str, Symbol] = states) -> Symbol:
                name = Namer.state(kind, of)
                states[kind] = symbol = _symbol(name)
                self.latex[symbol] = name.latex
                rule_defs.append((symbol, definition))
                return symbol

            def previous(kind: str, of: Name = of) -> Symbol:
                name = Namer.state(kind, of, previous=True)
                symbol = _symbol(name)
                self.latex[symbol] = name.latex
                self.previous.append(symbol)
                return symbol

            new = _symbol(Namer.updated(of))
            self.latex[new] = Namer.updated(of).latex
            definition = rule_definition(settings, by_field, hyper[LEARNING_RATE.ascii], leaf.symbol,
                                         gradients[leaf.name].symbol, state, previous)
            rule_defs.append((new, definition))
            self.moves += [(leaf.symbol, new)] + [(_symbol(Namer.state(k, of, previous=True)), states[k])
                                                  for k in STATES[settings.name]]
            columns = [gradients[leaf.name].symbol, *[states[k] for k in state_kinds(settings)], new]
            self.names[leaf.name] = tuple(c.name.lstrip("~") for c in columns)
            self.where.update({c.name.lstrip("~"): c for c in columns})
        symbols = graph + list(hyper.values()) + self.previous + [s for s, _ in rule_defs]
        self.slot = {s: i for i, s in enumerate(symbols)}
        compiler = Compiler(self.slot, BALL)
        self.passes = [(self.slot[s], compiler(d)) for s, d in pass_defs]
        self.forward = self.passes[:len(spec.nodes)]
        self.rule = [(self.slot[s], compiler(d)) for s, d in rule_defs]
        self.definitions = {s.name.lstrip("~"): d for s, d in rule_defs}
        values = {leaf.symbol: leaf.value for leaf in spec.leaves}
        values.update({hyper[LEARNING_RATE.ascii]: training.learning_rate})
        values.update({by_field[f]: getattr(settings, f) for f in settings.hyperparameters})
        self.given = {s: values[s] for s in hyper.values() if s in values} | {s: 0 for s in self.previous}
        if STEP.ascii in hyper:
            self.given[hyper[STEP.ascii]] = 1
        self.start = [exact_input(f"{values[s].p}/{values[s].q}") if s in values else fmpq(0) for s in symbols]
        self.counter = self.slot.get(hyper.get(STEP.ascii, Symbol("~unused")))
        self.output = self.slot[spec.output_node.symbol]
        self.runs: dict[int, tuple[list[list[Any]], list[Any]]] = {}

    def run(self) -> tuple[list[list[Any]], list[Any]]:
        """Every step's slots and the output history, at the current ball precision (cached)."""
        if flint.ctx.prec not in self.runs:
            slots = list(self.start)
            records, history = [], []
            for t in range(1, self.training.steps + 1):
                if self.counter is not None:
                    slots[self.counter] = fmpq(t)
                for i, program in self.passes + self.rule:
                    slots[i] = program(slots)
                history.append(slots[self.output])
                records.append(list(slots))
                for target, source in self.moves:
                    slots[self.slot[target]] = _settle(slots[self.slot[source]])
            for i, program in self.forward:
                slots[i] = program(slots)
            history.append(slots[self.output])
            self.runs[flint.ctx.prec] = records, history
        return self.runs[flint.ctx.prec]


def _settle(x: Any) -> Any:
    """A carried value as the next step reads it: a rational while it stays small, else a ball."""
    if isinstance(x, fmpq):
        return arb(x) if x.height_bits() > MAX_EXACT_BITS else x
    return x if isinstance(x, arb) else fmpq(x)


def train_graph(solution: GraphSolution, name_latex: Mapping[str, str] | None = None) -> GraphTraining | None:
    """The spec's training run on its solved graph (None: the spec has no training fields); ``name_latex``:
    a parameter's LaTeX in its states' names (a page's own, else SymPy's)."""
    spec: GraphSpec = solution.spec
    if spec.training is None:
        return None
    program = _Program(solution, spec.training, name_latex or {})

    def value(pick: Any, name: str) -> Decimal:
        try:
            return certified_value(lambda _: pick(program.run()), program.start)
        except EvaluationError as err:
            raise EvaluationError(f"{spec.source}: {name}: {err}") from None

    steps = []
    for k in range(spec.training.steps):
        names = [n for leaf in program.parameters for n in program.names[leaf.name]]
        steps.append({n: value(lambda r, k=k, n=n: r[0][k][program.slot[program.where[n]]], f"step {k + 1}: {n}")
                      for n in names})
    history = [value(lambda r, k=k: r[1][k], f"{spec.output} after step {k}") for k in range(spec.training.steps + 1)]
    return GraphTraining(spec.training, tuple(leaf.name for leaf in program.parameters), program.names,
                         program.latex, program.definitions, program.where, program.given, steps, history)


__all__ = ["GraphTraining", "train_graph"]
