"""The deep workloads: the week-4 application's network, per training step against the course's own loop, and a
large one whose gradient is timed against its own GEMM floor. Measured, then printed, as the other sections."""
import time
from dataclasses import dataclass

import numpy as np

import impls
from compare.bench.measure import _clock, _ready, interleaved, one_thread, per_iteration, round_ratio
from compare.bench.references import deep_floor_products, trainer

APP_TARGET = 1.15      # the numpy backend's training step / the course-style loop's
LARGE_TARGET = 1.3     # a backend's deep gradient compute / its framework's deep floor


@dataclass
class Deep:
    """The two deep workloads' shapes: the application's on the course's image layout, and the large one."""

    app_dims: list
    app_m: int
    large_dims: list
    large_m: int


# The week-4 application: 64×64×3 images flattened, m = 209 (train_catvnoncat.h5), its learning rate and init.
APP = {"dtype": "float64", "learning_rate": 0.0075, "activation": "relu", "scale": "sqrt"}
LARGE = {"dtype": "float32", "activation": "relu", "scale": "sqrt"}
FULL_DEEP = Deep([12288, 20, 7, 5, 1], 209, [784, 512, 512, 512, 1], 20000)
QUICK_DEEP = Deep([300, 20, 7, 5, 1], 50, [40, 24, 24, 24, 1], 600)


def deep_shapes(quick, hidden=None):
    """The workloads' shapes, with `hidden` (bench --hidden 20,7,5) as both networks' hidden layers."""
    d = QUICK_DEEP if quick else FULL_DEEP
    if hidden is None:
        return d
    return Deep([d.app_dims[0], *hidden, 1], d.app_m, [d.large_dims[0], *hidden, 1], d.large_m)


def app_problem(dims, m, seed=1):
    """Synthetic data of the application's layout: pixels k/255 (uint8 values scaled as the course does), 0/1
    labels, and the application's initial params (randn / √n_{l−1})."""
    rng = np.random.RandomState(seed)
    X = rng.randint(0, 256, size=(dims[0], m)) / 255
    Y = (rng.rand(1, m) > 0.5).astype(np.float64)
    return X, Y, impls.init_deep_params(dims, seed=seed, scale=APP["scale"])


def _layers(dims, m, dtype, seed=0):
    """Random Ws, As (As[0] = X), dZs of a network of `dims` on m examples: the deep floor's arrays."""
    rng = np.random.RandomState(seed)
    Ws = [rng.randn(n, n_prev).astype(dtype) for n_prev, n in zip(dims, dims[1:])]
    As = [rng.randn(n, m).astype(dtype) for n in dims[:-1]]
    dZs = [rng.randn(n, m).astype(dtype) for n in dims[1:]]
    return Ws, As, dZs


def bench_app(names, shapes, settings):
    """Seconds per training step of the course loop and every backend on the application's network, and of
    its products alone in NumPy (the floor), every framework on one thread: {name: (median, rounds)}."""
    X, Y, params = app_problem(shapes.app_dims, shapes.app_m)
    prepare, products = deep_floor_products("numpy")
    arrays = prepare(*_layers(shapes.app_dims, shapes.app_m, APP["dtype"]))

    def floor(n):
        for _ in range(n):
            products(*arrays)

    with one_thread():
        measures = {name: per_iteration(trainer(name, X, Y, params, APP["learning_rate"],
                                                activation=APP["activation"]), settings.block_s)
                    for name in ("course loop", *names)}
        measures["floor (numpy)"] = per_iteration(floor, settings.block_s)
        return interleaved(measures, settings.repeats)


def _large_calls(names, devices, shapes):
    """{(contender, figure): fn} of the large deep workload: "floor" per framework, "compute" (the gradient on
    arrays already in the backend's framework) per backend, each warmed up (compiled) once."""
    dims, m, dtype = shapes.large_dims, shapes.large_m, LARGE["dtype"]
    rng = np.random.RandomState(0)
    X = rng.randn(dims[0], m).astype(dtype)
    Y = (rng.rand(1, m) > 0.5).astype(dtype)
    params = impls.init_deep_params(dims, seed=0, scale=LARGE["scale"], dtype=dtype)
    layers = _layers(dims, m, dtype)
    calls = {}
    for framework in dict.fromkeys(["numpy", *names]):
        prepare, products = deep_floor_products(framework, devices.get(framework))
        calls[("floor", framework)] = lambda products=products, arrays=prepare(*layers): products(*arrays)
    for name in names:
        b = impls.get_backend(name, dtype=dtype, device=devices.get(name), activation=LARGE["activation"])
        q = b._inputs(params, X, Y)
        calls[(name, "compute")] = lambda gradients=b._hook("_gradients", q[0]), q=q: _ready(gradients(*q))
    for fn in calls.values():
        fn()
    return calls, layers[1][1]


def bench_large(names, devices, shapes, settings):
    """The large deep workload: {(contender, figure): (median seconds, rounds)}, figures "floor" and "pass" (one
    elementwise pass over an (n_1, m) array) per framework, "compute" per backend (_large_calls)."""
    from compare.bench.workloads import _elementwise_pass

    calls, a = _large_calls(names, devices, shapes)
    measures = {key: (lambda fn=fn: _clock(fn)) for key, fn in calls.items()}
    for framework in dict.fromkeys(["numpy", *names]):
        one = _elementwise_pass(framework, devices.get(framework), a)
        one()
        measures[("pass", framework)] = lambda one=one: _clock(one)
    return interleaved(measures, settings.repeats)


def cpu_one_thread(name, devices, shapes, repeats=3):
    """`name`'s deep gradient compute and its framework's floor on one thread, in CPU seconds (which the other
    processes on a busy machine enter less than the wall clock): (compute, floor), medians of `repeats`
    interleaved rounds. Tells a miss of the threads (work that does not split as the products do) from one of
    the work itself."""
    calls, _ = _large_calls([name], devices, shapes)
    framework = impls._REGISTRY[name][2] if name in impls.BACKENDS else name

    def cpu(fn):
        start = time.process_time()
        fn()
        return time.process_time() - start

    with one_thread():
        times = interleaved({k: (lambda fn=fn: cpu(fn)) for k, fn in calls.items() if k[1] == "compute"
                             or k == ("floor", framework)}, repeats)
    return times[(name, "compute")][0], times[("floor", framework)][0]


def deep_section(app, large, names, devices, shapes, settings):
    """The deep workloads' lines, as the other sections print theirs."""
    from compare.bench.report import _table, fmt, fmt_ratio

    rows = [["", "ms/step", "× course loop"]]
    for name in app:
        rows.append([name, fmt(app[name][0], 1e3), fmt_ratio(round_ratio(app, name, "course loop"))])
    lines = [f"Deep workload, the week-4 application: layer_dims {shapes.app_dims}, m={shapes.app_m}, "
             f"{APP['activation']} hidden layers, {APP['dtype']}, synthetic pixels k/255 of its layout",
             "  time per step of train(), against the course loop (its L_model_forward, L_model_backward and",
             "  update_parameters as the course writes them, dA0 = W1ᵀ·dZ1 included);",
             "  floor: the step's products alone, dA0 not included;",
             f"  median of {settings.repeats} interleaved rounds, ratios the median of each round's ratio; every "
             "framework on one thread", *_table(rows), ""]
    rows = [["", "ms", "× own floor", "× numpy floor"]]
    for framework in dict.fromkeys(["numpy", *names]):
        rows.append([f"floor ({framework})", fmt(large[("floor", framework)][0], 1e3), "1.00",
                     fmt_ratio(round_ratio(large, ("floor", framework), ("floor", "numpy")))])
    for name in names:
        rows.append([f"{name} gradient compute", fmt(large[(name, "compute")][0], 1e3),
                     *(fmt_ratio(round_ratio(large, (name, "compute"), ("floor", f))) for f in (name, "numpy"))])
    where = ", ".join(f"{n} on {d}" for n, d in devices.items()) or "everything on the CPU"
    return lines + [
        f"Deep workload, large: random data, layer_dims {shapes.large_dims}, m={shapes.large_m}, "
        f"{LARGE['activation']}, {LARGE['dtype']} ({where})",
        "  floor: the gradient's products alone, W_l·A_{l−1} and dZ_l·A_{l−1}ᵀ per layer, W_lᵀ·dZ_l for l ≥ 2,",
        "  in the framework's own matmul; compute: the backend's gradient on arrays already in its framework;",
        f"  median of {settings.repeats} interleaved rounds, each framework on its own threads", *_table(rows)]


def deep_targets(names, app, large):
    """The deep targets with this run's ratios, as report.targets gives the others."""
    out = []
    if "numpy" in names:
        value = round_ratio(app, "numpy", "course loop")
        out.append({"group": "deep", "backend": "numpy", "what": f"numpy deep step ≤ {APP_TARGET:g}× course loop",
                    "value": value, "limit": APP_TARGET, "met": value <= APP_TARGET})
    for name in names:
        value = round_ratio(large, (name, "compute"), ("floor", name))
        out.append({"group": "deep-large", "backend": name, "value": value, "limit": LARGE_TARGET,
                    "what": f"{name} deep gradient ≤ {LARGE_TARGET:g}× its floor", "met": value <= LARGE_TARGET})
    return out


def deep_bounds(missed, app, large, shapes, devices):
    """What bounds each missed deep target, from this run's figures and, for a large one on the CPU, the same
    gradient and floor measured again on one thread in CPU time: lines of text."""
    from compare.bench.report import fmt, fmt_ratio

    lines = []
    for target in missed:
        name = target["backend"]
        if target["group"] == "deep":
            step, course, floor = app["numpy"][0], app["course loop"][0], app["floor (numpy)"][0]
            lines.append(f"numpy, deep application: {fmt(step, 1e3)} ms per step, of which its products "
                         f"{fmt(floor, 1e3)} ms; the course loop {fmt(course, 1e3)} ms: the rest, "
                         f"{fmt((step - floor) * 1e3)} ms against {fmt((course - floor) * 1e3)} ms, is elementwise "
                         "work, calls and the caches of both")
            continue
        compute, floor, one = (large[k][0] for k in ((name, "compute"), ("floor", name), ("pass", name)))
        line = (f"{name}, deep large: gradient compute {fmt(compute, 1e3)} ms = its floor {fmt(floor, 1e3)} ms "
                f"+ {fmt(compute - floor, 1e3)} ms, the time of {(compute - floor) / one:.1f} elementwise passes "
                f"over an ({shapes.large_dims[1]}, m) array in {name} ({fmt(one, 1e3)} ms each, allocation "
                "included)")
        if not devices.get(name):
            cpu_compute, cpu_floor = cpu_one_thread(name, devices, shapes)
            ratio = cpu_compute / cpu_floor
            where = "on XLA's own threads (set when JAX starts), in CPU time of them all" if name == "jax" else \
                "on one thread, in CPU time"
            line += (f"; {where}: {fmt(cpu_compute, 1e3)} ms against {fmt(cpu_floor, 1e3)} ms, "
                     f"{fmt_ratio(ratio)}× its floor: " + (
                         "within the target, so the miss comes with the threads (or the load), not the work"
                         if ratio <= LARGE_TARGET else "the work beyond the products, not the threads"))
        lines.append(line)
    return lines
