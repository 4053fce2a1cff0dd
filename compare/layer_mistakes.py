"""The week-4 mistakes at one layer, recognised from the numbers: the value a backend returned where the walk
first differs (compare/diagnosis.py) held against what each classic mistake would have computed from the
reference's own forward values and intermediates. A mistake is named only when its value matches.

- a lost keepdims: db_l of shape (n_l,) with the right numbers (B3/B6);
- a wrong index into the caches: dW_l = (1/m) dZ_l A_kᵀ with k ≠ l − 1 (B2/B5);
- another layer's gradient: dZ_l = dA_k ⊙ g′(Z_l) with k ≠ l, the top layer's dA fed to every layer (B4);
- another activation's derivative: dZ_l = dA_l ⊙ h′(Z_l), the sigmoid's in a ReLU layer (B4).
"""
import numpy as np

from compare.equations import derivative
from compare.numerics import norm_ratio
from compare.tolerances import RATIO_RTOL


def _answer(values, method):
    answer, error = values.get(method, (None, "absent"))
    return answer if error is None and hasattr(answer, "get") else {}


def _matches(got, candidate, dtype):
    got, candidate = np.asarray(got, dtype=np.float64), np.asarray(candidate, dtype=np.float64)
    return got.shape == candidate.shape and bool(np.any(candidate)) and \
        norm_ratio(got - candidate, candidate) < RATIO_RTOL[dtype]


def _dZ_candidates(l, L, forward, inner, activation):
    """{sentence: what dZ_l would be}: with another layer's dA, or another activation's derivative."""
    from impls.backends.numpy import ACTIVATIONS

    Z = forward.get(f"Z{l}")
    if Z is None or l >= L:
        return {}
    g, g_prime = ACTIVATIONS[activation]
    found = {}
    for k in range(1, L):
        dA = inner.get(f"dA{k}")
        if k != l and dA is not None and np.shape(dA) == np.shape(Z):
            found[f"dZ{l} = dA{k} ⊙ g′(Z{l}): it takes dA{k}, layer {k}'s gradient, where B4 needs dA{l} = "
                  f"W{l + 1}ᵀ dZ{l + 1}, its own (one layer's dA fed to every layer, as a loop that reads "
                  f"grads['dA{k}'] where it means grads['dA{l}'])"] = dA * g_prime(Z, g(Z))
    dA = inner.get(f"dA{l}")
    for other, (h, h_prime) in ACTIVATIONS.items():
        if other != activation and dA is not None:
            found[f"dZ{l} = dA{l} ⊙ {other}′(Z{l}): {other}'s derivative where layer {l}'s {activation} needs "
                  f"{derivative(activation, l)} (the layer sent backwards through {other}_backward)"] = \
                dA * h_prime(Z, h(Z))
    return found


def recognise(name, got, ref_values, activation, dtype, X=None):
    """One sentence naming the week-4 mistake that computes `got` where the reference has `name`; or None."""
    forward, inner = _answer(ref_values, "forward"), _answer(ref_values, "intermediates")
    grads = _answer(ref_values, "gradients")
    layers = [int(k[1:]) for k in forward if k.startswith("Z") and k[1:].isdigit()]
    if not layers or not name[-1].isdigit():
        return None
    L, l, kind = max(layers), int(name.lstrip("dZAWb")), name.rstrip("0123456789")
    got = np.asarray(got, dtype=np.float64)
    if kind == "db" and name in grads:
        ref = np.asarray(grads[name], dtype=np.float64)
        if got.shape != ref.shape and got.size == ref.size and _matches(got.reshape(ref.shape), ref, dtype):
            n = ref.shape[0]
            return (f"{name} has shape {got.shape}: the right numbers without their column axis; np.sum(dZ{l}, "
                    f"axis=1) drops it where the course keeps it (keepdims=True), and b{l} − α·{name} would then "
                    f"broadcast to ({n}, {n}).")
    activations = {0: X, **{k: forward.get(f"A{k}") for k in range(1, L + 1)}}
    m = np.shape(forward[f"Z{layers[0]}"])[1]
    candidates = _dZ_candidates(l, L, forward, inner, activation)
    if kind == "dZ":
        return next((f"{sentence}." for sentence, dZ in candidates.items() if _matches(got, dZ, dtype)), None)
    A_prev = activations.get(l - 1)
    if kind == "dW" and A_prev is not None:
        for sentence, dZ in candidates.items():
            if _matches(got, dZ @ np.asarray(A_prev, dtype=np.float64).T / m, dtype):
                return f"{sentence}, and B5 multiplies it on."
        dZ = inner.get(f"dZ{l}")
        for k, A in activations.items():
            if k != l - 1 and dZ is not None and A is not None and _matches(got, dZ @ np.asarray(A).T / m, dtype):
                return (f"{name} = (1/m) dZ{l} {'X' if k == 0 else f'A{k}'}ᵀ: it reads "
                        f"{'X' if k == 0 else f'A{k}'} where B{2 if l == L else 5} needs "
                        f"{'X' if l == 1 else f'A{l - 1}'}, the input of layer {l} (a wrong index into the caches: "
                        f"caches[{k}] for caches[{l - 1}]).")
    if kind == "db":
        for sentence, dZ in candidates.items():
            if _matches(got, np.sum(dZ, axis=1, keepdims=True) / m, dtype):
                return f"{sentence}, and B6 sums it on."
    return None
