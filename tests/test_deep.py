"""The L-layer network (week 4) in every backend: the contract's names and checks at any depth, every backend
against the hand-written one and against finite differences for L = 1 … 4, the deep path at L = 2 against the
two-layer one, training, and the symmetry of zero initialisation per hidden layer."""
import math

import numpy as np
import pytest

import impls
from compare.numerics import numerical_gradients, rel_error
from compare.tolerances import BACKEND_RTOL, FD_NOISE, FD_RTOL, FD_STEP, STEP_RTOL
from conftest import DEEP_DIMS, deep_problem, make_backend
from impls.base import cache_names, grad_names, intermediate_names, param_names
from impls.io.datasets import planar

OTHERS = [name for name in impls.BACKENDS if name != "numpy"]
ONE_PROCESS = [name for name in impls.BACKENDS if name not in impls.DATA_PARALLEL]


def test_names_at_depth_l_and_the_two_layer_names():
    assert param_names(3) == ("W1", "b1", "W2", "b2", "W3", "b3")
    assert grad_names(1) == ("dW1", "db1")
    assert cache_names(3) == ("Z1", "A1", "Z2", "A2", "Z3", "A3")
    assert intermediate_names(1) == ("dZ1",)
    assert intermediate_names(3) == ("dZ3", "dA2", "dZ2", "dA1", "dZ1")
    assert (impls.PARAM_NAMES, impls.GRAD_NAMES) == (param_names(2), grad_names(2)) == (
        ("W1", "b1", "W2", "b2"), ("dW1", "db1", "dW2", "db2"))
    assert (impls.base.CACHE_NAMES, impls.base.INTERMEDIATE_NAMES) == (
        ("Z1", "A1", "Z2", "A2"), ("dZ2", "dA1", "dZ1"))


def test_init_deep_params_draws_layer_by_layer_from_the_seed():
    p = impls.init_deep_params([4, 3, 2, 1], seed=7, scale=0.1)
    rng = np.random.RandomState(7)
    for l, shape in enumerate([(3, 4), (2, 3), (1, 2)], start=1):
        np.testing.assert_array_equal(p[f"W{l}"], rng.randn(*shape) * 0.1)
        np.testing.assert_array_equal(p[f"b{l}"], np.zeros((shape[0], 1)))
    sqrt = impls.init_deep_params([4, 3, 2, 1], seed=7, scale="sqrt")
    rng = np.random.RandomState(7)
    for l, shape in enumerate([(3, 4), (2, 3), (1, 2)], start=1):
        np.testing.assert_array_equal(sqrt[f"W{l}"], rng.randn(*shape) / np.sqrt(shape[1]))
    # one hidden layer: init_params's start, bit for bit, at any seed and scale
    for seed, scale in ((0, 0.01), (2, 0.5), (9, 0.0)):
        deep = impls.init_deep_params([5, 4, 2], seed, scale)
        shallow = impls.init_params(5, 4, 2, seed=seed, scale=scale)
        assert list(deep) == list(shallow)
        for k in deep:
            np.testing.assert_array_equal(deep[k], shallow[k])
    assert impls.init_deep_params(np.array([3, 2]), dtype="float32")["W1"].dtype == np.float32
    state = np.random.get_state()[1].copy()
    impls.init_deep_params([3, 2])
    np.testing.assert_array_equal(np.random.get_state()[1], state)  # NumPy's global generator left alone


@pytest.mark.parametrize("args, match", [
    (([5],), r"at least two sizes, the input's and the output's, got \[5\]"),
    (([5, 0, 1],), "layer_dims\\[1\\] must be a whole number >= 1, got 0"),
    (([5, 2.5],), "layer_dims\\[1\\] must be a whole number >= 1, got 2.5"),
    (("5,4",), "layer_dims must be a list of layer sizes"),
    (([[5, 4]],), "layer_dims must be a list of layer sizes"),
    (([5, 4], 3, -1), "scale must be a finite number >= 0 or 'sqrt', got -1"),
    (([5, 4], 3, "cube"), "scale must be a finite number >= 0 or 'sqrt', got 'cube'"),
    (([5, 4], -1), "seed must be a whole number from 0 to"),
    (([5, 4], 3, 1e308), "makes weights overflow to infinity"),
    (([2, 10 ** 12, 3, 1],), r"layer_dims \[2, 1000000000000, 3, 1\] in float64 needs about"),
])
def test_init_deep_params_refuses_bad_input_naming_it(args, match):
    with pytest.raises(ValueError, match=match):
        impls.init_deep_params(*args)


@pytest.mark.parametrize("keys, match", [
    (("W1", "b1", "W2"), r"keys W1, b1, W2, b2: b2 missing$"),
    (("W1", "b1", "W3", "b3"), r"keys W1, b1, W2, b2, W3, b3: W2, b2 missing$"),
    (("W1", "b1", "W2", "b2", "W3"), r"W2, b2, W3, b3: b3 missing$"),
    (("W1", "b1", "W2", "b2", "extra"), r"keys W1, b1, W2, b2: 'extra' is not a parameter$"),
    (("W1", "b1", "W01", "b2"), r"keys W1, b1, W2, b2: W2 missing; 'W01' is not a parameter$"),
    (("W1", "b1", "W9", "b9"), r"keys W1, b1, …, W9, b9: W2, b2, W3, b3 and 10 more missing$"),
    (("a", "b"), r"keys W1, b1, …, WL, bL \(an L-layer network\), got \['a', 'b'\]"),
])
def test_the_depth_is_read_from_the_keys_or_refused_naming_what_is_wrong(keys, match):
    X, Y, params = deep_problem([3, 4, 5, 2], 6)
    with pytest.raises(ValueError, match=match):
        impls.get_backend("numpy").cost({k: params.get(k, np.ones((1, 1))) for k in keys}, X, Y)
    assert impls.depth(params) == 3


def test_shapes_that_do_not_chain_are_refused_naming_the_layer():
    X, Y, params = deep_problem([3, 4, 5, 2], 6)
    backend = impls.get_backend("numpy")
    with pytest.raises(ValueError, match=r"W2 has shape \(5, 3\), expected \(5, 4\) for layer_dims \[3, 4, 5, 2\]"):
        backend.forward({**params, "W2": params["W2"][:, :3]}, X)
    with pytest.raises(ValueError, match=r"W3 has shape \(2, 5\), expected \(1, 5\) for layer_dims \[3, 4, 5, 1\]"):
        backend.gradients(params, X, Y[:1])
    with pytest.raises(ValueError, match=r"b1 must be 2-D"):
        backend.forward({**params, "b1": params["b1"].ravel()}, X)


@pytest.mark.parametrize("L", DEEP_DIMS)
def test_shapes_at_every_depth(backend_name, L):
    dims, m = DEEP_DIMS[L], 7
    X, Y, params = deep_problem(dims, m)
    backend = make_backend(backend_name)
    sizes = dict(enumerate(dims))
    forward = backend.forward(params, X)
    assert list(forward) == list(cache_names(L))
    assert {k: v.shape for k, v in forward.items()} == {f"{a}{l}": (sizes[l], m) for l in range(1, L + 1) for a in "ZA"}
    inner = backend.intermediates(params, X, Y)
    assert list(inner) == list(intermediate_names(L))
    assert {k: v.shape for k, v in inner.items()} == {k: (sizes[int(k[2:])], m) for k in inner}
    grads = backend.gradients(params, X, Y)
    assert list(grads) == list(grad_names(L))
    assert {k: v.shape for k, v in grads.items()} == {"d" + k: v.shape for k, v in params.items()}
    assert isinstance(backend.cost(params, X, Y), float)
    assert backend.predict(params, X).shape == (dims[-1], m)
    np.testing.assert_array_equal(backend.predict_proba(params, X), forward[f"A{L}"])


def full_run(*values, default=()):
    """Parameters past `default` in the full run only: each case compiles JAX's functions at four depths (~3 s);
    the finite-difference test below checks every backend and activation, float32 too, in the default run."""
    return [v if v in default else pytest.param(v, marks=pytest.mark.slow) for v in values]


@pytest.mark.parametrize("other", OTHERS)
@pytest.mark.parametrize("activation", full_run(*impls.ACTIVATIONS, default=("relu",)))
@pytest.mark.parametrize("dtype", full_run(*impls.DTYPES, default=("float64",)))
def test_backends_agree_with_the_hand_written_deep_one(other, activation, dtype):
    reference = make_backend("numpy", activation=activation, dtype=dtype)
    backend = make_backend(other, activation=activation, dtype=dtype)
    tol = BACKEND_RTOL[dtype]
    for L, dims in DEEP_DIMS.items():
        X, Y, params = deep_problem(dims, 23, seed=L, dtype=dtype)
        expected = {**reference.forward(params, X), **reference.intermediates(params, X, Y),
                    **reference.gradients(params, X, Y)}
        got = {**backend.forward(params, X), **backend.intermediates(params, X, Y), **backend.gradients(params, X, Y)}
        assert list(got) == list(expected)
        for k in expected:
            assert got[k].dtype == np.dtype(dtype), (L, k)
            assert rel_error(got[k], expected[k]) < tol, (L, k)
        cost, cost_ref = backend.cost(params, X, Y), reference.cost(params, X, Y)
        assert abs(cost - cost_ref) < tol * cost_ref, L


def away_from_kinks(backend, params, X):
    """Finite differences straddle a kink of ReLU where |Z| is within a step's reach of 0; the problems here
    keep every Z_l farther away than that (checked, so that the test cannot pass by luck)."""
    forward = backend.forward(params, X)
    reach = [10 * FD_STEP * (1 + np.max(np.abs(forward.get(f"A{l - 1}", X)))) for l in range(1, len(params) // 2 + 1)]
    return all(np.min(np.abs(forward[f"Z{l}"])) > r for l, r in enumerate(reach, start=1))


def assert_matches_finite_differences(grads, fd, cost, dtype):
    # As the comparison judges it: relative error within FD_RTOL, plus the differences' own rounding floor
    # (FD_NOISE·√P·ε·|J|/h), which matters where a layer's gradient is tiny (sigmoid layers, deep down).
    for k in fd:
        floor = FD_NOISE * math.sqrt(fd[k].size) * np.finfo(np.float64).eps * abs(cost) / FD_STEP
        error = np.linalg.norm(grads[k] - fd[k])
        assert error <= FD_RTOL[dtype] * (np.linalg.norm(grads[k]) + np.linalg.norm(fd[k])) + floor, k


@pytest.mark.parametrize("activation", impls.ACTIVATIONS)
def test_deep_gradients_match_finite_differences(backend_name, activation):
    """Each backend's float64 and float32 gradients against central differences of its own float64 cost."""
    backend64 = make_backend(backend_name, activation=activation)
    backend32 = make_backend(backend_name, activation=activation, dtype="float32")
    for L, dims in DEEP_DIMS.items():
        X, Y, params = deep_problem(dims, 11, seed=1)
        assert away_from_kinks(make_backend("numpy"), params, X), L
        cost = backend64.cost(params, X, Y)
        fd = numerical_gradients(lambda p: backend64.cost(p, X, Y), params, FD_STEP)
        assert_matches_finite_differences(backend64.gradients(params, X, Y), fd, cost, "float64")
        assert_matches_finite_differences(backend32.gradients(params, X, Y), fd, cost, "float32")


@pytest.mark.parametrize("name", ONE_PROCESS)
@pytest.mark.parametrize("activation", full_run(*impls.ACTIVATIONS, default=("tanh", "relu")))
def test_the_deep_path_at_two_layers_gives_the_two_layer_numbers(name, activation):
    """The deep loop run on a two-layer network is the week-3 lines: the hand-written one to the bit."""
    backend = make_backend(name, activation=activation)
    X, Y, params = deep_problem([3, 4, 2], 9)
    p, Xb, Yb = backend._inputs(params, X, Y)
    tol = 0 if name == "numpy" else BACKEND_RTOL["float64"]
    for hook, args in (("_forward", (p, Xb)), ("_gradients", (p, Xb, Yb)), ("_intermediates", (p, Xb, Yb)),
                       ("_train", (p, Xb, Yb, 0.5, 3))):
        two, deep = getattr(backend, hook)(*args), getattr(backend, "_deep" + hook)(*args)
        assert list(deep) == list(two), hook
        for k in two:
            assert rel_error(backend._numpy(deep[k]), backend._numpy(two[k])) <= tol, (hook, k)
    assert abs(float(backend._deep_cost(p, Xb, Yb)) - float(backend._cost(p, Xb, Yb))) <= tol


@pytest.mark.parametrize("other", OTHERS)
def test_deep_training_steps_agree(other):
    """From the same start, k steps of each backend land where the hand-written one's do (as run's training
    check judges it: within STEP_RTOL of the distance the steps moved)."""
    for L in (1, 3, 4):
        X, Y, params = deep_problem(DEEP_DIMS[L], 30, seed=L)
        reference = make_backend("numpy", activation="relu").train(params, X, Y, learning_rate=0.1, iterations=10)
        got = make_backend(other, activation="relu").train(params, X, Y, learning_rate=0.1, iterations=10)
        moved = np.concatenate([np.ravel(reference.params[k] - params[k]) for k in params])
        miss = np.concatenate([np.ravel(got.params[k] - reference.params[k]) for k in params])
        assert np.linalg.norm(miss) <= STEP_RTOL["float64"] * np.linalg.norm(moved), L
        assert got.costs[0][1] == pytest.approx(reference.costs[0][1], rel=BACKEND_RTOL["float64"])


def test_one_deep_step_is_theta_minus_alpha_dtheta(backend_name):
    X, Y, params = deep_problem(DEEP_DIMS[3], 20)
    backend = make_backend(backend_name)
    grads = backend.gradients(params, X, Y)
    result = backend.train(params, X, Y, learning_rate=0.7, iterations=1)
    assert list(result.params) == list(param_names(3))
    for k in params:
        np.testing.assert_allclose(result.params[k], params[k] - 0.7 * grads["d" + k], rtol=1e-14, atol=1e-16)
    assert result.final_cost == pytest.approx(backend.cost(result.params, X, Y), rel=1e-15)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_zero_initialisation_keeps_each_hidden_layers_units_identical(backend_name, activation):
    X, Y = planar()
    X, Y = X[:, :300], Y[:, :300]  # 200 of class 0, 100 of class 1: on balanced labels σ(0) = 1/2 is already the best
    backend = make_backend(backend_name, activation=activation)
    dims = [2, 4, 3, 5, 1]
    zero = backend.train(impls.init_deep_params(dims, scale=0), X, Y, learning_rate=1.2, iterations=300).params
    # Each hidden unit of layer l (its row of W_l and b_l, its column of W_{l+1}) the same as the first, to the
    # rounding of a BLAS product, which may sum one row or column in another order than its neighbour (measured:
    # 1 ulp in the numpy backend's W3 after 300 sigmoid steps); random starts differ by 1e-3 and more.
    same = {"rtol": 1e-13, "atol": 0}
    for l in range(1, len(dims) - 1):
        for k in (f"W{l}", f"b{l}"):
            np.testing.assert_allclose(zero[k], np.broadcast_to(zero[k][:1], zero[k].shape), **same, err_msg=k)
        W = zero[f"W{l + 1}"]
        np.testing.assert_allclose(W, np.broadcast_to(W[:, :1], W.shape), **same, err_msg=f"W{l + 1}")
    if activation == "sigmoid":  # σ(0) = 1/2: the units do learn, all alike (with tanh every A_l stays 0)
        assert np.abs(zero["W4"]).max() > 1e-3
    rand = backend.train(impls.init_deep_params(dims, seed=1, scale="sqrt"), X, Y, learning_rate=0.1,
                         iterations=300).params
    for l in range(1, len(dims) - 1):  # random initialisation breaks the symmetry in every layer
        assert np.min(np.ptp(rand[f"W{l}"], axis=0)) > 1e-3, l


def test_training_a_deep_network_never_touches_the_callers_arrays(backend_name):
    X, Y, params = deep_problem(DEEP_DIMS[4], 12)
    copies = {k: v.copy() for k, v in params.items()}
    backend = make_backend(backend_name)
    backend.gradients(params, X, Y)
    backend.intermediates(params, X, Y)
    result = backend.train(params, X, Y, learning_rate=0.5, iterations=4)
    for k in params:
        np.testing.assert_array_equal(params[k], copies[k])
        assert not np.shares_memory(result.params[k], params[k])
        assert not np.array_equal(result.params[k], params[k])


def test_the_memory_estimate_covers_any_depth(monkeypatch):
    from impls import memory
    assert memory.layers_memory([5, 4, 2], 100, "float64") == memory.run_memory(5, 4, 2, 100, "float64")
    one, two = (memory.layers_memory(dims, 1000, "float32") for dims in ([10, 20, 1], [10, 20, 20, 1]))
    assert two - one == 4 * (4 * 20 * 21 + 8 * 20 * 1000)  # a layer's parameters (4 copies) and its 8 arrays
    monkeypatch.setattr(memory, "machine_memory", lambda: 10 ** 8)
    X, Y, params = deep_problem([3, 4, 5, 2], 6)
    X = np.zeros((3, 10 ** 6))
    needed = memory.format_bytes(memory.layers_memory([3, 4, 5, 2], 10 ** 6, "float64"))
    with pytest.raises(ValueError, match=rf"layer_dims \[3, 4, 5, 2\] and m=1000000 examples in float64 needs about "
                                         rf"{needed}; this machine has 100 MB available"):
        impls.get_backend("numpy").forward(params, X)
