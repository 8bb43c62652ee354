"""Exams of computation graphs: fair, distinct variants whose keys agree with a hand-written evaluation of
each drawn graph (mpmath at 50 digits, Fractions where exact), LMS files that parse, bad input in one line."""

from __future__ import annotations

import csv
import io
import json
import re
import tomllib
import xml.etree.ElementTree as ET
import zipfile
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import mpmath
import pytest
from example_specs import graph_specs

from symbackprop.cli import main
from symbackprop.engine.kinds import loads_graph
from symbackprop.exam.build import build_exam
from symbackprop.exam.qti import QTI_NS

ROOT = Path(__file__).resolve().parent.parent
CS231N = ROOT / "examples" / "graph_cs231n.toml"
SHARED_MAX = """
[graph]
title = "A shared weight and a max gate"
decimals = 2
inputs = { x = 1.5, y = -0.5 }
parameters = { w = 0.5, b = 0.5 }

[graph.nodes]
p = "w * x"
q = "w * y"
m = "max(p, q)"
s = "m + b"
t = "sigmoid(s)"
f = "t * w"
"""
CLOZE = re.compile(r"\{1:NUMERICAL:=(-?\d+\.\d+):(\d+\.\d+)(?:~%50%(-?\d+\.\d+):\d+\.\d+#[^}]*)?\}")
DIGITS = 50


def _half_up(value: mpmath.mpf | Fraction, places: int) -> str:
    """Half-up at ``places`` decimals, from 40 significant digits (no float); never ``-0.00``."""
    text = mpmath.nstr(value, 40, strip_zeros=False) if isinstance(value, mpmath.mpf) else \
        str(Decimal(value.numerator) / Decimal(value.denominator))
    shown = Decimal(text).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP)
    return f"{abs(shown) if shown.is_zero() else shown:f}"


def _leaves(variant_toml: str) -> dict[str, Fraction]:
    """The drawn inputs and parameters, read with tomllib (not the project's reader), as exact Fractions."""
    graph = tomllib.loads(variant_toml, parse_float=Fraction)["graph"]
    return {k: Fraction(v) for table in ("inputs", "parameters") for k, v in graph.get(table, {}).items()}


def _sigmoid_circuit(v: dict[str, Fraction]) -> dict[str, object]:
    """CS231n's sigmoid-gate circuit by hand: f = 1/(1 + exp(-(w0 x0 + w1 x1 + w2))), df/dd = f (1 - f)."""
    mpmath.mp.dps = DIGITS
    a, b = v["w0"] * v["x0"], v["w1"] * v["x1"]
    c = a + b
    d = c + v["w2"]
    g = mpmath.exp(-mpmath.mpf(d.numerator) / d.denominator)
    h, f = 1 + g, 1 / (1 + g)
    dd = f * (1 - f)
    return {"a": a, "b": b, "c": c, "d": d, "u": -d, "g": g, "h": h, "f": f,
            "df/dx0": dd * mpmath.mpf(v["w0"].numerator) / v["w0"].denominator,
            "df/dx1": dd * mpmath.mpf(v["w1"].numerator) / v["w1"].denominator,
            "df/dw0": dd * mpmath.mpf(v["x0"].numerator) / v["x0"].denominator,
            "df/dw1": dd * mpmath.mpf(v["x1"].numerator) / v["x1"].denominator, "df/dw2": dd}


def _shared_max(v: dict[str, Fraction]) -> dict[str, object]:
    """f = sigmoid(max(w x, w y) + b) w by hand: w is used three times, the max routes to the larger."""
    mpmath.mp.dps = DIGITS
    w, x, y, b = v["w"], v["x"], v["y"], v["b"]
    p, q = w * x, w * y
    m = max(p, q)
    s = m + b
    t = 1 / (1 + mpmath.exp(-mpmath.mpf(s.numerator) / s.denominator))
    ds = mpmath.mpf(w.numerator) / w.denominator * t * (1 - t)  # df/ds = w sigma'(s)
    dp, dq = (ds, 0) if p > q else (0, ds)
    wf, xf, yf = (mpmath.mpf(r.numerator) / r.denominator for r in (w, x, y))
    return {"p": p, "q": q, "m": m, "s": s, "t": t, "f": t * wf,
            "df/dx": dp * wf, "df/dy": dq * wf, "df/dw": t + dp * xf + dq * yf, "df/db": ds}


@pytest.fixture(scope="module")
def sets(tmp_path_factory):
    folder = tmp_path_factory.mktemp("graphs")
    (folder / "shared_max.toml").write_text(SHARED_MAX)
    return {"cs231n": (build_exam(CS231N, variants=30, seed=5, moodle=True, qti=True), _sigmoid_circuit),
            "shared_max": (build_exam(folder / "shared_max.toml", variants=30, seed=5, moodle=True, qti=True),
                           _shared_max)}


@pytest.mark.parametrize("which", ["cs231n", "shared_max"])
def test_keys_agree_with_a_hand_evaluation_of_every_drawn_graph(sets, which):
    exam, by_hand = sets[which]
    assert len(exam.variants) == 30
    draws = set()
    for v in exam.variants:
        leaves = _leaves(exam.files[f"variants/{v.stem}.toml"].decode())
        draws.add(tuple(sorted(leaves.items())))
        assert all(value not in (0, 1, -1) for value in leaves.values()), leaves  # no trivial multiplier
        assert all((value * 10).denominator == 1 for value in leaves.values())  # nice decimals (0.5, 0.1 steps)
        key = tomllib.loads(exam.files[f"answers/{v.stem}.toml"].decode())["values"]
        expected = {name: _half_up(value, 2) for name, value in by_hand(leaves).items()}
        assert key == expected, v.label
        for name, shown in key.items():
            if name.startswith("df/"):  # no asked gradient 0 unless a max routes it away, and never 0.0x
                assert shown == "0.00" and which == "shared_max" or abs(Decimal(shown)) >= Decimal("0.1"), name
    assert len(draws) == 30  # distinct


def test_the_max_gate_routes_and_the_shared_weight_sums(sets):
    exam, _ = sets["shared_max"]
    keys = [tomllib.loads(exam.files[f"answers/{v.stem}.toml"].decode())["values"] for v in exam.variants]
    routed = [k for k in keys if "0.00" in (k["df/dx"], k["df/dy"])]
    assert len(routed) == 30  # one of x, y always loses the max: exactly 0, the lesson of the gate
    assert all(k["p"] != k["q"] for k in keys)  # no max tie at the sheet's decimals
    assert not any(k["df/dx"] == k["df/dy"] == "0.00" for k in keys)


@pytest.mark.parametrize("which", ["cs231n", "shared_max"])
def test_comparable_work_and_the_summary_says_its_spread(sets, which):
    exam, _ = sets[which]
    report = exam.report
    assert report.band is not None and all(report.band.holds(w) for w in report.works)
    low, high = min(report.works), max(report.works)
    assert f"work {low}-{high} (band {report.band.low}-{report.band.high})" in exam.summary()
    assert high - low <= report.band.high - report.band.low


def test_moodle_cloze_fields_are_the_keys(sets):
    exam, _ = sets["shared_max"]
    quiz = ET.fromstring(exam.files["moodle.xml"])
    questions = quiz.findall("question")[1:]
    assert len(questions) == 30
    for q, v in zip(questions, exam.variants, strict=True):
        key = tomllib.loads(exam.files[f"answers/{v.stem}.toml"].decode())["values"]
        text = q.find("questiontext/text").text
        fields = CLOZE.findall(text)
        assert [a for a, _, _ in fields] == list(key.values())
        assert {t for _, t, _ in fields} == {"0.005"}
        # a second answer (the value rounded as you go, at half credit) only where it differs from the key
        assert all(early == v.early[name] != a for (a, _, early), name in zip(fields, key, strict=True) if early)
        assert f"symbackprop variant {v.label}" in text and "circuit" in text
        feedback = q.find("generalfeedback/text").text
        assert "\\max" in feedback and key["df/dw"] in feedback


def test_the_lms_question_writes_each_value_as_the_sheets_circuit_does(sets):
    """Moodle had written w0 = -2 where the sheet's circuit writes -2.00 on w0's wire (rv5 13): the question text
    now takes the sheet's own text of each value."""
    exam, _ = sets["cs231n"]
    quiz = ET.fromstring(exam.files["moodle.xml"])
    for q, v in zip(quiz.findall("question")[1:], exam.variants, strict=True):
        values = re.search(r"Values: (.*?)\.</p>", q.find("questiontext/text").text).group(1)
        shown = dict(re.findall(r"\\\(([a-z]_\{\d\}) = (-?[\d.]+)\\\)", values))
        assert len(shown) == 5 and all(re.fullmatch(r"-?\d+\.\d\d", x) for x in shown.values()), values
        sheet = exam.files[f"questions/{v.stem}.tex"].decode()
        assert all(x in sheet for x in shown.values())  # the same text on the sheet


def test_qti_items_accept_half_a_unit_around_the_key(sets):
    exam, _ = sets["cs231n"]
    archive = zipfile.ZipFile(io.BytesIO(exam.files["canvas-qti.zip"]))
    ns = {"q": QTI_NS}
    for v in exam.variants[:5]:
        ident = f"symbackprop_{v.seed}_v{v.label}"
        root = ET.fromstring(archive.read(f"{ident}/{ident}.xml"))
        key = tomllib.loads(exam.files[f"answers/{v.stem}.toml"].decode())["values"]
        items = [i for i in root.iter(f"{{{QTI_NS}}}item") if not i.get("ident").endswith("_intro")]
        assert len(items) == len(key)
        for item, (name, shown) in zip(items, key.items(), strict=True):
            assert item.get("title") == f"[v{v.label} {name}]"
            low = Decimal(item.find(".//q:vargte", ns).text)
            high = Decimal(item.find(".//q:varlte", ns).text)
            assert (low, high) == (Decimal(shown) - Decimal("0.005"), Decimal(shown) + Decimal("0.005"))


def test_variant_files_are_graph_specs_that_read_back(sets):
    exam, _ = sets["cs231n"]
    v = exam.variants[0]
    again = loads_graph(exam.files[f"variants/{v.stem}.toml"].decode(), "v")
    assert [n.definition for n in again.nodes] == [n.definition for n in v.spec.nodes]
    assert [leaf.value for leaf in again.leaves] == [leaf.value for leaf in v.spec.leaves]
    question = exam.files[f"questions/{v.stem}.tex"].decode()
    # the sheet shows the given values and hides every computed one
    key = tomllib.loads(exam.files[f"answers/{v.stem}.toml"].decode())["values"]
    start = question.index(r"\sbox{\symbackpropnetbox}")
    circuit = question[start:question.index(r"\end{tikzpicture}", start)]
    assert "node[fwd] {$$}" in circuit and "node[bwd] {$$}" in circuit
    assert key["df/dx0"] not in circuit and key["f"] not in circuit


def test_cli_writes_a_german_set_and_keeps_the_earlier_one(tmp_path, capsys):
    out = tmp_path / "exam"
    assert main(["exam", str(CS231N), "--variants", "3", "-o", str(out), "--lang", "de"]) == 0
    assert "3 variants from" in capsys.readouterr().out
    sheet = (out / "questions" / "v001.tex").read_text()
    assert "Aufgabenblatt" in sheet and "Schaltkreis" in sheet and "Zu berechnen" in sheet
    assert "Lösungen" in (out / "keys" / "v001.tex").read_text()
    (out / "notes.txt").write_text("mine")
    assert main(["exam", str(CS231N), "--variants", "3", "--seed", "1", "-o", str(out)]) == 0
    said = capsys.readouterr().out
    assert "earlier set moved to" in said
    assert (out / "notes.txt").read_text() == "mine"
    assert (out / "previous-1" / "questions" / "v001.tex").read_text() == sheet
    assert main(["mark", str(out), str(out / "answers")]) == 0  # the keys as answers: all right
    assert "3 rows read: 3 marked, 0 skipped" in capsys.readouterr().out
    assert "mean 13.00 of 13.00 points" in (out / "marks" / "summary.txt").read_text()


def test_mark_marks_a_class_on_a_graphs_set(tmp_path, capsys):
    """Three students hand in their variant's key of the shared-weight graph, one with df/dw changed: the
    class is marked as verify marks each file (the changed value wrong, everything else correct)."""
    spec = tmp_path / "shared.toml"
    spec.write_text(SHARED_MAX, encoding="utf-8")
    out, handed = tmp_path / "exam", tmp_path / "handed"
    assert main(["exam", str(spec), "--variants", "3", "-o", str(out)]) == 0
    handed.mkdir()
    for key in sorted((out / "answers").glob("v*.toml")):
        text = key.read_text(encoding="utf-8")
        if key.stem == "v002":
            text = re.sub(r'"df/dw" = "(-?)', lambda m: f'"df/dw" = "{"" if m.group(1) else "-"}1', text, count=1)
        (handed / key.name).write_text(text, encoding="utf-8")
    capsys.readouterr()
    assert main(["mark", str(out), str(handed), "-o", str(tmp_path / "marks")]) == 0
    said = capsys.readouterr().out
    assert "3 rows read: 3 marked, 0 skipped" in said
    summary = (tmp_path / "marks" / "summary.txt").read_text(encoding="utf-8")
    assert re.search(r"002\s+\S+/\S+\s+\d+ of \d+ right: 1 wrong", summary), summary
    assert re.search(r"df/dw\s+wrong\s+1", summary), summary
    assert main(["verify", str(out / "variants" / "v002.toml"), str(handed / "v002.toml"), "--format", "json"]) == 1
    rows = json.loads(capsys.readouterr().out)["rows"]
    assert [r["name"] for r in rows if r["verdict"] != "correct"] == ["df/dw"]


def test_an_exam_table_sets_the_grids_and_what_is_asked(tmp_path):
    path = tmp_path / "g.toml"
    path.write_text('''[graph]
inputs = { x = 0.5, y = 2 }
parameters = { w = 0.5 }
[graph.nodes]
a = "x * w"
f = "a * y + w"
[exam]
inputs = "[-1, 1] step 0.25"
parameters = "fixed"
ask = ["gradients"]
layout = "compact"
[exam.vary]
y = "[2, 4] step 0.5"
''')
    exam = build_exam(path, variants=8, seed=3)
    for v in exam.variants:
        leaves = _leaves(exam.files[f"variants/{v.stem}.toml"].decode())
        assert leaves["w"] == Fraction(1, 2) and leaves["x"] in {Fraction(k, 4) for k in (-3, -2, -1, 1, 2, 3)}
        assert leaves["y"] in {Fraction(k, 2) for k in (4, 5, 6, 7, 8)}  # [exam.vary] wins over the group
        key = tomllib.loads(exam.files[f"answers/{v.stem}.toml"].decode())["values"]
        x, y, w = leaves["x"], leaves["y"], leaves["w"]  # f = x w y + w: df/dx = w y, df/dy = x w, df/dw = x y + 1
        assert key == {"df/dx": _half_up(w * y, 2), "df/dy": _half_up(x * w, 2), "df/dw": _half_up(x * y + 1, 2)}
        sheet = exam.files[f"questions/{v.stem}.tex"].decode()
        assert r"\examworking" not in sheet.split(r"\begin{document}")[-1]  # compact: the boxes alone


@pytest.mark.parametrize(("spec", "args", "problem"), [
    (SHARED_MAX, ["--ask", "loss"], "nothing to ask"),
    (SHARED_MAX, ["--variants", "0"], "--variants: must be at least 1"),
    (SHARED_MAX, ["--ask", "forwards"], "unknown group 'forwards'"),
    ('[graph]\ninputs = { x = 0.5 }\n[graph.nodes]\nf = "x * 3"\n', ["--variants", "30"],
     "30 distinct variants asked for but the ranges allow only 18"),
    (SHARED_MAX + "\n[exam]\nvariants = 3\n", [], "exam.variants: unknown field"),
    (SHARED_MAX + "\n[exam]\nallow_loss_increase = true\n", [], "exam.allow_loss_increase: unknown field"),
    (SHARED_MAX + "\n[exam]\nparameters = \"[0, 1] step 0.3\"\n", [], "exam.parameters: the step 0.3 does not divide"),
])
def test_bad_input_is_one_line_and_writes_nothing(tmp_path, capsys, spec, args, problem):
    path = tmp_path / "g.toml"
    path.write_text(spec)
    assert main(["exam", str(path), "-o", str(tmp_path / "out"), *args]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and problem in err and "Traceback" not in err
    assert not (tmp_path / "out").exists()


def test_graph_sheets_and_keys_compile(tmp_path, tex):
    out = tmp_path / "exam"
    assert main(["exam", str(CS231N), "--variants", "2", "-o", str(out), "--pdf"]) == 0
    for kind in ("questions", "keys"):
        assert (out / kind / "v001.pdf").stat().st_size > 10_000 and (out / kind / "v002.pdf").is_file()


def test_same_bytes_on_one_core_or_two_and_one_variant_per_student(tmp_path):
    roster = tmp_path / "class.csv"
    roster.write_text("id,name\na1,Ada\nb2,Bob\nc3,Cy\nd4,Di\n")
    one = build_exam(CS231N, seed=9, roster=roster, moodle=True, qti=True, workers=1)
    two = build_exam(CS231N, seed=9, roster=roster, moodle=True, qti=True, workers=2)
    assert one.files == two.files
    assert [v.student.name for v in one.variants] == ["Ada", "Bob", "Cy", "Di"]
    assert "Bob" in one.files["questions/v002.tex"].decode() and "b2,Bob" in one.files["index.csv"].decode()


@pytest.mark.parametrize("example", graph_specs(), ids=lambda p: p.stem)
def test_every_graph_kinds_keys_verify_as_all_right(tmp_path, capsys, example):
    """Whatever table built the graph (``[graph]``, ``[conv1d]``, ...): its variants' keys, read back from
    ``variants/vNNN.toml``, are all right by ``verify``, and the sheets ask every gate and leaf gradient."""
    out = tmp_path / "exam"
    assert main(["exam", str(example), "--variants", "3", "-o", str(out)]) == 0
    capsys.readouterr()
    for label in ("001", "003"):
        key = tomllib.loads((out / "answers" / f"v{label}.toml").read_text())["values"]
        assert main(["verify", str(out / "variants" / f"v{label}.toml"), str(out / "answers" / f"v{label}.toml")]) == 0
        said = capsys.readouterr().out
        assert f"{len(key)} of {len(key)} right" in said


def test_mark_a_graph_set_from_moodle_responses_with_planted_mistakes(tmp_path, capsys):
    """Three students of a CS231n set answer in Moodle: one all right, one with a wrong a and c = a + b carried
    forward from it (full credit), one with dE/dw0's sign flipped and f left empty."""
    roster = tmp_path / "class.csv"
    roster.write_text("id,name\ns1,Ada Lovelace\ns2,Bob Babbage\ns3,Cy Hopper\n")
    out = tmp_path / "set"
    assert main(["exam", str(CS231N), "--roster", str(roster), "--seed", "4", "-o", str(out), "--moodle"]) == 0
    quiz = ET.parse(out / "moodle.xml").getroot()
    texts = [re.sub(r"<[^>]+>", " ", q.find("questiontext/text").text) for q in quiz.findall("question[@type='cloze']")]
    answers = {}
    for sid, label in (("s1", "001"), ("s2", "002"), ("s3", "003")):
        answers[sid] = tomllib.loads((out / "answers" / f"v{label}.toml").read_text())["values"]
    wrong_a = Decimal(answers["s2"]["a"]) + 1
    answers["s2"]["a"] = f"{wrong_a:.2f}"
    answers["s2"]["c"] = f"{wrong_a + Decimal(answers['s2']['b']):.2f}"
    answers["s3"]["df/dw0"] = f"{-Decimal(answers['s3']['df/dw0']):.2f}"
    answers["s3"]["f"] = ""
    rows = [["Last name", "First name", "Email address", "ID number", "State", "Question 1", "Response 1"]]
    for (sid, values), text in zip(answers.items(), texts, strict=True):
        parts = "; ".join(f"part {i}: {v}" for i, v in enumerate(values.values(), start=1))
        rows.append(["X", "Y", f"{sid}@uni.edu", sid, "Finished", " ".join(text.split()), parts])
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    (tmp_path / "responses.csv").write_text(buffer.getvalue())
    capsys.readouterr()
    assert main(["mark", str(out), str(tmp_path / "responses.csv"), "-o", str(tmp_path / "marks")]) == 0
    said = capsys.readouterr().out
    assert "3 rows read: 3 marked, 0 skipped" in said
    grades = {r.split(",")[0]: r.split(",")[-1] for r in (tmp_path / "marks" / "gradebook-moodle.csv").read_text()
              .splitlines()[1:]}
    assert grades == {"s1": "13.00", "s2": "12.00", "s3": "11.00"}
    summary = (tmp_path / "marks" / "summary.txt").read_text()
    mistakes, blanks = summary.split("Most common mistakes per quantity:")[1].split("Left blank most often:")
    assert re.search(r"c\s+carried forward\s+1", mistakes) and re.search(r"df/dw0\s+wrong: sign flipped\s+1", mistakes)
    assert "not answered" not in mistakes and re.search(r"f\s+1", blanks)


@pytest.mark.parametrize("decimals", [0, 1, 3, 4])
def test_cs231n_add_multiply_at_any_decimals(tmp_path, decimals):
    """f = (x + y) z (CS231n's first circuit): exact sums and products, so no gradient is 'saturated' however
    short it shows; df/dx = df/dy = z and df/dz = x + y by hand, in Fractions."""
    path = tmp_path / "g.toml"
    path.write_text(f'[graph]\ndecimals = {decimals}\ninputs = {{ x = -2, y = 5, z = -4 }}\n'
                    '[graph.nodes]\nq = "x + y"\nf = "q * z"\n')
    exam = build_exam(path, variants=12, seed=2)
    for v in exam.variants:
        x, y, z = (_leaves(exam.files[f"variants/{v.stem}.toml"].decode())[n] for n in "xyz")
        key = tomllib.loads(exam.files[f"answers/{v.stem}.toml"].decode())["values"]
        assert key == {name: _half_up(value, decimals) for name, value in
                       {"q": x + y, "f": (x + y) * z, "df/dx": z, "df/dy": z, "df/dz": x + y}.items()}


def test_a_shared_weights_long_wire_runs_around_the_gates_it_skips():
    from symbackprop.engine.graph import solve_graph
    from symbackprop.notation.circuit import circuit_tikz

    for text, detours in ((SHARED_MAX, ["(w) -- "]), (CS231N.read_text(), [])):
        s = solve_graph(loads_graph(text, "g"))
        tikz = circuit_tikz(s.spec, {n: "v" for n in s.values}, {k: "g" for k in s.shares}, "1")
        around = [line for line in tikz.splitlines() if "rounded corners" in line]
        assert [line.split("[->, rounded corners=6pt] ")[1][:7] for line in around] == detours
        if around:  # w into f (two columns of gates between), level below the gates it passes
            assert around[0].endswith("(f);")
