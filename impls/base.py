"""The model contract every backend shares: parameters, input checks and the training loop.

A backend subclass supplies only what differs between frameworks: how arrays go in and out
(`_asarray`, `_numpy`), the forward pass and cost, and how the gradient is obtained.
"""
import math
import numbers
import os
from dataclasses import dataclass

import numpy as np

ACTIVATIONS = ("tanh", "relu", "sigmoid", "leaky_relu")
DTYPES = ("float64", "float32")
PARAM_NAMES = ("W1", "b1", "W2", "b2")
GRAD_NAMES = tuple("d" + k for k in PARAM_NAMES)
CACHE_NAMES = ("Z1", "A1", "Z2", "A2")
INTERMEDIATE_NAMES = ("dZ2", "dA1", "dZ1")
MAX_SEED = 2 ** 32 - 1  # NumPy's RandomState takes seeds 0 … 2**32 − 1
MAX_COUNT = 2 ** 63 - 1  # counts (iterations, sizes) are int64 inside NumPy, torch and JAX
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


def check_choice(value, name, choices):
    if not isinstance(value, str) or value not in choices:  # an array would compare elementwise
        raise ValueError(f"unknown {name} {value!r}; choose one of: {', '.join(choices)}")
    return value


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


def check_count(value, name, minimum):
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"{name} must be a whole number >= {minimum}, got {value!r}")
    if value > MAX_COUNT:
        raise ValueError(f"{name} must be at most {MAX_COUNT} (what a 64-bit integer holds), got {value!r}")
    return int(value)


def run_memory(n_x, n_h, n_y, m, dtype):
    """Bytes a training run holds at its peak: what `check_memory` compares with the machine.

    Calibrated on the numpy backend: tracemalloc's peak around one `_train(p, X, Y, 0.1, 1)` step
    (n_x=2, n_h=512, n_y=1, m=4000) held 4 to 6 arrays of (n_h, m) (Z1, A1, dA1, g1'(Z1), dZ1, and
    for leaky_relu in float32 a float64 temporary), the (n_y, m) ones and 3 copies of the parameters
    (old, gradients, new). The estimate allows 8 of each size, for torch's autograd and JAX, which
    keep the forward's values for the backward pass, and 4 copies of the parameters (init_params
    draws them in float64, then casts): 1.3 to 2 times numpy's measured peak.
    """
    itemsize = np.dtype(dtype).itemsize
    n_params = n_h * (n_x + 1) + n_y * (n_h + 1)
    return itemsize * (4 * n_params + (n_x + n_y) * m + 8 * (n_h + n_y) * m)


def machine_memory():
    """Bytes this process can still have: Linux's MemAvailable (at most a cgroup's limit), else all
    physical memory; None where the system does not say."""
    available = None
    try:
        with open("/proc/meminfo") as f:
            available = next(int(line.split()[1]) * 1024 for line in f if line.startswith("MemAvailable:"))
    except (OSError, StopIteration, ValueError, IndexError):
        try:
            available = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            pass
    try:  # a container's own limit (cgroup v2), often far below the host's memory; its memory.current
        # counts reclaimable page cache too, so only the limit itself caps what is available
        with open("/sys/fs/cgroup/memory.max") as f:
            limit = f.read().strip()
        if limit.isdigit():
            available = int(limit) if available is None else min(available, int(limit))
    except OSError:
        pass
    return available


ALWAYS_THERE = 2 ** 26  # 64 MiB: every machine this runs on has that, so /proc is not read for less


def check_memory(needed, what):
    """A ValueError naming `what` and both sizes when `needed` bytes exceed what the machine has."""
    if needed < ALWAYS_THERE:
        return
    available = machine_memory()
    if available is not None and needed > available:
        raise ValueError(f"{what} needs about {format_bytes(needed)}; this machine has "
                         f"{format_bytes(available)} available")


def check_run_memory(n_x, n_h, n_y, m, dtype):
    """Refuse, before allocating, a run of these sizes that the machine's memory cannot hold."""
    examples = f" and m={m} examples" if m else ""
    check_memory(run_memory(n_x, n_h, n_y, m, dtype),
                 f"n_h={n_h} with n_x={n_x}, n_y={n_y}{examples} in {dtype}")


def format_bytes(n):
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB", "EB"):
        if n < 1000 or unit == "EB":
            return f"{n:.0f} {unit}" if n < 1000 else f"{n:.2g} {unit}"
        n /= 1000


def check_learning_rate(value):
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"learning_rate must be a finite number > 0, got {value!r}")
    return float(value)


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


def _is_complex(a):
    try:
        return np.iscomplexobj(a)
    except (TypeError, ValueError):
        return False  # not an array of numbers at all; as_matrix's conversion says so


def as_matrix(a, name, dtype, layout):
    """`a` as a finite 2-D array of `dtype`, or a ValueError that says what is wrong."""
    if isinstance(a, np.ma.MaskedArray):  # converting would silently use the values under the mask
        raise ValueError(f"{name} is a masked array (numpy.ma), which is not supported: pass "
                         f"{name}.filled(value), or leave out the masked examples")
    if _is_complex(a):  # casting would silently drop the imaginary part
        raise ValueError(f"{name} must hold real numbers, got complex values")
    try:
        with np.errstate(over="ignore"):  # beyond float32's range becomes inf, refused below
            arr = np.asarray(a, dtype=dtype)
    except MemoryError:
        raise
    except Exception as e:  # any conversion error: a Python int beyond float range is an OverflowError
        raise ValueError(f"{name} must be an array of numbers ({type(e).__name__}: {e})") from None
    if arr.ndim != 2:
        raise ValueError(f"{name} must be 2-D {layout}, got shape {arr.shape}")
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} contains NaN or infinite values (in {dtype})")
    return arr


def check_data(X, Y, dtype):
    """X (n_x, m) and Y (n_y, m) with 0/1 labels, as `dtype` arrays."""
    X = as_matrix(X, "X", dtype, "(n_x, m): examples are columns")
    if X.shape[1] == 0:
        raise ValueError("X has no examples (m = 0)")
    if X.shape[0] == 0:
        raise ValueError("X has no features (n_x = 0)")
    if Y is None:
        return X, None
    Y = as_matrix(Y, "Y", dtype, "(n_y, m): use Y.reshape(1, -1) for one label per example")
    if Y.shape[0] == 0:
        raise ValueError("Y has no label rows (n_y = 0)")
    if Y.shape[1] != X.shape[1]:
        raise ValueError(f"X has {X.shape[1]} examples (columns) but Y has {Y.shape[1]}; "
                         "examples are columns: X is (n_x, m), Y is (n_y, m)")
    if not np.all((Y == 0) | (Y == 1)):
        raise ValueError(f"Y must hold 0/1 labels, found {np.unique(Y)[:5].tolist()}")
    return X, Y


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
            from impls.workers import check_workers
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
            from impls.workers import check_workers
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
