"""``symbackprop exam``: fair variants, keys graded by verify, no answers on the sheets, bad input."""

from __future__ import annotations

import dataclasses
import random
import re
import subprocess
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path

import pytest
import sympy

from symbackprop.cli import main
from symbackprop.engine.examtable import ExamSettings, Grid, parse_grid, settings_from_table
from symbackprop.engine.solution import solve
from symbackprop.engine.spec import load_spec, loads_spec
from symbackprop.errors import ExamError
from symbackprop.exam.build import build_exam
from symbackprop.exam.drawing import Drawer
from symbackprop.exam.pdfjobs import pdf_jobs
from symbackprop.exam.roster import loads_roster
from symbackprop.exam.write import write_exam
from symbackprop.io.pdf import latex_env
from symbackprop.marking.answers import loads_toml
from symbackprop.marking.verify import mark

ROOT = Path(__file__).resolve().parent.parent
EXAM_SPEC = ROOT / "examples" / "exam_lecture.toml"
HOSTILE = "Zoë O'Brien & {Co} \\input{/etc/hostname} 100% #1 $x$ ~_^"



@pytest.fixture(scope="module")
def roster_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("roster") / "class.csv"
    path.write_text(f'id,name\ns1,Ada Lovelace\ns2,"{HOSTILE.replace(chr(34), chr(34) * 2)}"\ns3,Alan Turing\n',
                    encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def exam(roster_file):
    return build_exam(EXAM_SPEC, seed=11, roster=roster_file, moodle=True, qti=True)


def _fraction(value) -> Fraction:
    return Fraction(int(value.p), int(value.q))


def _half_up(x: Fraction, places: int) -> str:
    """An independent rounding: Fraction -> Decimal text, half away from zero."""
    scaled = abs(x) * 10**places
    n = int(scaled)
    if scaled - n >= Fraction(1, 2):
        n += 1
    text = f"{n / Decimal(10**places):.{places}f}" if places else str(n)
    return ("-" + text) if x < 0 and n else text


# -- settings ---------------------------------------------------------------------------------------

def test_grid_is_exact_and_inclusive():
    grid = parse_grid("[-1, 1] step 0.05", "weights")
    assert grid == Grid(sympy.Rational(-1), sympy.Rational(1), sympy.Rational(1, 20))
    assert grid.count == 41
    assert grid.value(0) == -1 and grid.value(40) == 1 and grid.value(21) == sympy.Rational(1, 20)
    assert parse_grid("fixed", "x") is None


@pytest.mark.parametrize("text, message", [
    ("[-1, 1] step 0.03", "does not divide"),
    ("[1, -1] step 0.05", "empty"),
    ("[0, 1] step 0", "positive"),
    ("-1..1", "not a range"),
])
def test_bad_grids_name_the_field(text, message):
    with pytest.raises(ExamError, match=message) as err:
        settings_from_table({"weights": text}, "spec.toml")
    assert "exam.weights" in str(err.value)


@pytest.mark.parametrize("table, field", [
    ({"colour": "red"}, "exam.colour"),
    ({"allow_saturation": "yes"}, "exam.allow_saturation"),
    ({"tie_margin": 0.5}, "exam.tie_margin"),
    ({"ask": ["forward", "weights"]}, "exam.ask"),
    ({"vary": {"w1": "[0, 1]"}}, "exam.vary.w1"),
    ({"max_draws": 0}, "exam.max_draws"),
    ({"allow_trivial": "no"}, "exam.allow_trivial"),
    ({"allow_zero_gradients": 1}, "exam.allow_zero_gradients"),
    ({"difficulty_band": "wide"}, "exam.difficulty_band"),
    ({"difficulty_band": -0.1}, "exam.difficulty_band"),
])
def test_bad_settings_one_line_naming_the_field(table, field):
    with pytest.raises(ExamError, match=re.escape(field)) as err:
        settings_from_table(table, "spec.toml")
    assert "\n" not in str(err.value)


def test_the_new_settings_default_to_auto_and_read_what_is_written():
    auto = settings_from_table({})
    assert (auto.early_rounding, auto.allow_loss_increase, auto.allow_unchanged_loss, auto.allow_zero_gradients,
            auto.tie_margin) == (None, None, None, None, None)
    assert auto.allow_trivial is False and auto.difficulty_band == sympy.Rational(3, 20)
    written = settings_from_table({"early_rounding": False, "difficulty_band": False, "tie_margin": 0})
    assert written.early_rounding is False and written.difficulty_band is None and written.tie_margin == 0


def test_spec_loader_accepts_the_exam_table_and_rejects_a_non_table():
    spec = load_spec(EXAM_SPEC)
    assert spec.parameters["w1"] == sympy.Rational(3, 20)
    with pytest.raises(Exception, match="exam: must be a table"):
        loads_spec("exam = 3\n" + EXAM_SPEC.read_text(encoding="utf-8").split("[exam]")[0])


def test_a_bad_exam_table_fails_when_the_spec_loads(tmp_path):
    text = EXAM_SPEC.read_text(encoding="utf-8").replace("[exam]", "[exam]\ncolour = \"red\"")
    with pytest.raises(ExamError, match=r"^s\.toml: exam\.colour: unknown field") as err:
        loads_spec(text, source="s.toml")
    assert "\n" not in str(err.value)
    bad = tmp_path / "bad.toml"
    bad.write_text(text, encoding="utf-8")
    assert main(["check", str(bad)]) == 2  # every command, not only exam, refuses it at load


@pytest.mark.parametrize(("ask", "problem"), [
    ('["forward", ""]', "exam.ask: item 2 '' has an empty name"),
    ('["forward,,loss"]', "exam.ask: item 1 'forward,,loss' has an empty name"),
    ('"forward"', 'exam.ask: must be a list of strings like ["forward", "gradients"]'),
    ("[]", "exam.ask: name at least one of forward,"),
])
def test_an_empty_item_in_the_asked_groups_is_named(ask, problem):
    text = re.sub(r"(?m)^ask = .*$", f"ask = {ask}", EXAM_SPEC.read_text(encoding="utf-8"))
    with pytest.raises(ExamError) as err:
        loads_spec(text, source="s.toml")
    assert str(err.value).startswith("s.toml: " + problem)


def test_the_example_spec_settings():
    settings = load_spec(EXAM_SPEC).exam
    assert settings.groups["biases"] == Grid(sympy.Rational(-1, 2), sympy.Rational(1, 2), sympy.Rational(1, 20))
    assert settings.groups["targets"] is None
    assert settings.overrides["w5"] == Grid(sympy.Rational(1, 10), sympy.Rational(9, 10), sympy.Rational(1, 20))
    assert settings.tie_margin == sympy.Rational(1, 50)


# -- fairness: the lecture's own values are unfair ---------------------------------------------------

@pytest.fixture(scope="module")
def drawer():
    return Drawer(solve(), ExamSettings())


def _leaves(drawer, **changes):
    values = dict(drawer.leaves)
    values.update({k.replace("_", "'"): sympy.Rational(v) for k, v in changes.items()})
    return values


@pytest.mark.parametrize("spec", [None, EXAM_SPEC])
def test_a_draw_is_python_311s_randrange_on_every_grid(spec):
    """The drawer writes out ``randrange`` (Python 3.11's: a count's bits drawn until below it), so a set's
    bytes do not change with Python's version: every grid's index is the one ``randrange`` gives, a trivial
    index drawn again."""
    settings = load_spec(spec).exam if spec else ExamSettings()
    drawer = Drawer(solve(load_spec(spec)) if spec else solve(), settings)
    assert drawer.varying and any(skip for *_, skip in drawer._grids)

    def reference(rng):
        values = dict(drawer.leaves)
        for name, grid in drawer.varying:
            skip = next(skip for n, *_, skip in drawer._grids if n == name)
            k = rng.randrange(grid.count)
            while k in skip:
                k = rng.randrange(grid.count)
            values[name] = grid.value(k)
        return values

    for seed in range(5):
        ours, theirs = random.Random(f"draw/{seed}"), random.Random(f"draw/{seed}")
        for _ in range(200):
            assert drawer.draw(ours) == reference(theirs)
        assert ours.random() == theirs.random()  # the streams are where each other's are


def test_an_exact_tie_is_decided_by_half_up_a_near_tie_of_an_inexact_value_is_rejected(drawer):
    # z_h1 = 0.15*0.05 + 0.20*0.10 + 0.35 = 0.3775 exactly: every careful student computes it exactly,
    # and half-up shows 0.378; h1 = sigma(z_h1) is not a short decimal, so its ties are checked
    z = Fraction("0.15") * Fraction("0.05") + Fraction("0.20") * Fraction("0.10") + Fraction("0.35")
    assert z == Fraction("0.3775") and solve().display("z_h1") == "0.378"
    exact = set(drawer.asked_slots) - drawer.inexact_asked
    assert {n for n in drawer.asked_flat if drawer.index[n] in exact} == {"z_h1", "z_h2"}
    no_early = Drawer(solve(), dataclasses.replace(ExamSettings(), early_rounding=False))
    assert no_early.judge(dict(no_early.leaves)) is None
    # a draw rejected for a tie has an inexact asked value within the margin of one (solved independently)
    rng = random.Random(3)
    values = next(v for v in iter(lambda: drawer.draw(rng), None) if drawer.judge(v) == "tie")
    s = solve(drawer.spec_for(values))
    margin = Fraction(int(drawer.tie_margin.p), int(drawer.tie_margin.q))  # units of 0.001
    near = [n for n in drawer.asked_flat if drawer.index[n] in drawer.inexact_asked
            and abs(abs(_fraction(sympy.Rational(str(s.value(n))))) * 1000 % 1 - Fraction(1, 2)) < margin]
    assert near


def test_the_lecture_fails_the_early_rounding_check(drawer):
    # dE/dw2 = 0.000453... displays 0.000, but the lecture's own rounded path gives
    # dE/dz_h1 = 0.005 times x2 = 0.10 = 0.0005 -> 0.001: a careful student would be marked wrong
    loose = Drawer(solve(), dataclasses.replace(ExamSettings(), tie_margin=sympy.Rational(0)))
    assert solve().display("dE/dw2") == "0.000"
    assert _half_up(Fraction("0.005") * Fraction("0.10"), 3) == "0.001"
    assert loose.judge(dict(loose.leaves)) == "early rounding"


def _lenient(**flags):
    base = dataclasses.replace(ExamSettings(), tie_margin=sympy.Rational(0), early_rounding=False,
                               allow_saturation=True, allow_loss_increase=True)
    return Drawer(solve(), dataclasses.replace(base, **flags))


def test_zero_output_weights_make_every_hidden_gradient_zero():
    d = _lenient()
    values = dict(d.leaves, w5=sympy.Rational(0), w6=sympy.Rational(0))
    assert d.judge(values) == "zero gradients"


def test_a_saturated_unit_is_rejected_unless_allowed():
    values = dict(_lenient().leaves, b1=sympy.Rational(6))  # sigma'(6.03) = 0.0024 < 0.02
    assert _lenient(allow_saturation=False).judge(values) == "saturation"
    assert _lenient().judge(values) is None


def test_an_update_that_raises_the_loss_is_rejected_unless_allowed():
    values = dict(_lenient().leaves, eta=sympy.Rational(400))  # a huge step overshoots
    assert _lenient(allow_loss_increase=False).judge(values) == "loss increase"
    assert _lenient().judge(values) is None


def test_a_lower_loss_that_displays_the_same_is_rejected_unless_allowed():
    # eta = 0.01 on the lecture: E = 0.031592... and E' = 0.03155... are both shown as 0.032
    values = dict(_lenient().leaves, eta=sympy.Rational(1, 100))
    spec = _lenient().spec_for(values)
    s = solve(spec)
    before, after = s.value("E"), s.value("E'")
    assert after < before and s.display("E") == s.display("E'") == "0.032"
    strict = _lenient(allow_loss_increase=False)
    assert strict.judge(values) == "loss unchanged"
    assert _lenient(allow_loss_increase=False, allow_unchanged_loss=True).judge(values) is None
    assert _lenient().judge(values) is None  # allow_loss_increase accepts any loss after the step
    # the lecture's own step (eta = 0.5) shows 0.032 -> 0.030: fine
    assert strict.judge(dict(strict.leaves)) is None
    table = {"allow_unchanged_loss": True}
    assert settings_from_table(table).allow_unchanged_loss is True
    with pytest.raises(ExamError, match="exam.allow_unchanged_loss: must be true or false"):
        settings_from_table({"allow_unchanged_loss": "yes"})


def test_loss_unchanged_is_counted_as_its_own_reason(tmp_path):
    spec = tmp_path / "flat.toml"
    text = EXAM_SPEC.read_text(encoding="utf-8").replace("learning_rate = 0.50", "learning_rate = 0.10")
    spec.write_text(text, encoding="utf-8")
    exam = build_exam(spec, variants=3, seed=4)
    assert exam.rejected["loss unchanged"] > 0
    assert f"{exam.rejected['loss unchanged']} loss unchanged" in exam.summary()
    for v in exam.variants:
        assert v.solution.display("E") != v.solution.display("E'")


# -- the drawn set ----------------------------------------------------------------------------------

def test_variants_are_on_the_grid_distinct_and_fair(exam):
    settings = load_spec(EXAM_SPEC).exam
    seen = set()
    for v in exam.variants:
        spec = v.solution.spec
        for name, value in spec.parameters.items():
            grid = settings.overrides.get(name) or settings.groups["weights" if name.startswith("w") else "biases"]
            assert isinstance(value, sympy.Rational)
            k = (value - grid.low) / grid.step
            assert k.q == 1 and 0 <= k < grid.count, (name, value)
        assert spec.examples[0].targets == (sympy.Rational(1, 2),)
        key = (tuple(spec.parameters.values()), spec.examples)
        assert key not in seen
        seen.add(key)
        drawn = [*spec.parameters.values(), *spec.examples[0].inputs]
        weights = [value for name, value in spec.parameters.items() if name.startswith("w")]
        assert 0 not in drawn and not {1, -1} & {*spec.examples[0].inputs, *weights}  # nothing trivial
        for item in _asked(v):
            value = v.solution.value(item.name)
            if value == value.quantize(Decimal("1e-8")):
                continue  # an exact short decimal (z = 0.3775): every student computes it exactly
            frac = abs(value) * 1000 % 1
            assert abs(frac - Decimal("0.5")) >= Decimal("0.02"), (v.label, item.name, value)


def _asked(v):
    from symbackprop.exam.variants import asked_values

    return asked_values(v, ("forward", "loss", "deltas", "gradients", "update"))


def test_forward_values_agree_with_fraction_arithmetic(exam):
    for v in exam.variants:
        p = {k: _fraction(x) for k, x in v.solution.spec.parameters.items()}
        x1, x2 = (_fraction(x) for x in v.solution.spec.examples[0].inputs)
        z_h1 = p["w1"] * x1 + p["w2"] * x2 + p["b1"]
        z_h2 = p["w3"] * x1 + p["w4"] * x2 + p["b2"]
        assert v.solution.display("z_h1") == _half_up(z_h1, 3)
        assert v.solution.display("z_h2") == _half_up(z_h2, 3)


def test_rejections_are_counted(exam):
    assert exam.n_rejected == sum(exam.rejected.values()) > 0
    assert f"{len(exam.variants)} variants from {len(exam.variants) + exam.n_rejected} draws" in exam.summary()


def test_same_seed_same_bytes_other_seed_other_values(exam, roster_file):
    again = build_exam(EXAM_SPEC, seed=11, roster=roster_file, moodle=True, qti=True)
    assert again.files == exam.files
    other = build_exam(EXAM_SPEC, seed=12, roster=roster_file)
    assert other.files["answers/v001.toml"] != exam.files["answers/v001.toml"]


def test_the_key_graded_against_itself_is_all_right(exam):
    for v in exam.variants:
        answers = loads_toml(exam.files[f"answers/{v.stem}.toml"].decode(), v.stem)
        variant_spec = loads_spec(exam.files[f"variants/{v.stem}.toml"].decode(), v.stem)
        assert variant_spec.parameters == v.solution.spec.parameters
        report = mark(solve(variant_spec), answers)
        assert report.n_right == len(report.rows) == len(_asked(v)) == 29
        assert answers.sheet.student == v.student.name


def test_verify_cli_on_a_written_variant(exam, tmp_path, capsys):
    out = write_exam(exam, tmp_path / "set")
    assert main(["verify", str(out / "variants/v002.toml"), str(out / "answers/v002.toml")]) == 0
    assert "29 of 29 right" in capsys.readouterr().out


def test_no_asked_value_on_the_question_sheets(exam):
    for v in exam.variants:
        sheet = exam.files[f"questions/{v.stem}.tex"].decode()
        sheet = re.sub(r"\(-?[\d.]+, -?[\d.]+\)", "(x, y)", sheet)  # the diagram's coordinates are no values
        for item in _asked(v):
            assert not re.search(rf"(?<![\d.]){re.escape(item.display)}(?!\d)", sheet), (v.label, item.name)
        key = exam.files[f"keys/{v.stem}.tex"].decode()
        assert all(item.display in key for item in _asked(v))


def test_roster_names_are_escaped_on_every_variant(exam):
    sheet = exam.files["questions/v002.tex"].decode()
    assert r"\textbackslash{}input" in sheet and r"\&" in sheet and r"100\%" in sheet
    assert "\\input{/etc/hostname}" not in sheet
    index = exam.files["index.csv"].decode().splitlines()
    assert index[0].startswith("variant,seed,student_id,student_name")
    assert index[2].startswith("002,11,s2,")


def test_ask_subset_only_asks_those(tmp_path):
    exam = build_exam(None, variants=2, seed=1, ask="gradients")
    answers = loads_toml(exam.files["answers/v001.toml"].decode())
    assert [a.name for a in answers.entries] == [f"dE/d{p}" for p in
                                                ("w1", "w2", "b1", "w3", "w4", "b2", "w5", "w6", "b3")]


# -- the PDFs ---------------------------------------------------------------------------------------

def _pages_text(pdf: Path) -> list[str]:
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, check=True).stdout
    return text.decode().split("\f")[:-1]


@pytest.fixture(scope="module")
def pdf_set(exam, tmp_path_factory, tex) -> Path:
    """The roster exam written with --pdf: combined PDFs and one per variant."""
    pdf_exam = dataclasses.replace(exam, pdf_jobs=pdf_jobs(exam.files, exam.variants))
    return write_exam(pdf_exam, tmp_path_factory.mktemp("pdf") / "set")


def test_pdfs_each_variant_on_new_pages_named_everywhere_no_answers(tex, exam, pdf_set):
    out = pdf_set
    pages = _pages_text(out / "questions.pdf")
    starts = [i for i, p in enumerate(pages) if "exercise sheet" in p]
    assert len(starts) == 3
    for n, v in enumerate(exam.variants):
        end = starts[n + 1] if n + 1 < len(exam.variants) else len(pages)
        for page in pages[starts[n]:end]:
            assert f"Variant {v.label}" in page and "seed 11" in page
            assert " ".join(v.student.name.split()[:2]) in page
            for item in _asked(v):
                assert not re.search(rf"(?<![\d.]){re.escape(item.display)}(?!\d)", page), (v.label, item.name)
    assert "O’Brien & {Co} \\input{/etc/hostname} 100% #1" in pages[starts[1]].replace("'", "’")
    keys = "\f".join(_pages_text(out / "keys.pdf"))
    assert keys.count("answer key") == 3
    assert keys.count("Answer table") == 3


@pytest.mark.parametrize("kind", ["questions", "keys"])
def test_one_pdf_per_variant_cut_from_the_combined(tex, exam, pdf_set, kind):
    combined = _pages_text(pdf_set / f"{kind}.pdf")
    singles = [_pages_text(pdf_set / kind / f"{v.stem}.pdf") for v in exam.variants]
    assert sum(len(pages) for pages in singles) == len(combined)
    assert [page for pages in singles for page in pages] == combined  # the same pages, in order
    for v, pages in zip(exam.variants, singles, strict=True):
        text = "\f".join(pages)
        assert f"Variant {v.label}" in text
        others = {w.label for w in exam.variants} - {v.label}
        assert not any(f"Variant {label}" in text for label in others), (kind, v.label)
        assert all(f"Variant {v.label}" in page for page in pages)
    assert "Answer table" in "\f".join(singles[0]) if kind == "keys" else "exercise sheet" in singles[0][0]


def test_pdf_set_same_bytes_twice(tex, exam, pdf_set, tmp_path):
    again = write_exam(dataclasses.replace(exam, pdf_jobs=pdf_jobs(exam.files, exam.variants)), tmp_path / "set")
    pdfs = sorted(p.relative_to(pdf_set) for p in pdf_set.rglob("*.pdf"))
    assert len(pdfs) == 2 + 2 * len(exam.variants)
    assert sorted(p.relative_to(again) for p in again.rglob("*.pdf")) == pdfs
    for rel in pdfs:
        assert (again / rel).read_bytes() == (pdf_set / rel).read_bytes(), rel


def test_split_refuses_a_missing_or_misordered_marker(tex, exam, pdf_set, tmp_path):
    from symbackprop.io.pdfsplit import PdfSplitError, split_pdf

    def parts(*labels: str) -> list[tuple[str, Path]]:
        return [(f"symbackprop-v{label}", tmp_path / f"{label}.pdf") for label in labels]

    with pytest.raises(PdfSplitError, match="no page marked 'symbackprop-v999'"):
        split_pdf(pdf_set / "keys.pdf", parts("001", "999"))
    with pytest.raises(PdfSplitError, match="not page 1"):
        split_pdf(pdf_set / "keys.pdf", parts("002"))
    with pytest.raises(PdfSplitError, match="does not start after"):
        split_pdf(pdf_set / "keys.pdf", parts("001", "003", "002"))
    with pytest.raises(PdfSplitError, match="not a PDF"):
        (tmp_path / "x.pdf").write_bytes(b"%PDF-1.5\nnothing")
        split_pdf(tmp_path / "x.pdf", [("symbackprop-v001", tmp_path / "a.pdf")])


def _log_of(tex_source: str, tmp_path: Path) -> str:
    (tmp_path / "doc.tex").write_text(tex_source, encoding="utf-8")
    for _ in range(2):
        result = subprocess.run(["pdflatex", "-interaction=nonstopmode", "-halt-on-error", "-no-shell-escape",
                                 "doc.tex"], cwd=tmp_path, env=latex_env(), capture_output=True, timeout=180)
        assert result.returncode == 0, result.stdout.decode(errors="replace")[-2000:]
    return (tmp_path / "doc.log").read_text(errors="replace")


@pytest.mark.parametrize("name", ["questions.tex", "keys.tex"])
def test_combined_documents_have_no_overfull_boxes(tex, exam, tmp_path, name):
    log = _log_of(exam.files[name].decode(), tmp_path)
    assert "Overfull" not in log, re.findall(r"Overfull.*", log)


# -- bad input: one line, exit 2, nothing written -----------------------------------------------------

def _run(capsys, *argv: str) -> tuple[int, str]:
    code = main(list(argv))
    return code, capsys.readouterr().err


@pytest.mark.parametrize("make_args, message", [
    (lambda t: ["--variants", "0", "-o", str(t / "out")], "--variants: must be at least 1"),
    # missing parents are made, as for every -o, and removed again when the run fails
    (lambda t: [str(t / "tight.toml"), "--variants", "2", "-o", str(t / "new" / "deeper" / "out")],
     "no fair variant in 50 draws"),
    (lambda t: ["-o", str(t / "afile" / "out")], "afile is not a folder"),
    (lambda t: ["--ask", "weights", "-o", str(t / "out")], "--ask: unknown group"),
    (lambda t: ["--roster", str(t / "roster.csv"), "-o", str(t / "out")], "duplicate id 's1'"),
    (lambda t: ["--roster", str(t / "roster.bin"), "-o", str(t / "out")], "a binary file, not a roster (CSV text)"),
    (lambda t: ["--roster", str(t / "noheader.csv"), "-o", str(t / "out")], "header with a name column"),
    (lambda t: [str(t / "tight.toml"), "--variants", "2", "-o", str(t / "out")], "no fair variant in 50 draws"),
    (lambda t: [str(t / "single.toml"), "--variants", "3", "-o", str(t / "out")], "the ranges allow only 2"),
    (lambda t: ["-o", str(t / "afile")], "not a folder"),
    (lambda t: ["-o", str(t / "notes")], "not an exam set"),
])
def test_bad_input_one_line_exit_2_nothing_written(tmp_path, capsys, make_args, message):
    (tmp_path / "roster.csv").write_text("id,name\ns1,A\ns1,B\n", encoding="utf-8")
    (tmp_path / "roster.bin").write_bytes(b"PK\x03\x04\x00\x00binary")
    (tmp_path / "noheader.csv").write_text("Ada\nAlan\n", encoding="utf-8")
    base = EXAM_SPEC.read_text(encoding="utf-8").split("[exam]")[0]
    (tmp_path / "tight.toml").write_text(base + '[exam]\nweights = "[3, 4] step 0.5"\nmax_draws = 50\n',
                                         encoding="utf-8")
    (tmp_path / "single.toml").write_text(
        base + '[exam]\nweights = "fixed"\nbiases = "fixed"\ninputs = "fixed"\n'
        '[exam.vary]\nb3 = "[0.1, 0.2] step 0.1"\n',
        encoding="utf-8")
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    (tmp_path / "notes").mkdir()
    (tmp_path / "notes" / "todo.txt").write_text("keep me", encoding="utf-8")
    before = sorted(p.name for p in tmp_path.iterdir())
    code, err = _run(capsys, "exam", *make_args(tmp_path))
    assert code == 2
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert (tmp_path / "notes" / "todo.txt").read_text(encoding="utf-8") == "keep me"


def test_roster_parsing():
    students = loads_roster("Name,Student ID\n Ada  Lovelace ,7\nAlan Turing,8\n")
    assert [(s.id, s.name) for s in students] == [("7", "Ada Lovelace"), ("8", "Alan Turing")]
    with pytest.raises(ExamError, match="duplicate name"):
        loads_roster("name\nAda\nAda\n")
    with pytest.raises(ExamError, match="row 3: 1 cell, "):
        loads_roster("id,name\n1,Ada\n2\n")
    with pytest.raises(ExamError, match="the header names the column 'name' twice"):  # B had been dropped silently
        loads_roster("name,Name\nA,B\n")


def test_cli_writes_the_set_and_rewrites_it_in_place(tmp_path, capsys):
    code, err = _run(capsys, "exam", "--variants", "2", "--seed", "5", "-o", str(tmp_path / "set"), "--moodle")
    assert code == 0 and err == ""  # progress goes to stderr only when it is a terminal
    first = {p.relative_to(tmp_path): p.read_bytes() for p in (tmp_path / "set").rglob("*") if p.is_file()}
    assert Path("set/moodle.xml") in first and Path("set/answers/v002.toml") in first
    code, _ = _run(capsys, "exam", "--variants", "2", "--seed", "5", "-o", str(tmp_path / "set"), "--moodle")
    assert code == 0
    again = {p.relative_to(tmp_path): p.read_bytes() for p in (tmp_path / "set").rglob("*") if p.is_file()}
    assert again == first
    assert sorted(p.name for p in tmp_path.iterdir()) == ["set"]  # no temporary folder left behind


def test_variant_half_up_reference_matches_numbers_module():
    from symbackprop.engine.numbers import display

    for text in ("0.3775", "-0.0005", "0.0004999", "1.2345"):
        assert display(sympy.Rational(text), 3) == _half_up(Fraction(text), 3) == \
            str(Decimal(text).quantize(Decimal("0.001"), rounding=ROUND_HALF_UP)).replace("-0.000", "0.000")




RELAXED = ("\n[exam]\ntie_margin = 0\nallow_saturation = true\nallow_loss_increase = true\n"
           "allow_unchanged_loss = true\nearly_rounding = false\n")


@pytest.mark.parametrize("layers", ["lecture", "3,6,2"])
def test_sheet_boxes_read_down_each_column_and_keys_have_no_name_line(tmp_path, capsys, layers):
    """The sheet's boxes come in blocks of two columns, each read top to bottom, in the asked order
    (a block of at most 12 rows, one tabular: kept on one page); only the sheet has a name line."""
    from symbackprop.exam.variants import asked_values

    if layers == "lecture":
        spec = EXAM_SPEC
    else:
        assert main(["new", "--layers", layers, "--seed", "2"]) == 0
        spec = tmp_path / "s.toml"
        spec.write_text(capsys.readouterr().out + RELAXED, encoding="utf-8")
    exam = build_exam(spec, variants=1, seed=3)
    variant = exam.variants[0]
    questions = exam.files[f"questions/{variant.stem}.tex"].decode("utf-8")
    tasks = questions.split(r"\section{What to compute}")[1].split(r"\section{Symbols and equations}")[0]
    blocks: list[tuple[list[str], list[str]]] = []
    for table in tasks.split(r"\begin{tabular}")[1:]:
        left, right = [], []
        rows = table.split(r"\end{tabular}")[0].split(r"\\")
        for row in rows:
            cells = [cell.strip() for cell in row.split("&")]
            assert r"\answerbox" in cells[1], row
            left.append(cells[0].split("\n")[-1].removesuffix(" ="))
            if cells[2]:
                right.append(cells[2].removesuffix(" ="))
        blocks.append((left, right))
    asked = [a.latex for a in asked_values(variant, exam.ask)]
    assert [x for left, right in blocks for x in left + right] == asked
    assert all(0 <= len(left) - len(right) <= 1 and len(left) <= 12 for left, right in blocks)
    # a block per group, E' one of its own after the updates; 3-6-2: 38 gradients and 36 updates are two blocks each
    assert len(blocks) == (6 if layers == "lecture" else 8)
    assert "Name: " in questions and "Name: " not in exam.files[f"keys/{variant.stem}.tex"].decode("utf-8")


def test_the_summary_counts_one_variant_in_the_singular():
    assert build_exam(None, variants=1, seed=1).summary().startswith("1 variant from ")
    assert build_exam(None, variants=2, seed=1).summary().startswith("2 variants from ")


def test_a_keys_remark_compares_with_the_lecture_only_for_the_lectures_own_values():
    """The handout of the lecture network compares four of its values with those the lecture printed from rounded
    intermediates; a variant has its own weights and inputs, so its key makes no such comparison (every variant's
    key had compared its values with the lecture's 0.348, 0.376 and 1.066)."""
    from symbackprop.documents.handout import render_worksheet
    from symbackprop.engine.solution import solve
    from symbackprop.exam.build import build_exam

    assert "where the lecture, working from rounded intermediates, printed" in render_worksheet(solve())
    keys = build_exam(None, variants=2, seed=4).files["keys.tex"].decode()
    assert "where the lecture" not in keys and keys.count("All values come from the full-precision computation") == 2


def test_an_unknown_name_in_exam_vary_is_named_with_its_file(tmp_path):
    """[exam.vary] names what a set draws: a name the network does not have is one line that names the file and the
    field, as every other spec field's problem does (it had come without the file)."""
    from symbackprop.engine.spec import lecture_text
    from symbackprop.exam.build import build_exam

    spec = tmp_path / "net.toml"
    spec.write_text(lecture_text() + '\n[exam.vary]\nw7 = "fixed"\n', encoding="utf-8")
    with pytest.raises(ExamError) as err:
        build_exam(spec, variants=1)
    assert str(err.value).startswith(f"{spec}: exam.vary.w7: no such input, target or parameter (did you mean")


@pytest.mark.parametrize("command", ["check", "export", "worksheet"])
@pytest.mark.parametrize("kind", ["network", "graph"])
def test_every_command_refuses_an_unknown_name_in_exam_vary(tmp_path, capsys, command, kind):
    """[exam.vary] is a field of the spec: check, export and worksheet refuse a name the spec does not have,
    as exam does, in one line with the file and the field (check had passed it, and only exam refused it)."""
    from symbackprop.engine.spec import lecture_text

    spec = tmp_path / "spec.toml"
    text = lecture_text() if kind == "network" else (ROOT / "examples" / "graph_cs231n.toml").read_text()
    spec.write_text(text + '\n[exam.vary]\nw7 = "fixed"\n', encoding="utf-8")
    args = [command, str(spec)] + (["-o", str(tmp_path / "out")] if command == "worksheet" else [])
    assert main(args) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"symbackprop: error: {spec}: exam.vary.w7: no such input, target or parameter")
    assert len(err.splitlines()) == 1 and not (tmp_path / "out").exists()
    spec.write_text(text + '\n[exam.vary]\nw1 = "fixed"\n', encoding="utf-8")
    assert main(["check", str(spec)]) == 0  # a name it has
