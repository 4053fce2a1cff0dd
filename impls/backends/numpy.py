"""Hand-written backpropagation: the lecture's ten equations in NumPy, no autograd of any kind. Networks of
another depth than two layers run the course's week-4 functions, in numpy_deep.py."""
import numpy as np

from impls.base import GRAD_NAMES, INTERMEDIATE_NAMES, Backend, grad_names, intermediate_names


# Where e^-z overflows, per dtype: z below -709 (float64) or -88 (float32), where σ(z) is below the
# smallest normal float anyway. Python floats, so that float32 stays float32.
EXP_LIMIT = {np.dtype(t): float(np.floor(np.log(np.finfo(t).max))) for t in ("float64", "float32")}


def sigmoid(z):
    # 1 / (1 + e^-z), the course's formula, with z clipped where e^-z would overflow: no warning, no NaN, and
    # one ufunc more than the course's where the logaddexp form costs several (docs/performance.md).
    return 1 / (1 + np.exp(-np.maximum(z, -EXP_LIMIT[z.dtype])))


def cross_entropy(Z2, Y):
    # -[Y log σ(Z2) + (1-Y) log(1-σ(Z2))] = log(1 + e^Z2) - Y·Z2: finite even where σ(Z2) rounds to 0 or 1.
    return np.sum(np.logaddexp(0.0, Z2) - Y * Z2) / Z2.shape[1]


# g1 and its derivative g1', written with the values the forward pass already has (Z1, A1).
ACTIVATIONS = {
    "tanh": (np.tanh, lambda Z, A: 1 - A ** 2),
    "relu": (lambda Z: np.maximum(Z, 0), lambda Z, A: (Z > 0).astype(Z.dtype)),
    "sigmoid": (sigmoid, lambda Z, A: A * (1 - A)),
    "leaky_relu": (lambda Z: np.where(Z > 0, Z, 0.01 * Z),
                   lambda Z, A: np.where(Z > 0, 1, 0.01).astype(Z.dtype)),
}


class NumpyBackend(Backend):
    name = "numpy"
    numpy_blas = True

    def __init__(self, *, activation="tanh", dtype="float64", device=None, workers=1):
        super().__init__(activation=activation, dtype=dtype, device=device, workers=workers)
        if device not in (None, "cpu"):
            raise ValueError(f"the numpy backend runs on the CPU only, not on device {device!r}")
        self.g1, self.g1_prime = ACTIVATIONS[activation]

    def _asarray(self, a):
        return np.asarray(a, dtype=self.dtype)

    def _numpy(self, a):
        return a

    def _forward(self, p, X):
        Z1 = np.dot(p["W1"], X) + p["b1"]                           # F1
        A1 = self.g1(Z1)                                            # F2
        Z2 = np.dot(p["W2"], A1) + p["b2"]                          # F3
        A2 = sigmoid(Z2)                                            # F4
        return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}

    def _cost(self, p, X, Y):
        return cross_entropy(self._forward(p, X)["Z2"], Y)

    def _backward(self, p, X, Y):
        m = X.shape[1]
        cache = self._forward(p, X)
        dZ2 = cache["A2"] - Y                                       # B1
        dW2 = np.dot(dZ2, cache["A1"].T) / m                        # B2
        db2 = np.sum(dZ2, axis=1, keepdims=True) / m                # B3
        dA1 = np.dot(p["W2"].T, dZ2)
        dZ1 = dA1 * self.g1_prime(cache["Z1"], cache["A1"])         # B4
        dW1 = np.dot(dZ1, X.T) / m                                  # B5
        db1 = np.sum(dZ1, axis=1, keepdims=True) / m                # B6
        return {"dW1": dW1, "db1": db1, "dW2": dW2, "db2": db2, "dZ2": dZ2, "dA1": dA1, "dZ1": dZ1}

    def _gradients(self, p, X, Y):
        g = self._backward(p, X, Y)
        return {k: g[k] for k in GRAD_NAMES}

    def _intermediates(self, p, X, Y):
        g = self._backward(p, X, Y)
        return {k: g[k] for k in INTERMEDIATE_NAMES}

    def _train(self, p, X, Y, learning_rate, n):
        for _ in range(n):
            grads = self._backward(p, X, Y)
            p = {k: w - learning_rate * grads["d" + k] for k, w in p.items()}
        return p

    # Any other depth: the course's week-4 functions (numpy_deep.py), the same equations layer by layer.
    def _deep_forward(self, p, X):
        return deep.cache_arrays(*deep.L_model_forward(X, p, self.activation))

    def _deep_cost(self, p, X, Y):
        _, caches = deep.L_model_forward(X, p, self.activation)
        return deep.compute_cost(caches[-1][1], Y)

    def _deep_backward(self, p, X, Y):
        AL, caches = deep.L_model_forward(X, p, self.activation)
        return deep.L_model_backward(AL, Y, caches, self.activation)

    def _deep_gradients(self, p, X, Y):
        g = self._deep_backward(p, X, Y)
        return {k: g[k] for k in grad_names(len(p) // 2)}

    def _deep_intermediates(self, p, X, Y):
        g = self._deep_backward(p, X, Y)
        return {k: g[k] for k in intermediate_names(len(p) // 2)}

    def _deep_train(self, p, X, Y, learning_rate, n):
        for _ in range(n):
            p = deep.update_parameters(p, self._deep_backward(p, X, Y), learning_rate)
        return p


from impls.backends import numpy_deep as deep  # noqa: E402  (last: it uses this module's ACTIVATIONS)
