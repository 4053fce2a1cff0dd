"""Error measures and the finite-difference oracle, shared by the comparison and the tests."""
import numpy as np

from impls.base import depth, param_names


def largest(a, b):
    """The largest |entry| of a and b together; NaN if any entry is NaN (Python's max() of two would drop a
    NaN that comes second)."""
    return float(np.max(np.abs(np.concatenate([np.ravel(a), np.ravel(b)])), initial=0.0))


def _scaled(a, b):
    """a and b over their largest |entry|, which leaves any ratio of their norms as it is and keeps huge
    values from overflowing the norms; or the ratio itself where that is decided: 0.0 when both are zero,
    NaN when an entry is not finite."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    big = largest(a, b)
    if big == 0:
        return 0.0
    if not np.isfinite(big):
        return float("nan")
    return a / big, b / big


def rel_error(a, b):
    """‖a − b‖ / (‖a‖ + ‖b‖), the course's gradient-check measure; 0 when both are zero."""
    scaled = _scaled(a, b)
    if isinstance(scaled, float):
        return scaled
    a, b = scaled
    return float(np.linalg.norm(a - b) / (np.linalg.norm(a) + np.linalg.norm(b)))


def norm_ratio(a, b):
    """‖a‖ / ‖b‖, scaled first so that huge values cannot overflow the norms."""
    scaled = _scaled(a, b)
    if isinstance(scaled, float):
        return scaled
    top, bottom = (np.linalg.norm(v) for v in scaled)
    return float(top / bottom) if bottom > 0 else (0.0 if top == 0 else float("inf"))


def worst(values, default=0.0):
    """The largest of `values`, NaN if any is NaN: Python's max() skips a NaN that is not first, and a
    verdict taken from it would pass a NaN."""
    values = np.asarray(list(values), dtype=np.float64)
    return float(np.max(values)) if values.size else default


def accuracy(backend, params, X, Y):
    """The share of labels a backend's predictions get right (every output row counted)."""
    return float(np.mean(np.asarray(backend.predict(params, X)) == Y))


def max_abs_diff(a, b):
    return float(np.max(np.abs(np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64))))


def numerical_gradients(cost, params, step):
    """Central differences (J(θ + h) − J(θ − h)) / 2h for every entry of every parameter.

    Args:
        cost: params -> float, e.g. `lambda p: backend.cost(p, X, Y)`.
        params: dict W1, b1, …, WL, bL of any depth (not modified).
        step: h.

    Returns:
        dict dW1, db1, …, dWL, dbL of float64 arrays.
    """
    grads = {}
    for k in param_names(depth(params)):
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
