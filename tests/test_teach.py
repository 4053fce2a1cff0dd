"""Teaching commands (`check` has tests/test_check.py): `explain`
maps the equations to the code and measures live differences at rounding level, `demo` shows the
lecture's warnings."""
import re
from pathlib import Path

import numpy as np
import pytest

import impls
from compare.cli import main
from compare.teach.demos import hidden_units, learning_rates, zero_init
from compare.teach.explain import default_backends, explain
from compare.tolerances import EXPLAIN_RTOL
from conftest import make_backend, nondegenerate_problem
from impls.io.datasets import planar
from impls.backends.numpy import NumpyBackend

ROOT = Path(__file__).resolve().parents[1]

# --- explain ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("activation", impls.ACTIVATIONS)
@pytest.mark.parametrize("dtype", impls.DTYPES)
def test_explain_live_differences_are_rounding(activation, dtype):
    backends = {"numpy": impls.get_backend("numpy", activation=activation, dtype=dtype),
                "torch": make_backend("torch", activation=activation, dtype=dtype),
                "jax": make_backend("jax", activation=activation, dtype=dtype)}
    sizes = ((2, 4, 1, 400), (5, 2, 1, 9), (3, 7, 2, 25))  # the course's, a small one, two outputs
    for n_x, n_h, n_y, m in sizes if dtype == "float64" else sizes[2:]:  # each new shape costs JAX a compile
        X, Y, params = nondegenerate_problem(n_x, n_h, n_y, m, seed=n_h, dtype=dtype)
        result = explain(params, X, Y, backends=backends)
        assert result.ok
        for row in result.rows:
            for b in ("torch", "jax"):
                assert row.max_abs[b] is not None and row.rounding[b] <= EXPLAIN_RTOL[dtype], (row.id, b)
        shapes = {row.result: row.shape for row in result.rows}
        assert shapes == {"Z1": (n_h, m), "A1": (n_h, m), "Z2": (n_y, m), "A2": (n_y, m), "dZ2": (n_y, m),
                          "dW2": (n_y, n_h), "db2": (n_y, 1), "dZ1": (n_h, m), "dW1": (n_h, n_x), "db1": (n_h, 1)}


class WrongAutograd(NumpyBackend):
    """A stand-in for an autograd backend that gets B2 and B4 wrong."""

    name = "wrong"

    def _backward(self, p, X, Y):
        g = super()._backward(p, X, Y)
        g["dW2"] = -g["dW2"]
        g["dZ1"] = g["dA1"] * (1 - self._forward(p, X)["A1"])  # g1′ = 1 − A1, the square forgotten
        return g


@pytest.mark.parametrize("dtype", impls.DTYPES)
def test_explain_flags_values_that_are_not_rounding(dtype):
    X, Y, params = nondegenerate_problem(3, 5, 1, 30, seed=1, dtype=dtype)
    backends = {"numpy": NumpyBackend(dtype=dtype), "wrong": WrongAutograd(dtype=dtype)}
    result = explain(params, X, Y, backends=backends)
    assert not result.ok
    flagged = {row.id for row in result.rows if not row.ok(result.tolerance)}
    assert flagged == {"B2", "B4"}
    assert min(row.rounding["wrong"] for row in result.rows if row.id in flagged) > 100 * EXPLAIN_RTOL[dtype]
    assert "NOT rounding (marked !): B2 (wrong), B4 (wrong)" in str(result)


def test_explain_points_at_the_real_lines():
    X, Y, params = nondegenerate_problem(2, 3, 1, 10)
    result = explain(params, X, Y, backends={"numpy": NumpyBackend()}, missing={"torch": "-", "jax": "-"})
    for row in result.rows:
        path, line = row.numpy_line.rsplit(":", 1)
        text = (ROOT / path).read_text().splitlines()[int(line) - 1]
        assert re.search(rf"#\s*{row.id}\b", text) and any(text.strip().startswith(c) for c in row.numpy_code)
        for b in ("torch", "jax"):
            for place in re.findall(r"(impls/[\w/]+\.py):(\d+)", row.roles[b]):
                assert place[0] == f"impls/backends/{b}.py"
                source = (ROOT / place[0]).read_text().splitlines()[int(place[1]) - 1]
                assert re.search(r"#\s*F\d\b|autograd\.grad\(|jax\.grad\(|jax\.vjp\(", source), source


def test_explain_command_prints_the_table(capsys):
    assert main(["explain", "--hidden", "3", "--activation", "relu", "--dataset", "moons"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^B6  db1 = \(1/m\) Σ dZ1, keepdims\s+db1 \(3, 1\)\s+impls/backends/numpy\.py:\d+"
                     r"(\s+\d\.\de-\d\d){3}$", out, re.M)
    assert "Every difference is rounding" in out
    assert "Where autograd's sum over the examples comes from" in out


def test_explain_after_training_and_notes_on_tanh(capsys):
    assert main(["explain", "--iterations", "300"]) == 0
    out = " ".join(capsys.readouterr().out.split())  # as read, not as wrapped
    assert "parameters after 300 steps at learning rate 1.2" in out and "Why g1′(Z1) = 1 − A1² for tanh" in out
    assert "Why dZ2 = A2 − Y: the fused gradient of sigmoid and cross-entropy" in out


def test_explain_runs_with_numpy_alone(monkeypatch, capsys):
    monkeypatch.setattr(impls, "available_backends", lambda: ["numpy"])
    assert main(["explain"]) == 0
    out = capsys.readouterr().out
    assert 'torch: not installed (pip install -c constraints.txt -e ".[torch]" in the clone)' in out
    assert "Every difference is rounding" not in out


def test_default_backends_are_the_installed_ones():
    backends, missing = default_backends("tanh", "float64")
    assert list(backends) == impls.available_backends()
    assert set(backends) | set(missing) == set(impls.BACKENDS) - set(impls.DATA_PARALLEL)  # one process each


# --- demos ------------------------------------------------------------------------------------------

def test_zero_init_keeps_units_identical_and_random_breaks_the_symmetry():
    X, Y = planar()
    runs = {r["name"]: r for r in zero_init(NumpyBackend(), X, Y, n_h=4, learning_rate=1.2, iterations=300, seed=0)}
    assert runs["zeros"]["distinct"] == 1 and not np.any(runs["zeros"]["params"]["W1"])
    assert runs["all equal (0.5)"]["distinct"] == 1 and np.ptp(runs["all equal (0.5)"]["W1"][-1]) == 0
    assert runs["random (0.01·randn)"]["distinct"] == 4
    assert runs["random (0.01·randn)"]["accuracy"] > runs["all equal (0.5)"]["accuracy"] > runs["zeros"]["accuracy"]


def test_learning_rates_crawl_converge_and_oscillate():
    X, Y = planar()
    runs = learning_rates(NumpyBackend(), impls.init_params(2, 4), X, Y, rates=[0.01, 1.2, 50], iterations=1000)
    assert [r["verdict"] for r in runs] == ["crawls", "converges", "oscillates"]
    assert runs[1]["final_cost"] < runs[0]["final_cost"] and runs[1]["final_cost"] < runs[2]["final_cost"]
    diverging = learning_rates(NumpyBackend(activation="leaky_relu"), impls.init_params(2, 4), X, Y, rates=[10],
                               iterations=2000)
    assert diverging[0]["verdict"] == "diverges" and "training diverged" in diverging[0]["diverged"]


def test_more_hidden_units_find_the_flower():
    X, Y = planar()
    runs = hidden_units(NumpyBackend(), X, Y, sizes=[1, 4], learning_rate=1.2, iterations=1500, seed=0)
    assert runs[0]["accuracy"] < 0.7 < 0.85 < runs[1]["accuracy"]


@pytest.mark.parametrize("demo, args", [("zero-init", []), ("learning-rate", ["--values", "0.01,1.2,50"]),
                                        ("hidden-units", ["--values", "1,3"])])
def test_demo_prints_numbers_and_writes_its_picture(tmp_path, monkeypatch, capsys, demo, args):
    monkeypatch.chdir(tmp_path)  # the default folder is under the working directory
    assert main(["demo", demo, "--iterations", "200", *args]) == 0
    out = capsys.readouterr().out
    picture = tmp_path / "compare-plots" / f"demo-{demo}.png"
    assert picture.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"Picture written to compare-plots/demo-{demo}.png" in out
    assert re.search(r"\d+\.\d\d%", out)


@pytest.mark.parametrize("args, message", [
    (["demo", "learning-rate", "--lr", "0.5"], "tries several values of --lr itself: choose them with --values"),
    (["demo", "hidden-units", "--values", "1.5"], "--values for hidden-units must be whole numbers"),
    (["demo", "zero-init", "--values", "1"], "varies nothing"),
])
def test_demo_usage_errors_exit_2(capsys, args, message):
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err
