"""The ten equations graded one by one from what the student's functions returned, against values
computed here, in the grader's process: the problems, the reference, the known mistakes, the diagnosis."""
import re
from dataclasses import dataclass, field

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
              "use * or np.multiply for ⊙",
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


class Opaque:
    """A returned object the child could not turn into numbers: a torch tensor that requires grad, or an
    object whose __array__ or __getitem__ raised."""

    def __init__(self, desc):
        self.kind, self.type, self.error = desc["kind"], desc.get("type", "object"), desc.get("error", "")


class Returned(dict):
    """A dict the student returned, with `.aliases`: pairs of keys whose arrays are the same memory."""

    aliases = ()


def decode(desc, arrays):
    """The Python value an encoded description stands for (see sandbox.Encoder)."""
    kind = desc["kind"]
    if kind == "none":
        return None
    if kind == "number":
        value = arrays[desc["array"]][()]
        return bool(value) if "bool" in desc["type"] else int(value) if "int" in desc["type"] and \
            np.isfinite(value) else float(value)
    if kind == "array":
        return arrays[desc["array"]]
    if kind == "dict":
        d = Returned(zip(desc["keys"], (decode(v, arrays) for v in desc["items"])))
        d.aliases = [tuple(a) for a in desc["aliases"]]
        return d
    if kind in ("tuple", "list"):
        items = [decode(v, arrays) for v in desc["items"]]
        return tuple(items) if kind == "tuple" else items
    return Opaque(desc)


def _array(value):
    """`value` as a float array, or None if it is not an array of numbers."""
    if value is None or isinstance(value, Opaque):
        return None
    try:
        return np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        return None


def _not_numbers(name, got):
    """What to say when `got` is not an array of numbers."""
    if got is None:
        return Finding(f"{name} is None: the template's `None` is still there; compute {name} in its place")
    if isinstance(got, Opaque) and got.kind == "tensor_grad":
        return Finding(f"{name} is a torch tensor that requires grad: call .detach().numpy() on it "
                       "(the course's functions return NumPy arrays)")
    if isinstance(got, Opaque):
        return Finding(f"{name} is a {got.type} that cannot be read as an array of numbers"
                       + (f" ({got.error})" if got.error else ""))
    return Finding(f"{name} is not an array of numbers (a {type(got).__name__})")


def _check(name, got, want, sizes):
    """None if `got` is `want` to rounding, else a Finding: what is wrong with it."""
    arr = _array(got)
    if arr is None:
        return _not_numbers(name, got)
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
    """The outcome: `.ok`, or every wrong equation (`.wrong`, in order), the first with its hint."""

    status: dict = field(default_factory=dict)     # equation -> "ok", "WRONG", "not checked" or "not reached"
    wrong: list = field(default_factory=list)      # dicts: name (equation or what), problem, hint, reached
    where: str = ""                                # which random problem showed it
    also: list = field(default_factory=list)       # other gradients that differ too
    largest_error: float = 0.0
    problems: list = field(default_factory=list)   # (n_x, n_h, m) of each problem tried
    functions: dict = field(default_factory=dict)  # the assignment's other functions: name -> verdict
    output: str = ""                               # what the student's code printed (not part of the grade)

    @property
    def ok(self):
        return not self.wrong and not any(v.startswith("WRONG") for v in self.functions.values())

    @property
    def equation(self):
        return self.wrong[0]["name"] if self.wrong else None

    @property
    def problem(self):
        return self.wrong[0]["problem"] if self.wrong else ""

    @property
    def hint(self):
        return self.wrong[0]["hint"] if self.wrong else ""

    @property
    def reached(self):
        return self.wrong[0].get("reached", True) if self.wrong else True

    def fail(self, name, problem, hint="", reached=True):
        if name in EQUATIONS:
            self.status[name] = "WRONG" if reached else "not reached"
        if not any(w["name"] == name for w in self.wrong):
            self.wrong.append({"name": name, "problem": str(problem), "hint": hint or "", "reached": reached})
        return True

    def to_dict(self):
        return {"ok": self.ok, "equations": self.status, "wrong": self.wrong, "where": self.where,
                "problems": [list(p) for p in self.problems], "functions": self.functions,
                "largest_error": self.largest_error}


# --- the job sent to the student's code -------------------------------------------------------------

def build_job(problems, seed):
    """(calls, inputs, references): per problem forward_propagation, then backward_propagation twice: on
    the student's own cache and on the correct one (with any extra keys of theirs), so that each is graded
    on its own."""
    rng = np.random.RandomState(seed)
    calls, inputs, refs = [], {}, []
    for i in range(problems):
        X, Y, params = random_problem(rng)
        r = reference(params, X, Y)
        refs.append((X, Y, params, r))
        for k in ("X", "Y", "W1", "b1", "W2", "b2", "Z1", "A1", "Z2", "A2"):
            inputs[f"p{i}.{k}"] = r[k] if k in r else {"X": X, "Y": Y}[k]
        a = {k: {"array": f"p{i}.{k}"} for k in ("X", "Y")}
        P = {"dict": {k: {"array": f"p{i}.{k}"} for k in ("W1", "b1", "W2", "b2")}}
        cache = {"dict": {k: {"array": f"p{i}.{k}"} for k in FORWARD}, "extra_from": f"p{i}.forward"}
        calls += [{"id": f"p{i}.forward", "function": "forward_propagation", "args": [[a["X"], P]]},
                  {"id": f"p{i}.backward", "function": "backward_propagation", "locals": True,
                   "args": [[P, cache, a["X"], a["Y"]]]},
                  {"id": f"p{i}.backward_own", "function": "backward_propagation",
                   "args": [[P, {"from": f"p{i}.forward", "item": 1}, a["X"], a["Y"]]]}]
    return calls, inputs, refs


# --- grading what came back -------------------------------------------------------------------------

CALLS = {"forward": "forward_propagation", "backward": "backward_propagation",
         "backward_own": "backward_propagation"}


def grade_records(records, arrays, refs, result):
    """Grade forward and backward per problem; stop at the first problem that shows a mistake."""
    for i, (X, Y, params, r) in enumerate(refs):
        sizes = (X.shape[0], params["W1"].shape[0], X.shape[1])
        result.problems.append(sizes)
        result.where = f"problem {i + 1} of {len(refs)}: n_x={sizes[0]}, n_h={sizes[1]}, m={sizes[2]}"
        _grade_forward(records[f"p{i}.forward"], arrays, r, X, sizes, result)
        _grade_backward(records[f"p{i}.backward"], records[f"p{i}.backward_own"], arrays, r, X, Y, sizes, result)
        if result.wrong:
            return result
    result.where = ""
    return result


def _grade_forward(record, arrays, r, X, sizes, result):
    if record["status"] != "ok":
        return _diagnose_exception(record, arrays, result, "forward", r, X, None, sizes)
    out = decode(record["value"], arrays)
    if not isinstance(out, (tuple, list)) or len(out) != 2:
        return result.fail("F1", f"forward_propagation returned {_a(out)}, not a pair (A2, cache)",
                           "end it with: return A2, cache")
    A2, cache = out
    if isinstance(cache, (tuple, list)) and len(cache) == 4:
        result.fail("cache", f"forward_propagation's cache is a {type(cache).__name__}; backward_propagation "
                    "reads it by name, as cache[\"A1\"], so the course's cache is a dict with keys Z1, A1, Z2, A2",
                    'cache = {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}')
        cache = Returned(zip(FORWARD, cache))  # still grade the equations, in the course's order
    if not isinstance(cache, dict) or any(k not in cache for k in FORWARD):
        first = next(k for k in FORWARD if not isinstance(cache, dict) or k not in cache)
        got = sorted(cache) if isinstance(cache, dict) else _a(cache)
        return result.fail(FORWARD[first], f"the cache must be a dict with keys Z1, A1, Z2, A2; got {got}",
                           'cache = {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}')
    if ("Z1", "A1") in getattr(cache, "aliases", ()) and not _matches(cache["Z1"], r["Z1"]):
        result.status["F1"] = "not checked"
        result.fail("F2", "A1 is not tanh(Z1), and the cache's Z1 is the same array as A1: the activation "
                    "changed Z1 in place (x[x <= 0] = 0 writes into the array it is given), so Z1 is lost",
                    "A1 = np.tanh(Z1) makes a new array; an activation of your own must not change its "
                    "argument (work on x = x.copy())")
        start = 2
    else:
        start = 0
    local = dict(r)  # each equation is checked on the student's own input to it
    if start and _array(cache["A1"]) is not None and _array(cache["A1"]).shape == r["A1"].shape:
        local["A1"] = _array(cache["A1"])
    for key, eq in list(FORWARD.items())[start:]:
        want = {"Z1": r["W1"] @ X + r["b1"], "A1": np.tanh(local["Z1"]),
                "Z2": r["W2"] @ local["A1"] + r["b2"], "A2": sigmoid(local["Z2"])}[key]
        finding = _check(key, cache[key], want, sizes)
        got = _array(cache[key])
        if got is not None and got.shape == want.shape and np.all(np.isfinite(got)):
            local[key] = got  # the next equation is graded on it, right or wrong
        if finding is None:
            result.status[eq] = "ok"
            continue
        mistake = _known(eq, key, cache[key], local, X, None)
        result.fail(eq, *(mistake or (finding, shape_guide(eq, *sizes))))
    if _array(cache["A2"]) is not None and _array(cache["A2"]).shape == r["A2"].shape:
        returned = _check("the A2 it returns", A2, _array(cache["A2"]), sizes)
        if returned:
            result.fail("F4", f"forward_propagation returns an A2 other than cache[\"A2\"]: {returned}",
                        "return A2, cache")


def _a(value):
    return "None" if value is None else f"a {value.type if isinstance(value, Opaque) else type(value).__name__}"


def _known(eq, key, got, r, X, Y):
    """(problem, hint) of the known mistake of equation `eq` that gives `got` for `key`, or None."""
    for mistake_eq, formula, why, hint, changes in MISTAKES:
        if mistake_eq == eq:
            changed = changes(r, X, Y)
            if key in changed and _matches(got, changed[key]):
                return f"{key} is {formula.split('= ')[-1]}: {why}", hint
    return None


def _local(values, name, shape):
    """The student's own array called `name` (any case) of the right shape, or None."""
    for k, v in values.items():
        if k.lower() == name.lower() and isinstance(v, np.ndarray) and v.shape == shape:
            return v.astype(np.float64)
    return None


def _grade_backward(record, own, arrays, r, X, Y, sizes, result):
    for rec in (record, own):
        if rec["status"] == "ok" and rec["changed"]:
            keys = ", ".join(f'parameters["{k}"]' for k in rec["changed"])
            result.fail("parameters", f"backward_propagation changes {keys} in place: the caller's weights "
                        "are no longer the ones the gradients belong to",
                        "backward_propagation only computes gradients; the weights change in update_parameters")
            break
    if record["status"] != "ok":
        return _diagnose_exception(record, arrays, result, "backward", r, X, Y, sizes)
    grads = decode(record["value"], arrays)
    if not isinstance(grads, dict) or any(k not in grads for k in GRADS):
        first = next(k for k in GRADS if not isinstance(grads, dict) or k not in grads)
        got = sorted(grads) if isinstance(grads, dict) else _a(grads)
        return result.fail(BACKWARD[first], f"backward_propagation must return a dict with keys dW1, db1, dW2, "
                           f"db2; got {got}", 'grads = {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2}')
    wrong = {k: f for k in GRADS if (f := _check(k, grads[k], r[k], sizes))}
    if not wrong:
        result.largest_error = max([result.largest_error] + [rel_error(_array(grads[k]), r[k]) for k in GRADS])
        result.status.update({eq: "ok" for eq in BACKWARD.values()})
        return
    for eq, formula, why, hint, changes in MISTAKES:  # one known mistake explaining all four gradients
        if eq.startswith("B") and all(_matches(grads[k], v) for k, v in _grads(r, X, **changes(r, X, Y)).items()):
            return _blame(result, {eq: (f"your gradients are exactly what {formula} gives: {why}", hint)}, wrong)
    _grade_each(grads, {k: arrays[v] for k, v in record.get("locals", {}).items()}, r, X, Y, sizes, result, wrong)


def _grade_each(grads, local_vars, r, X, Y, sizes, result, wrong):
    """B1 … B6 each on its own: each gradient against the student's own dZ2 and dZ1 where they named them."""
    m = X.shape[1]
    dZ2, dZ1 = _local(local_vars, "dZ2", r["dZ2"].shape), _local(local_vars, "dZ1", r["dZ1"].shape)
    found = {}
    if dZ2 is not None and (f := _check("dZ2", dZ2, r["dZ2"], sizes)):
        found["B1"] = _known("B1", "dZ2", dZ2, r, X, Y) or (f, "dZ2 = A2 - Y")
    dZ2_u = r["dZ2"] if dZ2 is None else dZ2
    dA1 = r["W2"].T @ dZ2_u
    dZ1_want = dA1 * (1 - r["A1"] ** 2)
    local = {**r, "dZ2": dZ2_u, "dA1": dA1}
    if dZ1 is not None and (f := _check("dZ1", dZ1, dZ1_want, sizes)):
        found["B4"] = _known("B4", "dZ1", dZ1, local, X, Y) or (f, shape_guide("B4", *sizes))
    dZ1_u = dZ1_want if dZ1 is None else dZ1
    want = {"dW2": dZ2_u @ r["A1"].T / m, "db2": np.sum(dZ2_u, axis=1, keepdims=True) / m,
            "dW1": dZ1_u @ X.T / m, "db1": np.sum(dZ1_u, axis=1, keepdims=True) / m}
    local["dZ1"] = dZ1_u
    each = {k: f for k in GRADS if (f := _check(k, grads[k], want[k], sizes))}
    if dZ2 is None and {"dW2", "db2"} <= set(each) and not each["dW2"].specific:
        found["B1"] = (f"dW2, db2, dW1 and db1 are all wrong, and all four start from dZ2 ({each['dW2']})"
                       if len(each) == 4 else each["dW2"], "dZ2 = A2 - Y")
        each = {k: f for k, f in each.items() if k not in ("dW2", "db2", "dW1", "db1")}
    if dZ1 is None and {"dW1", "db1"} <= set(each) and not each["dW1"].specific:
        found["B4"] = (f"dW1 and db1 are both wrong while dW2 and db2 are right: they share dZ1 ({each['dW1']})",
                       "dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))")
        each = {k: f for k, f in each.items() if k not in ("dW1", "db1")}
    for key, f in each.items():
        eq = BACKWARD[key]
        found[eq] = _known(eq, key, grads[key], local, X, Y) or (f, shape_guide(eq, *sizes))
    _blame(result, dict(sorted(found.items())), wrong)


def _blame(result, found, wrong):
    """Record the wrong equations in `found` ({eq: (problem, hint)}); the others of B1 … B6 are ok."""
    for eq in BACKWARD.values():
        if eq not in found and result.status.get(eq) != "WRONG":
            result.status[eq] = "ok"
    for eq, (problem, hint) in found.items():
        result.fail(eq, problem, hint)
    feeds = {"B1": GRADS, "B2": ("dW2",), "B3": ("db2",), "B4": ("dW1", "db1"), "B5": ("dW1",), "B6": ("db1",)}
    explained = {k for eq in found for k in feeds[eq]}
    result.also += [k for k in wrong if k not in explained and k not in result.also]


def _exception_hint(record, eq, sizes):
    """A hint for an exception raised on a line that computes equation `eq` (None if nothing to add)."""
    text, kind = record["message"], record["type"]
    guide = shape_guide(eq, *sizes) if eq else ""
    if eq == "B4" and re.search(r"\bW1\b", record.get("line", "")):
        return "W1 in place of W2: dZ2 goes back through W2, the weights that made Z2 in F3: " \
               "dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))"
    if kind == "KeyError":
        return "cache holds Z1, A1, Z2, A2 and parameters holds W1, b1, W2, b2"
    if kind == "NameError":
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


# what the student's code did instead of returning, said plainly
EXITS = {"SystemExit": "sys.exit(), exit() or quit() ends the program: a function gives its result with return",
         "KeyboardInterrupt": "KeyboardInterrupt is Ctrl-C's exception; raised by the code itself, it is no result",
         "EOFError": "input() waits for the keyboard, and check gives your code none: remove input()",
         "MemoryError": "more memory than check allows: arrays of these sizes need a few kB"}


def _diagnose_exception(record, arrays, result, stage, r, X, Y, sizes):
    """The wrong equation when the student's code raised: from their locals there, or their line."""
    function = CALLS[stage]
    order = FORWARD if stage == "forward" else BACKWARD
    local_vars = {k: arrays[v] for k, v in record.get("locals", {}).items()}
    line = record.get("line", "")
    at = f"\n  at line {record['line_number']} of {record['file']}: {line}" if record.get("line_number") else ""
    raised = f"{function} raised {record['message']}"
    kind = next((k for k in record.get("kinds", [record["type"]]) if k in EXITS), None)
    note = f"\n  ({EXITS[kind]})" if kind else ""
    if stage == "backward" and record["type"] in ("KeyError", "IndexError", "TypeError") and \
            re.search(r"\b(cache|parameters)\s*\[", line):
        which = "cache" if re.search(r"\bcache\s*\[", line) else "parameters"
        keys = "Z1, A1, Z2, A2" if which == "cache" else "W1, b1, W2, b2"
        for eq in order.values():
            result.status[eq] = "not reached"
        return result.fail(which, f"{raised}{at}\n  (that line reads {which}: the course's {which} is a dict with "
                           f"keys {keys}" + (f"; {record['key']} is not one of them)" if "key" in record else ")"),
                           f'read it by the course\'s names, as {which}["{"A1" if which == "cache" else "W2"}"]',
                           reached=False)
    for key, eq in order.items():  # what their locals show right is ok; the first wrong one is blamed
        if key in local_vars:
            f = _check(key, local_vars[key], r[key], sizes)
            if f is None:
                result.status[eq] = "ok"
                continue
            return result.fail(eq, f"{_known(eq, key, local_vars[key], r, X, Y) or f}\n  and then {raised}{at}",
                               shape_guide(eq, *sizes))
    target = re.match(r"\s*(\w+)\s*=[^=]", line) if line else None
    line_eq = PRODUCES.get(target.group(1)) if target else None
    if line_eq not in order.values():
        line_eq = None
    eq = line_eq or next(eq for eq in order.values() if result.status[eq] != "ok")
    computes = f"\n  (that line computes {target.group(1)}: {eq}  {EQUATIONS[eq]})" if line_eq else ""
    hint = _exception_hint(record, line_eq, sizes) or ""
    return result.fail(eq, f"{raised}{at}{computes}{note}", hint, reached=bool(line_eq))


def process_failure(outcome, calls, timeout):
    """What ended the child instead of an answer, in words."""
    kind, value = outcome.failure
    running = outcome.running
    doing = "while loading the file" if running == "load" else \
        f"in {next(c['function'] for c in calls if c['id'] == running)}" if any(
            c["id"] == running for c in calls) else "before answering"
    if kind == "timeout":
        return f"did not finish within {value:g} s {doing} (an endless loop such as while True, or waiting for " \
               "something); stopped"
    if kind == "exit" and value == 0:
        return f"ended the grading process {doing} with exit status 0 and no answer (os._exit() or similar): " \
               "a function gives its result with return"
    if kind == "exit" and value < 0:
        import signal
        name = signal.Signals(-value).name if -value in signal.Signals._value2member_map_ else str(-value)
        extra = " (out of memory?)" if name == "SIGKILL" else " (a crash in compiled code)" if name == "SIGSEGV" else ""
        return f"the process was killed by {name} {doing}{extra}"
    if kind == "exit":
        return f"the process exited with status {value} {doing}, without an answer"
    return f"the process's answer could not be read ({value})"
