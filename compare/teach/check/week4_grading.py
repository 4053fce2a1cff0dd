"""Week 4's functions graded one by one from what the grading child sent back, against values computed here
(week4.py's problems, from the project's NumPy week-4 functions). A function passes only when every value it
returned, at every depth, was compared and matched: a NaN, an infinity, a complex number or a None never does.
A function that fails after one it calls failed first is told to fix that one first."""
import math
import re

import numpy as np

import impls
from compare.cli import one_line
from compare.codec import decode
from compare.numerics import rel_error
from compare.tolerances import CHECK_RTOL
from impls.backends.numpy import sigmoid

from . import week4, week4_mistakes
from .grading import _array, _not_numbers, kind_of as _a, raised_text
from .mistakes import replaced_text

# what each function calls: its failure is blamed on one of these that failed first
PARTS = {"linear_activation_forward": ("linear_forward",),
         "L_model_forward": ("linear_activation_forward", "linear_forward"),
         "linear_activation_backward": ("linear_backward",),
         "L_model_backward": ("linear_activation_backward", "linear_backward"),
         "two_layer_model": ("initialize_parameters", "linear_activation_forward", "compute_cost",
                             "linear_activation_backward", "update_parameters"),
         "L_layer_model": ("initialize_parameters_deep", "L_model_forward", "compute_cost", "L_model_backward",
                           "update_parameters")}
CONVENTIONS = {"2021+": "stores ∂J/∂A_l under dA{l}, as the v6 and 2021+ course do (dA0 is ∂J/∂X)",
               "v5": "stores ∂J/∂A_l under dA{l+1}, as the v5 and older course do (dA1 is ∂J/∂X)"}


class Wrong(Exception):
    """What is wrong with one value; raised by the checks, caught per call."""


def same(name, got, want, result=None):
    """Raise Wrong unless `got` is the real, finite array `want` to rounding; record what was compared."""
    arr = _array(got)
    if arr is None:
        raise Wrong(_not_numbers(name, got))
    if arr.shape != np.shape(want):
        if arr.ndim == 0 or arr.shape == (np.size(want),):
            raise Wrong(f"{name} is {'a number' if arr.ndim == 0 else f'of shape {arr.shape}'}, not an array of "
                        f"shape {np.shape(want)}: keep the axes, np.sum(..., axis=1, keepdims=True)")
        raise Wrong(f"{name} has shape {arr.shape}, expected {np.shape(want)}")
    if not np.all(np.isfinite(arr)):
        raise Wrong(f"{name} contains NaN or infinite values")
    error = rel_error(arr, want)
    if result is not None:
        result.compared(error)
    if not error <= CHECK_RTOL:
        raise Wrong(f"{name} differs from the right value by {error:.1e} (relative)")


def matches(got, want):
    try:
        same("", got, want)
        return True
    except Wrong:
        return False


def _pair(value, what, n=2):
    if not isinstance(value, (tuple, list)) or len(value) != n:
        raise Wrong(f"returns {_a(value)}{f' of {len(value)}' if isinstance(value, (tuple, list)) else ''}, "
                    f"not {what}")
    return value


def _cache(cache, A_prev, W, b, Z=None, result=None):
    """A layer's cache: (A_prev, W, b), or ((A_prev, W, b), Z) when Z is given."""
    if Z is not None:
        linear, activation = _pair(cache, "a cache ((A_prev, W, b), Z)")
        same("its activation cache (Z)", activation, Z, result)
        cache = linear
    got = _pair(cache, "a linear cache (A_prev, W, b)", 3)
    for name, g, w in zip(("A_prev", "W", "b"), got, (A_prev, W, b)):
        same(f"the linear cache's {name}", g, w, result)


def _linear_forward(value, p, call, result):
    Z, cache = _pair(value, "(Z, cache)")
    L, P = p["L"], p["params"]
    (A_prev, W, b), want = p["caches"][L - 1]
    if matches(Z, W @ A_prev):
        raise Wrong("Z is W·A without b: Z = np.dot(W, A) + b")
    same("Z", Z, want, result)
    _cache(cache, A_prev, P[f"W{L}"], P[f"b{L}"], result=result)


def _activation_forward(value, p, call, result):
    A, cache = _pair(value, "(A, cache)")
    l = 1 if ".relu." in call else p["L"]
    (A_prev, W, b), Z = p["caches"][l - 1]
    want, other = (np.maximum(0, Z), sigmoid(Z)) if l < p["L"] else (sigmoid(Z), np.maximum(0, Z))
    if matches(A, other) and not matches(A, want):
        raise Wrong(f"with activation=\"{'relu' if l < p['L'] else 'sigmoid'}\" it applies the other activation")
    same("A", A, want, result)
    _cache(cache, A_prev, W, b, Z, result)


def _L_forward(value, p, call, result):
    AL, caches = _pair(value, "(AL, caches)")
    same("AL", AL, p["AL"], result)
    if not isinstance(caches, (list, tuple)) or len(caches) != p["L"]:
        raise Wrong(f"caches is {_a(caches)}{f' of {len(caches)}' if isinstance(caches, (list, tuple)) else ''}, "
                    f"not a list of L = {p['L']} caches, one per layer")
    for l, (got, ((A_prev, W, b), Z)) in enumerate(zip(caches, p["caches"]), start=1):
        try:
            _cache(got, A_prev, W, b, Z, result)
        except Wrong as e:
            raise Wrong(f"caches[{l - 1}] (layer {l}): {e}") from None


def _cost(value, p, call, result):
    arr = _array(value)
    if arr is not None and arr.shape != ():
        raise Wrong(f"returns an array of shape {arr.shape}, not a number: cost = np.squeeze(cost)")
    if arr is not None and matches(-arr, p["cost"]):
        raise Wrong(f"{float(arr):.6g} instead of {p['cost']:.6g}: the sign is wrong, J = -(1/m) Σ ...")
    same("the cost", value, p["cost"], result)


def _linear_backward(value, p, call, result):
    l = 1 if ".hidden." in call else p["L"]
    dA_prev, dW, db = _pair(value, "(dA_prev, dW, db)", 3)
    g = p["grads"]
    if matches(dW, g[f"dW{l}"] * p["m"]) and not matches(dW, g[f"dW{l}"]):
        raise Wrong("dW is m times too large: dW = (1/m) np.dot(dZ, A_prev.T)")
    same("dW", dW, g[f"dW{l}"], result)
    arr = _array(db)
    if arr is not None and arr.size == 1 and g[f"db{l}"].size > 1 and math.isclose(
            float(arr.flat[0]), float(np.sum(g[f"db{l}"])), rel_tol=1e-9):
        raise Wrong(f"db is one number, the sum over every unit as well as the examples, not {g[f'db{l}'].shape}: "
                    "db = (1/m) np.sum(dZ, axis=1, keepdims=True)")
    same("db", db, g[f"db{l}"], result)
    same("dA_prev", dA_prev, g[f"dA{l - 1}"], result)


def _activation_backward(value, p, call, result):
    relu = ".relu." in call
    l = 1 if relu else p["L"]
    (A_prev, W, _), Z = p["caches"][l - 1]
    dA = p["grads"][f"dA{l}"] if relu else p["dAL"]
    _pair(value, "(dA_prev, dW, db)", 3)
    wrong = week4_mistakes._sigmoid_backward(dA, Z) if relu else week4_mistakes._relu_backward(dA, Z)
    if all(matches(v, w) for v, w in zip(value, week4_mistakes._linear_backward(wrong, A_prev, W))) and \
            not matches(value[1], p["grads"][f"dW{l}"]):
        raise Wrong("with activation=\"relu\" it uses the sigmoid's derivative (sigmoid_backward): a ReLU layer's "
                    "is relu_backward" if relu else "with activation=\"sigmoid\" it uses relu_backward")
    for name, got, key in zip(("dA_prev", "dW", "db"), value, (f"dA{l - 1}", f"dW{l}", f"db{l}")):
        same(name, got, p["grads"][key], result)


def _L_backward(value, p, call, result):
    if not isinstance(value, dict):
        raise Wrong(f"returns {_a(value)}, not the dict grads")
    L, g = p["L"], p["grads"]
    for l in range(L, 0, -1):
        for k in (f"dW{l}", f"db{l}"):
            if k not in value:
                under = [x for x in value if matches(value[x], g[k])]
                raise Wrong(f"grads has no key {k!r}" + (
                    f": layer {l}'s {k[:2]} is stored under {one_line(str(under[0]))!r}, the wrong layer (in the loop "
                    f"over l = L-2 … 0, layer l + 1's keys are \"{k[:2]}\" + str(l + 1))" if under else
                    f" (keys: {', '.join(one_line(str(x)) for x in value)})"))
            if not matches(value[k], g[k]):
                other = [j for j in range(1, L + 1) if j != l and matches(value[k], g[f"{k[:2]}{j}"])]
                if other:
                    raise Wrong(f"grads[{k!r}] holds layer {other[0]}'s {k[:2]}: the gradient is stored under the "
                                f"wrong layer (in the loop over l = L-2 … 0, layer l + 1's keys are "
                                f"\"{k[:2]}\" + str(l + 1))")
                same(f"grads[{k!r}]", value[k], g[k], result)
    convention = "2021+" if "dA0" in value else "v5" if f"dA{L}" in value else None
    for l in range(L):  # ∂J/∂A_l, under dA{l} or dA{l+1}
        key = f"dA{l if convention == '2021+' else l + 1}"
        if convention and key in value:
            same(f"grads[{key!r}] (∂J/∂A_{l}, {CONVENTIONS[convention].split(',')[0][7:]})", value[key],
                 g[f"dA{l}"], result)
    return convention


def _update(value, p, call, result, record=None, arrays=None):
    want = {k: w - week4.LEARNING_RATE * p["grads"][f"d{k}"] for k, w in p["params"].items()}
    after = decode(record["after"][0], arrays) if record and record.get("after") else None
    if value is None and isinstance(after, dict) and all(k in after and matches(after[k], w) for k, w in want.items()):
        return "in place, returning None: the course returns the parameters (return parameters)"
    _params(value, want, "the result", result, "W1 = W1 - learning_rate * dW1, and so on for every layer")
    if record and record.get("changed"):
        return "changes the caller's parameters in place as well (as the older course did; the 2021+ course " \
               "copies them first, copy.deepcopy)"


def _params(value, want, what, result=None, fix=""):
    if not isinstance(value, dict):
        raise Wrong(f"returns {_a(value)}, not a dict with keys {', '.join(want)}")
    for k, w in want.items():
        if k not in value:
            raise Wrong(f"{what} has no key {k!r} (keys: {', '.join(one_line(str(x)) for x in value)})")
        try:
            same(f"{what}[{k!r}]", value[k], w, result)
        except Wrong as e:
            raise Wrong(f"{e}{': ' + fix if fix else ''}") from None


def _init(value, want, seeded, seed, line):
    W1 = _array(value.get("W1")) if isinstance(value, dict) else None
    if W1 is not None and matches(W1, want["W1"] * 100):
        raise Wrong(f"W1 is randn without the factor 0.01: {line}")
    _params(value, want, "parameters", None, f"after np.random.seed({seed}), {line}")
    if seeded is not None and not (isinstance(seeded, dict) and all(matches(seeded.get(k), w) for k, w in
                                                                     want.items())):
        raise Wrong(f"its weights depend on the caller's random state: the course's function starts with "
                    f"np.random.seed({seed})")


def grade(records, arrays, problems, result, names, program=None, failed=None):
    """Fill result.functions with each week-4 function's verdict, result.notes and result.version. `failed`:
    the functions that ended the grading child, with what happened (they have no records)."""
    conventions = set()
    for name in week4.FUNCTIONS + week4.MODELS:
        if name in (failed or {}):
            result.functions[name] = f"WRONG: {failed[name]}"
            continue
        if name not in names:
            why = program.failed.get(name) if program else None
            result.functions[name] = f"WRONG: its definition ({why[0]}) fails here: {one_line(why[2])}" if why \
                else "not graded (not defined)"
            continue
        problem, once = None, name in ("initialize_parameters",) + week4.MODELS  # on one problem, or none
        for tag in ["L3"] if once else [f"L{L}" for L in week4.DEPTHS]:
            p = problems[tag]
            problem = _one(name, tag, p, records, arrays, result, conventions, program)
            if problem:
                problem = problem if name == "initialize_parameters" else \
                    f"at L = {p['L']} (layer_dims {p['dims'] if name != 'two_layer_model' else p['dims'][:2] + [1]}" \
                    f", m = {p['m']}): {problem}"
                break
        if problem:
            problem += _named(name, records, arrays, problems, program) + _cause(name, result)
        result.functions[name] = "ok" if problem is None else f"WRONG: {problem}"
    if len(conventions) == 1:
        convention = conventions.pop()
        result.notes.append(f"L_model_backward {CONVENTIONS[convention]}: both are accepted")
        result.version = f"{convention} (grads' keys: dA{'0' if convention == '2021+' else '1'} is ∂J/∂X)"


def _one(name, tag, p, records, arrays, result, conventions, program):
    """What is wrong with `name`'s calls on problem `tag` (None when right)."""
    ids = [i for i in records if i.split(".")[0] == name and i.endswith(
        (".a", ".b") if name == "initialize_parameters" else "." + tag)]
    for call in ids:
        record = records[call]
        if record["status"] == "signature":
            return f"{name}{one_line(record['signature'])} cannot be called as the course calls it"
        if record.get("replaced"):
            return replaced_text(record)
        if record["status"] != "ok":
            return raised_text(record, program)[0].replace("\n  ", " ")
        value = decode(record["value"], arrays)
        try:
            note = _check(name, call, value, p, records, arrays, result)
        except Wrong as e:
            return str(e)
        if name == "L_model_backward" and note:
            conventions.add(note)
        elif note and not any(note in n for n in result.notes):
            result.notes.append(f"{name} {note}")
    return None


def _check(name, call, value, p, records, arrays, result):
    if name == "update_parameters":
        return _update(value, p, call, result, records[call], arrays)
    if name == "initialize_parameters_deep":
        seeded = records.get("initialize_parameters_deep.seed") if call.endswith("L4") else None
        seeded = decode(seeded["value"], arrays) if seeded and seeded["status"] == "ok" else None
        return _init(value, impls.init_deep_params(p["dims"], seed=week4.DEEP_SEED), seeded, week4.DEEP_SEED,
                     "parameters['W' + str(l)] = np.random.randn(layer_dims[l], layer_dims[l - 1]) * 0.01")
    if name == "initialize_parameters":
        sizes = (5, 4, 1) if call.endswith(".a") else (3, 7, 1)
        seeded = records.get("initialize_parameters.seed") if call.endswith(".a") else None
        seeded = decode(seeded["value"], arrays) if seeded and seeded["status"] == "ok" else None
        return _init(value, impls.init_deep_params(list(sizes), seed=week4.TWO_SEED), seeded, week4.TWO_SEED,
                     "W1 = np.random.randn(n_h, n_x) * 0.01")
    if name in week4.MODELS:
        params = value[0] if isinstance(value, (tuple, list)) and len(value) == 2 else value
        want, _ = week4.trained(p, name == "two_layer_model")
        return _params(params, want, "its parameters", result,
                       f"after {week4.MODEL_STEPS} steps at learning rate {week4.MODEL_RATE} from the course's "
                       f"{'initialize_parameters' if name == 'two_layer_model' else 'initialize_parameters_deep'}")
    return CHECKS[name](value, p, call, result)


CHECKS = {"linear_forward": _linear_forward, "linear_activation_forward": _activation_forward,
          "L_model_forward": _L_forward, "compute_cost": _cost, "linear_backward": _linear_backward,
          "linear_activation_backward": _activation_backward, "L_model_backward": _L_backward}


def _named(name, records, arrays, problems, program):
    """The known mistake that explains a wrong L_model_forward or L_model_backward, if one does."""
    if name not in ("L_model_forward", "L_model_backward"):
        return ""
    right = [t for t in (f"L{L}" for L in week4.DEPTHS) if _fine(records.get(f"{name}.{t}"), arrays, problems[t], name)]
    square = records.get(f"{name}.square")
    got = decode(square["value"], arrays) if square and square["status"] == "ok" else None
    p = problems["square"]
    if name == "L_model_forward":
        hard = right == ["L3"] or any("'W3'" in r.get("key", "") for r in records.values()
                                     if r["status"] == "raised" and r.get("function") == name)
        if hard or (isinstance(got, (tuple, list)) and got and matches(got[0], week4_mistakes.forward_w3(
                p["X"], p["params"]))):
            return ". The output layer is hard-coded as parameters['W3'] (and b3): right at L = 3 only, the depth " \
                   "of the course's one test. Hint: parameters['W' + str(L)], parameters['b' + str(L)] with " \
                   "L = len(parameters) // 2"
        return ""
    for switch, what, why, fix in week4_mistakes.BACKWARD:
        for tag, q in [(t, problems[t]) for t in (f"L{L}" for L in week4.DEPTHS)] + [("square", p)]:
            record = records.get(f"{name}.{tag}")
            try:
                want = week4_mistakes.backward(q["AL"], q["Y"], q["caches"], **{switch: True})
            except (ValueError, IndexError):
                continue
            if all(matches(w, q["grads"][k]) for k, w in want.items() if k[:2] != "dA"):
                continue  # the mistake makes no difference at this depth
            value = decode(record["value"], arrays) if record and record["status"] == "ok" else None
            if isinstance(value, dict) and all(matches(value.get(k), w) for k, w in want.items() if k[:2] != "dA"):
                if tag == "square":
                    return f". On a problem whose layers are all three wide, where the shapes fit, it gives exactly " \
                           f"what code that {what} gives: {why}. Hint: {fix}"
                return f". It {what}: {why}. Hint: {fix}"
    return ""


def _fine(record, arrays, p, name):
    if not record or record["status"] != "ok":
        return False
    try:
        (_L_forward if name == "L_model_forward" else _L_backward)(decode(record["value"], arrays), p, "", None)
        return True
    except Wrong:
        return False


def _cause(name, result):
    failed = [part for part in PARTS.get(name, ()) if result.functions.get(part, "").startswith("WRONG")]
    if not failed:
        return ""
    return f"; {name} calls your {' and '.join(failed)}, wrong above: fix {'that' if len(failed) == 1 else 'those'}" \
           " first"


def week4_version(program):
    """The course version the file's imports say, when they do: testCases_v4a/dnn_utils_v2 (v4a and older) or
    public_tests (2021+)."""
    text = " ".join(s.text for u in program.units for s in u.statements if s.imports)
    if "public_tests" in text:
        return "2021+ (it imports public_tests)"
    if re.search(r"testCases_v\d|dnn_utils_v2", text):
        return "v4a or older (it imports testCases_v4a or dnn_utils_v2)"
    return ""
