"""Shared helpers, the markers' rules and the session's backend cache.

The default run (`python -m pytest`) leaves out the tests marked `slow` (subprocesses, the notebook, the bench,
course-length runs) and `dataparallel` (the torch-ddp and jax-sharded parametrisations of the backend tests, whose
equality with numpy test_data_parallel.py proves on its own), and runs hypothesis's quick profile.
`python -m pytest --all` runs everything with the thorough profile: what CI runs. `-m EXPR` picks by marker
instead (`-m slow` runs only the slow tests); HYPOTHESIS_PROFILE=quick|thorough overrides the profile.
"""
import os

# jax-sharded needs N devices, and JAX reads this once, when it starts: before any test imports it.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
from hypothesis import settings  # noqa: E402

import impls  # noqa: E402

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


def random_problem(n_x, n_h, n_y, m, seed=0, dtype="float64"):
    """Random data and parameters away from the degenerate start (non-zero biases, O(1) weights)."""
    rng = np.random.RandomState(seed)
    X = rng.randn(n_x, m)
    Y = (rng.rand(n_y, m) > 0.5).astype(float)
    params = impls.init_params(n_x, n_h, n_y, seed=seed, scale=0.5)
    params["b1"] = rng.randn(n_h, 1) * 0.5
    params["b2"] = rng.randn(n_y, 1) * 0.5
    return X.astype(dtype), Y.astype(dtype), {k: v.astype(dtype) for k, v in params.items()}


@pytest.fixture(params=impls.BACKENDS)
def backend_name(request):
    pytest.importorskip(impls._REGISTRY[request.param][2])
    return request.param


# Layer widths that all differ, L = 1 … 4: a mistake that swaps two layers' sizes cannot fit by chance.
DEEP_DIMS = {1: [3, 2], 2: [3, 4, 2], 3: [3, 4, 5, 2], 4: [3, 4, 5, 6, 2]}


def deep_problem(layer_dims, m, seed=0, dtype="float64"):
    """random_problem for any depth: O(1) weights and non-zero biases, away from the degenerate start."""
    rng = np.random.RandomState(seed)
    X = rng.randn(layer_dims[0], m)
    Y = (rng.rand(layer_dims[-1], m) > 0.5).astype(float)
    params = impls.init_deep_params(layer_dims, seed=seed, scale=0.5)
    for l in range(1, len(layer_dims)):
        params[f"b{l}"] = rng.randn(layer_dims[l], 1) * 0.5
    return X.astype(dtype), Y.astype(dtype), {k: v.astype(dtype) for k, v in params.items()}
