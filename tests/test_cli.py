"""The command line: check/export/new, exit codes, and one clear line for every bad input."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from symbackprop.cli import main
from symbackprop.engine.spec import lecture_text

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_lecture(capsys):
    code, out, err = run(capsys, "check")
    assert code == 0 and err == ""
    lines = out.splitlines()
    assert lines[0].split() == ["gradient", "chain", "rule", "value", "proof", "status"]
    rows = {line.split()[0]: line.split() for line in lines[2:11]}
    assert rows["dE/dw5"] == ["dE/dw5", "dE/dz_o*h1", "0.028", "symbolic", "proven"]
    assert rows["dE/dw2"][2] == "0.000" and rows["dE/dw4"][2] == "0.001"
    assert "9 of 9 gradients proven" in out


def test_export_json(capsys):
    code, out, _ = run(capsys, "export")
    assert code == 0
    data = json.loads(out)
    q = {item["name"]: item for item in data["quantities"]}
    assert q["dE/dw5"]["display"] == "0.028"
    assert q["dE/dw5"]["latex"] == r"\frac{\partial E}{\partial w_{5}}"
    assert q["dE/dw5"]["formula"] == r"\frac{\partial E}{\partial z_{o}} h_{1}"
    for item in data["quantities"]:  # every value carries at least 30 significant digits
        assert len(item["value"].lstrip("-0.").replace(".", "")) >= 30, item["name"]
    assert q["dE/dw5"]["value"].startswith("0.02785931616498737129702940119")
    assert q["z_h1"]["value"] == "0.3775" + "0" * 36 and q["z_h1"]["exact"] is True  # exact: 40 digits
    net = data["network"]
    assert net["loss"] == "half_sse" and net["learning_rate"] == "0.5" + "0" * 39
    assert [u["act"] for u in net["units"]] == ["x1", "x2", "h1", "h2", "yhat"]
    assert net["units"][2] == {"layer": 1, "unit": 1, "activation": "sigmoid", "act": "h1", "pre": "z_h1"}
    w5 = next(p for p in net["parameters"] if p["name"] == "w5")
    assert w5 == {"name": "w5", "kind": "weight", "layer": 2, "to_units": [1], "from_unit": 1,
                  "frozen": False, "value": "0.4" + "0" * 39}
    assert len(data["proofs"]) == 9


def test_new_prints_a_valid_deterministic_spec(capsys, tmp_path):
    code, out, _ = run(capsys, "new", "--layers", "2,2,1", "--activation", "sigmoid",
                       "--loss", "half_sse", "--seed", "1")
    assert code == 0
    again = run(capsys, "new", "--layers", "2,2,1", "--activation", "sigmoid", "--loss", "half_sse",
                "--seed", "1")[1]
    assert out == again
    assert run(capsys, "new", "--seed", "2")[1] != out
    spec = tmp_path / "new.toml"
    spec.write_text(out)
    assert run(capsys, "check", str(spec))[0] == 0
    # nice values: multiples of 0.05
    from symbackprop.engine.spec import load_spec

    loaded = load_spec(spec)
    assert all((v * 20).is_integer for v in loaded.parameters.values())
    assert loaded.notation.scheme == "sequential"


def test_new_large_uses_indexed_naming(capsys, tmp_path):
    code, out, _ = run(capsys, "new", "--layers", "8,16,16,4", "--activation", "tanh", "--seed", "3")
    assert code == 0 and 'scheme = "indexed"' in out and '"w(3)[4,16]"' in out
    spec = tmp_path / "big.toml"
    spec.write_text(out)
    code, out, _ = run(capsys, "check", str(spec))
    assert code == 0 and "484 of 484 gradients proven" in out
    assert "local+ad" in out


@pytest.mark.parametrize("layers, activation, loss", [
    ("3,2", "relu", "mse"), ("2,3,2", "softplus", "bce"), ("2,2,3", "leaky_relu", "cross_entropy"),
    ("1,1,1", "identity", "half_sse"),
])
def test_new_every_activation_and_loss_checks(capsys, tmp_path, layers, activation, loss):
    out = run(capsys, "new", "--layers", layers, "--activation", activation, "--loss", loss)[1]
    (tmp_path / "s.toml").write_text(out)
    assert run(capsys, "check", str(tmp_path / "s.toml"))[0] == 0


def _lecture_with(old: str, new: str) -> str:
    text = lecture_text()
    assert old in text
    return text.replace(old, new)


BAD_SPECS = {
    "unknown activation": (_lecture_with('units = 2, activation = "sigmoid"', 'units = 2, activation = "sigmod"'),
                           "network.layers[1].activation: unknown value 'sigmod'"),
    "unknown loss": (_lecture_with('loss = "half_sse"', 'loss = "hinge"'), "loss: unknown value 'hinge'"),
    "softmax hidden": (_lecture_with('units = 2, activation = "sigmoid"', 'units = 2, activation = "softmax"'),
                       "softmax is allowed on the output layer only"),
    "missing parameter": (_lecture_with("w3 = 0.25\n", ""), "parameters.w3: missing value"),
    "extra parameter": (_lecture_with("w3 = 0.25\n", "w3 = 0.25\nw9 = 0.1\n"),
                        "parameters.w9: no such parameter in this network"),
    "not a number": (_lecture_with("w3 = 0.25", 'w3 = "abc"'), "parameters.w3: 'abc' is not a number"),
    "nan": (_lecture_with("w3 = 0.25", "w3 = nan"), "parameters.w3: 'nan' is not a number"),
    "infinity": (_lecture_with("w3 = 0.25", "w3 = inf"), "parameters.w3: 'inf' is not a number"),
    "bce target": (_lecture_with('loss = "half_sse"', 'loss = "bce"').replace("t = 0.50", "t = 1.5"),
                   "examples[1].t: bce needs targets in [0, 1]"),
    "bce on identity": (_lecture_with('units = 1, activation = "sigmoid"', 'units = 1, activation = "identity"')
                        .replace('loss = "half_sse"', 'loss = "bce"'), "bce needs outputs in (0, 1)"),
    "empty layer": (_lecture_with("units = 2,", "units = 0,"),
                    "network.layers[1].units: a layer needs at least one unit"),
    "malformed": ("title = \n", "malformed TOML"),
    "unknown field": ("foo = 1\n" + lecture_text(), "foo: unknown field"),
}


@pytest.mark.parametrize("case", sorted(BAD_SPECS))
def test_bad_spec_gets_one_line_and_exit_2(capsys, tmp_path, case):
    text, message = BAD_SPECS[case]
    path = tmp_path / "bad.toml"
    path.write_text(text)
    code, out, err = run(capsys, "check", str(path))
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "Traceback" not in err
    assert message in err, err


def test_cross_entropy_targets_must_be_a_distribution(capsys, tmp_path):
    text = (EXAMPLES / "lecture_2out_softmax_ce.toml").read_text().replace("t2 = 1", "t2 = 0.5")
    (tmp_path / "ce.toml").write_text(text)
    code, _, err = run(capsys, "check", str(tmp_path / "ce.toml"))
    assert code == 2 and "cross_entropy needs targets that form a distribution" in err


def test_missing_file_and_bad_flags(capsys, tmp_path):
    code, _, err = run(capsys, "check", str(tmp_path / "nope.toml"))
    assert code == 2 and "no such spec file" in err
    code, _, err = run(capsys, "new", "--layers", "2,x")
    assert code == 2 and err.startswith("symbackprop: error: --layers")
    code, _, err = run(capsys, "bogus")
    assert code == 2 and err.count("\n") == 1


def test_bare_command_prints_usage_and_the_commands(capsys):
    code, out, err = run(capsys)
    assert code == 0 and err == ""  # the same as --help (stdout, exit 0), as pip and argparse's -h do
    assert out.startswith("usage: symbackprop [-h] [--version] COMMAND ...\n")
    for command in ("check", "export", "new", "worksheet", "verify", "snippet", "slides", "exam"):
        assert f"\n    {command}" in out, command
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    assert done.value.code == 0 and capsys.readouterr().out == out


def test_readme_fresh_machine_line_names_every_package_ci_installs():
    import re

    root = EXAMPLES.parent
    ci = (root / ".ci" / "run").read_text(encoding="utf-8")
    lists = re.findall(r"^[A-Z_]+_APT_PACKAGES=\(([^)]*)\)", ci, flags=re.M)
    assert len(lists) == 4  # TeX, Python, node, browser
    wanted = [name for block in lists for name in block.split()]
    assert {"python3-venv", "nodejs", "npm", "latexmk", "chromium", "chromium-driver"} <= set(wanted)
    readme = (root / "README.md").read_text(encoding="utf-8")
    line = next(line for line in readme.splitlines() if line.startswith("sudo apt-get install"))
    assert line.split()[4:] == wanted


def test_binary_spec_file(capsys, tmp_path):
    (tmp_path / "bin.toml").write_bytes(b"\x00\xff\xfe" * 100)
    code, _, err = run(capsys, "check", str(tmp_path / "bin.toml"))
    assert code == 2 and "bin.toml: a binary file, not a spec file (TOML text)" in err


def test_mismatch_exits_1(capsys, monkeypatch):
    """A wrong chain rule (sigma' written as a(1 + a)) is caught by the proof: exit 1."""
    from symbackprop.engine import activations

    wrong = activations.Activation("sigmoid", activations.sigma, lambda a, z: a * (1 + a), "", "(0, 1)")
    monkeypatch.setitem(activations.ELEMENTWISE, "sigmoid", wrong)
    code, out, err = run(capsys, "check")
    assert code == 1 and "sympy.diff of the loss and the chain-rule formula differ" in err


def test_mismatch_in_a_large_network_is_caught_by_local_rules(capsys, monkeypatch, tmp_path):
    from symbackprop.engine import activations

    out = run(capsys, "new", "--layers", "4,8,8,2", "--activation", "tanh")[1]
    (tmp_path / "s.toml").write_text(out)
    wrong = activations.Activation("tanh", activations.tanh, lambda a, z: 1 - a, "", "(-1, 1)")
    monkeypatch.setitem(activations.ELEMENTWISE, "tanh", wrong)
    code, _, err = run(capsys, "check", str(tmp_path / "s.toml"))
    assert code == 1 and "local rule failed" in err


def test_python_dash_m_and_no_traceback(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text(_lecture_with("w3 = 0.25", "w3 = nan"))
    done = subprocess.run([sys.executable, "-m", "symbackprop", "check", str(bad)],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip() == f"symbackprop: error: {bad}: parameters.w3: 'nan' is not a number"
    ok = subprocess.run([sys.executable, "-m", "symbackprop", "check"], capture_output=True, text=True, timeout=120)
    assert ok.returncode == 0 and "9 of 9" in ok.stdout


def test_textbook_renames(capsys, tmp_path):
    text = lecture_text().replace('scheme = "sequential"', 'scheme = "sequential"\nloss = "L"\ntarget = "y"')
    text = text.replace("t = 0.50", "y = 0.50")
    (tmp_path / "r.toml").write_text(text)
    code, out, _ = run(capsys, "check", str(tmp_path / "r.toml"))
    assert code == 0 and "dL/dw5    dL/dz_o*h1" in out


def test_colliding_notation_letters(capsys, tmp_path):
    text = lecture_text().replace('scheme = "sequential"', 'scheme = "sequential"\npre = "z"\nact = "z"')
    (tmp_path / "c.toml").write_text(text)
    code, _, err = run(capsys, "check", str(tmp_path / "c.toml"))
    assert code == 2 and "notation: two quantities would both be called" in err



#: Strings below the CLI that may spell a flag: the losstable module's own ``__main__``, and the
#: generated spec's header comment, which records the command that made it.
_MAY_SPELL_FLAGS = {"engine/losstable.py": (), "engine/generate.py": ("# Generated by symbackprop new",)}


def _strings_spelling_flags(path: Path) -> list[str]:
    """String constants (docstrings left out) holding ``--word``."""
    import ast
    import re

    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {id(node.body[0].value) for node in ast.walk(tree)
                  if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
                  and node.body and isinstance(node.body[0], ast.Expr) and isinstance(node.body[0].value, ast.Constant)}
    inside = {id(part) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for part in node.values}
    texts = ["".join(p.value if isinstance(p, ast.Constant) else "{}" for p in node.values)
             if isinstance(node, ast.JoinedStr) else node.value for node in ast.walk(tree)
             if isinstance(node, ast.JoinedStr) or (isinstance(node, ast.Constant) and isinstance(node.value, str)
                                                     and id(node) not in docstrings and id(node) not in inside)]
    return [text for text in texts if re.search(r"(^|[\s(])--[a-z]", text)]


def test_only_the_cli_names_flags():
    """Messages below cli.py name the setting (``variants``); the CLI puts the flag in its place."""
    package = Path(__file__).resolve().parent.parent / "symbackprop"
    found = {}
    for path in sorted(package.rglob("*.py")):
        rel = path.relative_to(package).as_posix()
        allowed = _MAY_SPELL_FLAGS.get(rel)
        texts = [t for t in _strings_spelling_flags(path) if allowed is None or not t.startswith(allowed)]
        if rel != "cli.py" and texts and allowed != ():
            found[rel] = texts
    assert found == {}


@pytest.mark.parametrize(("argv", "message"), [
    (["new", "--layers", "2,0"], "--layers: every size must be at least 1"),
    (["exam", "--ask", "forward,nope", "-o", "{tmp}/set"], "--ask: unknown group 'nope'"),
    (["exam", "--roster", "{tmp}/none.csv", "-o", "{tmp}/set"], "--roster {tmp}/none.csv: no such roster"),
    (["worksheet", "--chain", "w9", "-o", "{tmp}"], "--chain: no parameter 'w9' (did you mean 'w6'?)"),
])
def test_the_cli_puts_its_flag_in_place_of_the_setting(capsys, tmp_path, argv, message):
    assert main([a.replace("{tmp}", str(tmp_path)) for a in argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith("symbackprop: error: " + message.replace("{tmp}", str(tmp_path)))
    assert err.count("\n") == 1 and list(tmp_path.iterdir()) == []


def test_api_errors_name_the_setting_not_the_flag():
    from symbackprop.engine.examtable import parse_ask
    from symbackprop.errors import SymbackpropError
    from symbackprop.exam.build import build_exam
    from symbackprop.exam.roster import loads_roster

    for call, start in ((lambda: parse_ask("nope"), "ask: unknown group 'nope'"),
                        (lambda: loads_roster("", "class.csv"), "roster class.csv: empty roster"),
                        (lambda: build_exam(None, variants=0), "variants must be at least 1, got 0")):
        with pytest.raises(SymbackpropError) as err:
            call()
        assert str(err.value).startswith(start) and "--" not in str(err.value)


@pytest.mark.parametrize("argv, wanted", [
    (["chek"], "unknown value 'chek' (did you mean 'check'? expected one of: check, export,"),
    (["worksheet", "--format", "mdd"], "unknown value 'mdd' (did you mean 'md'? expected one of: tex, md)"),
    (["worksheet", "--sections", "forwrd"], "unknown section 'forwrd' (did you mean 'forward'? expected some of:"),
    (["snippet", "dE/dw1", "--form", "chian"], "(did you mean 'chain'? expected one of: symbolic, chain,"),
    (["snippet", "dE/dw11"], "unknown quantity 'dE/dw11' (did you mean 'dE/dw1'?)"),
    (["new", "--activation", "tahn"], "unknown hidden activation 'tahn' (did you mean 'tanh'? expected one of:"),
    (["new", "--loss", "mse2"], "unknown loss 'mse2' (did you mean 'mse'? expected one of: half_sse,"),
    (["new", "--scheme", "indexd"], "unknown value 'indexd' (did you mean 'indexed'? expected one of:"),
    (["exam", "--ask", "forwad", "-o", "{tmp}/x"], "unknown group 'forwad' (did you mean 'forward'? expected some of:"),
    (["check", "{tmp}/titel.toml"], "titel: unknown field (did you mean 'title'? expected one of: author,"),
    (["check", "{tmp}/exam.toml"], "exam.max_draw: unknown field (did you mean 'max_draws'? expected one of:"),
    (["check", "{tmp}/loss.toml"], "loss: unknown value 'halfsse' (did you mean 'half_sse'? expected one of:"),
])
def test_every_unknown_name_gets_the_closest_one(capsys, tmp_path, argv, wanted):
    """Flags, commands, sections, fields and values: one wording, the closest name first (hints.expected)."""
    text = lecture_text()
    (tmp_path / "titel.toml").write_text(text.replace("title =", "titel =", 1), encoding="utf-8")
    (tmp_path / "exam.toml").write_text(text + "\n[exam]\nmax_draw = 5\n", encoding="utf-8")
    (tmp_path / "loss.toml").write_text(f'loss = "halfsse"\n{text.replace("loss =", "# loss =")}', encoding="utf-8")
    code, _, err = run(capsys, *(a.replace("{tmp}", str(tmp_path)) for a in argv))
    assert code == 2 and err.count("\n") == 1 and wanted in err, err


def test_did_you_mean_lives_in_hints_only():
    import re

    source = Path(__file__).resolve().parent.parent / "symbackprop"
    for path in source.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        if path.name != "hints.py":
            assert "difflib" not in text and "def did_you_mean" not in text, path
            for module in re.findall(r"^from (\S+) import [^\n]*\bdid_you_mean\b", text, flags=re.M):
                assert module.endswith("hints"), (path, module)
