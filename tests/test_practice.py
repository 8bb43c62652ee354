"""The practice app's JSON API over real HTTP: exercises, verdicts against an independent oracle, hostile input.

Right answers come from tests/oracle.py on the values the page shows; early-rounded and carried-forward
answers are computed here by hand from those values.  Hostile requests are bounded by a 10 s client
timeout (a hang fails); their timings are printed by benchmarks/practice_hostile.py.
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import pytest
from practice_helpers import Reference, check, early_rounding_case, early_rounding_z_o, half_up, request, running_app

from symbackprop.engine.solution import solve
from symbackprop.exam.drawing import draw_variants
from symbackprop.practice.server import MAX_BODY

SEED = 7


@pytest.fixture(scope="module")
def app():
    with running_app() as address:
        yield address


def page(app, seed: int = SEED) -> dict:
    status, data = request(app, "GET", f"/api/exercise?seed={seed}")
    assert status == 200, data
    return data


def test_exercise_is_exam_variant_one_in_the_lecture_order(app):
    data = page(app)
    assert data == page(app)  # the seed fixes the exercise
    base = solve(prove=False)
    variant = draw_variants(base, base.spec.exam, 1, SEED)[0][0]
    given = {g["name"]: Fraction(g["value"]) for g in data["given"]}
    assert given == {n: Fraction(str(variant.solution.value(n))) for n in given}
    assert set(given) == {"eta", "w1", "w2", "w3", "w4", "w5", "w6", "b1", "b2", "b3", "x1", "x2", "t"}
    keys = [t["key"] for t in data["tasks"]]
    assert keys == ["forward", "loss", "deltas", "gradients", "update", "after"]
    names = {t["key"]: [i["name"] for i in t["items"]] for t in data["tasks"]}
    assert names["forward"] == ["z_h1", "z_h2", "h1", "h2", "z_o", "yhat"]
    assert names["loss"] == ["E"] and names["after"] == ["E'"]
    assert page(app, SEED + 1)["given"] != data["given"]
    svg = ET.fromstring(data["svg"])  # well-formed; one circle per unit, one line per edge
    ns = "{http://www.w3.org/2000/svg}"
    assert len(svg.findall(f"{ns}circle")) == 5
    assert len(svg.findall(f"{ns}line")) == 6 + 3 + 1  # weights, bias edges, the loss edge
    labels = [el.get("data-tex") for el in svg.iter() if el.get("data-tex")]
    assert {"x_{1}", "h_{2}", r"\hat{y}"} <= set(labels)
    assert all(str(v) in labels or f"{float(v):.2f}" in labels for n, v in given.items() if n.startswith("w"))


def test_right_answers_are_correct(app):
    ref = Reference(page(app))
    answers = {n: ref.shown(n) for n in ("z_h1", "z_h2", "h1", "h2", "z_o", "E", "dE/dz_o", "dE/dw5", "w5'", "E'")}
    answers["yhat"] = "sigma(z_o)"
    answers["dE/dw6"] = "dE/dz_o * h2"
    rows = check(app, SEED, answers)["rows"]
    assert {n: r["verdict"] for n, r in rows.items()} == dict.fromkeys(answers, "correct")


def test_early_rounded_answer_is_named_so(app):
    """z_o worked to 4 decimals from h1, h2 already rounded to 3: early rounding, not wrong."""
    seed, ref = early_rounding_case(app)
    rows = check(app, seed, {"h1": ref.shown("h1"), "h2": ref.shown("h2"), "z_o": early_rounding_z_o(ref)})["rows"]
    assert rows["h1"]["verdict"] == rows["h2"]["verdict"] == "correct"
    assert rows["z_o"]["verdict"] == "early_rounding", rows["z_o"]
    assert "rounded" in rows["z_o"]["why"]


def test_carried_forward_and_wrong_answers(app):
    ref = Reference(page(app))
    g = ref.given
    h1 = Fraction(ref.shown("h1")) + Fraction(1, 10)  # a wrong h1 ...
    z_o = half_up(g["w5"] * h1 + g["w6"] * Fraction(ref.shown("h2")) + g["b3"], 3)  # ... used rightly
    answers = {"h1": half_up(h1, 3), "h2": ref.shown("h2"), "z_o": z_o, "dE/dz_o": "12.345",
               "dE/dw5": "dE/dz_o * h2", "z_h1": "0.378e"}
    rows = check(app, SEED, answers)["rows"]
    verdicts = {n: r["verdict"] for n, r in rows.items()}
    assert verdicts == {"h1": "wrong", "h2": "correct", "z_o": "carried_forward", "dE/dz_o": "wrong",
                        "dE/dw5": "wrong", "z_h1": "invalid"}
    assert "h1" in rows["z_o"]["why"]
    assert rows["dE/dw5"]["why"] == "missing factor h1, extra factor h2"
    assert ["h1", "h_{1}"] in rows["dE/dw5"]["why_parts"]


def test_steps_and_solution_show_the_worked_lines(app):
    ref = Reference(page(app))
    status, line = request(app, "GET", f"/api/step?seed={SEED}&name=z_h1")
    assert status == 200 and line["latex"].startswith("z_{h_{1}} = ") and line["latex"].endswith(ref.shown("z_h1"))
    status, solution = request(app, "GET", f"/api/solution?seed={SEED}")
    names = [i["name"] for t in page(app)["tasks"] for i in t["items"]]
    assert [s["name"] for s in solution["steps"]] == names
    for s in solution["steps"]:
        assert s["latex"].endswith(ref.shown(s["name"])), s


def test_preview_is_the_parsed_formula(app):
    def preview(text: str) -> dict:
        status, data = request(app, "POST", "/api/preview", json.dumps({"seed": SEED, "text": text}).encode())
        assert status == 200
        return data

    assert preview("dE/dz_o*h1")["latex"] == r"\frac{\partial E}{\partial z_{o}} h_{1}"
    assert preview("0.378") == {"latex": "0.378"}
    assert "error" in preview("__import__('os')")


@pytest.mark.parametrize("path, status", [
    ("/api/exercise", 400), ("/api/exercise?seed=-1", 400), ("/api/exercise?seed=99999999999", 400),
    ("/api/step?seed=7&name=os", 400), ("/api/nothing?seed=7", 404), ("/static/../server.py", 404),
    ("/static/katex/../../server.py", 404), ("/static/%2e%2e/server.py", 404), ("/elsewhere", 404),
])
def test_bad_requests_get_one_clear_error(app, path, status):
    code, data = request(app, "GET", path)
    assert code == status and isinstance(data, dict) and data["error"]


def test_page_and_katex_are_served_from_the_package(app):
    code, html = request(app, "GET", "/")
    assert code == 200 and b"/static/katex/katex.min.js" in html and b"http" not in html.split(b"<body>")[0]
    for name in ("katex/katex.min.js", "katex/katex.min.css", "katex/fonts/KaTeX_Main-Regular.woff2", "practice.js"):
        code, data = request(app, "GET", f"/static/{name}")
        assert code == 200 and len(data) > 1000, name
    css = (Path(__file__).parent.parent / "symbackprop/practice/static/katex/katex.min.css").read_text()
    assert "https://" not in css  # no font or style fetched from the internet


HOSTILE = {
    "huge number": "9" * 150 + "e999999999",
    "huge power": "9**9**9**9",
    "code": "__import__('os').system('touch /tmp/practice-pwned')",
    "escape": "().__class__.__base__.__subclasses__()",
    "1,990 brackets": "(" * 995 + "h1" + ")" * 995,
    "10,000 brackets": "(" * 10_000 + "1" + ")" * 10_000,
    "long sum": "+".join(["w1*w2*w3*w4*w5*w6"] * 60),
}


@pytest.mark.parametrize("case", list(HOSTILE))
def test_hostile_answers_get_a_verdict_or_an_error(app, case):
    status, data = request(app, "POST", "/api/check",
                           json.dumps({"seed": SEED, "answers": {"z_o": HOSTILE[case]}}).encode())
    if status == 200:
        assert data["rows"]["z_o"]["verdict"] in ("invalid", "wrong"), data
    else:
        assert status == 400 and "at most 2000 characters" in data["error"]
    assert not os.path.exists("/tmp/practice-pwned")
    assert page(app)["seed"] == SEED  # still up


def test_hostile_bodies_are_refused(app):
    big = json.dumps({"seed": SEED, "answers": {"z_o": "1" * (1024 * 1024)}}).encode()
    status, data = request(app, "POST", "/api/check", big)
    assert status == 413 and str(MAX_BODY) in data["error"].replace(",", "")
    status, data = request(app, "POST", "/api/check", b"[" * 10_000 + b"]" * 10_000)
    assert status == 400 and data["error"]
    status, data = request(app, "POST", "/api/check", b"\xff\xfe")
    assert status == 400
    status, data = request(app, "POST", "/api/check", b'{"seed": 7, "answers": {"z_o": 1}}')
    assert status == 400 and "text" in data["error"]
    # a body that claims 1 GB is refused without being read
    with socket.create_connection(app, timeout=10) as sock:
        sock.sendall(b"POST /api/check HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000\r\n\r\n{")
        assert b" 413 " in sock.recv(4096).split(b"\r\n")[0] + b" "
    assert page(app)["seed"] == SEED


def test_teacher_spec_and_exam_ranges_set_the_exercise(tmp_path):
    """A teacher's network (one hidden unit) with [exam] ranges: every drawn weight is on its grid, and
    `ask` leaves out what the teacher does not ask."""
    from symbackprop.engine.spec import lecture_text
    from symbackprop.practice.exercise import draw, page_data

    spec = tmp_path / "t.toml"
    text = lecture_text().replace('[notation]', '[exam]\nweights = "[0.5, 0.9] step 0.1"\nask = ["forward", '
                                  '"gradients"]\ninputs = "fixed"\n\n[notation]')
    spec.write_text(text)
    base = solve(spec, prove=False)
    for seed in (1, 2, 3):
        data = page_data(draw(base, seed))
        assert [t["key"] for t in data["tasks"]] == ["forward", "gradients"]
        weights = {g["name"]: Fraction(g["value"]) for g in data["given"] if g["name"].startswith("w")}
        assert all(Fraction(1, 2) <= w <= Fraction(9, 10) and (w * 10).denominator == 1 for w in weights.values())
        assert {g["name"]: g["value"] for g in data["given"]}["x1"] == "0.05"


def test_cli_serves_and_prints_the_address():
    proc = subprocess.Popen([sys.executable, "-m", "symbackprop", "practice", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline() if proc.stdout else ""
        match = re.search(r"http://127\.0\.0\.1:(\d+)/", line)
        assert match, line
        status, html = request(("127.0.0.1", int(match.group(1))), "GET", "/")
        assert status == 200 and b"Check" in html
    finally:
        proc.terminate()
        proc.wait(timeout=10)
    assert proc.returncode == 0  # SIGTERM stops it as Ctrl-C does (server_close stops its markers)


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="reads processes from /proc (Linux)")
def test_markers_end_with_a_killed_server():
    """A server killed outright cannot stop its markers: they notice and end within seconds."""
    proc = subprocess.Popen([sys.executable, "-m", "symbackprop", "practice", "--port", "0"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and "serving" in proc.stdout.readline()
        markers = children(proc.pid)
        assert len(markers) == 2
    finally:
        proc.kill()
        proc.wait(timeout=10)
    assert not alive(markers, seconds=10)


def test_a_marker_without_pidfds_asks_for_its_servers_process_id():
    """The watch of a system without pidfds: a running process is seen, an ended and reaped one is not."""
    from symbackprop.practice.server import _running

    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    assert _running(os.getpid()) and not _running(ended.pid)


def children(pid: int, count: int = 2) -> list[int]:
    """The marker processes of the server ``pid`` (Linux /proc), once ``count`` of them have started: the
    children of its fork server (multiprocessing's resource tracker, its other child, ends with its pipe and
    is not counted)."""
    found: list[int] = []
    for _ in range(200):
        procs = [p for p in Path("/proc").iterdir() if p.name.isdigit()]
        servers = {int(p.name) for p in procs if _parent(p) == pid and b"forkserver" in _command(p)}
        found = [int(p.name) for p in procs if _parent(p) in servers]
        if len(found) >= count:
            break
        time.sleep(0.05)
    return found


def _command(proc: Path) -> bytes:
    try:
        return (proc / "cmdline").read_bytes()
    except OSError:
        return b""


def _parent(proc: Path) -> int | None:
    try:
        return int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1])
    except (OSError, IndexError, ValueError):
        return None


def alive(pids: list[int], seconds: float) -> list[int]:
    """Those of ``pids`` still running (not zombies) after waiting up to ``seconds`` for them to end."""
    deadline = time.monotonic() + seconds
    while True:
        running = [pid for pid in pids if _state(pid) not in (None, "Z")]
        if not running or time.monotonic() > deadline:
            return running
        time.sleep(0.1)


def _state(pid: int) -> str | None:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return None


@pytest.mark.parametrize("args, words", [
    (["--port", "70000"], "--port must be from 0 to 65535"),
    (["no-such.toml"], "no such spec file"),
    (["--port", "x"], "invalid int value"),
])
def test_cli_bad_input_is_one_line(capsys, args, words):
    from symbackprop.cli import main

    assert main(["practice", *args]) == 2
    err = capsys.readouterr().err
    assert words in err and err.count("\n") == 1


def test_only_the_cli_imports_the_practice_room():
    root = Path(__file__).resolve().parent.parent / "symbackprop"
    pattern = re.compile(r"^\s*from \.+practice|import symbackprop\.practice", re.M)
    users = {p.relative_to(root).as_posix() for p in root.rglob("*.py")
             if "practice" not in p.relative_to(root).parts and pattern.search(p.read_text(encoding="utf-8"))}
    assert users == {"cli.py"}
    for module in ("svg.py", "circuitsvg.py"):  # notation stays below them
        svg = (root / "notation" / module).read_text(encoding="utf-8")
        assert not re.search(r"from \.\.(documents|exam|marking|practice)", svg), module


def test_too_many_query_fields_is_a_bad_request(app):
    status, data = request(app, "GET", "/api/step?" + "&".join(f"a{i}=1" for i in range(20)))
    assert status == 400 and "query" in data["error"]


def test_an_optimizer_spec_shows_its_rule_and_marks_the_update_by_it():
    """examples/adam.toml: the page gives the hyperparameters and Adam's rule for one parameter (the states
    before the first step, all 0, are said by the rule, not listed); w1' is marked against Adam's step,
    recomputed here from the exercise's own gradient: at the first step m^ = g and v^ = g^2, so
    w1' = w1 - eta lambda w1 - eta g / (|g| + eps)."""
    from decimal import Decimal, localcontext

    from symbackprop.practice.exercise import check as check_answers
    from symbackprop.practice.exercise import draw, page_data

    ex = draw(solve(Path(__file__).parent.parent / "examples" / "adam.toml"), 11)
    data = page_data(ex)
    names = {g["name"] for g in data["given"]}
    assert {"beta1", "beta2", "epsilon", "lambda"} <= names and not any(n.endswith("-") for n in names)
    assert "adam" in data["rule_title"] and len(data["rule"]) == 5
    assert data["rule"][-1].endswith(r"- \eta \frac{\hat{m}_{w_{1}}}{\sqrt{\hat{v}_{w_{1}}} + \epsilon}")
    s = ex.solution
    with localcontext() as ctx:
        ctx.prec = 60
        g, w1 = s.value("dE/dw1"), s.value("w1")
        eta, lam, eps = (Decimal(s.value(n)) for n in ("eta", "lambda", "epsilon"))
        expected = w1 - eta * lam * w1 - eta * g / (abs(g) + eps)
        sgd = w1 - eta * g
    d = s.spec.decimals
    shown = half_up(Fraction(expected), d)
    rows = check_answers(ex, {"w1'": shown, "dE/dw1": half_up(Fraction(g), d)})["rows"]
    assert rows["w1'"]["verdict"] == "correct", rows
    assert half_up(Fraction(sgd), d) != shown  # plain SGD's value is not Adam's (its slips: test_optimizers)
    assert check_answers(ex, {"w1'": half_up(Fraction(sgd), d)})["rows"]["w1'"]["verdict"] != "correct"


def test_a_port_in_use_is_one_line_not_a_traceback(capsys):
    """A failed bind closed the server before it had its app, and server_close raised AttributeError (a traceback
    under the OSError); now the command says it in one line, exit 2, its marker processes stopped."""
    from symbackprop.cli import main

    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code = main(["practice", "--port", str(port)])
    err = capsys.readouterr().err
    said = f"--host 127.0.0.1 --port {port}: cannot listen (Address already in use)"
    assert code == 2 and err == f"symbackprop: error: {said}\n"
