"""`check`: a student's course-style file graded equation by equation, its code run in a child process."""
import importlib.util
import json
import re
from pathlib import Path

import numpy as np
import pytest

import impls
from compare.cli import main
from compare.numerics import rel_error
from compare.teach.check import check_file, grade, distinct_sizes_problem, reference
from compare.teach.check.problems import course_grads as _grads
from impls.io.datasets import planar

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
    ("B1 other", "dZ2 = A2 - Y", "dZ2 = A2 - Y * 0.5", "B1", "dZ2 differs from the right value"),
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
    ("B4 other", "(1 - np.power(A1, 2))", "(1 - np.power(A1, 3))", "B4", "dZ1 differs from the right value"),
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
     "cache", "the course's cache is a dict with keys Z1, A1, Z2, A2; 'W1' is not one"),
]


EVERY_WRONG = {"m = 1": ["B2", "B3", "B5", "B6"], "m = X.shape[0]": ["B2", "B3", "B5", "B6"]}


def student(tmp_path, source, name="student.py"):
    path = tmp_path / name
    path.write_text(source)
    return path


def graded(path):
    """The grade of a file's two functions, run in this process: the grading code of `check`, without a child
    process per case (the sandbox has tests of its own below)."""
    spec = importlib.util.spec_from_file_location(f"student_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return grade(module.forward_propagation, module.backward_propagation)


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
    # one mistake, one equation blamed; a wrong m is wrong in each equation that divides by it
    assert [w["name"] for w in result.wrong] == EVERY_WRONG.get(new, [equation]), result.wrong
    assert all(result.status[eq] != "WRONG" for eq in result.status if eq not in EVERY_WRONG.get(new, [equation]))


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
    assert re.search(r"^  B1 .* ok$", out, re.M)  # the student's own dZ2, compared


@pytest.mark.parametrize("source, message", [
    ("def forward_propagation(X, parameters:\n    pass\n",
     "cannot be loaded: SyntaxError: '(' was never closed (line 1)"),
    ("from no_such_helpers import sigmoid\n", "defines no function forward_propagation(X, parameters), the course's "
                                              "name (it defines: no functions)"),
    ("import sys\nclass Exit:\n    sys.exit(3)\n", "defines no function forward_propagation"),
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
    assert check_file(student(tmp_path, source.replace("def sigmoid(x):\n    return 1 / (1 + np.exp(-x))\n", ""))).ok


def test_check_reference_is_the_course_equations_and_the_backend():
    rng = np.random.RandomState(5)
    X, Y, params = distinct_sizes_problem(rng)
    r = reference(params, X, Y)
    course = _grads(r, X)
    for k in course:
        assert rel_error(course[k], r[k]) < 1e-14


def test_check_problems_are_ones_where_no_mistake_can_hide():
    rng = np.random.RandomState(0)
    for _ in range(20):
        X, Y, params = distinct_sizes_problem(rng)
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
    wrong = _grads(r, X, dZ1=r["dA1"] * (1 - r["Z1"] ** 2))
    assert rel_error(wrong["dW1"], r["dW1"]) < 1e-5  # the 6th digit of dW1: the course prints 8
    for seed in range(10):
        X, Y, params = distinct_sizes_problem(np.random.RandomState(seed))
        r = reference(params, X, Y)
        wrong = _grads(r, X, dZ1=r["dA1"] * (1 - r["Z1"] ** 2))
        assert rel_error(wrong["dW1"], r["dW1"]) > 0.1




# --- the student's code in a child process, and a class at once ---------------------------------------

STUDENTS = ROOT / "tests" / "students"
# file -> (verdict, the first thing named, words its diagnosis must use)
CLASS = {
    **{name: ("PASS", None, None) for name in ("right_course.py", "right_multiply.py", "right_matmul.py")},
    "assignment_wrong.py": ("FAIL", "initialize_parameters", "np.random.seed(2)"),
    "bad_array.py": ("FAIL", "F1", "cannot be read as an array of numbers (RuntimeError: not computed yet)"),
    "cache_a1_key.py": ("FAIL", "cache", "'a1' is not one of them"),
    "inplace_relu.py": ("FAIL", "F2", "the cache's Z1 is the same array as A1"),
    "input_call.py": ("FAIL", "F1", "input() waits for the keyboard"),
    "keyboard_interrupt.py": ("FAIL", "B1", "raised KeyboardInterrupt"),
    "memory_hog.py": ("FAIL", "F1", "more memory than check allows"),
    "mutates_params.py": ("FAIL", "parameters", 'changes parameters["W1"] in place'),
    "none_left.py": ("FAIL", "B5", "dW1 is None"),
    "os_exit.py": ("FAIL", "process", "exit status 0 and no answer"),
    "patch_activations.py": ("FAIL", "F2", "the activation is missing"),
    "patch_dot.py": ("FAIL", "F1", "b1 is missing"),
    "syntax_error.py": ("ERROR", None, "cannot be loaded: SyntaxError"),
    "sys_exit.py": ("FAIL", "B2", "raised SystemExit: 0"),
    "torch_grad.py": ("FAIL", "F1", "requires grad: call .detach().numpy()"),
    "tuple_cache.py": ("FAIL", "cache", "the course's cache is a dict with keys Z1, A1, Z2, A2"),
    "w1_in_b4.py": ("FAIL", "B4", "W1 in place of W2"),
    "while_true.py": ("FAIL", "process", "Used its 3 s of CPU time in backward_propagation"),
    "nan_update.py": ("FAIL", "update_parameters", "contains NaN or infinite values"),
    "complex_cost.py": ("FAIL", "compute_cost", "the cost is complex (0.9751+1000j)"),
    "lost_keepdims_db1.py": ("FAIL", "B6", "lost keepdims"),
    "none_dz1.py": ("FAIL", "B4", "dZ1 is None: the template's `None` is still there"),
    "notebook_global.py": ("FAIL", "compute_cost", "reads the notebook variable `parameters`"),
    "uses_impls.py": ("FAIL", "B1", "this project's own implementation"),
    "in_place_update.py": ("PASS", None, None),
    # week 4, in the same class (test_check_week4.py grades each alone)
    **{name: ("PASS", None, None) for name in ("week4_right.py", "week4_v5_keys.py", "week4_in_place_update.py")},
    "week4_hardcoded_w3.py": ("FAIL", "L_model_forward", "hard-coded as parameters['W3']"),
    "week4_top_da.py": ("FAIL", "L_model_backward", "feeds the top layer's dA to every hidden layer"),
    "week4_caches_negative.py": ("FAIL", "L_model_backward", "caches[-l]"),
    "week4_sigmoid_for_relu.py": ("FAIL", "linear_activation_backward", "the sigmoid's derivative"),
    "week4_db_float.py": ("FAIL", "linear_backward", "db is a number"),
    "week4_output_linear.py": ("FAIL", "L_model_backward", "without its activation"),
    "week4_dal_over_m.py": ("FAIL", "L_model_backward", "divides dAL by m"),
    "week4_notebook_global.py": ("FAIL", "L_model_backward", "reads the notebook variable `parameters`"),
    "week4_dw_wrong_layer.py": ("FAIL", "L_model_backward", "the wrong layer"),
    "week4_non_finite.py": ("FAIL", "compute_cost", "the cost is complex"),
    **{f"week4_{k}.py": ("FAIL", "L_model_forward", words) for k, words in (  # one function fails, named
        ("hangs_in_forward", " in L_model_forward"), ("exits_in_forward", "exit status 0 and no answer"),
        ("kills_its_parent", "stopped in L_model_forward"), ("patches_numpy_inside", "replaces numpy.dot while it"))},
}


def test_check_grades_a_class_folder_one_line_each_with_a_summary_and_json(tmp_path, capsys):
    expected = dict(CLASS)
    try:
        import torch  # noqa: F401
    except ImportError:  # the file cannot import torch: it cannot be loaded, which is the diagnosis then
        expected["torch_grad.py"] = ("ERROR", None, "No module named 'torch'")
    assert sorted(p.name for p in STUDENTS.glob("*.py")) == sorted(expected)
    gradebook = tmp_path / "grades.json"
    assert main(["check", str(STUDENTS), "--timeout", "3", "--json", str(gradebook)]) == 2  # a file cannot load
    out = capsys.readouterr().out
    lines = out.splitlines()
    counts = {v: sum(e[0] == v for e in expected.values()) for v in ("PASS", "FAIL", "ERROR")}
    assert any(line.startswith(f"{len(expected)} files: {counts['PASS']} pass, {counts['FAIL']} fail, "
                               f"{counts['ERROR']} cannot be graded; ") for line in lines), lines
    assert "forward done" not in out  # right_multiply.py prints: the student's output is not the grade's
    rows = {Path(r["file"]).name: r for r in json.loads(gradebook.read_text())["files"]}
    for name, (verdict, first, words) in expected.items():
        line = next(x for x in lines if re.match(rf"^\w+ +\d+/\d+ +{re.escape(str(STUDENTS / name))}( |$)", x))
        assert line.startswith(verdict), line
        row = rows[name]
        assert row["verdict"] == verdict.lower()
        if verdict == "FAIL":
            text = " ".join(w["problem"] + " " + w["hint"] for w in row["wrong"]) + " ".join(row["functions"].values())
            names = [w["name"] for w in row["wrong"]] + [n for n, v in row["functions"].items()
                                                         if v.startswith("WRONG")]
            assert names[0] == first and words in text, (name, row["wrong"], row["functions"])
            assert f"{STUDENTS / name}  {first}" in line
        elif verdict == "ERROR":
            assert words in row["error"] and words in line
        else:
            assert row["points"] == row["max_points"]
            assert set(row["equations"].values()) == ({"ok"} if row["assignment"] == "week 3" else set())
    assert all(v == "ok" for v in rows["right_course.py"]["functions"].values())
    assert rows["right_multiply.py"]["functions"]["compute_cost"] == "ok"
    assert rows["right_multiply.py"]["functions"]["nn_model"] == "not graded (not defined)"
    assert "forward done" in rows["right_multiply.py"]["output"]
    wrong = rows["assignment_wrong.py"]["functions"]
    assert "float(np.squeeze(cost))" in wrong["compute_cost"] and "learning_rate=1.2" in wrong["update_parameters"]
    assert not list(STUDENTS.glob("__pycache__"))  # nothing written beside the students' files


def test_check_exit_status_of_a_class(tmp_path, capsys):
    assert main(["check", str(STUDENTS / "right_course.py"), str(STUDENTS / "right_matmul.py")]) == 0
    assert main(["check", str(STUDENTS / "right_course.py"), str(STUDENTS / "none_left.py")]) == 1
    assert capsys.readouterr().out.splitlines()[-1] == "2 files: 1 pass, 1 fail, 0 cannot be graded; 25 of 26 points"


@pytest.mark.parametrize("target", ["input", "folder"])
def test_check_json_destination_is_checked_before_the_work(tmp_path, capsys, target):
    path = student(tmp_path, COURSE)
    before = path.read_bytes()
    destination = path if target == "input" else tmp_path
    assert main(["check", str(path), "--json", str(destination)]) == 2
    err = capsys.readouterr()
    assert err.out == "" and err.err.count("\n") == 1 and "Traceback" not in err.err
    assert path.read_bytes() == before


def test_check_a_single_file_that_exits_or_hangs_is_a_diagnosis_not_a_pass(tmp_path, capsys):
    path = student(tmp_path, COURSE.replace("    dZ2 = A2 - Y", "    import os\n    os._exit(0)\n    dZ2 = A2 - Y"))
    assert main(["check", str(path)]) == 1
    out = capsys.readouterr().out
    assert "exit status 0 and no answer (os._exit() or similar)" in out and "All ten" not in out


def test_check_objects_that_cannot_be_read_are_a_diagnosis(tmp_path):
    class Hostile:
        def __len__(self):
            return 3

        def __getitem__(self, i):
            raise RuntimeError("no")

    def forward(X, parameters):
        return Hostile(), {"Z1": Hostile(), "A1": None, "Z2": None, "A2": None}

    def backward(parameters, cache, X, Y):
        return {"dW1": Hostile(), "db1": None, "dW2": None, "db2": None}
    result = grade(forward, backward)
    assert result.equation == "F1" and "a Hostile that cannot be read" in result.problem
    assert any(w["name"] == "B2" and "dW2 is None" in w["problem"] for w in result.wrong)
