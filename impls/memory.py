"""How much memory a training run needs, and the data-parallel backends' workers with it, and a refusal, before
allocating, of what the machine cannot hold."""
import os

import numpy as np


def run_memory(n_x, n_h, n_y, m, dtype):
    """Bytes a two-layer training run holds at its peak: `layers_memory` of [n_x, n_h, n_y]."""
    return layers_memory([n_x, n_h, n_y], m, dtype)


def layers_memory(layer_dims, m, dtype):
    """Bytes a training run of a network of `layer_dims` = [n_x, n_1, …, n_L] holds at its peak: what
    `check_memory` compares with the machine.

    A step holds a few arrays of (n_l, m) per layer at once (Z, A, dA, g'(Z), dZ) and copies of the parameters
    (old, gradients, new). The estimate allows 8 arrays of each size, since torch's autograd and JAX keep
    the forward's values for the backward pass, and 4 copies of the parameters (init_params draws them in
    float64, then casts). Its calibration against a measured peak is in docs/performance.md.
    """
    itemsize = np.dtype(dtype).itemsize
    n_params = sum(n * (n_prev + 1) for n_prev, n in zip(layer_dims, layer_dims[1:]))
    return itemsize * (4 * n_params + (layer_dims[0] + layer_dims[-1]) * m + 8 * sum(layer_dims[1:]) * m)


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
    check_layers_memory([n_x, n_h, n_y], m, dtype)


def check_layers_memory(layer_dims, m, dtype):
    """`check_run_memory` for a network of any depth, layer_dims = [n_x, n_1, …, n_L]."""
    examples = f" and m={m} examples" if m else ""
    if len(layer_dims) == 3:
        n_x, n_h, n_y = layer_dims
        what = f"n_h={n_h} with n_x={n_x}, n_y={n_y}"
    else:
        what = f"layer_dims {list(layer_dims)}"
    check_memory(layers_memory(layer_dims, m, dtype), f"{what}{examples} in {dtype}")


def format_bytes(n):
    for unit in ("bytes", "kB", "MB", "GB", "TB", "PB", "EB"):
        if n < 1000 or unit == "EB":
            return f"{n:.0f} {unit}" if n < 1000 else f"{n:.2g} {unit}"
        n /= 1000


# torch-ddp: each worker is a Python interpreter with torch imported, in a gloo group. Measured (torch 2.13 CPU,
# 2 and 4 workers, the course's problem): 241 MB resident per worker, 148 MB of it private; the rest is the
# shared libraries, counted once. 250 MB a worker covers both.
# jax-sharded: each CPU host device adds to this one process. Measured after compiling the course's train and
# gradients: 247 MB resident with 1 device, 267 MB with 64, 426 MB with 1000 (0.18 MB a device); 1 MB a device
# leaves 5x. Asking XLA for 10⁹ devices took over 6 GB in 10 s: refused here before JAX starts.
PER_WORKER = {"torch-ddp": 250_000_000, "jax-sharded": 1_000_000}


def workers_memory(name, workers, layer_dims=(), m=0, dtype="float64"):
    """Bytes `workers` workers of backend `name` hold: each its own overhead and a run of a network of
    `layer_dims` = [n_x, n_1, …, n_L] on its shard of m."""
    shard = -(-m // workers) if m else 0
    return workers * (PER_WORKER[name] + (layers_memory(layer_dims, shard, dtype) if m else 0))


def check_workers(name, workers, layer_dims=(), m=0, dtype="float64"):
    """A ValueError naming the count when the machine's memory cannot hold that many workers."""
    if name in PER_WORKER and workers > 1:
        check_memory(workers_memory(name, workers, layer_dims, m, dtype), f"{name} with workers={workers}")
