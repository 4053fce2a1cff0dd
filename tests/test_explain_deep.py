"""explain for L layers (issue 18): the table with one row per equation per layer, --trace in every engine naming
each node's layer and row, --graph for a three-layer net; and the fixes found trying explain as a new user:
partial terms said to be partial, torch's forward shapes, JAX's primitives explained, a table of at most 100
characters, the decision boundaries' legend and axis names."""
import re

import numpy as np
import pytest

from compare.cli import main
from compare.equations import deep_equations
from compare.teach.explain import explain_deep
from compare.teach.trace import trace
from conftest import DEEP_DIMS, deep_problem, make_backend

BACKENDS = ("numpy", "torch", "jax", "tape")


@pytest.mark.parametrize("L", [1, 3, 4])
@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_the_deep_table_has_a_row_per_equation_per_layer_with_its_shape(L, activation):
    X, Y, params = deep_problem(DEEP_DIMS[L], 30)
    backends = {n: make_backend(n, activation=activation) for n in BACKENDS}
    result = explain_deep(params, X, Y, backends=backends)
    assert result.ok, str(result)
    assert [(r.id, r.layer) for r in result.rows] == [(e.id, e.layer) for e in deep_equations(L)]
    dims = DEEP_DIMS[L]
    for row in result.rows:
        expected = {"Z": (dims[row.layer], 30), "A": (dims[row.layer], 30), "dZ": (dims[row.layer], 30),
                    "dW": (dims[row.layer], dims[row.layer - 1]), "db": (dims[row.layer], 1)}
        assert row.shape == expected[row.result.rstrip("0123456789")], row
        assert set(row.max_abs) == {"torch", "jax", "tape"} and all(v is not None for v in row.max_abs.values())
    assert max(map(len, str(result).splitlines())) <= 100


def test_on_an_ascii_terminal_the_tables_columns_stay_aligned(monkeypatch):
    """ᵀ, σ, Σ and ⊙ have longer ASCII spellings (^T, sigma, sum, *): the table pads what the terminal shows."""
    import io
    import sys
    from compare.teach.explain import explain
    monkeypatch.setattr(sys, "stdout", io.TextIOWrapper(io.BytesIO(), encoding="ascii"))
    X, Y, params = deep_problem(DEEP_DIMS[3], 30)
    backends = {n: make_backend(n) for n in BACKENDS}
    X2, Y2, params2 = deep_problem(DEEP_DIMS[2], 30)
    for result in (explain_deep(params, X, Y, backends=backends), explain(params2, X2, Y2, backends=backends)):
        rows = [line for line in str(result).splitlines() if re.match(r"[FB]\d  ", line)]
        assert rows and all(line.isascii() for line in rows)
        starts = {re.search(r"\b(d?[ZAWb]\d) \(", line).start() for line in rows}  # the result column
        assert len(starts) == 1, rows


def test_the_deep_table_flags_a_backend_that_is_wrong_at_one_layer():
    class Wrong(type(make_backend("numpy"))):
        def gradients(self, params, X, Y):
            out = super().gradients(params, X, Y)
            out["dW2"] = out["dW2"] * 1.001
            return out
    X, Y, params = deep_problem(DEEP_DIMS[3], 30)
    result = explain_deep(params, X, Y, backends={"numpy": make_backend("numpy"), "wrong": Wrong()})
    assert not result.ok
    assert {(r.id, r.layer) for r in result.rows if not r.ok(result.tolerance)} == {("B5", 2)}
    assert "NOT rounding (marked !): B5 layer 2 (wrong)" in str(result)


def test_explain_hidden_20_7_5_prints_the_deep_table(capsys):
    assert main(["explain", "--hidden", "20,7,5", "--activation", "relu"]) == 0
    out = capsys.readouterr().out
    read = " ".join(out.split())  # as read, not as wrapped
    assert "layer_dims [2, 20, 7, 5, 1]" in read and "parameters from init_deep_params(seed=0, scale='sqrt')" in read
    assert re.search(r"^B5  2  dW2 = \(1/m\) dZ2 A1ᵀ\s+dW2 \(7, 20\)(\s+\d\.\de-\d\d){3}$", out, re.M)
    assert re.search(r"^B4  3  dZ3 = W4ᵀ dZ4 ⊙ \(Z3 > 0\)\s+dZ3 \(5, 400\)", out, re.M)
    assert len(re.findall(r"^[FB]\d  \d  ", out, re.M)) == 5 * 4
    assert re.search(r"B2 B5  numpy_deep\.py:\d+\s+dW = np\.dot\(dZ, A_prev\.T\) / m", out)
    assert "Every difference is rounding" in out and max(map(len, out.splitlines())) <= 100


@pytest.mark.parametrize("activation", ["tanh", "relu", "leaky_relu", "sigmoid"])
def test_the_two_layer_table_fits_100_characters(capsys, activation):
    assert main(["explain", "--activation", activation]) == 0
    assert max(map(len, capsys.readouterr().out.splitlines())) <= 100


@pytest.mark.parametrize("engine", ["tape", "torch", "jax"])
def test_trace_names_every_row_with_its_layer_at_depth_3(engine):
    X, Y, params = deep_problem(DEEP_DIMS[3], 20)
    t = trace(engine, params, X, Y, activation="relu")
    assert t.rows == t.names.labels and len(t.rows) == 15  # every row of every layer
    steps = {(s.equation, s.name.split(",")[0]) for s in t.forward + t.backward}
    assert {("F1 l2", "Z2"), ("B1 l3", "dZ3/m"), ("B4 l1", "dZ1/m")} <= steps, steps
    assert ("B5 l2", "dW2") in steps and ("B3 l3", "db3") in steps
    text = str(t)
    assert "B5 l2 for B5 at layer 2" in text and "Rows named: 15 of the 15 of L = 3 layers (all)" in text


@pytest.mark.parametrize("engine", ["tape", "torch"])
def test_a_partial_term_is_said_to_be_one(engine):
    X, Y, params = deep_problem(DEEP_DIMS[2], 20)
    t = trace(engine, params, X, Y)
    terms = [s for s in t.backward if s.name.startswith("dZ2/m, term")]
    assert [s.name for s in terms] == ["dZ2/m, term 1/2", "dZ2/m, term 2/2"], [s.name for s in t.backward]
    assert "a partial term: Z2 feeds 2 operations" in terms[0].rule
    assert "with this one Z2.grad is complete: dZ2/m" in terms[1].rule
    assert "Partial terms" in str(t)


def test_torchs_forward_table_has_its_shapes():
    X, Y, params = deep_problem(DEEP_DIMS[2], 20)
    forward = trace("torch", params, X, Y).forward
    assert all(s.shapes and "?" not in s.shapes for s in forward), [s.shapes for s in forward]
    assert forward[0].shapes == "4×1 4×3 3×20 → 4×20"  # addmm(b1, W1, X)


@pytest.mark.parametrize("activation, words", [("relu", "relu's derivative lowers to gt"),
                                               ("tanh", "tanh's derivative lowers to sub")])
def test_jaxs_eq_and_select_n_are_explained(activation, words):
    X, Y, params = deep_problem(DEEP_DIMS[2], 20)
    text = " ".join(str(trace("jax", params, X, Y, activation=activation)).split())
    assert "eq×6" in text and "holds eq×6 and select_n×6" in text
    assert "derivatives of max(Z, 0) and min(Z, −Z) in the stable cost" in text and words in text


def test_graph_draws_a_three_layer_net(tmp_path, capsys):
    path = tmp_path / "g.png"
    assert main(["explain", "--hidden", "4,3", "--graph", str(path)]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from compare.teach import graph
    from compare.teach.trace import Names, walk_tape
    X, Y, params = deep_problem([2, 4, 3, 1], 10)
    nodes, equation = walk_tape(make_backend("tape"), params, X, Y)
    fig = graph.draw(nodes, equation, "t", Names(3))
    labels = {t.get_text().split("\n")[0] for t in fig.axes[0].texts}
    assert {"B5 l1: dW1", "B2 l3: dW3", "F1 l2  matmul"} <= labels, labels


def test_decision_boundaries_name_the_classes_and_the_axes():
    from compare.plots import _pyplot, decision_boundaries
    plt = _pyplot()
    fig, ax = plt.subplots()
    X, Y = np.random.RandomState(0).randn(2, 30), (np.arange(30) % 2).reshape(1, 30)
    decision_boundaries(ax, lambda P: (P[:1] > 0).astype(int), X, Y, "t")
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["y = 0", "y = 1"]
    assert ax.get_xlabel().startswith("x₁") and ax.get_ylabel().startswith("x₂")
    plt.close(fig)
