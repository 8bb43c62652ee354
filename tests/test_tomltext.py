"""The one TOML writer: what it writes, Python's own TOML reader reads back as it was meant."""

from __future__ import annotations

import tomllib

import pytest

from symbackprop.io.tomltext import Bare, Table, toml_document, toml_key, toml_string, toml_value

AWKWARD = ['plain', 'say "hi"', "back\\slash", "tab\there", "bell\x07", "del\x7f", "Zoë Ελένη 王", "", "#not a comment"]


@pytest.mark.parametrize("text", AWKWARD)
def test_a_string_reads_back_as_written(text):
    assert tomllib.loads(f"v = {toml_string(text)}")["v"] == text
    assert tomllib.loads(f"{toml_key(text)} = 1") == {text: 1}


def test_keys_are_bare_only_where_toml_allows():
    assert toml_key("w5") == "w5"
    assert toml_key("dE/dw5") == '"dE/dw5"'
    assert toml_key("w(1)[2,3]") == '"w(1)[2,3]"'
    assert toml_key("é") == '"é"'  # isalnum, but not a bare-key character


def test_values():
    assert toml_value(Bare("0.05")) == "0.05"
    assert toml_value(True) == "true" and toml_value(3) == "3"
    assert toml_value([]) == "[]" and toml_value(["a", "b"]) == '["a", "b"]'
    assert toml_value({"units": 2, "activation": "relu"}) == '{ units = 2, activation = "relu" }'
    with pytest.raises(TypeError):
        toml_value(0.5)  # no float ever reaches a file


def test_a_document_reads_back_and_keeps_its_layout():
    text = toml_document(["# made by a test"], {"title": 'a "b"', "rate": Bare("0.5")},
                         [Table("[network]", {"layers": [{"units": 2}, {"units": 1}], "frozen": ["w1"]}),
                          Table("[values]", [("z_h1", "0.378"), ("dE/dw5", "0.028")], quote_keys=True),
                          Table("[[examples]]", {"x1": Bare("0.05")}), Table("[[examples]]", {"x1": Bare("0.9")})])
    assert tomllib.loads(text, parse_float=str) == {
        "title": 'a "b"', "rate": "0.5", "network": {"layers": [{"units": 2}, {"units": 1}], "frozen": ["w1"]},
        "values": {"z_h1": "0.378", "dE/dw5": "0.028"}, "examples": [{"x1": "0.05"}, {"x1": "0.9"}]}
    assert text.splitlines()[:4] == ["# made by a test", 'title = "a \\"b\\""', "rate = 0.5", ""]
    assert '"z_h1" = "0.378"' in text and "layers = [\n  { units = 2 },\n  { units = 1 },\n]" in text
    assert toml_document(["# c"], {}, [Table("[sheet]", {"a": "b"})]) == '# c\n[sheet]\na = "b"\n'
