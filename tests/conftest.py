import os

# jax-sharded needs N devices, and JAX reads this once, when it starts: before any test imports it.
os.environ.setdefault("XLA_FLAGS", "--xla_force_host_platform_device_count=4")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import impls  # noqa: E402

WORKERS = 3  # the data-parallel backends in every backend test: uneven shards on most m


def make_backend(name, **kwargs):
    """The backend, or a clean skip when its framework is not installed."""
    pytest.importorskip(impls._REGISTRY[name][2])  # the library it needs: tape needs NumPy only
    if name in impls.DATA_PARALLEL:
        kwargs.setdefault("workers", WORKERS)
    return impls.get_backend(name, **kwargs)


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
