"""The output/loss table is derived at build time and shipped (issue 11): the shipped file equals a fresh
derivation, its closed forms are right by an independent calculation, it is read back only as data, and
nothing is cached on the user's disk."""

from __future__ import annotations

import copy
import importlib.resources
import json

import pytest
import sympy

from symbackprop.documents.context import loss_table
from symbackprop.documents.handout import render_worksheet
from symbackprop.engine import losstable as tables
from symbackprop.engine.derive import derive
from symbackprop.engine.generate import new_spec
from symbackprop.engine.losstable import PAIRS, derive_table, dumps_table, from_tree, loss_pairs, parse_table, to_tree
from symbackprop.engine.printer import condition_latex, printer_for
from symbackprop.engine.spec import loads_spec


@pytest.fixture(scope="module")
def derived():
    return derive_table()


def _shipped_text() -> str:
    return importlib.resources.files("symbackprop.data").joinpath(tables.FILE).read_text(encoding="utf-8")


def test_the_shipped_file_is_a_fresh_derivation(derived):
    """If this fails, the derivation or the printer changed: run ``python -m symbackprop.engine.losstable``."""
    assert _shipped_text() == dumps_table(derived)
    assert tables.main(["--check"]) == 0


def test_the_build_step_says_how_it_is_used(capsys):
    assert tables.main(["--bogus"]) == 2
    assert "usage: python -m symbackprop.engine.losstable" in capsys.readouterr().err


# -- the closed forms, against SymPy from scratch (not the core's networks or delta rules) ------------

_Z = sympy.symbols("z1 z2", real=True)
_T = sympy.symbols("t1 t2", real=True)


def _outputs(output: str) -> list[sympy.Expr]:
    if output == "softmax":
        return [sympy.exp(z) / sum(sympy.exp(v) for v in _Z) for z in _Z]
    return [1 / (1 + sympy.exp(-z)) if output == "sigmoid" else z for z in _Z]


def _loss(loss: str, a: list[sympy.Expr]) -> sympy.Expr:
    terms = {"half_sse": lambda y, t: (y - t) ** 2 / 2,
             "bce": lambda y, t: -(t * sympy.log(y) + (1 - t) * sympy.log(1 - y)),
             "cross_entropy": lambda y, t: -t * sympy.log(y)}[loss]
    return sum(terms(y, t) for y, t in zip(a, _T, strict=True))


def _at(expr: sympy.Expr, a: list[sympy.Expr], point: dict[sympy.Symbol, sympy.Rational]) -> sympy.Float:
    """``expr`` over the table's names (yhat1, t1, ...) with yhat_j := a_j(z), at ``point``."""
    names = {sympy.Symbol(f"yhat{j}", real=True): a[j - 1] for j in (1, 2)}
    names |= {sympy.Symbol(f"t{j}", real=True): _T[j - 1] for j in (1, 2)}
    return sympy.N(expr.xreplace(names).xreplace(point), 40)


@pytest.mark.parametrize("pair", loss_pairs(), ids=lambda p: f"{p.output}+{p.loss}")
def test_each_closed_form_is_the_derivative_of_its_loss(pair):
    a = _outputs(pair.output)
    reference = _loss(pair.loss, a)
    slope = sympy.diff(reference, _Z[0])
    for z1, z2, t1 in [(sympy.Rational(3, 10), sympy.Rational(-7, 5), sympy.Rational(1, 4)),
                       (sympy.Rational(-2), sympy.Rational(1, 3), sympy.Rational(9, 10))]:
        # the condition (softmax + cross-entropy: targets sum to 1) is honoured; t2 is free otherwise
        t2 = 1 - t1 if pair.condition is not None else sympy.Rational(2, 3)
        point = {_Z[0]: z1, _Z[1]: z2, _T[0]: t1, _T[1]: t2}
        assert abs(_at(pair.loss_expr, a, point) - sympy.N(reference.xreplace(point), 40)) < 1e-30
        assert abs(_at(pair.delta_expr, a, point) - sympy.N(slope.xreplace(point), 40)) < 1e-30
    if pair.condition is not None:
        point = {_Z[0]: sympy.Rational(1, 2), _Z[1]: 0, _T[0]: sympy.Rational(1, 4), _T[1]: sympy.Rational(1, 4)}
        assert abs(_at(pair.delta_expr, a, point) - sympy.N(slope.xreplace(point), 40)) > 1e-3


def test_softmax_cross_entropy_alone_carries_a_condition():
    assert [p.condition is not None for p in loss_pairs()] == [o == "softmax" for o, _, _ in PAIRS]


# -- read back as data: rebuilt exactly, printed by the project's printer, nothing else accepted -------

def test_trees_rebuild_the_derived_expressions_and_print_alike():
    rows = loss_table()
    for (output, loss, title), row in zip(PAIRS, rows, strict=True):
        spec = loads_spec(new_spec([1, 2], activation="sigmoid", loss=loss, output=output), source="t")
        network = derive(spec, prove=False).network
        delta = network["dE/dz_o1"]
        definition = network[network.loss_name].definition
        names = tables.table_names()
        assert from_tree(to_tree(definition), names) == definition
        assert from_tree(to_tree(delta.explicit), names) == delta.explicit
        printer = printer_for(network)
        assert row == {"title": title, "output": output, "loss_name": loss, "loss": printer.doprint(definition),
                       "delta_name": delta.latex,
                       "delta": printer.doprint(delta.explicit),
                       "condition": condition_latex(printer, delta.condition)}


def _nested(depth: int) -> list:
    tree: list = ["Symbol", "t1"]
    for _ in range(depth):
        tree = ["Add", tree, ["Symbol", "t2"]]
    return tree


def _tampered(rows: list, kind: str) -> list:
    rows = copy.deepcopy(rows)
    hostile = {
        "latex-name": ["Symbol", "\\input{/etc/hostname}"],
        "unknown-name": ["Symbol", "w1"],
        "function": ["Function", "os.system", ["Symbol", "t1"]],
        "float": ["Integer", 0.5],
        "bool": ["Integer", True],
        "huge": ["Integer", 10**400],
        "zero-denominator": ["Rational", 1, 0],
        "bare-string": "t1",
        "empty": [],
        "deep": _nested(600),
    }
    if kind in hostile:
        rows[0]["delta_expr"] = hostile[kind]
    elif kind == "order":
        rows[0], rows[1] = rows[1], rows[0]
    elif kind == "extra-key":
        rows[0]["latex"] = "\\input{/etc/hostname}"
    elif kind == "missing-row":
        rows.pop()
    elif kind == "delta-of":
        rows[0]["delta_of"] = "x1}\\input{x"
    elif kind == "condition-not-equation":
        rows[2]["condition"] = ["Symbol", "t1"]
    return rows


@pytest.mark.parametrize("kind", ["latex-name", "unknown-name", "function", "float", "bool", "huge",
                                  "zero-denominator", "bare-string", "empty", "deep", "order", "extra-key",
                                  "missing-row", "delta-of", "condition-not-equation"])
def test_anything_but_the_table_is_refused(kind):
    rows = json.loads(_shipped_text())
    parse_table(rows)  # the shipped rows pass ...
    with pytest.raises(ValueError, match="loss table"):
        parse_table(_tampered(rows, kind))  # ... an edited copy does not


def test_a_tree_is_bounded():
    wide = ["Add", *(["Symbol", "t1"] for _ in range(600))]
    with pytest.raises(ValueError, match="loss table"):
        from_tree(wide, tables.table_names())


def test_nothing_is_written_to_the_users_disk(tmp_path, monkeypatch, lecture):
    home, cache = tmp_path / "home", tmp_path / "cache"
    home.mkdir()
    cache.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(cache))
    loss_table.cache_clear()
    loss_pairs.cache_clear()
    assert "Softmax + cross-entropy (mutually exclusive)" in render_worksheet(lecture)
    assert not any(home.iterdir()) and not any(cache.iterdir())
