"""Training: the course's run, the recorded costs, the symmetry of zero initialisation, divergence."""
import numpy as np
import pytest

import impls
from impls.io.datasets import planar
from conftest import make_backend, nondegenerate_problem


@pytest.mark.slow
def test_course_run_reaches_90_percent_on_planar_data(backend_name):
    X, Y = planar()
    backend = make_backend(backend_name)
    result = backend.train(impls.init_params(2, 4), X, Y, learning_rate=1.2, iterations=10000)
    assert np.mean(backend.predict(result.params, X) == Y) >= 0.90
    assert [i for i, _ in result.costs] == list(range(0, 10000, 1000))
    costs = [c for _, c in result.costs] + [result.final_cost]
    assert costs[0] == pytest.approx(np.log(2), abs=1e-3) and costs[-1] < 0.25


def test_recorded_costs_are_the_costs_before_each_update(backend_name):
    X, Y, params = nondegenerate_problem(3, 4, 2, 20)
    backend = make_backend(backend_name)
    result = backend.train(params, X, Y, learning_rate=0.3, iterations=25, record_every=10)
    assert [i for i, _ in result.costs] == [0, 10, 20]
    assert result.costs[0][1] == pytest.approx(backend.cost(params, X, Y), rel=1e-15)
    after_10 = backend.train(params, X, Y, learning_rate=0.3, iterations=10).params
    assert result.costs[1][1] == pytest.approx(backend.cost(after_10, X, Y), rel=1e-12)
    assert result.final_cost == pytest.approx(backend.cost(result.params, X, Y), rel=1e-15)
    assert backend.train(params, X, Y, learning_rate=0.3, iterations=0).params["W1"].tolist() == params["W1"].tolist()


def test_one_step_is_theta_minus_alpha_dtheta(backend_name):
    X, Y, params = nondegenerate_problem(3, 4, 2, 20)
    backend = make_backend(backend_name)
    grads = backend.gradients(params, X, Y)
    stepped = backend.train(params, X, Y, learning_rate=0.7, iterations=1).params
    for k in params:
        np.testing.assert_allclose(stepped[k], params[k] - 0.7 * grads["d" + k], rtol=1e-14, atol=1e-16)


@pytest.mark.parametrize("activation", ["tanh", "sigmoid"])
def test_zero_initialisation_keeps_hidden_units_identical(backend_name, activation):
    X, Y = planar()
    backend = make_backend(backend_name, activation=activation)
    zero = backend.train(impls.init_params(2, 4, scale=0), X, Y, learning_rate=1.2, iterations=1000).params
    for k in ("W1", "b1"):  # every hidden unit (a row of W1, b1; a column of W2) the same as the first
        np.testing.assert_array_equal(zero[k], np.broadcast_to(zero[k][:1], zero[k].shape))
    np.testing.assert_array_equal(zero["W2"], np.broadcast_to(zero["W2"][:, :1], zero["W2"].shape))
    rand = backend.train(impls.init_params(2, 4), X, Y, learning_rate=1.2, iterations=1000).params
    assert np.min(np.ptp(rand["W1"], axis=0)) > 0.1  # random initialisation breaks the symmetry


def test_divergence_stops_training_and_names_the_iteration(backend_name):
    X, Y = planar()
    backend = make_backend(backend_name, activation="leaky_relu")
    with pytest.raises(impls.TrainingDiverged, match=r"at iteration \d+ with learning rate 10; try a smaller"):
        backend.train(impls.init_params(2, 4), X, Y, learning_rate=10, iterations=2000, record_every=100)


def test_predict_thresholds_probabilities_at_one_half(backend_name):
    X, Y, params = nondegenerate_problem(3, 4, 2, 30)
    backend = make_backend(backend_name)
    proba = backend.predict_proba(params, X)
    assert proba.shape == (2, 30) and np.all((proba > 0) & (proba < 1))
    np.testing.assert_array_equal(backend.predict(params, X), (proba > 0.5).astype(int))
