"""The model contract every backend shares: the names of its arrays, the parameters and their shapes, and
`Backend`, whose public methods check their inputs (checks.py, memory.py) and run the training loop.

A backend subclass supplies only what differs between frameworks: how arrays go in and out
(`_asarray`, `_numpy`), the forward pass and cost, and how the gradient is obtained: once for the two-layer
network (`_forward` …, the week-3 lecture's lines) and once for any depth L (`_deep_forward` …, week 4).
The depth is read from the parameters as the course does, L = len(parameters) // 2.
"""
import math
import numbers
import re
from contextlib import nullcontext
from dataclasses import dataclass

import numpy as np

from impls.checks import as_matrix, check_choice, check_count, check_data, check_learning_rate
from impls.memory import check_layers_memory, check_run_memory
from impls.threads import blas_threads_for, problem_size

ACTIVATIONS = ("tanh", "relu", "sigmoid", "leaky_relu")
DTYPES = ("float64", "float32")


def param_names(L):
    """W1, b1, …, WL, bL: the parameters of an L-layer network."""
    return tuple(f"{k}{l}" for l in range(1, L + 1) for k in "Wb")


def grad_names(L):
    """dW1, db1, …, dWL, dbL."""
    return tuple("d" + k for k in param_names(L))


def cache_names(L):
    """Z1, A1, …, ZL, AL: what `forward` returns, in the order it computes them."""
    return tuple(f"{k}{l}" for l in range(1, L + 1) for k in "ZA")


def intermediate_names(L):
    """dZL, dA(L−1), dZ(L−1), …, dA1, dZ1: backprop's intermediates in the order it computes them."""
    return (f"dZ{L}",) + tuple(f"{k}{l}" for l in range(L - 1, 0, -1) for k in ("dA", "dZ"))


# The two-layer network's names (week 3), which the comparison, explain and the grader read.
PARAM_NAMES = param_names(2)
GRAD_NAMES = grad_names(2)
CACHE_NAMES = cache_names(2)
INTERMEDIATE_NAMES = intermediate_names(2)
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
        params: the trained parameters, NumPy arrays `W1, b1, …, WL, bL`.
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


def init_deep_params(layer_dims, seed=3, scale=0.01, *, dtype="float64"):
    """Random weights and zero biases for an L-layer network, as the course's week 4 initialises them.

    For l = 1 … L: W_l = randn(n_l, n_{l−1}) · scale, b_l = zeros((n_l, 1)), drawn in that order from NumPy's
    legacy generator seeded with `seed`: the numbers of `np.random.seed(seed)` then `np.random.randn`, without
    touching NumPy's global state. With the defaults it is the course's `initialize_parameters_deep` exactly;
    `scale="sqrt"` divides by √n_{l−1} instead, the week-4 application's initialisation (seed 1 there).
    For [n_x, n_h, n_y] it gives what `init_params` gives for the same seed and scale.

    Args:
        layer_dims: [n_x, n_1, …, n_L], at least two sizes, each >= 1.
        seed: seed of the generator.
        scale: a number >= 0 (0 gives the all-zero start the lecture warns about), or "sqrt".
        dtype: "float64" or "float32".

    Returns:
        dict of NumPy arrays W1, b1, …, WL, bL.
    """
    if isinstance(layer_dims, (str, bytes)) or not hasattr(layer_dims, "__len__") or np.ndim(layer_dims) != 1:
        raise ValueError(f"layer_dims must be a list of layer sizes [n_x, n_1, …, n_L], got {layer_dims!r}")
    if len(layer_dims) < 2:
        raise ValueError("layer_dims must hold at least two sizes, the input's and the output's, "
                         f"got {list(layer_dims)}")
    dims = [check_count(n.item() if isinstance(n, np.generic) else n, f"layer_dims[{i}]", 1)
            for i, n in enumerate(layer_dims)]
    check_choice(dtype, "dtype", DTYPES)
    sqrt = isinstance(scale, str) and scale == "sqrt"
    if not sqrt and (isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not math.isfinite(scale)
                     or scale < 0):
        raise ValueError(f"scale must be a finite number >= 0 or 'sqrt', got {scale!r}")
    _check_seed(seed)
    check_layers_memory(dims, 0, dtype)
    rng = np.random.RandomState(seed)
    params = {}
    with np.errstate(over="ignore"):  # weights beyond the dtype's range become inf, refused below
        for l in range(1, len(dims)):
            W = rng.randn(dims[l], dims[l - 1])
            params[f"W{l}"] = (W / np.sqrt(dims[l - 1]) if sqrt else W * scale).astype(dtype)
            params[f"b{l}"] = np.zeros((dims[l], 1), dtype=dtype)
    if not all(np.all(np.isfinite(w)) for w in params.values()):
        raise ValueError(f"scale={scale!r} makes weights overflow to infinity in {dtype}; "
                         "the course uses 0.01, or 'sqrt' for deep networks")
    return params


def _check_seed(seed):
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be a whole number from 0 to {MAX_SEED}, got {seed!r}")


LAYER_KEY = re.compile(r"[Wb]([1-9][0-9]*)")  # W1, b1, W2, …: a parameter's name and its layer


def names_text(L):
    """The keys of an L-layer network, written out (W1, b1, W2, b2) or, past three layers, elided."""
    if L <= 3:
        return ", ".join(param_names(L))
    return f"W1, b1, …, W{L}, b{L}"


def depth(params):
    """L, the number of layers, as the course reads it (L = len(parameters) // 2) once the keys are exactly
    W1, b1, …, WL, bL; else a ValueError that names what is missing or not a parameter."""
    if not hasattr(params, "keys"):
        raise ValueError(f"params must be a dict with keys W1, b1, …, WL, bL, got {type(params).__name__}")
    keys = list(params.keys())
    layers = [int(match.group(1)) for k in keys if isinstance(k, str) and (match := LAYER_KEY.fullmatch(k))]
    if not layers:
        shown = sorted(map(str, keys))[:6]
        raise ValueError(f"params must be a dict with keys W1, b1, …, WL, bL (an L-layer network), got {shown}")
    L = max(layers)
    unexpected = [k for k in keys if not (isinstance(k, str) and LAYER_KEY.fullmatch(k))]
    problems = []
    if len(layers) < 2 * L:  # the highest layer named says how many keys there must be; list the first missing
        missing = []
        for name in (f"{k}{l}" for l in range(1, L + 1) for k in "Wb"):
            if name not in params:
                missing.append(name)
                if len(missing) == 4:
                    break
        more = 2 * L - len(layers) - len(missing)
        problems.append(f"{', '.join(missing)}{f' and {more} more' if more > 0 else ''} missing")
    if unexpected:
        problems.append(f"{', '.join(map(repr, unexpected[:4]))} {'is' if len(unexpected) == 1 else 'are'} "
                        "not a parameter")
    if problems:
        raise ValueError(f"params must be a dict with keys {names_text(L)}: {'; '.join(problems)}")
    return L


def layer_dims(params):
    """[n_x, n_1, …, n_L] of parameters whose shapes fit together (as `check_params` returns them)."""
    L = len(params) // 2
    return [params["W1"].shape[1]] + [params[f"W{l}"].shape[0] for l in range(1, L + 1)]


def sizes_text(dims):
    """How messages name a network's sizes: n_x, n_h, n_y for one hidden layer, else its layer_dims."""
    if len(dims) == 3:
        return f"n_x={dims[0]}, n_h={dims[1]}, n_y={dims[2]}"
    return f"layer_dims {list(dims)}"


def check_params(params, n_x, n_y, dtype):
    """The parameter dict of any depth as `dtype` arrays with shapes that fit X (n_x, m) and Y (n_y, m):
    W_l (n_l, n_{l−1}) and b_l (n_l, 1), n_0 = n_x and n_L = n_y."""
    L = depth(params)
    names = param_names(L)
    p = {k: as_matrix(params[k], k, dtype, "") for k in names}
    dims = [n_x] + [p[f"W{l}"].shape[0] for l in range(1, L + 1)]
    if n_y is not None:
        dims[-1] = n_y
    for l in range(1, L + 1):
        for k, expected in ((f"W{l}", (dims[l], dims[l - 1])), (f"b{l}", (dims[l], 1))):
            if p[k].shape != expected:
                raise ValueError(f"{k} has shape {p[k].shape}, expected {expected} for {sizes_text(dims)}")
    return p


class Backend:
    """A network of any depth trained by gradient descent; subclasses say how, per framework.

    Every public method takes and returns NumPy arrays in course orientation
    (X is (n_x, m), Y is (n_y, m)) and never modifies its inputs. The depth L is read from the parameters
    (W1, b1, …, WL, bL): L = 2 runs the two-layer hooks (`_forward`, …, the week-3 lecture's lines), any
    other depth the deep ones (`_deep_forward`, …, week 4's loop over layers).
    """

    name = None
    data_parallel = False  # True where `workers` splits the examples over processes or devices
    numpy_blas = False  # True where the products are NumPy's: BLAS then follows impls/threads.py's rule

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
        check_layers_memory(layer_dims(p), X.shape[1], self.dtype)
        if self.data_parallel:
            from impls.memory import check_workers
            check_workers(self.name, self.workers, layer_dims(p), X.shape[1], self.dtype)
        arrays = [{k: self._asarray(v) for k, v in p.items()}, self._asarray(X)]
        return arrays if Y is None else arrays + [self._asarray(Y)]

    def _threads(self, p, X):
        """Where the products are NumPy's, BLAS on one thread for a problem too small to share, scoped to the call
        (impls/threads.py); torch keeps its own threads by the same rule, XLA its own."""
        return blas_threads_for(problem_size(p, X)) if self.numpy_blas else nullcontext()

    def _out(self, arrays, names):
        return {k: self._numpy(arrays[k]) for k in names}

    def _hook(self, name, p):
        """The two-layer network's hook `name` for two layers (the week-3 lines), the deep one's otherwise."""
        return getattr(self, name if len(p) == 4 else "_deep" + name)

    def _call(self, name, params, X, Y=None, names=None):
        arrays = self._inputs(params, X, Y)
        with self._threads(*arrays[:2]):
            out = self._hook(name, arrays[0])(*arrays)
        return out if names is None else self._out(out, names(len(arrays[0]) // 2))

    def forward(self, params, X):
        """F1-F4 for two layers, F1-F2 per hidden layer and F3-F4 for the output layer L at any depth.
        Returns dict Z1, A1, …, ZL, AL (Z1, A1, Z2, A2 for two layers)."""
        return self._call("_forward", params, X, names=cache_names)

    def cost(self, params, X, Y):
        """Cross-entropy cost J, computed stably from ZL. Returns a float."""
        return float(self._call("_cost", params, X, Y))

    def gradients(self, params, X, Y):
        """dJ/dθ for every parameter. Returns dict dW1, db1, …, dWL, dbL (shapes of the params)."""
        return self._call("_gradients", params, X, Y, names=grad_names)

    def intermediates(self, params, X, Y):
        """The intermediates of backprop in course scaling, each m·∂J/∂(·) from the backend's own autograd:
        dZL, dA(L−1), dZ(L−1), …, dA1, dZ1 (intermediate_names); dZ2, dA1 = W2ᵀdZ2 and dZ1 for two layers."""
        return self._call("_intermediates", params, X, Y, names=intermediate_names)

    def predict_proba(self, params, X):
        """AL (A2 for two layers), the probability of label 1, shape (n_y, m)."""
        out = self.forward(params, X)
        return out[f"A{len(out) // 2}"]

    def predict(self, params, X):
        """0/1 predictions (AL > 0.5), shape (n_y, m)."""
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
                with self._threads(p, X):  # not around the callback: the caller's code runs on its own threads
                    costs.append((done, self._checked_cost(p, X, Y, done, learning_rate, start)))
                start = costs[0][1]
                if callback is not None:
                    callback(*costs[-1])
                n = min(record_every, iterations - done)
                with self._threads(p, X):
                    p = self._hook("_train", p)(p, X, Y, learning_rate, n)
                done += n
            with self._threads(p, X):
                final_cost = self._checked_cost(p, X, Y, done, learning_rate, start)
        # Copies: with 0 iterations p is the caller's memory (and JAX's arrays are read-only).
        params = {k: np.array(v, copy=True) for k, v in self._out(p, param_names(len(p) // 2)).items()}
        return TrainResult(params=params, costs=costs, final_cost=final_cost)

    def _checked_cost(self, p, X, Y, iteration, learning_rate, start):
        # Diverged when the cost is NaN or infinite; when a parameter overflowed, even if the cost
        # stayed finite (tanh(inf) = 1); or when the cost rose above the start's and beyond COST_LIMIT
        # per output. Gradient descent that works lowers the cost, and no classifier whose
        # probabilities fit in the dtype costs more than COST_LIMIT on average: a learning rate of
        # 1e300 leaves finite costs of 1e299 that are no result.
        cost = float(self._hook("_cost", p)(p, X, Y))
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
