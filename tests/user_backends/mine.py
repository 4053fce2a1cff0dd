"""A user's own implementation, written as a user would: plain NumPy, not an impls.Backend, and only part of
the contract (no `intermediates`). `Mine` is correct; the others each plant one classic mistake.

    python -m compare --backends numpy,tests/user_backends/mine.py:Mine
"""
import numpy as np

__version__ = "1.0"


def sigmoid(z):
    return 0.5 * (1 + np.tanh(z / 2))  # σ without overflow for large |z|


class Mine:
    name = "mine"

    def __init__(self, *, activation="tanh", dtype="float64", device=None):
        if activation != "tanh" or device not in (None, "cpu"):
            raise ValueError("mine does tanh on the CPU only")
        self.activation, self.dtype, self.device = activation, dtype, device

    def hidden(self, Z1):
        return np.tanh(Z1)

    def forward(self, params, X):
        p = {k: np.asarray(v, dtype=self.dtype) for k, v in params.items()}
        Z1 = p["W1"] @ np.asarray(X, dtype=self.dtype) + p["b1"]
        A1 = self.hidden(Z1)
        Z2 = p["W2"] @ A1 + p["b2"]
        return {"Z1": Z1, "A1": A1, "Z2": Z2, "A2": sigmoid(Z2)}

    def reduce(self, total, m):  # the mean over the m examples
        return total / m

    def cost(self, params, X, Y):
        Z2 = self.forward(params, X)["Z2"]
        Y = np.asarray(Y, dtype=self.dtype)
        return float(self.reduce(np.sum(np.logaddexp(0, Z2) - Y * Z2), Y.shape[1]))

    def gradients(self, params, X, Y):
        c = self.forward(params, X)
        X, Y = np.asarray(X, dtype=self.dtype), np.asarray(Y, dtype=self.dtype)
        m = X.shape[1]
        dZ2 = c["A2"] - Y
        dZ1 = (np.asarray(params["W2"], dtype=self.dtype).T @ dZ2) * (1 - c["A1"] ** 2)
        return {"dW1": self.reduce(dZ1 @ X.T, m), "db1": self.bias(dZ1, m),
                "dW2": self.reduce(dZ2 @ c["A1"].T, m), "db2": self.bias(dZ2, m)}

    def bias(self, dZ, m):
        return self.reduce(np.sum(dZ, axis=1, keepdims=True), m)

    def train(self, params, X, Y, *, learning_rate, iterations, record_every=1000, callback=None):
        from types import SimpleNamespace
        p = {k: np.array(v, dtype=self.dtype) for k, v in params.items()}
        for _ in range(iterations):
            g = self.gradients(p, X, Y)
            p = {k: v - learning_rate * g["d" + k] for k, v in p.items()}
        return SimpleNamespace(params=p, costs=[], final_cost=self.cost(p, X, Y))

    def predict(self, params, X):
        return (self.forward(params, X)["A2"] > 0.5).astype(np.int64)


class Summed(Mine):
    """The cost and its gradients summed over the examples instead of averaged."""
    name = "summed"

    def reduce(self, total, m):
        return total


class SigmoidHidden(Mine):
    """A sigmoid hidden layer in the forward pass (and so in everything after it), though tanh is declared."""
    name = "sigmoid_hidden"

    def hidden(self, Z1):
        return sigmoid(Z1)


class Accumulates(Mine):
    """Gradients added into buffers that are never cleared, as `.grad` is in PyTorch without zero_grad()."""
    name = "accumulates"

    def gradients(self, params, X, Y):
        fresh = super().gradients(params, X, Y)
        self.buffers = {k: getattr(self, "buffers", {}).get(k, 0) + v for k, v in fresh.items()}
        return {k: v.copy() for k, v in self.buffers.items()}


class DbNoMean(Mine):
    """db1 and db2 computed without the 1/m (B3, B6)."""
    name = "db_no_mean"

    def bias(self, dZ, m):
        return np.sum(dZ, axis=1, keepdims=True)
