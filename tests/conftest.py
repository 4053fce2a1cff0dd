"""Shared helpers, the markers' rules and the session's backend cache.

The default run (`python -m pytest`) leaves out the tests marked `slow` (subprocesses, the notebook, the bench,
course-length runs) and `dataparallel` (the torch-ddp and jax-sharded parametrisations of the backend tests, whose
equality with numpy test_data_parallel.py proves on its own), and runs hypothesis's quick profile.
`python -m pytest --all` runs everything with the thorough profile: what CI runs. `-m EXPR` picks by marker
instead (`-m slow` runs only the slow tests); HYPOTHESIS_PROFILE=quick|thorough overrides the profile.
"""
import contextlib
import os
import signal
import subprocess
import sys

# jax-sharded needs N devices, and JAX reads this once, when it starts: before any test imports it.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

import impls  # noqa: E402
from impls.processes import descendants  # noqa: E402

WORKERS = 3  # the data-parallel backends in every backend test: uneven shards on most m
LEFT_OUT = ("slow", "dataparallel")  # the markers the default run leaves out

# The thorough profile runs each property's full count of cases (examples(n) = n); the quick one a fifth.
settings.register_profile("thorough", deadline=None)
settings.register_profile("quick", deadline=None, max_examples=20)
_EXAMPLES_SHARE = {"thorough": 1.0, "quick": 0.2}
_profile = ["quick"]  # the one loaded, set before any test module is imported


def pytest_addoption(parser):
    parser.addoption("--all", action="store_true",
                     help="also run the slow and data-parallel tests, with hypothesis's thorough profile (CI)")


def pytest_configure(config):
    profile = os.environ.get("HYPOTHESIS_PROFILE") or ("thorough" if config.getoption("--all") else "quick")
    if profile not in _EXAMPLES_SHARE:
        raise pytest.UsageError(f"HYPOTHESIS_PROFILE={profile!r}: choose one of {', '.join(_EXAMPLES_SHARE)}")
    settings.load_profile(profile)
    _profile[0] = profile


def examples(n):
    """How many cases a property with `n` cases in the thorough profile runs in the profile loaded now."""
    return max(5, round(n * _EXAMPLES_SHARE[_profile[0]]))


def pytest_collection_modifyitems(config, items):
    for item in items:
        callspec = getattr(item, "callspec", None)
        if callspec and any(isinstance(v, str) and v in impls.DATA_PARALLEL for v in callspec.params.values()):
            item.add_marker(pytest.mark.dataparallel)
    if config.getoption("--all") or config.option.markexpr:
        return
    left_out = [item for item in items if any(item.get_closest_marker(m) for m in LEFT_OUT)]
    if left_out:
        config.hook.pytest_deselected(items=left_out)
        dropped = set(map(id, left_out))
        items[:] = [item for item in items if id(item) not in dropped]
        config._left_out = len(left_out)


def pytest_terminal_summary(terminalreporter, config):
    if getattr(config, "_left_out", 0):
        terminalreporter.write_line(f"{config._left_out} slow or data-parallel tests left out: "
                                    "`python -m pytest --all` runs everything, as CI does")


_BACKENDS = {}


def make_backend(name, **kwargs):
    """The backend, built once per test run (JAX compiles per backend object), or a clean skip when its
    framework is not installed."""
    pytest.importorskip(impls._REGISTRY[name][2])  # the library it needs: tape needs NumPy only
    if name in impls.DATA_PARALLEL:
        kwargs.setdefault("workers", WORKERS)
    key = (name, tuple(sorted(kwargs.items())))
    if key not in _BACKENDS:
        _BACKENDS[key] = impls.get_backend(name, **kwargs)
    return _BACKENDS[key]


def nondegenerate_problem(n_x, n_h, n_y, m, seed=0, dtype="float64"):
    """Random data of the sizes given and parameters away from the degenerate start (O(1) weights, non-zero
    biases), so that every gradient is far from zero and a wrong one shows. The bench times the course's own
    start instead (course_start_problem); check draws the sizes too (distinct_sizes_problem)."""
    return deep_problem([n_x, n_h, n_y], m, seed, dtype)


@pytest.fixture(params=impls.BACKENDS)
def backend_name(request):
    pytest.importorskip(impls._REGISTRY[request.param][2])
    return request.param


# --- processes a test starts: none outlives the test, however it ends ------------------------------------------

def end_tree(proc):
    """Kill a process a test started and everything below it, unless it has ended; close its pipes. The
    descendants are listed before the kill, while they are still below it."""
    if proc.poll() is None:
        below = descendants(proc.pid)
        for pid in [proc.pid, *below]:
            try:
                os.kill(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
    proc.wait()
    for pipe in (proc.stdin, proc.stdout, proc.stderr):
        if pipe is not None:
            pipe.close()


@contextlib.contextmanager
def started(argv, **popen):
    """subprocess.Popen(argv, **popen) for the length of the block; then killed with all it started, whether
    the block ended well, on a failed assert or on a timeout (a timed-out communicate() kills nothing)."""
    proc = subprocess.Popen(argv, **popen)
    try:
        yield proc
    finally:
        end_tree(proc)


def run_process(argv, *, timeout=300, input=None, check=False, capture_output=False, **popen):
    """subprocess.run, but a timeout kills the process with everything it started, not the process alone."""
    if capture_output:
        popen.update(stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if input is not None:
        popen["stdin"] = subprocess.PIPE
    with started(argv, **popen) as proc:
        out, err = proc.communicate(input, timeout=timeout)
    if check and proc.returncode:
        raise subprocess.CalledProcessError(proc.returncode, argv, out, err)
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def run_compare(*args, **kwargs):
    """`python -m compare ARGS` as a user runs it, its output captured as text (run_process's keywords)."""
    return run_process([sys.executable, "-m", "compare", *map(str, args)], capture_output=True, text=True, **kwargs)


def alive(pid):
    """Whether a process is there and not a zombie (dead, waiting for its parent to read its status)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _children():
    """This process's live children that are not supervisors of impls/processes.py (those die with it, and the
    session's torch-ddp groups are kept on purpose), each with its command line."""
    found = {}
    for pid in descendants(os.getpid()):
        try:
            with open(f"/proc/{pid}/stat") as f:
                parent = int(f.read().rsplit(")", 1)[1].split()[1])
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                command = f.read().replace(b"\0", b" ").decode(errors="replace").strip()
        except (OSError, ValueError, IndexError):
            continue
        if parent == os.getpid() and alive(pid) and "impls/processes.py" not in command:
            found[pid] = command
    return found


@pytest.fixture(autouse=True)
def no_process_left_behind():
    """Every test ends what it started: one that leaves a child running fails, and the child is killed."""
    before = set(_children())
    yield
    left = {pid: command for pid, command in _children().items() if pid not in before}
    for pid in left:
        try:
            os.kill(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    assert not left, f"the test left processes running (now killed): {left}"


# Layer widths that all differ, L = 1 … 4: a mistake that swaps two layers' sizes cannot fit by chance.
DEEP_DIMS = {1: [3, 2], 2: [3, 4, 2], 3: [3, 4, 5, 2], 4: [3, 4, 5, 6, 2]}


def deep_problem(layer_dims, m, seed=0, dtype="float64"):
    """nondegenerate_problem at any depth (layer_dims as the course's): the same numbers at L = 2."""
    rng = np.random.RandomState(seed)
    X = rng.randn(layer_dims[0], m)
    Y = (rng.rand(layer_dims[-1], m) > 0.5).astype(float)
    params = impls.init_deep_params(layer_dims, seed=seed, scale=0.5)
    for l in range(1, len(layer_dims)):
        params[f"b{l}"] = rng.randn(layer_dims[l], 1) * 0.5
    return X.astype(dtype), Y.astype(dtype), {k: v.astype(dtype) for k, v in params.items()}
