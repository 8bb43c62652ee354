"""One drawn variant as a frozen record, and the values it asks: the data every writer reads."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Generic, TypeVar, cast

from ..documents.render import Tex
from ..engine.examtable import ASK_GROUPS
from ..engine.graph import GraphSolution, solve_graph_values
from ..engine.graphspec import GraphSpec
from ..engine.network import Network
from ..engine.solution import Solution, solve_values
from ..engine.spec import Spec
from ..notation.circuit import graph_name_tex

__all__ = ["SHEET_GROUPS", "Asked", "Student", "Variant", "asked_names", "asked_values", "grouped"]

T = TypeVar("T")
#: the groups of a sheet, in the order it asks them: the ``--ask`` groups, the loss after the update (asked with
#: the loss) last, since it needs the updated parameters and a second forward pass (as the practice page asks it)
SHEET_GROUPS = (*ASK_GROUPS, "after")
#: a network's spec and solution, or a computation graph's
SpecT = TypeVar("SpecT", Spec, GraphSpec)
SolvedT = TypeVar("SolvedT", Solution, GraphSolution)


@dataclass(frozen=True)
class Student:
    """One row of the roster."""

    id: str
    name: str


@dataclass(frozen=True)
class Variant(Generic[SpecT, SolvedT]):
    """One drawn variant: its exercise at the drawn values (solved when first read), for one student (or none);
    a network's or a computation graph's."""

    number: int  # 1-based
    label: str  # "007"
    seed: int
    spec: SpecT  # the base spec with the drawn values
    student: Student | None
    draws: int  # draws it took (1 = the first was accepted)
    base: SolvedT = field(repr=False, compare=False)  # whose derivation the variant shares
    #: parameters whose gradient and update are not asked (``ExamSettings.unasked``: the set's, not the teacher's)
    unasked: tuple[str, ...] = ()
    #: each asked value as displayed when rounded as you go, by name, where the set's early-rounding rule was
    #: relaxed (it may then differ from the key: a learning platform gives it the policy's early-rounding credit)
    early: Mapping[str, str] = field(default_factory=dict, compare=False)

    @property
    def stem(self) -> str:
        return f"v{self.label}"

    @property
    def is_graph(self) -> bool:
        return isinstance(self.spec, GraphSpec)

    @cached_property
    def solution(self) -> SolvedT:
        """Solved on the base's derivation (see :func:`.solve_values`): only the values differ; a
        worker process solves its own variants, nothing solved travels between processes."""
        if isinstance(self.base, GraphSolution) and isinstance(self.spec, GraphSpec):
            return cast(SolvedT, solve_graph_values(self.base, self.spec))
        return cast(SolvedT, solve_values(cast(Solution, self.base), cast(Spec, self.spec)))


@dataclass(frozen=True)
class Asked:
    """One asked value of a variant, as every sheet, key and export shows it."""

    name: str
    latex: Tex
    display: str
    group: str


def asked_values(variant: Variant, ask: Sequence[str]) -> list[Asked]:
    """The asked values of a variant, group by group in the sheet's order (:data:`SHEET_GROUPS`: the loss after
    the update last; made once per variant: its sheet, key, answers and LMS questions all read them)."""
    s = variant.solution
    key = ("asked", tuple(ask), variant.unasked)
    found = s.memo.get(key)
    if not isinstance(found, list):
        if isinstance(s, GraphSolution):
            found = [Asked(name, Tex(graph_name_tex(s.spec, name)), s.display(name), group)
                     for group, names in graph_asked_names(s.spec, ask) for name in names]
        else:
            net = s.network
            found = [Asked(name, Tex(s.latex(name)), s.display(name),
                           "after" if net[name].kind == "post_loss" else group)
                     for group, names in asked_names(net, ask, variant.unasked) for name in names]
            found.sort(key=lambda item: SHEET_GROUPS.index(item.group))  # stable: each group keeps its order
        s.memo[key] = found
    return list(found)


def grouped(items: Sequence[T], group_of: Callable[[T], str]) -> list[dict[str, Any]]:
    """Items by sheet group for the templates, ``[{"key": "forward", "members": [...]}]``, in the sheet's order
    (the templates name each group and lay its members out)."""
    return [{"key": group, "members": members} for group in SHEET_GROUPS
            if (members := [item for item in items if group_of(item) == group])]


def graph_asked_names(spec: GraphSpec, ask: Sequence[str]) -> list[tuple[str, list[str]]]:
    """[(group, [names])] of a computation graph: its gates' values (forward) and the output's gradient
    with respect to each leaf but a target (gradients: inputs, parameters, an initial state), in the spec's order;
    other groups ask nothing.  (A target is the exercise's given answer: an RNN's loss differentiated by it teaches
    nothing, and its line would read dE/dt3 = dE/dt3.)"""
    names = {"forward": [n.name for n in spec.nodes],
             "gradients": [f"d{spec.output}/d{leaf.name}" for leaf in spec.leaves if leaf.kind != "target"]}
    return [(group, names[group]) for group in ask if group in names]


def asked_names(network: Network, ask: Sequence[str], unasked: Sequence[str] = ()) -> list[tuple[str, list[str]]]:
    """[(group, [quantity names])] in the lecture's order; the gradients and updates of frozen parameters and
    of ``unasked`` ones are not asked, nor the deltas of the layers of ``unasked`` ones (the drawer leaves out
    whole layers: see :meth:`.drawing.Drawer._leave_out_a_layer`)."""
    out = []
    left_out = {*network.spec.frozen, *unasked}
    quiet_layers = {p.layer for p in network.parameters if p.name in unasked}
    for group in ask:
        kinds = ASK_GROUPS[group]
        names = [q.name for q in network.quantities.values() if q.kind in kinds]
        if group in ("update", "gradients"):  # w5' and dE/dw5 of a frozen w5
            names = [n for n in names if network[n].of not in left_out]
        elif group == "deltas" and quiet_layers:
            names = [n for n in names if network[n].layer not in quiet_layers]
        if names:
            out.append((group, names))
    return out

