"""The comparison at any depth (issue 18): every check of the two-layer comparison for L = 1 … 4, in every
built-in backend and a user's deep class; the report names the layers; `run --hidden 20,7,5` on the command line."""
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import impls
from compare import compare_backends
from compare.cli import main
from conftest import DEEP_DIMS, deep_problem, make_backend
from impls.base import cache_names, grad_names, intermediate_names

ROOT = Path(__file__).parents[1]
sys.path.insert(0, str(ROOT / "tests" / "user_backends"))
import deep  # noqa: E402 - the user's week-4 file, as a module for the Python API tests

BUILT_IN = ("numpy", "torch", "jax", "tape")


@pytest.mark.parametrize("L", [1, 3, 4])
def test_every_check_of_the_two_layer_comparison_runs_at_depth_L(L):
    X, Y, params = deep_problem(DEEP_DIMS[L], 25)
    backends = [make_backend(n, activation="tanh") for n in BUILT_IN]
    report = compare_backends(backends, params, X, Y, learning_rate=0.1, iterations=20, checkpoint_every=10, steps=3)
    assert report.ok, str(report)
    quantities = {(c.section, c.quantity) for c in report.checks}
    expected = ({("forward", k) for k in cache_names(L)} | {("gradient", k) for k in grad_names(L)}
                | {("intermediate", k) for k in intermediate_names(L)} | {("cost", "J")})
    assert expected <= quantities
    sections = {c.section for c in report.checks}
    assert sections == {"forward", "cost", "gradient", "intermediate", "repeat", "finite differences",
                        "training steps", "predictions", "inputs"}
    # every other backend is held against numpy on every array of this depth
    for name in BUILT_IN[1:]:
        judged = {c.quantity for c in report.checks if c.backend == name}
        assert set(cache_names(L)) | set(grad_names(L)) | set(intermediate_names(L)) <= judged
    text = str(report)
    assert f"layer_dims {DEEP_DIMS[L]}" in text and "n_h=" not in text
    assert report.to_dict()["settings"]["layer_dims"] == DEEP_DIMS[L]


def test_a_wrong_value_at_a_deep_layer_fails_its_own_check_only_there():
    class Layer3Off(type(make_backend("numpy"))):
        name = "layer3-off"

        def forward(self, params, X):
            out = super().forward(params, X)
            out["Z3"] = out["Z3"] + 1e-3  # what F1 at layer 3 returns, not what the network computes with
            return out
    X, Y, params = deep_problem(DEEP_DIMS[4], 25)
    report = compare_backends([make_backend("numpy"), Layer3Off()], params, X, Y, learning_rate=0.1, iterations=10)
    failed = {(c.section, c.quantity) for c in report.failures}
    assert failed == {("forward", "Z3")}, failed


def test_the_two_layer_report_reads_as_before():
    X, Y, params = deep_problem([3, 4, 1], 20)
    report = compare_backends([make_backend("numpy"), make_backend("tape")], params, X, Y, learning_rate=0.1,
                              iterations=10)
    text = str(report)
    assert "; n_h=4, " in text and "of Z1, A1, Z2, A2" in text and "(W1, b1, W2, b2, X, Y)" in text
    assert "at Z2, A1, Z1 against the hand-written B1, W2ᵀdZ2, B4" in text


def test_a_correct_deep_user_class_passes_at_every_depth():
    for L in (1, 2, 3, 4):
        X, Y, params = deep_problem(DEEP_DIMS[L], 25)
        report = compare_backends([make_backend("numpy", activation="relu"), deep.DeepMine(activation="relu")],
                                  params, X, Y, learning_rate=0.1, iterations=20, checkpoint_every=10, steps=3)
        assert report.ok, str(report)


def test_the_deep_training_check_is_a_judged_one():
    class SkipsLayer1(deep.DeepMine):
        name = "skips-layer-1"

        def train(self, params, X, Y, **kwargs):
            result = super().train(params, X, Y, **kwargs)
            result.params["W1"] = np.asarray(params["W1"], dtype=float)  # layer 1 never trained
            return result
    X, Y, params = deep_problem(DEEP_DIMS[3], 25)
    report = compare_backends([make_backend("numpy", activation="relu"), SkipsLayer1(activation="relu")], params,
                              X, Y, learning_rate=0.1, iterations=20, checkpoint_every=10, steps=3)
    assert {c.section for c in report.failures} == {"training steps"}


@pytest.mark.parametrize("activation", ["relu", "tanh"])
def test_run_hidden_20_7_5_on_the_command_line(capsys, activation):
    status = main(["run", "--hidden", "20,7,5", "--activation", activation, "--backends", "numpy,tape",
                   "--iterations", "30", "--no-plots"])
    out = capsys.readouterr().out
    assert status == 0, out
    assert "layer_dims [2, 20, 7, 5, 1]" in out and re.search(r"^  dZ4 .*ok$", out, re.M)
    assert re.search(r"^  dA1 .*ok$", out, re.M) and "(W1, b1, …, W4, b4, X, Y)" in out
    assert re.search(r"All \d+ checks pass: the backends compute the same map", out)


@pytest.mark.slow
def test_run_hidden_20_7_5_relu_every_backend_and_a_users_class_in_its_own_process(tmp_path):
    out = subprocess.run([sys.executable, "-m", "compare", "run", "--hidden", "20,7,5", "--activation", "relu",
                          "--backends", "numpy,torch,jax,tape,tests/user_backends/deep.py:DeepMine",
                          "--iterations", "300", "--json", str(tmp_path / "r.json"), "--plots", str(tmp_path)],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["ok"] and report["settings"]["layer_dims"] == [2, 20, 7, 5, 1]
    assert {c["backend"] for c in report["checks"]} == {"numpy", "torch", "jax", "tape", "deep-mine"}
    assert (tmp_path / "decision_boundaries.png").exists()


@pytest.mark.slow
def test_run_on_the_digits_stand_in(tmp_path):
    out = subprocess.run([sys.executable, "-m", "compare", "run", "--hidden", "20,7,5", "--activation", "relu",
                          "--dataset", "digits", "--iterations", "100", "--no-plots"],
                         capture_output=True, text=True, timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "layer_dims [64, 20, 7, 5, 1]" in out.stdout


def test_lost_units_are_counted_where_relu_ends_low(capsys):
    """planar, relu, n_h = 4, learning rate 1.2: no unit is dead but two duplicate the other two (measured)."""
    from compare.units import hidden_units, units_note
    from impls.io.datasets import planar
    X, Y = planar()
    params = make_backend("numpy", activation="relu").train(impls.init_params(2, 4, seed=0), X, Y,
                                                             learning_rate=1.2, iterations=3000).params
    assert hidden_units(params, X, "relu") == [(1, 4, 0, 2)]
    assert "of the 4 hidden ReLU units only 2 are distinct: 2 duplicating" in units_note(params, X, "relu")
    assert units_note(params, X, "tanh") == ""
    dead = {**params, "b1": params["b1"] - 100}  # every unit off on every example
    assert hidden_units(dead, X, "relu") == [(1, 4, 4, 0)]
    assert "all of the 4 hidden ReLU units are dead" in units_note(dead, X, "relu")
    assert "the output is the same for every example" in units_note(dead, X, "relu")
    fresh = impls.init_params(2, 4, seed=1)
    assert units_note(fresh, X, "relu") == ""  # a random start has lost nothing


def test_finite_differences_leave_out_the_examples_at_relus_kink():
    """--hidden 4,4 relu on planar from the sqrt start: 101 of 400 examples have every layer-1 unit off, so
    Z2 = b2 = 0 exactly; the differences there straddle the kink (4.1e-3 for every backend alike, measured)."""
    from compare.comparison.finite_differences import at_kinks
    from impls.io.datasets import planar
    X, Y = planar()
    params = impls.init_deep_params([2, 4, 4, 1], seed=0, scale="sqrt")
    kinks = at_kinks(params, X, "relu")
    assert kinks.sum() == 101 and not at_kinks(params, X, "tanh").any()
    report = compare_backends([make_backend("numpy", activation="relu"), deep.DeepMine(activation="relu")], params,
                              X, Y, learning_rate=0.0075, iterations=10)
    fd = [c for c in report.checks if c.section == "finite differences"]
    assert all(c.ok for c in fd) and len(fd) == 2, str(report)
    assert "on the 299 of 400 examples away from ReLU's kink: 101 hold a hidden Z" in fd[0].note


# --- the first-difference walk at depth L: each planted week-4 mistake found at its layer and equation --------

# planted -> (hidden widths, where, the start of the walk's line, words of the diagnosis)
PLANTED_DEEP = {
    deep.LostKeepdims: ([5, 7, 4], "db2", "first difference at B6 at layer 2 (db2 = (1/m) Σ dZ2, keepdims): "
                        "shape (7,), expected (7, 1)",
                        "db2 has shape (7,): the right numbers without their column axis"),
    deep.WrongCache: ([5, 5, 5], "dW3", "first difference at B5 at layer 3 (dW3 = (1/m) dZ3 A2ᵀ): ‖Δ‖/‖g‖ = ",
                      "dW3 = (1/m) dZ3 A3ᵀ: it reads A3 where B5 needs A2, the input of layer 3 (a wrong index into "
                      "the caches: caches[3] for caches[2])"),
    deep.TopGradientEverywhere: ([5, 5, 5], "dZ2", "first difference at B4 at layer 2 (dZ2 = W3ᵀ dZ3 ⊙ (Z2 > 0)): "
                                "‖Δ‖/‖dZ2‖ = ", "dZ2 = dA3 ⊙ g′(Z2): it takes dA3, layer 3's gradient, where B4 needs "
                                "dA2 = W3ᵀ dZ3, its own"),
    deep.SigmoidDerivative: ([5, 7, 4], "dZ3", "first difference at B4 at layer 3 (dZ3 = W4ᵀ dZ4 ⊙ (Z3 > 0)): "
                             "‖Δ‖/‖dZ3‖ = ", "dZ3 = dA3 ⊙ sigmoid′(Z3): sigmoid's derivative where layer 3's relu "
                             "needs (Z3 > 0)"),
}


def planted_report(planted, hidden, dtype="float64", intermediates=True):
    X, Y, params = deep_problem([3, *hidden, 1], 40, dtype=dtype)
    candidate = planted(activation="relu", dtype=dtype)
    if not intermediates:  # a user's class with only part of the contract: the walk goes on to the gradients
        candidate.intermediates = None
    return compare_backends([make_backend("numpy", activation="relu", dtype=dtype), candidate], params, X, Y,
                            learning_rate=0.05, iterations=20, checkpoint_every=10, steps=3)


@pytest.mark.parametrize("dtype", impls.DTYPES)
@pytest.mark.parametrize("planted", PLANTED_DEEP, ids=lambda cls: cls.__name__)
def test_each_planted_deep_mistake_fails_and_is_located_at_its_layer_and_equation(planted, dtype):
    hidden, where, line, sentence = PLANTED_DEEP[planted]
    report = planted_report(planted, hidden, dtype)
    assert not report.ok and {c.backend for c in report.failures} == {"deep-mine"}, str(report)
    found = report.differences["deep-mine"]
    assert found["where"] == where and found["first_difference"].startswith(line), found
    assert sentence in " ".join(found["diagnosis"]), found
    text = " ".join(str(report).split())
    assert f"Where deep-mine differs: {line}" in text


@pytest.mark.parametrize("planted, where, row", [
    (deep.WrongCache, "dW3", "B5 at layer 3"), (deep.TopGradientEverywhere, "dW2", "B5 at layer 2"),
    (deep.SigmoidDerivative, "dW3", "B5 at layer 3")])
def test_without_intermediates_the_walk_locates_the_mistake_at_the_first_wrong_gradient(planted, where, row):
    report = planted_report(planted, [5, 5, 5], intermediates=False)
    found = report.differences["deep-mine"]
    assert found["where"] == where and found["first_difference"].startswith(f"first difference at {row}"), found
    assert found["diagnosis"], found  # the mistake still named, through B5's product


def test_the_correct_deep_class_has_no_difference_to_report():
    report = planted_report(deep.DeepMine, [5, 7, 4])
    assert report.ok and report.differences == {}


@pytest.mark.slow
@pytest.mark.parametrize("planted, line", [
    ("WrongCache", "first difference at B5 at layer 3 (dW3 = (1/m) dZ3 A2ᵀ)"),
    ("SigmoidDerivative", "first difference at B4 at layer 3 (dZ3 = W4ᵀ dZ4 ⊙ (Z3 > 0))")])
def test_planted_deep_files_fail_on_the_command_line_in_their_own_process(planted, line):
    out = subprocess.run([sys.executable, "-m", "compare", "run", "--hidden", "5,5,5", "--activation", "relu",
                          "--backends", f"numpy,tests/user_backends/deep.py:{planted}", "--iterations", "100",
                          "--no-plots"], capture_output=True, text=True, timeout=300, cwd=ROOT)
    assert out.returncode == 1, out.stdout + out.stderr
    assert line in " ".join(out.stdout.split()) and "FAILED" in out.stdout
