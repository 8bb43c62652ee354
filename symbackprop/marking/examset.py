"""An exam folder as the marker reads it: which student has which variant, and what each variant asks.

``index.csv`` (written by ``symbackprop exam``) maps students to variants; each variant's spec (a
network or any graph kind) is ``variants/vNNN.toml`` and its key ``answers/vNNN.toml``, whose value
names (in order) are the asked quantities, the order of a Moodle Cloze question's parts.  Variants
are solved when first needed.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from pathlib import Path

from ..engine.derive import structure
from ..engine.graph import GraphSolution, solve_graph, solve_graph_values
from ..engine.graphspec import GraphSpec
from ..engine.kinds import load_any
from ..engine.solution import Solution, solve, solve_values
from ..errors import ExamError
from ..hints import quoted
from ..io.files import InputKind, read_input
from .answers import load_answers

__all__ = ["ExamFolder", "SetVariant", "load_exam_folder", "student_key"]

INDEX_COLUMNS = ("variant", "seed", "student_id", "student_name", "answers")
MAX_INDEX_BYTES = 20_000_000


def student_key(ident: str) -> str:
    """How ids are compared: case and surrounding spaces do not count (``Ada@Uni.edu`` = ``ada@uni.edu``)."""
    return " ".join(ident.split()).casefold()


@dataclass(frozen=True)
class SetVariant:
    """One variant of the set: its label, its student (if a roster was given), what it asks."""

    label: str  # "007"
    student_id: str
    student_name: str
    spec_path: Path
    asked: tuple[str, ...]
    keys: tuple[str, ...]  # the key's displayed values, in the order of ``asked``


@dataclass
class ExamFolder:
    path: Path
    variants: dict[str, SetVariant]  # by label
    by_student: dict[str, str]  # student_key(id) -> label
    _solved: dict[str, Solution | GraphSolution] = field(default_factory=dict)
    _bases: dict[tuple[object, ...], Solution | GraphSolution] = field(default_factory=dict)  # by structure

    @property
    def has_roster(self) -> bool:
        return bool(self.by_student)

    def solution(self, label: str) -> Solution | GraphSolution:
        """The variant's exact solution (solved once, without the proofs the marking does not need).

        The variants of a set share their network and differ only in the leaf values (weights,
        inputs, targets, learning rate), which the evaluation reads from ``network.spec``: the
        derivation (the chain rule, most of the work) is done once per network and each variant
        evaluated on it."""
        if label not in self._solved:
            spec = load_any(self.variants[label].spec_path)
            if isinstance(spec, GraphSpec):  # a graph's variants share its nodes: the gradients derived once
                key: tuple[object, ...] = ("graph", spec.kind, tuple((n.name, n.definition) for n in spec.nodes))
                graph_base = self._bases.get(key)
                self._solved[label] = (solve_graph(spec, prove=False) if not isinstance(graph_base, GraphSolution)
                                       else solve_graph_values(graph_base, spec))
                self._bases.setdefault(key, self._solved[label])
                return self._solved[label]
            shape = structure(spec)
            base = self._bases.get(shape)
            if not isinstance(base, Solution):
                self._solved[label] = self._bases[shape] = solve(spec, prove=False)
            else:
                self._solved[label] = solve_values(base, spec)
        return self._solved[label]

    def variant_of(self, text: str) -> str | None:
        """``"7"``, ``"007"`` or ``"v007"`` -> ``"007"`` when the set has that variant."""
        digits = text.strip().lower().removeprefix("v")
        if not digits.isdigit():
            return None
        for label in (digits, digits.zfill(3), str(int(digits)).zfill(3)):
            if label in self.variants:
                return label
        return None


def load_exam_folder(folder: str | Path) -> ExamFolder:
    """Read ``index.csv`` and every variant's key; a problem is one line naming the file and the field."""
    root = Path(folder)
    where = f"{root}/index.csv"
    if not root.is_dir():
        raise ExamError(f"{root}: not a folder (give the folder `symbackprop exam` wrote)")
    if not (root / "index.csv").is_file():
        raise ExamError(f"{where}: no such file; is {root} an exam folder?")
    text = read_input(root / "index.csv", InputKind("exam index", "CSV", ExamError), limit=MAX_INDEX_BYTES)
    try:
        rows = list(csv.DictReader(io.StringIO(text)))
    except csv.Error as err:
        raise ExamError(f"{where}: not valid CSV: {err}") from None
    if not rows or any(c not in (rows[0].keys()) for c in INDEX_COLUMNS):
        raise ExamError(f"{where}: expected the columns {', '.join(INDEX_COLUMNS)} (as `symbackprop exam` "
                        "writes them)")
    variants: dict[str, SetVariant] = {}
    by_student: dict[str, str] = {}
    for line, row in enumerate(rows, start=2):
        label = (row["variant"] or "").strip()
        if not label.isdigit() or label in variants:
            raise ExamError(f"{where}: row {line}: variant {quoted(label)} is not a new variant number")
        key = load_answers(root / (row["answers"] or ""))
        values = [e for e in key.entries if e.form == "value"]
        spec_path = root / "variants" / f"v{label}.toml"
        if not spec_path.is_file():
            raise ExamError(f"{where}: row {line}: variants/v{label}.toml is missing")
        student_id = (row["student_id"] or "").strip()
        variants[label] = SetVariant(label, student_id, (row["student_name"] or "").strip(), spec_path,
                                     tuple(e.name for e in values), tuple(e.text for e in values))
        if student_id:
            by_student[student_key(student_id)] = label
    return ExamFolder(root, variants, by_student)
