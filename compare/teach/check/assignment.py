"""The course's other functions, graded where the file defines them: layer_sizes, initialize_parameters,
compute_cost, update_parameters, nn_model, predict, each as the course version the file follows asks for
(v5/v6: initialize_parameters seeds itself and compute_cost takes parameters; 2021+: the caller seeds and
compute_cost(A2, Y)). Every expected value is computed here, in the grader."""
import math

import numpy as np

import impls
from compare.cli import one_line
from compare.codec import Opaque, decode
from compare.numerics import rel_error
from compare.tolerances import CHECK_RTOL

from .grading import _array, _not_numbers, kind_of, raised_text
from .mistakes import replaced_text
from .problems import distinct_sizes_problem, reference

FUNCTIONS = ("layer_sizes", "initialize_parameters", "compute_cost", "update_parameters", "nn_model", "predict")
COURSE_SEED = 2        # the course's initialize_parameters runs after np.random.seed(2): inside it (v5/v6) or before
NN_SEED = 3            # nn_model's own np.random.seed(3), which a 2021+ initialize_parameters draws from
OTHER_SEED = 7         # seeded before a second call: a function that seeds itself gives the same weights
HIDDEN = 4             # layer_sizes hard-codes n_h = 4 in the course
LEARNING_RATE = 1.2    # update_parameters' default in the course
ITERATIONS = 20        # nn_model's steps here: enough to show a wrong update, cheap
# what the composite functions call: their failure is blamed on a part that failed first
PARTS = {"nn_model": ("layer_sizes", "initialize_parameters", "forward_propagation", "compute_cost",
                      "backward_propagation", "update_parameters"), "predict": ("forward_propagation",)}
EQUATIONS_OF = {"forward_propagation": ("F1", "F2", "F3", "F4"),
                "backward_propagation": ("B1", "B2", "B3", "B4", "B5", "B6")}
GRADIENT_OF = {"W1": ("dW1", "B5"), "b1": ("db1", "B6"), "W2": ("dW2", "B2"), "b2": ("db2", "B3")}


def build(seed):
    """(calls, inputs, expected): one call per function (two where the course versions differ), on a problem
    of its own."""
    X, Y, params = distinct_sizes_problem(np.random.RandomState((seed + 1000) % 2**32))
    ref = reference(params, X, Y)
    n_x, m = X.shape
    inputs = {"a.X": X, "a.Y": Y, **{f"a.{k}": params[k] for k in params},
              **{f"a.d{k}": ref[f"d{k}"] for k in params}, "a.A2": ref["A2"]}
    A = {k: {"array": f"a.{k}"} for k in ("X", "Y", "A2")}
    P = {"dict": {k: {"array": f"a.{k}"} for k in params}}
    G = {"dict": {f"d{k}": {"array": f"a.d{k}"} for k in params}}
    backend = impls.get_backend("numpy", activation="tanh")
    starts = [impls.init_params(n_x, HIDDEN, 1, seed=s) for s in (COURSE_SEED, NN_SEED)]
    trained = [backend.train(s, X, Y, learning_rate=LEARNING_RATE, iterations=ITERATIONS).params for s in starts]
    cost = float(-np.mean(Y * np.log(ref["A2"]) + (1 - Y) * np.log(1 - ref["A2"])))
    sizes = [{"value": n_x}, {"value": 5}, {"value": 1}]
    calls = [
        {"id": "layer_sizes", "function": "layer_sizes", "args": [[A["X"], A["Y"]]]},
        {"id": "initialize_parameters", "function": "initialize_parameters", "seed": COURSE_SEED, "args": [sizes]},
        {"id": "initialize_parameters.seed", "function": "initialize_parameters", "seed": OTHER_SEED,
         "args": [sizes]},
        {"id": "compute_cost", "function": "compute_cost", "args": [[A["A2"], A["Y"]], [A["A2"], A["Y"], P]]},
        {"id": "update_parameters", "function": "update_parameters", "after": True, "args": [[P, G]]},
        {"id": "update_parameters.lr", "function": "update_parameters", "args": [[P, G, {"value": 0.5}]]},
        {"id": "nn_model", "function": "nn_model",
         "args": [[A["X"], A["Y"], {"value": HIDDEN}, {"value": ITERATIONS}, {"value": False}],
                  [A["X"], A["Y"], {"value": HIDDEN}, {"value": ITERATIONS}]]},
        {"id": "predict", "function": "predict", "args": [[P, A["X"]]]},
    ]
    rand = np.random.RandomState(COURSE_SEED)
    expected = {"layer_sizes": (n_x, HIDDEN, 1),
                "initialize_parameters": impls.init_params(n_x, 5, 1, seed=COURSE_SEED),
                "other_seed": impls.init_params(n_x, 5, 1, seed=OTHER_SEED),
                "uniform": {"W1": rand.rand(5, n_x) * 0.01, "W2": rand.rand(1, 5) * 0.01},
                "compute_cost": cost, "nn_model": trained, "predict": (ref["A2"] > 0.5).astype(float),
                "update_parameters": {k: params[k] - LEARNING_RATE * ref[f"d{k}"] for k in params},
                "update_parameters.lr": {k: params[k] - 0.5 * ref[f"d{k}"] for k in params},
                "sizes": f"n_x={n_x}, n_h={HIDDEN}, m={m}"}
    return calls, inputs, expected


def grade(records, arrays, expected, result, signatures=None, program=None):
    """Fill result.functions, {name: "ok", "WRONG: why", "not graded (not defined)"}, result.notes and
    result.version; `signatures`: {function: its signature as text}, from the child's load record."""
    version, why = _version(signatures or {}, program)
    result.version = f"{version} ({why})" if version else ""
    for name in FUNCTIONS:
        record = records.get(name, {"status": "absent"})
        if record["status"] == "absent":
            result.functions[name] = "not graded (not defined)"
            continue
        if record["status"] == "signature":
            result.functions[name] = f"WRONG: {name}{one_line(record['signature'])} cannot be called as the " \
                                     "course calls it"
            continue
        if record.get("replaced"):
            problem = replaced_text(record)
        elif record["status"] != "ok":
            inner = record.get("function")
            at = raised_text(record, program)[1].replace("\n  at ", " at ")
            explained = program.explain(record["name"]) if program and record.get("name") else None
            caller = f"{inner} " if inner and inner != name else ""
            problem = f"{caller}{one_line(explained)} ({one_line(record['message'])}){at}" if explained else \
                f"raised {one_line(record['message'])}{f' in {inner}' if inner and inner != name else ''}{at}"
        else:
            problem = CHECKS[name](decode(record["value"], arrays), expected, records, arrays, result)
        if problem and name in PARTS:
            problem += _cause(name, record, arrays, expected, result)
        result.functions[name] = "ok" if problem is None else f"WRONG: {problem}"



def _close(got, want):
    """Whether an array is `want` to rounding: never for a NaN, an infinity or a complex number."""
    arr = _array(got)
    return arr is not None and arr.shape == np.shape(want) and bool(np.all(np.isfinite(arr))) and \
        rel_error(arr, want) <= CHECK_RTOL


def _params(value, want, what, result=None):
    if not isinstance(value, dict):
        return f"returns {kind_of(value)}, not a dict with keys W1, b1, W2, b2"
    for k, w in want.items():
        if k not in value:
            return f"{what} has no key {k!r} (keys: {', '.join(one_line(key) for key in value)})"
        got = _array(value[k])
        if got is None:
            return _not_numbers(f"{what}[{k!r}]", value[k])
        if got.shape != w.shape:
            return f"{what}[{k!r}] has shape {got.shape}, expected {w.shape}"
        if not np.all(np.isfinite(got)):
            return f"{what}[{k!r}] contains NaN or infinite values"
        if result is not None:
            result.compared(rel_error(got, w))
        if not _close(got, w):
            return f"{what}[{k!r}] differs from the right value by {rel_error(got, w):.1e} (relative)"
    return None


def _layer_sizes(value, expected, records, arrays, result):
    want = expected["layer_sizes"]
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        return f"returns {kind_of(value)}, not (n_x, n_h, n_y)"
    got = tuple(int(v) if isinstance(v, (int, float)) and math.isfinite(v) and float(v).is_integer() else v
                for v in value)
    if got != want:
        return f"returns {one_line(repr(got))} for X {(want[0], 'm')} and Y (1, m); the course's is {want}: " \
               f"n_x = X.shape[0], n_h = {HIDDEN}, n_y = Y.shape[0]"
    return None


def _initialize(value, expected, records, arrays, result):
    want = expected["initialize_parameters"]
    problem = _params(value, want, "parameters", result)
    if problem is None and result.version.startswith("v5/v6"):
        record = records["initialize_parameters.seed"]
        again = decode(record["value"], arrays) if record["status"] == "ok" else None
        if _params(again, want, "x") is not None:
            return f"its weights depend on the caller's random state: this file follows the v5/v6 course " \
                   f"({result.version[7:-1]}), whose initialize_parameters starts with np.random.seed({COURSE_SEED})"
    if problem is None:
        return None
    W1 = _array(value.get("W1")) if isinstance(value, dict) else None
    if W1 is not None and W1.shape == want["W1"].shape and _close(W1, want["W1"] * 100):
        return f"{problem}: W1 is np.random.randn(n_h, n_x) without the factor 0.01 that keeps tanh near its slope 1"
    if W1 is not None and W1.shape == want["W1"].shape and _close(W1, expected["uniform"]["W1"]):
        return f"{problem}: np.random.rand draws from [0, 1); the course's np.random.randn draws from the normal " \
               "distribution: W1 = np.random.randn(n_h, n_x) * 0.01"
    if isinstance(value, dict) and any(np.any(_array(value.get(k)) != 0) for k in ("b1", "b2")
                                       if _array(value.get(k)) is not None):
        return f"{problem}: the biases start at zero, np.zeros((n_h, 1)) and np.zeros((n_y, 1))"
    return f"{problem}: W1 = np.random.randn(n_h, n_x) * 0.01 then W2 = np.random.randn(n_y, n_h) * 0.01, " \
           f"after np.random.seed({COURSE_SEED})"


def _cost(value, expected, records, arrays, result):
    want = expected["compute_cost"]
    if isinstance(value, np.ndarray) and value.size == 1 and value.dtype.kind in "biuf":
        return f"returns an array of shape {value.shape}, not a float: cost = float(np.squeeze(cost))"
    if isinstance(value, complex) or (isinstance(value, np.ndarray) and value.dtype.kind == "c"):
        return _not_numbers("the cost", value)
    if not isinstance(value, (float, int)) or isinstance(value, bool):
        return _not_numbers("the cost", value) if value is None or isinstance(value, Opaque) else \
            f"returns {kind_of(value)}, not a float"
    if not math.isfinite(value):
        return f"returns {value}: log(0) or 0 · log(0)? The cost of A2 strictly between 0 and 1 is finite"
    result.compared(abs(value - want) / abs(want))
    if not abs(value - want) <= CHECK_RTOL * abs(want):
        if abs(value + want) <= CHECK_RTOL * abs(want):
            return f"{value:.6g} instead of {want:.6g}: the sign is wrong: J = -(1/m) Σ ..."
        return f"{value:.6g} instead of {want:.6g}: J = -(1/m) Σ (Y log A2 + (1 − Y) log(1 − A2))"
    return None


def _update(value, expected, records, arrays, result):
    record = records["update_parameters"]
    after = decode(record["after"][0], arrays) if record.get("after") else None
    if value is None and isinstance(after, dict) and _params(after, expected["update_parameters"], "x") is None:
        result.notes.append("update_parameters updates the parameters in place and returns None; the course "
                            "returns them: end it with return parameters")
        return None
    problem = _params(value, expected["update_parameters"], "the result", result)
    if problem:
        lr = decode(records["update_parameters.lr"]["value"], arrays) \
            if records["update_parameters.lr"]["status"] == "ok" else None
        if _params(lr, expected["update_parameters.lr"], "x") is None:
            return f"{problem}: with learning_rate=0.5 it is right, so the default is not the course's " \
                   f"learning_rate={LEARNING_RATE}"
        return f"{problem}: W1 = W1 - learning_rate * dW1, and so on for b1, W2, b2"
    if record.get("changed"):
        result.notes.append("update_parameters also changes the caller's parameters in place (W1 -= ...), as "
                            "older course versions did; the 2021+ course copies them first (copy.deepcopy)")
    return None


def _nn_model(value, expected, records, arrays, result):
    problems = [_params(value, want, "its parameters") for want in expected["nn_model"]]
    if None in problems:
        _params(value, expected["nn_model"][problems.index(None)], "x", result)
        return None
    return f"{problems[0]} after {ITERATIONS} iterations from initialize_parameters at learning rate {LEARNING_RATE}"


def _predict(value, expected, records, arrays, result):
    want = expected["predict"]
    got = _array(value)
    if got is None:
        return _not_numbers("the predictions", value)
    if got.shape != want.shape:
        return f"the predictions have shape {got.shape}, expected {want.shape}"
    if not np.array_equal(got, want):
        return f"{int(np.sum(got != want))} of {want.size} predictions differ: predict 1 where A2 > 0.5, " \
               "(A2 > 0.5) or np.round(A2)"
    return None


CHECKS = {"layer_sizes": _layer_sizes, "initialize_parameters": _initialize, "compute_cost": _cost,
          "update_parameters": _update, "nn_model": _nn_model, "predict": _predict}


def _cause(name, record, arrays, expected, result):
    """Why a composite function failed, when a part it calls failed first: what that part did to its values."""
    failed = [eq for part in PARTS[name] for eq in EQUATIONS_OF.get(part, ()) if result.status.get(eq) == "WRONG"]
    failed += [part for part in PARTS[name] if result.functions.get(part, "").startswith("WRONG")]
    if not failed:
        return ""
    shapes = ""
    inner = {k: decode(v, arrays) for k, v in record.get("inner_locals", {}).items()}
    for p, (grad, eq) in GRADIENT_OF.items():
        got, want = _array(inner.get(p)), expected["nn_model"][0][p] if name == "nn_model" else None
        if got is not None and want is not None and got.shape != want.shape:
            because = next((w["problem"].splitlines()[0] for w in result.wrong if w["name"] == eq), "")
            shapes = f"; {p} had become {got.shape}, not {want.shape}" + \
                (f", because {because} (see {eq})" if because else "")
            break
    where = f" (on {name}'s problem: {expected['sizes']})" if record["status"] == "raised" else ""
    return f"{where}{shapes}; {name} calls your other functions, and {', '.join(failed)} " \
           f"{'is' if len(failed) == 1 else 'are'} wrong above: fix {'that' if len(failed) == 1 else 'those'} first"


def _version(signatures, program):
    """(version, why): the course version the file follows, where it shows: "v5/v6" (compute_cost takes
    parameters), "2021+" (compute_cost(A2, Y), or the file imports public_tests), or "" when nothing says."""
    cost = signatures.get("compute_cost", "")
    if cost.count(",") == 2:
        return "v5/v6", "compute_cost(A2, Y, parameters)"
    if cost.count(",") == 1:
        return "2021+", "compute_cost(A2, Y)"
    if program and any("public_tests" in s.text for u in program.units for s in u.statements if s.imports):
        return "2021+", "it imports public_tests"
    return "", ""
