"""The network as a scikit-learn classifier, on any backend: fit/predict, Pipeline, GridSearchCV."""
import numbers
from functools import lru_cache

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import check_random_state
from sklearn.utils.multiclass import check_classification_targets
from sklearn.utils.validation import check_is_fitted, validate_data

import impls
from impls.base import MAX_SEED
from impls.checks import check_choice, check_count, check_learning_rate


@lru_cache(maxsize=None)
def _backend(name, activation, dtype):
    # One object per configuration: JAX caches its compiled functions per backend object.
    return impls.get_backend(name, activation=activation, dtype=dtype)


def _columns(X, dtype):
    # Examples as columns, in a new writable array: torch warns on read-only input such as a memmap.
    with np.errstate(over="ignore"):  # a value beyond float32's range becomes inf, which the backend refuses
        return np.array(X.T, dtype=dtype, order="C")


class ShallowNetClassifier(ClassifierMixin, BaseEstimator):
    """A binary classifier: one hidden layer (or several: hidden_layer_sizes), a sigmoid output, batch gradient
    descent.

    scikit-learn's orientation outside (X is (n_samples, n_features), y any two labels), the
    course's inside (X.T is (n_x, m), Y is (1, m) of 0/1, with 1 standing for `classes_[1]`).

    Args:
        backend: a name in impls.BACKENDS: "numpy" (hand-written backprop), or any other for autograd.
        n_hidden: hidden units n_h, >= 1, of the one hidden layer (week 3's network).
        activation: the hidden layers' g: "tanh", "relu", "sigmoid" or "leaky_relu".
        learning_rate: α > 0; None: 1.2 with one hidden layer (week 3), 0.0075 with more (the week-4
            application's).
        max_iter: gradient descent steps, >= 0.
        random_state: None, an int or a RandomState: the initial weights. An int seeds
            `impls.init_params` directly (2 gives the course notebook's start); None draws a seed
            from NumPy's global generator, so `np.random.seed` makes fits reproducible.
        dtype: "float64" or "float32", the precision of the computation.
        hidden_layer_sizes: scikit-learn's name for the hidden layers' sizes, one per layer: (20, 7, 5) is the
            week-4 application's network; None: (n_hidden,). Give it or n_hidden, not both.
        init_scale: the initial weights, randn times this number >= 0 or "sqrt" for randn / √n_{l−1}
            (impls.init_deep_params); None: 0.01 with one hidden layer, "sqrt" with more.

    Attributes:
        classes_: the two labels; predict_proba's columns are in this order.
        n_features_in_: the number of features seen in fit (feature_names_in_ too, for a DataFrame).
        params_: trained W1, b1, …, WL, bL in course orientation, for `impls.save_model`.
        config_: backend, activation, dtype, init_scale and sizes (layer_dims), for `impls.save_model`.
        costs_: (iteration, cost) every 1000 iterations and at the end; loss_: the final cost.
        n_iter_: the number of steps taken.

    Raises (from fit):
        ValueError: bad settings or data, or more than two classes.
        impls.TrainingDiverged: training diverged (a NaN, infinite or astronomically large cost, or
            overflowed parameters); it names the iteration.
    """

    def __init__(self, backend="numpy", n_hidden=4, activation="tanh", learning_rate=None,
                 max_iter=10000, random_state=None, dtype="float64", hidden_layer_sizes=None, init_scale=None):
        self.backend = backend
        self.n_hidden = n_hidden
        self.activation = activation
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.random_state = random_state
        self.dtype = dtype
        self.hidden_layer_sizes = hidden_layer_sizes
        self.init_scale = init_scale

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_class = False  # one sigmoid output: exactly two classes
        return tags

    def fit(self, X, y):
        """Train from the initial weights `random_state` gives.

        Args:
            X: (n_samples, n_features) finite numbers.
            y: (n_samples,) with two distinct labels, numbers or strings.

        Returns:
            self.
        """
        backend, hidden, learning_rate, scale = self._check_settings()
        X, y = validate_data(self, X, y)
        check_classification_targets(y)  # "Unknown label type" for a regression target
        classes, Y = np.unique(y, return_inverse=True)
        if len(classes) > 2:
            shown = ", ".join(map(repr, classes[:5].tolist())) + (", …" if len(classes) > 5 else "")
            raise ValueError(f"Only binary classification is supported. The type of the target is "
                             f"multiclass: y has {len(classes)} classes ({shown}), and "
                             f"{type(self).__name__} has one sigmoid output for two")
        if len(classes) < 2:
            raise ValueError(f"y has 1 class ({classes.tolist()[0]!r}); {type(self).__name__} needs two to learn from")
        dims = [X.shape[1], *hidden, 1]
        # for one hidden layer at 0.01, init_params's start exactly
        params = impls.init_deep_params(dims, seed=self._seed(), scale=scale, dtype=self.dtype)
        result = backend.train(params, _columns(X, self.dtype), Y.reshape(1, -1),
                               learning_rate=learning_rate, iterations=self.max_iter)
        self.classes_ = classes
        self.params_ = {k: np.array(v) for k, v in result.params.items()}  # JAX's are read-only views
        self.config_ = {"backend": self.backend, "activation": self.activation, "dtype": self.dtype,
                        "init_scale": scale, "learning_rate": learning_rate, "layer_dims": dims,
                        "n_x": X.shape[1], "n_y": 1, **({"n_h": hidden[0]} if len(hidden) == 1 else {})}
        self.costs_ = result.costs + [(self.max_iter, result.final_cost)]
        self.loss_ = result.final_cost
        self.n_iter_ = self.max_iter
        return self

    def decision_function(self, X):
        """ZL (Z2 for one hidden layer), the logit of `classes_[1]`, shape (n_samples,)."""
        return self._output(X, "Z")

    def predict_proba(self, X):
        """Probabilities of `classes_[0]` and `classes_[1]`, shape (n_samples, 2)."""
        AL = self._output(X, "A")
        return np.column_stack([1 - AL, AL])

    def predict(self, X):
        """`classes_[1]` where AL > 0.5, else `classes_[0]`, shape (n_samples,)."""
        positive = self._output(X, "A") > 0.5  # first: it raises NotFittedError before fit
        return self.classes_[positive.astype(int)]

    def _output(self, X, array):
        """The output layer's Z or A (ZL, AL), shape (n_samples,)."""
        out = self._forward(X)
        return out[f"{array}{len(out) // 2}"][0]

    def _forward(self, X):
        check_is_fitted(self)
        X = validate_data(self, X, reset=False)
        config = self.config_
        backend = _backend(config["backend"], config["activation"], config["dtype"])
        return backend.forward(self.params_, _columns(X, config["dtype"]))

    def _check_settings(self):
        """(backend, hidden layer sizes, learning rate, init scale) from the settings, each checked.
        scikit-learn validates in fit, not in __init__, so that set_params and clone never raise."""
        check_count(self.n_hidden, "n_hidden", 1)
        check_count(self.max_iter, "max_iter", 0)
        hidden = self._hidden_sizes()
        learning_rate = (1.2 if len(hidden) == 1 else 0.0075) if self.learning_rate is None else self.learning_rate
        check_learning_rate(learning_rate)
        scale = (0.01 if len(hidden) == 1 else "sqrt") if self.init_scale is None else self.init_scale
        if not (isinstance(scale, str) and scale == "sqrt") and (
                isinstance(scale, bool) or not isinstance(scale, numbers.Real) or not 0 <= scale < float("inf")):
            raise ValueError(f"init_scale must be None, a finite number >= 0 or 'sqrt', got {scale!r}")
        for name, choices in (("backend", impls.BACKENDS), ("activation", impls.ACTIVATIONS),
                              ("dtype", impls.DTYPES)):
            check_choice(getattr(self, name), name, choices)
        return _backend(self.backend, self.activation, self.dtype), hidden, float(learning_rate), scale

    def _hidden_sizes(self):
        sizes = self.hidden_layer_sizes
        if sizes is None:
            return [self.n_hidden]
        if isinstance(sizes, numbers.Integral) and not isinstance(sizes, bool):
            sizes = [sizes]
        if isinstance(sizes, (str, bytes)) or not hasattr(sizes, "__len__") or np.ndim(sizes) != 1 or not len(sizes):
            raise ValueError(f"hidden_layer_sizes must be a whole number or a list of them, one per hidden layer "
                             f"(20, 7, 5), got {sizes!r}")
        sizes = [check_count(n.item() if isinstance(n, np.generic) else n, "hidden_layer_sizes[{}]".format(i), 1)
                 for i, n in enumerate(sizes)]
        if self.n_hidden != 4 and sizes != [self.n_hidden]:
            raise ValueError(f"n_hidden={self.n_hidden!r} and hidden_layer_sizes={self.hidden_layer_sizes!r} say "
                             "different things: give one of them")
        return sizes

    def _seed(self):
        rs = self.random_state
        if isinstance(rs, numbers.Integral) and not isinstance(rs, bool):
            if not 0 <= rs <= MAX_SEED:
                raise ValueError(f"random_state must be None, a RandomState or a whole number from 0 "
                                 f"to {MAX_SEED}, got {rs!r}")
            return int(rs)
        return int(check_random_state(rs).randint(MAX_SEED + 1, dtype=np.int64))
