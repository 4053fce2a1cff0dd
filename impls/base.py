"""The model contract every backend shares: the names of its arrays, the parameters and their shapes, and
`Backend`, whose public methods check their inputs (checks.py, memory.py) and run the training loop.

A backend subclass supplies only what differs between frameworks: how arrays go in and out
(`_asarray`, `_numpy`), the forward pass and cost, and how the gradient is obtained.
"""
import math
import numbers
from dataclasses import dataclass

import numpy as np

from impls.checks import as_matrix, check_choice, check_count, check_data, check_learning_rate
from impls.memory import check_run_memory

ACTIVATIONS = ("tanh", "relu", "sigmoid", "leaky_relu")
DTYPES = ("float64", "float32")
PARAM_NAMES = ("W1", "b1", "W2", "b2")
GRAD_NAMES = tuple("d" + k for k in PARAM_NAMES)
CACHE_NAMES = ("Z1", "A1", "Z2", "A2")
INTERMEDIATE_NAMES = ("dZ2", "dA1", "dZ1")
MAX_SEED = 2 ** 32 - 1  # NumPy's RandomState takes seeds 0 … 2**32 − 1
# −log of the smallest positive float: a cost per output beyond it gives the average example's true
# label a probability that no float of the dtype can hold (e^-745 in float64, e^-103 in float32).
COST_LIMIT = {t: -math.log(float(np.finfo(t).smallest_subnormal)) for t in ("float64", "float32")}


class TrainingDiverged(FloatingPointError):
    """Training diverged: the cost became NaN, infinite or astronomically large, or the parameters overflowed."""


@dataclass
class TrainResult:
    """What `train` returns.

    Attributes:
        params: the trained parameters, NumPy arrays `W1, b1, W2, b2`.
        costs: `(iteration, cost)` pairs, the cost of the parameters before update `iteration`.
        final_cost: the cost of the returned parameters.
    """

    params: dict
    costs: list
    final_cost: float


def dtype_name(value):
    """The name of a floating dtype as any library spells it: "float64", np.float64, np.dtype("float64"),
    torch.float64, jnp.float64 all give "float64". A ValueError for anything but float64 and float32."""
    text = str(value)
    try:
        name = text[len("torch."):] if text.startswith("torch.") else np.dtype(value).name if value is not None \
            else None  # np.dtype(None) is float64
    except (TypeError, ValueError):
        name = None
    if name not in DTYPES:
        raise ValueError(f"dtype {value!r} is neither float64 nor float32")
    return name


def init_params(n_x, n_h, n_y=1, *, seed=0, scale=0.01, dtype="float64"):
    """Random weights and zero biases, as the course initialises them.

    Uses NumPy's legacy generator in the course's order (W1, then W2), so `seed=2`
    reproduces the course notebook's `initialize_parameters` exactly.

    Args:
        n_x, n_h, n_y: sizes of the input, hidden and output layers.
        seed: seed of the generator.
        scale: weights are standard Gaussian times `scale`; 0 gives the all-zero
            initialisation the lecture warns about.
        dtype: "float64" or "float32".

    Returns:
        dict of NumPy arrays W1 (n_h, n_x), b1 (n_h, 1), W2 (n_y, n_h), b2 (n_y, 1).
    """
    n_x, n_h, n_y = (check_count(n, name, 1) for n, name in ((n_x, "n_x"), (n_h, "n_h"), (n_y, "n_y")))
    check_choice(dtype, "dtype", DTYPES)
    if isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not math.isfinite(scale) or scale < 0:
        raise ValueError(f"scale must be a finite number >= 0, got {scale!r}")
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED}, got {seed!r}")
    check_run_memory(n_x, n_h, n_y, 0, dtype)
    rng = np.random.RandomState(seed)
    with np.errstate(over="ignore"):  # weights beyond the dtype's range become inf, refused below
        W1 = rng.randn(n_h, n_x) * scale
        W2 = rng.randn(n_y, n_h) * scale
        params = {"W1": W1, "b1": np.zeros((n_h, 1)), "W2": W2, "b2": np.zeros((n_y, 1))}
        params = {k: v.astype(dtype) for k, v in params.items()}
    if not (np.all(np.isfinite(params["W1"])) and np.all(np.isfinite(params["W2"]))):
        raise ValueError(f"scale={scale!r} makes weights overflow to infinity in {dtype}; "
                         "the course uses 0.01")
    return params



def check_params(params, n_x, n_y, dtype):
    """The parameter dict as `dtype` arrays with shapes that fit X (n_x, m) and Y (n_y, m)."""
    if not hasattr(params, "keys") or set(params.keys()) != set(PARAM_NAMES):
        got = sorted(params.keys()) if hasattr(params, "keys") else type(params).__name__
        raise ValueError(f"params must be a dict with keys W1, b1, W2, b2, got {got}")
    p = {k: as_matrix(params[k], k, dtype, "") for k in PARAM_NAMES}
    n_h = p["W1"].shape[0]
    if n_y is None:
        n_y = p["W2"].shape[0]
    expected = {"W1": (n_h, n_x), "b1": (n_h, 1), "W2": (n_y, n_h), "b2": (n_y, 1)}
    for k in PARAM_NAMES:
        if p[k].shape != expected[k]:
            raise ValueError(f"{k} has shape {p[k].shape}, expected {expected[k]} "
                             f"for n_x={n_x}, n_h={n_h}, n_y={n_y}")
    return p


class Backend:
    """One hidden layer network trained by gradient descent; subclasses say how, per framework.

    Every public method takes and returns NumPy arrays in course orientation
    (X is (n_x, m), Y is (n_y, m)) and never modifies its inputs.
    """

    name = None
    data_parallel = False  # True where `workers` splits the examples over processes or devices

    def __init__(self, *, activation="tanh", dtype="float64", device=None, workers=1):
        self.activation = check_choice(activation, "activation", ACTIVATIONS)
        self.dtype = check_choice(dtype, "dtype", DTYPES)
        self.device = device
        self.workers = check_count(workers, "workers", 1)
        if self.workers != 1 and not self.data_parallel:
            raise ValueError(f"the {self.name} backend runs in one process; workers={workers} is for "
                             "the data-parallel backends torch-ddp and jax-sharded")
        if self.data_parallel:
            from impls.memory import check_workers
            check_workers(self.name, self.workers)

    def __repr__(self):
        device = "" if self.device is None else f", device={self.device!r}"
        workers = "" if self.workers == 1 else f", workers={self.workers}"
        return f"{type(self).__name__}(activation={self.activation!r}, dtype={self.dtype!r}{device}{workers})"

    def _inputs(self, params, X, Y=None):
        X, Y = check_data(X, Y, self.dtype)
        p = check_params(params, X.shape[0], None if Y is None else Y.shape[0], self.dtype)
        check_run_memory(X.shape[0], p["W1"].shape[0], p["W2"].shape[0], X.shape[1], self.dtype)
        if self.data_parallel:
            from impls.memory import check_workers
            check_workers(self.name, self.workers, X.shape[0], p["W1"].shape[0], p["W2"].shape[0], X.shape[1],
                          self.dtype)
        arrays = [{k: self._asarray(v) for k, v in p.items()}, self._asarray(X)]
        return arrays if Y is None else arrays + [self._asarray(Y)]

    def _out(self, arrays, names):
        return {k: self._numpy(arrays[k]) for k in names}

    def forward(self, params, X):
        """F1-F4. Returns dict Z1, A1, Z2, A2."""
        return self._out(self._forward(*self._inputs(params, X)), CACHE_NAMES)

    def cost(self, params, X, Y):
        """Cross-entropy cost J, computed stably from Z2. Returns a float."""
        return float(self._cost(*self._inputs(params, X, Y)))

    def gradients(self, params, X, Y):
        """dJ/dθ for every parameter. Returns dict dW1, db1, dW2, db2 (shapes of the params)."""
        return self._out(self._gradients(*self._inputs(params, X, Y)), GRAD_NAMES)

    def intermediates(self, params, X, Y):
        """The intermediates of backprop in course scaling: dZ2, dA1 = W2ᵀdZ2 and dZ1, each m·∂J/∂(·)."""
        return self._out(self._intermediates(*self._inputs(params, X, Y)), INTERMEDIATE_NAMES)

    def predict_proba(self, params, X):
        """A2, the probability of label 1, shape (n_y, m)."""
        return self.forward(params, X)["A2"]

    def predict(self, params, X):
        """0/1 predictions (A2 > 0.5), shape (n_y, m)."""
        return (self.predict_proba(params, X) > 0.5).astype(np.int64)

    def train(self, params, X, Y, *, learning_rate, iterations, record_every=1000, callback=None):
        """Batch gradient descent, θ := θ − α·dθ for every parameter.

        Args:
            params: starting parameters (not modified).
            X, Y: data, (n_x, m) and (n_y, m).
            learning_rate: α > 0.
            iterations: number of updates, >= 0.
            record_every: the cost is recorded before updates 0, record_every, 2·record_every, …
                and checked there: training stops when it has diverged (see Raises).
            callback: called as callback(iteration, cost) at each record, for progress.

        Returns:
            TrainResult with .params (new arrays, never the caller's), .costs and .final_cost.

        Raises:
            TrainingDiverged: the cost became NaN, infinite or larger than the start's and beyond what
                probabilities in the dtype can express, or a parameter overflowed.
        """
        check_learning_rate(learning_rate)
        iterations = check_count(iterations, "iterations", 0)
        record_every = check_count(record_every, "record_every", 1)
        if callback is not None and not callable(callback):
            raise ValueError(f"callback must be callable, got {type(callback).__name__}")
        p, X, Y = self._inputs(params, X, Y)
        learning_rate = float(learning_rate)
        costs, done, start = [], 0, None
        with np.errstate(over="ignore", invalid="ignore"):  # overflow shows as a non-finite cost, checked here
            while done < iterations:
                costs.append((done, self._checked_cost(p, X, Y, done, learning_rate, start)))
                start = costs[0][1]
                if callback is not None:
                    callback(*costs[-1])
                n = min(record_every, iterations - done)
                p = self._train(p, X, Y, learning_rate, n)
                done += n
            final_cost = self._checked_cost(p, X, Y, done, learning_rate, start)
        # Copies: with 0 iterations p is the caller's memory (and JAX's arrays are read-only).
        params = {k: np.array(v, copy=True) for k, v in self._out(p, PARAM_NAMES).items()}
        return TrainResult(params=params, costs=costs, final_cost=final_cost)

    def _checked_cost(self, p, X, Y, iteration, learning_rate, start):
        # Diverged when the cost is NaN or infinite; when a parameter overflowed, even if the cost
        # stayed finite (tanh(inf) = 1); or when the cost rose above the start's and beyond COST_LIMIT
        # per output. Gradient descent that works lowers the cost, and no classifier whose
        # probabilities fit in the dtype costs more than COST_LIMIT on average: a learning rate of
        # 1e300 leaves finite costs of 1e299 that are no result.
        cost = float(self._cost(p, X, Y))
        problem = None
        if not math.isfinite(cost):
            problem = f"the cost is {cost}"
        elif not all(np.all(np.isfinite(self._numpy(v))) for v in p.values()):
            problem = f"the parameters overflowed to infinity or NaN (the cost is {cost:g})"
        elif start is not None and cost > start and cost > Y.shape[0] * COST_LIMIT[self.dtype]:
            problem = (f"the cost rose to {cost:g}, beyond what probabilities in {self.dtype} "
                       f"can express (from {start:g})")
        if problem is not None:
            raise TrainingDiverged(f"training diverged: {problem} at iteration {iteration} "
                                   f"with learning rate {learning_rate:g}; try a smaller learning rate")
        return cost
