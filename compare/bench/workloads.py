"""The workloads: the course's run (small), random data of MNIST's size (large), the scaling sweep,
and the fresh process that times a cold run and measures memory."""
import json
import os
import re
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

import impls
from compare.bench.measure import _clock, _ready, interleaved, one_thread, peak_memory_mb, per_iteration, traced_peak_mb
from compare.bench.references import REFERENCES, floor_products, trainer
from impls import processes

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
    busy_iterations: int      # the course's run, scaled down, idle and with every core busy
    busy_repeats: int
    worker_steps: tuple       # (n1, n2): a step of a data-parallel backend is (t(n2) − t(n1)) / (n2 − n1)
    worker_repeats: int
    workers: tuple            # the worker counts of the data-parallel section (--workers)


FULL = Settings(7, 0.2, SMALL["iterations"], LARGE,
                {"m": [25, 100, 400, 1600, 6400, 25600], "n_h": [4, 16, 64, 256, 1024]}, 3, 0.05,
                2000, 3, (2, 8), 3, (1, 2, 4))
QUICK = Settings(2, 0.005, 200, {**LARGE, "m": 600, "n_x": 40, "n_h": 24},
                 {"m": [25, 100], "n_h": [4, 8]}, 1, 0.005, 100, 1, (2, 12), 1, (2,))
BUSY = ("numpy", "torch")   # timed idle and busy: BUSY_TARGET holds torch's slowdown against numpy's
# each data-parallel backend and the single-process backend it is timed against
TWINS = {"torch-ddp": "torch", "jax-sharded": "jax"}


def course_start_problem(n_x, n_h, m, dtype, seed=0):
    """Gaussian X (n_x, m), random 0/1 labels Y (1, m) and the course's initial params (weights × 0.01, zero
    biases): where a training run starts, which is what the bench times."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n_x, m).astype(dtype)
    Y = (rng.rand(1, m) > 0.5).astype(dtype)
    return X, Y, impls.init_params(n_x, n_h, seed=seed, dtype=dtype)


def memory_need(workload):
    """Bytes the large workload cannot do without: data, params, and one set of activations Z1, A1, Z2, A2."""
    item = np.dtype(workload["dtype"]).itemsize
    data = (workload["n_x"] + 1) * workload["m"] * item
    params = (workload["n_h"] * workload["n_x"] + 2 * workload["n_h"] + 1) * item
    activations = 2 * (workload["n_h"] + 1) * workload["m"] * item
    return {"data": data, "params": params, "activations": activations, "total": data + params + activations}


def bench_small(names, settings):
    """The course's run: steady-state seconds per iteration of every contender, {name: (median, rounds)}."""
    from impls.io.datasets import planar

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
    workload = settings.large
    X, Y, params = course_start_problem(workload["n_x"], workload["n_h"], workload["m"], workload["dtype"])
    dZ1 = np.random.RandomState(1).randn(workload["n_h"], workload["m"]).astype(workload["dtype"])
    lr = workload["learning_rate"]

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
        b = impls.get_backend(name, dtype=workload["dtype"], device=devices.get(name))
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
            X, Y, params = course_start_problem(2, n_h, m, "float64")
            with one_thread():
                measures = {name: per_iteration(trainer(name, X, Y, params, 0.1), settings.sweep_block_s,
                                                difference=name == "sklearn") for name in REFERENCES + tuple(names)}
                results = interleaved(measures, settings.sweep_repeats)
            for name, (median, _) in results.items():
                out.setdefault(axis, {}).setdefault(name, []).append(median)
    return out


@contextmanager
def busy_cores(n):
    """`n` processes spinning `while True: pass` for the length of the block; ended afterwards, also on
    Ctrl-C or an error, and with the bench if it is killed outright (impls/processes.py), so that none outlives it."""
    procs = []
    try:
        for _ in range(n):
            procs.append(processes.start([sys.executable, "-c", "while True: pass"]))
        time.sleep(0.5)  # until they hold their cores
        yield
    finally:
        for proc in procs:
            proc.stop()
        for proc in procs:
            proc.kill()


def bench_busy(settings, cores):
    """The course's run, numpy and torch, with the cores idle and then with `cores` busy processes.

    Returns:
        {(name, "idle" | "busy"): (median seconds per run of busy_iterations, rounds)}.
    """
    from impls.io.datasets import planar

    X, Y = planar()
    params = impls.init_params(X.shape[0], SMALL["n_h"], dtype=SMALL["dtype"])
    runs = {name: trainer(name, X, Y, params, SMALL["learning_rate"]) for name in BUSY}  # their own threads
    for run in runs.values():
        run(10)  # warm-up
    measures = {name: (lambda run=run: _clock(run, settings.busy_iterations)) for name, run in runs.items()}
    idle = interleaved(measures, settings.busy_repeats)
    with busy_cores(cores):
        busy = interleaved(measures, settings.busy_repeats)
    return {**{(n, "idle"): v for n, v in idle.items()}, **{(n, "busy"): v for n, v in busy.items()}}


def _step_child(name, workers, quick):
    """In a fresh process: seconds per training step of `name` on the large workload, with `workers`
    (0: a single-process backend, asked without it), and the fixed cost of one train() call."""
    settings = QUICK if quick else FULL
    workload = settings.large
    X, Y, params = course_start_problem(workload["n_x"], workload["n_h"], workload["m"], workload["dtype"])
    backend = impls.get_backend(name, dtype=workload["dtype"], **({"workers": workers} if workers else {}))

    def run(n):
        return _clock(lambda: backend.train(params, X, Y, learning_rate=workload["learning_rate"], iterations=n))

    run(1)  # warm-up: compilation, the workers' first start
    n1, n2 = settings.worker_steps
    rounds = [(run(n1), run(n2)) for _ in range(settings.worker_repeats)]
    step = statistics.median((t2 - t1) / (n2 - n1) for t1, t2 in rounds)
    if step <= 0:  # noise larger than n2 − n1 steps: the longer call's average, an upper bound
        step = statistics.median(t2 for _, t2 in rounds) / n2
    call = max(0.0, statistics.median(t1 for t1, _ in rounds) - n1 * step)
    print(json.dumps({"step_s": step, "call_s": call}))


def bench_workers(names, workers, quick):
    """Time per step of each data-parallel backend in `names` over `workers`, and of its single-process
    twin, each in a fresh process (JAX's CPU devices are fixed when it starts).

    Returns:
        {(name, workers or 0): {"step_s", "call_s"} or {"error"}}.
    """
    out = {}
    for name in names:
        out[(TWINS[name], 0)] = run_child(TWINS[name], "cpu", quick, workers=0)
        for n in workers:
            out[(name, n)] = run_child(name, "cpu", quick, workers=n)
    return out


def _child(name, device, quick):
    """In a fresh process: the course's whole run from a cold start, then the large workload's memory."""
    settings = QUICK if quick else FULL
    from impls.io.datasets import planar

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

    workload = settings.large
    X, Y, params = course_start_problem(workload["n_x"], workload["n_h"], workload["m"], workload["dtype"])
    gpu = None
    if name in REFERENCES:
        fn = lambda run=trainer(name, X, Y, params, workload["learning_rate"]): run(1)  # noqa: E731
    else:
        backend = impls.get_backend(name, dtype=workload["dtype"], device=device)
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


def run_child(name, device, quick, workers=None):
    """_child in a fresh interpreter (with `workers`, not None: _step_child); returns its figures, or
    {"error": ...}."""
    root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [root, os.environ.get("PYTHONPATH")]))}
    cmd = [sys.executable, "-m", "compare.bench", "--child", name, "--device", str(device)]
    if workers is not None:
        cmd += ["--workers", str(workers)]
        # JAX takes its CPU device count from XLA_FLAGS once, when it starts: set here, for the child alone
        flags = re.sub(r"--xla_force_host_platform_device_count=\S*", "", env.get("XLA_FLAGS", ""))
        env["XLA_FLAGS"] = f"{flags} --xla_force_host_platform_device_count={max(workers, 1)}".strip()
    child = processes.start(cmd + (["--quick"] if quick else []), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)  # under a supervisor: it dies with the bench, even one killed
    try:
        out, err = child.communicate(timeout=900)
    except subprocess.TimeoutExpired:
        return {"error": "no result within 15 minutes"}
    finally:
        child.kill()
    if child.returncode != 0:
        lines = err.strip().splitlines() or ["no output"]
        return {"error": f"exit status {child.returncode}: {lines[-1]}"}
    return json.loads(out.strip().splitlines()[-1])
