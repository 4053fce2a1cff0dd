"""Finite differences: an oracle that trusts no backend's gradient, only its cost, taken in float64."""
import math

import numpy as np

from compare.comparison.evaluations import flat, problem
from compare.numerics import norm_ratio, numerical_gradients, rel_error
from compare.report import Check
from compare.tolerances import FD_KINK, FD_NOISE, FD_RTOL, FD_STEP


class _CostFailed(Exception):
    pass


def _differences(twin, X64, Y64, params64):
    """Central differences of the twin's cost; the first failed call of it ends them."""
    def cost(p):
        value, error = twin.call("cost", p, X64, Y64)
        if error is not None:
            raise _CostFailed(f"its float64 cost for the differences: {error}")
        return value
    try:
        return numerical_gradients(cost, params64, FD_STEP), None
    except _CostFailed as e:
        return None, str(e)


def at_kinks(params, X, activation):
    """The examples (a bool per column of X) whose hidden pre-activations θ + h and θ − h can move across ReLU's or
    leaky ReLU's kink at 0, computed here in float64 from the parameters alone: |Z_l| within FD_KINK times a bound
    on how far one parameter moved by h moves Z_l (h(1 + |A_{l−1}|) directly, and through the layers below)."""
    near = np.zeros(X.shape[1], dtype=bool)
    if activation not in ("relu", "leaky_relu"):
        return near
    A, L, reach = X, len(params) // 2, 0.0
    for l in range(1, L):
        W = params[f"W{l}"]
        reach = FD_STEP * (1 + np.max(np.abs(A), initial=0.0)) + np.max(np.sum(np.abs(W), axis=1)) * reach
        Z = W @ A + params[f"b{l}"]
        near |= np.any(np.abs(Z) <= FD_KINK * reach, axis=0)
        A = np.where(Z > 0, Z, 0.0 if activation == "relu" else 0.01 * Z)
    return near


def checks(setup, values):
    """One check per backend with cost and gradients: its gradient against differences of its own cost."""
    X64, Y64 = setup.X.astype(np.float64), setup.Y.astype(np.float64)
    params64 = {k: v.astype(np.float64) for k, v in setup.params.items()}
    ref_cost = values[setup.ref.name].get("cost", (None, None))[0]
    out, notes = [], []
    kinks = at_kinks(params64, X64, setup.activation)
    where = ""
    if kinks.any():  # the differences and the gradients on the other examples (tolerances.FD_KINK)
        where = (f"on the {int((~kinks).sum())} of {kinks.size} examples away from ReLU's kink: {int(kinks.sum())} "
                 "hold a hidden Z so near 0 that θ + h and θ − h fall on both sides of the kink, where the cost "
                 "has no derivative")
        X64, Y64 = X64[:, ~kinks], Y64[:, ~kinks]
    for e in setup.entrants:
        if not {"cost", "gradients"} <= set(e.methods):
            continue
        answer = values[e.name]["gradients"]
        twin = e.float64_twin()
        if twin is None:
            notes.append(f"{e.name}: no finite-difference check, its cost cannot be evaluated in float64")
            continue
        note = next((problem(setup, answer, k) for k in setup.grad_names if problem(setup, answer, k)), None)
        if where and not note:
            answer = e.call("gradients", setup.params, setup.X[:, ~kinks], setup.Y[:, ~kinks]) if X64.shape[1] \
                else (None, "every example holds a hidden Z at ReLU's kink: no derivative to difference")
            note = next((problem(setup, answer, k) for k in setup.grad_names if problem(setup, answer, k)), None)
        fd, fd_error = (None, None) if note else _differences(twin, X64, Y64, params64)
        note = note or fd_error
        threshold, value = FD_RTOL[setup.dtype], None
        if not note:
            a, g = flat(fd, setup.grad_names), flat(answer[0], setup.grad_names)
            value = rel_error(a, g)
            # The differences cannot resolve less than their own rounding, ~ε·|J|/h per entry: where the
            # gradient is that small (symmetric data at a small start), a value past the course's bound is
            # held against that rounding instead, and the report says so.
            floor = FD_NOISE * math.sqrt(a.size) * np.finfo(np.float64).eps * abs(ref_cost or 0.0) / FD_STEP
            scale = (norm_ratio(a, [1.0]) + norm_ratio(g, [1.0])) if np.all(np.isfinite([a, g])) else 0.0
            if value >= threshold and scale > 0 and math.isfinite(floor):
                threshold = FD_RTOL[setup.dtype] + floor / scale
                note = f"bound raised by the differences' rounding, {floor:.0e} against ‖g‖ {scale / 2:.0e}"
        note = "; ".join(n for n in (note, where) if n)
        out.append(Check("finite differences", e.name, f"all θ, h={FD_STEP:g}", value, threshold, note=note))
    return out, notes
