"""Where two backends first differ, walking the computation in order, and why: the classic scale, reduction,
sign, transpose, activation and accumulation mistakes, recognised from the numbers."""
import numpy as np

from compare.equations import BACKWARD, FORWARD, PRODUCED_BY
from compare.numerics import largest, norm_ratio
from compare.tolerances import BACKEND_RTOL, RATIO_RTOL
from impls.base import CACHE_NAMES, GRAD_NAMES, INTERMEDIATE_NAMES

# The computation in the order backpropagation computes it: the forward pass, the cost, the backward pass's
# intermediates dZ2, dA1, dZ1 (the first to differ is where a mistake starts), then the gradients in the
# table's order. Each value's equation comes from the one table (dA1 = W2ᵀ dZ2 is B4's first half).
GRADIENTS = tuple(e.yields for e in BACKWARD if e.yields in GRAD_NAMES)  # dW2, db2, dW1, db1
WALK = (*(e.yields for e in FORWARD), "J", *INTERMEDIATE_NAMES, *GRADIENTS)
EQUATION = {**PRODUCED_BY, "J": "cost"}
METHOD = {**dict.fromkeys(CACHE_NAMES, "forward"), "J": "cost", **dict.fromkeys(INTERMEDIATE_NAMES, "intermediates"),
          **dict.fromkeys(GRAD_NAMES, "gradients")}
SMALL_WHOLE = range(2, 17)  # workers, outputs, devices: the counts a sum over parts plausibly has


def value_stats(ref, got, dtype, scale=None):
    """Largest absolute and relative difference, ULPs (in `dtype`) and ‖Δ‖/‖ref‖ (or over `scale`'s norm)."""
    a, b = np.asarray(ref, dtype=np.float64), np.asarray(got, dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        delta = np.abs(b - a)
        big = np.maximum(np.abs(a), np.abs(b))
        ulp = np.spacing(big.astype(dtype)).astype(np.float64)
        return {"relative": norm_ratio(b - a, a if scale is None else scale),
                "max_abs": float(np.max(delta, initial=0.0)),
                "max_rel": float(np.max(np.where(delta == 0, 0.0, delta / big), initial=0.0)),
                "ulp": float(np.max(np.where(delta == 0, 0.0, delta / ulp), initial=0.0))}


def walk(ref_values, got_values, dtype):
    """Every value of WALK measured against the reference's: name -> stats, or a string saying what is wrong.

    Args:
        ref_values, got_values: method -> (result, error) as compare_backends evaluates them; a method
            absent from got_values is one the backend does not provide.
    """
    out = {}
    for name in WALK:
        method = METHOD[name]
        if method not in got_values or method not in ref_values:
            continue
        (ref, ref_err), (got, err) = ref_values[method], got_values[method]
        if ref_err or err:
            out[name] = ("the reference " if ref_err and not err else "") + (ref_err or err)
            continue
        ref, got = (ref, got) if name == "J" else (ref[name], got.get(name) if hasattr(got, "get") else None)
        if got is None or np.shape(got) != np.shape(ref):
            out[name] = f"shape {np.shape(got) if got is not None else 'missing'}, expected {np.shape(ref)}"
            continue
        whole = np.concatenate([np.ravel(ref_values["gradients"][0][k]) for k in GRAD_NAMES]) \
            if method == "gradients" else None
        out[name] = value_stats(ref, got, dtype, whole)
    return out


def agrees(stats, dtype):
    return isinstance(stats, dict) and stats["relative"] < BACKEND_RTOL[dtype]


def first_difference(stats, dtype):
    """(name, one line) for the first value that disagrees, or (None, line) when all that were compared agree."""
    done = []
    for name, s in stats.items():
        if agrees(s, dtype):
            done.append(name)
            continue
        measure = f"‖Δ‖/‖{'g' if METHOD[name] == 'gradients' else name}‖"
        what = s if isinstance(s, str) else f"{measure} = {s['relative']:.2g}, max |Δ| {s['max_abs']:.2g}"
        before = (f"{done[0]} agrees" if len(done) == 1 else f"{', '.join(done)} agree") if done else ""
        size = max((stats[n]["relative"] for n in done), default=0.0)
        return name, (f"first difference at {EQUATION[name]} ({name}): {what}"
                      + (f"; {before} {f'to {size:.0e}' if size else 'exactly'}" if done else
                         "; it is the first value compared"))
    if not stats:
        return None, "no value could be compared at the starting parameters"
    return None, (f"every value compared at the starting parameters agrees ({', '.join(stats)}): "
                  "the difference lies in training")


def _multiple(ref, got, dtype):
    """The factor k where got = k·ref exactly (to RATIO_RTOL), else None."""
    a, b = np.ravel(np.asarray(ref, dtype=np.float64)), np.ravel(np.asarray(got, dtype=np.float64))
    big = largest(a, b)
    if big == 0 or not np.isfinite(big) or not np.any(a):
        return None
    a, b = a / big, b / big  # scaled first: no norm of huge values overflows
    factor = float(a @ b / (a @ a))
    return factor if np.linalg.norm(b - factor * a) <= RATIO_RTOL[dtype] * np.linalg.norm(b) else None


def _near(factor, target, dtype):
    return abs(factor - target) <= RATIO_RTOL[dtype] * abs(target)


def scale_mistake(name, ref, got, m, dtype):
    """An exact multiple: m (summed), 1/m (averaged twice), −1 (sign), k or 1/k for a small whole k."""
    factor = _multiple(ref, got, dtype)
    if factor is None:
        return None
    if _near(factor, m, dtype):
        return f"{name} is exactly m = {m} times the reference's: it sums over the m examples instead of averaging."
    if _near(factor, 1 / m, dtype):
        return f"{name} is exactly 1/m = 1/{m} of the reference's: it divides by m twice."
    if _near(factor, -1, dtype):
        return f"{name} is the reference's with its sign flipped."
    for k in SMALL_WHOLE:
        if _near(factor, k, dtype):
            return (f"{name} is exactly {k} times the reference's: it sums over {k} parts (workers, outputs) "
                    "where their mean was meant.")
        if _near(factor, 1 / k, dtype):
            return (f"{name} is exactly 1/{k} of the reference's: it divides by {k} once too often "
                    "(averaged twice over workers or outputs).")
    if np.size(ref) > 1:  # a scalar is always some multiple of another: only the named factors say anything
        return (f"{name} is {factor:.4g} times the reference's throughout: a constant factor (a scale, a step size) "
                "is off.")
    return None


def transposed(name, ref, got, dtype):
    ref, got = np.asarray(ref), np.asarray(got)
    if ref.ndim != 2 or got.shape != ref.T.shape or ref.shape[0] == ref.shape[1] == 1:
        return None
    if norm_ratio(got.T - ref, ref) < BACKEND_RTOL[dtype]:
        return (f"{name} is the transpose of the reference's (shape {got.shape}, expected {ref.shape}): "
                "a product with its factors the wrong way round.")
    return None


def wrong_activation(Z1, A1, declared, dtype):
    """Which other hidden activation turns Z1 into A1, if any."""
    from impls.backends.numpy import ACTIVATIONS
    Z1 = np.asarray(Z1, dtype=dtype)
    for act, (g, _) in ACTIVATIONS.items():
        if act != declared and norm_ratio(np.asarray(A1, dtype=np.float64) - g(Z1), g(Z1)) < BACKEND_RTOL[dtype]:
            return f"A1 = {act}(Z1) where {declared} was declared: the hidden layer applies the wrong activation."
    return None


def accumulates(first, second, dtype):
    """Gradients that change between two identical calls (compare_backends calls `gradients` twice in a row).

    Returns (name, stats, sentence) for the first gradient in WALK order that changed, or None."""
    if not hasattr(second, "keys"):
        return None
    whole = np.concatenate([np.ravel(first[k]) for k in GRAD_NAMES])
    for k in GRADIENTS:
        if k not in second or np.shape(second[k]) != np.shape(first[k]):
            continue
        stats = value_stats(first[k], second[k], dtype, whole)
        if not stats["relative"] < BACKEND_RTOL[dtype]:  # NaN changed too
            factor = _multiple(first[k], second[k], dtype)
            times = f"{factor:.3g} times the first call's" if factor is not None else "not the first call's"
            return k, stats, (f"its gradients change between two identical calls ({k} on the second call is "
                              f"{times}): it accumulates into a buffer that is never cleared.")
    return None


def split_gradients(stats, dtype):
    """One parameter's gradient right and another's wrong: the mistake is in the wrong ones' own equations."""
    grads = [k for k in GRADIENTS if k in stats]
    good = [k for k in grads if agrees(stats[k], dtype)]
    bad = [k for k in grads if k not in good]
    if not good or not bad:
        return None
    return (f"{' and '.join(good)} agree{'s' if len(good) == 1 else ''} but {' and '.join(bad)} "
            f"differ{'s' if len(bad) == 1 else ''}: the mistake is in {', '.join(EQUATION[k] for k in bad)} "
            "alone, not in what they share.")


def diagnose(ref_values, got_values, m, activation, dtype):
    """(stats, where, first-difference line, [one sentence per mistake recognised])."""
    stats = walk(ref_values, got_values, dtype)
    where, line = first_difference(stats, dtype)
    why = []
    first, again = got_values.get("gradients", (None, "not provided")), got_values.get("gradients again")
    if first[1] is None and where is None and again is not None and again[1] is None:
        changed = accumulates(first[0], again[0], dtype)
        if changed:
            k, s, sentence = changed
            line = (f"first difference at {EQUATION[k]} ({k}) on a second identical call of gradients: "
                    f"‖Δ‖/‖g‖ = {s['relative']:.2g}, max |Δ| {s['max_abs']:.2g}; on the first call every value "
                    f"compared ({', '.join(stats)}) agrees")
            return stats, k, line, [sentence]
    if where is not None and isinstance(stats[where], dict):
        method = METHOD[where]
        ref, got = ref_values[method][0], got_values[method][0]
        ref, got = (ref, got) if where == "J" else (ref[where], got[where])
        why.append(scale_mistake(where, ref, got, m, dtype))
        if where == "A1":
            why.append(wrong_activation(got_values["forward"][0]["Z1"], got, activation, dtype))
    elif where is not None and METHOD[where] != "cost" and not got_values[METHOD[where]][1]:
        ref, got = ref_values[METHOD[where]][0][where], got_values[METHOD[where]][0]
        got = got.get(where) if hasattr(got, "get") else None
        why.append(None if got is None else transposed(where, ref, got, dtype))
    if where in GRAD_NAMES:
        why.append(split_gradients(stats, dtype))
    return stats, where, line, [w for w in why if w]
