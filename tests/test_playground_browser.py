"""The playground in a real browser (headless Chromium driven by Playwright): what the page shows against
what the Python backends compute, its controls, its messages, its address, and that it stays on 127.0.0.1."""
import re
import time
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
sync_api = pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")

import impls  # noqa: E402
from compare.playground import browser  # noqa: E402
from compare.playground import session as sessions  # noqa: E402
from compare.playground.app import create_app, loopback_only  # noqa: E402
from compare.playground.settings import engines  # noqa: E402
from compare.teach.explain import rounding_scales  # noqa: E402
from compare.tolerances import EXPLAIN_RTOL  # noqa: E402
from conftest import run_compare  # noqa: E402
from impls.io.datasets import load_dataset  # noqa: E402

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(browser.chromium_path() is None,
                                 reason=f"the browser tests need Chromium: {browser.INSTALL}")]


STORE = sessions.Store()  # the server's sessions, which the tests look into


@pytest.fixture(scope="module")
def server():
    with browser.serving(loopback_only(create_app(STORE))) as url:
        yield url


@pytest.fixture(scope="module")
def chromium():
    with sync_api.sync_playwright() as p:
        b = browser.launch(p)
        yield b
        b.close()


class Watch:
    """Every request the page makes and every error it logs."""

    def __init__(self, page, base):
        self.base, self.requests, self.errors = base, [], []
        page.on("request", lambda r: self.requests.append(r.url))
        page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        page.on("pageerror", lambda e: self.errors.append(f"uncaught: {e}"))

    def check(self, allowed=()):
        away = [u for u in self.requests if not u.startswith(self.base)]
        assert not away, f"requests that left {self.base}: {away}"
        errors = [e for e in self.errors if not any(a in e for a in allowed)]
        assert not errors, f"console errors: {errors}"


@pytest.fixture
def page(chromium, server):
    context = chromium.new_context(viewport={"width": 1440, "height": 900})
    p = context.new_page()
    p.watch = Watch(p, server)
    yield p
    context.close()


def open_page(page, server, query=""):
    page.goto(server + query)
    browser.wait_iteration(page, 0)
    return page


def click(page, name, times=1):
    for _ in range(times):
        page.get_by_role("button", name=name, exact=True).click()


def shown_cost(page):
    return float(page.get_by_test_id("cost").text_content())


def train_cost(iterations):
    """What `python -m compare train --iterations N` prints as its final cost, from the command itself."""
    out = run_compare("train", "--iterations", iterations, check=True).stdout
    return float(re.search(r"Final cost: (\S+)", out).group(1))


def test_three_steps_from_the_defaults_give_the_cost_train_gives(page, server):
    open_page(page, server)
    assert page.get_by_label("Data set").input_value() == "planar"
    assert page.get_by_label("Hidden units").input_value() == "4"
    assert page.get_by_label("Activation").input_value() == "tanh"
    assert page.get_by_label("Learning rate").input_value() == "1.2"
    click(page, "Step", 3)
    browser.wait_iteration(page, 3)
    text = page.get_by_test_id("cost").text_content()
    assert len(text.strip("0.").replace(".", "")) >= 6  # at least 6 significant digits
    assert shown_cost(page) == pytest.approx(train_cost(3), abs=5e-7)  # train prints 6 decimals
    X, Y = load_dataset("planar")
    final = impls.get_backend("numpy").train(impls.init_params(2, 4, seed=0), X, Y, learning_rate=1.2,
                                             iterations=3).final_cost
    assert shown_cost(page) == pytest.approx(final, rel=1e-9)
    page.locator("#chart").hover(position={"x": 250, "y": 60})  # the cost curve says where it is
    assert re.fullmatch(r"iteration [0-3]: train J 0\.69\d{4}", page.locator("#chart-tip").text_content())
    page.watch.check()


def test_an_equations_value_and_every_backends_difference(page, server):
    open_page(page, server)
    click(page, "Step ×10")
    browser.wait_iteration(page, 10)
    X, Y = load_dataset("planar")
    numpy = impls.get_backend("numpy")
    params = numpy.train(impls.init_params(2, 4, seed=0), X, Y, learning_rate=1.2, iterations=10).params
    values = {**numpy.forward(params, X), **numpy.intermediates(params, X, Y), **numpy.gradients(params, X, Y)}
    shown = [float(v) for v in page.get_by_test_id("eq-B5").locator("td[data-value]").evaluate_all(
        "cells => cells.map(c => c.dataset.value)")]
    np.testing.assert_allclose(np.reshape(shown, (4, 2)), values["dW1"], rtol=1e-12)
    scales = rounding_scales(params, X, Y, values)
    for eq, result in (("F1", "Z1"), ("F2", "A1"), ("F3", "Z2"), ("F4", "A2"), ("B1", "dZ2"), ("B2", "dW2"),
                       ("B3", "db2"), ("B4", "dZ1"), ("B5", "dW1"), ("B6", "db1")):
        row = page.get_by_test_id(f"eq-{eq}")
        for name in engines()[1:]:
            diff = row.locator(f"[data-backend={name}]")
            assert name in diff.text_content()
            assert float(diff.get_attribute("data-value")) <= EXPLAIN_RTOL["float64"] * scales[result]
            assert "ok" in diff.get_attribute("class")
    page.watch.check()


def test_play_advances_pause_stops_and_reset_returns(page, server):
    open_page(page, server)
    start = shown_cost(page)
    click(page, "Play")
    page.wait_for_function("Number(document.querySelector('[data-testid=iteration]').textContent) >= 50")
    click(page, "Pause")
    page.wait_for_timeout(300)
    stopped = page.get_by_test_id("iteration").text_content()
    page.wait_for_timeout(500)
    assert page.get_by_test_id("iteration").text_content() == stopped
    assert shown_cost(page) < start
    click(page, "Reset")
    browser.wait_iteration(page, 0)
    assert shown_cost(page) == start
    page.keyboard.press("ArrowRight")  # → steps
    browser.wait_iteration(page, 1)
    page.keyboard.press(" ")  # space plays
    page.wait_for_function("Number(document.querySelector('[data-testid=iteration]').textContent) >= 20")
    page.keyboard.press(" ")
    assert page.get_by_role("button", name="Play", exact=True).is_visible()
    page.watch.check()


def test_a_learning_rate_of_abc_is_a_message_and_1e300_a_shown_divergence(page, server):
    open_page(page, server)
    page.get_by_label("Learning rate").fill("abc")
    page.get_by_label("Learning rate").press("Enter")
    message = page.locator("#field-error")
    message.wait_for(state="visible")
    assert "Learning rate: 'abc' is not a number" in message.text_content()
    assert page.get_by_role("button", name="Step", exact=True).is_disabled()
    page.get_by_label("Learning rate").fill("1e300")
    page.get_by_label("Learning rate").press("Enter")
    message.wait_for(state="hidden")
    click(page, "Step")
    banner = page.locator("#banner")
    banner.wait_for(state="visible")
    assert "Training diverged at iteration 1" in banner.text_content()
    assert "Use learning rate 1.2" in banner.text_content()
    text = page.locator("main").inner_text()
    assert "NaN" not in text and "Infinity" not in text
    assert shown_cost(page) == pytest.approx(np.log(2), rel=1e-3)
    page.watch.check(allowed=["status of 400"])  # the browser logs the 400 that carried the message


def test_a_learning_rate_of_50_shows_where_the_cost_blew_up(page, server):
    open_page(page, server, "?lr=50")
    click(page, "Step ×10")
    banner = page.locator("#banner")
    banner.wait_for(state="visible")
    assert re.search(r"The cost blew up at iteration \d+", banner.text_content())
    page.get_by_role("button", name="Use learning rate 5").click()
    browser.wait_iteration(page, 0)
    assert page.get_by_label("Learning rate").input_value() == "5"
    page.watch.check()


def test_a_bad_csv_upload_is_a_message_naming_the_line(page, server, tmp_path):
    open_page(page, server)
    page.get_by_label("Data set").select_option("csv")
    bad = tmp_path / "mine.csv"
    bad.write_text("x1,x2,label\n1,2,0\n3,oops,1\n")
    page.get_by_label("CSV file").set_input_files(str(bad))
    message = page.locator("#field-error")
    page.wait_for_function("document.querySelector('#field-error').textContent.includes('line 3')")
    assert message.text_content() == "mine.csv, line 3, column 2 ('x2'): 'oops' is not a finite number"
    good = tmp_path / "good.csv"
    good.write_text("x1,x2,label\n" + "".join(f"{i % 5},{i % 3},{i % 2}\n" for i in range(40)))
    page.get_by_label("CSV file").set_input_files(str(good))
    message.wait_for(state="hidden")
    click(page, "Step")
    browser.wait_iteration(page, 1)
    page.watch.check(allowed=["status of 400"])


def test_the_address_reproduces_the_set_up(page, server, chromium):
    open_page(page, server)
    page.get_by_label("Data set").select_option("moons")
    page.get_by_label("Hidden units").fill("7")
    page.get_by_label("Hidden units").press("Enter")
    page.get_by_label("Activation").select_option("relu")
    page.wait_for_function("location.search.includes('activation=relu')")
    query = parse_qs(urlparse(page.url).query)
    assert query == {"dataset": ["moons"], "hidden": ["7"], "activation": ["relu"]}
    click(page, "Step", 2)
    browser.wait_iteration(page, 2)
    cost = page.get_by_test_id("cost").text_content()
    other = chromium.new_page()
    other.goto(page.url)
    browser.wait_iteration(other, 0)
    assert other.get_by_label("Hidden units").input_value() == "7"
    assert other.get_by_label("Activation").input_value() == "relu"
    assert other.get_by_test_id("eq-F1").locator(".shape").text_content() == "(7, 400)"
    other.get_by_role("button", name="Step", exact=True).click()
    other.get_by_role("button", name="Step", exact=True).click()
    browser.wait_iteration(other, 2)
    assert other.get_by_test_id("cost").text_content() == cost  # the same run, in another tab
    other.close()
    page.watch.check()


def test_the_forward_backward_walk_lights_the_row_the_graph_and_the_source_line(page, server):
    open_page(page, server)
    next_equation = page.get_by_role("button", name="Next equation")
    for _ in range(5):
        next_equation.click()
    assert page.get_by_test_id("eq-B1").get_attribute("class").split()[-1] == "current"
    lit = page.locator("#source .line.current").all_inner_texts()
    assert len(lit) == 1 and lit[0].endswith("# B1") and 'dZ2 = cache["A2"] - Y' in lit[0]
    assert page.locator("#graph .node.current").count() >= 1
    for _ in range(6):
        next_equation.click()  # B2 … B6, then the update
    next_equation.click()
    browser.wait_iteration(page, 1)
    assert page.get_by_test_id("eq-F1").get_attribute("class").split()[-1] == "current"
    page.locator("#graph .node", has_text="W2·A1").click()
    detail = page.locator("#node").inner_text()
    assert "matmul: grad wrt W2 = upstream · A1ᵀ" in detail
    if "torch" in engines():
        assert "AddmmBackward0" in detail
    if "jax" in engines():
        assert "dot_general" in detail
    page.watch.check()


def test_zero_init_shows_identical_hidden_units(page, server):
    open_page(page, server)
    page.get_by_role("button", name="Zero init").click()
    page.wait_for_function("location.search.includes('init=zero')")
    browser.wait_iteration(page, 0)
    click(page, "Step ×10")
    browser.wait_iteration(page, 10)
    maps = page.locator("#units canvas").evaluate_all("cs => cs.map(c => c.toDataURL())")
    assert len(maps) == 4 and len(set(maps)) == 1
    assert "stay identical" in page.locator("#units-note").text_content()
    page.watch.check()


def test_a_session_that_ended_is_started_again_with_a_message(page, server):
    open_page(page, server)
    click(page, "Step", 2)
    browser.wait_iteration(page, 2)
    page.evaluate("fetch(`/api/sessions/${window.playground.session.id}/close`, {method: 'POST'})")
    click(page, "Step")
    page.locator("#banner").wait_for(state="visible")
    assert "started again from iteration 0" in page.locator("#banner").text_content()
    browser.wait_iteration(page, 0)
    click(page, "Step")
    browser.wait_iteration(page, 1)
    page.watch.check(allowed=["status of 404"])


def test_a_closed_tab_frees_its_session(chromium, server):
    # by the tab's own session id: an earlier test's tab may still be closing while this one opens
    tab = chromium.new_page()
    tab.goto(server)
    browser.wait_iteration(tab, 0)
    sid = tab.evaluate("window.playground.session.id")
    assert sid in STORE.sessions
    tab.close(run_before_unload=True)  # the page sends its close as it goes (pagehide)
    deadline = time.monotonic() + 10
    while sid in STORE.sessions and time.monotonic() < deadline:
        time.sleep(0.05)
    assert sid not in STORE.sessions
