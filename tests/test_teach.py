"""Teaching commands: `check` grades a student's code and names the first wrong equation, `explain`
maps the equations to the code and measures live differences at rounding level, `demo` shows the
lecture's warnings."""
import re
from pathlib import Path

import numpy as np
import pytest

import impls
from compare.teach import check as check_module
from compare.teach.check import grade, load_functions, random_problem, reference
from compare.cli import main
from compare.teach.demos import hidden_units, learning_rates, zero_init
from compare.teach.explain import default_backends, explain
from compare.numerics import rel_error
from compare.tolerances import EXPLAIN_RTOL
from conftest import make_backend
from conftest import random_problem as project_problem
from impls.datasets import planar
from impls.numpy_backend import NumpyBackend

ROOT = Path(__file__).resolve().parents[1]

# The course's exercise, as a student hands it in.
COURSE = '''\
import numpy as np


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def forward_propagation(X, parameters):
    W1 = parameters["W1"]
    b1 = parameters["b1"]
    W2 = parameters["W2"]
    b2 = parameters["b2"]
    Z1 = np.dot(W1, X) + b1
    A1 = np.tanh(Z1)
    Z2 = np.dot(W2, A1) + b2
    A2 = sigmoid(Z2)
    assert A2.shape == (1, X.shape[1])
    cache = {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}
    return A2, cache


def backward_propagation(parameters, cache, X, Y):
    m = X.shape[1]
    W1 = parameters["W1"]
    W2 = parameters["W2"]
    A1 = cache["A1"]
    A2 = cache["A2"]
    dZ2 = A2 - Y
    dW2 = (1 / m) * np.dot(dZ2, A1.T)
    db2 = (1 / m) * np.sum(dZ2, axis=1, keepdims=True)
    dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))
    dW1 = (1 / m) * np.dot(dZ1, X.T)
    db1 = (1 / m) * np.sum(dZ1, axis=1, keepdims=True)
    grads = {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}
    return grads
'''

# Right, but written differently: the grade must not depend on how.
ALSO_RIGHT = [
    ("np.dot(W1, X) + b1", "W1 @ X + b1"),
    ("1 / (1 + np.exp(-x))", "np.exp(x) / (1 + np.exp(x))"),
    ("np.tanh(Z1)", "(np.exp(Z1) - np.exp(-Z1)) / (np.exp(Z1) + np.exp(-Z1))"),
    ("(1 / m) * np.sum(dZ2, axis=1, keepdims=True)", "np.mean(dZ2, axis=1, keepdims=True)"),
    ("(1 - np.power(A1, 2))", "(1 - np.tanh(cache['Z1']) ** 2)"),
    ("np.dot(W2.T, dZ2) * (1", "np.multiply(W2.T @ dZ2, 1"),
    ("(1 / m) * np.dot(dZ1, X.T)", "np.einsum('hm,xm->hx', dZ1, X) / m"),
    ("    return grads", "    print(grads)\n    return grads"),
]

# (the mistake, the line as it should be, the line as written, the equation, words the diagnosis must use)
MISTAKES = [
    ("no b1", "Z1 = np.dot(W1, X) + b1", "Z1 = np.dot(W1, X)", "F1", "b1 is missing"),
    ("-b1", "Z1 = np.dot(W1, X) + b1", "Z1 = np.dot(W1, X) - b1", "F1", "the bias is subtracted"),
    ("W1.T", "Z1 = np.dot(W1, X) + b1", "Z1 = np.dot(W1.T, X) + b1", "F1", "shapes do not fit"),
    ("* for dot in F1", "Z1 = np.dot(W1, X) + b1", "Z1 = W1 * X + b1", "F1", "element-wise product (*) where"),
    ("b1.T", "Z1 = np.dot(W1, X) + b1", "Z1 = np.dot(W1, X) + b1.T", "F1", "could not be broadcast"),
    ("sigmoid hidden", "A1 = np.tanh(Z1)", "A1 = sigmoid(Z1)", "F2", "the hidden layer is tanh"),
    ("relu hidden", "A1 = np.tanh(Z1)", "A1 = np.maximum(Z1, 0)", "F2", "relu(Z1)"),
    ("no activation", "A1 = np.tanh(Z1)", "A1 = Z1", "F2", "the activation is missing"),
    ("Z1 for A1 in F3", "Z2 = np.dot(W2, A1) + b2", "Z2 = np.dot(W2, Z1) + b2", "F3", "Z1 where A1 belongs"),
    ("no b2", "Z2 = np.dot(W2, A1) + b2", "Z2 = np.dot(W2, A1)", "F3", "b2 is missing"),
    ("b1 for b2", "Z2 = np.dot(W2, A1) + b2", "Z2 = np.dot(W2, A1) + b1", "F3", "Z2 has shape"),
    ("W2.T in F3", "Z2 = np.dot(W2, A1) + b2", "Z2 = np.dot(W2.T, A1) + b2", "F3", "shapes do not fit"),
    ("tanh output", "A2 = sigmoid(Z2)", "A2 = np.tanh(Z2)", "F4", "the output is a probability"),
    ("sigmoid sign", "1 / (1 + np.exp(-x))", "1 / (1 + np.exp(x))", "F4", "the sign in the exponent"),
    ("no sigmoid", "A2 = sigmoid(Z2)", "A2 = Z2", "F4", "the sigmoid is missing"),
    ("returns Z2", "return A2, cache", "return Z2, cache", "F4", "returns an A2 other than"),
    ("cache lacks A1", '"A1": A1, ', "", "F2", "keys Z1, A1, Z2, A2"),
    ("no pair", "return A2, cache", "return cache", "F1", "not a pair (A2, cache)"),
    ("Y - A2", "dZ2 = A2 - Y", "dZ2 = Y - A2", "B1", "the wrong sign"),
    ("Z2 - Y", "dZ2 = A2 - Y", "dZ2 = cache['Z2'] - Y", "B1", "Z2 where A2 belongs"),
    ("sigma' twice", "dZ2 = A2 - Y", "dZ2 = (A2 - Y) * A2 * (1 - A2)", "B1", "σ′ applied twice"),
    ("dA2 for dZ2", "dZ2 = A2 - Y", "dZ2 = -(Y / A2 - (1 - Y) / (1 - A2))", "B1", "the gradient at A2"),
    ("1/m in B1", "dZ2 = A2 - Y", "dZ2 = (A2 - Y) / m", "B1", "a 1/m too many"),
    ("B1 other", "dZ2 = A2 - Y", "dZ2 = A2 - Y * 0.5", "B1", "all four start from dZ2"),
    ("no 1/m in B2", "(1 / m) * np.dot(dZ2, A1.T)", "np.dot(dZ2, A1.T)", "B2", "the 1/m is missing"),
    ("1/m twice", "(1 / m) * np.dot(dZ2, A1.T)", "np.dot(dZ2, A1.T) / m / m", "B2", "divided by m twice"),
    ("B2 transposed", "np.dot(dZ2, A1.T)", "np.dot(A1, dZ2.T)", "B2", "the transpose of the right"),
    ("B2 no transpose", "np.dot(dZ2, A1.T)", "np.dot(dZ2, A1)", "B2", "shapes do not fit"),
    ("B2 Z1", "np.dot(dZ2, A1.T)", "np.dot(dZ2, cache['Z1'].T)", "B2", "Z1 where A1 belongs"),
    ("B2 sign", "dW2 = (1 / m)", "dW2 = -(1 / m)", "B2", "the wrong sign"),
    ("B2 * for dot", "np.dot(dZ2, A1.T)", "dZ2 * A1.T", "B2", "element-wise product (*) where"),
    ("integer 1/m", "dW2 = (1 / m)", "dW2 = (1 // m)", "B2", "all zeros"),
    ("B3 keepdims", "np.sum(dZ2, axis=1, keepdims=True)", "np.sum(dZ2, axis=1)", "B3", "lost keepdims"),
    ("B3 no axis", "np.sum(dZ2, axis=1, keepdims=True)", "np.sum(dZ2)", "B3", "a single number"),
    ("B3 axis 0", "np.sum(dZ2, axis=1, keepdims=True)", "np.sum(dZ2, axis=0, keepdims=True)", "B3",
     "not summed over the examples"),
    ("B3 no 1/m", "(1 / m) * np.sum(dZ2", "(1) * np.sum(dZ2", "B3", "the 1/m is missing"),
    ("g' from Z1", "(1 - np.power(A1, 2))", "(1 - np.power(cache['Z1'], 2))", "B4", "Z1 where A1 belongs"),
    ("g' no square", "(1 - np.power(A1, 2))", "(1 - A1)", "B4", "the square is missing"),
    ("g' (1-A1)^2", "(1 - np.power(A1, 2))", "np.power(1 - A1, 2)", "B4", "squared after the subtraction"),
    ("g' 1+A1^2", "(1 - np.power(A1, 2))", "(1 + np.power(A1, 2))", "B4", "the sign inside g1′"),
    ("no g'", "dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))", "dZ1 = np.dot(W2.T, dZ2)", "B4",
     "g1′ is missing"),
    ("precedence", "* (1 - np.power(A1, 2))", "* 1 - np.power(A1, 2)", "B4", "parentheses around 1 − A1²"),
    ("dot for ⊙", "np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))", "np.dot(np.dot(W2.T, dZ2), 1 - np.power(A1, 2))",
     "B4", "np.dot is a matrix product; ⊙ is element-wise"),
    ("W2 for W2.T", "np.dot(W2.T, dZ2)", "np.dot(W2, dZ2)", "B4", "shapes do not fit"),
    ("sigmoid'", "(1 - np.power(A1, 2))", "(A1 * (1 - A1))", "B4", "the sigmoid's derivative"),
    ("tanh twice", "(1 - np.power(A1, 2))", "(1 - np.power(np.tanh(A1), 2))", "B4", "tanh applied twice"),
    ("relu'", "(1 - np.power(A1, 2))", "(cache['Z1'] > 0)", "B4", "ReLU's derivative"),
    ("B4 other", "(1 - np.power(A1, 2))", "(1 - np.power(A1, 3))", "B4", "they share dZ1"),
    ("no 1/m in B5", "(1 / m) * np.dot(dZ1, X.T)", "np.dot(dZ1, X.T)", "B5", "the 1/m is missing"),
    ("B5 transposed", "np.dot(dZ1, X.T)", "np.dot(X, dZ1.T)", "B5", "the transpose of the right"),
    ("B5 no transpose", "np.dot(dZ1, X.T)", "np.dot(dZ1, X)", "B5", "shapes do not fit"),
    ("B5 sign", "dW1 = (1 / m)", "dW1 = -(1 / m)", "B5", "the wrong sign"),
    ("B5 A1 for X", "np.dot(dZ1, X.T)", "np.dot(dZ1, A1.T)", "B5", "has shape"),
    ("B6 keepdims", "np.sum(dZ1, axis=1, keepdims=True)", "np.sum(dZ1, axis=1)", "B6", "lost keepdims"),
    ("B6 no axis", "np.sum(dZ1, axis=1, keepdims=True)", "np.sum(dZ1)", "B6", "a single number"),
    ("B6 axis 0", "np.sum(dZ1, axis=1, keepdims=True)", "np.sum(dZ1, axis=0, keepdims=True)", "B6",
     "summed over axis 0"),
    ("no 1/m in B6", "(1 / m) * np.sum(dZ1", "np.sum(dZ1", "B6", "the 1/m is missing"),
    ("dZ2 in B6", "np.sum(dZ1, axis=1, keepdims=True)", "np.sum(dZ2, axis=1, keepdims=True)", "B6",
     "dZ2 where dZ1 belongs"),
    ("no 1/m anywhere", "m = X.shape[1]", "m = 1", "B2", "the 1/m is missing"),
    ("m from features", "m = X.shape[1]", "m = X.shape[0]", "B2", "the number of features"),
    ("grads key", '"db2": db2', '"db_2": db2', "B3", "must return a dict with keys"),
    ("cache key", 'W1 = parameters["W1"]\n    W2 = parameters["W2"]', 'W1 = cache["W1"]\n    W2 = parameters["W2"]',
     "B1", "cache holds Z1, A1, Z2, A2"),
]


def student(tmp_path, source, name="student.py"):
    path = tmp_path / name
    path.write_text(source)
    return path


def graded(path):
    forward, backward = load_functions(path)
    return grade(forward, backward, path=path)


def test_check_passes_the_course_implementation(tmp_path, capsys):
    path = student(tmp_path, COURSE)
    result = graded(path)
    assert result.ok and set(result.status.values()) == {"ok"}
    assert result.largest_error < 1e-13
    assert main(["check", str(path)]) == 0
    out = capsys.readouterr().out
    assert "All ten equations are right on 3 random problems" in out
    assert len(re.findall(r"^  [FB]\d .* ok", out, re.M)) == 10


@pytest.mark.parametrize("old, new", ALSO_RIGHT, ids=[new for _, new in ALSO_RIGHT])
def test_check_passes_correct_code_written_another_way(tmp_path, old, new):
    assert old in COURSE
    assert graded(student(tmp_path, COURSE.replace(old, new, 1))).ok


@pytest.mark.parametrize("old, new, equation, words", [m[1:] for m in MISTAKES], ids=[m[0] for m in MISTAKES])
def test_check_names_the_first_wrong_equation(tmp_path, old, new, equation, words):
    assert old in COURSE
    result = graded(student(tmp_path, COURSE.replace(old, new, 1)))
    assert result.equation == equation, (result.problem, result.hint)
    assert words in result.problem + result.hint
    order = list(result.status)
    assert all(result.status[eq] in ("ok", "not checked") for eq in order if eq != equation)
    assert all(result.status[eq] == "not checked" for eq in order[order.index(equation) + 1:])


def test_check_diagnosis_exits_1_and_shows_the_students_line(tmp_path, capsys):
    path = student(tmp_path, COURSE.replace("np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))",
                                            "np.dot(np.dot(W2.T, dZ2), 1 - np.power(A1, 2))"))
    assert main(["check", str(path)]) == 1
    out, err = capsys.readouterr()
    assert err == ""
    assert re.search(r"^B4 is wrong \(problem 1 of 3: n_x=\d, n_h=\d, m=\d+\): dZ1 = W2ᵀ dZ2 ⊙ \(1 − A1²\)$", out, re.M)
    assert "backward_propagation raised ValueError: shapes" in out  # the student's exception, its last line
    line = COURSE.splitlines().index("    dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))") + 1
    assert f"at line {line} of student.py: dZ1 = np.dot(np.dot(W2.T, dZ2), 1 - np.power(A1, 2))" in out
    assert "Traceback" not in out
    assert re.search(r"^  B3 .* ok$", out, re.M) and re.search(r"^  B5 .* not checked$", out, re.M)
    assert re.search(r"^  B1 .* ok \(seen through dW2, db2\)$", out, re.M)


@pytest.mark.parametrize("source, message", [
    ("def forward_propagation(X, parameters:\n    pass\n", "cannot be loaded: SyntaxError: '(' was never closed (line 1)"),
    ("from planar_utils import sigmoid\n", "ModuleNotFoundError: No module named 'planar_utils' (line 1: from"),
    ("import sys\nsys.exit(3)\n", "cannot be loaded: SystemExit: 3 (line 2: sys.exit(3))"),
    (COURSE.replace("def backward_propagation", "def backward_prop"),
     "defines no function backward_propagation(parameters, cache, X, Y), the course's name (it defines: "
     "backward_prop, forward_propagation, sigmoid)"),
    (COURSE.replace("def forward_propagation(X, parameters)", "def forward_propagation(X)"),
     "forward_propagation(X) cannot be called as the course calls it, forward_propagation(X, parameters)"),
])
def test_check_exits_2_with_one_line_when_the_file_cannot_be_used(tmp_path, capsys, source, message):
    path = student(tmp_path, source)
    assert main(["check", str(path)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err, err


def test_check_a_missing_file_exits_2(capsys):
    assert main(["check", "no/such/student.py"]) == 2
    assert "no/such/student.py: no such file" in capsys.readouterr().err


def test_check_imports_the_students_helper_modules_from_their_folder(tmp_path):
    student(tmp_path, "import numpy as np\n\ndef sigmoid(x):\n    return 1 / (1 + np.exp(-x))\n", "planar_utils.py")
    source = COURSE.replace("import numpy as np\n", "import numpy as np\nfrom planar_utils import sigmoid\n", 1)
    assert graded(student(tmp_path, source.replace("def sigmoid(x):\n    return 1 / (1 + np.exp(-x))\n", ""))).ok


def test_check_reference_is_the_course_equations_and_the_backend():
    rng = np.random.RandomState(5)
    X, Y, params = random_problem(rng)
    r = reference(params, X, Y)
    course = check_module._grads(r, X)
    for k in course:
        assert rel_error(course[k], r[k]) < 1e-14


def test_check_problems_are_ones_where_no_mistake_can_hide():
    rng = np.random.RandomState(0)
    for _ in range(20):
        X, Y, params = random_problem(rng)
        n_x, m, n_h = X.shape[0], X.shape[1], params["W1"].shape[0]
        assert len({n_x, n_h, m, 1}) == 4 and n_h > 1 and m > 1  # no transpose fits by accident
        assert np.all(np.abs(params["b1"]) >= 0.3) and np.all(np.abs(params["b2"]) >= 0.3)
        assert 0 < Y.sum() < m
        Z1 = params["W1"] @ X + params["b1"]
        assert np.max(np.abs(Z1 - np.tanh(Z1))) > 0.2  # tanh far from the identity


def test_a_z1_for_a1_mistake_hides_at_the_courses_tiny_weights():
    """Why check uses O(1) weights: at the course's 0.01 scale, 1 − Z1² and 1 − A1² barely differ."""
    X, Y = planar()
    params = impls.init_params(2, 4)
    r = reference(params, X, Y)
    wrong = check_module._grads(r, X, dZ1=r["dA1"] * (1 - r["Z1"] ** 2))
    assert rel_error(wrong["dW1"], r["dW1"]) < 1e-5  # the 6th digit of dW1: the course prints 8
    for seed in range(10):
        X, Y, params = random_problem(np.random.RandomState(seed))
        r = reference(params, X, Y)
        wrong = check_module._grads(r, X, dZ1=r["dA1"] * (1 - r["Z1"] ** 2))
        assert rel_error(wrong["dW1"], r["dW1"]) > 0.1


# --- explain ----------------------------------------------------------------------------------------

@pytest.mark.parametrize("activation", impls.ACTIVATIONS)
@pytest.mark.parametrize("dtype", impls.DTYPES)
def test_explain_live_differences_are_rounding(activation, dtype):
    backends = {"numpy": impls.get_backend("numpy", activation=activation, dtype=dtype),
                "torch": make_backend("torch", activation=activation, dtype=dtype),
                "jax": make_backend("jax", activation=activation, dtype=dtype)}
    sizes = ((2, 4, 1, 400), (5, 2, 1, 9), (3, 7, 2, 25))  # the course's, a small one, two outputs
    for n_x, n_h, n_y, m in sizes if dtype == "float64" else sizes[2:]:  # each new shape costs JAX a compile
        X, Y, params = project_problem(n_x, n_h, n_y, m, seed=n_h, dtype=dtype)
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
    X, Y, params = project_problem(3, 5, 1, 30, seed=1, dtype=dtype)
    backends = {"numpy": NumpyBackend(dtype=dtype), "wrong": WrongAutograd(dtype=dtype)}
    result = explain(params, X, Y, backends=backends)
    assert not result.ok
    flagged = {row.id for row in result.rows if not row.ok(result.tolerance)}
    assert flagged == {"B2", "B4"}
    assert min(row.rounding["wrong"] for row in result.rows if row.id in flagged) > 100 * EXPLAIN_RTOL[dtype]
    assert "NOT rounding (marked !): B2 (wrong), B4 (wrong)" in str(result)


def test_explain_points_at_the_real_lines():
    X, Y, params = project_problem(2, 3, 1, 10)
    result = explain(params, X, Y, backends={"numpy": NumpyBackend()}, missing={"torch": "-", "jax": "-"})
    for row in result.rows:
        path, line = row.numpy_line.rsplit(":", 1)
        text = (ROOT / path).read_text().splitlines()[int(line) - 1]
        assert re.search(rf"#\s*{row.id}\b", text) and any(text.strip().startswith(c) for c in row.numpy_code)
        for b in ("torch", "jax"):
            for place in re.findall(r"(impls/\w+\.py):(\d+)", row.roles[b]):
                assert place[0] == f"impls/{b}_backend.py"
                source = (ROOT / place[0]).read_text().splitlines()[int(place[1]) - 1]
                assert re.search(r"#\s*F\d\b|autograd\.grad\(|jax\.grad\(|jax\.vjp\(", source), source


def test_explain_command_prints_the_table(capsys):
    assert main(["explain", "--hidden", "3", "--activation", "relu", "--dataset", "moons"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"^B6  db1 = \(1/m\) Σ dZ1, keepdims\s+db1 \(3, 1\)\s+impls/numpy_backend\.py:\d+(\s+\d\.\de-\d\d){3}$",
                     out, re.M)
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
    assert set(backends) | set(missing) == set(impls.BACKENDS)


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
