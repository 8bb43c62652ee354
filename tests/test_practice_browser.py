"""End to end in a real browser: Debian's chromium driven by Selenium through /usr/bin/chromedriver.

Nothing is downloaded (no selenium-manager, no browser fetch).  The test opens the page, types right,
early-rounded, carried-forward, wrong and invalid answers, clicks "Check", reads each verdict from the
page, opens one step and the whole solution, draws a new exercise, and saves a screenshot
(``SYMBACKPROP_SCREENSHOT=output/practice.png`` keeps it; otherwise under the test's temp folder); then
works a computation graph's page (the sigmoid-gate circuit) the same way.
"""

from __future__ import annotations

import os
from fractions import Fraction
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
from conftest import need
from practice_helpers import early_rounding_case, early_rounding_z_o, half_up, running_app

CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def browser():
    try:
        import selenium  # noqa: F401
        have_selenium = True
    except ImportError:
        have_selenium = False
    need(have_selenium, "selenium (pip install -e '.[dev]')")
    need(os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK),
         f"{CHROMIUM} and {CHROMEDRIVER} (apt-get install chromium chromium-driver)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--window-size=1100,1350",
                "--disable-gpu", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
    driver.set_page_load_timeout(20)
    try:
        yield driver
    finally:
        driver.quit()


def test_a_student_works_an_exercise_in_the_browser(browser, tmp_path):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    with running_app() as address:
        seed, ref = early_rounding_case(address)
        wrong_yhat = Fraction(9, 10)
        answers = {
            "z_h1": ref.shown("z_h1"),  # right
            "z_h2": "__import__('os')",  # not code: invalid
            "h1": ref.shown("h1"), "h2": ref.shown("h2"),  # right
            "z_o": early_rounding_z_o(ref),  # 4 decimals from h1, h2 rounded early
            "yhat": "0.900",  # wrong
            "E": half_up((wrong_yhat - ref.given["t"]) ** 2 / 2, 3),  # carried forward from the wrong yhat
            "dE/dz_o": "(yhat - t)*yhat*(1 - yhat)",  # a right formula
            "dE/dw5": "dE/dz_o * h2",  # a wrong formula, with its reason
        }
        browser.get(f"http://{address[0]}:{address[1]}/?seed={seed}")
        wait = WebDriverWait(browser, 15, poll_frequency=0.05)  # not 0.5 s: seven waits
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#tasks .row"))
        assert "exercise " + str(seed) in browser.find_element(By.ID, "seed-label").text
        # KaTeX typeset the diagram and the labels (no internet: served by the app)
        assert browser.find_elements(By.CSS_SELECTOR, "#diagram svg .katex")
        assert browser.find_elements(By.CSS_SELECTOR, ".row label .katex")
        for name, text in answers.items():
            browser.find_element(By.CSS_SELECTOR, f'input[name="{name}"]').send_keys(text)
        preview = browser.find_element(By.CSS_SELECTOR, '.row[data-name="dE/dw5"] .preview')
        wait.until(lambda d: preview.find_elements(By.CSS_SELECTOR, ".katex"))
        browser.find_element(By.ID, "check").click()
        wait.until(lambda d: d.find_element(By.ID, "totals").text)

        def verdict(name: str) -> tuple[str, str]:
            return verdicts(browser)[name]

        seen = {name: shown[0] for name, shown in verdicts(browser).items() if name in answers}
        assert seen == {"z_h1": "correct", "z_h2": "invalid", "h1": "correct", "h2": "correct",
                        "z_o": "early rounding", "yhat": "wrong", "E": "carried forward", "dE/dz_o": "correct",
                        "dE/dw5": "wrong"}
        # the reason names the wrong yhat it carried forward, typeset as maths (KaTeX keeps the TeX source)
        why_e = browser.find_element(By.CSS_SELECTOR, '.row[data-name="E"] .why').get_attribute("innerHTML")
        assert r"\hat{y}" in why_e and "rounded" in verdict("z_o")[1]
        assert "missing factor" in verdict("dE/dw5")[1]
        assert verdict("z_h1")[1] == "" and verdict("z_h2")[1]
        assert browser.find_element(By.ID, "totals").text.startswith("4 of 9 right")

        # one step, then the whole solution
        row = browser.find_element(By.CSS_SELECTOR, '.row[data-name="h1"]')
        row.find_element(By.CSS_SELECTOR, "button").click()
        step = row.find_element(By.CSS_SELECTOR, ".step")
        wait.until(lambda d: step.is_displayed() and step.find_elements(By.CSS_SELECTOR, ".katex"))
        assert ref.shown("h1") in step.text
        browser.execute_script("window.scrollTo(0, 0)")
        shot = Path(os.environ.get("SYMBACKPROP_SCREENSHOT") or tmp_path / "practice.png")
        assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000

        # the verdicts follow the student's own answers: yhat put right, the carried E is now wrong
        field = browser.find_element(By.CSS_SELECTOR, 'input[name="yhat"]')
        field.clear()
        field.send_keys(ref.shown("yhat"))
        browser.find_element(By.ID, "check-top").click()
        wait.until(lambda d: verdict("yhat")[0] == "correct")
        assert verdict("E")[0] == "wrong"
        browser.find_element(By.ID, "solution").click()
        wait.until(lambda d: all(s.is_displayed() for s in d.find_elements(By.CSS_SELECTOR, ".step")))
        assert ref.shown("E'") in browser.find_element(By.CSS_SELECTOR, '.row[data-name="E\'"] .step').text

        # a new exercise: another seed in the address, a fresh page
        browser.find_element(By.ID, "new").click()
        wait.until(lambda d: _seed_of(d.current_url) != seed and d.find_elements(By.CSS_SELECTOR, "#tasks .row"))
        assert f"exercise {_seed_of(browser.current_url)}" == browser.find_element(By.ID, "seed-label").text
        assert not browser.find_element(By.ID, "totals").text


def test_a_student_works_a_computation_graph_in_the_browser(browser, tmp_path):
    """The sigmoid-gate circuit: the circuit's SVG typeset, a right and a wrong answer (a multiply gate not
    swapped: w1's own value taken as its local derivative), the diagnosis on the page.  Right values by
    hand (mpmath) from the values the page gives; ``SYMBACKPROP_GRAPH_SCREENSHOT`` keeps the screenshot."""
    import mpmath
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    root = Path(__file__).resolve().parent.parent
    with running_app(str(root / "examples" / "graph_cs231n.toml")) as address:
        browser.get(f"http://{address[0]}:{address[1]}/?seed=7")
        wait = WebDriverWait(browser, 15, poll_frequency=0.05)
        wait.until(lambda d: d.find_elements(By.CSS_SELECTOR, "#tasks .row"))
        assert len(browser.find_elements(By.CSS_SELECTOR, "#diagram svg.circuit circle")) == 8
        assert browser.find_elements(By.CSS_SELECTOR, "#diagram svg .leaf-text .katex")
        given = {}
        for cell in browser.find_elements(By.CSS_SELECTOR, "#given .values:not(.gates) span .katex-mathml annotation"):
            name, value = cell.get_attribute("textContent").split(" = ")
            given[name.replace("_{", "").replace("}", "")] = Fraction(value)
        mpmath.mp.dps = 50
        d = given["w0"] * given["x0"] + given["w1"] * given["x1"] + given["w2"]
        f = 1 / (1 + mpmath.exp(-mpmath.mpf(d.numerator) / d.denominator))
        slope = f * (1 - f)  # df/dd, which reaches b and then x1's multiply gate

        def shown(x: mpmath.mpf) -> str:
            return half_up(Fraction(mpmath.nstr(x, 40)), 2)

        answers = {"f": shown(f), "df/dw1": shown(slope * mpmath.mpf(given["w1"].numerator) / given["w1"].denominator)}
        for name, text in answers.items():
            browser.find_element(By.CSS_SELECTOR, f'input[name="{name}"]').send_keys(text)
        browser.find_element(By.ID, "check").click()
        wait.until(lambda d: d.find_element(By.ID, "totals").text)
        row = browser.find_element(By.CSS_SELECTOR, '.row[data-name="f"]')
        assert row.find_element(By.CSS_SELECTOR, ".verdict").text == "correct"
        row = browser.find_element(By.CSS_SELECTOR, '.row[data-name="df/dw1"]')
        assert row.find_element(By.CSS_SELECTOR, ".verdict").text == "wrong"
        why = " ".join(row.find_element(By.CSS_SELECTOR, ".why").text.split())  # its names typeset as maths
        assert "the multiply gate b's inputs not swapped" in why
        assert browser.find_element(By.ID, "totals").text.startswith("1 of 2 right")
        browser.execute_script("window.scrollTo(0, 0)")
        shot = Path(os.environ.get("SYMBACKPROP_GRAPH_SCREENSHOT") or tmp_path / "practice-graph.png")
        assert browser.save_screenshot(str(shot)) and shot.stat().st_size > 10_000


def verdicts(browser) -> dict[str, tuple[str, str]]:
    """Every row's (verdict, why) as the student sees them (innerText), read in one round trip."""
    rows = browser.execute_script(
        "return [...document.querySelectorAll('.row[data-name]')].map(r => [r.dataset.name,"
        " r.querySelector('.verdict').innerText, r.querySelector('.why').innerText]);")
    return {name: (verdict.strip(), why.strip()) for name, verdict, why in rows}


def _seed_of(url: str) -> int | None:
    seeds = parse_qs(urlsplit(url).query).get("seed")
    return int(seeds[0]) if seeds else None
