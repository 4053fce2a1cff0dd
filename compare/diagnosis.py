"""Where two backends first differ, walking the computation in order, and why: the classic scale, reduction,
sign, transpose, activation and accumulation mistakes, recognised from the numbers."""
import numpy as np

from compare.equations import deep_by_row, deep_equations, deep_produced_by
from compare.numerics import largest, norm_ratio
from compare.tolerances import BACKEND_RTOL, RATIO_RTOL
from impls.base import cache_names, grad_names, intermediate_names

METHODS = {"Z": "forward", "A": "forward", "J": "cost", "dZ": "intermediates", "dA": "intermediates",
           "dW": "gradients", "db": "gradients"}


def order(L):
    """The computation at depth L in the order backpropagation computes it: the forward pass, the cost, the
    backward pass's intermediates dZL, dA(L−1), dZ(L−1), … (the first to differ is where a mistake starts),
    then the gradients in the table's order (dWL, dbL, …, dW1, db1)."""
    gradients = tuple(e.yields for e in deep_equations(L) if e.yields[:2] in ("dW", "db"))
    return (*cache_names(L), "J", *intermediate_names(L), *gradients)


def method(name):
    """The contract's method that returns the array `name` (Z3 → forward, dA2 → intermediates, J → cost)."""
    return METHODS[name.rstrip("0123456789")]


def equation(name, L, activation="tanh"):
    """How the walk names the row that yields `name`: its id for the two-layer network ("B5", week 3's ten rows
    name their layer), its id, layer and formula at any other depth ("B5 at layer 2 (dW2 = (1/m) dZ2 A1ᵀ)")."""
    if name == "J":
        return "cost"
    row = deep_produced_by(L)[name]
    if L == 2:
        return row[0]
    formula = deep_by_row(L)[row].text(activation)
    if name.startswith("dA"):  # B4's first half: dA_l = W_{l+1}ᵀ dZ_{l+1}
        formula = f"{name} = W{row[1] + 1}ᵀ dZ{row[1] + 1}, the first half of {formula}"
    return f"{row[0]} at layer {row[1]} ({formula})"


def depth_of(values):
    """L as the reference's answers show it: its forward's Z1 … ZL, else its gradients' dW1 … dWL; 2 if neither."""
    for m, prefix in (("forward", "Z"), ("gradients", "dW")):
        answer = values.get(m, (None, "absent"))[0]
        if answer is not None and hasattr(answer, "keys"):
            layers = [int(k[len(prefix):]) for k in answer.keys() if k.startswith(prefix) and k[len(prefix):].isdigit()]
            if layers:
                return max(layers)
    return 2


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


def walk(ref_values, got_values, dtype, L=2):
    """Every value of the computation at depth L (`order`) measured against the reference's: name -> stats, or
    a string saying what is wrong.

    Args:
        ref_values, got_values: method -> (result, error) as compare_backends evaluates them; a method
            absent from got_values is one the backend does not provide.
    """
    out = {}
    for name in order(L):
        m = method(name)
        if m not in got_values or m not in ref_values:
            continue
        (ref, ref_err), (got, err) = ref_values[m], got_values[m]
        if ref_err or err:
            out[name] = ("the reference " if ref_err and not err else "") + (ref_err or err)
            continue
        ref, got = (ref, got) if name == "J" else (ref[name], got.get(name) if hasattr(got, "get") else None)
        if got is None or np.shape(got) != np.shape(ref):
            out[name] = f"shape {np.shape(got) if got is not None else 'missing'}, expected {np.shape(ref)}"
            continue
        whole = np.concatenate([np.ravel(ref_values["gradients"][0][k]) for k in grad_names(L)]) \
            if m == "gradients" else None
        out[name] = value_stats(ref, got, dtype, whole)
    return out


def agrees(stats, dtype):
    return isinstance(stats, dict) and stats["relative"] < BACKEND_RTOL[dtype]


def first_difference(stats, dtype, L=2, activation="tanh"):
    """(name, one line) for the first value that disagrees, or (None, line) when all that were compared agree."""
    done = []
    for name, s in stats.items():
        if agrees(s, dtype):
            done.append(name)
            continue
        measure = f"‖Δ‖/‖{'g' if method(name) == 'gradients' else name}‖"
        what = s if isinstance(s, str) else f"{measure} = {s['relative']:.2g}, max |Δ| {s['max_abs']:.2g}"
        if len(done) > 12:  # a deep network's walk: the values before it, counted
            before = f"the {len(done)} values before it ({done[0]} … {done[-1]}) agree"
        else:
            before = (f"{done[0]} agrees" if len(done) == 1 else f"{', '.join(done)} agree") if done else ""
        size = max((stats[n]["relative"] for n in done), default=0.0)
        named = f"{equation(name, L, activation)}" + (f" ({name})" if L == 2 or name == "J" else "")
        return name, (f"first difference at {named}: {what}"
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


def wrong_activation(Z, A, declared, dtype, name="A1"):
    """Which other hidden activation turns Z_l into A_l (`name`), if any."""
    from impls.backends.numpy import ACTIVATIONS
    Z = np.asarray(Z, dtype=dtype)
    z = "Z" + name[1:]
    for act, (g, _) in ACTIVATIONS.items():
        if act != declared and norm_ratio(np.asarray(A, dtype=np.float64) - g(Z), g(Z)) < BACKEND_RTOL[dtype]:
            return f"{name} = {act}({z}) where {declared} was declared: the hidden layer applies the wrong activation."
    return None


def accumulates(first, second, dtype, L=2):
    """Gradients that change between two identical calls (compare_backends calls `gradients` twice in a row).

    Returns (name, stats, sentence) for the first gradient in the walk's order that changed, or None."""
    if not hasattr(second, "keys"):
        return None
    whole = np.concatenate([np.ravel(first[k]) for k in grad_names(L)])
    for k in order(L)[-2 * L:]:
        if k not in second or np.shape(second[k]) != np.shape(first[k]):
            continue
        stats = value_stats(first[k], second[k], dtype, whole)
        if not stats["relative"] < BACKEND_RTOL[dtype]:  # NaN changed too
            factor = _multiple(first[k], second[k], dtype)
            times = f"{factor:.3g} times the first call's" if factor is not None else "not the first call's"
            return k, stats, (f"its gradients change between two identical calls ({k} on the second call is "
                              f"{times}): it accumulates into a buffer that is never cleared.")
    return None


def split_gradients(stats, dtype, L=2):
    """One parameter's gradient right and another's wrong: the mistake is in the wrong ones' own equations."""
    grads = [k for k in order(L)[-2 * L:] if k in stats]
    good = [k for k in grads if agrees(stats[k], dtype)]
    bad = [k for k in grads if k not in good]
    if not good or not bad or (L > 2 and len({k[:2] for k in bad}) > 1):
        return None  # deeper, a mistake in one layer's dZ reaches both gradients of every layer below it
    if L == 2:
        return (f"{' and '.join(good)} agree{'s' if len(good) == 1 else ''} but {' and '.join(bad)} "
                f"differ{'s' if len(bad) == 1 else ''}: the mistake is in "
                f"{', '.join(equation(k, L) for k in bad)} alone, not in what they share.")
    rows = {}
    for k in bad:  # B5 at layers 3, 2, 1
        row = deep_produced_by(L)[k]
        rows.setdefault(row[0], []).append(str(row[1]))
    where = "; ".join(f"{i} at layer{'s' * (len(ls) > 1)} {', '.join(ls)}" for i, ls in rows.items())
    return (f"{', '.join(bad)} differ{'s' if len(bad) == 1 else ''} while the other gradients ({', '.join(good)}) "
            f"agree: the mistake is in {where} alone, not in the dZ they share with the others.")


def diagnose(ref_values, got_values, m, activation, dtype, X=None):
    """(stats, where, first-difference line, [one sentence per mistake recognised]). The depth is the
    reference's; X (the data) lets the week-4 recognisers try A0 = X among the caches."""
    from compare import layer_mistakes

    L = depth_of(ref_values)
    stats = walk(ref_values, got_values, dtype, L)
    where, line = first_difference(stats, dtype, L, activation)
    why = []
    first, again = got_values.get("gradients", (None, "not provided")), got_values.get("gradients again")
    if first[1] is None and where is None and again is not None and again[1] is None:
        changed = accumulates(first[0], again[0], dtype, L)
        if changed:
            k, s, sentence = changed
            named = equation(k, L, activation) + (f" ({k})" if L == 2 else "")
            line = (f"first difference at {named} on a second identical call of gradients: "
                    f"‖Δ‖/‖g‖ = {s['relative']:.2g}, max |Δ| {s['max_abs']:.2g}; on the first call every value "
                    f"compared ({', '.join(stats) if len(stats) <= 12 else f'all {len(stats)}'}) agrees")
            return stats, k, line, [sentence]
    got = None
    if where is not None and where != "J" and not got_values[method(where)][1]:
        answer = got_values[method(where)][0]
        got = answer.get(where) if hasattr(answer, "get") else None
    if where is not None and isinstance(stats[where], dict):
        ref_answer, got_answer = ref_values[method(where)][0], got_values[method(where)][0]
        ref_value, got_value = (ref_answer, got_answer) if where == "J" else (ref_answer[where], got)
        why.append(scale_mistake(where, ref_value, got_value, m, dtype))
        if where.startswith("A") and where != f"A{L}":
            why.append(wrong_activation(got_values["forward"][0][f"Z{where[1:]}"], got_value, activation, dtype,
                                        where))
    elif got is not None:
        why.append(transposed(where, ref_values[method(where)][0][where], got, dtype))
    if got is not None and not any(why):
        why.append(layer_mistakes.recognise(where, got, ref_values, activation, dtype, X))
    if where is not None and method(where) == "gradients":
        why.append(split_gradients(stats, dtype, L))
    return stats, where, line, [w for w in why if w]
