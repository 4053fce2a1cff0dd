"""How many workers the machine can hold: the memory of the data-parallel backends' workers, estimated before
any is started, as run_memory does for the sizes of one run."""
from impls.base import check_memory, run_memory

# torch-ddp: each worker is a Python interpreter with torch imported, in a gloo group. Measured (torch 2.13 CPU,
# 2 and 4 workers, the course's problem): 241 MB resident per worker, 148 MB of it private; the rest is the
# shared libraries, counted once. 250 MB a worker covers both.
# jax-sharded: each CPU host device adds to this one process. Measured after compiling the course's train and
# gradients: 247 MB resident with 1 device, 267 MB with 64, 426 MB with 1000 (0.18 MB a device); 1 MB a device
# leaves 5x. Asking XLA for 10⁹ devices took over 6 GB in 10 s: refused here before JAX starts.
PER_WORKER = {"torch-ddp": 250_000_000, "jax-sharded": 1_000_000}


def workers_memory(name, workers, n_x=0, n_h=0, n_y=0, m=0, dtype="float64"):
    """Bytes `workers` workers of backend `name` hold: each its own overhead and a run on its shard of m."""
    shard = -(-m // workers) if m else 0
    return workers * (PER_WORKER[name] + (run_memory(n_x, n_h, n_y, shard, dtype) if m else 0))


def check_workers(name, workers, n_x=0, n_h=0, n_y=0, m=0, dtype="float64"):
    """A ValueError naming the count when the machine's memory cannot hold that many workers."""
    if name in PER_WORKER and workers > 1:
        check_memory(workers_memory(name, workers, n_x, n_h, n_y, m, dtype), f"{name} with workers={workers}")
