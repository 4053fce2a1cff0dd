"""The tape engine, `explain --trace` and `--graph`, and the explain/demo texts that follow their arguments."""
import re

import numpy as np
import pytest

import impls
from compare.cli import main
from compare.equations import IDS
from compare.teach.demos import lesson
from compare.teach.trace import trace
from compare.tolerances import BACKEND_RTOL
from conftest import make_backend, nondegenerate_problem
from impls.backends import tape_engine as tape
from impls.io.datasets import planar

ENGINES = ["tape", "torch", "jax"]
# what each engine's trace calls the hidden activation's own operation: read from its live graph
ACTIVATION_OP = {"tape": {"tanh": "tanh", "relu": "relu", "sigmoid": "sigmoid", "leaky_relu": "leaky_relu"},
                 "torch": {"tanh": "TanhBackward0", "relu": "ReluBackward0", "sigmoid": "SigmoidBackward0",
                           "leaky_relu": "LeakyReluBackward0"},
                 "jax": {"tanh": "tanh", "relu": "max", "sigmoid": "logistic", "leaky_relu": "select_n"}}


def _trace(engine, activation="tanh", n_y=1):
    pytest.importorskip(impls._REGISTRY[engine][2])
    X, Y, params = nondegenerate_problem(3, 5, n_y, 20)
    return trace(engine, params, X, Y, activation=activation)


@pytest.mark.parametrize("engine", ENGINES)
def test_trace_names_all_ten_equations_from_the_live_graph(engine):
    t = _trace(engine)
    assert t.equations == set(IDS)
    text = str(t)
    assert "Equations named: F1 F2 F3 F4 B1 B2 B3 B4 B5 B6 (all ten)" in text
    assert "(A2 − Y)/m" in text and "keepdims" in text  # where autograd differs from the lecture, and why
    # the backward steps come in the order the engine ran them: B1 before anything else, B5/B6 last
    order = [s.equation for s in t.backward if s.equation != "—"]
    assert order[0] == "B1" and set(order[-2:]) <= {"B5", "B6"}


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("activation", impls.ACTIVATIONS)
def test_a_change_in_the_forward_pass_shows_up_in_the_trace(engine, activation):
    t = _trace(engine, activation)
    ops = " ".join(f"{s.op} {s.rule}" for s in t.forward if s.equation == "F2")
    assert ACTIVATION_OP[engine][activation] in ops
    others = [a for a in impls.ACTIVATIONS if a != activation]
    assert not any(re.search(rf"\b{ACTIVATION_OP[engine][a]}\b", ops) for a in others), ops


def test_torch_trace_reads_grad_fn_names_and_addmm():
    t = _trace("torch")
    ops = [s.op for s in t.backward]
    assert "AddmmBackward0" in ops and "SoftplusBackward0" in ops and "AccumulateGrad" in ops
    rows = {s.name: s for s in t.backward if s.op == "AddmmBackward0"}
    assert "upstream · A1ᵀ" in rows["dW2"].rule and rows["dW2"].equation == "B2"
    assert rows["db1"].shapes == "5×20 → 5×1" and rows["db1"].equation == "B6"
    assert "torch's addmm" in str(t)


def test_jax_trace_groups_the_jaxprs_primitives_by_equation():
    t = _trace("jax")
    backward = {s.equation: s for s in t.backward}
    for eq in ("B2", "B5"):
        assert "dot_general" in backward[eq].rule
    for eq in ("B3", "B6"):
        assert "reduce_sum" in backward[eq].rule
    assert backward["B3"].shapes == "1×20 → 1×1"
    assert "jax.make_jaxpr" in str(t)


def test_tape_trace_rules_and_shapes():
    t = _trace("tape", n_y=2)
    rows = {(s.op, s.name): s for s in t.backward}
    assert rows[("matmul", "dW2")].rule == "matmul: grad wrt W2 = upstream · A1ᵀ"
    assert rows[("matmul", "dW2")].shapes == "2×20 → 2×5" and rows[("matmul", "dW2")].equation == "B2"
    assert rows[("add", "db1")].shapes == "5×20 → 5×1" and rows[("add", "db1")].equation == "B6"
    assert any("skipped: A2 is not on J's path" in s.rule for s in t.backward)


def test_tape_gradients_come_from_the_tape_and_agree_with_numpy_to_rounding():
    X, Y = planar()
    params = impls.init_params(2, 4)
    for dtype in impls.DTYPES:
        ours = make_backend("tape", dtype=dtype).gradients(params, X, Y)
        ref = make_backend("numpy", dtype=dtype).gradients(params, X, Y)
        for k in ref:
            assert ours[k].dtype == dtype
            assert np.linalg.norm(ours[k] - ref[k]) <= 8 * BACKEND_RTOL[dtype] * np.linalg.norm(ref[k]) or \
                np.max(np.abs(ours[k] - ref[k])) < 50 * np.finfo(dtype).eps  # db2 cancels to ~1e-5 at the start


def test_tape_undoes_broadcasting_by_summing_to_the_operands_shape():
    t = tape.Tape()
    b = t.var(np.array([[1.0], [2.0]]), "b", requires_grad=True)
    W = t.var(np.ones((2, 3)), "W", requires_grad=True)
    J = ((W + b) * t.var(np.arange(6.0).reshape(2, 3))).sum()
    t.backward(J)
    np.testing.assert_array_equal(b.grad, [[3.0], [12.0]])  # Σ over the columns, keepdims: B3's and B6's sum
    np.testing.assert_array_equal(W.grad, np.arange(6.0).reshape(2, 3))


def test_tape_activations_follow_numpys_conventions_at_zero():
    for op, slope in ((tape.relu, 0.0), (tape.leaky_relu, 0.01)):
        t = tape.Tape()
        z = t.var(np.zeros((1, 1)), "z", requires_grad=True)
        J = op(z).sum()
        t.backward(J)
        assert z.grad[0, 0] == slope


def test_explain_trace_command(capsys):
    assert main(["explain", "--trace", "--activation", "sigmoid", "--hidden", "3"]) == 0
    out = capsys.readouterr().out
    assert "matmul: grad wrt W2 = upstream · A1ᵀ" in out and "(all ten)" in out
    assert re.search(r"F2\s+sigmoid\s+A1\s+3×400 → 3×400", out)


def test_explain_graph_writes_a_png(tmp_path, capsys):
    path = tmp_path / "g.png"
    assert main(["explain", "--graph", str(path), "--iterations", "5"]) == 0
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 20000
    assert f"Graph written to {path}" in capsys.readouterr().out
    assert [p.name for p in tmp_path.iterdir()] == ["g.png"]  # no temporary file left behind


@pytest.mark.parametrize("make, message", [
    (lambda d: d, "is a folder"),
    (lambda d: d / "no" / "g.png", "does not exist"),
])
def test_explain_graph_refuses_bad_destinations_before_the_work(tmp_path, capsys, make, message):
    assert main(["explain", "--graph", str(make(tmp_path))]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err


def test_explain_graph_refuses_its_own_input(tmp_path, capsys):
    data = tmp_path / "d.csv"
    X, Y = planar()
    data.write_text("a,b,y\n" + "\n".join(f"{a},{b},{int(y)}" for a, b, y in zip(X[0], X[1], Y[0])) + "\n")
    before = data.read_bytes()
    assert main(["explain", "--dataset", str(data), "--graph", str(data)]) == 2
    assert "is the input --dataset" in capsys.readouterr().err and data.read_bytes() == before


def test_explain_table_column_holds_leaky_relus_equation(capsys):
    assert main(["explain", "--activation", "leaky_relu", "--hidden", "3"]) == 0
    lines = capsys.readouterr().out.splitlines()
    head = next(line for line in lines if line.lstrip().startswith("equation"))
    rows = [line for line in lines if re.match(r"[FB]\d  ", line)]
    assert len(rows) == 10
    column = head.index("result")
    assert all(re.match(r"(Z|A|dZ|dW|db)\d ", row[column:]) for row in rows), rows


def test_learning_rate_lesson_follows_the_rates_tried():
    runs = [{"rate": 0.3, "verdict": "converges"}, {"rate": 7, "verdict": "oscillates"},
            {"rate": 0.001, "verdict": "crawls"}]
    text = lesson(runs)
    assert "0.3 went down steadily" in text and "α = 7 overshot" in text and "0.001 took tiny steps" in text
    assert "1.2" not in text


def test_demo_texts_follow_values_and_dataset(tmp_path, capsys):
    assert main(["demo", "learning-rate", "--values", "0.5,3", "--iterations", "100", "--plots",
                 str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "1.2" not in out and "0.5" in out
    rows = [line.split() for line in out.splitlines() if re.match(r"\s+(0\.5|3)\s", line)]
    assert all(re.fullmatch(r"\d+\.\d{4}", row[1]) and re.fullmatch(r"\d+\.\d{4}", row[2]) for row in rows), rows
    assert main(["demo", "hidden-units", "--values", "1,3", "--iterations", "50", "--dataset", "moons",
                 "--plots", str(tmp_path)]) == 0
    assert "flower" not in capsys.readouterr().out


def test_explain_table_has_a_tape_column_pointing_at_the_real_lines():
    from compare.teach.explain import ROOT, explain
    from impls.backends.numpy import NumpyBackend

    X, Y, params = nondegenerate_problem(2, 3, 1, 10)
    result = explain(params, X, Y, backends={"numpy": NumpyBackend(), "tape": make_backend("tape")})
    assert result.ok and all(row.max_abs["tape"] is not None for row in result.rows)
    for row in result.rows:
        places = re.findall(r"(impls/[\w/]+\.py):(\d+)", row.roles["tape"])
        assert places, row.roles["tape"]
        for path, line in places:
            source = (ROOT / path).read_text().splitlines()[int(line) - 1]
            expected = {"impls/backends/tape.py": r"#\s*F\d\b|tape\.backward\(",
                        "impls/backends/tape_engine.py": r"^\s*def "}[path]
            assert re.search(expected, source), source
