"""Forward and backward, side by side: shapes, finite differences, the backends against each other, dtypes."""
import numpy as np
import pytest

import impls
from compare.numerics import numerical_gradients, rel_error
from compare.tolerances import BACKEND_RTOL, FD_RTOL, FD_STEP
from conftest import make_backend, nondegenerate_problem

SIZES = [(2, 4, 1, 400), (3, 1, 1, 1), (5, 3, 2, 7), (1, 6, 3, 2)]  # (n_x, n_h, n_y, m)
OTHERS = [name for name in impls.BACKENDS if name != "numpy"]


@pytest.mark.parametrize("n_x, n_h, n_y, m", SIZES)
def test_shape_of_every_equation(backend_name, n_x, n_h, n_y, m):
    X, Y, params = nondegenerate_problem(n_x, n_h, n_y, m)
    backend = make_backend(backend_name)
    cache = backend.forward(params, X)
    assert {k: v.shape for k, v in cache.items()} == {                       # F1-F4
        "Z1": (n_h, m), "A1": (n_h, m), "Z2": (n_y, m), "A2": (n_y, m)}
    inner = backend.intermediates(params, X, Y)
    assert {k: v.shape for k, v in inner.items()} == {"dZ2": (n_y, m), "dA1": (n_h, m), "dZ1": (n_h, m)}
    grads = backend.gradients(params, X, Y)
    # B2, B3, B5, B6: each gradient has its parameter's shape, biases (n, 1) as keepdims keeps them
    assert {k: v.shape for k, v in grads.items()} == {"d" + k: v.shape for k, v in params.items()}
    assert grads["db1"].shape == (n_h, 1) and grads["db2"].shape == (n_y, 1)
    assert isinstance(backend.cost(params, X, Y), float)
    assert backend.predict(params, X).shape == (n_y, m)


@pytest.mark.parametrize("activation", impls.ACTIVATIONS)
def test_gradients_match_finite_differences(backend_name, activation):
    X, Y, params = nondegenerate_problem(3, 4, 2, 11, seed=1)
    backend = make_backend(backend_name, activation=activation)
    g = backend.gradients(params, X, Y)
    g_fd = numerical_gradients(lambda p: backend.cost(p, X, Y), params, FD_STEP)
    for k in g:
        assert rel_error(g[k], g_fd[k]) < FD_RTOL["float64"], k


@pytest.mark.parametrize("activation", impls.ACTIVATIONS)
def test_float32_gradients_match_float64_finite_differences(backend_name, activation):
    X, Y, params = nondegenerate_problem(3, 4, 2, 11, seed=1)
    g32 = make_backend(backend_name, activation=activation, dtype="float32").gradients(params, X, Y)
    cost64 = make_backend(backend_name, activation=activation).cost
    g_fd = numerical_gradients(lambda p: cost64(p, X, Y), params, FD_STEP)
    for k in g32:
        assert rel_error(g32[k], g_fd[k]) < FD_RTOL["float32"], k


def test_finite_differences_of_a_known_function():
    params = {"W1": np.array([[1.0, -2.0]]), "b1": np.array([[0.5]]), "W2": np.array([[3.0]]), "b2": np.zeros((1, 1))}
    cost = lambda p: float(np.sum(p["W1"] ** 3) + np.sum(np.sin(p["b1"])) + np.sum(p["W2"] ** 2))
    g = numerical_gradients(cost, params, 1e-6)
    np.testing.assert_allclose(g["dW1"], [[3.0, 12.0]], rtol=1e-8)
    np.testing.assert_allclose(g["db1"], np.cos([[0.5]]), rtol=1e-8)
    np.testing.assert_allclose(g["dW2"], [[6.0]], rtol=1e-8)
    assert not g["db2"].any()


@pytest.mark.parametrize("other", OTHERS)
@pytest.mark.parametrize("activation", impls.ACTIVATIONS)
@pytest.mark.parametrize("dtype", impls.DTYPES)
def test_backends_agree_with_the_hand_written_one(other, activation, dtype):
    X, Y, params = nondegenerate_problem(4, 5, 2, 50, seed=2, dtype=dtype)
    np_backend = make_backend("numpy", activation=activation, dtype=dtype)
    ag_backend = make_backend(other, activation=activation, dtype=dtype)
    tol = BACKEND_RTOL[dtype]
    # forward
    f_np, f_ag = np_backend.forward(params, X), ag_backend.forward(params, X)
    for k in f_np:
        assert rel_error(f_np[k], f_ag[k]) < tol, k
    assert abs(np_backend.cost(params, X, Y) - ag_backend.cost(params, X, Y)) < tol * abs(np_backend.cost(params, X, Y))
    # backward: the parameters' gradients, and the intermediates autograd found on its own
    g_np, g_ag = np_backend.gradients(params, X, Y), ag_backend.gradients(params, X, Y)
    for k in g_np:
        assert rel_error(g_np[k], g_ag[k]) < tol, k
    i_np, i_ag = np_backend.intermediates(params, X, Y), ag_backend.intermediates(params, X, Y)
    for k in i_np:
        assert rel_error(i_np[k], i_ag[k]) < tol, k


def test_dtype_is_really_what_was_asked_for(backend_name):
    """float32 computes in float32 and float64 in float64, in every backend (JAX silently does float32 without x64)."""
    X, Y, params = nondegenerate_problem(4, 5, 2, 50, seed=3)
    reference = make_backend("numpy").gradients(params, X, Y)
    results = {}
    for dtype in impls.DTYPES:
        backend = make_backend(backend_name, dtype=dtype)
        g = backend.gradients(params, X, Y)
        trained = backend.train(params, X, Y, learning_rate=0.1, iterations=3).params
        for arrays in (g, trained, backend.forward(params, X), backend.intermediates(params, X, Y)):
            assert all(v.dtype == np.dtype(dtype) for v in arrays.values()), dtype
        results[dtype] = max(rel_error(g[k], reference[k]) for k in g)
    assert results["float64"] < 1e-14          # only float64 arithmetic gets this close
    assert 1e-10 < results["float32"] < 1e-5   # float32 arithmetic: rounding at float32's level


def test_saturated_output_gives_a_finite_cost_and_gradient(backend_name):
    X, Y, params = nondegenerate_problem(2, 3, 1, 8)
    params["W2"] = params["W2"] * 1e4  # |Z2| ~ 1e4: σ(Z2) rounds to exactly 0 or 1
    backend = make_backend(backend_name)
    assert np.isfinite(backend.cost(params, X, Y)) and backend.cost(params, X, Y) > 10
    assert all(np.all(np.isfinite(g)) for g in backend.gradients(params, X, Y).values())


@pytest.mark.parametrize("other", OTHERS)
@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_backends_agree_at_the_kink(other, activation):
    """Where Z1 is exactly 0 (an all-zero example, b1 = 0) every backend takes the same one-sided slope."""
    X, Y, params = nondegenerate_problem(3, 4, 1, 6, seed=4)
    X[:, 0] = 0
    params["b1"][:] = 0
    g_np = make_backend("numpy", activation=activation).gradients(params, X, Y)
    g_ag = make_backend(other, activation=activation).gradients(params, X, Y)
    for k in g_np:
        assert rel_error(g_np[k], g_ag[k]) < BACKEND_RTOL["float64"], k
