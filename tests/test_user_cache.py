"""The user cache is never trusted (issue 10, item 19): a loss table read from it is used only when it is
one the derivation could print, and only from files and folders nobody else may write."""

from __future__ import annotations

import json
import os

import pytest

from symbackprop import context, usercache
from symbackprop.context import _derivation_key, derive_loss_table, loss_table, valid_loss_table
from symbackprop.handout import render_worksheet


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    loss_table.cache_clear()
    yield tmp_path / "symbackprop"
    loss_table.cache_clear()


def _derived() -> list[list[str]]:
    return [[str(c) for c in row] for row in derive_loss_table()]


def test_the_derived_table_passes_the_check():
    """If this fails, the printer now writes a command the check does not know: add it to
    context._CELL_COMMANDS if it is harmless (else every run derives the table again)."""
    assert valid_loss_table(_derived())


def _tampered(kind: str) -> list[list[str]]:
    rows = _derived()
    if kind == "title":
        rows[0][0] = "Sigmoid \\input{/etc/hostname}"
    elif kind == "rows":
        rows.append(rows[0])
    else:
        rows[1][1] = rows[1][1][:-1] + {
            "input": " \\input{/etc/hostname}$",
            "directlua": " \\directlua{os.exit(3)}$",
            "hat-hat": " ^^5cinput{/etc/hostname}$",
            "catcode": " \\catcode`\\%=11$",
            "brace": " }}$",
            "dollar": " $ \\def\\x{y}$",
            "comment": " % hidden$",
            "not-a-string": "$",
        }[kind]
        if kind == "not-a-string":
            rows[1][1] = 3  # type: ignore[call-overload]
    return rows


@pytest.mark.parametrize("kind", ["title", "rows", "input", "directlua", "hat-hat", "catcode", "brace", "dollar",
                                  "comment", "not-a-string"])
def test_an_edited_cache_file_is_ignored_and_rederived(cache, kind):
    tampered = _tampered(kind)
    assert not valid_loss_table(tampered)
    cache.mkdir(mode=0o700)
    path = cache / f"loss-table-{_derivation_key()}.json"
    path.write_text(json.dumps(tampered), encoding="utf-8")
    path.chmod(0o600)
    assert [[str(c) for c in row] for row in loss_table()] == _derived()
    assert json.loads(path.read_text(encoding="utf-8")) == _derived()  # replaced by the derived table


def test_an_edited_cache_never_reaches_the_handout(cache, lecture):
    cache.mkdir(mode=0o700)
    rows = _derived()
    rows[0][1] = "$\\input{/etc/hostname}$"
    (cache / f"loss-table-{_derivation_key()}.json").write_text(json.dumps(rows), encoding="utf-8")
    tex = render_worksheet(lecture)
    assert "\\input{/etc/hostname}" not in tex and derive_loss_table()[0][1] in tex


def test_a_valid_cache_file_is_used(cache, monkeypatch):
    cache.mkdir(mode=0o700)
    (cache / f"loss-table-{_derivation_key()}.json").write_text(json.dumps(_derived()), encoding="utf-8")
    monkeypatch.setattr(context, "derive_loss_table", lambda: pytest.fail("derived despite a valid cache"))
    assert [[str(c) for c in row] for row in loss_table()] == _derived()


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_files_or_folders_others_may_write_are_not_used(cache):
    folder = usercache.private_dir()
    assert folder == cache and (cache.stat().st_mode & 0o777) == 0o700
    usercache.write_json("x.json", [1])
    assert usercache.read_json("x.json") == [1]
    (cache / "x.json").chmod(0o666)
    assert usercache.read_json("x.json") is None
    (cache / "x.json").chmod(0o600)
    cache.chmod(0o777)
    assert usercache.read_json("x.json") is None and usercache.private_dir("jinja") is None
    cache.chmod(0o700)
    (cache / "link.json").symlink_to(cache / "x.json")
    assert usercache.read_json("link.json") is None
