"""Every backend evaluated at the starting parameters and held against the reference: the forward values
(F1–F4), the cost, the gradients and the intermediates of backprop; and the gradients asked for twice, which
two identical calls must give alike (a buffer never cleared adds the second call's onto the first)."""
import math

import numpy as np

from compare.numerics import max_abs_diff, norm_ratio, rel_error
from compare.report import Check
from compare.tolerances import BACKEND_RTOL

ORDER = ("forward", "cost", "gradients", "intermediates")
SECTIONS = {"forward": "forward", "cost": "cost", "gradients": "gradient", "intermediates": "intermediate"}


def names(setup, method):
    """The arrays a method's answer holds at the problem's depth: Z1 … AL, J, dW1 … dbL, dZL … dZ1."""
    return {"forward": setup.cache_names, "cost": ("J",), "gradients": setup.grad_names,
            "intermediates": setup.intermediate_names}[method]


def evaluate(setup):
    """name -> method -> (answer, error) at the starting parameters, "gradients again" the second call."""
    values = {}
    for e in setup.entrants:
        v = values[e.name] = {}
        for method in (m for m in ORDER if m in e.methods):
            v[method] = e.call(method, setup.params, setup.X, None if method == "forward" else setup.Y)
            if method == "gradients" and v[method][1] is None:  # at once, as a training loop would call it next
                v["gradients again"] = e.call("gradients", setup.params, setup.X, setup.Y)
    return values


def flat(arrays, names):
    return np.concatenate([np.asarray(arrays[k], dtype=np.float64).ravel() for k in names])


def problem(setup, answer, k):
    """What is wrong with array `k` of an (answer, error) pair by the contract alone, or None."""
    got, error = answer
    if error:
        return error
    if k == "J":
        return None
    if k in got.problems:
        return got.problems[k]
    if k not in got:
        return f"missing {k}"
    if got[k].shape != setup.shape(k):
        return f"{k} shape {got[k].shape} ≠ {setup.shape(k)}"
    return None


def _measure(section, name, k, ref, got, tol, whole):
    """‖Δ‖/(‖a‖ + ‖b‖), with the norms of this array or, where `whole` is given, of all of θ."""
    if k == "J":
        return Check(section, name, k, rel_error(ref, got), tol, max_abs=max_abs_diff(ref, got))
    own = rel_error(ref[k], got[k])
    value = own
    if whole is not None:  # each norm scaled so that none overflows
        diff = got[k] - ref[k]
        a, b = norm_ratio(whole[0], diff), norm_ratio(whole[1], diff)
        value = 0.0 if not np.any(diff) else 1 / (a + b) if a + b > 0 else math.inf if a + b == 0 else math.nan
    return Check(section, name, k, value, tol, max_abs=max_abs_diff(ref[k], got[k]), own_relative=own)


def _section(setup, values, method, tol):
    section, names_ = SECTIONS[method], names(setup, method)
    ref = setup.ref
    ref_answer = values[ref.name].get(method)
    checks = []
    for e in setup.entrants:
        if method not in e.methods or (e is not ref and ref_answer is None):
            continue
        answer = values[e.name][method]
        ok = [k for k in names_ if not problem(setup, answer, k) and not problem(setup, ref_answer, k)]
        whole = None
        if method == "gradients" and len(ok) == len(names_):
            whole = (flat(ref_answer[0], names_), flat(answer[0], names_))
        for k in names_:
            own = problem(setup, answer, k)
            if own:  # the reference's own problems are its own failed checks, never another backend's
                checks.append(Check(section, e.name, k, None, tol, note=own))
            elif e is not ref and k in ok:
                checks.append(_measure(section, e.name, k, ref_answer[0], answer[0], tol, whole))
    return checks


def repeat_checks(setup, values, tol):
    """Every backend's second call of gradients against its first, over all of θ."""
    checks = []
    for e in setup.entrants:
        if "gradients" not in e.methods:
            continue
        first, again = values[e.name]["gradients"], values[e.name].get("gradients again")
        grads = setup.grad_names
        if again is None or any(problem(setup, first, k) for k in grads):
            continue  # the gradient section says what is wrong with the first call
        note = next((f"the second call: {problem(setup, again, k)}" for k in grads if problem(setup, again, k)), "")
        value = None if note else rel_error(flat(first[0], grads), flat(again[0], grads))
        checks.append(Check("repeat", e.name, "gradients, 2nd call", value, tol, note=note))
    return checks


def checks(setup, values):
    """The checks at the starting parameters, in the order the report shows them."""
    tol = BACKEND_RTOL[setup.dtype]
    out = []
    for method in ORDER:
        out += _section(setup, values, method, tol)
    return out + repeat_checks(setup, values, tol)
