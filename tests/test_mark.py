"""``symbackprop mark``: a generated set of 6 students, responses made from its keys with planted
mistakes (a carried error, early rounding, a flipped sign, too few decimals, an unreadable value, a
gap), as Moodle's Responses report, Canvas's Student Analysis report and a folder of answers files;
the marks each student must get are stated here by hand.  Bad rows are skipped, each with a line."""

from __future__ import annotations

import csv
import html
import io
import re
import tomllib
import zipfile
from concurrent.futures import ProcessPoolExecutor
from decimal import ROUND_HALF_UP, Decimal, localcontext
from pathlib import Path
from xml.etree import ElementTree

import pytest

from symbackprop.cli import main
from symbackprop.exam.build import build_exam
from symbackprop.exam.write import write_exam

ROOT = Path(__file__).resolve().parent.parent
#: a name that must reach LaTeX, CSV and the terminal as text
HOSTILE = "Ed \"=Echo\" & {Co} \\input{/etc/hostname} 100% #1 $x$ ~_^"
EXAM_SPEC = ROOT / "examples" / "exam_lecture.toml"
STUDENTS = [("ada@uni.edu", "Ada Lovelace"), ("s002", "Bob Byte"), ("s003", "Cy Cyan"), ("s004", "Di Delta"),
            ("s005", HOSTILE), ("s006", "Fay Absent")]
ASKED = 29  # the lecture exam asks 29 values (forward, loss, deltas, gradients, updates)


def _q(text: str | Decimal, places: int = 3) -> str:
    """Independent half-up rounding of a Decimal."""
    return str(Decimal(text).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def _sigmoid(z: Decimal) -> Decimal:
    with localcontext() as ctx:
        ctx.prec = 50
        return 1 / (1 + (-z).exp())


@pytest.fixture(scope="module")
def exam_dir(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("mark")
    roster = root / "class.csv"
    roster.write_text(_csv([("id", "name"), *STUDENTS]), encoding="utf-8")
    exam = build_exam(EXAM_SPEC, seed=11, roster=roster, moodle=True, qti=True)
    return write_exam(exam, root / "set")


def _key(exam_dir: Path, label: str) -> dict[str, str]:
    return tomllib.loads((exam_dir / "answers" / f"v{label}.toml").read_text())["values"]


def _params(exam_dir: Path, label: str) -> dict[str, Decimal]:
    spec = tomllib.loads((exam_dir / "variants" / f"v{label}.toml").read_text())
    return {k: Decimal(v) for k, v in spec["parameters"].items()}


def _early_rounded(exam_dir: Path, label: str) -> dict[str, str]:
    """A student who writes an operand to 2 decimals (too few) and carries that rounded value on:
    dE/dw5 = dE/dz_o * h1 (dE/dw6 = dE/dz_o * h2) from the 2-decimal operand differs from the key
    (early rounding).  The set is drawn so that the lecture's own 3-decimal rounding never shows."""
    key = _key(exam_dir, label)
    for short, target, other in (("h1", "dE/dw5", "dE/dz_o"), ("h2", "dE/dw6", "dE/dz_o"),
                                 ("dE/dz_o", "dE/dw5", "h1"), ("dE/dz_o", "dE/dw6", "h2")):
        if key[short][-1] == "5":  # rounding the key again would not be rounding the exact value
            continue
        rounded = _q(key[short], 2)
        value = _q(Decimal(rounded) * Decimal(key[other]))
        if value != key[target]:
            return {short: rounded, target: value}
    raise AssertionError(f"variant {label}: no early-rounding slip to plant")


def _planted(exam_dir: Path) -> dict[str, dict[str, str | None]]:
    """Each student's answers: the key of their variant with the planted mistakes (None: left empty)."""
    out: dict[str, dict[str, str | None]] = {}
    labels = {row["student_id"]: row["variant"] for row in csv.DictReader((exam_dir / "index.csv").open())}
    for sid, _ in STUDENTS[:5]:
        out[sid] = dict(_key(exam_dir, labels[sid]))
    # s002: z_h1 off by 0.1 (wrong), h1 = sigmoid of that wrong z_h1 (carried forward: full credit) -> 28
    wrong_z = Decimal(out["s002"]["z_h1"]) + Decimal("0.1")
    out["s002"]["z_h1"] = _q(wrong_z)
    out["s002"]["h1"] = _q(_sigmoid(Decimal(_q(wrong_z))))
    # s003: the sign of dE/dw5 flipped (wrong: sign flipped), w1' left empty -> 27
    assert Decimal(out["s003"]["dE/dw5"]) != 0
    out["s003"]["dE/dw5"] = _q(-Decimal(out["s003"]["dE/dw5"]))
    out["s003"]["w1'"] = None
    # s004: an operand to 2 decimals (too few: half), a product from it (early rounding: half), and b3'
    # to 2 decimals (too few: half) -> 27.5
    out["s004"].update(_early_rounded(exam_dir, labels["s004"]))
    exact_b3 = Decimal(out["s004"]["b3'"])
    assert exact_b3.as_tuple().digits[-1] != 5  # rounding 3 decimals to 2 is then the exact value's
    out["s004"]["b3'"] = _q(exact_b3, 2)
    # s005: "abc" for E (invalid, no credit) -> 28
    out["s005"]["E"] = "abc"
    return out


def _strip(html_text: str) -> str:
    """Roughly what Moodle's html_to_text and Canvas's strip_tags leave of a question text."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", html_text)).split())


def _moodle_csv(exam_dir: Path, planted, extra_rows=()) -> str:
    quiz = ElementTree.parse(exam_dir / "moodle.xml").getroot()
    texts = {}
    for q in quiz.findall("question[@type='cloze']"):
        text = q.find("questiontext/text").text
        texts[re.search(r"variant (\d+)", q.find("name/text").text).group(1)] = _strip(
            re.sub(r"\{1:NUMERICAL:[^}]*\}", "_____", text))
    labels = {row["student_id"]: row["variant"] for row in csv.DictReader((exam_dir / "index.csv").open())}
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["Last name", "First name", "Email address", "ID number", "State", "Started on", "Completed",
                "Time taken", "Grade/29.00", "Question 1", "Response 1", "Right answer 1"])
    for sid, name in STUDENTS[:5]:
        first, last = name.split(" ", 1)
        email, idnum = (sid, "") if "@" in sid else (f"{first.lower()}@uni.edu", sid)
        parts = _parts(planted[sid].values())
        w.writerow([last, first, email, idnum, "Finished", "1 June 2026 10:00", "1 June 2026 11:00", "1 hour",
                    "20.00", texts[labels[sid]], parts, "-"])
    for row in extra_rows:
        w.writerow(row(texts, labels))
    return out.getvalue()


def _parts(values) -> str:
    """A Cloze response cell as Moodle's report prints it."""
    return "; ".join(f"part {i}: {v or ''}" for i, v in enumerate(values, start=1))


def _answers_toml(values: dict[str, str | None]) -> str:
    """An answers file of these values (None: left out)."""
    return "[values]\n" + "".join(f'"{k}" = "{v}"\n' for k, v in values.items() if v is not None)


def _run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def _grades(path: Path) -> dict[str, str]:
    rows = list(csv.reader(path.open(encoding="utf-8")))
    return {(r[0] or r[1]): r[-1] for r in rows[1:]}


#: what the class's files say, in English and (``--lang de``) in German
SAID = {
    "en": {"read": "5 rows read: 5 marked, 0 skipped; 1 student of the roster without a response",
           "absent": "No response from: s006 (Fay Absent)", "mistakes": "Most common mistakes per quantity:",
           "blanks": "Left blank most often:",
           "sign": "wrong: sign flipped", "carried": "carried forward", "empty": "not answered",
           "few": "too few decimals", "invalid": "invalid", "early": "early rounding",
           "points": "27.00 of 29.00 points", "missing": "not answered: w1'"},
    "de": {"read": "5 Zeilen gelesen: 5 bewertet, 0 übersprungen; 1 Studierende der Liste ohne Antwort",
           "absent": "Keine Antwort von: s006 (Fay Absent)", "mistakes": "Häufigste Fehler je Größe:",
           "blanks": "Am häufigsten leer gelassen:",
           "sign": "falsch: Vorzeichen vertauscht", "carried": "Folgefehler", "empty": "nicht beantwortet",
           "few": "zu wenige Nachkommastellen", "invalid": "ungültig", "early": "zu früh gerundet",
           "points": "27.00 von 29.00 Punkten", "missing": "nicht beantwortet: w1'"},
}


@pytest.mark.parametrize("lang", ["en", "de"])
def test_moodle_responses_with_planted_mistakes(exam_dir, tmp_path, capsys, lang):
    said = SAID[lang]
    planted = _planted(exam_dir)
    (tmp_path / "responses.csv").write_text(_moodle_csv(exam_dir, planted), encoding="utf-8")
    code, out, err = _run(capsys, "mark", str(exam_dir), str(tmp_path / "responses.csv"), "-o", str(tmp_path / "m"),
                          *(["--lang", lang] if lang != "en" else []))
    assert (code, err) == (0, ""), err
    assert said["read"] in out
    grades = _grades(tmp_path / "m" / "gradebook-moodle.csv")  # the same points in every language
    assert grades == {"s002": "28.00", "s003": "27.00", "s004": "27.50", "s005": "28.00", "ada@uni.edu": "29.00"}
    header = (tmp_path / "m" / "gradebook-moodle.csv").read_text().splitlines()[0]
    assert header == "ID number,Email address,Full name,Backpropagation"
    summary = (tmp_path / "m" / "summary.txt").read_text(encoding="utf-8")
    assert said["absent"] in summary
    mistakes, blanks = summary.split(said["mistakes"])[1].split(said["blanks"])
    assert re.search(rf"dE/dw5\s+{said['sign']}\s+1", mistakes)
    assert re.search(rf"h1\s+{said['carried']}\s+1", mistakes)
    # a value left blank is not among the mistakes (a few students who stop early had filled the whole chart): it
    # is counted on its own
    assert said["empty"] not in mistakes and re.search(r"w1'\s+1", blanks)
    assert re.search(rf"b3'\s+{said['few']}\s+1", mistakes)
    assert re.search(rf"E\s+{said['invalid']}\s+1", mistakes)
    assert said["early"] in mistakes
    sheet = (tmp_path / "m" / "sheets" / "s003-v003.txt").read_text(encoding="utf-8")
    assert said["points"] in sheet and said["missing"] in sheet
    if lang == "de":
        tex = (tmp_path / "m" / "summary.tex").read_text(encoding="utf-8")
        assert r"\section*{Häufigste Fehler je Größe}" in tex and "Studierende & Variante & Punkte & Richtig" in tex


def test_bad_moodle_rows_are_skipped_with_a_line_each(exam_dir, tmp_path, capsys):
    planted = _planted(exam_dir)
    key1, key3 = (_parts(_key(exam_dir, label).values()) for label in ("001", "003"))
    extra = [
        lambda t, lab: ["Zed", "Unknown", "zed@uni.edu", "", "Finished", "", "", "", "", t["001"], key1, ""],
        # s006 (variant 006) with a response to variant 003's question: not marked against 003's key
        lambda t, lab: ["Absent", "Fay", "", "s006", "Finished", "", "", "", "", t["003"], key3, ""],
        lambda t, lab: ["Delta", "Di", "", "s004", "Finished", "", "", "", "", t[lab["s004"]],
                        "part 1: 0.1; part 3: 0.2", ""],
        lambda t, lab: ["Overall average", "", "", "", "", "", "", "", "", "", "", ""],
    ]
    (tmp_path / "responses.csv").write_text(_moodle_csv(exam_dir, planted, extra), encoding="utf-8")
    code, out, err = _run(capsys, "mark", str(exam_dir), str(tmp_path / "responses.csv"), "-o", str(tmp_path / "m"))
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 4, err
    assert "row 7: skipped: unknown student zed@uni.edu" in lines[0]
    assert "row 8: skipped: a response to variant 003, but s006 has variant 006" in lines[1]
    assert "row 9: skipped: the response's parts are numbered 1, 3" in lines[2]
    assert "row 10: skipped: Moodle's \"Overall average\" row" in lines[3]
    assert "9 rows read: 5 marked, 4 skipped" in out
    assert _grades(tmp_path / "m" / "gradebook-moodle.csv")["s004"] == "27.50"


def _canvas_csvs(exam_dir: Path, planted, folder: Path, sis: bool = True) -> list[str]:
    """One Student Analysis CSV per variant's quiz (Canvas holds one quiz per variant), with the columns of
    canvas-lms app/models/quizzes/quiz_statistics/student_analysis.rb ``to_csv``; ``sis``: as a user who
    may see SIS ids downloads it (``sis_id`` and ``section_sis_id`` are left out otherwise)."""
    labels = {row["student_id"]: row["variant"] for row in csv.DictReader((exam_dir / "index.csv").open())}
    paths = []
    with zipfile.ZipFile(exam_dir / "canvas-qti.zip") as zf:
        for sid, name in STUDENTS[:5]:
            label = labels[sid]
            xml = zf.read(f"symbackprop_11_v{label}/symbackprop_11_v{label}.xml").decode()
            items = re.findall(r'<item ident="[^"]*_q(\d+)"[^>]*>.*?<mattext texttype="text/html">(.*?)</mattext>',
                               xml, re.S)
            header = ["name", "id", "sis_id", "section", "section_id", "section_sis_id", "submitted", "attempt"]
            row = [name, str(100 + len(paths)), sid, "Lecture A", "7", "", "2026-06-01 11:00:00 UTC", "1"]
            if not sis:
                kept = [i for i, h in enumerate(header) if "sis" not in h]
                header, row = [header[i] for i in kept], [row[i] for i in kept]
            for (k, text), value in zip(items, planted[sid].values(), strict=True):
                header += [f"{4000 + int(k)}: {_strip(html.unescape(text))}", "1.0"]
                row += [value or "", "1" if value else "0"]
            header += ["n correct", "n incorrect", "score"]
            row += ["", "", ""]
            path = folder / f"v{label}.csv"
            path.write_text(_csv([header, row]), encoding="utf-8")
            paths.append(str(path))
    return paths


def _csv(rows) -> str:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue()


def test_canvas_student_analysis_and_policy(exam_dir, tmp_path, capsys):
    planted = _planted(exam_dir)
    paths = _canvas_csvs(exam_dir, planted, tmp_path)
    policy = tmp_path / "policy.toml"
    policy.write_text("[marking]\ncarried_forward = 0.5\nearly_rounding = 0\ntoo_few_decimals = 1\nout_of = 100\n")
    code, out, err = _run(capsys, "mark", str(exam_dir), *paths, "--gradebook", "canvas", "--policy", str(policy),
                          "-o", str(tmp_path / "m"))
    assert (code, err) == (0, ""), err
    rows = list(csv.reader((tmp_path / "m" / "gradebook-canvas.csv").open()))
    # as canvas-lms lib/gradebook_exporter.rb writes it: the header, then the points possible
    assert rows[0] == ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Backpropagation"]
    assert rows[1] == ["    Points Possible", "", "", "", "", "100.00"]
    by_sis = {r[2]: r for r in rows[2:]}
    # out of 100: each value is 100/29; s002 has 27 + 0 (wrong) + 0.5 (carried forward),
    # s004 26 + 1 + 1 (2 decimals) + 0 (early rounding)
    assert by_sis["s002"][-1] == "94.83"  # 2750/29 = 94.827...
    assert by_sis["s004"][-1] == "96.55"  # 2800/29 = 96.551...
    assert by_sis["s003"][-1] == "93.10"  # 2700/29 = 93.103...
    assert by_sis["ada@uni.edu"][-1] == "100.00"
    assert by_sis["s005"][:2] == [HOSTILE, "104"] and by_sis["s005"][4] == "Lecture A"


def test_a_canvas_report_without_sis_columns_is_read(exam_dir, tmp_path, capsys):
    """Canvas leaves sis_id out for a user who may not see SIS ids: the report is still a Student Analysis,
    and each row, its student known only by Canvas's own id, is one line (not in the roster's ids)."""
    paths = _canvas_csvs(exam_dir, _planted(exam_dir), tmp_path, sis=False)
    assert "sis_id" not in Path(paths[0]).read_text().splitlines()[0]
    code, out, err = _run(capsys, "mark", str(exam_dir), *paths, "-o", str(tmp_path / "m"))
    assert code == 2 and "neither" not in err
    assert err.count("skipped: unknown student 100 (not in index.csv; Canvas's own id only: download the report "
                     "as a user who may see SIS ids (sis_id))") == 1 and err.count("\n") == 6
    # no row marked: one more line says so, and nothing is written (an earlier marking would stay as it was)
    assert err.endswith("no response could be marked (5 skipped); nothing written\n") and out == ""
    assert not (tmp_path / "m").exists()


def test_a_response_for_a_variant_not_in_the_set_says_so_and_an_earlier_marking_stays(exam_dir, tmp_path,
                                                                                     capsys):
    """v099.toml beside a set of a few variants was "the response names no variant"; a run that marks nothing
    had moved the earlier marking aside and written an empty gradebook; a missing exam folder was blamed on -o."""
    marks = tmp_path / "m"
    good = tmp_path / "good"
    good.mkdir()
    (good / "v001.toml").write_text('[values]\n"z_h1" = "0.1"\n', encoding="utf-8")
    assert _run(capsys, "mark", str(exam_dir), str(good), "-o", str(marks))[0] == 0
    before = {p: p.read_bytes() for p in marks.rglob("*") if p.is_file()}
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "v099.toml").write_text('[values]\n"z_h1" = "0.1"\n', encoding="utf-8")
    code, out, err = _run(capsys, "mark", str(exam_dir), str(bad), "-o", str(marks))
    assert code == 2 and "v099.toml: skipped: variant 099 is not in this set (001 to " in err
    assert {p: p.read_bytes() for p in marks.rglob("*") if p.is_file()} == before
    code, out, err = _run(capsys, "mark", str(tmp_path / "nope"), str(good))
    assert code == 2 and err.startswith(f"symbackprop: error: {tmp_path / 'nope'}: ") and "-o " not in err


def test_answers_folder_and_spec_policy(exam_dir, tmp_path, capsys):
    """A folder of answers files named by student id or variant; the policy from a spec's [exam.marking]."""
    planted = _planted(exam_dir)
    folder = tmp_path / "answers"
    folder.mkdir()
    for sid, values in planted.items():
        lines = [f'"{k}" = "{v}"' for k, v in values.items() if v is not None]
        name = "v006" if sid == "s005" else sid  # s005's file named by a variant: s006 has v006
        (folder / f"{name}.toml").write_text("[values]\n" + "\n".join(lines) + "\n")
    spec = tmp_path / "spec.toml"
    spec.write_text(EXAM_SPEC.read_text() + "\n[exam.marking]\nwrong = 0.25\ninvalid = 0.25\n")
    code, out, err = _run(capsys, "mark", str(exam_dir), str(folder), "--policy", str(spec), "-o", str(tmp_path / "m"))
    # v006.toml holds s005's answers but is marked as variant 006's (s006): far from that key
    assert code == 0, err
    grades = _grades(tmp_path / "m" / "gradebook-moodle.csv")
    assert grades["s003"] == "27.25" and grades["s002"] == "28.25" and grades["ada@uni.edu"] == "29.00"
    assert "s006" in grades and "s005" not in grades
    assert "5 rows read: 5 marked, 0 skipped; 1 student of the roster without a response" in out


def test_a_marked_sheet_lists_what_was_left_empty_and_one_result(exam_dir, tmp_path):
    """A student's sheet (text and LaTeX): a value left empty is a row "not answered" with the key's value, in the
    asked order; the head line (points, the asked values' verdicts) is its result, and rows that earn no points
    (a formula) are counted apart, never as a second total that disagrees with the first."""
    from symbackprop.engine.examtable import MarkingPolicy
    from symbackprop.marking.classmarks import mark_class
    from symbackprop.marking.examset import load_exam_folder
    from symbackprop.marking.markfiles import mark_files
    from symbackprop.marking.responses import read_all

    planted = _planted(exam_dir)
    folder = tmp_path / "answers"
    folder.mkdir()
    values = planted["s003"]  # dE/dw5's sign flipped, w1' left empty
    values["E"] = None  # left empty too
    (folder / "s003.toml").write_text(_answers_toml(values) + '[formulas]\n"dE/dw5" = "dE/dz_o * h2"\n')
    exam = load_exam_folder(exam_dir)
    marks = mark_class(exam, read_all([str(folder)], exam), MarkingPolicy())
    files = mark_files(marks, "Backpropagation", "moodle", "Backpropagation", pdf=True)
    label = exam.by_student["s003"]
    key = _key(exam_dir, label)
    text = files.files[f"sheets/s003-v{label}.txt"].decode()
    head, missing, also = text.splitlines()[:3]
    assert head.startswith(f"Cy Cyan (s003), variant {label}: 26.00 of 29.00 points; 26 of 29 right: 1 wrong, 2 not "
                           "answered")
    assert missing == "not answered: E, w1'"
    assert also == "Also marked, for no points (formulas, values not asked): 0 of 1 right."
    rows = {line.split()[0]: line.split() for line in text.splitlines()[5:] if line.strip()}
    assert rows["E"] == ["E", key["E"], "not", "answered"] and rows["w1'"] == ["w1'", key["w1'"], "not", "answered"]
    names = [line.split()[0] for line in text.splitlines()[5:] if line.strip()]
    assert names.index("yhat") < names.index("E") < names.index("E'") and names.index("b1'") > names.index("w1'")
    assert "right:" not in text.split("\n\n", 1)[1] and "Result" not in text  # one result: the head's
    tex = next(latex for latex, path in files.sheets if path == f"sheets/s003-v{label}.pdf")
    assert r"\textbf{Cy Cyan (s003), variant " in tex and "Result:" not in tex
    assert tex.count(r"\vnone &") == 2 and r"\textbf{not answered}" in tex
    assert f"}} & ${key['E']}$ &" in tex  # the key's value, typeset as maths (a minus sign, not a hyphen)


def test_a_diagnosis_in_the_summary_names_its_quantities_as_maths(lecture):
    """The class summary's chart prints a slip's names as symbols (``$w_{3}$``), the same slip the text summary
    words in ASCII, cut before its bracket; a slip without names and a verdict stay words."""
    from symbackprop.marking.answers import Answer, Answers
    from symbackprop.marking.classmarks import diagnosis, diagnosis_parts
    from symbackprop.marking.verify import mark

    report = mark(lecture, Answers((Answer("z_h1", "0.383", "value"), Answer("dE/dw6", "-0.028", "value"),
                                    Answer("h1", "0.600", "value"))))
    rows = {r.name: r for r in report.rows}
    neighbour = diagnosis_parts(rows["z_h1"])
    assert neighbour == (("wrong: ", ""), ("w3", "w_{3}"), (" used instead of ", ""), ("w1", "w_{1}"), (" in ", ""),
                         ("z_h1", "z_{h_{1}}"))
    assert diagnosis(rows["z_h1"]) == "wrong: w3 used instead of w1 in z_h1"
    assert diagnosis_parts(rows["dE/dw6"]) == (("wrong: ", ""), ("sign flipped", ""))  # "(expected 0.028)" cut
    assert diagnosis_parts(rows["h1"]) == (("wrong", ""),) and diagnosis_parts(None) == (("not answered", ""),)


@pytest.mark.parametrize(("policy", "problem"), [
    ("wrong = 2\n", "{p}: wrong: must be a credit from 0 to 1, got 2"),
    ("[marking]\nout_of = -1\n", "{p}: marking.out_of: must be a number above 0"),
    ("[marking]\nhalf = 0.5\n", "{p}: marking.half: unknown field"),
])
def test_bad_policy_is_one_line_and_writes_nothing(exam_dir, tmp_path, capsys, policy, problem):
    p = tmp_path / "policy.toml"
    p.write_text(policy)
    code, out, err = _run(capsys, "mark", str(exam_dir), str(exam_dir / "answers"), "--policy", str(p),
                          "-o", str(tmp_path / "m"))
    assert code == 2 and out == ""
    assert err.startswith("symbackprop: error: " + problem.format(p=p)) and err.count("\n") == 1
    assert not (tmp_path / "m").exists()


def test_a_csv_from_another_report_is_refused(exam_dir, tmp_path, capsys):
    other = tmp_path / "grades.csv"
    other.write_text("First name,Last name,Email address,Grade/10.00\nAda,L,ada@uni.edu,9\n")
    code, out, err = _run(capsys, "mark", str(exam_dir), str(other), "-o", str(tmp_path / "m"))
    assert code == 2 and "neither a Moodle \"Responses\" report" in err and err.count("\n") == 1
    assert not (tmp_path / "m").exists()
    # beside a report that reads, it is one skipped line and the rest is marked
    code, out, err = _run(capsys, "mark", str(exam_dir), str(other), str(exam_dir / "answers" / "v002.toml"),
                          "-o", str(tmp_path / "m"))
    assert code == 1 and err.count("\n") == 1
    assert f"symbackprop: {other}: skipped: not read: neither a Moodle" in err
    assert "2 rows read: 1 marked, 1 skipped" in out


def test_more_bad_rows_and_the_same_bytes_in_two_processes(exam_dir, tmp_path, capsys, monkeypatch):
    """A cell that is not Cloze wording, a second response, a Canvas row of a student answering another
    variant's quiz; then a class marked in 2 processes gives the very bytes of 1 process."""
    from symbackprop import workers
    from symbackprop.marking import classmarks

    planted = _planted(exam_dir)
    extra = [lambda t, lab: ["Echo", "Ed", "", "s005", "Finished", "", "", "", "", t[lab["s005"]], "0.378", ""],
             lambda t, lab: ["Byte", "Bob", "", "s002", "Finished", "", "", "", "", t[lab["s002"]],
                             _parts(planted["s002"].values()), ""]]
    (tmp_path / "moodle.csv").write_text(_moodle_csv(exam_dir, planted, extra), encoding="utf-8")
    canvas = _canvas_csvs(exam_dir, planted, tmp_path)
    rows = list(csv.reader(open(canvas[2], encoding="utf-8")))  # variant 003's quiz, answered by s004
    rows[1][2] = "s004"
    Path(canvas[2]).write_text(_csv(rows), encoding="utf-8")
    args = ["mark", str(exam_dir), str(tmp_path / "moodle.csv"), canvas[2]]
    code, out, err = _run(capsys, *args, "-o", str(tmp_path / "one"))
    assert code == 1
    lines = err.splitlines()
    assert len(lines) == 3, err
    assert "moodle.csv row 7: skipped: the response '0.378' does not read \"part 1: ...; part 2: ...\"" in lines[0]
    assert "moodle.csv row 8: skipped: a second response of s002 (the first, at " in lines[1]
    assert "v003.csv row 2: skipped: a response to variant 003, but s004 has variant 004" in lines[2]
    assert "8 rows read: 5 marked, 3 skipped" in out
    monkeypatch.setattr(classmarks, "PARALLEL_FROM", 2)
    monkeypatch.setattr(workers, "available_workers", lambda: 2)  # a pytest-xdist worker says 1 (conftest)
    forks = []
    monkeypatch.setattr(workers, "ProcessPoolExecutor", lambda *a, **k: forks.append(a) or ProcessPoolExecutor(*a, **k))
    code, _, _ = _run(capsys, *args, "-o", str(tmp_path / "two"))
    assert code == 1
    one = {p.relative_to(tmp_path / "one"): p.read_bytes() for p in (tmp_path / "one").rglob("*") if p.is_file()}
    two = {p.relative_to(tmp_path / "two"): p.read_bytes() for p in (tmp_path / "two").rglob("*") if p.is_file()}
    assert one == two and len(one) == 9  # its marker, gradebook, summary.txt/.tex, 5 sheets
    assert forks == [(2,)]  # the second marking did run in two processes


def test_a_rerun_moves_the_earlier_marking_away_and_keeps_the_teachers_files(exam_dir, tmp_path, capsys):
    """Marking again into the same folder leaves no sheet of the earlier run beside the new ones: the earlier
    marking moves to previous-1/ when the new one differs, a file the teacher put there stays, the same
    marking again moves nothing; a folder that is not a marking is refused in one line."""
    planted = _planted(exam_dir)
    answers = tmp_path / "answers"
    answers.mkdir()
    for student, values in planted.items():
        (answers / f"{student}.toml").write_text(_answers_toml(values), encoding="utf-8")
    out = tmp_path / "marks"
    assert _run(capsys, "mark", str(exam_dir), str(answers), "-o", str(out))[0] == 0
    first = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    (out / "my-notes.txt").write_text("the teacher's", encoding="utf-8")
    alone = tmp_path / "alone"
    alone.mkdir()
    one = next(iter(planted))
    (alone / f"{one}.toml").write_text(_answers_toml(planted[one]), encoding="utf-8")
    code, printed, _ = _run(capsys, "mark", str(exam_dir), str(alone), "-o", str(out))
    assert f"{out}: the earlier marking moved to {out / 'previous-1'}" in printed
    now = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    sheets = [p for p in now if p.startswith("sheets/")]
    assert len(sheets) == 1 and sheets[0].startswith(f"sheets/{one}-v")  # no stale sheet beside it
    assert (out / "my-notes.txt").read_text(encoding="utf-8") == "the teacher's"
    assert sorted(p.removeprefix("previous-1/") for p in now if p.startswith("previous-1/")) == first
    again = _run(capsys, "mark", str(exam_dir), str(alone), "-o", str(out))[1]
    assert "moved" not in again and not (out / "previous-2").exists()
    other = tmp_path / "other"
    other.mkdir()
    (other / "x.txt").write_text("x", encoding="utf-8")
    code, printed, err = _run(capsys, "mark", str(exam_dir), str(alone), "-o", str(other))
    assert code == 2 and err.count("\n") == 1 and "is not a marking" in err and printed == ""


def test_a_set_without_roster_is_marked_by_the_variant_each_row_names(tmp_path, capsys):
    exam = write_exam(build_exam(EXAM_SPEC, variants=2, seed=3, moodle=True), tmp_path / "set")
    key = _key(exam, "002")
    responses = tmp_path / "answers"
    responses.mkdir()
    (responses / "v002.toml").write_text("[values]\n" + "".join(f'"{k}" = "{v}"\n' for k, v in key.items()))
    (responses / "kim.toml").write_text('z_h1 = "0.1"\n')  # no roster, and no variant in its name
    code, out, err = _run(capsys, "mark", str(exam), str(responses), "-o", str(tmp_path / "m"))
    assert code == 1 and "kim.toml: skipped: no variant: the set has no roster" in err
    assert out.splitlines()[-1] == "Backpropagation: 2 rows read: 1 marked, 1 skipped"
    # no student known: the row names its variant (it had been ",,,29.00"), and the run says a platform cannot
    # match it; the sheet opens with the variant (it had been ", variant 002: ...")
    assert (tmp_path / "m" / "gradebook-moodle.csv").read_text().splitlines()[1] == ",,variant 002,29.00"
    assert "the set has no roster: the gradebook names each row by its variant" in out
    sheet = next((tmp_path / "m" / "sheets").glob("*.txt")).read_text()
    assert sheet.startswith("Variant 002: 29.00 of 29.00 points")


@pytest.mark.parametrize(("make", "problem"), [
    (lambda d: d, "index.csv: no such file"),
    (lambda d: (d / "index.csv").write_text("a,b\n1,2\n") and d, "index.csv: expected the columns variant, seed"),
])
def test_a_folder_that_is_not_an_exam_set(tmp_path, capsys, make, problem):
    folder = make(tmp_path)
    code, out, err = _run(capsys, "mark", str(tmp_path), str(tmp_path), "-o", str(tmp_path / "m"))
    assert code == 2 and problem in err and err.count("\n") == 1
    assert not (tmp_path / "m").exists() and folder == tmp_path


def test_pdf_sheets_and_summary_chart(exam_dir, tmp_path, capsys, tex):
    import subprocess

    planted = _planted(exam_dir)
    (tmp_path / "responses.csv").write_text(_moodle_csv(exam_dir, planted), encoding="utf-8")
    code, out, err = _run(capsys, "mark", str(exam_dir), str(tmp_path / "responses.csv"), "--pdf",
                          "-o", str(tmp_path / "m"))
    assert (code, err) == (0, ""), err
    sheets = sorted((tmp_path / "m" / "sheets").glob("*.pdf"))
    assert [p.name for p in sheets] == ["ada@uni.edu-v001.pdf", "s002-v002.pdf", "s003-v003.pdf", "s004-v004.pdf",
                                        "s005-v005.pdf"]
    text = subprocess.run(["pdftotext", str(tmp_path / "m" / "summary.pdf"), "-"], capture_output=True,
                          text=True, check=True).stdout
    assert "Most common mistakes per quantity" in text and "sign flipped" in text
    assert "\\input{/etc/hostname} 100% #1 $x$" in text  # the name as text, nothing read from the disk
    assert "Mean 27.90 of 29.00 points" in " ".join(text.split())  # (29 + 28 + 27 + 27.5 + 28) / 5 = 27.9
    sheet = subprocess.run(["pdftotext", str(sheets[2]), "-"], capture_output=True, text=True, check=True).stdout
    assert "Cy Cyan" in sheet and "sign flipped" in sheet
    assert "Cy Cyan (s003), variant 003: 27.00 of 29.00 points" in " ".join(sheet.split())  # its head: the points


def test_variants_sharing_one_derivation_equal_their_own_solve(exam_dir):
    """The marker derives the network once and evaluates each variant on it: every value of every
    variant is the one ``solve`` gives that variant's spec on its own."""
    from symbackprop.engine.solution import solve
    from symbackprop.marking.examset import load_exam_folder

    folder = load_exam_folder(exam_dir)
    solutions = [folder.solution(label) for label in folder.variants]
    assert len({id(s.derivation.network.quantities) for s in solutions}) == 1  # shared, not re-derived
    for label, shared in zip(folder.variants, solutions, strict=True):
        alone = solve(folder.variants[label].spec_path, prove=False)
        assert shared.spec == alone.spec
        for name in alone.network.quantities:
            assert (shared.value(name), shared.display(name)) == (alone.value(name), alone.display(name)), name


def test_an_unreadable_answers_file_named_alone_writes_nothing(exam_dir, tmp_path, capsys):
    """A binary file named as the only response had been skipped (exit 1) and a gradebook of nobody written; named
    alone, a file that cannot be read at all is one line, exit 2, and no output folder."""
    (tmp_path / "s002.toml").write_bytes(bytes(range(256)))
    code, out, err = _run(capsys, "mark", str(exam_dir), str(tmp_path / "s002.toml"), "-o", str(tmp_path / "m"))
    assert code == 2 and err.count("\n") == 1 and "s002.toml: a binary file, not an answers file" in err
    assert not (tmp_path / "m").exists()
