"""The tape: the same forward pass on this project's own reverse-mode engine (tape_engine.py), for two layers
and, as a loop over layers, for any depth; every gradient comes from walking the tape backwards, none is
written by hand."""
import numpy as np

from impls.backends import tape_engine as tape
from impls.base import Backend, intermediate_names


def cross_entropy(Z2, Y):
    # -[Y log σ(Z2) + (1-Y) log(1-σ(Z2))] = log(1 + e^Z2) - Y·Z2: finite even where σ(Z2) rounds to 0 or 1.
    return (tape.softplus(Z2) - Y * Z2).sum() / Z2.shape[1]


ACTIVATIONS = {"tanh": tape.tanh, "relu": tape.relu, "sigmoid": tape.sigmoid, "leaky_relu": tape.leaky_relu}


class TapeBackend(Backend):
    name = "tape"
    numpy_blas = True

    def __init__(self, *, activation="tanh", dtype="float64", device=None, workers=1):
        super().__init__(activation=activation, dtype=dtype, device=device, workers=workers)
        if device not in (None, "cpu"):
            raise ValueError(f"the tape backend runs on the CPU only, not on device {device!r}")
        self.g1 = ACTIVATIONS[activation]

    def _asarray(self, a):
        return np.asarray(a, dtype=self.dtype)

    def _numpy(self, a):
        return a.value if isinstance(a, tape.Var) else a

    def _graph(self, p, X, Y=None):
        """A fresh tape with the parameters as its leaves (gradient wanted) and X, Y as constants."""
        t = tape.Tape()
        p = {k: w if isinstance(w, tape.Var) else t.var(w, k, requires_grad=True) for k, w in p.items()}
        X = t.var(X, "X")
        return (p, X) if Y is None else (p, X, t.var(Y, "Y"))

    def _forward(self, p, X):
        if not isinstance(X, tape.Var):
            p, X = self._graph(p, X)
        Z1 = p["W1"] @ X + p["b1"]                                  # F1
        A1 = self.g1(Z1)                                            # F2
        Z2 = p["W2"] @ A1 + p["b2"]                                 # F3
        A2 = tape.sigmoid(Z2)                                       # F4
        return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": A2}

    def _cost(self, p, X, Y):
        return self._numpy(self._graph_cost(*self._graph(p, X, Y))[0])

    def _graph_cost(self, p, X, Y):
        """J on the tape, and the forward values it was built from."""
        cache = self._forward(p, X)
        return cross_entropy(cache["Z2"], Y), cache

    def _backward(self, p, X, Y):
        p, X, Y = self._graph(p, X, Y)
        J, cache = self._graph_cost(p, X, Y)
        J.tape.backward(J)
        return p, cache

    def _gradients(self, p, X, Y):
        p, _ = self._backward(p, X, Y)
        return {"d" + k: w.grad for k, w in p.items()}

    def _intermediates(self, p, X, Y):
        # The tape's own gradients at the inner nodes, scaled by m to the course's dZ = m·∂J/∂Z (as torch).
        _, cache = self._backward(p, X, Y)
        m = X.shape[1]
        return {"dZ2": m * cache["Z2"].grad, "dA1": m * cache["A1"].grad, "dZ1": m * cache["Z1"].grad}

    def _train(self, p, X, Y, learning_rate, n):
        for _ in range(n):
            grads = self._gradients(p, X, Y)
            p = {k: w - learning_rate * grads["d" + k] for k, w in p.items()}
        return p

    # Any other depth: the same lines in a loop over the layers, F1 F2 for each hidden one, F3 F4 for the output.
    def _deep_forward(self, p, X):
        if not isinstance(X, tape.Var):
            p, X = self._graph(p, X)
        cache, A, L = {}, X, len(p) // 2
        for l in range(1, L + 1):
            Z = p[f"W{l}"] @ A + p[f"b{l}"]                         # F1 F3
            A = self.g1(Z) if l < L else tape.sigmoid(Z)            # F2 F4
            cache[f"Z{l}"], cache[f"A{l}"] = Z, A
        return cache

    def _deep_cost(self, p, X, Y):
        return self._numpy(self._deep_graph_cost(*self._graph(p, X, Y))[0])

    def _deep_graph_cost(self, p, X, Y):
        cache = self._deep_forward(p, X)
        return cross_entropy(cache[f"Z{len(p) // 2}"], Y), cache

    def _deep_backward(self, p, X, Y):
        p, X, Y = self._graph(p, X, Y)
        J, cache = self._deep_graph_cost(p, X, Y)
        J.tape.backward(J)
        return p, cache

    def _deep_gradients(self, p, X, Y):
        p, _ = self._deep_backward(p, X, Y)
        return {"d" + k: w.grad for k, w in p.items()}

    def _deep_intermediates(self, p, X, Y):
        # The tape's own gradients at every Z_l and A_l (l < L), scaled by m to the course's dZ = m·∂J/∂Z.
        _, cache = self._deep_backward(p, X, Y)
        m = X.shape[1]
        return {k: m * cache[k[1:]].grad for k in intermediate_names(len(p) // 2)}

    def _deep_train(self, p, X, Y, learning_rate, n):
        for _ in range(n):
            grads = self._deep_gradients(p, X, Y)
            p = {k: w - learning_rate * grads["d" + k] for k, w in p.items()}
        return p
