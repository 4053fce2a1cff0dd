"""Error measures and the finite-difference oracle, shared by the comparison and the tests."""
import numpy as np

from impls.base import PARAM_NAMES


def rel_error(a, b):
    """‖a − b‖ / (‖a‖ + ‖b‖), the course's gradient-check measure; 0 when both are zero."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    big = max(np.max(np.abs(a), initial=0.0), np.max(np.abs(b), initial=0.0))
    if big == 0:
        return 0.0
    if not np.isfinite(big):
        return float("nan")
    a, b = a / big, b / big  # the ratio is unchanged, and norms of huge parameters do not overflow
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))


def norm_ratio(a, b):
    """‖a‖ / ‖b‖, both scaled by their largest entry first, so that huge values cannot overflow the norms."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    big = max(np.max(np.abs(a), initial=0.0), np.max(np.abs(b), initial=0.0))
    if big == 0:
        return 0.0
    if not np.isfinite(big):
        return float("nan")
    top = np.linalg.norm(a / big)
    bottom = np.linalg.norm(b / big)
    return float(top / bottom) if bottom > 0 else (0.0 if top == 0 else float("inf"))


def accuracy(backend, params, X, Y):
    """The share of labels a backend's predictions get right (every output row counted)."""
    return float(np.mean(np.asarray(backend.predict(params, X)) == Y))


def max_abs_diff(a, b):
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


def numerical_gradients(cost, params, step):
    """Central differences (J(θ + h) − J(θ − h)) / 2h for every entry of every parameter.

    Args:
        cost: params -> float, e.g. `lambda p: backend.cost(p, X, Y)`.
        params: dict W1, b1, W2, b2 (not modified).
        step: h.

    Returns:
        dict dW1, db1, dW2, db2 of float64 arrays.
    """
    grads = {}
    for k in PARAM_NAMES:
        grad = np.zeros(params[k].shape)
        for idx in np.ndindex(params[k].shape):
            plus, minus = params[k].copy(), params[k].copy()
            plus[idx] += step
            minus[idx] -= step
            # Divide by the step actually taken, which rounding in float32 can make differ from 2h.
            taken = float(plus[idx]) - float(minus[idx])
            grad[idx] = (cost({**params, k: plus}) - cost({**params, k: minus})) / taken
        grads["d" + k] = grad
    return grads
