"""`python -m compare check FILE.py`: grade a student's course-style forward_propagation and
backward_propagation, equation by equation, and name the first wrong one with a hint."""
import contextlib
import importlib.util
import inspect
import io
import re
import sys
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import impls
from compare.numerics import rel_error
from compare.tolerances import CHECK_RTOL
from impls.numpy_backend import sigmoid

EQUATIONS = {
    "F1": "Z1 = W1 X + b1", "F2": "A1 = tanh(Z1)", "F3": "Z2 = W2 A1 + b2", "F4": "A2 = σ(Z2)",
    "B1": "dZ2 = A2 − Y", "B2": "dW2 = (1/m) dZ2 A1ᵀ", "B3": "db2 = (1/m) Σ dZ2, keepdims",
    "B4": "dZ1 = W2ᵀ dZ2 ⊙ (1 − A1²)", "B5": "dW1 = (1/m) dZ1 Xᵀ", "B6": "db1 = (1/m) Σ dZ1, keepdims",
}
# the array each equation yields, in the order they are computed
FORWARD = {"Z1": "F1", "A1": "F2", "Z2": "F3", "A2": "F4"}
BACKWARD = {"dZ2": "B1", "dW2": "B2", "db2": "B3", "dZ1": "B4", "dW1": "B5", "db1": "B6"}
PRODUCES = {**FORWARD, **BACKWARD, "dA1": "B4"}
GRADS = ("dW2", "db2", "dW1", "db1")
SIGNATURES = {"forward_propagation": ("X", "parameters"), "backward_propagation": ("parameters", "cache", "X", "Y")}


def shape_guide(eq, n_x, n_h, m):
    """How the shapes of one equation fit together, with this problem's sizes."""
    h, x = n_h, n_x
    return {
        "F1": f"W1 is {(h, x)} and X is {(x, m)}, so np.dot(W1, X) is {(h, m)}; b1 {(h, 1)} is added to every column",
        "F2": f"np.tanh(Z1) keeps Z1's shape {(h, m)}",
        "F3": f"W2 is {(1, h)} and A1 is {(h, m)}, so np.dot(W2, A1) is {(1, m)}; b2 (1, 1) is added to every column",
        "F4": f"sigmoid(Z2) keeps Z2's shape {(1, m)}",
        "B1": f"A2 and Y are both {(1, m)}, and so is dZ2 = A2 - Y",
        "B2": f"dZ2 is {(1, m)} and A1.T is {(m, h)}: np.dot(dZ2, A1.T) / m is {(1, h)}, W2's shape",
        "B3": "np.sum(dZ2, axis=1, keepdims=True) / m is (1, 1), b2's shape",
        "B4": f"np.dot(W2.T, dZ2) is {(h, m)}, and ⊙ multiplies it entry by entry with (1 − A1²), also {(h, m)}: "
              "use * or np.multiply there, not np.dot",
        "B5": f"dZ1 is {(h, m)} and X.T is {(m, x)}: np.dot(dZ1, X.T) / m is {(h, x)}, W1's shape",
        "B6": f"np.sum(dZ1, axis=1, keepdims=True) / m is {(h, 1)}, b1's shape",
    }[eq]


# --- the problems -----------------------------------------------------------------------------------

def random_problem(rng):
    """Sizes that all differ (a transpose cannot fit by accident), O(1) weights, non-zero biases.

    With the course's 0.01-scale weights tanh(Z1) ≈ Z1, and a mistake such as 1 − Z1² for 1 − A1²
    changes dW1 by 6e-6 of itself (on the planar data), below the digits the course prints; here Z1 is
    of order 1, where tanh is far from linear and the same mistake changes dW1 by 1e-1 or more.
    """
    n_x, n_h = (int(n) for n in rng.choice(np.arange(2, 8), size=2, replace=False))
    m = int(rng.randint(8, 15))
    X = rng.randn(n_x, m)
    Y = np.zeros((1, m))
    Y[0, rng.choice(m, size=m // 2, replace=False)] = 1  # both classes present

    def bias(n):
        return rng.uniform(0.3, 1.0, (n, 1)) * rng.choice([-1, 1], (n, 1))

    params = {"W1": rng.randn(n_h, n_x) * 1.5 / np.sqrt(n_x), "b1": bias(n_h),
              "W2": rng.randn(1, n_h) * 1.5 / np.sqrt(n_h), "b2": bias(1)}
    return X, Y, params


def reference(params, X, Y):
    """The parameters and every quantity of the ten equations, from the project's NumPy backend."""
    backend = impls.get_backend("numpy", activation="tanh")
    return {**params, **backend.forward(params, X), **backend.intermediates(params, X, Y),
            **backend.gradients(params, X, Y)}


def _grads(r, X, dZ2=None, dZ1=None, **direct):
    """The four gradients from a (possibly wrong) dZ2 or dZ1, the other equations as the course has them."""
    m = X.shape[1]
    dZ2 = r["dZ2"] if dZ2 is None else dZ2
    dZ1 = (r["W2"].T @ dZ2) * (1 - r["A1"] ** 2) if dZ1 is None else dZ1
    grads = {"dW2": dZ2 @ r["A1"].T / m, "db2": np.sum(dZ2, axis=1, keepdims=True) / m,
             "dW1": dZ1 @ X.T / m, "db1": np.sum(dZ1, axis=1, keepdims=True) / m}
    return {**grads, **direct}


# Known mistakes: (equation, what the student wrote, why it is wrong, the hint, the arrays it changes).
# A forward mistake gives its equation's array; a backward one gives dZ2, dZ1 or one gradient.
MISTAKES = [
    ("F1", "W1 X", "b1 is missing", "Z1 = np.dot(W1, X) + b1", lambda r, X, Y: {"Z1": r["W1"] @ X}),
    ("F1", "W1 X − b1", "the bias is subtracted", "Z1 = np.dot(W1, X) + b1",
     lambda r, X, Y: {"Z1": r["W1"] @ X - r["b1"]}),
    ("F2", "sigmoid(Z1)", "the hidden layer is tanh; the sigmoid is the output's", "A1 = np.tanh(Z1)",
     lambda r, X, Y: {"A1": sigmoid(r["Z1"])}),
    ("F2", "relu(Z1)", "the hidden layer is tanh", "A1 = np.tanh(Z1)",
     lambda r, X, Y: {"A1": np.maximum(r["Z1"], 0)}),
    ("F2", "Z1", "the activation is missing", "A1 = np.tanh(Z1)", lambda r, X, Y: {"A1": r["Z1"]}),
    ("F3", "W2 Z1 + b2", "Z1 where A1 belongs: the output layer takes the hidden layer's activations",
     "Z2 = np.dot(W2, A1) + b2", lambda r, X, Y: {"Z2": r["W2"] @ r["Z1"] + r["b2"]}),
    ("F3", "W2 A1", "b2 is missing", "Z2 = np.dot(W2, A1) + b2", lambda r, X, Y: {"Z2": r["W2"] @ r["A1"]}),
    ("F4", "tanh(Z2)", "the output is a probability, σ(Z2)", "A2 = sigmoid(Z2) = 1 / (1 + np.exp(-Z2))",
     lambda r, X, Y: {"A2": np.tanh(r["Z2"])}),
    ("F4", "σ(−Z2) = 1 − σ(Z2)", "the sign in the exponent", "σ(z) = 1 / (1 + np.exp(-z))",
     lambda r, X, Y: {"A2": sigmoid(-r["Z2"])}),
    ("F4", "Z2", "the sigmoid is missing", "A2 = sigmoid(Z2) = 1 / (1 + np.exp(-Z2))",
     lambda r, X, Y: {"A2": r["Z2"]}),
    ("B1", "dZ2 = Y − A2", "the wrong sign", "dZ2 = A2 - Y, the prediction minus the label",
     lambda r, X, Y: {"dZ2": Y - r["A2"]}),
    ("B1", "dZ2 = Z2 − Y", "Z2 where A2 belongs", "dZ2 = A2 - Y uses the output A2 = σ(Z2)",
     lambda r, X, Y: {"dZ2": r["Z2"] - Y}),
    ("B1", "dZ2 = (A2 − Y)·A2(1 − A2)", "σ′ applied twice",
     "A2 − Y already is the gradient at Z2: σ′(Z2) = A2(1 − A2) cancelled against the derivative of the "
     "cross-entropy (see `python -m compare explain`); dZ2 = A2 - Y",
     lambda r, X, Y: {"dZ2": (r["A2"] - Y) * r["A2"] * (1 - r["A2"])}),
    ("B1", "dZ2 = −(Y/A2 − (1 − Y)/(1 − A2))", "that is dA2, the gradient at A2, not at Z2",
     "times σ′(Z2) = A2(1 − A2) it becomes dZ2 = A2 - Y; write that directly",
     lambda r, X, Y: {"dZ2": -(Y / r["A2"] - (1 - Y) / (1 - r["A2"]))}),
    ("B1", "dZ2 = (A2 − Y)/m", "a 1/m too many", "the course's dZ2 = A2 - Y has no 1/m; it comes in B2, B3, B5, B6",
     lambda r, X, Y: {"dZ2": r["dZ2"] / X.shape[1]}),
    ("B2", "dW2 = (1/m) dZ2 Z1ᵀ", "Z1 where A1 belongs", "W2 multiplies A1 in F3, so dW2 = np.dot(dZ2, A1.T) / m",
     lambda r, X, Y: {"dW2": r["dZ2"] @ r["Z1"].T / X.shape[1]}),
    ("B4", "g1′ = 1 − Z1²", "Z1 where A1 belongs", "tanh′(Z1) = 1 − tanh²(Z1) = 1 − A1², with A1 from the cache: "
     "dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))", lambda r, X, Y: {"dZ1": r["dA1"] * (1 - r["Z1"] ** 2)}),
    ("B4", "g1′ = 1 − A1", "the square is missing", "tanh′ = 1 − A1², (1 - np.power(A1, 2))",
     lambda r, X, Y: {"dZ1": r["dA1"] * (1 - r["A1"])}),
    ("B4", "g1′ = (1 − A1)²", "squared after the subtraction", "tanh′ = 1 − A1²: square A1, then subtract from 1",
     lambda r, X, Y: {"dZ1": r["dA1"] * (1 - r["A1"]) ** 2}),
    ("B4", "g1′ = 1 + A1²", "the sign inside g1′", "tanh′ = 1 − A1²",
     lambda r, X, Y: {"dZ1": r["dA1"] * (1 + r["A1"] ** 2)}),
    ("B4", "dZ1 = W2ᵀ dZ2", "g1′ is missing", "multiply entry by entry by tanh′: "
     "dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))", lambda r, X, Y: {"dZ1": r["dA1"]}),
    ("B4", "dZ1 = W2ᵀ dZ2 · 1 − A1²", "the parentheses around 1 − A1² are missing",
     "* binds before -: np.dot(W2.T, dZ2) * 1 - np.power(A1, 2) subtracts A1² from the product; "
     "write np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))", lambda r, X, Y: {"dZ1": r["dA1"] - r["A1"] ** 2}),
    ("B4", "g1′ = A1(1 − A1)", "that is the sigmoid's derivative", "the hidden layer is tanh, whose derivative is "
     "1 − A1²", lambda r, X, Y: {"dZ1": r["dA1"] * r["A1"] * (1 - r["A1"])}),
    ("B4", "g1′ = 1 − tanh²(A1)", "tanh applied twice", "A1 already is tanh(Z1), so tanh′(Z1) = 1 - np.power(A1, 2)",
     lambda r, X, Y: {"dZ1": r["dA1"] * (1 - np.tanh(r["A1"]) ** 2)}),
    ("B4", "g1′ = (Z1 > 0)", "that is ReLU's derivative", "the hidden layer is tanh, whose derivative is 1 − A1²",
     lambda r, X, Y: {"dZ1": r["dA1"] * (r["Z1"] > 0)}),
    ("B6", "db1 = (1/m) Σ dZ2", "dZ2 where dZ1 belongs", "db1 = np.sum(dZ1, axis=1, keepdims=True) / m",
     lambda r, X, Y: {"db1": r["db2"]}),
]


# --- what is wrong with one array -------------------------------------------------------------------

class Finding(str):
    """What is wrong with one array; `.specific` when it names a cause (a shape, a factor, a transpose)."""

    specific = True


def _unspecific(text):
    finding = Finding(text)
    finding.specific = False
    return finding


def describe_shape(name, got, want, m):
    """Why `name` has shape `got` where `want` belongs, for the usual reasons; None if no usual reason."""
    if got == want[::-1]:
        return f"{name} has shape {got}, the transpose of the right {want}: swap the order of the product " \
               "or the transposes"
    if len(want) == 2 and want[1] == 1:
        n = want[0]
        if got == (n,):
            return f"{name} has shape {got} instead of {want}: np.sum(..., axis=1) drops the summed axis unless " \
                   "keepdims=True (lost keepdims)"
        if got == ():
            return f"{name} is a single number, not an array of shape {want}: np.sum without axis=1 sums over " \
                   "everything" + (", and drops the shape even where the value is right" if n == 1 else "")
        if got == (n, m) or (n == 1 and got == (1, m)):
            return f"{name} has shape {got}: it is not summed over the examples (axis=1)"
        if got in ((1, m), (m,)):
            return f"{name} has shape {got}: it was summed over axis 0, the units, instead of axis=1, the examples"
    return None


def describe_values(name, got, want, sizes):
    """How `got` differs from `want` (same shape): a factor such as m or −1, a transpose, or by how much."""
    n_x, n_h, m = sizes
    if not np.any(got) and np.any(want):
        return Finding(f"{name} is all zeros")
    c = float(np.vdot(got, want) / np.vdot(want, want))
    if rel_error(got, c * want) <= CHECK_RTOL:
        factors = [(m, f"m = {m} times the right value: the 1/m is missing"),
                   (1 / m, "1/m times the right value: divided by m twice"),
                   (-1, "the right value with the wrong sign"),
                   (-m, f"−m = −{m} times the right value: the 1/m is missing and the sign is wrong"),
                   (m / n_x, f"m/{n_x} times the right value: m is {n_x}, the number of features; "
                             "m = X.shape[1], the number of examples"),
                   (m / n_h, f"m/{n_h} times the right value: m is {n_h}, the number of hidden units; "
                             "m = X.shape[1], the number of examples"),
                   (0.5, "half the right value"), (2, "twice the right value")]
        for factor, text in factors:
            if abs(c - factor) <= 1e-6 * abs(factor):
                return Finding(f"{name} is {text}")
        if abs(c - 1) > 1e-3:
            return Finding(f"{name} is {c:.4g} times the right value")
    error = rel_error(got, want)
    if error < 1e-4:
        return _unspecific(f"{name} differs from the right value by only {error:.1e} (relative): float32's "
                           "rounding, not a wrong formula? Compute in float64, NumPy's default")
    if want.ndim == 2 and want.shape[0] == want.shape[1] and rel_error(got, want.T) <= CHECK_RTOL:
        return Finding(f"{name} is the transpose of the right value")
    return _unspecific(f"{name} differs from the right value by {error:.1e} (relative, ‖Δ‖/(‖a‖+‖b‖))")


def _array(value):
    """`value` as a float array, or None if it is not an array of numbers."""
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _check(name, got, want, sizes):
    """None if `got` is `want` to rounding, else a Finding: what is wrong with it."""
    arr = _array(got)
    if arr is None:
        return Finding(f"{name} is not an array of numbers (a {type(got).__name__})")
    if arr.shape != want.shape:
        return Finding(describe_shape(name, arr.shape, want.shape, sizes[2])
                       or f"{name} has shape {arr.shape}, expected {want.shape}")
    if not np.all(np.isfinite(arr)):
        return Finding(f"{name} contains NaN or infinite values")
    if rel_error(arr, want) > CHECK_RTOL:
        return describe_values(name, arr, want, sizes)
    return None


def _matches(got, want):
    arr = _array(got)
    return arr is not None and arr.shape == want.shape and rel_error(arr, want) <= CHECK_RTOL


# --- the grade --------------------------------------------------------------------------------------

@dataclass
class Grade:
    """The outcome: `.ok`, or the first wrong equation with what is wrong and a hint."""

    status: dict = field(default_factory=dict)   # equation -> "ok", "WRONG" or "not checked"
    equation: str | None = None
    problem: str = ""
    hint: str = ""
    where: str = ""                                # which random problem showed it
    also: list = field(default_factory=list)       # other gradients that differ too
    largest_error: float = 0.0
    problems: list = field(default_factory=list)   # (n_x, n_h, m) of each problem tried
    reached: bool = True                           # False: the code raised before computing `equation`

    @property
    def ok(self):
        return self.equation is None

    def fail(self, eq, problem, hint=""):
        self.equation, self.problem, self.hint = eq, problem, hint
        self.status[eq] = "WRONG"
        return True


class StudentError(Exception):
    """The student's function raised: their exception in short, their line, and their locals there."""

    def __init__(self, name, function, error, path):
        self.error, self.line_number, self.line, self.locals = error, None, "", {}
        tb = error.__traceback__
        while tb is not None:
            if tb.tb_frame.f_code is getattr(function, "__code__", None):
                self.locals = dict(tb.tb_frame.f_locals)
            tb = tb.tb_next
        for frame in traceback.extract_tb(error.__traceback__):
            if path is not None and Path(frame.filename).resolve() == Path(path).resolve():
                self.line_number, self.line = frame.lineno, (frame.line or "").strip()
        super().__init__(f"{name} raised {_last_line(error)}")


def _last_line(error):
    return traceback.format_exception_only(type(error), error)[-1].strip()


@contextlib.contextmanager
def _quiet():
    """The student's prints and numpy's warnings are not the grade."""
    with np.errstate(all="ignore"), warnings.catch_warnings(), \
            contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        warnings.simplefilter("ignore")
        yield


def _call(function, name, path, *args):
    try:
        with _quiet():
            return function(*args)
    except Exception as e:  # noqa: BLE001 - whatever the student's code raises is the diagnosis
        raise StudentError(name, function, e, path) from None


def _copy(d):
    return {k: np.array(v, copy=True) if isinstance(v, np.ndarray) else v for k, v in d.items()}


def _first_wrong_array(values, r, X, Y, sizes, order):
    """(equation, problem, hint) for the first array of `order` in `values` that is wrong, or None."""
    for key, eq in order.items():
        if key not in values:
            continue
        finding = _check(key, values[key], r[key], sizes)
        if finding is None:
            continue
        for mistake_eq, formula, why, hint, changes in MISTAKES:
            if mistake_eq == eq and key in changes(r, X, Y) and _matches(values[key], changes(r, X, Y)[key]):
                return eq, f"{key} is {formula.split('= ')[-1]}: {why}", hint
        return eq, finding, shape_guide(eq, *sizes)
    return None


def _exception_hint(error, eq, sizes):
    """A hint for an exception raised on a line that computes equation `eq` (None if nothing to add)."""
    text = _last_line(error.error)
    guide = shape_guide(eq, *sizes) if eq else ""
    if isinstance(error.error, KeyError):
        return "cache holds Z1, A1, Z2, A2 (the check passes your forward_propagation's own cache back) and " \
               "parameters holds W1, b1, W2, b2"
    if isinstance(error.error, NameError):
        return "define or import that name in the file itself (the course's notebook imports sigmoid from " \
               "planar_utils, for example)"
    shapes = re.search(r"shapes \(([\d, ]*)\) and \(([\d, ]*)\) not aligned", text)
    if shapes and shapes.group(1) == shapes.group(2):
        return f"np.dot is a matrix product; ⊙ is element-wise: {guide}" if guide else \
            "np.dot of two arrays of the same shape: an element-wise product (*) belongs there"
    if shapes or "mismatch in its core dimension" in text:
        return "a matrix product whose shapes do not fit" + (f": {guide}" if guide else "; check the transposes")
    if "could not be broadcast" in text:
        return ("an element-wise product (*) where a matrix product (np.dot) belongs, or an array of the wrong "
                "shape" + (f": {guide}" if guide else ""))
    return guide or None


def _diagnose_exception(e, result, stage, r, X, Y, sizes, path):
    """The first wrong equation when the student's code raised: from their locals there, or their line."""
    order = FORWARD if stage == "forward" else BACKWARD
    found = _first_wrong_array(e.locals, r, X, Y, sizes, order)
    target = re.match(r"\s*(\w+)\s*=[^=]", e.line) if e.line else None
    line_eq = PRODUCES.get(target.group(1)) if target else None
    at = f"\n  at line {e.line_number} of {Path(path).name}: {e.line}" if e.line_number else ""
    for key, eq in order.items():  # what their locals show right is ok
        if found and eq == found[0]:
            break
        if key in e.locals:
            result.status[eq] = "ok"
    if found:
        eq, problem, hint = found
        return result.fail(eq, f"{problem}\n  and then {e}{at}", hint)
    eq = line_eq or next(eq for eq in order.values() if result.status[eq] != "ok")
    computes = f"\n  (that line computes {target.group(1)}: {eq}  {EQUATIONS[eq]})" if line_eq else ""
    result.fail(eq, f"{e}{at}{computes}", _exception_hint(e, line_eq, sizes) or "")
    if not line_eq:
        result.reached, result.status[eq] = False, "not reached"
    return True


def grade(forward, backward, *, problems=3, seed=0, path=None):
    """Grade a course-style forward_propagation and backward_propagation against the NumPy backend.

    Args:
        forward: forward_propagation(X, parameters) -> (A2, cache with Z1, A1, Z2, A2).
        backward: backward_propagation(parameters, cache, X, Y) -> dict dW1, db1, dW2, db2.
        problems: how many random problems to try; the first that shows a mistake is reported.
        seed: seed of the random problems.
        path: the student's file, to point at their line when their code raises.

    Returns:
        Grade: .ok, or .equation (the first wrong one), .problem, .hint, .where.
    """
    rng = np.random.RandomState(seed)
    result = Grade(status={eq: "not checked" for eq in EQUATIONS})
    for i in range(problems):
        X, Y, params = random_problem(rng)
        sizes = (X.shape[0], params["W1"].shape[0], X.shape[1])
        result.problems.append(sizes)
        result.where = f"problem {i + 1} of {problems}: n_x={sizes[0]}, n_h={sizes[1]}, m={sizes[2]}"
        r = reference(params, X, Y)
        stage = "forward"
        try:
            cache = _grade_forward(forward, path, X, params, r, sizes, result)
            if result.ok:
                stage = "backward"
                _grade_backward(backward, path, X, Y, params, cache, r, sizes, result)
        except StudentError as e:
            _diagnose_exception(e, result, stage, r, X, Y, sizes, path)
        if not result.ok:
            return result
    result.where = ""
    return result


def _grade_forward(forward, path, X, params, r, sizes, result):
    """The student's cache; when an equation is wrong, it is recorded in `result` instead."""
    out = _call(forward, "forward_propagation", path, X.copy(), _copy(params))
    if not isinstance(out, tuple) or len(out) != 2:
        return result.fail("F1", f"forward_propagation returned a {type(out).__name__}, not a pair (A2, cache)",
                           "end it with: return A2, cache")
    A2, cache = out
    if not isinstance(cache, dict) or any(k not in cache for k in FORWARD):
        first = next(k for k in FORWARD if not isinstance(cache, dict) or k not in cache)
        got = sorted(cache) if isinstance(cache, dict) else f"a {type(cache).__name__}"
        return result.fail(FORWARD[first], f"the cache must be a dict with keys Z1, A1, Z2, A2; got {got}",
                           'cache = {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}')
    found = _first_wrong_array(cache, r, X, None, sizes, FORWARD)
    for eq in FORWARD.values():
        if found and found[0] == eq:
            return result.fail(*found)
        result.status[eq] = "ok"
    returned = _check("the A2 it returns", A2, r["A2"], sizes)
    if returned:
        return result.fail("F4", f"forward_propagation returns an A2 other than cache[\"A2\"]: {returned}",
                           "return A2, cache")
    return cache


def _grade_backward(backward, path, X, Y, params, cache, r, sizes, result):
    grads = _call(backward, "backward_propagation", path, _copy(params), _copy(cache), X.copy(), Y.copy())
    if not isinstance(grads, dict) or any(k not in grads for k in GRADS):
        first = next(k for k in GRADS if not isinstance(grads, dict) or k not in grads)
        got = sorted(grads) if isinstance(grads, dict) else f"a {type(grads).__name__}"
        return result.fail(BACKWARD[first], f"backward_propagation must return a dict with keys dW1, db1, dW2, "
                           f"db2; got {got}", 'grads = {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}')
    wrong = {k: f for k in GRADS if (f := _check(k, grads[k], r[k], sizes))}
    if not wrong:
        result.largest_error = max([result.largest_error] + [rel_error(_array(grads[k]), r[k]) for k in GRADS])
        result.status.update({eq: "ok" for eq in BACKWARD.values()})
        return False
    for eq, formula, why, hint, changes in MISTAKES:  # one known mistake explaining all four gradients
        if eq.startswith("B") and all(_matches(grads[k], v) for k, v in _grads(r, X, **changes(r, X, Y)).items()):
            return _blame(result, eq, f"your gradients are exactly what {formula} gives: {why}", hint, wrong)
    eq, key = _upstream(wrong)
    problem, hint = wrong[key], shape_guide(eq, *sizes)
    if eq == "B1":
        problem = f"dW2, db2, dW1 and db1 are all wrong, and all four start from dZ2 ({wrong[key]})"
        hint = "dZ2 = A2 - Y"
    elif eq == "B4":
        problem = f"dW1 and db1 are both wrong while dW2 and db2 are right: they share dZ1 ({wrong[key]})"
        hint = "dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))"
    return _blame(result, eq, problem, hint, wrong)


def _upstream(wrong):
    """(equation, gradient) to blame: the shared upstream equation when no single gradient names a cause."""
    if len(wrong) == 4 and not wrong["dW2"].specific:
        return "B1", "dW2"
    for key in ("dW2", "db2"):
        if key in wrong:
            return BACKWARD[key], key
    if "dW1" in wrong and "db1" in wrong and not wrong["dW1"].specific:
        return "B4", "dW1"
    key = "dW1" if "dW1" in wrong else "db1"
    return BACKWARD[key], key


def _blame(result, eq, problem, hint, wrong):
    """Record `eq` as the first wrong equation; those before it whose gradients are right are ok."""
    feeds = {"B1": ("dW2", "db2", "dW1", "db1"), "B2": ("dW2",), "B3": ("db2",), "B4": ("dW1", "db1"),
             "B5": ("dW1",), "B6": ("db1",)}
    shows = {**feeds, "B1": ("dW2", "db2"), "B4": ("dW1",)}  # a right dW2 shows dZ2 right, a right dW1 dZ1
    order = list(feeds)
    for before in order[:order.index(eq)]:
        if not any(k in wrong for k in shows[before]):
            result.status[before] = "ok"
    result.also = [k for k in wrong if k not in feeds[eq]]
    return result.fail(eq, problem, hint)


# --- loading the student's file ---------------------------------------------------------------------

def load_functions(path):
    """forward_propagation and backward_propagation from the student's file.

    Raises:
        ValueError: the file is missing, cannot be run, or lacks a function or its course signature;
            the message is one line, with the student's exception in short.
    """
    path = Path(path)
    if not path.is_file():
        raise ValueError(f"{path}: no such file")
    spec = importlib.util.spec_from_file_location(f"student_{path.stem}", path)
    if spec is None:
        raise ValueError(f"{path}: not a Python file")
    module = importlib.util.module_from_spec(spec)
    folder = str(path.resolve().parent)
    sys.path.insert(0, folder)  # so that the student's own helper modules import
    sys.modules[spec.name] = module  # as an import would: dataclasses and pickling look the module up there
    try:
        with _quiet():
            spec.loader.exec_module(module)
    except (Exception, SystemExit) as e:  # noqa: BLE001 - a SyntaxError, an import, even exit(): it cannot load
        del sys.modules[spec.name]
        where = f" (line {e.lineno})" if isinstance(e, SyntaxError) else ""
        frames = [f for f in traceback.extract_tb(e.__traceback__) if Path(f.filename).resolve() == path.resolve()]
        if frames and not where:
            where = f" (line {frames[-1].lineno}: {(frames[-1].line or '').strip()})"
        raise ValueError(f"{path}: cannot be loaded: {_last_line(e)}{where}") from None
    finally:
        sys.path.remove(folder)
    functions = []
    for name, params in SIGNATURES.items():
        f = getattr(module, name, None)
        if not callable(f):
            defined = sorted(n for n, v in vars(module).items()
                             if inspect.isfunction(v) and v.__module__ == module.__name__)
            raise ValueError(f"{path} defines no function {name}({', '.join(params)}), the course's name "
                             f"(it defines: {', '.join(defined) or 'no functions'})")
        try:
            inspect.signature(f).bind(*params)
        except TypeError:
            raise ValueError(f"{path}: {name}{inspect.signature(f)} cannot be called as the course calls it, "
                             f"{name}({', '.join(params)})") from None
        except ValueError:
            pass  # no signature to inspect: the call will tell
        functions.append(f)
    return functions


# --- command line -----------------------------------------------------------------------------------

def format_grade(result, name):
    """The grade as the command prints it."""
    sizes = ", ".join(str(s) for s in result.problems)
    lines = [f"Grading {name}: forward_propagation and backward_propagation (tanh hidden layer, sigmoid output)",
             f"  against the project's NumPy backend on random problems (n_x, n_h, m) = {sizes}, n_y = 1,",
             "  with weights of order 1 and non-zero biases, so that tanh is far from linear and no mistake hides", ""]
    for eq, text in EQUATIONS.items():
        status = result.status[eq]
        if status == "ok" and eq in ("B1", "B4"):
            status = f"ok (seen through {'dW2, db2' if eq == 'B1' else 'dW1' + ', db1' * (result.status['B6'] == 'ok')})"
        lines.append(f"  {eq}  {text:30}{status}")
    lines.append("")
    if result.ok:
        lines.append(f"All ten equations are right on {len(result.problems)} random problems: your code computes "
                     f"what the backends compute (largest relative difference {result.largest_error:.1e}).")
        return "\n".join(lines)
    verdict = "is wrong" if result.reached else "is never reached: the code fails before it"
    lines.append(f"{result.equation} {verdict} ({result.where}): {EQUATIONS[result.equation]}")
    lines += [f"  {line}" if i == 0 else line for i, line in enumerate(result.problem.splitlines())]
    if result.hint:
        lines.append(f"Hint: {result.hint}")
    if result.also:
        lines.append(f"Also off: {', '.join(result.also)}; fix {result.equation} first, they may follow.")
    return "\n".join(lines)


def register(subparsers):
    from compare.cli import positive_int

    p = subparsers.add_parser("check", help="grade your own forward_propagation and backward_propagation "
                              "(the course's names, tanh hidden layer) equation by equation")
    p.add_argument("file", type=Path, metavar="FILE.py",
                   help="a Python file defining forward_propagation(X, parameters) -> (A2, cache) and "
                        "backward_propagation(parameters, cache, X, Y) -> grads")
    p.add_argument("--problems", type=positive_int, default=3, metavar="N",
                   help="random problems to try (default: 3)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random problems (default: 0)")
    p.set_defaults(func=cmd_check)


def cmd_check(args):
    forward, backward = load_functions(args.file)
    result = grade(forward, backward, problems=args.problems, seed=args.seed, path=args.file)
    print(format_grade(result, args.file.name))
    return 0 if result.ok else 1
