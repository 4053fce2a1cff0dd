"""The catalogue of known mistakes and how `check` words what is wrong: the mistakes each equation's students
make (with why and the fix), what a wrong array's shape or values say about its cause, how the shapes of each
equation fit, and hints for the exceptions students' code raises. grading.py decides; this module words."""
import re

import numpy as np

from compare.numerics import rel_error
from compare.tolerances import CHECK_RTOL
from impls.backends.numpy import sigmoid


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


# Each equation as the course's solution writes it: the hint where a value is missing altogether (None).
LINES = {"F1": "Z1 = np.dot(W1, X) + b1", "F2": "A1 = np.tanh(Z1)", "F3": "Z2 = np.dot(W2, A1) + b2",
         "F4": "A2 = sigmoid(Z2)", "B1": "dZ2 = A2 - Y", "B2": "dW2 = (1 / m) * np.dot(dZ2, A1.T)",
         "B3": "db2 = (1 / m) * np.sum(dZ2, axis=1, keepdims=True)",
         "B4": "dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))", "B5": "dW1 = (1 / m) * np.dot(dZ1, X.T)",
         "B6": "db1 = (1 / m) * np.sum(dZ1, axis=1, keepdims=True)"}

# Known mistakes: (equation, what the student wrote, why it is wrong, the hint, the arrays it changes).
# A forward mistake gives its equation's array; a backward one gives dZ2, dZ1 or one gradient.
MISTAKES = [
    ("F1", "W1 X", "b1 is missing", "Z1 = np.dot(W1, X) + b1", lambda ref, X, Y: {"Z1": ref["W1"] @ X}),
    ("F1", "W1 X − b1", "the bias is subtracted", "Z1 = np.dot(W1, X) + b1",
     lambda ref, X, Y: {"Z1": ref["W1"] @ X - ref["b1"]}),
    ("F2", "sigmoid(Z1)", "the hidden layer is tanh; the sigmoid is the output's", "A1 = np.tanh(Z1)",
     lambda ref, X, Y: {"A1": sigmoid(ref["Z1"])}),
    ("F2", "relu(Z1)", "the hidden layer is tanh", "A1 = np.tanh(Z1)",
     lambda ref, X, Y: {"A1": np.maximum(ref["Z1"], 0)}),
    ("F2", "Z1", "the activation is missing", "A1 = np.tanh(Z1)", lambda ref, X, Y: {"A1": ref["Z1"]}),
    ("F3", "W2 Z1 + b2", "Z1 where A1 belongs: the output layer takes the hidden layer's activations",
     "Z2 = np.dot(W2, A1) + b2", lambda ref, X, Y: {"Z2": ref["W2"] @ ref["Z1"] + ref["b2"]}),
    ("F3", "W2 A1", "b2 is missing", "Z2 = np.dot(W2, A1) + b2", lambda ref, X, Y: {"Z2": ref["W2"] @ ref["A1"]}),
    ("F4", "tanh(Z2)", "the output is a probability, σ(Z2)", "A2 = sigmoid(Z2) = 1 / (1 + np.exp(-Z2))",
     lambda ref, X, Y: {"A2": np.tanh(ref["Z2"])}),
    ("F4", "σ(−Z2) = 1 − σ(Z2)", "the sign in the exponent", "σ(z) = 1 / (1 + np.exp(-z))",
     lambda ref, X, Y: {"A2": sigmoid(-ref["Z2"])}),
    ("F4", "Z2", "the sigmoid is missing", "A2 = sigmoid(Z2) = 1 / (1 + np.exp(-Z2))",
     lambda ref, X, Y: {"A2": ref["Z2"]}),
    ("B1", "dZ2 = Y − A2", "the wrong sign", "dZ2 = A2 - Y, the prediction minus the label",
     lambda ref, X, Y: {"dZ2": Y - ref["A2"]}),
    ("B1", "dZ2 = Z2 − Y", "Z2 where A2 belongs", "dZ2 = A2 - Y uses the output A2 = σ(Z2)",
     lambda ref, X, Y: {"dZ2": ref["Z2"] - Y}),
    ("B1", "dZ2 = (A2 − Y)·A2(1 − A2)", "σ′ applied twice",
     "A2 − Y already is the gradient at Z2: σ′(Z2) = A2(1 − A2) cancelled against the derivative of the "
     "cross-entropy (see `python -m compare explain`); dZ2 = A2 - Y",
     lambda ref, X, Y: {"dZ2": (ref["A2"] - Y) * ref["A2"] * (1 - ref["A2"])}),
    ("B1", "dZ2 = −(Y/A2 − (1 − Y)/(1 − A2))", "that is dA2, the gradient at A2, not at Z2",
     "times σ′(Z2) = A2(1 − A2) it becomes dZ2 = A2 - Y; write that directly",
     lambda ref, X, Y: {"dZ2": -(Y / ref["A2"] - (1 - Y) / (1 - ref["A2"]))}),
    ("B1", "dZ2 = (A2 − Y)/m", "a 1/m too many", "the course's dZ2 = A2 - Y has no 1/m; it comes in B2, B3, B5, B6",
     lambda ref, X, Y: {"dZ2": ref["dZ2"] / X.shape[1]}),
    ("B2", "dW2 = (1/m) dZ2 Z1ᵀ", "Z1 where A1 belongs", "W2 multiplies A1 in F3, so dW2 = np.dot(dZ2, A1.T) / m",
     lambda ref, X, Y: {"dW2": ref["dZ2"] @ ref["Z1"].T / X.shape[1]}),
    ("B4", "g1′ = 1 − Z1²", "Z1 where A1 belongs", "tanh′(Z1) = 1 − tanh²(Z1) = 1 − A1², with A1 from the cache: "
     "dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))",
     lambda ref, X, Y: {"dZ1": ref["dA1"] * (1 - ref["Z1"] ** 2)}),
    ("B4", "g1′ = 1 − A1", "the square is missing", "tanh′ = 1 − A1², (1 - np.power(A1, 2))",
     lambda ref, X, Y: {"dZ1": ref["dA1"] * (1 - ref["A1"])}),
    ("B4", "g1′ = (1 − A1)²", "squared after the subtraction", "tanh′ = 1 − A1²: square A1, then subtract from 1",
     lambda ref, X, Y: {"dZ1": ref["dA1"] * (1 - ref["A1"]) ** 2}),
    ("B4", "g1′ = 1 + A1²", "the sign inside g1′", "tanh′ = 1 − A1²",
     lambda ref, X, Y: {"dZ1": ref["dA1"] * (1 + ref["A1"] ** 2)}),
    ("B4", "dZ1 = W2ᵀ dZ2", "g1′ is missing", "multiply entry by entry by tanh′: "
     "dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))", lambda ref, X, Y: {"dZ1": ref["dA1"]}),
    ("B4", "dZ1 = W2ᵀ dZ2 · 1 − A1²", "the parentheses around 1 − A1² are missing",
     "* binds before -: np.dot(W2.T, dZ2) * 1 - np.power(A1, 2) subtracts A1² from the product; "
     "write np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))",
     lambda ref, X, Y: {"dZ1": ref["dA1"] - ref["A1"] ** 2}),
    ("B4", "g1′ = A1(1 − A1)", "that is the sigmoid's derivative", "the hidden layer is tanh, whose derivative is "
     "1 − A1²", lambda ref, X, Y: {"dZ1": ref["dA1"] * ref["A1"] * (1 - ref["A1"])}),
    ("B4", "g1′ = 1 − tanh²(A1)", "tanh applied twice", "A1 already is tanh(Z1), so tanh′(Z1) = 1 - np.power(A1, 2)",
     lambda ref, X, Y: {"dZ1": ref["dA1"] * (1 - np.tanh(ref["A1"]) ** 2)}),
    ("B4", "g1′ = (Z1 > 0)", "that is ReLU's derivative", "the hidden layer is tanh, whose derivative is 1 − A1²",
     lambda ref, X, Y: {"dZ1": ref["dA1"] * (ref["Z1"] > 0)}),
    ("B6", "db1 = (1/m) Σ dZ2", "dZ2 where dZ1 belongs", "db1 = np.sum(dZ1, axis=1, keepdims=True) / m",
     lambda ref, X, Y: {"db1": ref["db2"]}),
]



# --- what is wrong with one array ---------------------------------------------------

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
    if not np.any(want):
        return _unspecific(f"{name} should be all zeros here, and is not")
    if not np.any(got):
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


def exception_hint(record, eq, sizes):
    """A hint for an exception raised on a line that computes equation `eq` (None if nothing to add)."""
    text, kind = record["message"], record["type"]
    guide = shape_guide(eq, *sizes) if eq else ""
    if eq == "B4" and re.search(r"\bW1\b", record.get("line", "")):
        return "W1 in place of W2: dZ2 goes back through W2, the weights that made Z2 in F3: " \
               "dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))"
    if kind == "KeyError":
        return "cache holds Z1, A1, Z2, A2 and parameters holds W1, b1, W2, b2"
    if kind in ("ModuleNotFoundError", "ImportError") and "this project's own implementation" in text:
        return PROJECT_IMPORT
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

PROJECT_IMPORT = "check grades the equations you wrote: a graded file cannot call this project's own " \
                 "implementation (impls, compare), write the computation itself"


def replaced_text(record):
    """What a call that replaced NumPy's own functions did (the child put them back before the next call)."""
    names = [n for n in record.get("replaced", ()) if isinstance(n, str)]
    shown = ", ".join(re.sub(r"[^\w.]", "?", n)[:60] for n in names[:3]) + (f" and {len(names) - 3} more"
                                                                            if len(names) > 3 else "")
    return f"replaces {shown} while it runs: every later use of NumPy, in any function, would compute with it; " \
           "leave NumPy's functions as they are (write a helper of your own under another name)"
