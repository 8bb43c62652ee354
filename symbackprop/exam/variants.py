"""One drawn variant as a frozen record, and the values it asks: the data every writer reads."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, TypeVar

from ..documents.render import Tex
from ..engine.examtable import ASK_GROUPS
from ..engine.network import Network
from ..engine.solution import Solution, solve_values
from ..engine.spec import Spec

__all__ = ["Asked", "Student", "Variant", "asked_names", "asked_values", "grouped"]

T = TypeVar("T")


@dataclass(frozen=True)
class Student:
    """One row of the roster."""

    id: str
    name: str


@dataclass(frozen=True)
class Variant:
    """One drawn variant: its exercise at the drawn values (solved when first read), for one student (or none)."""

    number: int  # 1-based
    label: str  # "007"
    seed: int
    spec: Spec  # the base spec with the drawn values
    student: Student | None
    draws: int  # draws it took (1 = the first was accepted)
    base: Solution = field(repr=False, compare=False)  # whose derivation the variant shares

    @property
    def stem(self) -> str:
        return f"v{self.label}"

    @cached_property
    def solution(self) -> Solution:
        """Solved on the base's derivation (see :func:`.solve_values`): only the values differ; a
        worker process solves its own variants, nothing solved travels between processes."""
        return solve_values(self.base, self.spec)


@dataclass(frozen=True)
class Asked:
    """One asked value of a variant, as every sheet, key and export shows it."""

    name: str
    latex: Tex
    display: str
    group: str


def asked_values(variant: Variant, ask: Sequence[str]) -> list[Asked]:
    """The asked values of a variant, group by group in the lecture's order (made once per variant: its
    sheet, key, answers and LMS questions all read them)."""
    s = variant.solution
    key = ("asked", tuple(ask))
    found = s.memo.get(key)
    if not isinstance(found, list):
        found = s.memo[key] = [Asked(name, Tex(s.latex(name)), s.display(name), group)
                               for group, names in asked_names(s.network, ask) for name in names]
    return list(found)


def grouped(items: Sequence[T], group_of: Callable[[T], str]) -> list[dict[str, Any]]:
    """Items by ask group for the templates, ``[{"key": "forward", "members": [...]}]``, in the lecture's order
    (the templates name each group and lay its members out)."""
    return [{"key": group, "members": members} for group in ASK_GROUPS
            if (members := [item for item in items if group_of(item) == group])]


def asked_names(network: Network, ask: Sequence[str]) -> list[tuple[str, list[str]]]:
    """[(group, [quantity names])] in the lecture's order; frozen parameters' updates are not asked."""
    out = []
    frozen = network.spec.frozen
    for group in ask:
        kinds = ASK_GROUPS[group]
        names = [q.name for q in network.quantities.values() if q.kind in kinds]
        if group in ("update", "gradients"):  # w5' and dE/dw5 of a frozen w5
            names = [n for n in names if network[n].of not in frozen]
        if names:
            out.append((group, names))
    return out

