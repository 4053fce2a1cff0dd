"""The playground in deep mode in a real browser (headless Chromium, as tests/test_playground_browser.py): the cost
train --hidden 3,2 gives, a row of layer 2 against the Python backends, the walk through deep rows, the address
that reproduces a deep set-up, per-layer unit maps and the refusal of too many layers."""
import re
import subprocess
import sys
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest

pytest.importorskip("starlette")
pytest.importorskip("uvicorn")
pytest.importorskip("playwright.sync_api", reason="pip install playwright (the test extra)")

import impls  # noqa: E402
from compare.playground import browser  # noqa: E402
from compare.playground import table  # noqa: E402
from compare.playground.settings import engines  # noqa: E402
from compare.tolerances import EXPLAIN_RTOL  # noqa: E402
from impls.io.datasets import load_dataset  # noqa: E402
from test_playground_browser import chromium, click, open_page, page, server, shown_cost  # noqa: E402, F401

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(browser.chromium_path() is None,
                                 reason=f"the browser tests need Chromium: {browser.INSTALL}")]


def deep_values(dims, iterations):
    X, Y = load_dataset("planar")
    numpy = impls.get_backend("numpy")
    result = numpy.train(impls.init_deep_params(dims, seed=0, scale="sqrt"), X, Y, learning_rate=0.0075,
                         iterations=iterations)
    p = result.params
    return result, {**numpy.forward(p, X), **numpy.intermediates(p, X, Y), **numpy.gradients(p, X, Y)}, X, Y


def test_ten_deep_steps_give_the_cost_train_hidden_3_2_gives(page, server):
    open_page(page, server, "?hidden=3,2")
    assert page.get_by_label("Hidden units").input_value() == "3,2"
    assert page.get_by_label("Learning rate").input_value() == "0.0075"  # train's default with 2 hidden layers
    assert page.get_by_label("Weights").input_value() == "sqrt"
    assert page.locator("#subtitle").text_content() == "2 hidden layers (3, 2 units), 4 engines, 15 equations" or \
        len(engines()) != 4
    caps = page.locator("#caps").text_content()
    assert "64 units per hidden layer, 6 hidden layers" in caps and re.search(r"holds about [\d.]+ MB", caps)
    click(page, "Step ×10")
    browser.wait_iteration(page, 10)
    out = subprocess.run([sys.executable, "-m", "compare", "train", "--hidden", "3,2", "--iterations", "10",
                          "--seed", "0"], capture_output=True, text=True, check=True).stdout
    assert "layer_dims [2, 3, 2, 1], init sqrt, learning rate 0.0075" in out
    assert shown_cost(page) == pytest.approx(float(re.search(r"Final cost: (\S+)", out).group(1)), abs=5e-7)
    assert shown_cost(page) == pytest.approx(deep_values([2, 3, 2, 1], 10)[0].final_cost, rel=1e-9)
    page.watch.check()


def test_a_layer_2_rows_value_and_every_backends_difference(page, server):
    open_page(page, server, "?hidden=3,2")
    click(page, "Step ×10")
    browser.wait_iteration(page, 10)
    result, values, X, Y = deep_values([2, 3, 2, 1], 10)
    row = page.get_by_test_id("eq-B5-2")
    assert row.locator("td").first.text_content() == "B5[2]"
    shown = [float(v) for v in row.locator("td[data-value]").evaluate_all("cs => cs.map(c => c.dataset.value)")]
    np.testing.assert_allclose(np.reshape(shown, (2, 3)), values["dW2"], rtol=1e-12)
    assert page.get_by_test_id("eq-F1").count() == 0 and page.get_by_test_id("eq-F1-1").count() == 1
    scales = table.rounding_scales(result.params, X, Y, values)
    for testid, result_name in (("eq-F1-2", "Z2"), ("eq-F2-2", "A2"), ("eq-B4-2", "dZ2"), ("eq-B5-2", "dW2"),
                                ("eq-B6-2", "db2"), ("eq-B2-3", "dW3")):
        for name in engines()[1:]:
            diff = page.get_by_test_id(testid).locator(f"[data-backend={name}]")
            assert name in diff.text_content() and "ok" in diff.get_attribute("class")
            assert float(diff.get_attribute("data-value")) <= EXPLAIN_RTOL["float64"] * scales[result_name]
    page.watch.check()


def lit_nodes(page):
    return sorted(page.locator("#graph .node.current").evaluate_all("gs => gs.map(g => g.getAttribute('aria-label'))"))


def test_the_walk_through_deep_rows_lights_the_row_the_graph_and_the_source_line(page, server):
    open_page(page, server, "?hidden=20,7,5")
    next_equation = page.get_by_role("button", name="Next equation")
    for _ in range(3):
        next_equation.click()
    assert page.get_by_test_id("eq-F1-2").get_attribute("class").split()[-1] == "current"
    assert page.locator("#walk-at").text_content() == "forward: F1[2] (3 of 20)"
    lit = page.locator("#source .line.current").all_inner_texts()
    assert len(lit) == 1 and lit[0].endswith("# F1 F3") and "np.dot(W, A_prev) + b" in lit[0]
    assert lit_nodes(page) == ["W2·A1, matmul (F1[2])", "Z2, add (F1[2])"]
    for _ in range(13):  # F2[2] … F4[4], B1[4] … B3[4], B4[3] … B6[3], B4[2], B5[2]
        next_equation.click()
    assert page.locator("#walk-at").text_content() == "backward: B5[2] (16 of 20)"
    assert "# B2 B5" in " ".join(page.locator("#source .line.current").all_inner_texts())
    assert lit_nodes(page) == ["W2", "W2·A1, matmul (F1[2])"]  # the node whose backward gives dW2, and W2
    page.locator("#graph .node", has_text="W2·A1").click()
    detail = page.locator("#node").inner_text()
    assert "in equation F1 at layer 2" in detail and "→ dW2 (B5[2])" in detail and "→ dA1/m (B4[1])" in detail
    if "torch" in engines():
        assert "AddmmBackward0" in detail and "the same at every layer" in detail
    page.watch.check()


def test_the_address_reproduces_a_deep_set_up(page, server, chromium):
    open_page(page, server)
    page.get_by_label("Hidden units").fill("20,7,5")
    page.get_by_label("Hidden units").press("Enter")
    page.wait_for_function("location.search.includes('hidden=20%2C7%2C5')")
    browser.wait_iteration(page, 0)
    assert page.get_by_label("Learning rate").input_value() == "0.0075"  # the depth's default follows
    assert parse_qs(urlparse(page.url).query) == {"hidden": ["20,7,5"]}  # the default names nothing more
    click(page, "Step", 2)
    browser.wait_iteration(page, 2)
    cost = page.get_by_test_id("cost").text_content()
    other = chromium.new_page()
    other.goto(page.url)
    browser.wait_iteration(other, 0)
    assert other.get_by_label("Hidden units").input_value() == "20,7,5"
    assert other.get_by_test_id("eq-F1-3").locator(".shape").text_content() == "(5, 400)"
    other.get_by_role("button", name="Step", exact=True).click()
    other.get_by_role("button", name="Step", exact=True).click()
    browser.wait_iteration(other, 2)
    assert other.get_by_test_id("cost").text_content() == cost
    other.close()
    page.get_by_label("Hidden units").fill("4")  # back to week 3's network: its learning rate too
    page.get_by_label("Hidden units").press("Enter")
    page.wait_for_function("!location.search.includes('hidden')")
    assert page.get_by_label("Learning rate").input_value() == "1.2"
    page.get_by_test_id("eq-F1").wait_for()  # week 3's row names, once the new set-up has come
    page.watch.check()


def test_zero_init_shows_identical_units_in_each_layer(page, server):
    open_page(page, server, "?hidden=6,3&init=zero&activation=sigmoid&test=30&lr=0.5")
    click(page, "Step ×10")
    browser.wait_iteration(page, 10)
    for layer, units in ((1, 6), (2, 3)):
        maps = page.locator(f"#units .layer[data-layer='{layer}'] canvas").evaluate_all(
            "cs => cs.map(c => c.toDataURL())")
        assert len(maps) == units and len(set(maps)) == 1
    assert "every hidden unit in each layer computes the same function" in page.locator("#units-note").text_content()
    page.watch.check()


def test_too_many_layers_is_a_message_not_a_run(page, server):
    open_page(page, server)
    page.get_by_label("Hidden units").fill("1,2,3,4,5,6,7")
    page.get_by_label("Hidden units").press("Enter")
    message = page.locator("#field-error")
    message.wait_for(state="visible")
    assert message.text_content() == ("Hidden units: '1,2,3,4,5,6,7' asks for 7 hidden layers; the playground "
                                      "takes at most 6")
    assert page.get_by_role("button", name="Step", exact=True).is_disabled()
    page.watch.check(allowed=["status of 400"])
