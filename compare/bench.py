"""`python -m compare bench`: how fast each backend trains and how much memory it needs, as ratios to
the floor and to what users would write or pick instead, all measured in one run.

On a shared machine an absolute time is noise; a ratio of contenders timed in interleaved rounds of the
same run is not. Every time is the median of those rounds, warm-up (compilation) excluded, except the
whole run, which is timed once from a cold start in a fresh process.

References, each checked in tests/test_bench.py to compute what the backends compute:
  plain loop  the course's training loop as a student writes it: the ten equations inline, no checks
  sklearn     scikit-learn's MLPClassifier set up as the same full-batch gradient descent from our start
  floor       the two big products of a gradient, W1·X (F1) and dZ1·Xᵀ (B5), in each framework alone
"""
import argparse
import gc
import json
import os
import platform
import statistics
import subprocess
import sys
import time
import warnings
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import impls
from impls.base import PARAM_NAMES

REFERENCES = ("plain loop", "sklearn")
SMALL = {"dataset": "planar", "n_h": 4, "dtype": "float64", "learning_rate": 1.2, "iterations": 10000}
LARGE = {"m": 20000, "n_x": 784, "n_h": 256, "dtype": "float32", "learning_rate": 0.1}


@dataclass
class Settings:
    repeats: int              # interleaved rounds; each figure is their median
    block_s: float            # how long one timed block of training iterations lasts
    whole_iterations: int     # the course's run, timed from a cold start
    large: dict
    sweep: dict               # axis -> values: m at n_h=4, n_h at m=400, n_x=2, float64
    sweep_repeats: int
    sweep_block_s: float


FULL = Settings(7, 0.2, SMALL["iterations"], LARGE,
                {"m": [25, 100, 400, 1600, 6400, 25600], "n_h": [4, 16, 64, 256, 1024]}, 3, 0.05)
QUICK = Settings(2, 0.005, 200, {**LARGE, "m": 600, "n_x": 40, "n_h": 24},
                 {"m": [25, 100], "n_h": [4, 8]}, 1, 0.005)

# (backend, limit): steady state per iteration of the course's run, as a ratio to the plain loop
SMALL_TARGETS = {"jax": 0.15, "numpy": 1.1, "torch": 3.0}
LARGE_TIME_TARGET = 1.15    # gradient compute / the framework's two-GEMM floor
MEMORY_TARGET = 1.5         # peak / (data + params + one set of activations Z1, A1, Z2, A2)


# --- the references -------------------------------------------------------------------------------

def plain_numpy_loop(params, X, Y, learning_rate, iterations):
    """The course's gradient descent as a student writes it (without the cost it also computes each step).

    Returns:
        dict W1, b1, W2, b2 after `iterations` steps (tanh hidden layer, sigmoid output).
    """
    W1, b1, W2, b2 = (params[k] for k in PARAM_NAMES)
    m = X.shape[1]
    for _ in range(iterations):
        Z1 = np.dot(W1, X) + b1
        A1 = np.tanh(Z1)
        Z2 = np.dot(W2, A1) + b2
        A2 = 1 / (1 + np.exp(-Z2))
        dZ2 = A2 - Y
        dW2 = (1 / m) * np.dot(dZ2, A1.T)
        db2 = (1 / m) * np.sum(dZ2, axis=1, keepdims=True)
        dZ1 = np.dot(W2.T, dZ2) * (1 - np.power(A1, 2))
        dW1 = (1 / m) * np.dot(dZ1, X.T)
        db1 = (1 / m) * np.sum(dZ1, axis=1, keepdims=True)
        W1 = W1 - learning_rate * dW1
        b1 = b1 - learning_rate * db1
        W2 = W2 - learning_rate * dW2
        b2 = b2 - learning_rate * db2
    return {"W1": W1, "b1": b1, "W2": W2, "b2": b2}


class SklearnLoop:
    """scikit-learn's MLPClassifier as the same full-batch gradient descent, started from `params`.

    One tanh hidden layer and a logistic output, solver "sgd" on batches of all m examples, no momentum,
    no L2 penalty (alpha=0), constant learning rate, no shuffling, no early stopping, and a patience
    (n_iter_no_change) no run reaches, so that it takes every step asked for.
    """

    def __init__(self, params, X, Y, learning_rate):
        from sklearn.neural_network import MLPClassifier

        self.params = params
        self.X, self.y = X.T, (Y[0] if Y.shape[0] == 1 else Y.T)  # scikit-learn's examples are rows
        self.mlp = MLPClassifier(
            hidden_layer_sizes=(params["W1"].shape[0],), activation="tanh", solver="sgd", alpha=0.0,
            batch_size=X.shape[1], learning_rate="constant", learning_rate_init=learning_rate, momentum=0.0,
            nesterovs_momentum=False, shuffle=False, early_stopping=False, tol=0.0,
            n_iter_no_change=sys.maxsize, max_iter=1, warm_start=True, random_state=0)
        self._fit()  # builds the model (one step from its own random start); run() then sets ours

    def _fit(self):
        from sklearn.exceptions import ConvergenceWarning

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # "max_iter reached": that is the point
            self.mlp.fit(self.X, self.y)

    def run(self, iterations):
        """`iterations` steps from the starting params; returns the params in course orientation."""
        for layer, n in enumerate("12"):  # scikit-learn's weights are ours transposed, its biases flat
            self.mlp.coefs_[layer][...] = self.params["W" + n].T
            self.mlp.intercepts_[layer][...] = self.params["b" + n][:, 0]
        self.mlp.set_params(max_iter=iterations)
        self._fit()
        (c1, c2), (i1, i2) = self.mlp.coefs_, self.mlp.intercepts_
        return {"W1": c1.T.copy(), "b1": i1[:, None].copy(), "W2": c2.T.copy(), "b2": i2[:, None].copy()}


def floor_products(framework, device=None):
    """The floor of the large workload: its two big products alone, in `framework`'s own matmul.

    Returns:
        (prepare, products): prepare(W1, X, dZ1) puts NumPy arrays where `framework` computes (on
        `device`); products(W1, X, dZ1) returns W1·X and dZ1·Xᵀ of prepared arrays, finished.
    """
    framework = impls._REGISTRY[framework][2] if framework in impls.BACKENDS else framework  # tape: numpy
    if framework == "numpy":
        return (lambda *arrays: arrays), (lambda W1, X, dZ1: (W1 @ X, dZ1 @ X.T))
    if framework == "torch":
        import torch
        from impls.torch_backend import resolve_device

        dev = resolve_device(device)

        def products(W1, X, dZ1):
            out = torch.mm(W1, X), torch.mm(dZ1, X.T)
            if dev.type == "cuda":
                torch.cuda.synchronize()
            return out
        return (lambda *arrays: [torch.as_tensor(a, device=dev) for a in arrays]), products
    import jax
    from impls.jax_backend import aligned, resolve_device

    dev = resolve_device(device)
    both = jax.jit(lambda W1, X, dZ1: (W1 @ X, dZ1 @ X.T))
    return ((lambda *arrays: [jax.device_put(aligned(np.asarray(a)), dev) for a in arrays]),
            (lambda *arrays: jax.block_until_ready(both(*arrays))))


def random_problem(n_x, n_h, m, dtype, seed=0):
    """Gaussian X (n_x, m), random 0/1 labels Y (1, m) and the course's initial params."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n_x, m).astype(dtype)
    Y = (rng.rand(1, m) > 0.5).astype(dtype)
    return X, Y, impls.init_params(n_x, n_h, seed=seed, dtype=dtype)


# --- timing ---------------------------------------------------------------------------------------

def _clock(fn, *args):
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def _ready(out):
    """Wait for asynchronous results: JAX dispatches asynchronously, and so does torch on a GPU."""
    for value in out.values():
        if hasattr(value, "block_until_ready"):
            value.block_until_ready()
        elif getattr(getattr(value, "device", None), "type", None) == "cuda":
            import torch
            torch.cuda.synchronize()
    return out


def per_iteration(run, block_s, difference=False):
    """A measurement of seconds per iteration of run(n), in blocks of about `block_s`, warm-up done.

    With `difference` and blocks of fewer than 10 iterations, (t(2n) − t(n)) / n: for a run with a
    fixed cost per call (scikit-learn's fit checks its input each time) that n iterations do not hide.
    """
    run(1)  # warm-up: compilation, caches, lazy initialisation
    n, t = 1, _clock(run, 1)
    while t < block_s / 8 and n < 10 ** 7:
        n *= 8
        t = _clock(run, n)
    n = max(1, round(n * block_s / max(t, 1e-9)))
    if difference and n < 10:
        def measure():
            long, short = _clock(run, 2 * n), _clock(run, n)
            return (long - short) / n if long > short else long / (2 * n)  # noise larger than n steps
        return measure
    return lambda: _clock(run, n) / n


def interleaved(measures, repeats):
    """Run each measurement once per round, in turn, for `repeats` rounds.

    Returns:
        {name: (median, [every round's value])}.
    """
    values = {name: [] for name in measures}
    for _ in range(repeats):
        for name, measure in measures.items():
            values[name].append(measure())
    return {name: (statistics.median(v), v) for name, v in values.items()}


def round_ratio(results, a, b):
    """The median over rounds of a's figure / b's figure in the same round: robust to a load that drifts."""
    return statistics.median(x / y for x, y in zip(results[a][1], results[b][1]))


@contextmanager
def one_thread():
    """BLAS, OpenMP and torch on one thread, for the small sizes, where no framework gains from a second:
    on a shared machine a 2-thread region waits for a busy core, milliseconds for microseconds of work.
    (XLA splits no work this small.)"""
    from threadpoolctl import threadpool_limits

    torch = sys.modules.get("torch")
    threads = torch.get_num_threads() if torch else None
    if torch:
        torch.set_num_threads(1)
    try:
        with threadpool_limits(1):
            yield
    finally:
        if torch:
            torch.set_num_threads(threads)


def trainer(name, X, Y, params, learning_rate, device=None):
    """run(n): n steps of full-batch gradient descent by `name` (a backend or a reference)."""
    if name == "plain loop":
        return lambda n: plain_numpy_loop(params, X, Y, learning_rate, n)
    if name == "sklearn":
        return SklearnLoop(params, X, Y, learning_rate).run
    backend = impls.get_backend(name, dtype=X.dtype.name, device=device)
    return lambda n: backend.train(params, X, Y, learning_rate=learning_rate, iterations=n)


# --- memory ---------------------------------------------------------------------------------------

def _status_mb(field):
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    raise OSError(f"no {field} in /proc/self/status")


def _release_free_memory():
    gc.collect()
    try:
        import ctypes
        ctypes.CDLL("libc.so.6").malloc_trim(0)  # hand freed heap pages back, so that they are not counted
    except (OSError, AttributeError):
        pass


def peak_memory_mb(fn, gpu=None):
    """Working memory of fn() in MB: its peak beyond what the process held just before the call.

    On the CPU, the resident set's high-water mark (Linux VmHWM, reset through /proc/self/clear_refs),
    which sees every allocation: NumPy's, torch's and XLA's alike. With `gpu`, a torch.device or a JAX
    device on a GPU, its framework's own peak counter of device memory.
    """
    fn()  # warm-up: compilation and lazily allocated state are not the call's working memory
    _release_free_memory()
    if getattr(gpu, "type", None) == "cuda":  # torch
        import torch
        torch.cuda.synchronize(gpu)
        torch.cuda.reset_peak_memory_stats(gpu)
        before = torch.cuda.memory_allocated(gpu)
        fn()
        torch.cuda.synchronize(gpu)
        return (torch.cuda.max_memory_allocated(gpu) - before) / 2 ** 20
    if gpu is not None:  # JAX's peak cannot be reset: it includes the warm-up call, the same work
        before = gpu.memory_stats()["bytes_in_use"]
        fn()
        return (gpu.memory_stats()["peak_bytes_in_use"] - before) / 2 ** 20
    before = _status_mb("VmRSS")
    with open("/proc/self/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current resident size
    fn()
    return _status_mb("VmHWM") - before


def traced_peak_mb(fn):
    """The same for NumPy's allocations alone, by tracemalloc: a cross-check of the resident-set figure."""
    import tracemalloc

    fn()
    _release_free_memory()
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1] / 2 ** 20
    finally:
        tracemalloc.stop()


def _child(name, device, quick):
    """In a fresh process: the course's whole run from a cold start, then the large workload's memory."""
    settings = QUICK if quick else FULL
    from impls.datasets import planar

    out = {"import_s": None}
    start = time.perf_counter()
    if name != "plain loop":
        if name == "sklearn":
            import sklearn.neural_network  # noqa: F401
        else:
            impls.get_backend(name)  # imports the framework
        out["import_s"] = time.perf_counter() - start
    X, Y = planar()
    params = impls.init_params(X.shape[0], SMALL["n_h"], dtype=SMALL["dtype"])
    with one_thread():
        run = trainer(name, X, Y, params, SMALL["learning_rate"])
        out["whole_run_s"] = _clock(run, settings.whole_iterations)

    L = settings.large
    X, Y, params = random_problem(L["n_x"], L["n_h"], L["m"], L["dtype"])
    gpu = None
    if name in REFERENCES:
        fn = lambda run=trainer(name, X, Y, params, L["learning_rate"]): run(1)  # noqa: E731
    else:
        backend = impls.get_backend(name, dtype=L["dtype"], device=device)
        fn = lambda: backend.gradients(params, X, Y)  # noqa: E731
        gpu = backend._device if device not in (None, "cpu") else None
    try:
        out["memory_mb"] = peak_memory_mb(fn, gpu)
        out["memory_method"] = f"{name}'s GPU memory peak" if gpu else "resident-set high-water mark (VmHWM)"
        out["on_gpu"] = gpu is not None  # then the working memory holds the data too, copied to the device
    except OSError as e:
        out["memory_mb"], out["memory_method"] = None, f"not measured: {e}"
    if name in ("numpy", "plain loop"):
        out["traced_mb"] = traced_peak_mb(fn)
    out["x_offset"] = X.ctypes.data % 64  # XLA on the CPU reads X in place only at offset 0
    print(json.dumps(out))


def run_child(name, device, quick):
    """_child in a fresh interpreter; returns its figures, or {"error": ...}."""
    root = str(Path(__file__).resolve().parents[1])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "compare.bench", "--child", name, "--device", str(device)]
    try:
        proc = subprocess.run(cmd + (["--quick"] if quick else []), capture_output=True, text=True, env=env,
                              timeout=900)
    except subprocess.TimeoutExpired:
        return {"error": "no result within 15 minutes"}
    if proc.returncode != 0:
        lines = proc.stderr.strip().splitlines() or ["no output"]
        return {"error": f"exit status {proc.returncode}: {lines[-1]}"}
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- the workloads --------------------------------------------------------------------------------

def bench_small(names, settings):
    """The course's run: steady-state seconds per iteration of every contender, {name: (median, rounds)}."""
    from impls.datasets import planar

    X, Y = planar()
    params = impls.init_params(X.shape[0], SMALL["n_h"], dtype=SMALL["dtype"])
    with one_thread():
        measures = {name: per_iteration(trainer(name, X, Y, params, SMALL["learning_rate"]), settings.block_s,
                                        difference=name == "sklearn") for name in REFERENCES + tuple(names)}
        return interleaved(measures, settings.repeats)


def _elementwise_pass(framework, device, a):
    """One elementwise pass over an (n_h, m) array into a new one, in `framework`: the unit of the extras."""
    framework = impls._REGISTRY[framework][2] if framework in impls.BACKENDS else framework  # tape: numpy
    if framework == "numpy":
        return lambda: a * 2
    prepare, _ = floor_products(framework, device)
    (x,) = prepare(a)
    if framework == "torch":
        return lambda: _ready({"x": x * 2})
    import jax
    double = jax.jit(lambda x: x * 2)
    return lambda: double(x).block_until_ready()


def bench_large(names, devices, settings):
    """The large workload: {(contender, figure): (median seconds, rounds)}.

    Figures: "floor" and "pass" per framework; "gradients" (the public call, with its input checks and
    conversions), "compute" (the backend's gradient on arrays already in its framework) and
    "iteration" (one training step, likewise) per backend; "iteration" of the references.
    """
    L = settings.large
    X, Y, params = random_problem(L["n_x"], L["n_h"], L["m"], L["dtype"])
    dZ1 = np.random.RandomState(1).randn(L["n_h"], L["m"]).astype(L["dtype"])
    lr = L["learning_rate"]

    def once(fn):
        fn()  # warm-up
        return lambda: _clock(fn)

    measures = {}
    for framework in dict.fromkeys(["numpy", *names]):
        prepare, products = floor_products(framework, devices.get(framework))
        arrays = prepare(params["W1"], X, dZ1)
        measures[("floor", framework)] = once(lambda products=products, arrays=arrays: products(*arrays))
        measures[("pass", framework)] = once(_elementwise_pass(framework, devices.get(framework), dZ1))
    if "numpy" in names:  # B4's W2ᵀ·dZ2, a product over n_y = 1: by BLAS (the backend) and by broadcasting
        W2T, dZ2 = params["W2"].T.copy(), Y - 0.5
        measures[("numpy", "outer @")] = once(lambda: W2T @ dZ2)
        measures[("numpy", "outer *")] = once(lambda: W2T * dZ2)
    for name in REFERENCES:
        measures[(name, "iteration")] = per_iteration(trainer(name, X, Y, params, lr), settings.block_s,
                                                      difference=name == "sklearn")
    for name in names:
        b = impls.get_backend(name, dtype=L["dtype"], device=devices.get(name))
        q = b._inputs(params, X, Y)
        measures[(name, "gradients")] = once(lambda b=b: b.gradients(params, X, Y))
        measures[(name, "compute")] = once(lambda b=b, q=q: _ready(b._gradients(*q)))
        measures[(name, "iteration")] = once(lambda b=b, q=q: _ready(b._train(*q, lr, 1)))
    return interleaved(measures, settings.repeats)


def bench_sweep(names, settings):
    """Seconds per iteration over m (n_h=4) and over n_h (m=400), n_x=2, float64: {axis: {name: [medians]}}."""
    out = {}
    for axis, values in settings.sweep.items():
        for value in values:
            m, n_h = (value, 4) if axis == "m" else (400, value)
            X, Y, params = random_problem(2, n_h, m, "float64")
            with one_thread():
                measures = {name: per_iteration(trainer(name, X, Y, params, 0.1), settings.sweep_block_s,
                                                difference=name == "sklearn") for name in REFERENCES + tuple(names)}
                results = interleaved(measures, settings.sweep_repeats)
            for name, (median, _) in results.items():
                out.setdefault(axis, {}).setdefault(name, []).append(median)
    return out


def torch_ops_per_step():
    """How many aten ops torch dispatches for one training step of the course's run (forward, backward, update)."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from impls.datasets import planar

    class Count(TorchDispatchMode):
        n = 0

        def __torch_dispatch__(self, func, types, args=(), kwargs=None):
            Count.n += 1
            return func(*args, **(kwargs or {}))

    X, Y = planar()
    backend = impls.get_backend("torch")
    p, X, Y = backend._inputs(impls.init_params(2, SMALL["n_h"]), X, Y)

    def count(steps):
        Count.n = 0
        with Count():
            backend._train(p, X, Y, 1.0, steps)
        return Count.n

    ops = count(2) - count(1)  # per step, without the copies of the params made once per call
    small = torch.zeros((SMALL["n_h"], 400), dtype=torch.float64)
    with one_thread():
        op_s = min(_clock(lambda: [torch.tanh(small) for _ in range(200)]) / 200 for _ in range(9))
    return {"ops": ops, "op_us": op_s * 1e6}


def xla_kernel_us():
    """µs per kernel in a compiled XLA loop: per iteration, a loop of 16 chained small dots less one of 1, / 15.

    Dots do not fuse with each other, so each is a kernel of its own, and at (4, 4)·(4, 16), 256
    multiply-adds, nearly all of its time is dispatch. The fastest of 9 rounds.
    """
    import jax

    W, x = jax.numpy.eye(SMALL["n_h"]) * 0.5, jax.numpy.ones((SMALL["n_h"], 16))

    def loop(k):
        def body(_, x):
            for _ in range(k):
                x = W @ x
            return x
        f = jax.jit(lambda W, x, n: jax.lax.fori_loop(0, n, body, x))
        f(W, x, 10).block_until_ready()
        return lambda: _clock(lambda: f(W, x, 2000).block_until_ready()) / 2000

    times = interleaved({1: loop(1), 16: loop(16)}, 9)
    return (min(times[16][1]) - min(times[1][1])) * 1e6 / 15


def xla_ops_per_step():
    """How many XLA kernels (fusions, dots, copies) one step of the JAX training loop runs, from its compiled HLO."""
    import re
    from impls.datasets import planar

    X, Y = planar()
    backend = impls.get_backend("jax")
    p, X, Y = backend._inputs(impls.init_params(2, SMALL["n_h"]), X, Y)
    hlo = type(backend)._train.lower(backend, p, X, Y, 1.0, 1).compile().as_text()
    body = re.search(r"while\(.*?body=%?([\w.\-]+)", hlo)
    if not body:
        return None
    block = re.search(r"^%?" + re.escape(body.group(1)) + r" .*?^}", hlo, re.S | re.M)
    if not block:
        return None
    ops = re.findall(r"=\s*\S+\s+(fusion|dot|custom-call|copy|reduce|convolution|sort|scatter|gather)\(",
                     block.group(0))
    return len(ops) or None


# --- the report -----------------------------------------------------------------------------------

def _cpu_name():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine(names, devices):
    """What the figures were measured on."""
    import sklearn

    info = {"cpu": _cpu_name(), "cores": os.cpu_count(),
            "system": f"{platform.system()} {platform.release()} {platform.machine()}",
            "python": platform.python_version(), "numpy": np.__version__, "sklearn": sklearn.__version__}
    try:
        from threadpoolctl import threadpool_info
        info["blas"] = ", ".join(f"{i['internal_api']} {i['version']} ({i['num_threads']} threads)"
                                 for i in threadpool_info() if i["user_api"] == "blas")
    except ImportError:
        pass
    if "torch" in names:
        import torch
        info["torch"] = f"{torch.__version__} ({torch.get_num_threads()} threads)"
        if "torch" in devices:
            info["gpu"] = torch.cuda.get_device_name(impls.get_backend("torch", device=devices["torch"])._device)
    if "jax" in names:
        import jax
        info["jax"] = jax.__version__
        if "jax" in devices and "gpu" not in info:
            info["gpu"] = impls.get_backend("jax", device=devices["jax"])._device.device_kind
    return info


def large_devices(names, device):
    """({backend: device} for the large workload, notes); the rest runs on the CPU.

    Raises:
        ValueError: a GPU was asked for and no selected backend finds one.
    """
    if device in (None, "cpu"):
        return {}, []
    devices, reasons = {}, []
    for name in names:
        if name == "numpy":
            continue
        try:
            impls.get_backend(name, device=device)
            devices[name] = device
        except ValueError as e:
            reasons.append(f"{name}: {e}")
    if not devices:
        raise ValueError(f"--device {device}: " + ("; ".join(reasons) or "only torch and jax run on a GPU"))
    return devices, [f"{r}; it runs the large workload on the CPU" for r in reasons]


def _n(x, unit=1.0):
    """A time or size with 3-4 significant digits; '-' for a missing figure."""
    if x is None:
        return "-"
    x = x * unit
    return f"{x:.3g}" if abs(x) < 100 else f"{x:.0f}"


def _r(x):
    return "-" if x is None else f"{x:.2f}"


def _table(rows, indent="  "):
    """Rows of cells as lines: the first column left-aligned, the others right-aligned."""
    widths = [max(len(r[i]) for r in rows if i < len(r)) for i in range(max(map(len, rows)))]
    return [(indent + "  ".join(c.ljust(widths[0]) if i == 0 else c.rjust(widths[i])
                                for i, c in enumerate(row))).rstrip() for row in rows]


def _ratio(a, b):
    return None if a is None or b is None or b == 0 else a / b


def small_section(small, children, settings):
    t = {k: v[0] for k, v in small.items()}
    whole = {k: c.get("whole_run_s") for k, c in children.items()}
    rows = [["", "µs/iteration", "× plain loop", "× sklearn", "whole run s", "× plain loop", "import s"]]
    for name in small:
        rows.append([name, _n(t[name], 1e6), _r(round_ratio(small, name, "plain loop")),
                     _r(round_ratio(small, name, "sklearn")),
                     _n(whole.get(name)), _r(_ratio(whole.get(name), whole.get("plain loop"))),
                     _n(children.get(name, {}).get("import_s"))])
    s = SMALL
    return [f"Small workload: the course's run (planar, m=400, n_h={s['n_h']}, tanh, {s['dtype']}, "
            f"learning rate {s['learning_rate']})",
            f"  steady state: time per iteration of train(), median of {settings.repeats} interleaved rounds, "
            "warm-up excluded,",
            "  ratios the median of each round's ratio;",
            f"  whole run: {settings.whole_iterations} iterations from a cold start in a fresh process, "
            "compilation included, import apart;",
            "  every framework on one thread (none gains from a second at this size)", *_table(rows)]


def large_section(large, names, devices, settings):
    L = settings.large
    rows = [["", "ms", "× own floor", "× numpy floor", "× plain loop", "× sklearn"]]

    def row(label, key, floor):
        rows.append([label, _n(large[key][0], 1e3), *(_r(round_ratio(large, key, ref)) for ref in (
            floor, ("floor", "numpy"), ("plain loop", "iteration"), ("sklearn", "iteration")))])

    for framework in dict.fromkeys(["numpy", *names]):
        row(f"floor ({framework})", ("floor", framework), ("floor", framework))
    for name in REFERENCES:
        row(f"{name}, one iteration", (name, "iteration"), ("floor", "numpy"))
    for name in names:
        for figure, label in (("gradients", "gradients()"), ("compute", "gradient compute"),
                              ("iteration", "one iteration")):
            row(f"{name} {label}", (name, figure), ("floor", name))
    where = ", ".join(f"{n} on {d}" for n, d in devices.items()) or "everything on the CPU"
    return [f"Large workload: random data, m={L['m']}, n_x={L['n_x']}, n_h={L['n_h']}, {L['dtype']} ({where})",
            "  floor: W1·X and dZ1·Xᵀ alone, in the framework's own matmul; gradients(): the public call, with",
            "  its input checks and conversions; compute: the backend's gradient on arrays already in its framework",
            f"  median of {settings.repeats} interleaved rounds; ratios the median of each round's ratio",
            *_table(rows)]


def memory_need(L):
    """Bytes the large workload cannot do without: data, params, and one set of activations Z1, A1, Z2, A2."""
    item = np.dtype(L["dtype"]).itemsize
    data = (L["n_x"] + 1) * L["m"] * item
    params = (L["n_h"] * L["n_x"] + 2 * L["n_h"] + 1) * item
    activations = 2 * (L["n_h"] + 1) * L["m"] * item
    return {"data": data, "params": params, "activations": activations, "total": data + params + activations}


def memory_figures(children, L):
    """{name: {peak_mb, ratio, working_mb, arrays}} from the children's working memory."""
    need = memory_need(L)
    inputs = (need["data"] + need["params"]) / 2 ** 20
    array_mb = L["n_h"] * L["m"] * np.dtype(L["dtype"]).itemsize / 2 ** 20
    out = {}
    for name, c in children.items():
        working = c.get("memory_mb")
        peak = None if working is None else working + (0 if c.get("on_gpu") else inputs)
        out[name] = {"peak_mb": peak, "need_ratio": _ratio(peak, need["total"] / 2 ** 20), "working_mb": working,
                     "arrays": _ratio(working, array_mb), "traced_mb": c.get("traced_mb"),
                     "method": c.get("memory_method"), "error": c.get("error"), "x_offset": c.get("x_offset")}
    return out


def memory_section(memory, L):
    need = {k: v / 2 ** 20 for k, v in memory_need(L).items()}
    rows = [["", "peak MB", "× need", "working MB", "(n_h, m) arrays", "tracemalloc MB"]]
    for name, f in memory.items():
        rows.append([name, _n(f["peak_mb"]), _r(f["need_ratio"]), _n(f["working_mb"]), _r(f["arrays"]),
                     _n(f["traced_mb"])])
    methods = sorted({f["method"] for f in memory.values() if f["method"]})
    return ["Peak memory of one gradients() call on the large workload (the references: one iteration)",
            f"  need: data {need['data']:.1f} MB + params {need['params']:.1f} MB + activations Z1, A1, Z2, A2 "
            f"{need['activations']:.1f} MB = {need['total']:.1f} MB",
            "  peak = the inputs + the call's working memory: its peak beyond what the process held before,",
            f"  measured in a fresh process per contender after a warm-up call, by {'; '.join(methods)}",
            *_table(rows)]


def sweep_section(sweep, settings, plot_path):
    lines = ["Scaling: µs per iteration (× plain loop), n_x=2, float64, random data, one thread"
             + (f"; plot: {plot_path}" if plot_path else "")]
    for axis, label in (("m", "m (n_h=4)"), ("n_h", "n_h (m=400)")):
        series = sweep[axis]
        rows = [[label, *map(str, settings.sweep[axis])]]
        for name, times in series.items():
            rows.append([name, *(f"{_n(t, 1e6)} ({_r(_ratio(t, p))})" for t, p in zip(times, series["plain loop"]))])
        lines += _table(rows)
    return lines


def targets(names, small, large, memory):
    """Every target of the issue with its value in this run: [{group, backend, what, value, limit, met}]."""
    out = []

    def add(group, name, what, value, limit, strict=False):
        met = value is not None and (value < limit if strict else value <= limit)
        out.append({"group": group, "backend": name, "what": what, "value": value, "limit": limit, "met": met})

    for name, limit in SMALL_TARGETS.items():
        if name in names:
            add("small", name, f"{name} steady state ≤ {limit:g}× plain loop",
                round_ratio(small, name, "plain loop"), limit)
    for name in names:
        add("small", name, f"{name} faster than sklearn (< 1×)", round_ratio(small, name, "sklearn"), 1.0, strict=True)
    for name in names:
        add("large", name, f"{name} gradient compute ≤ {LARGE_TIME_TARGET:g}× its floor",
            round_ratio(large, (name, "compute"), ("floor", name)), LARGE_TIME_TARGET)
    for name in names:
        add("memory", name, f"{name} peak ≤ {MEMORY_TARGET:g}× need", memory[name]["need_ratio"], MEMORY_TARGET)
    return out


def bounds(missed, small, large, memory, sweep, settings, diagnostics):
    """For each missed target, what bounds it, from this run's measurements: lines of text."""
    t = {k: v[0] for k, v in small.items()}
    big = {k: v[0] for k, v in large.items()}
    lines = []
    for target in missed:
        name, group = target["backend"], target["group"]
        if group == "small":
            m0 = settings.sweep["m"][0]
            fixed = sweep["m"][name][0]
            if "sklearn" in target["what"]:
                lines.append(f"{name}, small: {_n(t[name], 1e6)} µs per iteration, scikit-learn "
                             f"{_n(t['sklearn'], 1e6)} µs")
                continue
            line = (f"{name}, small: {_n(t[name], 1e6)} µs per iteration at m=400, of which the {_n(fixed, 1e6)} µs "
                    f"it takes at m={m0} do not grow with the data (the plain loop: "
                    f"{_n(sweep['m']['plain loop'][0], 1e6)} µs at m={m0})")
            if name == "torch" and diagnostics.get("torch_ops"):
                d = diagnostics["torch_ops"]
                line += (f"; eager torch dispatches {d['ops']} aten ops per step (forward, backward, update), "
                         f"and one small op (tanh of 4×400) alone takes {_n(d['op_us'])} µs: "
                         f"{_n(d['ops'] * d['op_us'])} µs per step before autograd's own bookkeeping")
            if name == "numpy":
                line += (f"; the {_n((t['numpy'] - t['plain loop']) * 1e6)} µs it takes beyond the plain loop are "
                         "its structure: calls, the cache dict, the clipped sigmoid")
            if name == "jax" and diagnostics.get("xla_ops"):
                k = diagnostics["xla_ops"]
                line += f"; the compiled loop body runs {k} XLA kernels"
                if diagnostics.get("xla_kernel_us"):
                    line += (f"; one kernel with next to no work costs {_n(diagnostics['xla_kernel_us'])} µs "
                             f"(a loop of 16 small dots against one of 1): {_n(k * diagnostics['xla_kernel_us'])} µs "
                             "per step of dispatch alone")
        elif group == "large":
            compute, floor, one = big[(name, "compute")], big[("floor", name)], big[("pass", name)]
            line = (f"{name}, large: gradient compute {_n(compute, 1e3)} ms = its floor {_n(floor, 1e3)} ms + "
                    f"{_n(compute - floor, 1e3)} ms, the time of {(compute - floor) / one:.1f} elementwise passes "
                    f"over an (n_h, m) array in {name} ({_n(one, 1e3)} ms each, allocation included); "
                    f"gradients() adds {_n(big[(name, 'gradients')] - compute, 1e3)} ms of input checks and conversion")
            if name == "numpy" and ("numpy", "outer @") in big:
                line += (f"; of those, B4's W2ᵀ·dZ2, a product over n_y = 1, takes "
                         f"{_n(big[('numpy', 'outer @')], 1e3)} ms by BLAS, {_n(big[('numpy', 'outer *')], 1e3)} ms "
                         "by broadcasting")
        else:
            f = memory[name]
            if f["working_mb"] is None:
                line = f"{name}, memory: not measured ({f['error'] or f['method']})"
            else:
                L = settings.large
                need = memory_need(L)
                array_mb = L["n_h"] * L["m"] * np.dtype(L["dtype"]).itemsize / 2 ** 20
                allowed = (MEMORY_TARGET * need["total"] - need["data"] - need["params"]) / 2 ** 20 / array_mb
                line = (f"{name}, memory: {_n(f['working_mb'])} MB of working memory, {f['arrays']:.1f} times an "
                        f"(n_h, m) array, at the peak; the target leaves room for {allowed:.1f}; the plain loop "
                        f"holds {_r(memory['plain loop']['arrays'])}")
                if name == "jax" and f.get("x_offset"):
                    line += (f"; this includes XLA's copy of X, {need['data'] / 2 ** 20:.0f} MB: NumPy put X "
                             f"{f['x_offset']} bytes past a 64-byte boundary, and XLA reads only aligned arrays "
                             "in place")
        lines.append(line)
    return lines


def write_plot(sweep, settings, path):
    """The scaling sweep on log-log axes, over m and over n_h, one line per contender."""
    from compare.plots import _pyplot

    plt = _pyplot()
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.4))
    styles = {"plain loop": ("k", "--", "s"), "sklearn": ("gray", ":", "^")}
    for ax, (axis, label) in zip(axes, (("m", "m, examples (n_h = 4)"), ("n_h", "n_h, hidden units (m = 400)"))):
        for i, (name, times) in enumerate(sweep[axis].items()):
            color, ls, marker = styles.get(name, (f"C{i}", "-", "o"))
            ax.loglog(settings.sweep[axis], np.array(times) * 1e6, color=color, ls=ls, marker=marker, label=name)
        ax.set(xlabel=label, ylabel="µs per training iteration")
        ax.grid(alpha=0.3, which="both")
    axes[0].legend()
    fig.suptitle("Time per iteration of full-batch gradient descent (float64, n_x = 2)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


def _progress(text):
    if sys.stderr.isatty():
        print(text, file=sys.stderr, flush=True)


def cmd_bench(args):
    from dataclasses import replace

    names = args.backends or impls.available_backends()
    notes = [f"skipped {n}: not installed (pip install 'backprop-compare[{n}]')"
             for n in impls.BACKENDS if args.backends is None and n not in names]
    for name in names:
        impls.get_backend(name)  # a missing framework: one line, exit 2, before minutes of work
    settings = QUICK if args.quick else FULL
    if args.repeats:
        settings = replace(settings, repeats=args.repeats)
    if args.json is not None and not args.json.parent.is_dir():
        raise ValueError(f"--json {args.json}: folder {args.json.parent} does not exist")
    devices, device_notes = large_devices(names, args.device)
    notes += device_notes
    info = machine(names, devices)
    load = [os.getloadavg()[0]] if hasattr(os, "getloadavg") else []
    quick = " --quick (tiny workloads: checks the bench, not the speed)" if args.quick else ""
    print(f"backprop-compare bench{quick}: {', '.join(names)} against the plain NumPy loop, scikit-learn "
          "and the GEMM floor")
    print(f"  machine: {info['cpu']}, {info['cores']} cores, {info['system']}; python {info['python']}")
    print("  " + "; ".join(f"{k} {info[k]}" for k in ("numpy", "blas", "torch", "jax", "sklearn", "gpu") if k in info))
    print("  every ratio is between figures of this run; absolute times on a shared machine are noise", flush=True)

    _progress("timing the small workload...")
    small = bench_small(names, settings)
    _progress("cold runs and memory, one fresh process per contender...")
    children = {name: run_child(name, devices.get(name, "cpu"), args.quick) for name in REFERENCES + tuple(names)}
    notes += [f"{name}: its fresh process failed, {c['error']}" for name, c in children.items() if "error" in c]
    print()
    print("\n".join(small_section(small, children, settings)), flush=True)

    _progress("timing the large workload...")
    large = bench_large(names, devices, settings)
    memory = memory_figures(children, settings.large)
    print()
    print("\n".join(large_section(large, names, devices, settings)))
    print()
    print("\n".join(memory_section(memory, settings.large)), flush=True)

    _progress("timing the scaling sweep...")
    sweep = bench_sweep(names, settings)
    plot = None if args.no_plots else args.plots / "bench_scaling.png"
    if plot is not None:
        write_plot(sweep, settings, plot)
    print()
    print("\n".join(sweep_section(sweep, settings, plot)))

    diagnostics = {}
    if "torch" in names:
        diagnostics["torch_ops"] = torch_ops_per_step()
    if "jax" in names:
        diagnostics["xla_ops"] = xla_ops_per_step()
        diagnostics["xla_kernel_us"] = xla_kernel_us()
    checks = targets(names, small, large, memory)
    missed = [c for c in checks if not c["met"]]
    rows = [[c["group"], c["what"], _r(c["value"]), "met" if c["met"] else "MISSED"] for c in checks]
    print()
    print("Targets (ratios from this run)" + ("; --quick: tiny workloads, no verdict on the speed" if args.quick else ""))
    print("\n".join(_table(rows)))
    print(f"  {len(checks) - len(missed)} of {len(checks)} met")
    why = bounds(missed, small, large, memory, sweep, settings, diagnostics)
    if why:
        print()
        print("What bounds the missed targets (measured in this run" + (", at --quick's sizes)" if args.quick else ")"))
        for line in why:
            print(f"  {line}")
    load += [os.getloadavg()[0]] if load else []
    if load:
        notes.append(f"load average {load[0]:.2f} at the start, {load[1]:.2f} at the end ({info['cores']} cores)")
    for note in notes:
        print(f"note: {note}")
    if args.json is not None:
        report = {"machine": info, "settings": {**vars(settings), "small": SMALL}, "notes": notes,
                  "devices": devices or {"all": "cpu"},
                  "small": {k: {"median_s": v[0], "rounds_s": v[1], **children.get(k, {})} for k, v in small.items()},
                  "large": {f"{a} {b}": {"median_s": v[0], "rounds_s": v[1]} for (a, b), v in large.items()},
                  "memory": {**memory, "need_bytes": memory_need(settings.large)},
                  "sweep": {axis: {"values": settings.sweep[axis], "seconds": s} for axis, s in sweep.items()},
                  "diagnostics": diagnostics, "targets": checks, "bounds": why}
        args.json.write_text(json.dumps(report, indent=1, allow_nan=False))
        print(f"Figures written to {args.json}")
    return 0


def register(subparsers):
    from compare.cli import backend_list, positive_int

    p = subparsers.add_parser("bench", help="time and memory of every backend against the GEMM floor, the plain "
                              "NumPy loop and scikit-learn, as ratios measured in one run (a few minutes)")
    p.add_argument("--backends", type=backend_list, default=None, metavar="A,B,...",
                   help="comma-separated (default: every installed backend)")
    p.add_argument("--device", default=None,
                   help="where torch and jax run the large workload: cpu, cuda, cuda:N, gpu (default: cpu)")
    p.add_argument("--repeats", type=positive_int, default=None, metavar="N",
                   help=f"interleaved rounds per figure (default: {FULL.repeats}; --quick: {QUICK.repeats})")
    p.add_argument("--quick", action="store_true", help="tiny workloads, seconds: checks the bench, not the speed")
    p.add_argument("--json", type=Path, default=None, metavar="PATH", help="also write every figure as JSON")
    p.add_argument("--plots", type=Path, default=Path("compare-plots"), metavar="DIR",
                   help="folder for the scaling plot, bench_scaling.png (default: ./compare-plots, beside "
                   "the comparison's pictures)")
    p.add_argument("--no-plots", action="store_true", help="write no picture")
    p.set_defaults(func=cmd_bench)


if __name__ == "__main__":  # the fresh process of run_child
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", required=True)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--quick", action="store_true")
    a = parser.parse_args()
    _child(a.child, None if a.device == "cpu" else a.device, a.quick)
