"""Bad input at every entry point, the divergence guard, and properties checked on random cases (hypothesis)."""
import contextlib
import io
import math
import os
import tempfile
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings, strategies as st

import impls
from compare.cli import main
from compare.numerics import numerical_gradients, rel_error
from compare.teach.explain import rounding_scales
from compare.tolerances import BACKEND_RTOL, FD_RTOL, FD_STEP, TERMS_RTOL
from conftest import examples, make_backend, nondegenerate_problem
from impls.io.datasets import load_csv, load_dataset, planar

INSTALLED = impls.available_backends()
OTHERS = [name for name in INSTALLED if name != "numpy"]


def backend(name, activation="tanh", dtype="float64"):
    return make_backend(name, activation=activation, dtype=dtype)  # one object: JAX keeps its compilations


def flat(grads):
    return np.concatenate([np.ravel(grads["d" + k]) for k in impls.PARAM_NAMES])


# Properties on random problems

problems = st.fixed_dictionaries({
    "n_x": st.integers(1, 5), "n_h": st.integers(1, 5), "n_y": st.integers(1, 3), "m": st.integers(1, 20),
    "seed": st.integers(0, 2 ** 32 - 1), "activation": st.sampled_from(impls.ACTIVATIONS),
    "dtype": st.sampled_from(impls.DTYPES)})
# Each new shape costs JAX a compilation (~0.3 s); 30 cases keep this file's properties near 30 s.
PROPERTY = settings(max_examples=examples(30), deadline=None)


@pytest.mark.skipif(not OTHERS, reason="needs torch or jax")
@PROPERTY
@given(problems)
def test_backends_agree_on_random_problems(case):
    dtype = case["dtype"]
    X, Y, params = nondegenerate_problem(case["n_x"], case["n_h"], case["n_y"], case["m"], case["seed"], dtype)
    reference = backend("numpy", case["activation"], dtype)
    expected = {**reference.forward(params, X), **reference.intermediates(params, X, Y),
                **reference.gradients(params, X, Y)}
    # Each value against the size of the terms it is built from, not its own: with one hidden unit
    # and two outputs, dA1 = W2ᵀdZ2 is a sum of two terms that may cancel (hypothesis found one where
    # its own relative error was 1.6e-12). dZ1 = dA1 ⊙ g1′(Z1), |g1′| ≤ 1: its scale covers dA1's terms.
    scales = rounding_scales(params, X, Y, expected)
    scales["dA1"] = scales["dZ1"]
    cost_ref = reference.cost(params, X, Y)
    for name in OTHERS:
        other = backend(name, case["activation"], dtype)
        got = {**other.forward(params, X), **other.intermediates(params, X, Y), **other.gradients(params, X, Y)}
        for k, value in got.items():
            assert value.dtype == np.dtype(dtype), (name, k)
            assert np.max(np.abs(value - expected[k])) <= TERMS_RTOL[dtype] * scales[k], (name, k)
        # the cost is a sum of non-negative terms: its own size is the size of its terms
        cost = other.cost(params, X, Y)
        assert abs(cost - cost_ref) <= BACKEND_RTOL[dtype] * (abs(cost) + abs(cost_ref)), name


@PROPERTY
@given(problems)
def test_every_backend_matches_finite_differences_on_random_problems(case):
    X, Y, params = nondegenerate_problem(case["n_x"], case["n_h"], case["n_y"], case["m"], case["seed"])
    activation = case["activation"]
    if activation in ("relu", "leaky_relu"):
        # A step of h in W1[i, j] moves Z1[i, k] by h·|X[j, k]|; one in b1 by h. Within that of a kink,
        # (J(θ+h) − J(θ−h))/2h straddles it and is not the derivative on either side.
        Z1 = backend("numpy").forward(params, X)["Z1"]
        assume(np.min(np.abs(Z1)) > 10 * FD_STEP * (1 + np.max(np.abs(X))))
    cost = backend("numpy", activation).cost
    expected = flat(numerical_gradients(lambda p: cost(p, X, Y), params, FD_STEP))  # float64 differences
    for name in INSTALLED:
        gradients = backend(name, activation, case["dtype"]).gradients(params, X, Y)
        # measured over 120 random cases: at most 1/60 of the tolerance (float64), 1/130 (float32)
        assert rel_error(flat(gradients), expected) < FD_RTOL[case["dtype"]], name


# The divergence guard


class Spy:
    def __init__(self, target, name):
        self.calls, self.real = [], getattr(target, name)

    def __call__(self, *args):
        self.calls.append(args)
        return self.real(*args)


def test_the_guard_checks_once_per_recording_interval(backend_name, monkeypatch):
    b = make_backend(backend_name)
    X, Y, params = nondegenerate_problem(2, 3, 1, 10)
    train, check = Spy(b, "_train"), Spy(b, "_checked_cost")
    monkeypatch.setattr(b, "_train", train)  # on the instance: JAX's compiled loop is still what runs
    monkeypatch.setattr(b, "_checked_cost", check)
    b.train(params, X, Y, learning_rate=0.1, iterations=2500, record_every=1000)
    assert [call[-1] for call in train.calls] == [1000, 1000, 500]  # whole chunks run in between
    assert [call[3] for call in check.calls] == [0, 1000, 2000, 2500]  # the checks' iterations


def test_divergence_is_reported_at_the_first_check_after_it(backend_name):
    X, Y = planar()
    b = make_backend(backend_name, activation="leaky_relu")
    start = impls.init_params(2, 4)
    with pytest.raises(impls.TrainingDiverged) as every_step:
        b.train(start, X, Y, learning_rate=10, iterations=2000, record_every=1)
    first = int(str(every_step.value).split(" at iteration ")[1].split()[0])  # where the cost first overflows
    assert 0 < first < 2000
    # the guard's reason: a non-finite cost, overflowed parameters, or a cost beyond any probability's
    where = math.ceil(first / 300) * 300
    with pytest.raises(impls.TrainingDiverged, match=rf"^training diverged: .+ at iteration {where} "
                                                     r"with learning rate 10; try a smaller learning rate$"):
        b.train(start, X, Y, learning_rate=10, iterations=2000, record_every=300)


def test_a_diverged_run_in_the_cli_is_one_line_and_exit_1(capsys):
    code = main(["train", "--activation", "leaky_relu", "--lr", "10", "--iterations", "2000", "--print-every", "100"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert err.startswith("python -m compare: error: training diverged: the cost")
    assert "try a smaller learning rate" in err


# Bad input to the Python API, beyond tests/test_contract.py's


@pytest.mark.parametrize("call, match", [
    (lambda b, X, Y, p: b.cost(p, X * 1j, Y), "X must hold real numbers, got complex values"),
    (lambda b, X, Y, p: b.cost(p, X[:0], Y), r"X has no features \(n_x = 0\)"),
    (lambda b, X, Y, p: b.cost(p, X, Y[:0]), r"Y has no label rows \(n_y = 0\)"),
    (lambda b, X, Y, p: b.cost(p, X[:, :0], Y[:, :0]), r"X has no examples \(m = 0\)"),
    (lambda b, X, Y, p: b.cost(p, [[1, 2], [3]], Y), "X must be an array of numbers"),
    (lambda b, X, Y, p: b.cost(p, X, np.full_like(Y, np.inf)), "Y contains NaN or infinite values"),
    (lambda b, X, Y, p: b.cost({**p, "b2": np.array([[np.nan]])}, X, Y), "b2 contains NaN or infinite values"),
    (lambda b, X, Y, p: b.cost({**p, "extra": 1}, X, Y), "params must be a dict with keys W1, b1, W2, b2"),
    (lambda b, X, Y, p: b.cost(p, np.full(X.shape, 1e39), Y), r"X contains NaN or infinite values \(in float32\)"),
    (lambda b, X, Y, p: b.train(p, X, Y, learning_rate=True, iterations=1),
     "learning_rate must be a finite number > 0"),
    (lambda b, X, Y, p: b.train(p, X, Y, learning_rate=0.1, iterations=1, callback="print"),
     "callback must be callable"),
])
def test_more_bad_input_is_a_value_error(backend_name, call, match):
    X, Y, params = nondegenerate_problem(2, 3, 1, 4)
    with pytest.raises(ValueError, match=match):
        call(make_backend(backend_name, dtype="float32"), X, Y, params)


@pytest.mark.parametrize("kwargs, match", [
    ({"seed": -1}, "seed must be a whole number from 0 to 4294967295, got -1"),
    ({"seed": 2 ** 32}, "seed must be a whole number from 0 to 4294967295"),
    ({"seed": None}, "seed must be a whole number from 0 to 4294967295, got None"),
    ({"seed": 1.5}, "seed must be a whole number from 0 to 4294967295, got 1.5"),
    ({"scale": True}, "scale must be a finite number >= 0"),
    ({"scale": -0.1}, "scale must be a finite number >= 0"),
    ({"n_x": 0}, "n_x must be a whole number >= 1, got 0"),
    ({"n_h": 0}, "n_h must be a whole number >= 1, got 0"),
    ({"dtype": "float16"}, "unknown dtype 'float16'"),
])
def test_bad_init_params(kwargs, match):
    with pytest.raises(ValueError, match=match):
        impls.init_params(**{"n_x": 2, "n_h": 3, **kwargs})


def test_a_name_that_is_not_a_string_is_refused_by_name():
    with pytest.raises(ValueError, match=r"unknown activation array\(\["):
        impls.get_backend("numpy", activation=np.array(["tanh", "relu"]))
    with pytest.raises(ValueError, match="dataset must be a name or a path, got NoneType"):
        load_dataset(None)


# CSV files, beyond tests/test_datasets.py's


@pytest.mark.parametrize("text, kwargs, match", [
    ("1,2,0\n3,4,1\n", {}, "line 1: holds numbers, not column names; the file needs a header row"),
    ("a,b,y\n1,2,1e999\n", {}, r"line 2, column 3 \('y'\): '1e999' is not a finite number"),
    ("a,b,y\n1,2,0.5\n", {}, r"must hold 0/1 labels, found \[0.5\]"),
    ("a,b,c,d\n1,2,3,0\n", {"n_features": 2}, "has 4 columns; expected 2 features, optionally followed by a 0/1 label"),
    ("a,b,y\n1,2,3\n", {"n_features": 2}, r"must hold 0/1 labels, found \[3.0\]"),
    ("a,y\n" + "1" * 200000 + ",0\n", {}, r"not a readable CSV text file \(field larger than field limit"),
])
def test_bad_csv(tmp_path, text, kwargs, match):
    path = tmp_path / "data.csv"
    path.write_text(text)
    with pytest.raises(ValueError, match=match):
        load_csv(path, **kwargs)


def test_csv_edge_cases_that_load(tmp_path):
    path = tmp_path / "excel.csv"
    path.write_bytes(b"\xef\xbb\xbfx,label\r\n1.5,1\r\n-2,0\r\n")  # byte-order mark and CRLF, as Excel writes
    X, Y = load_csv(path)
    np.testing.assert_array_equal(X, [[1.5, -2.0]])
    np.testing.assert_array_equal(Y, [[1.0, 0.0]])
    path.write_text("x1,x2\n1,2\n3,4\n")
    X, Y = load_csv(path, n_features=2)
    assert Y is None and X.tolist() == [[1.0, 3.0], [2.0, 4.0]]


def test_csv_folder_and_unreadable_file(tmp_path):
    with pytest.raises(ValueError, match="is a folder, not a CSV file"):
        load_dataset(str(tmp_path))
    path = tmp_path / "locked.csv"
    path.write_text("a,y\n1,0\n")
    path.chmod(0)
    try:
        if os.access(path, os.R_OK):
            pytest.skip("running as a user who reads any file (root)")
        with pytest.raises(ValueError, match="locked.csv: cannot be read"):
            load_csv(path)
    finally:
        path.chmod(0o644)


cells = st.one_of(
    st.sampled_from(["0", "1", "1.0", "-2.5e3", "nan", "inf", "-inf", "1e999", "", " ", "abc", '"1"', "0x10",
                     "1_0", "١", "True", "\x00", "\t"]),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.text(max_size=6))
csv_text = st.lists(st.lists(cells, min_size=1, max_size=4).map(",".join), max_size=6).map("\n".join)


@settings(max_examples=examples(150), deadline=None)
@given(st.one_of(csv_text, st.text(max_size=80), st.binary(max_size=80)))
def test_garbage_csv_gives_arrays_or_a_value_error(content):
    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "data.csv")
        with open(path, "wb") as f:
            f.write(content if isinstance(content, bytes) else content.encode("utf-8", "surrogatepass"))
        try:
            X, Y = load_csv(path)
        except ValueError as e:
            assert str(e).startswith(path) and "\n" not in str(e)
            return
    assert X.dtype == np.float64 and np.all(np.isfinite(X)) and X.shape[0] >= 1 and X.shape[1] >= 1
    assert Y.shape == (1, X.shape[1]) and np.all((Y == 0) | (Y == 1))


# The command line: random flag values never produce a traceback


def run_main(argv):
    """main(argv) in this process: (exit status, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err), warnings.catch_warnings():
        warnings.simplefilter("default")  # shown on stderr, where they would break the one-line rule
        try:
            code = main(argv)
        except SystemExit as e:  # argparse: --help, or a usage error
            code = e.code
    return code, out.getvalue(), err.getvalue()


# Junk with no decimal digits, so that a number flag never parses as a long run by accident, and
# no slash, so that a path flag writes nowhere but in the temporary folder the test runs in.
junk = st.text(st.characters(exclude_categories=("Nd", "Cs"), exclude_characters="/\\"), max_size=12)
numbers = st.one_of(st.integers(-5, 40).map(str), st.sampled_from(["nan", "inf", "-inf", "1e308", "0.0", "1e-320", "+3",
                                                                   "0x10", "1_0", "1.5", "-0", ""]))
reals = st.one_of(numbers, st.floats(allow_nan=True).map(repr))
FLAGS = {
    "train": {"--backend": st.sampled_from(INSTALLED + ["tf", ""]), "--dataset": st.sampled_from(
        ["planar", "moons", "iris", "good.csv", "bad.csv", "missing.csv", ".", "model.npz"]) | junk,
        "--hidden": numbers | junk, "--activation": st.sampled_from(impls.ACTIVATIONS) | junk,
        "--lr": reals | junk, "--iterations": numbers | junk, "--seed": numbers | junk,
        "--dtype": st.sampled_from(impls.DTYPES) | junk,
        "--device": st.sampled_from(["cpu", "cuda", "gpu:1", "cpu:7"]) | junk, "--print-every": numbers | junk,
        "--save": st.sampled_from(["new.npz", "no/such/m.npz", ".", "model.npz"]) | junk},
    "predict": {"--model": st.sampled_from(["model.npz", "missing.npz", "bad.csv", "."]) | junk,
                "--dataset": st.sampled_from(["planar", "breast_cancer", "good.csv", "bad.csv", "unlabelled.csv"])
                | junk, "--seed": numbers | junk, "--backend": st.sampled_from(INSTALLED + ["tf"]) | junk,
                "--device": st.sampled_from(["cpu", "cuda"]) | junk,
                "--out": st.sampled_from(["p.csv", "no/p.csv", "."]) | junk},
}


@st.composite
def command_lines(draw):
    command = draw(st.sampled_from(sorted(FLAGS)))
    flags = draw(st.lists(st.sampled_from(sorted(FLAGS[command])), unique=True, max_size=4))
    now_and_then = st.sampled_from([False] * 19 + [True])  # hypothesis favours the ends of integer ranges
    if command == "predict" and "--model" not in flags and not draw(now_and_then):
        flags.append("--model")  # without it, every line would stop at the same usage error
    argv = [command]
    for flag in flags:
        argv += [flag] if draw(now_and_then) else [flag, draw(FLAGS[command][flag])]  # now and then no value
    if command == "train" and "--iterations" not in flags:
        argv += ["--iterations", "20"]
    return argv + (["--bogus"] if draw(now_and_then) else [])


@pytest.fixture(scope="module")
def cli_folder():
    """A folder with a model file and CSV files for the random command lines to name."""
    with tempfile.TemporaryDirectory() as folder:
        impls.save_model(os.path.join(folder, "model.npz"), impls.init_params(2, 4),
                         {"backend": "numpy", "activation": "tanh", "dtype": "float64", "dataset": "planar"})
        for name, text in [("good.csv", "a,b,y\n1,2,0\n3,4,1\n"), ("bad.csv", "a,b,y\n1,x,0\n"),
                           ("unlabelled.csv", "a,b\n1,2\n")]:
            with open(os.path.join(folder, name), "w") as f:
                f.write(text)
        yield folder


@settings(max_examples=examples(120), deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(argv=command_lines())
def test_random_command_lines_exit_cleanly(cli_folder, argv):
    cwd = os.getcwd()
    os.chdir(cli_folder)
    try:
        code, out, err = run_main(argv)
    finally:
        os.chdir(cwd)
    assert code in (0, 1, 2), (argv, code, err)
    assert "Traceback" not in err and "Warning" not in err, (argv, err)
    if code != 0:
        assert err.count("\n") == 1 and err.startswith(("compare", "python -m compare")), (argv, err)
    else:
        assert err == "" and out, argv

