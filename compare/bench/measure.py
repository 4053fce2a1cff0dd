"""Timing and memory measurement: blocks of iterations timed in interleaved rounds, and the peak
working memory of one call, as every framework allocates it."""
import gc
import statistics
import sys
import time
from contextlib import contextmanager


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
