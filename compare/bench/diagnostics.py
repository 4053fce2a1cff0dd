"""Diagnostics: what bounds each missed target, from this run's measurements (aten ops per torch step,
XLA kernels per compiled step and the cost of one, elementwise passes, working arrays)."""
import numpy as np

import impls
from compare.bench.measure import _clock, interleaved, one_thread
from compare.bench.report import MEMORY_TARGET, busy_figures, fmt, fmt_ratio
from compare.bench.workloads import SMALL, memory_need


def torch_ops_per_step():
    """How many aten ops torch dispatches for one training step of the course's run (forward, backward, update)."""
    import torch
    from torch.utils._python_dispatch import TorchDispatchMode
    from impls.io.datasets import planar

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
    from impls.io.datasets import planar

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


def bounds(missed, small, large, memory, sweep, settings, diagnostics, busy=None):
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
                lines.append(f"{name}, small: {fmt(t[name], 1e6)} µs per iteration, scikit-learn "
                             f"{fmt(t['sklearn'], 1e6)} µs")
                continue
            line = (f"{name}, small: {fmt(t[name], 1e6)} µs per iteration at m=400, of which the {fmt(fixed, 1e6)} µs "
                    f"it takes at m={m0} do not grow with the data (the plain loop: "
                    f"{fmt(sweep['m']['plain loop'][0], 1e6)} µs at m={m0})")
            if name == "torch" and diagnostics.get("torch_ops"):
                d = diagnostics["torch_ops"]
                line += (f"; eager torch dispatches {d['ops']} aten ops per step (forward, backward, update), "
                         f"and one small op (tanh of 4×400) alone takes {fmt(d['op_us'])} µs: "
                         f"{fmt(d['ops'] * d['op_us'])} µs per step before autograd's own bookkeeping")
            if name == "numpy":
                line += (f"; the {fmt((t['numpy'] - t['plain loop']) * 1e6)} µs it takes beyond the plain loop are "
                         "its structure: calls, the cache dict, the clipped sigmoid")
            if name == "jax" and diagnostics.get("xla_ops"):
                k = diagnostics["xla_ops"]
                line += f"; the compiled loop body runs {k} XLA kernels"
                if diagnostics.get("xla_kernel_us"):
                    line += (f"; one kernel with next to no work costs {fmt(diagnostics['xla_kernel_us'])} µs "
                             f"(a loop of 16 small dots against one of 1): {fmt(k * diagnostics['xla_kernel_us'])} µs "
                             "per step of dispatch alone")
        elif group == "large":
            compute, floor, one = big[(name, "compute")], big[("floor", name)], big[("pass", name)]
            line = (f"{name}, large: gradient compute {fmt(compute, 1e3)} ms = its floor {fmt(floor, 1e3)} ms + "
                    f"{fmt(compute - floor, 1e3)} ms, the time of {(compute - floor) / one:.1f} elementwise passes "
                    f"over an (n_h, m) array in {name} ({fmt(one, 1e3)} ms each, allocation included); "
                    f"gradients() adds {fmt(big[(name, 'gradients')] - compute, 1e3)} ms of input checks and "
                    "conversion")
            if name == "numpy" and ("numpy", "outer @") in big:
                line += (f"; of those, B4's W2ᵀ·dZ2, a product over n_y = 1, takes "
                         f"{fmt(big[('numpy', 'outer @')], 1e3)} ms by BLAS, {fmt(big[('numpy', 'outer *')], 1e3)} ms "
                         "by broadcasting")
        elif group == "busy":
            from impls.threads import ONE_THREAD_BELOW

            slowdown, _ = busy_figures(busy)
            line = (f"torch, busy machine: {fmt(busy[('torch', 'idle')][0])} s idle, "
                    f"{fmt(busy[('torch', 'busy')][0])} s busy ({fmt_ratio(slowdown['torch'])}×), numpy "
                    f"{fmt_ratio(slowdown['numpy'])}×; torch runs the course's run on "
                    f"one thread below {ONE_THREAD_BELOW} numbers per array, so what remains is its time on the "
                    "one core it shares with a busy process, against numpy's")
        else:
            f = memory[name]
            if f["working_mb"] is None:
                line = f"{name}, memory: not measured ({f['error'] or f['method']})"
            else:
                workload = settings.large
                need = memory_need(workload)
                array_mb = workload["n_h"] * workload["m"] * np.dtype(workload["dtype"]).itemsize / 2 ** 20
                allowed = (MEMORY_TARGET * need["total"] - need["data"] - need["params"]) / 2 ** 20 / array_mb
                line = (f"{name}, memory: {fmt(f['working_mb'])} MB of working memory, {f['arrays']:.1f} times an "
                        f"(n_h, m) array, at the peak; the target leaves room for {allowed:.1f}; the plain loop "
                        f"holds {fmt_ratio(memory['plain loop']['arrays'])}")
                if name == "jax" and f.get("x_offset"):
                    line += (f"; this includes XLA's copy of X, {need['data'] / 2 ** 20:.0f} MB: NumPy put X "
                             f"{f['x_offset']} bytes past a 64-byte boundary, and XLA reads only aligned arrays "
                             "in place")
        lines.append(line)
    return lines
