"""The course's other functions, graded where the file defines them: layer_sizes, initialize_parameters,
compute_cost, update_parameters, nn_model, predict. Every expected value is computed here, in the grader."""
import numpy as np

import impls
from compare.numerics import rel_error
from compare.tolerances import CHECK_RTOL

from .grading import Opaque, _a, _array, _not_numbers, decode, random_problem, reference

FUNCTIONS = ("layer_sizes", "initialize_parameters", "compute_cost", "update_parameters", "nn_model", "predict")
COURSE_SEED = 2        # the course's initialize_parameters calls np.random.seed(2); impls.init_params(seed=2) matches
HIDDEN = 4             # layer_sizes hard-codes n_h = 4 in the course
LEARNING_RATE = 1.2    # update_parameters' default in the course
ITERATIONS = 20        # nn_model's steps here: enough to show a wrong update, cheap


def build(seed):
    """(calls, inputs, expected): one call per function, on a problem of its own."""
    X, Y, params = random_problem(np.random.RandomState(seed + 1000))
    r = reference(params, X, Y)
    n_x, m = X.shape
    inputs = {"a.X": X, "a.Y": Y, **{f"a.{k}": params[k] for k in params},
              **{f"a.d{k}": r[f"d{k}"] for k in params}, "a.A2": r["A2"]}
    A = {k: {"array": f"a.{k}"} for k in ("X", "Y", "A2")}
    P = {"dict": {k: {"array": f"a.{k}"} for k in params}}
    G = {"dict": {f"d{k}": {"array": f"a.d{k}"} for k in params}}
    backend = impls.get_backend("numpy", activation="tanh")
    start = impls.init_params(n_x, HIDDEN, 1, seed=COURSE_SEED)
    trained = backend.train(start, X, Y, learning_rate=LEARNING_RATE, iterations=ITERATIONS).params
    cost = float(-np.mean(Y * np.log(r["A2"]) + (1 - Y) * np.log(1 - r["A2"])))
    calls = [
        {"id": "layer_sizes", "function": "layer_sizes", "args": [[A["X"], A["Y"]]]},
        {"id": "initialize_parameters", "function": "initialize_parameters", "repeat": True,
         "args": [[{"value": n_x}, {"value": 5}, {"value": 1}]]},
        {"id": "compute_cost", "function": "compute_cost", "args": [[A["A2"], A["Y"]], [A["A2"], A["Y"], P]]},
        {"id": "update_parameters", "function": "update_parameters", "args": [[P, G]]},
        {"id": "update_parameters.lr", "function": "update_parameters", "args": [[P, G, {"value": 0.5}]]},
        {"id": "nn_model", "function": "nn_model", "args": [[A["X"], A["Y"], {"value": HIDDEN},
                                                              {"value": ITERATIONS}, {"value": False}],
                                                             [A["X"], A["Y"], {"value": HIDDEN}, {"value": ITERATIONS}]]},
        {"id": "predict", "function": "predict", "args": [[P, A["X"]]]},
    ]
    expected = {"layer_sizes": (n_x, HIDDEN, 1), "initialize_parameters": impls.init_params(n_x, 5, 1, seed=COURSE_SEED),
                "compute_cost": cost, "nn_model": trained, "predict": (r["A2"] > 0.5).astype(float),
                "update_parameters": {k: params[k] - LEARNING_RATE * r[f"d{k}"] for k in params},
                "update_parameters.lr": {k: params[k] - 0.5 * r[f"d{k}"] for k in params}, "unscaled": start}
    return calls, inputs, expected


def grade(records, arrays, expected):
    """{function: "ok", "WRONG: why", "not graded (not defined)"} for each of the course's other functions."""
    verdicts = {}
    for name in FUNCTIONS:
        record = records.get(name, {"status": "absent"})
        if record["status"] == "absent":
            verdicts[name] = "not graded (not defined)"
            continue
        if record["status"] == "signature":
            verdicts[name] = f"WRONG: {name}{record['signature']} cannot be called as the course calls it"
            continue
        if record["status"] != "ok":
            at = f" at line {record['line_number']}: {record['line']}" if record.get("line_number") else ""
            verdicts[name] = f"WRONG: raised {record.get('message', record['status'])}{at}"
            continue
        value = decode(record["value"], arrays)
        problem = CHECKS[name](value, expected, records, arrays)
        verdicts[name] = "ok" if problem is None else f"WRONG: {problem}"
    return verdicts


def _params(value, want, what):
    if not isinstance(value, dict):
        return f"returns {_a(value)}, not a dict with keys W1, b1, W2, b2"
    for k, w in want.items():
        if k not in value:
            return f"{what} has no key {k!r} (keys: {', '.join(map(str, value))})"
        got = _array(value[k])
        if got is None:
            return _not_numbers(f"{what}[{k!r}]", value[k])
        if got.shape != w.shape:
            return f"{what}[{k!r}] has shape {got.shape}, expected {w.shape}"
        if rel_error(got, w) > CHECK_RTOL:
            return f"{what}[{k!r}] differs from the right value by {rel_error(got, w):.1e} (relative)"
    return None


def _layer_sizes(value, expected, records, arrays):
    want = expected["layer_sizes"]
    if not isinstance(value, (tuple, list)) or len(value) != 3:
        return f"returns {_a(value)}, not (n_x, n_h, n_y)"
    got = tuple(int(v) if isinstance(v, (int, float)) and float(v).is_integer() else v for v in value)
    if got != want:
        return f"returns {got} for X {(want[0], 'm')} and Y (1, m); the course's is {want}: n_x = X.shape[0], " \
               f"n_h = {HIDDEN}, n_y = Y.shape[0]"
    return None


def _initialize(value, expected, records, arrays):
    want = expected["initialize_parameters"]
    problem = _params(value, want, "parameters")
    if problem is None:
        return None
    again = decode(records["initialize_parameters"]["again"], arrays)
    if isinstance(value, dict) and isinstance(again, dict) and _params(again, value, "x") is not None:
        return f"{problem}: two calls give different weights; the course seeds inside, np.random.seed({COURSE_SEED})"
    if isinstance(value, dict) and isinstance(value.get("W1"), np.ndarray) and value["W1"].shape == want["W1"].shape \
            and rel_error(value["W1"], want["W1"] * 100) <= CHECK_RTOL:
        return f"{problem}: W1 is np.random.randn(n_h, n_x) without the factor 0.01 that keeps tanh near its slope 1"
    if isinstance(value, dict) and any(np.any(_array(value.get(k)) != 0) for k in ("b1", "b2")
                                       if _array(value.get(k)) is not None):
        return f"{problem}: the biases start at zero, np.zeros((n_h, 1)) and np.zeros((n_y, 1))"
    return f"{problem}: W1 = np.random.randn(n_h, n_x) * 0.01 then W2 = np.random.randn(n_y, n_h) * 0.01, " \
           f"after np.random.seed({COURSE_SEED})"


def _cost(value, expected, records, arrays):
    want = expected["compute_cost"]
    if isinstance(value, np.ndarray) and value.size == 1:
        return f"returns an array of shape {value.shape}, not a float: cost = float(np.squeeze(cost))"
    if not isinstance(value, (float, int)) or isinstance(value, bool):
        return _not_numbers("the cost", value) if value is None or isinstance(value, Opaque) else \
            f"returns {_a(value)}, not a float"
    if abs(value - want) > CHECK_RTOL * abs(want):
        for factor, why in ((-1, "the sign is wrong: J = -(1/m) Σ ..."), (want and 1, "")):
            if factor != 1 and abs(value - factor * want) <= CHECK_RTOL * abs(want):
                return f"{value:.6g} instead of {want:.6g}: {why}"
        return f"{value:.6g} instead of {want:.6g}: J = -(1/m) Σ (Y log A2 + (1 − Y) log(1 − A2))"
    return None


def _update(value, expected, records, arrays):
    problem = _params(value, expected["update_parameters"], "the result")
    if problem:
        lr = decode(records["update_parameters.lr"]["value"], arrays) \
            if records["update_parameters.lr"]["status"] == "ok" else None
        if _params(lr, expected["update_parameters.lr"], "x") is None:
            return f"{problem}: with learning_rate=0.5 it is right, so the default is not the course's " \
                   f"learning_rate={LEARNING_RATE}"
        return f"{problem}: W1 = W1 - learning_rate * dW1, and so on for b1, W2, b2"
    return None


def _nn_model(value, expected, records, arrays):
    problem = _params(value, expected["nn_model"], "its parameters")
    if problem:
        return f"{problem} after {ITERATIONS} iterations from initialize_parameters (seed {COURSE_SEED}) at " \
               f"learning rate {LEARNING_RATE}: nn_model calls your other functions; fix those first"
    return None


def _predict(value, expected, records, arrays):
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
