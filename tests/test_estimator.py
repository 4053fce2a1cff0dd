"""ShallowNetClassifier: scikit-learn's own check_estimator on every backend, Pipeline, GridSearchCV."""
import warnings

import numpy as np
import pytest
from sklearn.datasets import load_breast_cancer, make_moons
from sklearn.exceptions import FitFailedWarning, NotFittedError
from sklearn.model_selection import GridSearchCV, train_test_split
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

import impls
from compare.numerics import rel_error
from compare.tolerances import TRAJECTORY_RTOL
from conftest import make_backend, run_process
from impls import ShallowNetClassifier
from impls.io.datasets import planar

# 200 steps instead of the default 10000 keep the ~60 checks per estimator quick; the checks' data
# are standardized blobs that 200 steps already fit (their accuracy check asks for 83%).
ESTIMATORS = [ShallowNetClassifier(backend=name, dtype=dtype, max_iter=200)
              for name in impls.available_backends() for dtype in impls.DTYPES]
# A deep setting in every backend: three ReLU hidden layers of differing widths.
ESTIMATORS += [ShallowNetClassifier(backend=name, hidden_layer_sizes=(6, 4, 3), activation="relu", learning_rate=0.1,
                                    max_iter=300) for name in impls.available_backends()]


def expected_failed_checks(estimator):
    if estimator.dtype == "float32":
        # Asks predictions on a shuffled batch to equal the unshuffled ones within rtol 1e-7, below
        # float32's rounding unit (1.2e-7): a BLAS product rounds a column differently by its place
        # in the batch (measured: 1 ulp of decision_function, in the numpy backend). The float64
        # estimators pass it, and subset invariance passes in float32 too.
        return {"check_methods_sample_order_invariance": "tolerance below float32's rounding unit"}
    return {}


@parametrize_with_checks([e for e in ESTIMATORS if e.backend == "numpy"], expected_failed_checks=expected_failed_checks)
def test_scikit_learn_check_estimator(estimator, check):
    check(estimator)


@pytest.mark.slow  # the same ~60 checks per estimator again: the default run keeps the numpy ones
@parametrize_with_checks([e for e in ESTIMATORS if e.backend != "numpy"], expected_failed_checks=expected_failed_checks)
def test_scikit_learn_check_estimator_on_the_other_backends(estimator, check):
    check(estimator)


def test_sklearn_orientation_maps_to_the_course_exactly():
    X, Y = planar()
    labels = np.where(Y[0] == 1, "red", "blue")  # strings, sorted: classes_[1] = "red" is the course's 1
    clf = ShallowNetClassifier(max_iter=1000, random_state=0).fit(X.T, labels)
    backend = impls.get_backend("numpy")
    direct = backend.train(impls.init_params(2, 4, seed=0), X, Y, learning_rate=1.2, iterations=1000)
    for k in impls.PARAM_NAMES:
        np.testing.assert_array_equal(clf.params_[k], direct.params[k])
    assert clf.classes_.tolist() == ["blue", "red"] and clf.n_features_in_ == 2
    np.testing.assert_array_equal(clf.predict(X.T), np.where(backend.predict(direct.params, X)[0] == 1, "red", "blue"))
    proba = clf.predict_proba(X.T)
    np.testing.assert_array_equal(proba[:, 1], backend.predict_proba(direct.params, X)[0])
    np.testing.assert_allclose(proba.sum(axis=1), 1, rtol=1e-15)
    np.testing.assert_array_equal(clf.decision_function(X.T), backend.forward(direct.params, X)["Z2"][0])
    assert clf.loss_ == direct.final_cost and clf.costs_ == direct.costs + [(1000, direct.final_cost)]
    assert clf.score(X.T, labels) >= 0.85


def test_course_defaults_reach_90_percent_on_planar_data():
    X, Y = planar()
    clf = ShallowNetClassifier(random_state=2)  # the course notebook's seed, 10000 steps at 1.2
    assert clf.fit(X.T, Y[0]).score(X.T, Y[0]) >= 0.90
    assert clf.n_iter_ == 10000 and clf.classes_.tolist() == [0.0, 1.0]


def test_backends_fit_the_same_model(backend_name):
    X, y = make_moons(200, noise=0.2, random_state=0)
    reference = ShallowNetClassifier(max_iter=300, random_state=1).fit(X, y)
    make_backend(backend_name)
    clf = ShallowNetClassifier(backend=backend_name, max_iter=300, random_state=1).fit(X, y)
    # 300 steps without a loss spike: the trajectories stay at rounding level (measured < 1e-14)
    for k in impls.PARAM_NAMES:
        assert rel_error(clf.params_[k], reference.params_[k]) < TRAJECTORY_RTOL["float64"], k
    np.testing.assert_array_equal(clf.predict(X), reference.predict(X))


def test_float32_computes_in_float32(backend_name):
    X, y = make_moons(100, noise=0.2, random_state=0)
    make_backend(backend_name)
    clf = ShallowNetClassifier(backend=backend_name, dtype="float32", max_iter=50, random_state=0).fit(X, y)
    assert {v.dtype for v in clf.params_.values()} == {np.dtype(np.float32)}
    assert clf.predict_proba(X).dtype == np.float32


def test_random_state_none_follows_numpys_global_seed():
    X, y = make_moons(60, noise=0.2, random_state=0)
    fits = []
    for seed in (5, 5, 6):
        np.random.seed(seed)
        fits.append(ShallowNetClassifier(max_iter=5).fit(X, y).params_["W1"])
    np.testing.assert_array_equal(fits[0], fits[1])
    assert not np.array_equal(fits[0], fits[2])


def test_works_in_a_pipeline_and_in_grid_search():
    X, y = load_breast_cancer(return_X_y=True)  # raw features span 1e-3 to 1e3: the scaler matters
    X_train, X_test, y_train, y_test = train_test_split(X, y, test_size=0.25, random_state=0, stratify=y)
    pipe = make_pipeline(StandardScaler(), ShallowNetClassifier(max_iter=1000, random_state=0))
    search = GridSearchCV(pipe, {"shallownetclassifier__n_hidden": [1, 4],
                                 "shallownetclassifier__learning_rate": [1e-4, 1.2]}, cv=3)
    search.fit(X_train, y_train)
    # 1000 steps of 1e-4 leave the 0.01-scale initial weights where they were, near chance
    scores = dict(zip(map(str, search.cv_results_["params"]), search.cv_results_["mean_test_score"]))
    assert search.best_params_["shallownetclassifier__learning_rate"] == 1.2, scores
    assert search.best_score_ > 0.95 and search.score(X_test, y_test) > 0.93, scores
    assert min(scores.values()) < 0.8, scores
    assert search.best_estimator_[-1].n_features_in_ == 30


def test_divergence_names_the_iteration_and_grid_search_scores_it_nan():
    X, Y = planar()
    clf = ShallowNetClassifier(activation="leaky_relu", learning_rate=10, max_iter=2000, random_state=0)
    with pytest.raises(impls.TrainingDiverged, match=r"at iteration \d+ with learning rate 10; try a smaller"):
        clf.fit(X.T, Y[0])
    assert not hasattr(clf, "classes_")  # a diverged fit leaves no half-fitted model
    search = GridSearchCV(clf, {"learning_rate": [0.5, 10]}, cv=2)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        search.fit(X.T, Y[0])
    assert search.best_params_ == {"learning_rate": 0.5}
    assert np.isnan(search.cv_results_["mean_test_score"][1])
    assert any(issubclass(w.category, FitFailedWarning) and "try a smaller learning rate" in str(w.message)
               for w in caught)


@pytest.mark.parametrize("settings, match", [
    ({"n_hidden": 0}, "n_hidden must be a whole number >= 1, got 0"),
    ({"n_hidden": 2.5}, "n_hidden must be a whole number >= 1, got 2.5"),
    ({"learning_rate": 0}, "learning_rate must be a finite number > 0, got 0"),
    ({"learning_rate": float("inf")}, "learning_rate must be a finite number > 0, got inf"),
    ({"learning_rate": "0.1"}, "learning_rate must be a finite number > 0, got '0.1'"),
    ({"max_iter": -1}, "max_iter must be a whole number >= 0, got -1"),
    ({"activation": "swish"}, "unknown activation 'swish'; choose one of: tanh, relu, sigmoid, leaky_relu"),
    ({"dtype": "float16"}, "unknown dtype 'float16'; choose one of: float64, float32"),
    ({"dtype": np.float32}, "unknown dtype <class 'numpy.float32'>"),
    ({"backend": "tensorflow"}, "unknown backend 'tensorflow'; choose one of: numpy, torch, jax, tape"),
    ({"random_state": -1}, "random_state must be None, a RandomState or a whole number from 0 to 4294967295"),
    ({"random_state": "abc"}, "cannot be used to seed"),
    ({"hidden_layer_sizes": (5, 0)}, r"hidden_layer_sizes\[1\] must be a whole number >= 1, got 0"),
    ({"hidden_layer_sizes": ()}, r"hidden_layer_sizes must be a whole number or a list of them"),
    ({"hidden_layer_sizes": "20,7"}, r"hidden_layer_sizes must be a whole number or a list of them"),
    ({"hidden_layer_sizes": (5, 3), "n_hidden": 7}, r"n_hidden=7 and hidden_layer_sizes=\(5, 3\) say different"),
    ({"init_scale": -1}, r"init_scale must be None, a finite number >= 0 or 'sqrt', got -1"),
    ({"init_scale": "he"}, r"init_scale must be None, a finite number >= 0 or 'sqrt', got 'he'"),
])
def test_bad_settings_are_value_errors_at_fit(settings, match):
    X, y = make_moons(20, random_state=0)
    clf = ShallowNetClassifier(**{"max_iter": 1, **settings})  # scikit-learn's rule: no check in __init__
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)


@pytest.mark.parametrize("X, y, match", [
    (np.ones((6, 2)), [0, 1, 2, 0, 1, 2], r"Only binary classification is supported\. .*y has 3 classes \(0, 1, 2\)"),
    (np.ones((4, 2)), ["a", "a", "a", "a"], "y has 1 class \\('a'\\); ShallowNetClassifier needs two"),
    (np.ones((4, 2)), [0.5, 1.5, 2.5, 0.1], "Unknown label type: continuous"),
    ([[1, np.nan], [2, 3]], [0, 1], "Input X contains NaN"),
    ([[1, np.inf], [2, 3]], [0, 1], "Input X contains infinity"),
    (np.ones((4, 2)), [0, 1, 0], "inconsistent numbers of samples: \\[4, 3\\]"),
    (np.ones((2, 2)) * 1j, [0, 1], "Complex data not supported"),
    (np.ones(4), [0, 1, 0, 1], "Expected 2D array, got 1D array instead"),
    (np.ones((0, 2)), [], "0 sample"),
    ([["a", "b"], ["c", "d"]], [0, 1], "Convert your data to numeric values"),
    ([[1e39, 0.0], [0.0, 1.0]], [0, 1], r"X contains NaN or infinite values \(in float32\)"),
])
def test_bad_data_is_a_value_error_naming_the_problem(X, y, match):
    clf = ShallowNetClassifier(max_iter=1, dtype="float32")
    with pytest.raises(ValueError, match=match):
        clf.fit(X, y)


def test_predicting_before_fit_or_with_other_features_is_refused():
    X, y = make_moons(20, random_state=0)
    with pytest.raises(NotFittedError):
        ShallowNetClassifier().predict(X)
    clf = ShallowNetClassifier(max_iter=1).fit(X, y)
    with pytest.raises(ValueError, match="X has 3 features, but ShallowNetClassifier is expecting 2"):
        clf.predict(np.ones((4, 3)))
    with pytest.raises(ValueError, match="Input X contains NaN"):
        clf.predict_proba([[0.0, np.nan]])


@pytest.mark.slow
def test_importing_impls_leaves_scikit_learn_for_the_estimator():
    import sys
    code = ("import sys, impls; before = 'sklearn' in sys.modules; impls.ShallowNetClassifier; "
            "print(before, 'sklearn' in sys.modules)")
    out = run_process([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]


def test_hidden_layer_sizes_of_one_layer_is_n_hidden():
    X, y = make_moons(60, noise=0.2, random_state=0)
    fits = [ShallowNetClassifier(max_iter=50, random_state=3, **kw).fit(X, y)
            for kw in ({"n_hidden": 5}, {"hidden_layer_sizes": (5,)}, {"hidden_layer_sizes": 5},
                       {"hidden_layer_sizes": [5], "n_hidden": 5})]
    for clf in fits[1:]:
        for k in ("W1", "b1", "W2", "b2"):
            np.testing.assert_array_equal(clf.params_[k], fits[0].params_[k])
    assert fits[0].config_["n_h"] == 5 and fits[0].config_["layer_dims"] == [2, 5, 1]


def test_a_deep_classifier_learns_the_digits_stand_in_and_saves(tmp_path):
    from impls.io.datasets import load_dataset
    from impls.io.model_files import load_model, save_model
    X, Y = load_dataset("digits")
    X_test, Y_test = load_dataset("digits-test")
    clf = ShallowNetClassifier(hidden_layer_sizes=(20, 7, 5), activation="relu", max_iter=1500, random_state=1)
    clf.fit(X.T, Y[0])
    assert clf.config_["layer_dims"] == [64, 20, 7, 5, 1] and clf.config_["init_scale"] == "sqrt"
    assert clf.config_["learning_rate"] == 0.0075 and "n_h" not in clf.config_  # the course's week-4 defaults
    assert sorted(clf.params_) == sorted(impls.param_names(4))
    assert clf.score(X_test.T, Y_test[0]) > 0.8
    assert clf.decision_function(X_test.T).shape == (360,) and clf.predict_proba(X_test.T).shape == (360, 2)
    save_model(tmp_path / "m.npz", clf.params_, clf.config_)
    params, config = load_model(tmp_path / "m.npz")
    labels = impls.get_backend("numpy", activation="relu").predict(params, X_test)[0]
    np.testing.assert_array_equal(clf.classes_[labels], clf.predict(X_test.T))
